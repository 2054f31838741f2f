/**
 * A thin, error-translating layer over h5wasm (HDF5 compiled to WebAssembly, reading the host
 * file system directly, so only the chunks a hyperslab touches are read from disk).
 *
 * Every failure becomes a SmapfillError naming the file and the dataset, with HDF5's own
 * innermost reason (e.g. "truncated file: eof = 150000, stored_eof = 305110") instead of the
 * library's 20-line diagnostic stack.
 */
import fs from "node:fs";
import h5wasm from "h5wasm/node";
import { SmapfillError } from "../util/errors.js";

const h5Module = await h5wasm.ready;
// HDF5 prints its error stack to stderr by default; make it throw instead, so that we can
// translate it and keep the terminal clean.
h5Module.activate_throwing_error_handler();

export type H5File = InstanceType<typeof h5wasm.File>;
export type H5Dataset = InstanceType<typeof h5wasm.Dataset>;
export type H5Group = InstanceType<typeof h5wasm.Group>;
export type TypedArray =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export const { Dataset, Group } = h5wasm;

/** HDF5's innermost error message, or the error's own message. */
export function hdf5Reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const frames = [...text.matchAll(/#\d+: .*? in [A-Za-z0-9_]+\(\): (.*)/g)];
  if (frames.length > 0) return frames[frames.length - 1]![1]!.trim();
  return text.split("\n")[0]!.trim();
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** True when the file starts with (or has at a user-block offset) the HDF5 signature. */
function hasHdf5Signature(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(8);
    // The superblock may sit after a user block at 0, 512, 1024, 2048, ... bytes.
    for (let offset = 0; offset <= 1 << 20; offset = offset === 0 ? 512 : offset * 2) {
      if (fs.readSync(fd, buf, 0, 8, offset) < 8) return false;
      if (buf.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens an HDF5 / NetCDF-4 file for reading, with a clear error when it cannot be. */
export function openHdf5(file: string, mode: "r" | "a" = "r"): H5File {
  if (!fs.existsSync(file)) {
    throw new SmapfillError("file not found", { file, hint: "Check the path or the glob in your config" });
  }
  if (fs.statSync(file).isDirectory()) {
    throw new SmapfillError("is a directory, not an HDF5 file", { file });
  }
  if (!hasHdf5Signature(file)) {
    throw new SmapfillError("not an HDF5/NetCDF-4 file (no HDF5 signature)", {
      file,
      hint: "NetCDF-3 (classic) and HDF4 files need another reader; re-download the file if it should be HDF5",
    });
  }
  try {
    return new h5wasm.File(file, mode);
  } catch (error) {
    const reason = hdf5Reason(error);
    const truncated = /truncated/i.test(reason);
    throw new SmapfillError(`cannot open HDF5 file (${reason})`, {
      file,
      hint: truncated ? "The file is incomplete: download it again" : "The file may be damaged: download it again",
      cause: error,
    });
  }
}

/** Creates (overwrites) an HDF5 file for writing. */
export function createHdf5(file: string): H5File {
  try {
    return new h5wasm.File(file, "w");
  } catch (error) {
    throw new SmapfillError(`cannot create HDF5 file (${hdf5Reason(error)})`, { file, cause: error });
  }
}

/** The dataset at `path`, or a clear error naming the file and the path. */
export function getDataset(file: H5File, path: string, hint?: string): H5Dataset {
  let entity: unknown;
  try {
    entity = file.get(path);
  } catch (error) {
    throw new SmapfillError(`cannot open dataset (${hdf5Reason(error)})`, { file: file.filename, variable: path, cause: error });
  }
  if (!(entity instanceof h5wasm.Dataset)) {
    throw new SmapfillError(entity ? "is not a dataset" : "dataset not found", {
      file: file.filename,
      variable: path,
      hint: hint ?? "Check the variable name; `smapfill inspect FILE` lists what the file holds",
    });
  }
  return entity;
}

/** The dataset at `path`, or undefined when there is none. */
export function findDataset(file: H5File, path: string): H5Dataset | undefined {
  try {
    const entity = file.get(path);
    return entity instanceof h5wasm.Dataset ? entity : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a hyperslab [[start, end), ...] of a dataset of `fileName` and translates failures. */
export function readSlice(fileName: string, dataset: H5Dataset, ranges: [number, number][]): TypedArray {
  try {
    const out = dataset.slice(ranges);
    if (out === null || typeof out !== "object" || !ArrayBuffer.isView(out)) {
      throw new Error(`unsupported data type ${dataset.dtype}`);
    }
    return out as TypedArray;
  } catch (error) {
    throw new SmapfillError(`cannot read ${ranges.map(([a, b]) => `${a}:${b}`).join(", ")} (${hdf5Reason(error)})`, {
      file: fileName,
      variable: dataset.path,
      hint: "The file may be truncated or damaged: download it again",
      cause: error,
    });
  }
}

/** Reads a whole dataset. */
export function readAll(fileName: string, dataset: H5Dataset): TypedArray {
  return readSlice(fileName, dataset, dataset.shape?.map((n) => [0, n] as [number, number]) ?? []);
}

/**
 * An attribute as a plain number or string (first element of arrays), or undefined. Reads only
 * that attribute (h5wasm's `attrs` getter would read every attribute of the object).
 */
export function attribute(entity: H5Dataset | H5Group | H5File, name: string): number | string | undefined {
  let value: unknown;
  try {
    value = entity.get_attribute(name, false);
  } catch {
    return undefined;
  }
  if (ArrayBuffer.isView(value)) value = (value as unknown as ArrayLike<number | bigint>)[0];
  if (Array.isArray(value)) value = value[0];
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number" || typeof value === "string") return value;
  return undefined;
}

export function numberAttribute(entity: H5Dataset | H5Group | H5File, name: string): number | undefined {
  const v = attribute(entity, name);
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export function stringAttribute(entity: H5Dataset | H5Group | H5File, name: string): string | undefined {
  const v = attribute(entity, name);
  return v === undefined ? undefined : String(v);
}
