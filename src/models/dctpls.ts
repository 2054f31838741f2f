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
 *     s (when the 1-based iteration count of the round is a power of two, as smoothn does) = the
 *     minimiser of smoothn's GCV = RSS / nobs / (1 - sum(Gamma) / N)^2 over log10 s in [-3, 6]
 *     (a golden-section search of 10 steps: a bracket narrower than smoothn's TolX of 0.1),
 *     RSS = sum W (y - IDCT(Gamma D))^2 over the training values,
 *     z <- 1.75 IDCT(Gamma D) + (1 - 1.75) z (Garcia's over-relaxation for weighted data),
 *   until |dz| / |z| < 1e-3 or 100 iterations (smoothn's defaults); robust: three rounds of
 *   bisquare weights from the studentised residuals (MAD, Garcia's average leverage), each
 *   re-solved from the last z.
 * Large windows are filled in pieces (`dctPlsTiled`): 64 days by 128 x 128 cells, each keeping
 * its middle 32 days and 96 x 96 cells, so that every cut axis is a power of two (the fast DCT)
 * and a continent is hundreds of independent solves rather than one that does not finish. An
 * axis up to 1.5 pieces long is not cut. Each piece chooses its own smoothing by GCV; a piece
 * without a training value is solved again over twice its days around its core, and again, up to
 * the whole period, until it has one (every pixel with a training value on some day is estimated).
 */

import { Dct3 } from "../util/dct.js";
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

const [P_LOW, P_HIGH, GOLDEN_STEPS] = [-3, 6, 10];

/** smoothn re-chooses s by GCV when its 1-based iteration count is a power of two. */
function gcvIteration(it: number): boolean {
  const nit = it + 1;
  return (nit & (nit - 1)) === 0;
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
  const dct = new Dct3(dims);
  const tw = o.timeWeight ?? 1;
  // The penalty enters only squared: Lambda^2, once.
  const lambda2 = new Float64Array(N);
  for (let i = 0; i < n0; i++)
    for (let j = 0; j < n1; j++)
      for (let k = 0; k < n2; k++)
        lambda2[(i * n1 + j) * n2 + k] =
          (tw * (2 - 2 * Math.cos((Math.PI * i) / n0)) + (2 - 2 * Math.cos((Math.PI * j) / n1)) + (2 - 2 * Math.cos((Math.PI * k) / n2))) ** 2;
  const weight = Float64Array.from(observed);
  const z = new Float64Array(N).fill(mean);
  const tol = o.tolerance ?? 1e-3;
  const maxIt = o.maxIterations ?? 100;
  const RF = 1.75;
  let s = 1;
  let iterations = 0;
  const rounds = o.robust === false ? 1 : 3;
  // Four work arrays for the whole solve: the weighted data u, its DCT D, a filtered spectrum
  // and its inverse (the candidate z, or a GCV trial's fit).
  const u = new Float64Array(N);
  const D = new Float64Array(N);
  const G = new Float64Array(N);
  const zNew = new Float64Array(N);
  for (let round = 0; round < rounds; round++) {
    let change = Infinity;
    for (let it = 0; it < maxIt && change > tol; it++, iterations++) {
      for (let k = 0; k < N; k++) u[k] = observed[k] ? weight[k]! * (y[k]! - z[k]!) + z[k]! : z[k]!;
      dct.forward(u, D);
      // Each GCV estimate costs an inverse DCT per golden step, hence smoothn's sparse schedule.
      if (gcvIteration(it))
        s = gcvMinimiser(
          D,
          lambda2,
          G,
          (g) => {
            dct.inverse(g, zNew);
            let rss = 0;
            for (let k = 0; k < N; k++) if (observed[k]) rss += weight[k]! * (y[k]! - zNew[k]!) ** 2;
            return rss;
          },
          nobs,
        );
      for (let k = 0; k < N; k++) G[k] = D[k]! / (1 + s * lambda2[k]!);
      dct.inverse(G, zNew);
      let num = 0;
      let den = 0;
      for (let k = 0; k < N; k++) {
        const v = RF * zNew[k]! + (1 - RF) * z[k]!;
        num += (v - z[k]!) ** 2;
        den += v * v;
        zNew[k] = v;
      }
      change = Math.sqrt(num / Math.max(den, 1e-300));
      z.set(zNew);
    }
    if (round + 1 < rounds) robustWeights(y, z, observed, weight, s, dims);
  }
  return { values: Float32Array.from(z), s, iterations };
}

/**
 * log10 s in [-3, 6] minimising smoothn's GCV = RSS / nobs / (1 - tr(H) / N)^2, with RSS the
 * weighted residual on the training values (one inverse DCT per candidate): a golden-section
 * search of GOLDEN_STEPS steps, deterministic (the oracle runs the same steps).
 */
function gcvMinimiser(D: Float64Array, lambda2: Float64Array, g: Float64Array, rssOf: (gammaD: Float64Array) => number, nobs: number): number {
  const N = D.length;
  const gcv = (p: number) => {
    const s = 10 ** p;
    let tr = 0;
    for (let k = 0; k < N; k++) {
      const gamma = 1 / (1 + s * lambda2[k]!);
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

/** How an axis is cut into pieces: each piece `size` long keeps its middle `core`. */
interface Cut {
  size: number;
  core: number;
}

const TIME_CUT: Cut = { size: 64, core: 32 };
const SPACE_CUT: Cut = { size: 128, core: 96 };

/** One piece along an axis: [start, start + size) solved, [coreStart, coreEnd) kept. */
export interface Span {
  start: number;
  end: number;
  coreStart: number;
  coreEnd: number;
}

/**
 * The pieces along an axis of `length`. An axis up to 1.5 pieces long is one piece (cutting it
 * would cost more than it saves); beyond, cores of `core` tile the axis and each piece extends
 * (size - core) / 2 on both sides, shifted inwards at the ends so that every piece is `size` long.
 */
export function spans(length: number, cut: Cut): Span[] {
  if (length <= 1.5 * cut.size) return [{ start: 0, end: length, coreStart: 0, coreEnd: length }];
  const margin = (cut.size - cut.core) / 2;
  const out: Span[] = [];
  for (let c0 = 0; c0 < length; c0 += cut.core) {
    const c1 = Math.min(length, c0 + cut.core);
    const start = Math.max(0, Math.min(length - cut.size, c0 - margin));
    // A short last core whose piece is the previous one's joins that piece's core.
    const last = out[out.length - 1];
    if (last && last.start === start) last.coreEnd = c1;
    else out.push({ start, end: start + cut.size, coreStart: c0, coreEnd: c1 });
  }
  return out;
}

export interface DctPlsPiece {
  /** The piece's values, day-major [t, y, x], NaN where there is no training value. */
  y: Float32Array;
  dims: [number, number, number];
}

/** The pieces of a window [T, nrows, ncols] with where each one's kept core goes. */
export function dctPlsPieces(dims: [number, number, number]): { t: Span; r: Span; c: Span }[] {
  const [T, n1, n2] = dims;
  const out: { t: Span; r: Span; c: Span }[] = [];
  for (const t of spans(T, TIME_CUT)) for (const r of spans(n1, SPACE_CUT)) for (const c of spans(n2, SPACE_CUT)) out.push({ t, r, c });
  return out;
}

/** Copies a piece's values out of the window. */
export function cutPiece(y: Float32Array, dims: [number, number, number], p: { t: Span; r: Span; c: Span }): DctPlsPiece {
  const [, n1, n2] = dims;
  const [pt, pr, pc] = [p.t.end - p.t.start, p.r.end - p.r.start, p.c.end - p.c.start];
  const out = new Float32Array(pt * pr * pc);
  for (let t = 0; t < pt; t++)
    for (let r = 0; r < pr; r++) {
      const from = ((p.t.start + t) * n1 + p.r.start + r) * n2 + p.c.start;
      out.set(y.subarray(from, from + pc), (t * pr + r) * pc);
    }
  return { y: out, dims: [pt, pr, pc] };
}

/** The kept core of a solved piece, day-major [core days, core rows, core columns]. */
export function coreOf(p: { t: Span; r: Span; c: Span }, solved: Float32Array): Float32Array {
  const [pr, pc] = [p.r.end - p.r.start, p.c.end - p.c.start];
  const [ct, cr, cc] = [p.t.coreEnd - p.t.coreStart, p.r.coreEnd - p.r.coreStart, p.c.coreEnd - p.c.coreStart];
  const core = new Float32Array(ct * cr * cc);
  for (let t = 0; t < ct; t++)
    for (let r = 0; r < cr; r++) {
      const from = ((p.t.coreStart + t - p.t.start) * pr + (p.r.coreStart + r - p.r.start)) * pc + (p.c.coreStart - p.c.start);
      core.set(solved.subarray(from, from + cc), (t * cr + r) * cc);
    }
  return core;
}

/** The number of values in a piece's kept core. */
export function coreLength(p: { t: Span; r: Span; c: Span }): number {
  return (p.t.coreEnd - p.t.coreStart) * (p.r.coreEnd - p.r.coreStart) * (p.c.coreEnd - p.c.coreStart);
}

/** Writes a piece's kept core (coreOf) into the window's values. */
export function placeCore(values: Float32Array, dims: [number, number, number], p: { t: Span; r: Span; c: Span }, core: Float32Array): void {
  const [, n1, n2] = dims;
  const [cr, cc] = [p.r.coreEnd - p.r.coreStart, p.c.coreEnd - p.c.coreStart];
  for (let t = p.t.coreStart; t < p.t.coreEnd; t++)
    for (let r = p.r.coreStart; r < p.r.coreEnd; r++) {
      const from = ((t - p.t.coreStart) * cr + (r - p.r.coreStart)) * cc;
      values.set(core.subarray(from, from + cc), (t * n1 + r) * n2 + p.c.coreStart);
    }
}

/**
 * A piece's days widened for want of a training value: twice as many around its core, shifted
 * inside the period, up to the whole period. Doubling keeps the length a power of two (the FFT;
 * a year's 365 days would be a matrix product, far slower) and stops at the smallest such window
 * that has a value.
 */
export function widerDays(t: Span, length: number): Span {
  const size = Math.min(length, 2 * (t.end - t.start));
  const centre = (t.coreStart + t.coreEnd) / 2;
  const start = Math.max(0, Math.min(length - size, Math.round(centre - size / 2)));
  return { ...t, start, end: start + size };
}

/** What a solved piece leaves: the values of its kept core and what it reports. */
export interface StoredPiece {
  core: Float32Array;
  s: number;
  iterations: number;
  /** Solved over more days than its own (no training value in them). */
  widened: boolean;
}

/** Where solved pieces are kept between runs (dctpls-store.ts keeps them on disk). */
export interface PieceStore {
  get(index: number, coreLength: number): StoredPiece | undefined;
  put(index: number, piece: StoredPiece): void;
}

export interface DctPlsTiledResult extends DctPlsResult {
  pieces: number;
  /** Pieces without a training value in their days, solved again over twice the days until one is found (`widerDays`). */
  widenedPieces: number;
  /** Pieces without a training value in the whole period either, left NaN. */
  emptyPieces: number;
  /** Pieces found in the store, solved by an earlier, interrupted run. */
  storedPieces: number;
}

/**
 * dctPls over the pieces of a window, each solved by `solve` (in this thread, or on a worker
 * pool), at most `concurrency` pieces out at once (each out piece holds its copy), the kept cores
 * assembled. s and iterations summarise the pieces (the upper median s, the total iterations).
 */
export async function dctPlsTiled(
  y: Float32Array,
  dims: [number, number, number],
  o: DctPlsOptions = {},
  run: {
    solve?: (piece: DctPlsPiece, o: DctPlsOptions) => Promise<DctPlsResult>;
    concurrency?: number;
    onPiece?: (done: number, total: number) => void;
    /** Solved pieces kept on disk: those found are not solved again (a resumed fill). */
    store?: PieceStore;
  } = {},
): Promise<DctPlsTiledResult> {
  const solver = run.solve ?? (async (piece: DctPlsPiece, opts: DctPlsOptions) => dctPls(piece.y, piece.dims, opts));
  // A piece without a value (the sea, a winter's frozen ground) needs no round trip to a worker.
  const solve = async (piece: DctPlsPiece, opts: DctPlsOptions): Promise<DctPlsResult> =>
    piece.y.some((v) => !Number.isNaN(v)) ? solver(piece, opts) : { values: piece.y, s: NaN, iterations: 0 };
  const pieces = dctPlsPieces(dims);
  const values = new Float32Array(y.length).fill(NaN);
  let iterations = 0;
  let widenedPieces = 0;
  let emptyPieces = 0;
  let storedPieces = 0;
  const sValues: number[] = [];
  let next = 0;
  let done = 0;
  const solvePiece = async (p: { t: Span; r: Span; c: Span }): Promise<StoredPiece> => {
    let r = await solve(cutPiece(y, dims, p), o);
    const widened = Number.isNaN(r.s) && p.t.end - p.t.start < dims[0];
    while (Number.isNaN(r.s) && p.t.end - p.t.start < dims[0]) {
      p = { ...p, t: widerDays(p.t, dims[0]) };
      r = await solve(cutPiece(y, dims, p), o);
    }
    return { core: coreOf(p, r.values), s: r.s, iterations: r.iterations, widened };
  };
  const lane = async () => {
    while (next < pieces.length) {
      const index = next++;
      const p = pieces[index]!;
      let piece = run.store?.get(index, coreLength(p));
      if (piece) storedPieces++;
      else {
        piece = await solvePiece(p);
        run.store?.put(index, piece);
      }
      placeCore(values, dims, p, piece.core);
      iterations += piece.iterations;
      if (piece.widened) widenedPieces++;
      if (Number.isNaN(piece.s)) emptyPieces++;
      else sValues.push(piece.s);
      run.onPiece?.(++done, pieces.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, run.concurrency ?? 1) }, lane));
  sValues.sort((a, b) => a - b);
  return { values, s: sValues.length ? sValues[sValues.length >> 1]! : NaN, iterations, pieces: pieces.length, widenedPieces, emptyPieces, storedPieces };
}
