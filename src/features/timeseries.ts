/**
 * Statistical time-series features of per-pixel SMAP series: the "temporal predictors" of
 * MODELS.md, with the exact definitions of ../shared/reference/FEATURES.md (golden-tested against
 * features.py to 1e-6). Input: series[p * D + d], NaN = no valid retrieval or held out; every
 * computation in float64. Values held out for evaluation must be NaN here, so they never reach
 * the features.
 *
 * Notation (FEATURES.md): valid days t_1 < ... < t_n with values x_i and weights w_i;
 * mean = sum x / n; m_k = sum (x - mean)^k / n; Q(q) = linear-interpolation quantile (type 7).
 */
import { quantileSorted } from "../util/stats.js";

export const PIXEL_FEATURE_NAMES = [
  "ts_mean",
  "ts_median",
  "ts_hmean_w",
  "ts_gmean_w",
  "ts_pmean2_w",
  "ts_std",
  "ts_var",
  "ts_cv",
  "ts_iqr",
  "ts_mad",
  "ts_range",
  "ts_min",
  "ts_max",
  "ts_p05",
  "ts_p95",
  "ts_skew",
  "ts_kurt",
  "ts_acf1",
  "ts_mean_abs_change_per_day",
  "ts_trend_per_year",
  "ts_harm_amp",
  "ts_harm_phase",
  "ts_mean_abs",
  "ts_sum_abs_change",
  "ts_mean_sq",
  "ts_sum_sq",
  "ts_n_valid",
  "ts_frac_valid",
  "ts_count_above_mean",
  "ts_longest_run_above_mean",
] as const;

export const CONTEXT_FEATURE_NAMES = ["ts_clim_doy", "ts_prev_value", "ts_prev_gap", "ts_next_value", "ts_next_gap"] as const;

const DAYS_PER_YEAR = 365.25;
const NF = PIXEL_FEATURE_NAMES.length;
const F = Object.fromEntries(PIXEL_FEATURE_NAMES.map((n, i) => [n, i])) as Record<(typeof PIXEL_FEATURE_NAMES)[number], number>;

type Series = Float32Array | Float64Array;

/** Day of year of each column when none is given: (d mod 365) + 1. */
export function defaultDoy(days: number): Int32Array {
  return Int32Array.from({ length: days }, (_, d) => (d % 365) + 1);
}

/**
 * Least squares x ~ c0 + a cos(theta) + b sin(theta) by a one-sided Jacobi SVD of the n x 3
 * design (accurate singular values, so the rank decision matches numpy.linalg.lstsq: singular
 * values > max(3, n) eps s_max). Returns [a, b] or undefined when the rank is below 3.
 */
function annualHarmonic(theta: Float64Array, x: Float64Array, n: number, work: Float64Array): [number, number] | undefined {
  const A = work; // columns at 0, n, 2n
  for (let i = 0; i < n; i++) {
    A[i] = 1;
    A[n + i] = Math.cos(theta[i]!);
    A[2 * n + i] = Math.sin(theta[i]!);
  }
  const V = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 30; sweep++) {
    let rotated = false;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      let alpha = 0;
      let beta = 0;
      let gamma = 0;
      for (let i = 0; i < n; i++) {
        const ap = A[p * n + i]!;
        const aq = A[q * n + i]!;
        alpha += ap * ap;
        beta += aq * aq;
        gamma += ap * aq;
      }
      if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
      rotated = true;
      const zeta = (beta - alpha) / (2 * gamma);
      const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
      const c = 1 / Math.sqrt(1 + t * t);
      const s = c * t;
      for (let i = 0; i < n; i++) {
        const ap = A[p * n + i]!;
        const aq = A[q * n + i]!;
        A[p * n + i] = c * ap - s * aq;
        A[q * n + i] = s * ap + c * aq;
      }
      for (let r = 0; r < 3; r++) {
        const vp = V[r * 3 + p]!;
        const vq = V[r * 3 + q]!;
        V[r * 3 + p] = c * vp - s * vq;
        V[r * 3 + q] = s * vp + c * vq;
      }
    }
    if (!rotated) break;
  }
  const sigma = [0, 1, 2].map((k) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += A[k * n + i]! ** 2;
    return Math.sqrt(s);
  });
  const smax = Math.max(...sigma);
  const tol = Math.max(3, n) * Number.EPSILON * smax;
  if (sigma.some((s) => !(s > tol))) return undefined;
  // coef = V diag(1/sigma) U^T x, with U_k = A_k / sigma_k
  const proj = sigma.map((s, k) => {
    let d = 0;
    for (let i = 0; i < n; i++) d += A[k * n + i]! * x[i]!;
    return d / (s * s);
  });
  const coef = [0, 1, 2].map((r) => V[r * 3]! * proj[0]! + V[r * 3 + 1]! * proj[1]! + V[r * 3 + 2]! * proj[2]!);
  return [coef[1]!, coef[2]!];
}

