/**
 * The time-series features of a whole cube, streamed: the cube is read one spatial tile at a
 * time (all days of the tile's pixels, tile = the cube's y/x chunk, so reads and writes touch
 * whole chunks), the features of the tile are computed and written, and the tile is dropped.
 * Memory is bounded by one tile (default chunks 128 x 128: ~16 k pixels x days), not by the
 * cube; a China-sized cube (~120 000 pixels x 2 557 days) goes through in tiles of ~170 MB.
 *
 * Output: a features cube on the same grid and window, with the 30 per-pixel statistics as
 * static variables (ts_mean, ...) and, with `context`, the 5 temporal-context terms of every
 * pixel-day as dynamic variables (ts_clim_doy, ts_prev_value, ...). Only SMAP values of the
 * days in [useFrom, useTo] enter the features (the training window); context terms are given
 * for every day. Written to a temporary name and renamed when complete.
 *
 * Each tile goes through the sample layer (samples.ts) like the model inputs of evaluation and
 * reconstruction: a tile's SampleArrays and a training mask that keeps the window's days.
 */
import fs from "node:fs";
import { Cube, type LocalWindow, type VariableSpec } from "../cube/cube.js";
import { formatDay } from "../util/dates.js";
import { SmapfillError } from "../util/errors.js";
import { FeatureBuilder, readSampleArrays } from "./samples.js";
import { CONTEXT_FEATURE_NAMES, PIXEL_FEATURE_NAMES } from "./timeseries.js";

const CONTEXT_BATCH = 1024;

export interface CubeFeatureOptions {
  /** First and last cube day index (inclusive) whose SMAP values are used; default all. */
  useFrom?: number;
  useTo?: number;
  /** Also write the per-pixel-day context terms (5 dynamic variables of the cube's size). */
  context?: boolean;
  onTile?: (done: number, total: number) => void;
}

export interface CubeFeatureReport {
  output: string;
  pixels: number;
  days: number;
  tiles: number;
  seconds: number;
  /** Seconds spent reading, computing and writing. */
  readSeconds: number;
  computeSeconds: number;
  writeSeconds: number;
}

export async function writeCubeFeatures(source: Cube, output: string, o: CubeFeatureOptions = {}): Promise<CubeFeatureReport> {
  const started = performance.now();
  const target = await createFeatureCube(source, output, o);
  const tiles = source.tiles();
  const seconds = { read: 0, compute: 0, write: 0 };
  for (const [i, tile] of tiles.entries()) {
    const s = await writeTileFeatures(source, target, tile, o);
    ((seconds.read += s.read), (seconds.compute += s.compute), (seconds.write += s.write));
    o.onTile?.(i + 1, tiles.length);
  }
  await finishFeatureCube(source, target, output, o);
  return {
    output,
    pixels: source.window.nrows * source.window.ncols,
    days: source.days,
    tiles: tiles.length,
    seconds: (performance.now() - started) / 1000,
    readSeconds: seconds.read,
    computeSeconds: seconds.compute,
    writeSeconds: seconds.write,
  };
}

/** Bytes one tile holds while its features are computed: its SMAP series and the training copy (float32), plus the context terms' 5 arrays with `context`. */
export function tileFeatureBytes(source: Cube, context: boolean): number {
  const [, y, x] = source.chunkShape("dynamic");
  return y! * x! * source.days * 4 * (2 + (context ? 5 : 0));
}

/** The training window's day indices, checked against the cube. */
function trainingWindow(source: Cube, o: CubeFeatureOptions): [number, number] {
  const useFrom = o.useFrom ?? 0;
  const useTo = o.useTo ?? source.days - 1;
  if (!(useFrom >= 0 && useTo < source.days && useFrom <= useTo))
    throw new SmapfillError(`the training window ${useFrom}..${useTo} is outside the cube's ${source.days} days`, { variable: "--from/--to" });
  return [useFrom, useTo];
}

