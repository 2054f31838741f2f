/**
 * Predictor rasters on regular grids, whatever the file format: NetCDF-4 / HDF5 (h5wasm),
 * classic NetCDF-3 (netcdfjs) and GeoTIFF (geotiff.js). Each opens as a RasterSource: cell-centre
 * coordinates along x and y in the file's order, an optional time axis (epoch ms), and a reader
 * of windows as float32 [time][y][x] with CF packing, fill and valid-range rules applied
 * (missing = NaN).
 *
 * Coordinates: latitude/longitude grids (EPSG:4326; ascending or descending latitude, -180..180
 * or 0..360 longitude) and EASE-Grid 2.0 x/y grids (EPSG:6933). Axis roles come from the CF
 * coordinate variables (NetCDF dimension scales): names lat/latitude/lon/longitude/x/y, units
 * degrees_north/east, and time units "<unit> since <date>". Any order of dimensions works
 * (GPM IMERG is time, lon, lat); extra dimensions of length 1 are dropped.
 */
import fs from "node:fs";
import { fromFile } from "geotiff";
import { NetCDFReader } from "netcdfjs";
import { SmapfillError } from "../util/errors.js";
import type { Crs, RasterAxes } from "../grid/regrid.js";
import { cfTimeConverter } from "./cf-time.js";
import { openHdf5, getDataset, readSlice, attribute, numberAttribute, stringAttribute, Dataset, type H5Dataset, type H5File } from "./hdf5.js";

export type { Crs, RasterAxes };

export interface RasterSource extends RasterAxes {
  file: string;
  variable: string;
  units: string | undefined;
  /** Epoch milliseconds of each step, or undefined for a static raster. */
  times: Float64Array | undefined;
  /** Steps [t0, t1), rows [y0, y1), cols [x0, x1) in file order -> Float32Array [t][y][x], NaN = missing. */
  read(t0: number, t1: number, y0: number, y1: number, x0: number, x1: number): Promise<Float32Array>;
  close(): void;
}

export interface OpenOptions {
  variable: string;
  /** GeoTIFF band (1-based), default 1. */
  band?: number;
  /** For files without a time axis: the time of the raster (epoch ms), e.g. from the file name. */
  time?: number;
}

const LAT_NAMES = /^(lat|latitude|nav_lat|y_lat)$/i;
const LON_NAMES = /^(lon|long|longitude|nav_lon|x_lon)$/i;

type Role = "time" | "y" | "x" | "squeeze";

interface Packing {
  scale: number;
  offset: number;
  fills: number[];
  validMin: number;
  validMax: number;
}

function applyPacking(raw: ArrayLike<number>, p: Packing, out: Float32Array, outIndex: (k: number) => number): void {
  const { scale, offset, fills, validMin, validMax } = p;
  const singleFill = fills.length === 1 ? fills[0]! : undefined;
  for (let k = 0; k < raw.length; k++) {
    const v = raw[k]!;
    let missing = !Number.isFinite(v) || v < validMin || v > validMax;
    if (!missing) missing = singleFill !== undefined ? v === singleFill : fills.includes(v);
    out[outIndex(k)] = missing ? NaN : v * scale + offset;
  }
}

/** Opens a predictor file by its format (HDF5 signature, CDF signature, TIFF byte order). */
export async function openRaster(file: string, options: OpenOptions): Promise<RasterSource> {
  if (!fs.existsSync(file)) throw new SmapfillError("file not found", { file, hint: "Check the predictor's file glob in the study config" });
  const head = Buffer.alloc(8);
  const fd = fs.openSync(file, "r");
  fs.readSync(fd, head, 0, 8, 0);
  fs.closeSync(fd);
  if (head.subarray(0, 3).toString("latin1") === "CDF") return openNetcdf3(file, options);
  if (head[0] === 0x89 && head.subarray(1, 4).toString("latin1") === "HDF") return openNetcdf4(file, options);
  if ((head[0] === 0x49 && head[1] === 0x49) || (head[0] === 0x4d && head[1] === 0x4d)) return openGeoTiff(file, options);
  if (head[0] === 0x0e && head[1] === 0x03 && head[2] === 0x13 && head[3] === 0x01) {
    throw new SmapfillError("is HDF4 (e.g. MODIS), which smapfill cannot read", {
      file,
      hint: 'Convert it first, e.g. gdal_translate HDF4_EOS:EOS_GRID:"FILE":MODIS_Grid_Daily_1km_LST:LST_Day_1km lst.tif, then gdalwarp -t_srs EPSG:4326',
    });
  }
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)
    throw new SmapfillError("is a zip archive, not a NetCDF file (the Copernicus CDS delivers some NetCDF downloads zipped, under a .nc name)", {
      file,
      hint: "Unpack it (unzip FILE -d DIR) and point the predictor's files at the .nc files inside",
    });
  throw new SmapfillError("is not a NetCDF, HDF5 or GeoTIFF file", {
    file,
    hint: "Check the predictor's file glob; smapfill reads NetCDF-3/4, HDF5 and GeoTIFF",
  });
}

