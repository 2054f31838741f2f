/**
 * Writes NetCDF-4 files (HDF5 with dimension scales, CF attributes) through h5wasm.
 *
 * NetCDF-4 is HDF5 in which every dimension is a 1-D dataset marked as an HDF5 dimension scale,
 * and every variable has those scales attached to its axes; netCDF-C, xarray, GDAL and QGIS
 * then see named dimensions and coordinate variables. Written under a temporary name and
 * renamed when complete.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { freeBytes, writeFailure } from "../util/atomic-file.js";
import { createHdf5, hdf5Reason, type H5Dataset } from "./hdf5.js";

type AttributeValue = string | number | number[];

export interface NetcdfDimension {
  name: string;
  /** The coordinate values (written as a float64 or int32 coordinate variable). */
  values: Float64Array | Int32Array;
  attributes?: Record<string, AttributeValue>;
}

export interface NetcdfVariable {
  name: string;
  dims: string[];
  data: Float32Array | Float64Array | Int16Array | Int32Array | Uint8Array;
  attributes?: Record<string, AttributeValue>;
  /** Chunk shape; default: one chunk per leading index (e.g. a day), whole trailing axes. */
  chunks?: number[];
  /** gzip level 1-9; default 4. 0 = no compression. */
  compression?: number;
}

export interface NetcdfFile {
  dimensions: NetcdfDimension[];
  variables: NetcdfVariable[];
  attributes?: Record<string, AttributeValue>;
}

function dtypeOf(data: NetcdfVariable["data"] | NetcdfDimension["values"]): string {
  if (data instanceof Float32Array) return "<f";
  if (data instanceof Float64Array) return "<d";
  if (data instanceof Int16Array) return "<h";
  if (data instanceof Int32Array) return "<i";
  return "<B";
}

function writeAttribute(
  target: H5Dataset | { create_attribute: H5Dataset["create_attribute"] },
  name: string,
  value: AttributeValue,
  like?: NetcdfVariable["data"],
): void {
  if (typeof value === "string") {
    target.create_attribute(name, value);
    return;
  }
  const values = Array.isArray(value) ? value : [value];
  // CF wants _FillValue, valid_* and missing_value in the variable's own type.
  if (like && /^(_FillValue|missing_value|valid_min|valid_max|valid_range|flag_values|flag_masks)$/.test(name)) {
    const typed = new (like.constructor as new (v: number[]) => NetcdfVariable["data"])(values);
    target.create_attribute(name, typed, [values.length], dtypeOf(like) as never);
    return;
  }
  target.create_attribute(name, new Float64Array(values), [values.length], "<d");
}

/** A netCDF dimension without a coordinate variable (e.g. nv, the 2 ends of a bounds interval). */
const DIMENSION_ONLY = "This is a netCDF dimension but not a netCDF variable.";

export interface StreamVariable {
  name: string;
  dims: string[];
  /** The element type, by an example array kind. */
  dtype: "float32" | "float64" | "int32" | "uint8";
  attributes?: Record<string, AttributeValue>;
  chunks?: number[];
  /** gzip level 1-9; default 4. */
  compression?: number;
}

const DTYPE = { float32: "<f", float64: "<d", int32: "<i", uint8: "<B" } as const;
const ARRAY = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array } as const;

/**
 * A NetCDF-4 file written piece by piece (bounded memory): dimensions first, then variables,
 * whose data are written as hyperslabs; close() renames the temporary file into place.
 */
export class Netcdf4Writer {
  private readonly tmp: string;
  private readonly h5: ReturnType<typeof createHdf5>;
  private readonly lengths = new Map<string, number>();
  private readonly datasets = new Map<string, H5Dataset>();

  constructor(private readonly file: string) {
    this.tmp = `${file}.${process.pid}.tmp`;
    try {
      this.h5 = createHdf5(this.tmp);
    } catch (error) {
      fs.rmSync(this.tmp, { force: true });
      throw netcdfFailure(error, file, "cannot create NetCDF-4");
    }
  }

  private guard<T>(what: string, run: () => T, bytes = 0): T {
    try {
      return run();
    } catch (error) {
      this.abort();
      throw netcdfFailure(error, this.file, `cannot write NetCDF-4 ${what}`, bytes);
    }
  }

  /** A dimension with its coordinate values, or `length` for one without a coordinate variable. */
  dimension(name: string, values: Float64Array | Int32Array | number, attributes: Record<string, AttributeValue> = {}): void {
    this.guard(`dimension ${name}`, () => {
      const data = typeof values === "number" ? new Int32Array(values) : values;
      const ds = this.h5.create_dataset({ name, data, shape: [data.length], dtype: dtypeOf(data) });
      // netCDF-C reads a dimension without a coordinate variable from this NAME.
      ds.make_scale(typeof values === "number" ? `${DIMENSION_ONLY}${String(values).padStart(10)}` : name);
      for (const [k, v] of Object.entries(attributes)) writeAttribute(ds, k, v);
      this.lengths.set(name, data.length);
    });
  }