export interface PixelFeatureOptions {
  /** Per-retrieval weights [P * D] (> 0); uniform when absent. Only the weighted means use them. */
  weights?: Series;
  /** Day of year (1..366) of each column; default (d mod 365) + 1. */
  doy?: Int32Array;
}

/** The 30 per-pixel features for P pixels x D days; returns [P * 30] (float64). */
export function pixelFeatures(series: Series, P: number, D: number, options: PixelFeatureOptions = {}): Float64Array {
  if (series.length !== P * D) throw new Error(`pixelFeatures: ${series.length} values for ${P} x ${D}`);
  const doy = options.doy ?? defaultDoy(D);
  const w = options.weights;
  const out = new Float64Array(P * NF).fill(NaN);
  const t = new Int32Array(D);
  const x = new Float64Array(D);
  const xs = new Float64Array(D);
  const tmp = new Float64Array(D);
  const theta = new Float64Array(D);
  const work = new Float64Array(3 * D);
  for (let p = 0; p < P; p++) {
    const row = p * D;
    const o = p * NF;
    let n = 0;
    for (let d = 0; d < D; d++) {
      const v = series[row + d]!;
      if (v === v) {
        t[n] = d;
        x[n] = v;
        n++;
      }
    }
    out[o + F.ts_n_valid] = n;
    out[o + F.ts_frac_valid] = D ? n / D : NaN;
    out[o + F.ts_count_above_mean] = 0;
    out[o + F.ts_longest_run_above_mean] = 0;
    if (n === 0) continue;

    for (let i = 0; i < n; i++) xs[i] = x[i]!;
    const sorted = xs.subarray(0, n).sort();
    const constant = sorted[0] === sorted[n - 1];
    let mean = sorted[0]!;
    if (!constant) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i]!;
      mean = s / n;
    }
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    if (!constant) {
      for (let i = 0; i < n; i++) {
        const dv = x[i]! - mean;
        const d2 = dv * dv;
        m2 += d2;
        m3 += d2 * dv;
        m4 += d2 * d2;
      }
      m2 /= n;
      m3 /= n;
      m4 /= n;
    }
    const median = quantileSorted(sorted, 0.5);
    out[o + F.ts_mean] = mean;
    out[o + F.ts_median] = median;

    // Weighted means (uniform weights by default).
    let sw = 0;
    let swInv = 0;
    let swLog = 0;
    let swSq = 0;
    let positive = true;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[row + t[i]!]! : 1;
      const xi = x[i]!;
      sw += wi;
      swSq += wi * xi * xi;
      if (xi <= 0) positive = false;
      else {
        swInv += wi / xi;
        swLog += wi * Math.log(xi);
      }
    }
    out[o + F.ts_hmean_w] = positive ? sw / swInv : NaN;
    out[o + F.ts_gmean_w] = positive ? Math.exp(swLog / sw) : NaN;
    out[o + F.ts_pmean2_w] = Math.sqrt(swSq / sw);

    out[o + F.ts_std] = Math.sqrt(m2);
    out[o + F.ts_var] = m2;
    out[o + F.ts_cv] = mean !== 0 ? Math.sqrt(m2) / mean : NaN;
    out[o + F.ts_iqr] = quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25);
    for (let i = 0; i < n; i++) tmp[i] = Math.abs(x[i]! - median);
    out[o + F.ts_mad] = quantileSorted(tmp.subarray(0, n).sort(), 0.5);
    out[o + F.ts_range] = sorted[n - 1]! - sorted[0]!;
    out[o + F.ts_min] = sorted[0]!;
    out[o + F.ts_max] = sorted[n - 1]!;
    out[o + F.ts_p05] = quantileSorted(sorted, 0.05);
    out[o + F.ts_p95] = quantileSorted(sorted, 0.95);
    if (n >= 3 && m2 > 0) out[o + F.ts_skew] = m3 / m2 ** 1.5;
    if (n >= 4 && m2 > 0) out[o + F.ts_kurt] = m4 / (m2 * m2) - 3;

    // Lag-1 autocorrelation over pairs of consecutive valid days.
    let K = 0;
    let sa = 0;
    let sb = 0;
    let amin = Infinity;
    let amax = -Infinity;
    let bmin = Infinity;
    let bmax = -Infinity;
    for (let i = 0; i + 1 < n; i++) {
      if (t[i + 1] !== t[i]! + 1) continue;
      const a = x[i]!;
      const b = x[i + 1]!;
      K++;
      sa += a;
      sb += b;
      amin = Math.min(amin, a);
      amax = Math.max(amax, a);
      bmin = Math.min(bmin, b);
      bmax = Math.max(bmax, b);
    }
    if (K >= 3 && amin !== amax && bmin !== bmax) {
      const abar = sa / K;
      const bbar = sb / K;
      let sab = 0;
      let saa = 0;
      let sbb = 0;
      for (let i = 0; i + 1 < n; i++) {
        if (t[i + 1] !== t[i]! + 1) continue;
        const da = x[i]! - abar;
        const db = x[i + 1]! - bbar;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
      }
      const den = Math.sqrt(saa * sbb);
      if (den > 0) out[o + F.ts_acf1] = sab / den;
    }

    if (n >= 2) {
      let perDay = 0;
      let total = 0;
      let tbar = 0;
      for (let i = 0; i < n; i++) tbar += t[i]!;
      tbar /= n;
      let stx = 0;
      let stt = 0;
      for (let i = 0; i < n; i++) {
        if (i + 1 < n) {
          const dx = Math.abs(x[i + 1]! - x[i]!);
          perDay += dx / (t[i + 1]! - t[i]!);
          total += dx;
        }
        const tc = t[i]! - tbar;
        stx += tc * (constant ? 0 : x[i]! - mean);
        stt += tc * tc;
      }
      out[o + F.ts_mean_abs_change_per_day] = perDay / (n - 1);
      out[o + F.ts_sum_abs_change] = total;
      out[o + F.ts_trend_per_year] = (stx / stt) * DAYS_PER_YEAR;
    } else {
      out[o + F.ts_sum_abs_change] = 0;
    }

    if (n >= 3) {
      for (let i = 0; i < n; i++) theta[i] = (2 * Math.PI * doy[t[i]!]!) / DAYS_PER_YEAR;
      const ab = annualHarmonic(theta, x, n, work);
      if (ab && constant) {
        out[o + F.ts_harm_amp] = 0;
        out[o + F.ts_harm_phase] = 0;
      } else if (ab) {
        out[o + F.ts_harm_amp] = Math.hypot(ab[0], ab[1]);
        out[o + F.ts_harm_phase] = Math.atan2(ab[1], ab[0]);
      }
    }

    let sumAbs = 0;
    let sumSq = 0;
    let above = 0;
    let run = 0;
    let longest = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      sumAbs += Math.abs(xi);
      sumSq += xi * xi;
      if (xi > mean) {
        above++;
        run = i > 0 && t[i] === t[i - 1]! + 1 && x[i - 1]! > mean ? run + 1 : 1;
        longest = Math.max(longest, run);
      } else run = 0;
    }
    out[o + F.ts_mean_abs] = sumAbs / n;
    out[o + F.ts_mean_sq] = sumSq / n;
    out[o + F.ts_sum_sq] = sumSq;
    out[o + F.ts_count_above_mean] = above;
    out[o + F.ts_longest_run_above_mean] = longest;
  }
  return out;
}

