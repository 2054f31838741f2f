/**
 * Writes NetCDF-4 files (HDF5 with dimension scales, CF attributes) through h5wasm.
 *
 * NetCDF-4 is HDF5 in which every dimension is a 1-D dataset marked as an HDF5 dimension scale,
 * and every variable has those scales attached to its axes; netCDF-C, xarray, GDAL and QGIS
 * then see named dimensions and coordinate variables. Written under a temporary name and
 * renamed when complete.
 */
import fs from "node:fs";
import { SmapfillError } from "../util/errors.js";
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
  return "|u1";
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
  if (like && /^(_FillValue|missing_value|valid_min|valid_max|valid_range)$/.test(name)) {
    const typed = new (like.constructor as new (v: number[]) => NetcdfVariable["data"])(values);
    target.create_attribute(name, typed, [values.length], dtypeOf(like) as never);
    return;
  }
  target.create_attribute(name, new Float64Array(values), [values.length], "<d");
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
  } catch (error) {
    h5.close();
    fs.rmSync(tmp, { force: true });
    throw new SmapfillError(`cannot write NetCDF-4 (${hdf5Reason(error)})`, { file, cause: error });
  }
  h5.close();
  fs.renameSync(tmp, file);
}