  /** A variable (all missing until written). Scalars (dims []) hold one value, given as `value`. */
  variable(v: StreamVariable, value?: number): void {
    this.guard(`variable ${v.name}`, () => {
      const shape = v.dims.map((d) => {
        const n = this.lengths.get(d);
        if (n === undefined) throw new SmapfillError(`uses the undefined dimension '${d}'`, { file: this.file, variable: v.name });
        return n;
      });
      const Kind = ARRAY[v.dtype];
      const example = new Kind(0);
      let ds: H5Dataset;
      if (!shape.length) ds = this.h5.create_dataset({ name: v.name, data: new Kind([value ?? 0]), shape: [], dtype: DTYPE[v.dtype] });
      else {
        const chunks = v.chunks ?? shape.map((n, i) => (i === 0 && shape.length > 2 ? 1 : Math.max(1, n)));
        const level = v.compression ?? 4;
        ds = this.h5.create_dataset({
          name: v.name,
          data: new Kind(0),
          shape: [0, ...shape.slice(1)],
          maxshape: [null, ...shape.slice(1)],
          dtype: DTYPE[v.dtype],
          chunks,
          ...(level > 0 ? { compression: "gzip" as const, compression_opts: level } : {}),
        });
        ds.resize(shape);
        v.dims.forEach((d, axis) => ds.attach_scale(axis, `/${d}`));
      }
      for (const [k, value] of Object.entries(v.attributes ?? {})) writeAttribute(ds, k, value, example);
      this.datasets.set(v.name, ds);
    });
  }

  /** Writes `data` (C order) at `start` with extent `count` (both one entry per dimension). */
  write(name: string, start: number[], count: number[], data: Float32Array | Float64Array | Int32Array | Uint8Array): void {
    this.guard(
      `data of ${name}`,
      () => {
        const ds = this.datasets.get(name);
        if (!ds) throw new SmapfillError("is not defined", { file: this.file, variable: name });
        ds.write_slice(
          start.map((s, i) => [s, s + count[i]!]),
          data,
        );
      },
      data.byteLength,
    );
  }

  attributes(values: Record<string, AttributeValue>): void {
    this.guard("attributes", () => {
      for (const [k, v] of Object.entries(values)) writeAttribute(this.h5 as never, k, v);
    });
  }

  close(): void {
    this.guard("(closing it)", () => this.h5.close());
    fs.renameSync(this.tmp, this.file);
  }

  abort(): void {
    try {
      this.h5.close();
    } catch {
      // already closed
    }
    fs.rmSync(this.tmp, { force: true });
  }
}

export function writeNetcdf4(file: string, content: NetcdfFile): void {
  const dims = new Map(content.dimensions.map((d) => [d.name, d]));
  for (const v of content.variables) {
    const expected = v.dims.reduce((n, d) => {
      const dim = dims.get(d);
      if (!dim) throw new SmapfillError(`uses the undefined dimension '${d}'`, { file, variable: v.name });
      return n * dim.values.length;
    }, 1);
    if (v.data.length !== expected) {
      throw new SmapfillError(`has ${v.data.length} values, its dimensions ${v.dims.join(" x ")} need ${expected}`, { file, variable: v.name });
    }
  }
  const tmp = `${file}.${process.pid}.tmp`;
  const h5 = createHdf5(tmp);
  try {
    for (const d of content.dimensions) {
      const ds = h5.create_dataset({ name: d.name, data: d.values, shape: [d.values.length], dtype: dtypeOf(d.values) });
      ds.make_scale(d.name);
      for (const [k, v] of Object.entries(d.attributes ?? {})) writeAttribute(ds, k, v);
    }
    for (const v of content.variables) {
      const shape = v.dims.map((d) => dims.get(d)!.values.length);
      const level = v.compression ?? 4;
      const chunks = v.chunks ?? shape.map((n, i) => (i === 0 && shape.length > 2 ? 1 : Math.max(1, n)));
      const ds = h5.create_dataset({
        name: v.name,
        data: v.data,
        shape,
        dtype: dtypeOf(v.data),
        ...(level > 0 && v.data.length > 0 ? { chunks, compression: "gzip" as const, compression_opts: level } : {}),
      });
      v.dims.forEach((d, axis) => ds.attach_scale(axis, `/${d}`));
      for (const [k, value] of Object.entries(v.attributes ?? {})) writeAttribute(ds, k, value, v.data);
    }
    for (const [k, v] of Object.entries(content.attributes ?? {})) writeAttribute(h5 as never, k, v);
    h5.close();
  } catch (error) {
    try {
      h5.close();
    } catch {
      // closed already, or closing failed for the same reason
    }
    fs.rmSync(tmp, { force: true });
    throw netcdfFailure(
      error,
      file,
      "cannot write NetCDF-4",
      content.variables.reduce((n, v) => n + v.data.byteLength, 0),
    );
  }
  fs.renameSync(tmp, file);
}

/**
 * HDF5 reports a full disk as "file write failed" without errno: when the file system of `file`
 * then has (almost) no space left, it is the one-line full-disk error every writer gives.
 */
function netcdfFailure(error: unknown, file: string, what: string, bytes = 0): unknown {
  const reason = hdf5Reason(error);
  if (/write failed/i.test(reason) && freeBytes(path.dirname(path.resolve(file))) < 1024 ** 2)
    return writeFailure(Object.assign(new Error(`ENOSPC: ${reason}`), { code: "ENOSPC" }), file, bytes);
  return new SmapfillError(`${what} (${reason})`, { file, cause: error });
}
