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
import { Cube, type VariableSpec } from "../cube/cube.js";
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
  if (!source.hasVariable("soil_moisture")) throw new SmapfillError("has no variable 'soil_moisture'", { file: source.path, hint: "Ingest SMAP first" });
  const T = source.days;
  const useFrom = o.useFrom ?? 0;
  const useTo = o.useTo ?? T - 1;
  if (!(useFrom >= 0 && useTo < T && useFrom <= useTo))
    throw new SmapfillError(`the training window ${useFrom}..${useTo} is outside the cube's ${T} days`, { variable: "--from/--to" });
  if (fs.existsSync(output)) throw new SmapfillError("already exists", { file: output, hint: "Choose another output or remove it" });
  const { nrows, ncols } = source.window;
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
  const target = await Cube.create(partial, {
    resolution: source.grid.resolution,
    window: source.window,
    start: source.start,
    days: T,
    variables: [...statics, ...dynamics],
    chunks: source.chunks,
    attributes: {
      title: "smapfill SMAP time-series features",
      features_source: source.path,
      features_window: `${formatDay(source.startDay + useFrom)}..${formatDay(source.startDay + useTo)}`,
    },
  });
  const tiles = source.tiles();
  let readSeconds = 0;
  let computeSeconds = 0;
  let writeSeconds = 0;
  for (const [i, tile] of tiles.entries()) {
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
    readSeconds += (t1 - t0) / 1000;
    computeSeconds += (t2 - t1) / 1000;
    writeSeconds += (t3 - t2) / 1000;
    o.onTile?.(i + 1, tiles.length);
  }
  await target.addProvenance("features", { source: source.path, useFrom, useTo, context: Boolean(o.context) });
  fs.renameSync(partial, output);
  return {
    output,
    pixels: nrows * ncols,
    days: T,
    tiles: tiles.length,
    seconds: (performance.now() - started) / 1000,
    readSeconds,
    computeSeconds,
    writeSeconds,
  };
}
