/**
 * Writes granules in the SPL3SMP_E / SPL3SMP layout (see smap-l3.ts), so that the synthetic world
 * and the tests exercise exactly the reader real data go through.
 *
 * Every global array is chunked and gzip-compressed and every chunk holds the product's fill
 * value, as in NASA's files (HDF5 would otherwise return 0 for chunks never written, and h5wasm
 * cannot set a dataset fill value). Building such a file takes about a second, so an all-fill
 * template is built once per grid and copied for each day; then only the region's chunks are
 * rewritten. The file is written under a temporary name and renamed when complete.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Ease2Grid, type Window } from "../grid/ease2.js";
import { SmapfillError } from "../util/errors.js";
import { createHdf5, openHdf5, type H5Group } from "./hdf5.js";
import { FLAG_FILL_VALUE, SM_FILL_VALUE, type Pass } from "./smap-l3.js";
import { SURFACE_BITS, SURFACE_FLAG_NOT_IN_SWATH } from "./smap-flags.js";

export interface PassToWrite {
  /** Soil moisture on the window (row-major), NaN = no retrieval. */
  values: Float32Array;
  /** retrieval_qual_flag on the window; default 0 (recommended) where a value exists. */
  flags?: Uint16Array;
  /** surface_flag on the window; default fill (65534) everywhere. */
  surface?: Uint16Array;
}

export interface GranuleToWrite {
  grid: Ease2Grid;
  /** YYYY-MM-DD */
  date: string;
  window: Window;
  AM?: PassToWrite;
  PM?: PassToWrite;
  /** Composite release id in the file name, default R19240 (the v6 era). */
  crid?: string;
  /** Root attributes (the real product has none; synthetic granules say what they are). */
  attributes?: Record<string, string>;
}

const CHUNKS: [number, number] = [203, 482];
const TEMPLATE_VERSION = 2;

/** NASA's file name for a granule of this grid and date. */
export function granuleFileName(grid: Ease2Grid, date: string, crid = "R19240"): string {
  const compact = date.replaceAll("-", "");
  const prefix = grid.resolution === "9km" ? "SMAP_L3_SM_P_E_" : "SMAP_L3_SM_P_";
  return `${prefix}${compact}_${crid}_001.h5`;
}

/** The product's own flag_meanings of surface_flag (bit 7 is the radar's on PM, as in SPL3SMP v8 and SPL3SMP_E v6). */
function surfaceFlagMeanings(grid: Ease2Grid, pass: Pass): string {
  const km = grid.resolution === "9km" ? "9_km" : "36_km";
  return Object.keys(SURFACE_BITS)
    .map((name) => (name === "frozen_ground" ? `${pass === "AM" ? "radiometer" : "radar"}_frozen_ground` : name))
    .map((name) => `${km}_${name}`)
    .join(" ");
}

function suffix(pass: Pass): string {
  return pass === "PM" ? "_pm" : "";
}

function templatePath(grid: Ease2Grid): string {
  const dir = process.env.SMAPFILL_CACHE ?? path.join(os.tmpdir(), "smapfill-cache");
  return path.join(dir, `spl3-template-v${TEMPLATE_VERSION}-${grid.resolution}.h5`);
}

function ensureTemplate(grid: Ease2Grid): string {
  const file = templatePath(grid);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const h5 = createHdf5(tmp);
  try {
    const shape = [grid.nrows, grid.ncols];
    const floatFill = new Float32Array(grid.nrows * grid.ncols).fill(SM_FILL_VALUE);
    const flagFill = new Uint16Array(grid.nrows * grid.ncols).fill(FLAG_FILL_VALUE);
    const chunks = grid.resolution === "36km" ? [203, 482] : CHUNKS;
    const coords = `/Soil_Moisture_Retrieval_Data_AM/latitude /Soil_Moisture_Retrieval_Data_AM/longitude`;
    for (const pass of ["AM", "PM"] as Pass[]) {
      const group = h5.create_group(`Soil_Moisture_Retrieval_Data_${pass}`) as H5Group;
      const s = suffix(pass);
      const floatDataset = (name: string) =>
        group.create_dataset({ name: name + s, data: floatFill, shape, dtype: "<f", chunks, compression: "gzip", compression_opts: 4 });
      const flagDataset = (name: string) =>
        group.create_dataset({ name: name + s, data: flagFill, shape, dtype: "<H", chunks, compression: "gzip", compression_opts: 4 });

      const sm = floatDataset("soil_moisture");
      sm.create_attribute("_FillValue", new Float32Array([SM_FILL_VALUE]), [1], "<f");
      sm.create_attribute("long_name", "Representative DCA soil moisture measurement for the Earth based grid cell.");
      sm.create_attribute("units", "cm**3/cm**3");
      sm.create_attribute("valid_min", new Float32Array([0.02]), [1], "<f");
      sm.create_attribute("valid_max", new Float32Array([0.5]), [1], "<f");
      sm.create_attribute("coordinates", coords);
      group.create_hard_link(`/Soil_Moisture_Retrieval_Data_${pass}/soil_moisture${s}`, `soil_moisture_dca${s}`);

      const flags = flagDataset("retrieval_qual_flag");
      flags.create_attribute("_FillValue", new Uint16Array([FLAG_FILL_VALUE]), [1], "<H");
      flags.create_attribute("flag_masks", "1s, 2s, 4s, 8s");
      flags.create_attribute("flag_meanings", "Retrieval_recommended Retrieval_attempted Retrieval_success FT_retrieval_success");
      flags.create_attribute(
        "long_name",
        "Bit flags that record the conditions and the quality of the DCA retrieval algorithms that generate soil moisture for the grid cell.",
      );

      const surface = flagDataset("surface_flag");
      surface.create_attribute("_FillValue", new Uint16Array([FLAG_FILL_VALUE]), [1], "<H");
      surface.create_attribute("flag_masks", "1s, 2s, 4s, 8s, 16s, 32s, 64s, 128s, 256s, 512s, 1024s, 2048s");
      surface.create_attribute("flag_meanings", surfaceFlagMeanings(grid, pass));
      surface.create_attribute("long_name", "Bit flags that record ambient surface conditions for the grid cell");
      surface.create_attribute("coordinates", coords);

      for (const [name, units, long] of [
        ["latitude", "degrees_north", "Latitude of the center of the Earth based grid cell."],
        ["longitude", "degrees_east", "Longitude of the center of the Earth based grid cell."],
      ] as const) {
        const d = floatDataset(name);
        d.create_attribute("long_name", long);
        d.create_attribute("units", units);
        // As in the real product, only the PM latitude/longitude declare their fill value.
        if (pass === "PM") d.create_attribute("_FillValue", new Float32Array([SM_FILL_VALUE]), [1], "<f");
      }
      for (const name of ["EASE_row_index", "EASE_column_index"]) {
        const d = flagDataset(name);
        d.create_attribute("_FillValue", new Uint16Array([FLAG_FILL_VALUE]), [1], "<H");
        d.create_attribute("long_name", `The ${name.includes("row") ? "row" : "column"} index of the 2D cylindrical grid`);
      }
    }
  } finally {
    h5.close();
  }
  fs.renameSync(tmp, file);
  return file;
}

