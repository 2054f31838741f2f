/**
 * A product model's rows, read tile by tile in bounded memory: a continental cube never sits in
 * memory whole, only
 *  - its roles, 1 byte per pixel-day of the window (-1 not observed, 0 train, 1 validation gap,
 *    2 calibration gap), drawn by mixedGaps over the whole window as the evaluation draws them;
 *  - one tile at a time (a cube chunk, plus SPATIAL_HALO cells around it when the spatial
 *    features are on): its SMAP series and the feature builder's copies of it, its predictors
 *    one chunk of days at a time;
 *  - the drawn rows' features.
 *
 * The draw: training rows stratified by pixel x season with proportional allocation (largest
 * remainders) over the whole window, so every pixel (and every land-cover class) keeps its
 * share in every season; which rows of a stratum is seeded by the stratum, so the draw does not
 * depend on the tiling. Validation and calibration rows: all of them up to `maxHeldRows` each,
 * else a hash-seeded share of them (the same whatever the tiling).
 *
 * What does depend on the tiling: a training row's out-of-fold gap and spatial hole are drawn
 * from its tile's gaps (SMAP's missing days around it), not the whole window's.
 */
import type { Cube, LocalWindow } from "../cube/cube.js";
import { FeatureBuilder, readDynamicBlock, readSampleArrays } from "../features/samples.js";
import type { FeatureSchema } from "../features/schema.js";
import { SPATIAL_FEATURE_NAMES, SPATIAL_HALO } from "../features/spatial.js";
import { CONTEXT_FEATURE_NAMES, PIXEL_FEATURE_NAMES } from "../features/timeseries.js";
import { mixedGapsOf } from "../eval/splits.js";
import { seasonOf } from "../eval/uncertainty.js";
import { dayOfYear } from "../util/dates.js";
import { SmapfillError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { hashUniform, Rng } from "../util/random.js";

export interface DrawOptions {
  /** Most training rows (default 200 000). */
  maxRows?: number;
  /** Most validation rows and most calibration rows (default 200 000 each). */
  maxHeldRows?: number;
  validationShare?: number;
  calibrationShare?: number;
  seed?: number;
  coordinates?: boolean;
  tsMode?: "in-sample" | "out-of-fold";
  spatial?: boolean;
  /** Tiles to read (default the cube's chunks). */
  tiles?: LocalWindow[];
  quiet?: boolean;
}

export interface Rows {
  X: Float32Array;
  y: Float32Array;
  n: number;
}

export interface TrainingDraw {
  train: Rows;
  validation: Rows;
  calibration: Rows;
  schema: FeatureSchema;
  counts: { observed: number; train: number; validation: number; calibration: number };
  seconds: { roles: number; rows: number };
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

/** The season of every day of the cube, from its calendar features as a model sees them (float32). */
function daySeasons(cube: Cube): Uint8Array {
  return Uint8Array.from({ length: cube.days }, (_, t) => {
    const angle = (2 * Math.PI * dayOfYear(cube.startDay + t)) / 365.25;
    return seasonOf(Math.fround(Math.sin(angle)), Math.fround(Math.cos(angle)));
  });
}

/** Bytes a draw holds at its peak: the roles, one tile's series and feature copies, the rows. */
export function drawBytes(cube: Cube, o: Pick<DrawOptions, "maxRows" | "maxHeldRows" | "spatial" | "coordinates">): number {
  const predictors = cube.variables.filter((v) => !v.name.startsWith("soil_moisture")).length + (o.coordinates === false ? 0 : 2);
  const calendar = 2; // doy_sin, doy_cos
  const features = predictors + calendar + PIXEL_FEATURE_NAMES.length + CONTEXT_FEATURE_NAMES.length + (o.spatial ? SPATIAL_FEATURE_NAMES.length : 0);
  const { nrows, ncols } = cube.window;
  const halo = o.spatial ? 2 * SPATIAL_HALO : 0;
  const tileCells = Math.min(nrows, cube.chunks.y + halo) * Math.min(ncols, cube.chunks.x + halo);
  // Per tile pixel-day: SMAP, the training series and its fold copy (float32), spatial values,
  // climatology and holes; per row: the features and the target.
  const perTilePixelDay = o.spatial ? 28 : 12;
  const rows = (o.maxRows ?? 200000) + 2 * (o.maxHeldRows ?? 200000);
  return nrows * ncols * cube.days + tileCells * cube.days * perTilePixelDay + rows * (features + 1) * 4;
}

export async function drawTrainingRows(cube: Cube, o: DrawOptions = {}): Promise<TrainingDraw> {
  const seed = o.seed ?? 0;
  const { nrows, ncols } = cube.window;
  const P = nrows * ncols;
  const T = cube.days;
  const tiles = o.tiles ?? cube.tiles();
  const started = performance.now();

  // Pass 1: which pixel-days SMAP observed, tile by tile, then the held-out gaps over the window.
  const observedRoles = new Int8Array(P * T).fill(-1);
  const progress1 = new Progress("training draw: roles", tiles.length, { quiet: o.quiet });
  let observed = 0;
  for (const tile of tiles) {
    const smap = await cube.readBlock("soil_moisture", 0, T, tile);
    const tp = tile.nrows * tile.ncols;
    for (let t = 0; t < T; t++)
      for (let q = 0; q < tp; q++)
        if (!Number.isNaN(smap[t * tp + q]!)) {
          observedRoles[t * P + (tile.row0 + Math.floor(q / tile.ncols)) * ncols + tile.col0 + (q % tile.ncols)] = 0;
          observed++;
        }
    progress1.tick();
  }
  progress1.finish();
  if (observed < 200)
    throw new SmapfillError(`has only ${observed} SMAP values`, { file: cube.path, variable: "soil_moisture", hint: "Train on a larger region or period" });
  const roles = mixedGapsOf(observedRoles, nrows, ncols, { validation: o.validationShare ?? 0.1, test: o.calibrationShare ?? 0.1 }, seed);

  // The allocation: training rows per pixel x season, a share of the held-out rows.
  const season = daySeasons(cube);
  const counts = new Int32Array(P * 4);
  const held = [0, 0, 0];
  for (let t = 0; t < T; t++)
    for (let p = 0; p < P; p++) {
      const r = roles[t * P + p]!;
      if (r === 0) counts[p * 4 + season[t]!]!++;
      else if (r > 0) held[r]!++;
    }
  const take = proportionalQuota(counts, o.maxRows ?? 200000);
  const maxHeld = o.maxHeldRows ?? 200000;
  const keepHeld = [1, Math.min(1, maxHeld / Math.max(1, held[1]!)), Math.min(1, maxHeld / Math.max(1, held[2]!))];
  const nTrain = take.reduce((a, b) => a + b, 0);
  const rolesSeconds = (performance.now() - started) / 1000;

  // Pass 2: the drawn rows' features, tile by tile, predictors a chunk of days at a time.
  let schema: FeatureSchema | undefined;
  let F = 0;
  let trainX = new Float32Array(0);
  const trainY = new Float32Array(nTrain);
  let filled = 0;
  const heldParts: { X: Float32Array[]; y: Float32Array[] }[] = [
    { X: [], y: [] },
    { X: [], y: [] },
  ];
  const progress2 = new Progress("training draw: rows", tiles.length, { quiet: o.quiet });
  for (const tile of tiles) {
    const halo = o.spatial ? SPATIAL_HALO : 0;
    const win = {
      row0: Math.max(0, tile.row0 - halo),
      col0: Math.max(0, tile.col0 - halo),
      nrows: Math.min(nrows, tile.row0 + tile.nrows + halo) - Math.max(0, tile.row0 - halo),
      ncols: Math.min(ncols, tile.col0 + tile.ncols + halo) - Math.max(0, tile.col0 - halo),
    };
    const wp = win.nrows * win.ncols;
    const arrays = await readSampleArrays(cube, { window: win, coordinates: o.coordinates ?? true, dynamicDays: [0, 0] });
    const tileRoles = new Int8Array(wp * T);
    for (let t = 0; t < T; t++)
      for (let q = 0; q < wp; q++) tileRoles[t * wp + q] = roles[t * P + (win.row0 + Math.floor(q / win.ncols)) * ncols + win.col0 + (q % win.ncols)]!;
    const features = new FeatureBuilder(arrays, tileRoles, { tsMode: o.tsMode ?? "out-of-fold", gaps: "missing", seed, spatial: Boolean(o.spatial) });
    if (!schema) {
      const s = features.schema();
      schema = { ...s, training: { ...s.training, window: { ...cube.window } } };
      F = s.names.length;
      trainX = new Float32Array(nTrain * F);
    }
    // The rows of the tile's own pixels (not the halo's), by role; training rows by stratum rank.
    const rows: { p: number[]; t: number[] }[] = [0, 1, 2].map(() => ({ p: [], t: [] }));
    for (let r = tile.row0; r < tile.row0 + tile.nrows; r++)
      for (let c = tile.col0; c < tile.col0 + tile.ncols; c++) {
        const p = r * ncols + c;
        const q = (r - win.row0) * win.ncols + (c - win.col0);
        const chosen = [0, 1, 2, 3].map((s) => membersOf(counts[p * 4 + s]!, take[p * 4 + s]!, seed, p * 4 + s));
        const rank = [0, 0, 0, 0];
        for (let t = 0; t < T; t++) {
          const role = roles[t * P + p]!;
          if (role === 0) {
            if (chosen[season[t]!]![rank[season[t]!]!++]) (rows[0]!.p.push(q), rows[0]!.t.push(t));
          } else if (role > 0 && (keepHeld[role]! >= 1 || hashUniform(seed ^ 0x5bd1e995, (t * P + p) * 2 + role) < keepHeld[role]!))
            (rows[role]!.p.push(q), rows[role]!.t.push(t));
        }
      }
    for (let b0 = 0; b0 < T; b0 += cube.chunks.time) {
      const b1 = Math.min(T, b0 + cube.chunks.time);
      const block = features.withDynamic(await readDynamicBlock(cube, win, b0, b1), b0);
      for (const role of [0, 1, 2]) {
        const { p, t } = rows[role]!;
        const inBlock = t.flatMap((d, i) => (d >= b0 && d < b1 ? [i] : []));
        if (!inBlock.length) continue;
        const pix = Int32Array.from(inBlock, (i) => p[i]!);
        const day = Int32Array.from(inBlock, (i) => t[i]!);
        const X = block.rows(pix, day);
        const y = Float32Array.from(inBlock, (i) => arrays.smap[t[i]! * wp + p[i]!]!);
        if (role === 0) {
          trainX.set(X, filled * F);
          trainY.set(y, filled);
          filled += y.length;
        } else {
          heldParts[role - 1]!.X.push(X);
          heldParts[role - 1]!.y.push(y);
        }
      }
    }
    progress2.tick();
  }
  progress2.finish();
  if (filled !== nTrain) throw new Error(`training draw: ${filled} rows built for ${nTrain} allocated`);
  const concat = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of parts) (out.set(a, at), (at += a.length));
    return out;
  };
  const heldRows = (i: number): Rows => {
    const y = concat(heldParts[i]!.y);
    return { X: concat(heldParts[i]!.X), y, n: y.length };
  };
  const [validation, calibration] = [heldRows(0), heldRows(1)];
  return {
    train: { X: trainX, y: trainY, n: nTrain },
    validation,
    calibration,
    schema: schema!,
    counts: { observed, train: counts.reduce((a, b) => a + b, 0), validation: held[1]!, calibration: held[2]! },
    seconds: { roles: rolesSeconds, rows: (performance.now() - started) / 1000 - rolesSeconds },
  };
}