/** The features cube under its temporary name OUTPUT.partial (tiles are written into it, then it is renamed). */
export async function createFeatureCube(source: Cube, output: string, o: CubeFeatureOptions = {}): Promise<Cube> {
  if (!source.hasVariable("soil_moisture")) throw new SmapfillError("has no variable 'soil_moisture'", { file: source.path, hint: "Ingest SMAP first" });
  const [useFrom, useTo] = trainingWindow(source, o);
  if (fs.existsSync(output)) throw new SmapfillError("already exists", { file: output, hint: "Choose another output or remove it" });
  const statics: VariableSpec[] = PIXEL_FEATURE_NAMES.map((name) => ({
    name,
    kind: "static",
    units: "see FEATURES.md",
    long_name: `SMAP time-series feature ${name}`,
  }));
  const dynamics: VariableSpec[] = o.context
    ? CONTEXT_FEATURE_NAMES.map((name) => ({
        name,
        kind: "dynamic",
        units: name.endsWith("_gap") ? "days" : "m3 m-3",
        long_name: `SMAP temporal context ${name}`,
      }))
    : [];
  const partial = `${output}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  return Cube.create(partial, {
    resolution: source.grid.resolution,
    window: source.window,
    start: source.start,
    days: source.days,
    variables: [...statics, ...dynamics],
    chunks: source.chunks,
    attributes: {
      title: "smapfill SMAP time-series features",
      features_source: source.path,
      features_window: `${formatDay(source.startDay + useFrom)}..${formatDay(source.startDay + useTo)}`,
    },
  });
}

/** One tile's features computed and written (whole chunks: tiles never share a file); seconds spent reading, computing, writing. */
export async function writeTileFeatures(
  source: Cube,
  target: Cube,
  tile: LocalWindow,
  o: CubeFeatureOptions = {},
): Promise<{ read: number; compute: number; write: number }> {
  const [useFrom, useTo] = trainingWindow(source, o);
  const T = source.days;
  const t0 = performance.now();
  const arrays = await readSampleArrays(source, { window: tile, predictors: false });
  const t1 = performance.now();
  const P = tile.nrows * tile.ncols;
  // The training mask: observed days inside the training window.
  const roles = Int8Array.from(arrays.smap, (v, k) => {
    const t = Math.floor(k / P);
    return t >= useFrom && t <= useTo && !Number.isNaN(v) ? 0 : -1;
  });
  const features = new FeatureBuilder(arrays, roles);
  const stats = features.pixelStatistics;
  const nF = PIXEL_FEATURE_NAMES.length;
  const staticOut = PIXEL_FEATURE_NAMES.map((_, f) => Float32Array.from({ length: P }, (_, p) => stats[p * nF + f]!));
  // Context terms, day-major like the cube; queried a batch of pixels at a time (all days of
  // each), which bounds the per-pixel caches of the context computation.
  const contextOut = o.context ? CONTEXT_FEATURE_NAMES.map(() => new Float32Array(P * T)) : [];
  for (let p0 = 0; o.context && p0 < P; p0 += CONTEXT_BATCH) {
    const n = Math.min(CONTEXT_BATCH, P - p0);
    const pix = new Int32Array(n * T);
    const day = new Int32Array(n * T);
    for (let q = 0; q < n * T; q++) ((pix[q] = p0 + Math.floor(q / T)), (day[q] = q % T));
    const ctx = features.context(pix, day);
    for (let q = 0; q < n * T; q++) {
      const k = day[q]! * P + pix[q]!;
      for (let c = 0; c < 5; c++) contextOut[c]![k] = ctx[q * 5 + c]!;
    }
  }
  const t2 = performance.now();
  for (const [f, name] of PIXEL_FEATURE_NAMES.entries()) await target.writeStatic(name, staticOut[f]!, tile);
  for (const [c, name] of CONTEXT_FEATURE_NAMES.entries()) if (o.context) await target.writeBlock(name, 0, contextOut[c]!, tile);
  const t3 = performance.now();
  return { read: (t1 - t0) / 1000, compute: (t2 - t1) / 1000, write: (t3 - t2) / 1000 };
}

/** Provenance, then OUTPUT.partial renamed to OUTPUT: the features cube exists only complete. */
export async function finishFeatureCube(source: Cube, target: Cube, output: string, o: CubeFeatureOptions = {}): Promise<void> {
  const [useFrom, useTo] = trainingWindow(source, o);
  await target.addProvenance("features", { source: source.path, useFrom, useTo, context: Boolean(o.context) });
  fs.renameSync(target.path, output);
}

export interface FeatureTiles {
  source: string;
  output: string;
  /** The tiles of one static chunk (tiles in another chunk never share a file with these). */
  tiles: number[];
  useFrom: number;
  useTo: number;
  context: boolean;
}

/**
 * Features' unit of work: the tiles of one static chunk (tiles in another chunk never share a
 * file with these), written into OUTPUT.partial; returns the chunk files written (a distributed
 * job, src/jobs/units.ts, checks its run's lock and their checksums).
 */
export async function writeFeatureTiles(d: FeatureTiles): Promise<{ root: string; written: string[] }> {
  const source = await Cube.open(d.source);
  const target = await Cube.open(`${d.output}.partial`);
  const files = new Set<string>();
  for (const t of d.tiles) {
    const tile = source.tiles()[t];
    if (!tile) throw new SmapfillError(`tile ${t} is not in the cube`, { file: d.source });
    await writeTileFeatures(source, target, tile, { useFrom: d.useFrom, useTo: d.useTo, context: d.context });
    for (const v of target.variables) for (const f of target.chunkFiles(v.name, tile)) files.add(f);
  }
  return { root: target.path, written: [...files] };
}
