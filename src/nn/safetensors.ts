/**
 * safetensors (https://github.com/huggingface/safetensors format): an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__:
 * {string: string}} padded with spaces to 8 bytes, then the raw little-endian tensors.
 * Written atomically; PyTorch's safetensors (or any reader of the format) loads it.
 */
import fs from "node:fs";
import { SmapfillError } from "../util/errors.js";

export interface NamedArray {
  data: Float32Array | Float64Array | BigInt64Array;
  shape: number[];
}

const DTYPE_OF = (a: NamedArray["data"]) => (a instanceof Float64Array ? "F64" : a instanceof BigInt64Array ? "I64" : "F32");

export function saveSafetensors(file: string, tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.byteLength;
    header[name] = { dtype: DTYPE_OF(t.data), shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    at += t.data.byteLength;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, out);
  fs.renameSync(tmp, file);
}

export function loadSafetensors(file: string): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (error) {
    throw new SmapfillError("cannot read weights", { file, cause: error });
  }
  if (buf.length < 8) throw new SmapfillError("is not a safetensors file (too short)", { file });
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) throw new SmapfillError("is truncated (header longer than the file)", { file });
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  } catch (error) {
    throw new SmapfillError("has a damaged safetensors header", { file, cause: error });
  }
  const base = 8 + n;
  const tensors = new Map<string, NamedArray>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as unknown as Record<string, string>;
      continue;
    }
    const [begin, end] = entry.data_offsets;
    if (base + end > buf.length) throw new SmapfillError("is truncated", { file, variable: name });
    const bytes = buf.subarray(base + begin, base + end);
    const copy = new Uint8Array(bytes).buffer;
    const data =
      entry.dtype === "F32"
        ? new Float32Array(copy)
        : entry.dtype === "F64"
          ? new Float64Array(copy)
          : entry.dtype === "I64"
            ? new BigInt64Array(copy)
            : undefined;
    if (!data) throw new SmapfillError(`has the unsupported dtype ${entry.dtype}`, { file, variable: name });
    tensors.set(name, { data, shape: entry.shape });
  }
  return { tensors, metadata };
}
