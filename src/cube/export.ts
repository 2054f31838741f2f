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
import { cfGridMapping, EPSG_6933_WKT } from "../grid/ease2.js";
import { writeCog } from "../io/cog-writer.js";
import { writeCategoryPam } from "../io/gdal-pam.js";
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

/** Attributes kept out of the exports: the working store's own bookkeeping (progress, layout, ingest records). */
const BOOKKEEPING = new Set(["Conventions", "reconstruct", "smapfill", "smap_ingest", "predictor_ingest", "valid_range", "history"]);

/**
 * An attribute value as attributes every tool shows: numbers and strings as they are, objects
 * (or JSON text of objects) flattened into `name_key` attributes, a metric's {value, ciLow, ciHigh}
 * as its value and `name_95ci` = [low, high], lists of {group, ...} rows as `name_GROUP_key`.
 */
export function readableAttributes(name: string, value: unknown): Record<string, string | number | number[]> {
  let v = value;
  if (typeof v === "string" && /^[[{]/.test(v.trim())) {
    try {
      v = JSON.parse(v);
    } catch {
      // plain text that starts with a bracket
    }
  }
  if (v === null || v === undefined) return {};
  if (typeof v === "number" || typeof v === "string") return { [name]: v };
  if (typeof v === "boolean") return { [name]: String(v) };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === "number")) return { [name]: v as number[] };
    if (v.every((x) => typeof x === "string")) return { [name]: v.join(", ") };
    const out: Record<string, string | number | number[]> = {};
    v.forEach((x, i) => {
      const key = x && typeof x === "object" && "group" in x ? String((x as { group: unknown }).group).replace(/[^A-Za-z0-9]+/g, "_") : String(i);
      const { group: _g, ...rest } = (x ?? {}) as Record<string, unknown>;
      Object.assign(out, readableAttributes(`${name}_${key}`, rest));
    });
    return out;
  }
  const o = v as Record<string, unknown>;
  if (typeof o.value === "number" && "ciLow" in o)
    return { [name]: o.value, ...(Number.isFinite(o.ciLow) ? { [`${name}_95ci`]: [o.ciLow as number, o.ciHigh as number] } : {}) };
  const out: Record<string, string | number | number[]> = {};
  for (const [k, x] of Object.entries(o)) Object.assign(out, readableAttributes(`${name}_${k}`, x));
  return out;
}

/** The cube's provenance as CF history lines ("time step key=value ..."), and the command writing this file. */
function historyLines(cube: Cube): string {
  const steps = cube.provenance.map((p) => {
    const detail = Object.entries(p.detail ?? {})
      .filter(([, v]) => typeof v === "string" || typeof v === "number")
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    return `${p.time} ${p.step}${detail ? ` (${detail})` : ""}`;
  });
  return [...steps, `${new Date().toISOString()} ${commandLine()}`].join("\n");
}

