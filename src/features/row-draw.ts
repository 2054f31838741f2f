/**
 * The one row draw: the feature rows of a cube's pixel-days, read tile by tile in bounded memory,
 * for every run that trains, calibrates or scores a model (evaluate, train CUBE, the product
 * model). A continental cube never sits in memory whole, only
 *  - its roles, 1 byte per pixel-day of the window (roles.ts), decided by the caller (the split
 *    designs of eval/splits.ts, the product model's gaps);
 *  - one tile at a time (a cube chunk, plus SPATIAL_HALO cells around it when the spatial
 *    features are on): its SMAP series and the feature builder's copies of it, its predictors
 *    one chunk of days at a time;
 *  - the drawn rows' features.
 *
 * Two views of a tile, and the rule of which rows get which (the halo and out-of-fold rules live
 * here and in samples.ts, nowhere else):
 *  - the fit view (training and validation rows): the features see the training values only;
 *    training rows are out-of-fold (samples.ts): their statistics leave their fold out and their
 *    context and spatial terms are computed as if they sat in a gap drawn from the gaps the model
 *    will fill (SMAP's own missing days and the validation/calibration gaps);
 *  - the ship view (calibration rows, test rows, station days, every row a reconstruction
 *    fills): the features see every observation but the held-out values (the test values, and
 *    for calibration rows the calibration values too), in-sample, on the tile with its halo of
 *    SMAP values: exactly what reconstruction computes from a cube whose held-out values are
 *    hidden, so that an evaluation scores what a product ships and the uncertainty is calibrated
 *    on the errors of rows built as the product builds them (in the fit view the calibration
 *    errors came out smaller than the test errors far from a retrieval: docs/evaluation.md).
 *
 * The draw: training rows stratified by pixel x season with proportional allocation (largest
 * remainders) over the whole window, so every pixel (and every land-cover class) keeps its share
 * in every season; which rows of a stratum is seeded by the stratum, so the draw does not depend
 * on the tiling. Validation and calibration rows: all of them up to their caps, else a
 * hash-seeded share (the same whatever the tiling). What does depend on the tiling: a training
 * row's out-of-fold folds, gap and spatial hole come from its tile (with its halo).
 */
