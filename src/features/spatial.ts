/**
 * Spatial context features (ours; the paper's per-pixel models have none): what SMAP saw around
 * a pixel on the same day. For rings of 3x3, 7x7 and 15x15 cells around the pixel (the pixel
 * itself left out), on the same day, and for 7x7 on the day before and after: the count of
 * training values, their mean, their inverse-distance mean, and their mean anomaly against each
 * neighbour's own climatology (the +-15-day mean of its training values), which the model can add
 * to the pixel's own climatology. Without them the models could only interpolate in space
 * through the cell coordinates.
 *
 * Out-of-fold (MODELS.md's rule carried over to space): a training row's neighbours are
 * observed far more often than a gap's (a block or a swath stripe hides the neighbours too), so
 * a training row is given a hole: a radius drawn from the rows the model must fill (for each,
 * the distance in cells to the nearest training value that day), and neighbours closer than
 * that are ignored, on all three days.
 */
import { hashUniform } from "../util/random.js";

const RINGS = [1, 3, 7] as const;
const STATS = ["n", "mean", "idw", "anom"] as const;
export const SPATIAL_FEATURE_NAMES: string[] = [...RINGS.flatMap((r) => STATS.map((s) => `sp_r${r}_${s}`)), ...STATS.map((s) => `sp_r3_pm1_${s}`)];
/** The largest ring's radius: reconstruction reads this many cells around a tile. */
export const SPATIAL_HALO = 7;
const CLIMATOLOGY_HALF_WINDOW = 15;
const MAX_HOLE = 8;

export function spatialFeatureUnits(name: string): string {
  return name.endsWith("_n") ? "1" : "m3 m-3";
}

/**
 * The values the spatial features see: training values (NaN elsewhere), day-major [t * P + p]
 * on a grid of nrows x ncols that contains the rows' window at (rowOffset, colOffset) (a
 * reconstruction tile's halo; the window itself in an evaluation).
 */
export interface SpatialSource {
  values: Float32Array;
  nrows: number;
  ncols: number;
  T: number;
  rowOffset: number;
  colOffset: number;
}

/** Each cell's +-15-day mean of its values (NaN where it has none), day-major like the values. */
export function neighbourClimatology(values: Float32Array, P: number, T: number, half = CLIMATOLOGY_HALF_WINDOW): Float32Array {
  const out = new Float32Array(P * T).fill(NaN);
  const sum = new Float64Array(T + 1);
  const cnt = new Float64Array(T + 1);
  for (let p = 0; p < P; p++) {
    for (let t = 0; t < T; t++) {
      const v = values[t * P + p]!;
      const ok = !Number.isNaN(v);
      sum[t + 1] = sum[t]! + (ok ? v : 0);
      cnt[t + 1] = cnt[t]! + (ok ? 1 : 0);
    }
    for (let t = 0; t < T; t++) {
      const a = Math.max(0, t - half);
      const b = Math.min(T, t + half + 1);
      const n = cnt[b]! - cnt[a]!;
      if (n > 0) out[t * P + p] = (sum[b]! - sum[a]!) / n;
    }
  }
  return out;
}

/**
 * For rows that must be filled (`fill(k)` true), the Chebyshev distance in cells to the nearest
 * training value on the same day (capped at 8): the holes training rows are given. At most
 * 100 000, evenly spread over the rows.
 */
export function holeRadii(values: Float32Array, nrows: number, ncols: number, T: number, fill: (k: number) => boolean): Int32Array {
  const P = nrows * ncols;
  const rows: number[] = [];
  for (let k = 0; k < P * T; k++) if (fill(k)) rows.push(k);
  const step = Math.max(1, Math.ceil(rows.length / 100000));
  const out: number[] = [];
  for (let i = 0; i < rows.length; i += step) {
    const k = rows[i]!;
    const t = Math.floor(k / P);
    const p = k % P;
    const r0 = Math.floor(p / ncols);
    const c0 = p % ncols;
    let found = MAX_HOLE;
    for (let d = 1; d < MAX_HOLE && found === MAX_HOLE; d++) {
      for (let dr = -d; dr <= d && found === MAX_HOLE; dr++) {
        const r = r0 + dr;
        if (r < 0 || r >= nrows) continue;
        const edge = Math.abs(dr) === d;
        for (let dc = -d; dc <= d; dc += edge ? 1 : 2 * d) {
          const c = c0 + dc;
          if (c < 0 || c >= ncols) continue;
          if (!Number.isNaN(values[t * P + r * ncols + c]!)) {
            found = d;
            break;
          }
        }
      }
    }
    out.push(found);
  }
  return Int32Array.from(out);
}

