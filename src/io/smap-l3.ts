/**
 * Reader for SMAP L3 radiometer soil moisture granules as NASA ships them:
 * SPL3SMP_E (enhanced, EASE-Grid 2.0 9 km, 1624 x 3856) and SPL3SMP (36 km, 406 x 964), HDF5.
 *
 * Layout (SPL3SMP v8/v9 DMR, SPL3SMP_E v5/v6): groups Soil_Moisture_Retrieval_Data_AM and
 * Soil_Moisture_Retrieval_Data_PM; PM variables carry the suffix `_pm`; 2-D (row, col) arrays
 * without dimension scales; float fill -9999, uint16 fill 65534; `soil_moisture` has
 * valid_min 0.02 and valid_max 0.5 (cm3/cm3 = m3/m3).
 *
 * retrieval_qual_flag bits (flag_meanings "Retrieval_recommended Retrieval_attempted
 * Retrieval_success FT_retrieval_success"; a bit SET means the condition FAILED):
 *   bit 0 (1): retrieval does not have recommended quality
 *   bit 1 (2): retrieval was not attempted
 *   bit 2 (4): retrieval was not successful
 *   bit 3 (8): freeze/thaw retrieval was not successful (does not affect soil moisture use)
 * Quality policies: "recommended" (default) keeps bit 0 clear; "uncertain" also keeps values
 * whose retrieval succeeded (bits 1-2 clear) but are not recommended; "any" keeps every value
 * inside the valid range. With `surface_flag` (when the granule has it) the flags also say why
 * each cell has no value (smap-flags.ts).
 *
 * Only the requested window is read (an HDF5 hyperslab): a regional read touches only the
 * chunks that intersect the region, never the global array.
 */
import fs from "node:fs";
import path from "node:path";
import { Ease2Grid, type Window } from "../grid/ease2.js";
import { SmapfillError, messageOf } from "../util/errors.js";
import { WorkerPool, defaultThreads } from "../util/worker-pool.js";
import { openHdf5, getDataset, findDataset, readSlice, numberAttribute, stringAttribute, type H5File, type H5Dataset } from "./hdf5.js";
import { FLAG_FILL_VALUE, FLAG_NOT_ATTEMPTED, FLAG_NOT_RECOMMENDED, FLAG_NOT_SUCCESSFUL, passMissingReason, type CellState } from "./smap-flags.js";

export { FLAG_FILL_VALUE, FLAG_NOT_ATTEMPTED, FLAG_NOT_RECOMMENDED, FLAG_NOT_SUCCESSFUL } from "./smap-flags.js";

export type Pass = "AM" | "PM";
export const PASSES: readonly Pass[] = ["AM", "PM"];
export type QualityPolicy = "recommended" | "uncertain" | "any";
export type SmapProduct = "SPL3SMP_E" | "SPL3SMP";

/** SMAP's valid range of soil moisture (SPL3SMP_E and SPL3SMP valid_min / valid_max, m3/m3): products and evaluations clip estimates to it. */
export const SMAP_VALID_RANGE: [number, number] = [0.02, 0.5];
export const SM_FILL_VALUE = -9999;

export interface SmapReadOptions {
  /** The region in the granule's grid; default: the whole global grid. */
  window?: Window;
  /** The grid the caller expects (e.g. "9km"); a granule on another grid is an error. */
  expectResolution?: Ease2Grid["resolution"];
  /** Passes to read; default both. */
  passes?: readonly Pass[];
  /** default "recommended". */
  quality?: QualityPolicy;
  /** Soil moisture variable (without `_pm`): soil_moisture (default), soil_moisture_dca, _scah, _scav. */
  variable?: string;
}

export interface PassStats {
  /** Cells with a usable value. */
  valid: number;
  /** Cells with a value in range that the quality policy rejected. */
  rejectedQuality: number;
  /** Cells with a non-fill value outside the valid range. */
  outOfRange: number;
}

export interface SmapPass {
  pass: Pass;
  /** Soil moisture (m3/m3) on the window, row-major; NaN where missing or rejected. */
  values: Float32Array;
  /** The raw retrieval_qual_flag on the window (65534 = fill). */
  flags: Uint16Array | undefined;
  /** Why each cell has no value (smap-flags.ts: 1 = it has one), from the value, the quality policy and both flags. */
  reasons: Uint8Array;
  stats: PassStats;
}

