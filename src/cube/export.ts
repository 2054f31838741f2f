/**
 * A cube (an input cube or a product) in the formats other tools open:
 *  - netcdf: one NetCDF-4 file, CF-1.9 + ACDD-1.3 as NSIDC writes EASE-Grid 2.0 products: a `crs`
 *    grid mapping (lambert_cylindrical_equal_area, WKT of EPSG:6933, proj4text), x/y in metres with
 *    bounds, 2-D lat/lon auxiliary coordinates, CF time, chunked and deflated variables;
 *  - cog: Cloud-Optimised GeoTIFFs in EPSG:6933, one multi-band file per dynamic variable and
 *    month (a band per day, described by its date) and one per static variable;
 *  - zarr2: a Zarr v2 store (xarray/zarr-python 2, GDAL < 3.8) with consolidated metadata.
 * Everything is read a block of days at a time (memory: one time chunk of the window), and every
 * file is written under a temporary name and renamed when complete.
 */
import fs from "node:fs";
import path from "node:path";
import { cfGridMapping } from "../grid/ease2.js";
import { writeCog } from "../io/cog-writer.js";
import { Netcdf4Writer } from "../io/netcdf-writer.js";
import { Zarr2Writer } from "../io/zarr2-writer.js";
import { formatDay } from "../util/dates.js";
import { SmapfillError } from "../util/errors.js";
import type { Cube, VariableSpec } from "./cube.js";
import { pidAlive } from "../util/atomic-file.js";