/** The command line of this process, as a user would type it. */
export function commandLine(): string {
  const args = process.argv.slice(2).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`));
  return ["smapfill", ...args].join(" ");
}

/** Global attributes: CF and ACDD, the cube's own description (readable), and what the caller adds. */
function globalAttributes(cube: Cube, extra: Record<string, string | number>): Record<string, string | number | number[]> {
  const bbox = cube.grid.windowBBox(cube.window);
  const a = cube.attributes;
  // The Zarr conventions (proj:, spatial:) describe the Zarr v3 store; CF's grid mapping does it here.
  const exported = ([k]: [string, unknown]) => !BOOKKEEPING.has(k) && !/^(proj:|spatial:|zarr_conventions)/.test(k);
  const own = Object.assign(
    {},
    ...Object.entries(a)
      .filter(exported)
      .map(([k, v]) => readableAttributes(k, v)),
  ) as Record<string, string | number | number[]>;
  return {
    ...own,
    Conventions: "CF-1.9, ACDD-1.3",
    title: String(a.title ?? "smapfill data cube"),
    summary: "SMAP L3 surface soil moisture on the EASE-Grid 2.0, made with smapfill",
    source: "smapfill (NASA SMAP L3 SPL3SMP_E / SPL3SMP, predictors as listed in the history)",
    history: historyLines(cube),
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
    ...Object.assign({}, ...Object.entries(extra).map(([k, v]) => readableAttributes(k, v))),
  };
}

/** The CF standard name of soil moisture, and its modifiers for the uncertainty and the source flag. */
const SM_STANDARD_NAME = "volume_fraction_of_condensed_water_in_soil";

/**
 * What CF asks of a product's variables beyond what the store records: the value names its
 * ancillary variables, the uncertainty is the value's standard error, the flags are its status
 * flags, each with its own valid_min/valid_max.
 */
function productAttributes(v: VariableSpec, cube: Cube): Record<string, string | number | number[]> {
  const out: Record<string, string | number | number[]> = {};
  const base = v.name.replace(/_(uncertainty|source)$/, "");
  if (v.name.endsWith("_source") && v.attributes?.flag_values) {
    const flags = v.attributes.flag_values as number[];
    Object.assign(out, { standard_name: `${SM_STANDARD_NAME} status_flag`, valid_min: Math.min(...flags), valid_max: Math.max(...flags) });
  } else if (v.name.endsWith("_uncertainty")) {
    Object.assign(out, { standard_name: `${SM_STANDARD_NAME} standard_error`, valid_min: 0, valid_max: 0.5 });
  } else if (v.name.startsWith("soil_moisture") && v.attributes?.standard_name === SM_STANDARD_NAME) {
    const range = cube.attributes.valid_range;
    if (v.attributes.valid_min === undefined && Array.isArray(range) && range.length === 2)
      Object.assign(out, { valid_min: Number(range[0]), valid_max: Number(range[1]) });
    const ancillary = [`${base}_uncertainty`, `${base}_source`].filter((n) => cube.hasVariable(n));
    if (v.name === "soil_moisture_am" || v.name === "soil_moisture_pm") ancillary.unshift("soil_moisture_uncertainty");
    if (ancillary.length) out.ancillary_variables = [...new Set(ancillary)].join(" ");
  }
  return out;
}

/** CF attributes of a data variable. */
function variableAttributes(v: VariableSpec, cube: Cube): Record<string, string | number | number[]> {
  const extra = Object.fromEntries(
    Object.entries(v.attributes ?? {}).filter(
      ([k, x]) => k !== "ancillary_of" && (typeof x === "string" || typeof x === "number" || (Array.isArray(x) && x.every((e) => typeof e === "number"))),
    ),
  ) as Record<string, string | number | number[]>;
  return {
    units: v.units,
    long_name: v.long_name,
    ...extra,
    ...productAttributes(v, cube),
    _FillValue: (v.dtype ?? "float32") === "uint8" ? 0 : NaN,
    grid_mapping: "crs",
    coordinates: "lat lon",
  };
}

/** 2-D latitude and longitude of the cell centres (row-major y, x): CF auxiliary coordinates. */
function latLon2d(cube: Cube): { lat: Float64Array; lon: Float64Array } {
  const { nrows, ncols } = cube.window;
  const lats = cube.grid.windowLatitudes(cube.window);
  const lons = cube.grid.windowLongitudes(cube.window);
  const lat = new Float64Array(nrows * ncols);
  const lon = new Float64Array(nrows * ncols);
  for (let i = 0; i < nrows; i++) for (let j = 0; j < ncols; j++) ((lat[i * ncols + j] = lats[i]!), (lon[i * ncols + j] = lons[j]!));
  return { lat, lon };
}

const LAT_LON = [
  ["lat", "latitude", "degrees_north"],
  ["lon", "longitude", "degrees_east"],
] as const;

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
    const latLon = latLon2d(cube);
    for (const [name, standard, units] of LAT_LON) {
      w.variable({ name, dims: ["y", "x"], dtype: "float64", attributes: { standard_name: standard, long_name: `${standard} of cell centre`, units } });
      w.write(name, [0, 0], [nrows, ncols], latLon[name]);
    }
    w.variable({ name: "crs", dims: [], dtype: "int32", attributes: { ...cfGridMapping(), proj4text: PROJ4 } }, 0);
    const c = cube.chunks;
    for (const v of cube.variables) {
      const dtype = (v.dtype ?? "float32") === "uint8" ? "uint8" : "float32";
      if (v.kind === "static") {
        w.variable({
          name: v.name,
          dims: ["y", "x"],
          dtype,
          attributes: variableAttributes(v, cube),
          chunks: [Math.min(nrows, 4 * c.y), Math.min(ncols, 4 * c.x)],
        });
        const values = await cube.readStatic(v.name);
        w.write(v.name, [0, 0], [nrows, ncols], dtype === "uint8" ? Uint8Array.from(values) : values);
        continue;
      }
      w.variable({
        name: v.name,
        dims: ["time", "y", "x"],
        dtype,
        attributes: variableAttributes(v, cube),
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

/** Colours of flag values (value -> #rrggbb) for the flag rasters' colour tables; other values get DEFAULT_FLAG_COLORS. */
export type FlagColors = Record<number, string>;
const DEFAULT_FLAG_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"];

/** A flag variable's categories for GDAL (names and colours by value; 0, the nodata, transparent). */
function flagCategories(v: VariableSpec, colors: FlagColors = {}): { names: string[]; colors: (string | null)[] } | undefined {
  const values = v.attributes?.flag_values as number[] | undefined;
  const meanings = String(v.attributes?.flag_meanings ?? "").split(/\s+/);
  if (!values?.length || meanings.length !== values.length) return undefined;
  const n = Math.max(...values) + 1;
  const names = Array.from({ length: n }, (_, k) => meanings[values.indexOf(k)] ?? "");
  return { names, colors: names.map((name, k) => (name ? (colors[k] ?? DEFAULT_FLAG_COLORS[k % DEFAULT_FLAG_COLORS.length]!) : null)) };
}

export async function exportCog(cube: Cube, dir: string, extra: Record<string, string | number> = {}, flagColors?: FlagColors): Promise<string[]> {
  if (fs.existsSync(dir)) throw new SmapfillError("already exists", { file: dir, hint: "Choose another --out, or remove it" });
  const tmp = `${dir}.${process.pid}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    return await writeCogs(cube, dir, tmp, extra, flagColors);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}