export interface SmapGranule {
  file: string;
  product: SmapProduct;
  grid: Ease2Grid;
  /** Nominal date of the granule, YYYY-MM-DD (UTC). */
  date: string;
  window: Window;
  passes: SmapPass[];
}

const GRANULE_NAME = /SMAP_L3_SM_P(_E)?_(\d{4})(\d{2})(\d{2})_/;

/** The date (YYYY-MM-DD) of a granule from NASA's file name, or undefined. */
export function granuleDateFromName(file: string): string | undefined {
  const m = GRANULE_NAME.exec(path.basename(file));
  return m ? `${m[2]}-${m[3]}-${m[4]}` : undefined;
}

function granuleDate(h5: H5File, file: string): string {
  const fromName = granuleDateFromName(file);
  if (fromName) return fromName;
  // Renamed files: the ISO metadata carries the range of the granule.
  for (const p of ["Metadata/Extent", "Metadata/DatasetIdentification"]) {
    try {
      const entity = h5.get(p);
      if (entity) {
        const v = stringAttribute(entity as H5Dataset, "rangeBeginningDateTime");
        if (v && /^\d{4}-\d{2}-\d{2}/.test(v)) return v.slice(0, 10);
      }
    } catch {
      /* fall through to the error below */
    }
  }
  throw new SmapfillError("cannot tell the date of the granule", {
    file,
    hint: "Keep NASA's file name (SMAP_L3_SM_P_E_YYYYMMDD_...h5) or the Metadata/Extent group",
  });
}

function groupName(pass: Pass): string {
  return `Soil_Moisture_Retrieval_Data_${pass}`;
}

function passVariable(variable: string, pass: Pass): string {
  return pass === "PM" ? `${variable}_pm` : variable;
}

/** The quality flag dataset that goes with a soil moisture variable (soil_moisture_scah -> retrieval_qual_flag_scah). */
function flagDatasetFor(h5: H5File, variable: string, pass: Pass): H5Dataset | undefined {
  const suffix = variable.startsWith("soil_moisture_") ? variable.slice("soil_moisture".length) : "";
  for (const candidate of [`retrieval_qual_flag${suffix}`, "retrieval_qual_flag"]) {
    const dataset = findDataset(h5, `${groupName(pass)}/${passVariable(candidate, pass)}`);
    if (dataset) return dataset;
  }
  return undefined;
}

function productOf(grid: Ease2Grid, file: string, variablePath: string): SmapProduct {
  if (grid.resolution === "9km") return "SPL3SMP_E";
  if (grid.resolution === "36km") return "SPL3SMP";
  throw new SmapfillError(`a ${grid.name} array is not an SPL3SMP(_E) soil moisture grid`, { file, variable: variablePath });
}

function checkedGrid(dataset: H5Dataset, file: string, variablePath: string): Ease2Grid {
  const shape = dataset.shape ?? [];
  const grid = shape.length === 2 ? Ease2Grid.fromShape(shape[0]!, shape[1]!) : undefined;
  if (!grid || (grid.resolution !== "9km" && grid.resolution !== "36km")) {
    throw new SmapfillError(`has shape [${shape.join(", ")}], not a global SPL3SMP_E (1624 x 3856) or SPL3SMP (406 x 964) grid`, {
      file,
      variable: variablePath,
      hint: "Spatial subsets (e.g. from Harmony/HOSS) are not supported yet: download the global granule",
    });
  }
  return grid;
}