export const EXPORT_FORMATS = ["netcdf", "cog", "zarr2"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const PROJ4 = "+proj=cea +lat_ts=30 +lon_0=0 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs";

/** The files or folders each format writes for a cube called `name` in `dir`. */
export function exportPaths(dir: string, name: string): Record<ExportFormat, string> {
  return { netcdf: path.join(dir, `${name}.nc`), cog: path.join(dir, `${name}_cog`), zarr2: path.join(dir, `${name}_v2.zarr`) };
}

/** Global attributes: CF and ACDD, the cube's own description, and what the caller adds. */
function globalAttributes(cube: Cube, extra: Record<string, string | number>): Record<string, string | number> {
  const bbox = cube.grid.windowBBox(cube.window);
  const a = cube.attributes;
  const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const own = Object.fromEntries(
    Object.entries(a)
      .filter(([k]) => !["Conventions", "reconstruct"].includes(k))
      .map(([k, v]) => [k, typeof v === "number" ? v : text(v)]),
  );
  return {
    ...own,
    Conventions: "CF-1.9, ACDD-1.3",
    title: String(a.title ?? "smapfill data cube"),
    summary: "SMAP L3 surface soil moisture on the EASE-Grid 2.0, made with smapfill",
    source: "smapfill (NASA SMAP L3 SPL3SMP_E / SPL3SMP, predictors as listed in the provenance)",
    history: cube.provenance.map((p) => `${p.time} ${p.step}`).join("\n"),
    provenance: JSON.stringify(cube.provenance),
    date_created: new Date().toISOString(),
    creator_name: "smapfill",
    references: "Liu, Fan, Jin & Zhu (2025), Remote Sensing 17(22):3729 (TsSMNet)",
    geospatial_lat_min: bbox.south,
    geospatial_lat_max: bbox.north,
    geospatial_lon_min: bbox.west,
    geospatial_lon_max: bbox.east,
    geospatial_lat_units: "degrees_north",
    geospatial_lon_units: "degrees_east",
    time_coverage_start: cube.start,
    time_coverage_end: formatDay(cube.startDay + cube.days - 1),
    grid: cube.grid.name,
    ...extra,
  };
}

/** CF attributes of a data variable. */
function variableAttributes(v: VariableSpec): Record<string, string | number | number[]> {
  const extra = Object.fromEntries(
    Object.entries(v.attributes ?? {}).filter(
      ([, x]) => typeof x === "string" || typeof x === "number" || (Array.isArray(x) && x.every((e) => typeof e === "number")),
    ),
  ) as Record<string, string | number | number[]>;
  return {
    units: v.units,
    long_name: v.long_name,
    ...extra,
    _FillValue: (v.dtype ?? "float32") === "uint8" ? 0 : NaN,
    grid_mapping: "crs",
    coordinates: "lat lon",
  };
}

export async function exportNetcdf(cube: Cube, file: string, extra: Record<string, string | number> = {}): Promise<void> {
  if (fs.existsSync(file)) throw new SmapfillError("already exists", { file, hint: "Choose another --out, or remove it" });
  const { nrows, ncols } = cube.window;
  const w = new Netcdf4Writer(file);
  try {
    const g = cube.grid;
    const xs = Float64Array.from({ length: ncols }, (_, j) => g.colToX(cube.window.col0 + j));
    const ys = Float64Array.from({ length: nrows }, (_, i) => g.rowToY(cube.window.row0 + i));
    const half = g.cellSize / 2;
    w.dimension(
      "time",
      Int32Array.from({ length: cube.days }, (_, t) => cube.startDay + t),
      {
        standard_name: "time",
        long_name: "day of the SMAP L3 daily composite",
        units: "days since 1970-01-01",
        calendar: "proleptic_gregorian",
        axis: "T",
      },
    );
    w.dimension("y", ys, { standard_name: "projection_y_coordinate", long_name: "y coordinate of cell centre", units: "m", axis: "Y", bounds: "y_bnds" });
    w.dimension("x", xs, { standard_name: "projection_x_coordinate", long_name: "x coordinate of cell centre", units: "m", axis: "X", bounds: "x_bnds" });
    w.dimension("nv", 2);
    w.variable({ name: "y_bnds", dims: ["y", "nv"], dtype: "float64" });
    w.write(
      "y_bnds",
      [0, 0],
      [nrows, 2],
      Float64Array.from({ length: 2 * nrows }, (_, k) => ys[k >> 1]! + (k % 2 ? -half : half)),
    );
    w.variable({ name: "x_bnds", dims: ["x", "nv"], dtype: "float64" });
    w.write(
      "x_bnds",
      [0, 0],
      [ncols, 2],
      Float64Array.from({ length: 2 * ncols }, (_, k) => xs[k >> 1]! + (k % 2 ? half : -half)),
    );
    const lat = new Float64Array(nrows * ncols);
    const lon = new Float64Array(nrows * ncols);
    const lats = g.windowLatitudes(cube.window);
    const lons = g.windowLongitudes(cube.window);
    for (let i = 0; i < nrows; i++) for (let j = 0; j < ncols; j++) ((lat[i * ncols + j] = lats[i]!), (lon[i * ncols + j] = lons[j]!));
    for (const [name, values, standard, units] of [
      ["lat", lat, "latitude", "degrees_north"],
      ["lon", lon, "longitude", "degrees_east"],
    ] as const) {
      w.variable({ name, dims: ["y", "x"], dtype: "float64", attributes: { standard_name: standard, long_name: `${standard} of cell centre`, units } });
      w.write(name, [0, 0], [nrows, ncols], values);
    }
    w.variable({ name: "crs", dims: [], dtype: "int32", attributes: { ...cfGridMapping(), proj4text: PROJ4 } }, 0);
    const c = cube.chunks;
    for (const v of cube.variables) {
      const dtype = (v.dtype ?? "float32") === "uint8" ? "uint8" : "float32";
      if (v.kind === "static") {
        w.variable({ name: v.name, dims: ["y", "x"], dtype, attributes: variableAttributes(v), chunks: [Math.min(nrows, 4 * c.y), Math.min(ncols, 4 * c.x)] });
        const values = await cube.readStatic(v.name);
        w.write(v.name, [0, 0], [nrows, ncols], dtype === "uint8" ? Uint8Array.from(values) : values);
        continue;
      }
      w.variable({
        name: v.name,
        dims: ["time", "y", "x"],
        dtype,
        attributes: variableAttributes(v),
        chunks: [Math.min(c.time, Math.max(1, cube.days)), Math.min(c.y, nrows), Math.min(c.x, ncols)],
      });
      for (let t0 = 0; t0 < cube.days; t0 += c.time) {
        const t1 = Math.min(cube.days, t0 + c.time);
        const values = await cube.readBlock(v.name, t0, t1);
        w.write(v.name, [t0, 0, 0], [t1 - t0, nrows, ncols], dtype === "uint8" ? Uint8Array.from(values) : values);
      }
    }
    w.attributes(globalAttributes(cube, extra));
  } catch (error) {
    w.abort();
    throw error;
  }
  w.close();
}

/** The upper-left corner of the window's upper-left cell (EASE-2 metres). */
function origin(cube: Cube): { x: number; y: number } {
  const g = cube.grid;
  return { x: g.colToX(cube.window.col0) - g.cellSize / 2, y: g.rowToY(cube.window.row0) + g.cellSize / 2 };
}

export async function exportCog(cube: Cube, dir: string, extra: Record<string, string | number> = {}): Promise<string[]> {
  if (fs.existsSync(dir)) throw new SmapfillError("already exists", { file: dir, hint: "Choose another --out, or remove it" });
  const tmp = `${dir}.${process.pid}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    return await writeCogs(cube, dir, tmp, extra);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}

async function writeCogs(cube: Cube, dir: string, tmp: string, extra: Record<string, string | number>): Promise<string[]> {
  const { nrows, ncols } = cube.window;
  const o = origin(cube);
  const base = { width: ncols, height: nrows, epsg: 6933, originX: o.x, originY: o.y, cellWidth: cube.grid.cellSize, cellHeight: cube.grid.cellSize };
  const meta = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)]));
  const names: string[] = [];
  const dates = cube.dates();
  for (const v of cube.variables) {
    const integer = (v.dtype ?? "float32") === "uint8";
    const cast = (a: Float32Array) => (integer ? Uint8Array.from(a) : a);
    const common = {
      ...base,
      units: v.units,
      nodata: 0,
      metadata: {
        ...meta,
        long_name: v.long_name,
        ...(v.attributes?.flag_meanings ? { flag_values: String(v.attributes.flag_values), flag_meanings: String(v.attributes.flag_meanings) } : {}),
      },
    };
    if (v.kind === "static") {
      const name = `${v.name}.tif`;
      writeCog(path.join(tmp, name), { ...common, bands: [{ values: cast(await cube.readStatic(v.name)), description: v.name }] });
      names.push(name);
      continue;
    }
    // One file per month: the days of the month as bands.
    for (let t0 = 0; t0 < cube.days;) {
      const month = dates[t0]!.slice(0, 7);
      let t1 = t0;
      while (t1 < cube.days && dates[t1]!.startsWith(month)) t1++;
      const block = await cube.readBlock(v.name, t0, t1);
      const n = nrows * ncols;
      const bands = Array.from({ length: t1 - t0 }, (_, k) => ({ values: cast(block.subarray(k * n, (k + 1) * n)), description: dates[t0 + k]! }));
      const name = `${v.name}_${month}.tif`;
      writeCog(path.join(tmp, name), { ...common, bands });
      names.push(name);
      t0 = t1;
    }
  }
  fs.renameSync(tmp, dir);
  return names.map((n) => path.join(dir, n));
}

export async function exportZarr2(cube: Cube, dir: string, extra: Record<string, string | number> = {}): Promise<void> {
  const { nrows, ncols } = cube.window;
  const z = new Zarr2Writer(dir, globalAttributes(cube, extra));
  try {
    const g = cube.grid;
    const c = cube.chunks;
    const coord = (name: string, dims: string[], values: Float64Array | Int32Array, attributes: Record<string, unknown>) => {
      z.array({
        name,
        dims,
        shape: [values.length],
        chunks: [Math.max(1, values.length)],
        dtype: values instanceof Int32Array ? "int32" : "float64",
        fill: values instanceof Int32Array ? 0 : NaN,
        attributes,
      });
      if (values.length) z.chunk(name, [0], values);
    };
    coord(
      "time",
      ["time"],
      Int32Array.from({ length: cube.days }, (_, t) => cube.startDay + t),
      {
        standard_name: "time",
        units: "days since 1970-01-01",
        calendar: "proleptic_gregorian",
        axis: "T",
      },
    );
    coord(
      "y",
      ["y"],
      Float64Array.from({ length: nrows }, (_, i) => g.rowToY(cube.window.row0 + i)),
      { standard_name: "projection_y_coordinate", units: "m", axis: "Y" },
    );
    coord(
      "x",
      ["x"],
      Float64Array.from({ length: ncols }, (_, j) => g.colToX(cube.window.col0 + j)),
      { standard_name: "projection_x_coordinate", units: "m", axis: "X" },
    );
    coord("lat", ["y"], g.windowLatitudes(cube.window), { standard_name: "latitude", units: "degrees_north" });
    coord("lon", ["x"], g.windowLongitudes(cube.window), { standard_name: "longitude", units: "degrees_east" });
    z.array({ name: "crs", dims: [], shape: [], chunks: [], dtype: "int32", fill: null, attributes: { ...cfGridMapping(), proj4text: PROJ4 } });
    z.chunk("crs", [], new Int32Array([0]));
    for (const v of cube.variables) {
      const dtype = (v.dtype ?? "float32") === "uint8" ? "uint8" : "float32";
      const { _FillValue: _f, ...attributes } = variableAttributes(v);
      const cast = (a: Float32Array) => (dtype === "uint8" ? Uint8Array.from(a) : a);
      const fill = dtype === "uint8" ? 0 : NaN;
      if (v.kind === "static") {
        const cy = Math.min(nrows, 4 * c.y);
        const cx = Math.min(ncols, 4 * c.x);
        z.array({ name: v.name, dims: ["y", "x"], shape: [nrows, ncols], chunks: [cy, cx], dtype, fill, attributes });
        for (let r = 0; r < nrows; r += cy)
          for (let q = 0; q < ncols; q += cx) {
            const win = { row0: r, col0: q, nrows: Math.min(cy, nrows - r), ncols: Math.min(cx, ncols - q) };
            z.chunk(v.name, [r / cy, q / cx], cast(await cube.readStatic(v.name, win)));
          }
        continue;
      }
      const [ct, cy, cx] = [Math.min(c.time, Math.max(1, cube.days)), Math.min(c.y, nrows), Math.min(c.x, ncols)];
      z.array({ name: v.name, dims: ["time", "y", "x"], shape: [cube.days, nrows, ncols], chunks: [ct, cy, cx], dtype, fill, attributes });
      for (let t = 0; t < cube.days; t += ct)
        for (let r = 0; r < nrows; r += cy)
          for (let q = 0; q < ncols; q += cx) {
            const win = { row0: r, col0: q, nrows: Math.min(cy, nrows - r), ncols: Math.min(cx, ncols - q) };
            z.chunk(v.name, [t / ct, r / cy, q / cx], cast(await cube.readBlock(v.name, t, Math.min(cube.days, t + ct), win)));
          }
    }
  } catch (error) {
    z.abort();
    throw error;
  }
  z.close();
}

/** Removes the temporary files and folders an export of `target` that was stopped left behind (their process is gone). */
function removeLeftovers(target: string): void {
  const base = path.basename(target).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^${base}\\.(\\d+)(?:\\.\\d+)?\\.(partial|tmp)$`);
  for (const name of fs.readdirSync(path.dirname(target))) {
    const m = pattern.exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) fs.rmSync(path.join(path.dirname(target), name), { recursive: true, force: true });
  }
}

/** Writes the cube in every format asked for; returns the paths written. */
export async function exportCube(
  cube: Cube,
  dir: string,
  name: string,
  formats: readonly ExportFormat[],
  extra: Record<string, string | number> = {},
): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const paths = exportPaths(dir, name);
  const out: string[] = [];
  for (const f of formats) removeLeftovers(paths[f]);
  for (const f of formats) {
    if (f === "netcdf") await exportNetcdf(cube, paths.netcdf, extra);
    else if (f === "cog") await exportCog(cube, paths.cog, extra);
    else await exportZarr2(cube, paths.zarr2, extra);
    out.push(paths[f]);
  }
  return out;
}