export interface ContextOptions {
  doy?: Int32Array;
  halfWindow?: number;
  /** Leave the query day itself out of the climatology when it is valid (default true). */
  excludeSelf?: boolean;
  /**
   * Per query, a run of days [gapStart[q], gapEnd[q]] (containing the query day) whose values are
   * ignored, as if the query sat inside a gap: the out-of-fold mode of MODELS.md for training rows.
   * A negative gapStart means no gap for that query.
   */
  gapStart?: Int32Array;
  gapEnd?: Int32Array;
  /**
   * Per pixel, the day-of-year window sums of the climatology, kept between calls on the same
   * series (the costly part: 366 windows of ~31 days per pixel); a caller that queries the same
   * pixels block after block passes one Map for all its calls.
   */
  climatology?: Map<number, { wsum: Float64Array; wcnt: Float64Array }>;
}

/** Circular day-of-year distance min(|a - b|, 365 - |a - b|), as the reference defines it. */
export function circularDoyDistance(a: number, b: number): number {
  const d = Math.abs(a - b);
  return Math.min(d, 365 - d);
}

/** The days of year within +-half circular days of each day of year 1..366 (index 0 unused), made once per half-width. */
const windowsByHalf = new Map<number, number[][]>();
function doyWindows(half: number): number[][] {
  let w = windowsByHalf.get(half);
  if (!w) {
    w = Array.from({ length: 367 }, (_, k) => {
      const members: number[] = [];
      if (k > 0) for (let b = 1; b <= 366; b++) if (circularDoyDistance(k, b) <= half) members.push(b);
      return members;
    });
    windowsByHalf.set(half, w);
  }
  return w;
}