import type { Cube, LocalWindow } from "../cube/cube.js";
import { SmapfillError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { hashUniform, Rng } from "../util/random.js";
import { daySeasons } from "./calendar.js";
import { Role, shipView, type Roles } from "./roles.js";
import { FeatureBuilder, readDynamicBlock, readSampleArrays, type SampleArrays } from "./samples.js";
import type { FeatureSchema } from "./schema.js";
import { SPATIAL_FEATURE_NAMES, SPATIAL_HALO, type SpatialSource } from "./spatial.js";
import { CONTEXT_FEATURE_NAMES, PIXEL_FEATURE_NAMES } from "./timeseries.js";
import { recogniseForcings, type ForcingChoice } from "./forcings.js";
import { weatherFeatureNames } from "./weather.js";
import type { WeatherSettings } from "./weather-rows.js";

/**
 * Feature rows of pixel-days, with where each comes from: its pixel (window-local, row-major,
 * r * ncols + c of the cube's window) and day (index into the cube's days), so that a model can
 * gather more about a row from the cube (a sequence model, its history) and a score can be kept
 * per row.
 */
export interface RowSet {
  X: Float32Array;
  y: Float32Array;
  n: number;
  pixel: Int32Array;
  day: Int32Array;
}

export interface FeatureSettings {
  seed?: number;
  /** Cell-centre latitude and longitude as static predictors (default true). */
  coordinates?: boolean;
  /** Time-series features of training rows (default out-of-fold). */
  tsMode?: "in-sample" | "out-of-fold";
  /** The spatial context features (SPATIAL_HALO cells around each tile are read). */
  spatial?: boolean;
  /** The weather group (weather-rows.ts) with these settings: empty when the cube has no precipitation. */
  weather?: WeatherSettings;
}

/** The view settings a model's features were made with (its schema): reconstruction builds the same. */
export function viewSettingsOf(schema: FeatureSchema): Pick<FeatureSettings, "spatial" | "weather"> {
  const w = schema.groups.includes("weather") ? schema.weather : undefined;
  return { spatial: schema.groups.includes("spatial"), ...(w ? { weather: { apiDecay: w.api_decay, rainThresholds: w.rain_thresholds } } : {}) };
}

/** The forcings a view reads for the weather group (none without it, or without precipitation). */
function forcingsFor(cube: Cube, weather: WeatherSettings | undefined): ForcingChoice | undefined {
  if (!weather) return undefined;
  const { chosen } = recogniseForcings(cube.variables);
  return chosen.precipitation ? chosen : undefined;
}

export interface DrawOptions extends FeatureSettings {
  /** Most training rows (default 200 000), stratified by pixel x season. */
  maxRows?: number;
  /** Most validation rows and most calibration rows (default 200 000 each). */
  maxHeldRows?: number;
  /** Tiles to read (default the cube's chunks). */
  tiles?: LocalWindow[];
  quiet?: boolean;
}

export interface RowDraw {
  train: RowSet;
  validation: RowSet;
  calibration: RowSet;
  schema: FeatureSchema;
  /** Pixel-days observed, and per role before the caps. */
  counts: { observed: number; train: number; validation: number; calibration: number; test: number };
  seconds: number;
}

/** Largest-remainder allocation of `max` rows over strata of `counts` (all of them when there are at most `max`). */
export function proportionalQuota(counts: Int32Array, max: number): Int32Array {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= max) return Int32Array.from(counts);
  const take = new Int32Array(counts.length);
  const remainder = new Float64Array(counts.length);
  let left = max;
  for (let s = 0; s < counts.length; s++) {
    const q = (counts[s]! * max) / total;
    take[s] = Math.floor(q);
    remainder[s] = q - take[s]!;
    left -= take[s]!;
  }
  const order = Int32Array.from({ length: counts.length }, (_, s) => s)
    .filter((s) => counts[s]! > take[s]!)
    .sort((a, b) => remainder[b]! - remainder[a]! || a - b);
  for (let i = 0; i < left && i < order.length; i++) take[order[i]!]!++;
  return take;
}

/** Which `take` of a stratum's `count` members (by rank), seeded by the stratum: a partial Fisher-Yates shuffle. */
export function membersOf(count: number, take: number, seed: number, stratum: number): Uint8Array {
  const chosen = new Uint8Array(count);
  if (take >= count) return chosen.fill(1);
  const rng = new Rng((Math.imul(stratum + 1, 0x9e3779b1) ^ seed) >>> 0);
  const order = Int32Array.from({ length: count }, (_, i) => i);
  for (let i = 0; i < take; i++) {
    const j = i + rng.int(count - i);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
    chosen[order[i]!] = 1;
  }
  return chosen;
}

/** The number of features a cube's rows have (dynamic and static predictors, calendar, ts, spatial). */
export function featureCount(cube: Cube, o: Pick<FeatureSettings, "spatial" | "coordinates" | "weather">): number {
  const predictors = cube.variables.filter((v) => !v.name.startsWith("soil_moisture")).length + (o.coordinates === false ? 0 : 2);
  const forcing = forcingsFor(cube, o.weather);
  const weather = forcing ? weatherFeatureNames(forcing, { rainThresholds: o.weather!.rainThresholds, latitude: [0], doy: new Int32Array(1) }).length : 0;
  return predictors + 2 + PIXEL_FEATURE_NAMES.length + CONTEXT_FEATURE_NAMES.length + (o.spatial ? SPATIAL_FEATURE_NAMES.length : 0) + weather;
}

