/**
 * Zarr v2 writer, for zarr-python 2 (Debian 12's 2.13), xarray with it, and GDAL < 3.8, which
 * read no Zarr v3: a group with `.zgroup`/`.zattrs`, arrays with `.zarray`/`.zattrs` (xarray's
 * `_ARRAY_DIMENSIONS` names their dimensions), chunks in C order compressed with zlib, and
 * consolidated metadata (`.zmetadata`). The store is built under a temporary name and renamed
 * when complete.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { SmapfillError } from "../util/errors.js";
import { simulatedDiskFull, writeFailure } from "../util/atomic-file.js";

type Typed = Float32Array | Float64Array | Int32Array | Uint8Array;
const DTYPE = { float32: "<f4", float64: "<f8", int32: "<i4", uint8: "|u1" } as const;
const KIND = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array } as const;
export type Zarr2Dtype = keyof typeof DTYPE;

export interface Zarr2Array {
  name: string;
  dims: string[];
  shape: number[];
  chunks: number[];
  dtype: Zarr2Dtype;
  /** NaN for floats (written as "NaN"), a number otherwise; null: no fill value (nothing masked). */
  fill: number | null;
  attributes?: Record<string, unknown>;
}

function json(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "number" && Number.isNaN(v) ? "NaN" : v), 2);
}

export class Zarr2Writer {
  private readonly tmp: string;
  private readonly metadata: Record<string, unknown> = {};
  private readonly arrays = new Map<string, Zarr2Array>();

  constructor(
    private readonly dir: string,
    attributes: Record<string, unknown>,
    private readonly level = 4,
  ) {
    if (fs.existsSync(dir)) throw new SmapfillError("already exists", { file: dir, hint: "Choose another output, or remove it" });
    this.tmp = `${dir}.${process.pid}.partial`;
    fs.rmSync(this.tmp, { recursive: true, force: true });
    fs.mkdirSync(this.tmp, { recursive: true });
    this.put(".zgroup", { zarr_format: 2 });
    this.put(".zattrs", attributes);
  }

  private put(key: string, value: unknown): void {
    this.metadata[key] = value;
    const file = path.join(this.tmp, key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, json(value));
  }

  array(a: Zarr2Array): void {
    if (a.shape.length !== a.chunks.length || a.dims.length !== a.shape.length)
      throw new SmapfillError("has shape, chunks and dimensions of different ranks", { file: this.dir, variable: a.name });
    this.arrays.set(a.name, a);
    this.put(`${a.name}/.zarray`, {
      zarr_format: 2,
      shape: a.shape,
      chunks: a.chunks,
      dtype: DTYPE[a.dtype],
      compressor: { id: "zlib", level: this.level },
      fill_value: a.fill,
      order: "C",
      filters: null,
      dimension_separator: ".",
    });
    this.put(`${a.name}/.zattrs`, { _ARRAY_DIMENSIONS: a.dims, ...a.attributes });
  }

  /**
   * Writes the chunk at chunk index `index` from `data`, the values of the region it covers
   * (C order, clipped at the array's edges); edge chunks are padded with the fill value.
   */
  chunk(name: string, index: number[], data: Typed): void {
    const a = this.arrays.get(name);
    if (!a) throw new SmapfillError("is not defined", { file: this.dir, variable: name });
    const rank = a.shape.length;
    const extent = a.shape.map((n, i) => Math.min(a.chunks[i]!, n - index[i]! * a.chunks[i]!));
    const expected = extent.reduce((p, n) => p * n, 1);
    if (data.length !== expected)
      throw new SmapfillError(`chunk ${index.join(".")} needs ${expected} values, got ${data.length}`, { file: this.dir, variable: name });
    const full = a.chunks.reduce((p, n) => p * n, 1);
    let out: Typed = data;
    if (expected !== full || rank === 0) {
      const padded = new KIND[a.dtype](Math.max(1, full)).fill(a.fill ?? 0);
      // Copy the region row by row (the last axis is contiguous in both).
      const rows = expected / (extent[rank - 1] ?? 1);
      for (let r = 0; r < rows; r++) {
        let at = 0;
        let rest = r;
        for (let i = rank - 2; i >= 0; i--) {
          const pos = rest % extent[i]!;
          rest = Math.floor(rest / extent[i]!);
          let stride = 1;
          for (let j = i + 1; j < rank; j++) stride *= a.chunks[j]!;
          at += pos * stride;
        }
        const len = extent[rank - 1] ?? 1;
        padded.set(data.subarray(r * len, (r + 1) * len), at);
      }
      out = padded;
    }
    const key = rank === 0 ? "0" : index.join(".");
    const file = path.join(this.tmp, name, key);
    const bytes = zlib.deflateSync(Buffer.from(out.buffer, out.byteOffset, out.byteLength), { level: this.level });
    try {
      simulatedDiskFull(file);
      fs.writeFileSync(file, bytes);
    } catch (error) {
      throw writeFailure(error, this.dir, bytes.length);
    }
  }

  /** Writes the consolidated metadata and renames the store into place. */
  close(): void {
    fs.writeFileSync(path.join(this.tmp, ".zmetadata"), json({ zarr_consolidated_format: 1, metadata: this.metadata }));
    fs.renameSync(this.tmp, this.dir);
  }

  abort(): void {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}