/** A pixel's day-of-year window sums and counts of its valid values (the climatology's costly part). */
function climatologySums(series: Series, p: number, D: number, doy: Int32Array, windows: number[][]): { wsum: Float64Array; wcnt: Float64Array } {
  const sums = new Float64Array(367);
  const cnts = new Float64Array(367);
  for (let d = 0; d < D; d++) {
    const v = series[p * D + d]!;
    if (v === v) {
      sums[doy[d]!]! += v;
      cnts[doy[d]!]! += 1;
    }
  }
  const wsum = new Float64Array(367);
  const wcnt = new Float64Array(367);
  for (let k = 1; k <= 366; k++) {
    for (const b of windows[k]!) {
      wsum[k]! += sums[b]!;
      wcnt[k]! += cnts[b]!;
    }
  }
  return { wsum, wcnt };
}

/**
 * The 5 dynamic context terms for queries (pix[q], day[q]): day-of-year climatology of the
 * pixel (+-halfWindow circular days, all years), and the nearest earlier / later valid value
 * and their distances in days. Returns [Q * 5] (float64, NaN = none). The nearest values are
 * found by scanning out from the query (the cost of a gap's length, no per-pixel index), the
 * climatology's window sums once per pixel (options.climatology keeps them between calls).
 */
export function contextFeatures(series: Series, P: number, D: number, pix: Int32Array, day: Int32Array, options: ContextOptions = {}): Float64Array {
  if (series.length !== P * D) throw new Error(`contextFeatures: ${series.length} values for ${P} x ${D}`);
  const doy = options.doy ?? defaultDoy(D);
  const half = options.halfWindow ?? 15;
  const excludeSelf = options.excludeSelf ?? true;
  const Q = pix.length;
  const out = new Float64Array(Q * 5);
  const windows = doyWindows(half);
  const climatology = options.climatology ?? new Map<number, { wsum: Float64Array; wcnt: Float64Array }>();
  for (let q = 0; q < Q; q++) {
    const p = pix[q]!;
    let c = climatology.get(p);
    if (!c) {
      c = climatologySums(series, p, D, doy, windows);
      climatology.set(p, c);
    }
    const base = p * D;
    const d = day[q]!;
    const g0 = options.gapStart ? options.gapStart[q]! : -1;
    let num: number;
    let den: number;
    let before = d;
    let after = d;
    if (g0 >= 0) {
      // Leave out every value inside the gap (the query's own included).
      const g1 = options.gapEnd![q]!;
      num = c.wsum[doy[d]!]!;
      den = c.wcnt[doy[d]!]!;
      for (let e = Math.max(0, g0); e <= Math.min(D - 1, g1); e++) {
        const w = series[base + e]!;
        if (w === w && circularDoyDistance(doy[e]!, doy[d]!) <= half) ((num -= w), (den -= 1));
      }
      before = g0;
      after = g1;
    } else {
      const v = series[base + d]!;
      const own = excludeSelf && v === v;
      num = c.wsum[doy[d]!]! - (own ? v : 0);
      den = c.wcnt[doy[d]!]! - (own ? 1 : 0);
    }
    const o = q * 5;
    out[o] = den > 0 ? num / den : NaN;
    let prevDay = Math.min(D, before) - 1;
    while (prevDay >= 0 && series[base + prevDay]! !== series[base + prevDay]!) prevDay--;
    let nextDay = Math.max(-1, after) + 1;
    while (nextDay < D && series[base + nextDay]! !== series[base + nextDay]!) nextDay++;
    out[o + 1] = prevDay >= 0 ? series[base + prevDay]! : NaN;
    out[o + 2] = prevDay >= 0 ? d - prevDay : NaN;
    out[o + 3] = nextDay < D ? series[base + nextDay]! : NaN;
    out[o + 4] = nextDay < D ? nextDay - d : NaN;
  }
  return out;
}