/** A training row's hole radius, drawn by a hash of the row (not of the query order). */
export function drawHole(radii: Int32Array, seed: number, k: number): number {
  return radii.length ? radii[Math.floor(hashUniform(seed ^ 0x5bd1e995, k) * radii.length)]! : 1;
}

/**
 * The 16 spatial features of the rows (r[i], c[i], t[i]) of the builder's window, [i * 16 + f].
 * `hole[i]`: neighbours closer than this (Chebyshev cells) are ignored (1: none but the pixel).
 */
export function spatialFeatures(src: SpatialSource, climatology: Float32Array, r: Int32Array, c: Int32Array, t: Int32Array, hole: Int32Array): Float64Array {
  const F = SPATIAL_FEATURE_NAMES.length;
  const N = r.length;
  const out = new Float64Array(N * F).fill(NaN);
  const P = src.nrows * src.ncols;
  const R = RINGS[RINGS.length - 1]!;
  // Per Chebyshev distance 1..R: n, sum, weighted sum, weight, anomaly sum, anomaly count.
  const acc = new Float64Array((R + 1) * 6);
  const acc1 = new Float64Array(6);
  for (let i = 0; i < N; i++) {
    const row = r[i]! + src.rowOffset;
    const col = c[i]! + src.colOffset;
    const day = t[i]!;
    const h = hole[i]!;
    acc.fill(0);
    acc1.fill(0);
    for (let dr = -R; dr <= R; dr++) {
      const rr = row + dr;
      if (rr < 0 || rr >= src.nrows) continue;
      for (let dc = -R; dc <= R; dc++) {
        const d = Math.max(Math.abs(dr), Math.abs(dc));
        if (d === 0 || d < h) continue;
        const cc = col + dc;
        if (cc < 0 || cc >= src.ncols) continue;
        const q = rr * src.ncols + cc;
        const w = 1 / Math.sqrt(dr * dr + dc * dc);
        const v = src.values[day * P + q]!;
        if (!Number.isNaN(v)) {
          const a = d * 6;
          acc[a]! += 1;
          acc[a + 1]! += v;
          acc[a + 2]! += w * v;
          acc[a + 3]! += w;
          const m = climatology[day * P + q]!;
          if (!Number.isNaN(m)) ((acc[a + 4]! += v - m), (acc[a + 5]! += 1));
        }
        if (d > 3) continue;
        for (const dd of [day - 1, day + 1]) {
          if (dd < 0 || dd >= src.T) continue;
          const u = src.values[dd * P + q]!;
          if (Number.isNaN(u)) continue;
          acc1[0]! += 1;
          acc1[1]! += u;
          acc1[2]! += w * u;
          acc1[3]! += w;
          const m = climatology[dd * P + q]!;
          if (!Number.isNaN(m)) ((acc1[4]! += u - m), (acc1[5]! += 1));
        }
      }
    }
    const o = i * F;
    let n = 0,
      s = 0,
      ws = 0,
      wt = 0,
      as = 0,
      an = 0;
    let f = 0;
    for (let d = 1, ring = 0; d <= R; d++) {
      const a = d * 6;
      n += acc[a]!;
      s += acc[a + 1]!;
      ws += acc[a + 2]!;
      wt += acc[a + 3]!;
      as += acc[a + 4]!;
      an += acc[a + 5]!;
      if (d !== RINGS[ring]) continue;
      ring++;
      out[o + f++] = n;
      out[o + f++] = n ? s / n : NaN;
      out[o + f++] = wt ? ws / wt : NaN;
      out[o + f++] = an ? as / an : NaN;
    }
    out[o + f++] = acc1[0]!;
    out[o + f++] = acc1[0] ? acc1[1]! / acc1[0]! : NaN;
    out[o + f++] = acc1[3] ? acc1[2]! / acc1[3]! : NaN;
    out[o + f++] = acc1[5] ? acc1[4]! / acc1[5]! : NaN;
  }
  return out;
}