/** Bytes a draw holds at its peak: the roles, one tile's series and feature copies, the rows. */
export function drawBytes(cube: Cube, o: Pick<DrawOptions, "maxRows" | "maxHeldRows" | "spatial" | "coordinates" | "weather">): number {
  const features = featureCount(cube, o);
  const { nrows, ncols } = cube.window;
  const halo = o.spatial ? 2 * SPATIAL_HALO : 0;
  const tileCells = Math.min(nrows, cube.chunks.y + halo) * Math.min(ncols, cube.chunks.x + halo);
  // Per tile pixel-day: SMAP, the training series and its fold copy (float32), spatial values,
  // climatology and holes; per row: the features, the target, its pixel and day.
  // The weather group: its forcings (float32 each, day- and pixel-major) and their running sums
  // (weather.ts's WeatherIndex: about 40 bytes, 12 more per averaged forcing).
  const forcing = forcingsFor(cube, o.weather);
  const forcings = forcing ? Object.keys(forcing).length : 0;
  const averaged = forcings - 1 + (forcing?.temperature && !forcing.pet ? 1 : 0);
  const perTilePixelDay = (o.spatial ? 28 : 12) + (forcing ? 8 * forcings + 40 + 12 * averaged + 5 : 0);
  const rows = (o.maxRows ?? 200000) + 2 * (o.maxHeldRows ?? 200000);
  return nrows * ncols * cube.days + tileCells * cube.days * perTilePixelDay + rows * (features + 3) * 4;
}

/** Which pixel-days SMAP observed (Train) and not (Unobserved), read tile by tile: 1 byte per pixel-day. */
export async function readObservedRoles(cube: Cube, o: { tiles?: LocalWindow[]; quiet?: boolean } = {}): Promise<{ roles: Roles; observed: number }> {
  const { nrows, ncols } = cube.window;
  const P = nrows * ncols;
  const T = cube.days;
  const tiles = o.tiles ?? cube.tiles();
  const roles = new Int8Array(P * T).fill(Role.Unobserved);
  const progress = new Progress("reading which pixel-days SMAP observed", tiles.length, { quiet: o.quiet });
  let observed = 0;
  for (const tile of tiles) {
    const smap = await cube.readBlock("soil_moisture", 0, T, tile);
    const tp = tile.nrows * tile.ncols;
    for (let t = 0; t < T; t++)
      for (let q = 0; q < tp; q++)
        if (!Number.isNaN(smap[t * tp + q]!)) {
          roles[t * P + (tile.row0 + Math.floor(q / tile.ncols)) * ncols + tile.col0 + (q % tile.ncols)] = Role.Train;
          observed++;
        }
    progress.tick();
  }
  progress.finish();
  return { roles, observed };
}

/** The window of a tile with `halo` cells around it, within the cube. */
export function withHalo(cube: Cube, tile: LocalWindow, halo: number): LocalWindow {
  const { nrows, ncols } = cube.window;
  const row0 = Math.max(0, tile.row0 - halo);
  const col0 = Math.max(0, tile.col0 - halo);
  return { row0, col0, nrows: Math.min(nrows, tile.row0 + tile.nrows + halo) - row0, ncols: Math.min(ncols, tile.col0 + tile.ncols + halo) - col0 };
}

/** The roles of a window of the cube's (day-major, window-local pixels). */
function windowRoles(cube: Cube, roles: Roles, win: LocalWindow): Roles {
  const { ncols } = cube.window;
  const P = cube.window.nrows * ncols;
  const wp = win.nrows * win.ncols;
  const out = new Int8Array(wp * cube.days);
  for (let t = 0; t < cube.days; t++)
    for (let q = 0; q < wp; q++) out[t * wp + q] = roles[t * P + (win.row0 + Math.floor(q / win.ncols)) * ncols + win.col0 + (q % win.ncols)]!;
  return out;
}

/** A tile's features: the builder over its window (the tile, or the tile and its halo) and how cube pixels map into it. */
export interface TileView {
  tile: LocalWindow;
  /** The window the builder's arrays cover. */
  window: LocalWindow;
  arrays: SampleArrays;
  features: FeatureBuilder;
}

/** The window-local pixel (in `view.window`) of a cube pixel. */
export function localPixel(cube: Cube, view: Pick<TileView, "window">, p: number): number {
  const { ncols } = cube.window;
  return (Math.floor(p / ncols) - view.window.row0) * view.window.ncols + ((p % ncols) - view.window.col0);
}

