/**
 * DCT-PLS: Garcia's (2010) penalised least squares with the discrete cosine transform, the
 * gap filler of ESA CCI SM GAPFILLED (as in pytesmo's interpolate/dctpls.py), spatio-temporal
 * over a cube window (t, y, x). A baseline users compare against, not a learner: it fills the
 * window from its training values alone.
 *
 * The method, as implemented here (and in the independent numpy/scipy oracle of the tests):
 *   weights W = 1 on training values, 0 elsewhere; Lambda = sum over axes of
 *   a_k (2 - 2 cos(pi i_k / n_k)) with a_time = the time axis' sampling weight, 1 in space;
 *   Gamma(s) = 1 / (1 + s Lambda^2); z0 = the mean of the training values everywhere;
 *   iterate: D = DCT(W (y - z) + z) (orthonormal DCT-II over the three axes),
 *     s (at iterations 0, 1, 2 and every 10th of each round) = the minimiser of smoothn's GCV = RSS / nobs / (1 - sum(Gamma) / N)^2 over log10 s in
 *     [-3, 6] (a golden-section search of 20 steps), RSS = sum W (y - IDCT(Gamma D))^2 over the
 *     training values,
 *     z <- 1.75 IDCT(Gamma D) + (1 - 1.75) z (Garcia's over-relaxation for weighted data),
 *   until |dz| / |z| < 1e-3 or 100 iterations (smoothn's defaults); robust: three rounds of
 *   bisquare weights from the studentised residuals (MAD, Garcia's average leverage), each
 *   re-solved from the last z.
 * Long periods are filled in windows of 64 days overlapping by 16 on each side (the middle of
 * each window kept): the method's cost grows with the square of each axis' length.
 */

import { quantileSorted } from "../util/stats.js";

export interface DctPlsOptions {
  /** Sampling weight of the time axis in the penalty (1: a day counts as much as a cell). */
  timeWeight?: number;
  robust?: boolean;
  tolerance?: number;
  maxIterations?: number;
}

export interface DctPlsResult {
  values: Float32Array;
  s: number;
  iterations: number;
}

const [P_LOW, P_HIGH, GOLDEN_STEPS] = [-3, 6, 20];

/** Orthonormal DCT-II (inverse = DCT-III) matrix of size n: C[k * n + j]. */
function dctMatrix(n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const a = k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
    for (let j = 0; j < n; j++) c[k * n + j] = a * Math.cos((Math.PI * (2 * j + 1) * k) / (2 * n));
  }
  return c;
}

/** Applies C (or its transpose) along one axis of a [n0, n1, n2] array. */
function alongAxis(x: Float64Array, dims: [number, number, number], axis: 0 | 1 | 2, c: Float64Array, transpose: boolean): Float64Array {
  const [, n1, n2] = dims;
  const n = dims[axis];
  const out = new Float64Array(x.length);
  const stride = axis === 0 ? n1 * n2 : axis === 1 ? n2 : 1;
  const line = new Float64Array(n);
  const lines = x.length / n;
  for (let l = 0; l < lines; l++) {
    // The first element of line l along `axis`.
    let base: number;
    if (axis === 0) base = l;
    else if (axis === 1) base = Math.floor(l / n2) * n1 * n2 + (l % n2);
    else base = l * n2;
    for (let j = 0; j < n; j++) line[j] = x[base + j * stride]!;
    for (let k = 0; k < n; k++) {
      let s = 0;
      if (transpose) for (let j = 0; j < n; j++) s += c[j * n + k]! * line[j]!;
      else for (let j = 0; j < n; j++) s += c[k * n + j]! * line[j]!;
      out[base + k * stride] = s;
    }
  }
  return out;
}

function transform(x: Float64Array, dims: [number, number, number], mats: Float64Array[], inverse: boolean): Float64Array {
  let y = x;
  for (const axis of [0, 1, 2] as const) if (dims[axis] > 1) y = alongAxis(y, dims, axis, mats[axis]!, inverse);
  return y;
}

/** Fills a day-major window [T, nrows, ncols] (NaN = no training value) by DCT-PLS. */
export function dctPls(y: Float32Array, dims: [number, number, number], o: DctPlsOptions = {}): DctPlsResult {
  const N = y.length;
  const [n0, n1, n2] = dims;
  if (n0 * n1 * n2 !== N) throw new Error(`dctPls: ${N} values for dims ${dims.join(" x ")}`);
  const observed = new Uint8Array(N);
  let mean = 0;
  let nobs = 0;
  for (let k = 0; k < N; k++)
    if (!Number.isNaN(y[k]!)) {
      observed[k] = 1;
      mean += y[k]!;
      nobs++;
    }
  if (nobs === 0) return { values: new Float32Array(N).fill(NaN), s: NaN, iterations: 0 };
  mean /= nobs;
  const mats = dims.map((n) => dctMatrix(n));
  const tw = o.timeWeight ?? 1;
  const lambda = new Float64Array(N);
  for (let i = 0; i < n0; i++)
    for (let j = 0; j < n1; j++)
      for (let k = 0; k < n2; k++)
        lambda[(i * n1 + j) * n2 + k] =
          tw * (2 - 2 * Math.cos((Math.PI * i) / n0)) + (2 - 2 * Math.cos((Math.PI * j) / n1)) + (2 - 2 * Math.cos((Math.PI * k) / n2));
  const weight = Float64Array.from(observed);
  let z: Float64Array = new Float64Array(N).fill(mean);
  const tol = o.tolerance ?? 1e-3;
  const maxIt = o.maxIterations ?? 100;
  const RF = 1.75;
  let s = 1;
  let iterations = 0;
  const rounds = o.robust === false ? 1 : 3;
  for (let round = 0; round < rounds; round++) {
    let change = Infinity;
    for (let it = 0; it < maxIt && change > tol; it++, iterations++) {
      const u = new Float64Array(N);
      for (let k = 0; k < N; k++) u[k] = observed[k] ? weight[k]! * (y[k]! - z[k]!) + z[k]! : z[k]!;
      const D = transform(u, dims, mats, false);
      // s follows the GCV in the first iterations, then every 10th: each estimate costs 22 DCTs.
      if (it < 3 || it % 10 === 0)
        s = gcvMinimiser(
          D,
          lambda,
          (g) => {
            const yhat = transform(g, dims, mats, true);
            let rss = 0;
            for (let k = 0; k < N; k++) if (observed[k]) rss += weight[k]! * (y[k]! - yhat[k]!) ** 2;
            return rss;
          },
          nobs,
        );
      const G = new Float64Array(N);
      for (let k = 0; k < N; k++) G[k] = D[k]! / (1 + s * lambda[k]! ** 2);
      const zNew = transform(G, dims, mats, true);
      let num = 0;
      let den = 0;
      for (let k = 0; k < N; k++) {
        const v = RF * zNew[k]! + (1 - RF) * z[k]!;
        num += (v - z[k]!) ** 2;
        den += v * v;
        zNew[k] = v;
      }
      change = Math.sqrt(num / Math.max(den, 1e-300));
      z = zNew;
    }
    if (round + 1 < rounds) robustWeights(y, z, observed, weight, s, dims);
  }
  return { values: Float32Array.from(z), s, iterations };
}

