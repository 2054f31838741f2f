/**
 * NumPy .npy files (format 1.0/2.0): the dataset interchange format of the reference
 * (X.npy, y.npy, split.npy) and its golden fixtures. C order only; Fortran order is rejected.
 */
import fs from "node:fs";
import { SmapfillError } from "../util/errors.js";

export type NpyArray = Float32Array | Float64Array | Int8Array | Int32Array | BigInt64Array | Uint8Array;

const TYPES: Record<string, (b: ArrayBuffer) => NpyArray> = {
  "<f4": (b) => new Float32Array(b),
  "<f8": (b) => new Float64Array(b),
  "|i1": (b) => new Int8Array(b),
  "<i4": (b) => new Int32Array(b),
  "<i8": (b) => new BigInt64Array(b),
  "|u1": (b) => new Uint8Array(b),
  "|b1": (b) => new Uint8Array(b),
};

export function readNpy(file: string): { data: NpyArray; shape: number[]; dtype: string } {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString("latin1", 1, 6) !== "NUMPY") throw new SmapfillError("is not a .npy file", { file });
  const major = buf[6]!;
  if (buf.length < 12 && major !== 1) throw new SmapfillError("has a truncated .npy header", { file });
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString("latin1", start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new SmapfillError("has an unreadable .npy header", { file });
  if (fortran === "True") throw new SmapfillError("is in Fortran order", { file, hint: "Save it with np.save(np.ascontiguousarray(a))" });
  const make = TYPES[descr];
  if (!make) throw new SmapfillError(`has the unsupported dtype ${descr}`, { file });
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (shape.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new SmapfillError(`has an invalid shape (${shapeText})`, { file });
  const offset = start + headerLength;
  const expected = shape.reduce((a, b) => a * b, 1);
  const width = descr.endsWith("8") ? 8 : descr.endsWith("4") ? 4 : 1;
  if (buf.length - offset !== expected * width)
    throw new SmapfillError(`holds ${buf.length - offset} bytes of data, its shape (${shape}) of ${descr} needs ${expected * width}`, {
      file,
      hint: "The file may be truncated or damaged: write it again",
    });
  const data = make(new Uint8Array(buf.subarray(offset)).buffer);
  return { data, shape, dtype: descr };
}

const DESCR_OF = (a: NpyArray) =>
  a instanceof Float32Array
    ? "<f4"
    : a instanceof Float64Array
      ? "<f8"
      : a instanceof Int8Array
        ? "|i1"
        : a instanceof Int32Array
          ? "<i4"
          : a instanceof BigInt64Array
            ? "<i8"
            : "|u1";

/** Writes a C-order .npy (format 1.0), atomically. */
export function writeNpy(file: string, data: NpyArray, shape: number[]): void {
  let header = `{'descr': '${DESCR_OF(data)}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
  fs.renameSync(tmp, file);
}