/** The fit view of a tile (training, validation and calibration rows): the tile and its halo, the training values only. */
export async function fitView(cube: Cube, tile: LocalWindow, roles: Roles, o: FeatureSettings): Promise<TileView> {
  const window = withHalo(cube, tile, o.spatial ? SPATIAL_HALO : 0);
  const forcing = forcingsFor(cube, o.weather);
  const arrays = await readSampleArrays(cube, { window, coordinates: o.coordinates ?? true, dynamicDays: [0, 0], ...(forcing ? { forcing } : {}) });
  const features = new FeatureBuilder(arrays, windowRoles(cube, roles, window), {
    tsMode: o.tsMode ?? "out-of-fold",
    seed: o.seed ?? 0,
    spatial: Boolean(o.spatial),
    ...(o.weather ? { weather: o.weather } : {}),
  });
  return { tile, window, arrays, features };
}

/**
 * The ship view of a tile (rows a product fills, an evaluation's test rows, station days): every
 * observation but the test values (`roles`; none hidden without), in-sample, with the spatial
 * context read from SPATIAL_HALO cells around the tile. Reconstruction builds its rows here.
 */
export async function shipViewOf(
  cube: Cube,
  tile: LocalWindow,
  o: { roles?: Roles; spatial?: boolean; coordinates?: boolean; weather?: WeatherSettings },
): Promise<TileView> {
  const forcing = forcingsFor(cube, o.weather);
  const arrays = await readSampleArrays(cube, { window: tile, coordinates: o.coordinates ?? true, dynamicDays: [0, 0], ...(forcing ? { forcing } : {}) });
  const visible = o.roles ? shipView(windowRoles(cube, o.roles, tile)) : undefined;
  if (visible) for (let k = 0; k < visible.length; k++) if (visible[k] === Role.Test) arrays.smap[k] = NaN;
  const roles = visible ?? Int8Array.from(arrays.smap, (v) => (Number.isNaN(v) ? Role.Unobserved : Role.Train));
  const spatial = o.spatial ? await haloSource(cube, tile, o.roles) : undefined;
  const features = new FeatureBuilder(arrays, roles, { ...(spatial ? { spatial } : {}), ...(o.weather ? { weather: o.weather } : {}) });
  return { tile, window: tile, arrays, features };
}

/** Every valid SMAP value (but the test values of `roles`) of the tile and SPATIAL_HALO cells around it. */
async function haloSource(cube: Cube, tile: LocalWindow, roles?: Roles): Promise<SpatialSource> {
  const halo = withHalo(cube, tile, SPATIAL_HALO);
  const values = await cube.readBlock("soil_moisture", 0, cube.days, halo);
  if (roles) {
    const hidden = windowRoles(cube, roles, halo);
    for (let k = 0; k < values.length; k++) if (hidden[k] === Role.Test) values[k] = NaN;
  }
  return { values, nrows: halo.nrows, ncols: halo.ncols, T: cube.days, rowOffset: tile.row0 - halo.row0, colOffset: tile.col0 - halo.col0 };
}

/** Picked pixel-days of a view: window-local pixels and cube days, with the cube pixel of each. */
interface Picks {
  q: number[];
  t: number[];
  p: number[];
}
const noPicks = (): Picks => ({ q: [], t: [], p: [] });

/**
 * The rows of the picked pixel-days of a view, built one chunk-aligned block of days at a time
 * (the predictors of one block in memory); rows come out grouped by block, in pick order within.
 */