async function writeCogs(cube: Cube, dir: string, tmp: string, extra: Record<string, string | number>, flagColors?: FlagColors): Promise<string[]> {
  const { nrows, ncols } = cube.window;
  const o = origin(cube);
  const base = { width: ncols, height: nrows, epsg: 6933, originX: o.x, originY: o.y, cellWidth: cube.grid.cellSize, cellHeight: cube.grid.cellSize };
  const meta = Object.fromEntries(
    Object.entries(extra)
      .flatMap(([k, v]) => Object.entries(readableAttributes(k, v)))
      .map(([k, v]) => [k, String(v)]),
  );
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
    // Flags get a colour table and category names (QGIS otherwise shows greys 1-6).
    const categories = integer ? flagCategories(v, flagColors) : undefined;
    if (v.kind === "static") {
      const name = `${v.name}.tif`;
      writeCog(path.join(tmp, name), { ...common, bands: [{ values: cast(await cube.readStatic(v.name)), description: v.name }] });
      if (categories) writeCategoryPam(path.join(tmp, name), 1, categories, [v.name]);
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
      if (categories)
        writeCategoryPam(
          path.join(tmp, name),
          bands.length,
          categories,
          bands.map((b) => b.description),
        );
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
    // lat/lon as 2-D auxiliary coordinates, the layout of the NetCDF (and CF's for a projected grid).
    const latLon = latLon2d(cube);
    for (const [name, standard, units] of LAT_LON) {
      z.array({
        name,
        dims: ["y", "x"],
        shape: [nrows, ncols],
        chunks: [nrows, ncols],
        dtype: "float64",
        fill: NaN,
        attributes: { standard_name: standard, long_name: `${standard} of cell centre`, units },
      });
      z.chunk(name, [0, 0], latLon[name]);
    }
    z.array({ name: "crs", dims: [], shape: [], chunks: [], dtype: "int32", fill: null, attributes: { ...cfGridMapping(), proj4text: PROJ4 } });
    z.chunk("crs", [], new Int32Array([0]));
    for (const v of cube.variables) {
      const dtype = (v.dtype ?? "float32") === "uint8" ? "uint8" : "float32";
      // GDAL reads the CRS of a Zarr v2 array from _CRS (wkt and/or url), not from CF's grid mapping.
      const { _FillValue: _f, ...cf } = variableAttributes(v, cube);
      const attributes = { ...cf, _CRS: { wkt: EPSG_6933_WKT, url: "http://www.opengis.net/def/crs/EPSG/0/6933" } };
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
  flagColors?: FlagColors,
): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const paths = exportPaths(dir, name);
  const out: string[] = [];
  for (const f of formats) removeLeftovers(paths[f]);
  for (const f of formats) {
    if (f === "netcdf") await exportNetcdf(cube, paths.netcdf, extra);
    else if (f === "cog") await exportCog(cube, paths.cog, extra, flagColors);
    else await exportZarr2(cube, paths.zarr2, extra);
    out.push(paths[f]);
  }
  return out;
}
