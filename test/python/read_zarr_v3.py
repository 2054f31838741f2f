#!/usr/bin/env python3
"""Independent Zarr v3 reader (numpy + gzip + json only), used by the tests to check that a
smapfill cube is laid out exactly as the Zarr v3 specification says, without our own code: the
crc32c codec (CRC-32C, Castagnoli, little-endian after the bytes) is checked here bit by bit.

Usage: read_zarr_v3.py STORE VAR [VAR ...]  -> JSON on stdout: per variable its dims, shape,
attributes, and the array itself (NaN as null)."""
import gzip, json, math, os, sys
import numpy as np

def _crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


DTYPES = {"float32": "<f4", "float64": "<f8", "int32": "<i4", "uint8": "u1", "uint16": "<u2"}


def read_array(store, name):
    meta = json.load(open(os.path.join(store, name, "zarr.json")))
    assert meta["zarr_format"] == 3 and meta["node_type"] == "array", meta
    assert meta["chunk_grid"]["name"] == "regular"
    assert meta["chunk_key_encoding"]["name"] == "default"
    sep = meta["chunk_key_encoding"]["configuration"].get("separator", "/")
    shape = meta["shape"]
    chunk = meta["chunk_grid"]["configuration"]["chunk_shape"]
    dtype = np.dtype(DTYPES[meta["data_type"]])
    names = [c["name"] for c in meta["codecs"]]
    assert names[0] == "bytes", names
    fill = meta["fill_value"]
    fill = float("nan") if fill == "NaN" else fill
    out = np.full(shape, fill, dtype=dtype)
    grid = [math.ceil(s / c) for s, c in zip(shape, chunk)] if shape else []
    for idx in np.ndindex(*grid) if grid else [()]:
        key = os.path.join(store, name, "c" + ("" if not idx else sep + sep.join(str(i) for i in idx)))
        if not os.path.exists(key):
            continue
        raw = open(key, "rb").read()
        for codec in reversed(meta["codecs"][1:]):
            assert codec["name"] in ("gzip", "crc32c"), codec
            if codec["name"] == "crc32c":
                assert int.from_bytes(raw[-4:], "little") == crc32c(raw[:-4]), f"{key}: CRC-32C mismatch"
                raw = raw[:-4]
            else:
                raw = gzip.decompress(raw)
        block = np.frombuffer(raw, dtype=dtype).reshape(chunk)
        sel = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunk, shape))
        out[sel] = block[tuple(slice(0, s.stop - s.start) for s in sel)]
    return meta, out


def main():
    store, names = sys.argv[1], sys.argv[2:]
    group = json.load(open(os.path.join(store, "zarr.json")))
    assert group["zarr_format"] == 3 and group["node_type"] == "group"
    result = {"group_attributes": group["attributes"], "arrays": {}}
    for name in names:
        meta, arr = read_array(store, name)
        values = arr.astype("float64").ravel().tolist()
        result["arrays"][name] = {
            "dims": meta.get("dimension_names"),
            "shape": list(arr.shape),
            "attributes": meta["attributes"],
            "values": [None if (isinstance(v, float) and math.isnan(v)) else v for v in values],
        }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