async function buildRows(cube: Cube, view: TileView, picks: Picks, onRows: (rows: RowSet) => void): Promise<void> {
  const T = cube.days;
  const wp = view.window.nrows * view.window.ncols;
  const byBlock = new Map<number, number[]>();
  const step = cube.chunks.time;
  picks.t.forEach((d, i) => {
    const b = Math.floor(d / step);
    if (!byBlock.has(b)) byBlock.set(b, []);
    byBlock.get(b)!.push(i);
  });
  for (const b of [...byBlock.keys()].sort((x, y) => x - y)) {
    const b0 = b * step;
    const b1 = Math.min(T, b0 + step);
    const block = view.features.withDynamic(await readDynamicBlock(cube, view.window, b0, b1), b0);
    const idx = byBlock.get(b)!;
    const q = Int32Array.from(idx, (i) => picks.q[i]!);
    const day = Int32Array.from(idx, (i) => picks.t[i]!);
    onRows({
      X: block.rows(q, day),
      y: Float32Array.from(idx, (i) => view.arrays.smap[picks.t[i]! * wp + picks.q[i]!]!),
      n: idx.length,
      pixel: Int32Array.from(idx, (i) => picks.p[i]!),
      day,
    });
  }
}

/** Rows appended in parts, concatenated once. */
class RowCollector {
  private parts: RowSet[] = [];
  add(r: RowSet): void {
    if (r.n) this.parts.push(r);
  }
  rows(F: number): RowSet {
    const n = this.parts.reduce((s, r) => s + r.n, 0);
    const out: RowSet = { X: new Float32Array(n * F), y: new Float32Array(n), n, pixel: new Int32Array(n), day: new Int32Array(n) };
    let at = 0;
    for (const r of this.parts) {
      out.X.set(r.X, at * F);
      out.y.set(r.y, at);
      out.pixel.set(r.pixel, at);
      out.day.set(r.day, at);
      at += r.n;
    }
    this.parts = [];
    return out;
  }
}

/**
 * The training, validation and calibration rows of a cube under `roles` (their fit view).
 * Test rows are not drawn here: they are streamed in the ship view (streamShipRows).
 */