// ---- NetCDF-4 / HDF5 -------------------------------------------------------------------------

function roleOf(name: string, units: string | undefined, size: number): Role | undefined {
  if (units && /\bsince\b/i.test(units)) return "time";
  if (LAT_NAMES.test(name) || (units && /^degrees?_?n(orth)?$/i.test(units))) return "y";
  if (LON_NAMES.test(name) || (units && /^degrees?_?e(ast)?$/i.test(units))) return "x";
  if (/^y$/i.test(name)) return "y";
  if (/^x$/i.test(name)) return "x";
  if (/^(time|valid_time|t)$/i.test(name)) return "time";
  return size === 1 ? "squeeze" : undefined;
}

function toFloat64(values: ArrayLike<number | bigint>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>, (v) => Number(v));
}

async function openNetcdf4(file: string, options: OpenOptions): Promise<RasterSource> {
  const h5 = openHdf5(file);
  try {
    const variablePath = options.variable.replace(/^\//, "");
    const ds = getDataset(h5, variablePath, `The file has: ${listVariables(h5).join(", ")}`);
    const shape = ds.shape ?? [];
    const roles: Role[] = [];
    const coords: (Float64Array | undefined)[] = [];
    let timeConverter: ((v: number) => number) | undefined;
    let crs: Crs = "EPSG:4326";
    for (let axis = 0; axis < shape.length; axis++) {
      const scalePath = safeScales(ds, axis)[0];
      const coord = scalePath ? (h5.get(scalePath) as H5Dataset | null) : null;
      const name = scalePath ? scalePath.split("/").pop()! : `dim${axis}`;
      const units = coord ? stringAttribute(coord, "units") : undefined;
      const role = roleOf(name, units, shape[axis]!);
      if (!role) {
        throw new SmapfillError(`has a dimension '${name}' of length ${shape[axis]} that is neither time, latitude nor longitude`, {
          file,
          variable: options.variable,
          hint: "Select one level first (e.g. with ncks -d) or use a variable without it",
        });
      }
      roles.push(role);
      if (coord && coord instanceof Dataset && role !== "squeeze") {
        const raw = readSlice(file, coord, [[0, shape[axis]!]]);
        coords.push(toFloat64(raw as ArrayLike<number>));
        if (role === "time") {
          timeConverter = cfTimeConverter(units!, stringAttribute(coord, "calendar"), { file, variable: name });
        }
        if ((role === "x" || role === "y") && units === "m") crs = "EPSG:6933";
      } else coords.push(undefined);
    }
    const xAxis = roles.indexOf("x");
    const yAxis = roles.indexOf("y");
    if (xAxis < 0 || yAxis < 0 || !coords[xAxis] || !coords[yAxis]) {
      throw new SmapfillError("has no latitude/longitude (or x/y) coordinate variables", {
        file,
        variable: options.variable,
        hint: "smapfill reads regular grids with CF coordinate variables (lat, lon); curvilinear and swath data need regridding first",
      });
    }
    const tAxis = roles.indexOf("time");
    const times =
      tAxis >= 0 && coords[tAxis]
        ? Float64Array.from(coords[tAxis]!, (v) => timeConverter!(v))
        : options.time !== undefined
          ? Float64Array.of(options.time)
          : undefined;
    const packing = packingOf(ds);
    const units = stringAttribute(ds, "units");
    const source: RasterSource = {
      file,
      variable: options.variable,
      units,
      crs,
      xs: coords[xAxis]!,
      ys: coords[yAxis]!,
      times,
      async read(t0, t1, y0, y1, x0, x1) {
        return cachedRead(t0, t1, y0, y1, x0, x1);
      },
      close: () => h5.close(),
    };
    // Files chunked along time (e.g. ERA5-Land: one chunk for a whole month) would inflate the
    // whole chunk again for every step read, since HDF5's chunk cache (1 MB) cannot hold it: read
    // whole time-chunks of the window once and serve the steps from memory.
    const timeChunk = tAxis >= 0 ? (ds.metadata.chunks?.[tAxis] ?? 1) : 1;
    let cache: { t0: number; t1: number; key: string; data: Float32Array } | undefined;
    const cachedRead = async (t0: number, t1: number, y0: number, y1: number, x0: number, x1: number): Promise<Float32Array> => {
      const cellsPerStep = (y1 - y0) * (x1 - x0);
      const blockStart = Math.floor(t0 / timeChunk) * timeChunk;
      const blockEnd = Math.min(shape[tAxis] ?? 1, Math.ceil(t1 / timeChunk) * timeChunk);
      if (timeChunk <= 1 || (blockEnd - blockStart) * cellsPerStep * 4 > 512 * 2 ** 20) return directRead(t0, t1, y0, y1, x0, x1);
      const key = `${y0}:${y1}:${x0}:${x1}`;
      if (!cache || cache.key !== key || t0 < cache.t0 || t1 > cache.t1) {
        cache = { t0: blockStart, t1: blockEnd, key, data: await directRead(blockStart, blockEnd, y0, y1, x0, x1) };
      }
      return cache.data.slice((t0 - cache.t0) * cellsPerStep, (t1 - cache.t0) * cellsPerStep);
    };
    const directRead = async (t0: number, t1: number, y0: number, y1: number, x0: number, x1: number): Promise<Float32Array> => {
      {
        const ranges: [number, number][] = roles.map((role, axis) => {
          if (role === "time") return [t0, t1];
          if (role === "y") return [y0, y1];
          if (role === "x") return [x0, x1];
          return [0, shape[axis]!];
        });
        const raw = readSlice(file, ds, ranges);
        const nt = tAxis >= 0 ? t1 - t0 : 1;
        const ny = y1 - y0;
        const nx = x1 - x0;
        const out = new Float32Array(nt * ny * nx);
        // Strides of the file order, to place every value at [t][y][x].
        const sizes = ranges.map(([a, b]) => b - a);
        const strides = sizes.map((_, i) => sizes.slice(i + 1).reduce((p, n) => p * n, 1));
        const st = tAxis >= 0 ? strides[tAxis]! : 0;
        const sy = strides[yAxis]!;
        const sx = strides[xAxis]!;
        if (sx === 1 && sy === nx && (tAxis < 0 || st === ny * nx)) {
          applyPacking(raw as ArrayLike<number>, packing, out, (k) => k);
        } else {
          const tmp = new Float32Array(raw.length);
          applyPacking(raw as ArrayLike<number>, packing, tmp, (k) => k);
          for (let t = 0; t < nt; t++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[(t * ny + y) * nx + x] = tmp[t * st + y * sy + x * sx]!;
        }
        return out;
      }
    };
    return source;
  } catch (error) {
    h5.close();
    throw error;
  }
}

function safeScales(ds: H5Dataset, axis: number): string[] {
  try {
    return ds.get_attached_scales(axis);
  } catch {
    return [];
  }
}

function listVariables(h5: H5File): string[] {
  const out: string[] = [];
  const walk = (group: { keys(): string[]; get(k: string): unknown }, prefix: string) => {
    for (const k of group.keys()) {
      const e = group.get(k);
      if (e instanceof Dataset) out.push(prefix + k);
      else if (e && typeof (e as { keys?: unknown }).keys === "function") walk(e as never, `${prefix}${k}/`);
    }
  };
  walk(h5, "");
  return out.slice(0, 40);
}

function packingOf(ds: H5Dataset): Packing {
  const fills: number[] = [];
  for (const name of ["_FillValue", "missing_value"]) {
    const v = attribute(ds, name);
    if (typeof v === "number" && !Number.isNaN(v)) fills.push(v);
  }
  let validMin = numberAttribute(ds, "valid_min") ?? -Infinity;
  let validMax = numberAttribute(ds, "valid_max") ?? Infinity;
  try {
    const range = ds.get_attribute("valid_range", false) as unknown as ArrayLike<number> | null;
    if (range && range.length === 2) [validMin, validMax] = [Number(range[0]), Number(range[1])];
  } catch {
    /* no valid_range */
  }
  return { scale: numberAttribute(ds, "scale_factor") ?? 1, offset: numberAttribute(ds, "add_offset") ?? 0, fills, validMin, validMax };
}

// ---- NetCDF-3 (classic and 64-bit offset) ---------------------------------------------------

async function openNetcdf3(file: string, options: OpenOptions): Promise<RasterSource> {
  let reader: NetCDFReader;
  try {
    reader = new NetCDFReader(fs.readFileSync(file));
  } catch (error) {
    throw new SmapfillError(`cannot parse NetCDF-3 (${(error as Error).message})`, {
      file,
      hint: "The file may be truncated: download it again",
      cause: error,
    });
  }
  const variable = reader.variables.find((v) => v.name === options.variable);
  if (!variable) {
    throw new SmapfillError("variable not found", {
      file,
      variable: options.variable,
      hint: `The file has: ${reader.variables.map((v) => v.name).join(", ")}`,
    });
  }
  const dims = reader.dimensions;
  const recordLength = reader.recordDimension.length;
  const dimNames = variable.dimensions.map((id) => dims[id]!.name);
  const dimSizes = variable.dimensions.map((id) => (dims[id]!.size === 0 ? recordLength : dims[id]!.size));
  const attr = (v: { attributes: { name: string; value: unknown }[] }, name: string) => v.attributes.find((a) => a.name === name)?.value;
  const roles: Role[] = [];
  const coords: (Float64Array | undefined)[] = [];
  let timeConverter: ((v: number) => number) | undefined;
  dimNames.forEach((name, axis) => {
    const coordVar = reader.variables.find((v) => v.name === name);
    const units = coordVar ? (attr(coordVar, "units") as string | undefined) : undefined;
    const role = roleOf(name, units, dimSizes[axis]!);
    if (!role) throw new SmapfillError(`has a dimension '${name}' that is neither time, latitude nor longitude`, { file, variable: options.variable });
    roles.push(role);
    coords.push(coordVar && role !== "squeeze" ? Float64Array.from(reader.getDataVariable(name) as number[], Number) : undefined);
    if (role === "time" && coordVar) timeConverter = cfTimeConverter(units!, attr(coordVar, "calendar") as string | undefined, { file, variable: name });
  });
  const xAxis = roles.indexOf("x");
  const yAxis = roles.indexOf("y");
  const tAxis = roles.indexOf("time");
  if (xAxis < 0 || yAxis < 0) throw new SmapfillError("has no latitude/longitude coordinate variables", { file, variable: options.variable });
  const num = (name: string) => {
    const v = attr(variable, name);
    return typeof v === "number" ? v : Array.isArray(v) ? Number(v[0]) : undefined;
  };
  const fills = [num("_FillValue"), num("missing_value")].filter((v): v is number => v !== undefined);
  const packing: Packing = {
    scale: num("scale_factor") ?? 1,
    offset: num("add_offset") ?? 0,
    fills,
    validMin: num("valid_min") ?? -Infinity,
    validMax: num("valid_max") ?? Infinity,
  };
  // NetCDF-3 files are read whole (they are rarely large); the window is cut in memory.
  const all = (reader.getDataVariable(variable) as (number | number[])[]).flat() as number[];
  const strides = dimSizes.map((_, i) => dimSizes.slice(i + 1).reduce((p, n) => p * n, 1));
  return {
    file,
    variable: options.variable,
    units: attr(variable, "units") as string | undefined,
    crs: "EPSG:4326",
    xs: coords[xAxis]!,
    ys: coords[yAxis]!,
    times:
      tAxis >= 0 && coords[tAxis]
        ? Float64Array.from(coords[tAxis]!, (v) => timeConverter!(v))
        : options.time !== undefined
          ? Float64Array.of(options.time)
          : undefined,
    async read(t0, t1, y0, y1, x0, x1) {
      const nt = tAxis >= 0 ? t1 - t0 : 1;
      const ny = y1 - y0;
      const nx = x1 - x0;
      const out = new Float32Array(nt * ny * nx);
      const raw = new Float64Array(out.length);
      let k = 0;
      for (let t = 0; t < nt; t++) {
        for (let y = 0; y < ny; y++) {
          for (let x = 0; x < nx; x++) {
            let index = (y0 + y) * strides[yAxis]! + (x0 + x) * strides[xAxis]!;
            if (tAxis >= 0) index += (t0 + t) * strides[tAxis]!;
            raw[k++] = all[index]!;
          }
        }
      }
      applyPacking(raw, packing, out, (i) => i);
      return out;
    },
    close() {},
  };
}

// ---- GeoTIFF ---------------------------------------------------------------------------------

/**
 * The band to read (0-based): `band` when given; else the band whose description (GDAL's band
 * metadata) is the variable; a single-band file without descriptions takes its band. A variable
 * no band describes, or a multi-band file without a choice, is an error that lists the bands.
 */
async function geoTiffBand(image: Awaited<ReturnType<Awaited<ReturnType<typeof fromFile>>["getImage"]>>, file: string, options: OpenOptions): Promise<number> {
  const n = image.getSamplesPerPixel();
  const descriptions: string[] = [];
  for (let b = 0; b < n; b++) {
    const meta = ((await image.getGDALMetadata(b)) ?? {}) as Record<string, unknown>;
    descriptions.push(String(meta.DESCRIPTION ?? ""));
  }
  const listed = descriptions.some((d) => d) ? descriptions.map((d, b) => `${b + 1} '${d}'`).join(", ") : `${n} band(s) without descriptions`;
  if (options.band !== undefined) {
    if (options.band < 1 || options.band > n)
      throw new SmapfillError(`has ${n} band(s), band ${options.band} was asked for`, { file, variable: options.variable, hint: `Bands: ${listed}` });
    return options.band - 1;
  }
  const named = descriptions.indexOf(options.variable);
  if (named >= 0) return named;
  if (descriptions.some((d) => d))
    throw new SmapfillError(`no band is described as '${options.variable}'`, {
      file,
      variable: options.variable,
      hint: `Name one of the bands as the variable, or give band: N. Bands: ${listed}`,
    });
  if (n > 1)
    throw new SmapfillError(`has ${n} bands and none was chosen`, {
      file,
      variable: options.variable,
      hint: "Give band: N (1-based) in the predictor's config",
    });
  return 0;
}

async function openGeoTiff(file: string, options: OpenOptions): Promise<RasterSource> {
  let image;
  let tiff;
  try {
    tiff = await fromFile(file);
    image = await tiff.getImage();
  } catch (error) {
    throw new SmapfillError(`cannot read GeoTIFF (${(error as Error).message})`, { file, hint: "The file may be damaged: download it again", cause: error });
  }
  const keys = (image.getGeoKeys() ?? {}) as Record<string, number>;
  const epsg = keys.ProjectedCSTypeGeoKey ?? keys.GeographicTypeGeoKey;
  const crs: Crs | undefined = epsg === 4326 ? "EPSG:4326" : epsg === 6933 ? "EPSG:6933" : undefined;
  const georeferenced = image.fileDirectory.hasTag("ModelTiepoint") || image.fileDirectory.hasTag("ModelTransformation");
  if (epsg === undefined || !georeferenced) {
    // gdalwarp cannot fix this: it needs to know where the raster is first.
    throw new SmapfillError("has no georeferencing (no coordinate system or no tie points)", {
      file,
      hint: "Assign its CRS and corners first: gdal_translate -a_srs EPSG:4326 -a_ullr WEST NORTH EAST SOUTH in.tif out.tif",
    });
  }
  if (!crs) {
    throw new SmapfillError(`has the coordinate system EPSG:${epsg ?? "unknown"}; smapfill reads EPSG:4326 and EPSG:6933 rasters`, {
      file,
      hint: "Reproject first: gdalwarp -t_srs EPSG:4326 in.tif out.tif",
    });
  }
  const [originX, originY] = image.getOrigin();
  const [pw, ph] = image.getResolution();
  const width = image.getWidth();
  const height = image.getHeight();
  const band = await geoTiffBand(image, file, options);
  const nodata = image.getGDALNoData();
  const packing: Packing = { scale: 1, offset: 0, fills: nodata === null ? [] : [nodata], validMin: -Infinity, validMax: Infinity };
  return {
    file,
    variable: options.variable,
    units: undefined,
    crs,
    xs: Float64Array.from({ length: width }, (_, j) => originX! + (j + 0.5) * pw!),
    ys: Float64Array.from({ length: height }, (_, i) => originY! + (i + 0.5) * ph!),
    times: options.time !== undefined ? Float64Array.of(options.time) : undefined,
    async read(_t0, _t1, y0, y1, x0, x1) {
      // geotiff.js reads only the tiles or strips that intersect the window.
      const rasters = await image.readRasters({ window: [x0, y0, x1, y1], samples: [band], interleave: false });
      const raw = (rasters as unknown as ArrayLike<number>[])[0]!;
      const out = new Float32Array(raw.length);
      applyPacking(raw, packing, out, (k) => k);
      return out;
    },
    close() {
      void tiff.close?.();
    },
  };
}