/** Reads the soil moisture of one granule on a window, applying fill, range and quality rules. */
export function readSmapL3(file: string, options: SmapReadOptions = {}): SmapGranule {
  const variable = options.variable ?? "soil_moisture";
  const quality = options.quality ?? "recommended";
  const passes = options.passes ?? PASSES;
  const h5 = openHdf5(file);
  try {
    let grid: Ease2Grid | undefined;
    let window = options.window;
    const result: SmapPass[] = [];
    for (const pass of passes) {
      const smPath = `${groupName(pass)}/${passVariable(variable, pass)}`;
      const sm = getDataset(h5, smPath, `Is this an SPL3SMP/SPL3SMP_E granule? Expected the group ${groupName(pass)} with ${passVariable(variable, pass)}`);
      const passGrid = checkedGrid(sm, file, smPath);
      if (grid && passGrid !== grid) {
        throw new SmapfillError(`is on ${passGrid.name} but the AM pass is on ${grid.name}`, { file, variable: smPath });
      }
      grid = passGrid;
      if (options.expectResolution && grid.resolution !== options.expectResolution) {
        throw new SmapfillError(`is on the ${grid.name} grid, but the study uses ${options.expectResolution}`, {
          file,
          variable: smPath,
          hint: grid.resolution === "9km" ? "Use SPL3SMP_E granules for 9 km studies" : "Use SPL3SMP granules for 36 km studies",
        });
      }
      window ??= { row0: 0, col0: 0, nrows: grid.nrows, ncols: grid.ncols };
      grid.checkWindow(window, "the region");
      result.push(readPass(h5, file, pass, sm, smPath, variable, window, quality));
    }
    if (!grid || !window) throw new SmapfillError("no pass requested", { file });
    const date = granuleDate(h5, file);
    return { file, product: productOf(grid, file, variable), grid, date, window, passes: result };
  } finally {
    h5.close();
  }
}

function readPass(h5: H5File, file: string, pass: Pass, sm: H5Dataset, smPath: string, variable: string, window: Window, quality: QualityPolicy): SmapPass {
  const ranges: [number, number][] = [
    [window.row0, window.row0 + window.nrows],
    [window.col0, window.col0 + window.ncols],
  ];
  const raw = readSlice(file, sm, ranges);
  if (!(raw instanceof Float32Array) && !(raw instanceof Float64Array)) {
    throw new SmapfillError(`has data type ${sm.dtype}, expected float32`, { file, variable: smPath });
  }
  const fill = numberAttribute(sm, "_FillValue") ?? SM_FILL_VALUE;
  // valid_min is stored as float32 0.02 (= 0.0199999996); compare in float32 to keep 0.02 itself.
  const validMin = Math.fround(numberAttribute(sm, "valid_min") ?? 0);
  const validMax = Math.fround(numberAttribute(sm, "valid_max") ?? 1);

  // The flags are read whenever the granule has them (they also tell why a value is missing);
  // only the quality screening requires them.
  let flags: Uint16Array | undefined;
  const flagDataset = flagDatasetFor(h5, variable, pass);
  if (flagDataset) {
    flags = asUint16(readSlice(file, flagDataset, ranges));
  } else if (quality !== "any") {
    throw new SmapfillError(`has no retrieval_qual_flag for ${smPath}`, {
      file,
      variable: `${groupName(pass)}/${passVariable("retrieval_qual_flag", pass)}`,
      hint: "Use quality 'any' to read values without quality screening",
    });
  }

  // surface_flag says why a retrieval was skipped or flagged (and 2047 = outside the swath).
  const surfaceDataset = findDataset(h5, `${groupName(pass)}/${passVariable("surface_flag", pass)}`);
  const surface = surfaceDataset ? asUint16(readSlice(file, surfaceDataset, ranges)) : undefined;

  const values = new Float32Array(raw.length);
  const reasons = new Uint8Array(raw.length);
  const stats: PassStats = { valid: 0, rejectedQuality: 0, outOfRange: 0 };
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    let state: CellState = "valid";
    if (v === fill || !Number.isFinite(v)) state = "fill";
    else if (v < validMin || v > validMax) {
      state = "out_of_range";
      stats.outOfRange++;
    } else if (flags && quality !== "any" && !acceptedByQuality(flags[i]!, quality)) {
      state = "rejected";
      stats.rejectedQuality++;
    } else stats.valid++;
    values[i] = state === "valid" ? v : NaN;
    reasons[i] = passMissingReason(state, flags?.[i], surface?.[i]);
  }
  return { pass, values, flags, reasons, stats };
}

function asUint16(a: ReturnType<typeof readSlice>): Uint16Array {
  return a instanceof Uint16Array ? a : Uint16Array.from(a as ArrayLike<number>);
}