export async function drawRows(cube: Cube, roles: Roles, o: DrawOptions = {}): Promise<RowDraw> {
  const started = performance.now();
  const seed = o.seed ?? 0;
  const { nrows, ncols } = cube.window;
  const P = nrows * ncols;
  const T = cube.days;
  if (roles.length !== P * T) throw new Error(`drawRows: ${roles.length} roles for ${P} pixels x ${T} days`);
  const tiles = o.tiles ?? cube.tiles();

  // The allocation: training rows per pixel x season, a share of the held-out rows.
  const season = daySeasons(cube.startDay, T);
  const counts = new Int32Array(P * 4);
  const held = { [Role.Validation]: 0, [Role.Calibration]: 0, [Role.Test]: 0 } as Record<number, number>;
  let observed = 0;
  for (let t = 0; t < T; t++)
    for (let p = 0; p < P; p++) {
      const r = roles[t * P + p]!;
      if (r === Role.Unobserved) continue;
      observed++;
      if (r === Role.Train) counts[p * 4 + season[t]!]!++;
      else held[r]!++;
    }
  const take = proportionalQuota(counts, o.maxRows ?? 200000);
  const maxHeld = o.maxHeldRows ?? 200000;
  const keep = (role: number) => Math.min(1, maxHeld / Math.max(1, held[role]!));
  const keepHeld = { [Role.Validation]: keep(Role.Validation), [Role.Calibration]: keep(Role.Calibration) } as Record<number, number>;
  const nTrain = take.reduce((a, b) => a + b, 0);

  let schema: FeatureSchema | undefined;
  const collected = { [Role.Train]: new RowCollector(), [Role.Validation]: new RowCollector(), [Role.Calibration]: new RowCollector() } as Record<
    number,
    RowCollector
  >;
  const progress = new Progress("drawing the training rows", tiles.length, { quiet: o.quiet });
  for (const tile of tiles) {
    const view = await fitView(cube, tile, roles, o);
    if (!schema) {
      const s = view.features.schema();
      schema = { ...s, training: { ...s.training, window: { ...cube.window } } };
    }
    // The rows of the tile's own pixels (not the halo's), by role; training rows by stratum rank.
    const picks = noPicks();
    for (let r = tile.row0; r < tile.row0 + tile.nrows; r++)
      for (let c = tile.col0; c < tile.col0 + tile.ncols; c++) {
        const p = r * ncols + c;
        const q = (r - view.window.row0) * view.window.ncols + (c - view.window.col0);
        const chosen = [0, 1, 2, 3].map((s) => membersOf(counts[p * 4 + s]!, take[p * 4 + s]!, seed, p * 4 + s));
        const rank = [0, 0, 0, 0];
        for (let t = 0; t < T; t++) {
          const role = roles[t * P + p]!;
          const pick =
            role === Role.Train
              ? chosen[season[t]!]![rank[season[t]!]!++] === 1
              : role === Role.Validation && (keepHeld[role]! >= 1 || hashUniform(seed ^ 0x5bd1e995, (t * P + p) * 2 + 1) < keepHeld[role]!);
          if (pick) (picks.q.push(q), picks.t.push(t), picks.p.push(p));
        }
      }
    await buildRows(cube, view, picks, (rows) => {
      // Split one block's rows by role, keeping their order.
      for (const role of [Role.Train, Role.Validation, Role.Calibration]) {
        const idx: number[] = [];
        for (let i = 0; i < rows.n; i++) if (roles[rows.day[i]! * P + rows.pixel[i]!] === role) idx.push(i);
        collected[role]!.add(subsetRows(rows, idx));
      }
    });
    progress.tick();
  }
  progress.finish();
  // The calibration rows in the ship view: every observation visible but the test and calibration values.
  const calibrationHidden = Int8Array.from(roles, (r) => (r === Role.Calibration ? Role.Test : r));
  await streamShipRows(cube, calibrationHidden, {
    select: (p, t) =>
      roles[t * P + p] === Role.Calibration &&
      (keepHeld[Role.Calibration]! >= 1 || hashUniform(seed ^ 0x5bd1e995, (t * P + p) * 2 + 2) < keepHeld[Role.Calibration]!),
    tiles,
    spatial: Boolean(o.spatial),
    coordinates: o.coordinates ?? true,
    quiet: o.quiet ?? false,
    label: "building the calibration rows",
    onRows: (rows) => collected[Role.Calibration]!.add(rows),
  });
  const F = schema!.names.length;
  const train = collected[Role.Train]!.rows(F);
  if (train.n !== nTrain) throw new Error(`row draw: ${train.n} training rows built for ${nTrain} allocated`);
  return {
    train,
    validation: collected[Role.Validation]!.rows(F),
    calibration: collected[Role.Calibration]!.rows(F),
    schema: schema!,
    counts: {
      observed,
      train: counts.reduce((a, b) => a + b, 0),
      validation: held[Role.Validation]!,
      calibration: held[Role.Calibration]!,
      test: held[Role.Test]!,
    },
    seconds: (performance.now() - started) / 1000,
  };
}

/** The rows `idx` of a row set (in that order). */
export function subsetRows(r: RowSet, idx: ArrayLike<number>): RowSet {
  const F = r.n ? r.X.length / r.n : 0;
  const n = idx.length;
  if (n === r.n) return r;
  const X = new Float32Array(n * F);
  for (let i = 0; i < n; i++) X.set(r.X.subarray(idx[i]! * F, (idx[i]! + 1) * F), i * F);
  return {
    X,
    y: Float32Array.from({ length: n }, (_, i) => r.y[idx[i]!]!),
    n,
    pixel: Int32Array.from({ length: n }, (_, i) => r.pixel[idx[i]!]!),
    day: Int32Array.from({ length: n }, (_, i) => r.day[idx[i]!]!),
  };
}

/** Row sets one after the other (F features each). */
export function concatRows(parts: RowSet[], F: number): RowSet {
  const n = parts.reduce((s, r) => s + r.n, 0);
  const out: RowSet = { X: new Float32Array(n * F), y: new Float32Array(n), n, pixel: new Int32Array(n), day: new Int32Array(n) };
  let at = 0;
  for (const r of parts) {
    out.X.set(r.X, at * F);
    out.y.set(r.y, at);
    out.pixel.set(r.pixel, at);
    out.day.set(r.day, at);
    at += r.n;
  }
  return out;
}