/** Writes one granule into `directory`; returns its path. */
export function writeSmapL3Granule(directory: string, granule: GranuleToWrite): string {
  const { grid, window } = granule;
  grid.checkWindow(window, "the granule window");
  const n = window.nrows * window.ncols;
  for (const pass of ["AM", "PM"] as Pass[]) {
    const p = granule[pass];
    if (p && (p.values.length !== n || (p.flags && p.flags.length !== n) || (p.surface && p.surface.length !== n))) {
      throw new SmapfillError(`the ${pass} arrays hold ${p.values.length} values, the window ${n}`, { variable: pass });
    }
  }
  fs.mkdirSync(directory, { recursive: true });
  const file = path.join(directory, granuleFileName(grid, granule.date, granule.crid));
  const tmp = `${file}.${process.pid}.tmp`;
  fs.copyFileSync(ensureTemplate(grid), tmp);
  try {
    fillGranule(tmp, granule);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.renameSync(tmp, file);
  return file;
}

function fillGranule(tmp: string, granule: GranuleToWrite): void {
  const { grid, window } = granule;
  const n = window.nrows * window.ncols;
  const h5 = openHdf5(tmp, "a");
  try {
    const ranges = [
      [window.row0, window.row0 + window.nrows],
      [window.col0, window.col0 + window.ncols],
    ];
    const lats = grid.windowLatitudes(window);
    const lons = grid.windowLongitudes(window);
    for (const pass of ["AM", "PM"] as Pass[]) {
      const data = granule[pass];
      if (!data) continue;
      const s = suffix(pass);
      const g = `Soil_Moisture_Retrieval_Data_${pass}`;
      const sm = new Float32Array(n);
      const flags = new Uint16Array(n);
      const surface = data.surface ?? new Uint16Array(n).fill(FLAG_FILL_VALUE);
      const lat = new Float32Array(n);
      const lon = new Float32Array(n);
      const rowIndex = new Uint16Array(n);
      const colIndex = new Uint16Array(n);
      for (let i = 0; i < window.nrows; i++) {
        for (let j = 0; j < window.ncols; j++) {
          const k = i * window.ncols + j;
          const v = data.values[k]!;
          const has = Number.isFinite(v);
          sm[k] = has ? v : SM_FILL_VALUE;
          flags[k] = data.flags ? data.flags[k]! : has ? 0 : FLAG_FILL_VALUE;
          // As in the product: no location outside the swath (surface_flag 2047) or where nothing is known.
          const located = has || (flags[k] !== FLAG_FILL_VALUE && surface[k] !== SURFACE_FLAG_NOT_IN_SWATH);
          lat[k] = located ? lats[i]! : SM_FILL_VALUE;
          lon[k] = located ? lons[j]! : SM_FILL_VALUE;
          rowIndex[k] = located ? window.row0 + i : FLAG_FILL_VALUE;
          colIndex[k] = located ? window.col0 + j : FLAG_FILL_VALUE;
        }
      }
      const put = (name: string, values: Float32Array | Uint16Array) => {
        const d = h5.get(`${g}/${name}${s}`);
        (d as unknown as { write_slice(r: number[][], v: unknown): void }).write_slice(ranges, values);
      };
      put("soil_moisture", sm);
      put("retrieval_qual_flag", flags);
      put("surface_flag", surface);
      put("latitude", lat);
      put("longitude", lon);
      put("EASE_row_index", rowIndex);
      put("EASE_column_index", colIndex);
    }
    for (const [key, value] of Object.entries(granule.attributes ?? {})) h5.create_attribute(key, value);
  } finally {
    h5.close();
  }
}