/** Whether a retrieval_qual_flag value passes the policy. */
export function acceptedByQuality(flag: number, quality: QualityPolicy): boolean {
  if (quality === "any") return true;
  if (flag === FLAG_FILL_VALUE) return false;
  if ((flag & FLAG_NOT_RECOMMENDED) === 0) return true;
  return quality === "uncertain" && (flag & (FLAG_NOT_ATTEMPTED | FLAG_NOT_SUCCESSFUL)) === 0;
}

/** SMAP L3 granules in a directory (sorted by date, then name), or the files given. */
export function listGranules(directoryOrFiles: string | string[]): string[] {
  const files = Array.isArray(directoryOrFiles)
    ? directoryOrFiles
    : (() => {
        if (!fs.existsSync(directoryOrFiles)) {
          throw new SmapfillError("directory not found", { file: directoryOrFiles, hint: "Check the SMAP granule path in your config" });
        }
        return fs
          .readdirSync(directoryOrFiles)
          .filter((name) => /\.(h5|he5|hdf5|nc4|nc)$/i.test(name) && GRANULE_NAME.test(name))
          .map((name) => path.join(directoryOrFiles, name));
      })();
  return [...files].sort((a, b) => {
    const da = granuleDateFromName(a) ?? "";
    const db = granuleDateFromName(b) ?? "";
    return da === db ? a.localeCompare(b) : da < db ? -1 : 1;
  });
}

/** HDF5 files of a granule directory whose names are not NASA's (their date cannot be known). */
export function misnamedGranules(directory: string): string[] {
  if (!fs.existsSync(directory) || !fs.statSync(directory).isDirectory()) return [];
  return fs
    .readdirSync(directory)
    .filter((name) => /\.(h5|he5|hdf5|nc4)$/i.test(name) && !GRANULE_NAME.test(name))
    .sort()
    .map((name) => path.join(directory, name));
}

export interface GranuleFailure {
  file: string;
  error: string;
}

export type GranuleResult = { ok: true; granule: SmapGranule } | { ok: false; failure: GranuleFailure };

/**
 * Reads granules one by one (only one is in memory at a time). A bad file does not stop the
 * others: it is yielded as a failure that names the file and what went wrong.
 */
export function* readGranules(files: string[], options: SmapReadOptions = {}): Generator<GranuleResult> {
  for (const file of files) {
    try {
      yield { ok: true, granule: readSmapL3(file, options) };
    } catch (error) {
      yield { ok: false, failure: { file, error: messageOf(error) } };
    }
  }
}

/**
 * Reads granules on worker threads (default: all cores), results in file order; at most
 * 2 x threads granules are in memory at once. One pool serves many calls of `read`.
 */
export class GranuleReaderPool {
  private pool: WorkerPool<{ file: string; options: SmapReadOptions }, WorkerReply> | undefined;

  constructor(readonly threads = defaultThreads()) {}

  async *read(files: string[], options: SmapReadOptions = {}): AsyncGenerator<GranuleResult> {
    if (this.threads <= 1 || files.length < 2) {
      yield* readGranules(files, options);
      return;
    }
    this.pool ??= new WorkerPool(new URL("./smap-l3-worker.js", import.meta.url), this.threads);
    const pool = this.pool;
    const inFlight: Promise<WorkerReply>[] = [];
    let next = 0;
    const ahead = 2 * pool.size;
    const launch = () => {
      const reply = pool.run({ file: files[next++]!, options });
      // Awaited in file order below; a later one failing first must not count as unhandled.
      reply.catch(() => undefined);
      inFlight.push(reply);
    };
    while (next < files.length && inFlight.length < ahead) launch();
    while (inFlight.length > 0) {
      const reply = await inFlight.shift()!;
      if (next < files.length) launch();
      if (reply.ok) yield { ok: true, granule: { ...reply.granule, grid: Ease2Grid.of(reply.granule.grid) } };
      else yield { ok: false, failure: reply.failure };
    }
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
  }
}

type WorkerReply = { ok: true; granule: Omit<SmapGranule, "grid"> & { grid: Ease2Grid["resolution"] } } | { ok: false; failure: GranuleFailure };