export interface ShipStreamOptions extends Pick<FeatureSettings, "spatial" | "coordinates" | "weather"> {
  /** Which pixel-days of a tile to build (cube pixel, day, role). */
  select: (p: number, t: number, role: number) => boolean;
  /** Only tiles holding a pixel for which this is true (default every tile). */
  tileHas?: (p: number) => boolean;
  tiles?: LocalWindow[];
  quiet?: boolean;
  label?: string;
  /** The rows of one tile's block of days (y is NaN where SMAP has no value or it is hidden). */
  onRows: (rows: RowSet) => void | Promise<void>;
}

/**
 * Streams the ship-view rows of the selected pixel-days (an evaluation's test rows, station
 * days) tile by tile: one tile's rows in memory at a time. Targets are the cube's SMAP values
 * (the test values included: they are what the rows are scored against).
 */
export async function streamShipRows(cube: Cube, roles: Roles, o: ShipStreamOptions): Promise<void> {
  const { ncols } = cube.window;
  const P = cube.window.nrows * ncols;
  const T = cube.days;
  const tiles = (o.tiles ?? cube.tiles()).filter((tile) => {
    if (!o.tileHas) return true;
    for (let r = tile.row0; r < tile.row0 + tile.nrows; r++) for (let c = tile.col0; c < tile.col0 + tile.ncols; c++) if (o.tileHas(r * ncols + c)) return true;
    return false;
  });
  const progress = new Progress(o.label ?? "building the test rows", tiles.length, { quiet: o.quiet });
  for (const tile of tiles) {
    const picks = noPicks();
    for (let r = tile.row0; r < tile.row0 + tile.nrows; r++)
      for (let c = tile.col0; c < tile.col0 + tile.ncols; c++) {
        const p = r * ncols + c;
        for (let t = 0; t < T; t++)
          if (o.select(p, t, roles[t * P + p]!)) (picks.q.push((r - tile.row0) * tile.ncols + (c - tile.col0)), picks.t.push(t), picks.p.push(p));
      }
    if (picks.p.length) {
      const view = await shipViewOf(cube, tile, {
        roles,
        spatial: Boolean(o.spatial),
        coordinates: o.coordinates ?? true,
        ...(o.weather ? { weather: o.weather } : {}),
      });
      // The targets: the cube's values, the hidden test values included.
      const smap = await cube.readBlock("soil_moisture", 0, T, tile);
      const parts: RowSet[] = [];
      await buildRows(cube, view, picks, (rows) => {
        const tp = tile.nrows * tile.ncols;
        for (let i = 0; i < rows.n; i++) rows.y[i] = smap[rows.day[i]! * tp + localPixel(cube, view, rows.pixel[i]!)]!;
        parts.push(rows);
      });
      for (const rows of parts) await o.onRows(rows);
    }
    progress.tick();
  }
  progress.finish();
}

/**
 * Rows with their origin for a model (Matrix.origin): a model may gather more from the cube (a
 * sequence model, its history), seeing SMAP as the rows' view did (`seen`: the roles and the
 * view; none: every observation).
 */
export function withOrigin(
  rows: RowSet,
  cube: Cube,
  seen?: { roles: Roles; view: "fit" | "ship" },
): RowSet & { origin: { pixel: Int32Array; day: Int32Array; cube: { path: string }; seen?: { roles: Roles; view: "fit" | "ship" } } } {
  return { ...rows, origin: { pixel: rows.pixel, day: rows.day, cube: { path: cube.path }, ...(seen ? { seen } : {}) } };
}

/** Refuses a draw that found too few observations to train on. */
export function checkObserved(cube: Cube, observed: number, least: number, what: string): void {
  if (observed < least)
    throw new SmapfillError(`has only ${observed} SMAP values`, { file: cube.path, variable: "soil_moisture", hint: `${what} a larger region or period` });
}