/**
 * log10 s in [-3, 6] minimising smoothn's GCV = RSS / nobs / (1 - tr(H) / N)^2, with RSS the
 * weighted residual on the training values (one inverse DCT per candidate): a golden-section
 * search of 20 steps, deterministic (the oracle runs the same steps).
 */
function gcvMinimiser(D: Float64Array, lambda: Float64Array, rssOf: (gammaD: Float64Array) => number, nobs: number): number {
  const N = D.length;
  const gcv = (p: number) => {
    const s = 10 ** p;
    const g = new Float64Array(N);
    let tr = 0;
    for (let k = 0; k < N; k++) {
      const gamma = 1 / (1 + s * lambda[k]! ** 2);
      tr += gamma;
      g[k] = gamma * D[k]!;
    }
    return rssOf(g) / nobs / (1 - tr / N) ** 2;
  };
  const phi = (Math.sqrt(5) - 1) / 2;
  let [a, b] = [P_LOW, P_HIGH];
  let c = b - phi * (b - a);
  let d = a + phi * (b - a);
  let fc = gcv(c);
  let fd = gcv(d);
  for (let i = 0; i < GOLDEN_STEPS; i++) {
    if (fc <= fd) {
      [b, d, fd] = [d, c, fc];
      c = b - phi * (b - a);
      fc = gcv(c);
    } else {
      [a, c, fc] = [c, d, fd];
      d = a + phi * (b - a);
      fd = gcv(d);
    }
  }
  return 10 ** ((a + b) / 2);
}

/** Bisquare weights from the studentised residuals (Garcia's robust step), in place. */
function robustWeights(y: Float32Array, z: Float64Array, observed: Uint8Array, weight: Float64Array, s: number, dims: [number, number, number]): void {
  const r: number[] = [];
  for (let k = 0; k < y.length; k++) if (observed[k]) r.push(y[k]! - z[k]!);
  const median = (a: number[]) => quantileSorted(Float64Array.from(a).sort(), 0.5);
  const med = median(r);
  const mad = median(r.map((v) => Math.abs(v - med)));
  // Garcia's average leverage, one factor per non-singleton axis.
  let h = 1;
  for (const n of dims) {
    if (n <= 1) continue;
    const h0 = Math.sqrt(1 + 16 * s);
    h *= Math.sqrt(1 + h0) / Math.SQRT2 / h0;
  }
  const c = 4.685;
  for (let k = 0; k < y.length; k++) {
    if (!observed[k]) continue;
    const u = Math.abs((y[k]! - z[k]!) / (1.4826 * mad) / Math.sqrt(1 - h)) / c;
    weight[k] = mad > 0 && u < 1 ? (1 - u * u) ** 2 : mad > 0 ? 0 : 1;
  }
}

const WINDOW_CORE = 32;
const WINDOW_MARGIN = 16;

/** dctPls over windows of days (a core of 32 days with 16 on each side) when the period is long. */
export function dctPlsWindowed(y: Float32Array, dims: [number, number, number], o: DctPlsOptions = {}): DctPlsResult {
  const [T, n1, n2] = dims;
  if (T <= WINDOW_CORE + 4 * WINDOW_MARGIN) return dctPls(y, dims, o);
  const P = n1 * n2;
  const values = new Float32Array(y.length).fill(NaN);
  let iterations = 0;
  const sValues: number[] = [];
  for (let c0 = 0; c0 < T; c0 += WINDOW_CORE) {
    const c1 = Math.min(T, c0 + WINDOW_CORE);
    const w0 = Math.max(0, c0 - WINDOW_MARGIN);
    const w1 = Math.min(T, c1 + WINDOW_MARGIN);
    const r = dctPls(y.subarray(w0 * P, w1 * P), [w1 - w0, n1, n2], o);
    values.set(r.values.subarray((c0 - w0) * P, (c1 - w0) * P), c0 * P);
    iterations += r.iterations;
    sValues.push(r.s);
  }
  sValues.sort((a, b) => a - b);
  return { values, s: sValues[sValues.length >> 1]!, iterations };
}
