"""safetensors read and write with numpy alone (Debian 12 has no python3-safetensors; the format
is an 8-byte header length, a JSON header and the raw little-endian data)."""
import json
import struct

import numpy as np

DT = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}


def read(path):
    """Returns ({name: array}, metadata)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=DT[e["dtype"]]).reshape(e["shape"]).copy()
    return out, meta


def write(path, tensors, meta):
    """Writes every array as float32, names sorted."""
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name].astype(np.float32))
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + arr.nbytes]}
        blobs.append(arr.tobytes()); off += arr.nbytes
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
