/**
 * The orthonormal DCT-II (and its inverse, the DCT-III) along every axis of a [n0, n1, n2]
 * array in float64, as scipy.fft.dctn / idctn with norm="ortho" compute it. DCT-PLS spends
 * nearly all its time here.
 *
 * Two ways along an axis, chosen by its length:
 * - a power of two from 16 up: Makhoul's reordering and one complex FFT of length n per two
 *   lines (one as the real part, one as the imaginary), O(n log n) per line, run over blocks of
 *   up to 2 BLOCK lines at once;
 * - any other length: the n x n cosine matrix applied as a matrix product over contiguous rows,
 *   O(n) per value, each sum taken in the same order as a dot product of the matrix row with
 *   the line.
 * No library was used: the npm FFTs are power-of-two complex transforms without the DCT's
 * reordering or strided axes, and the work here is in those two steps.
 */

export type Dims3 = [number, number, number];

const FFT_MIN = 16;
/**
 * Lines per half-block: up to 2 BLOCK neighbouring lines go through the FFT together, line j as
 * the real part and line j + w as the imaginary (w <= BLOCK), held as n rows of w values so that
 * every butterfly is a loop over contiguous memory instead of one line's values strided across
 * the array. On the contiguous axis the block holds the lines transposed.
 */
const BLOCK = 32;

function isPowerOfTwo(n: number): boolean {
  return n >= FFT_MIN && (n & (n - 1)) === 0;
}

/** Orthonormal DCT-II matrix of size n, C[k * n + j]. */
export function dctMatrix(n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const a = k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
    for (let j = 0; j < n; j++) c[k * n + j] = a * Math.cos((Math.PI * (2 * j + 1) * k) / (2 * n));
  }
  return c;
}

/** One axis of length n: its matrices or its FFT tables and scratch lines. */
interface AxisPlan {
  n: number;
  /** The matrix path: C and its transpose (the inverse), row-major. */
  forwardMatrix?: Float64Array;
  inverseMatrix?: Float64Array;
  /** The FFT path. */
  fft?: FftTables;
}

interface FftTables {
  bitReverse: Uint32Array;
  /** cos and sin of -2 pi k / n, k < n / 2. */
  cos: Float64Array;
  sin: Float64Array;
  /** scale_k cos(pi k / 2n) and scale_k sin(pi k / 2n), scale the orthonormal factor. */
  postCos: Float64Array;
  postSin: Float64Array;
  re: Float64Array;
  im: Float64Array;
  /** A block of lines (forwardBlock, inverseBlock): n rows of w <= BLOCK values, row-major. */
  blockRe: Float64Array;
  blockIm: Float64Array;
}

function fftTables(n: number): FftTables {
  const bits = Math.log2(n);
  const bitReverse = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    bitReverse[i] = r;
  }
  const half = n / 2;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let k = 0; k < half; k++) {
    cos[k] = Math.cos((-2 * Math.PI * k) / n);
    sin[k] = Math.sin((-2 * Math.PI * k) / n);
  }
  const postCos = new Float64Array(n);
  const postSin = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const scale = k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
    postCos[k] = scale * Math.cos((Math.PI * k) / (2 * n));
    postSin[k] = scale * Math.sin((Math.PI * k) / (2 * n));
  }
  return {
    bitReverse,
    cos,
    sin,
    postCos,
    postSin,
    re: new Float64Array(n),
    im: new Float64Array(n),
    blockRe: new Float64Array(n * BLOCK),
    blockIm: new Float64Array(n * BLOCK),
  };
}

/** In-place radix-2 complex FFT of the line in t.re / t.im; `inverse` flips the sign of the exponent (no 1/n). */
function fft(t: FftTables, inverse: boolean): void {
  const { re, im, bitReverse } = t;
  const n = re.length;
  for (let i = 0; i < n; i++) {
    const j = bitReverse[i]!;
    if (j > i) {
      let s = re[i]!;
      re[i] = re[j]!;
      re[j] = s;
      s = im[i]!;
      im[i] = im[j]!;
      im[j] = s;
    }
  }
  butterflies(t, re, im, 1, inverse);
}

/**
 * The radix-2 butterflies over w lines held as n rows of w values (row-major, the input already
 * in bit-reversed row order): one line for `fft`, a block of lines for the block transforms.
 */
function butterflies(t: FftTables, re: Float64Array, im: Float64Array, w: number, inverse: boolean): void {
  const { cos, sin } = t;
  const n = t.re.length;
  const sign = inverse ? -1 : 1;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step]!;
        const wi = sign * sin[k * step]!;
        const a = (start + k) * w;
        const b = a + half * w;
        for (let j = 0; j < w; j++) {
          const br = re[b + j]!;
          const bi = im[b + j]!;
          const xr = br * wr - bi * wi;
          const xi = br * wi + bi * wr;
          const ar = re[a + j]!;
          const ai = im[a + j]!;
          re[b + j] = ar - xr;
          im[b + j] = ai - xi;
          re[a + j] = ar + xr;
          im[a + j] = ai + xi;
        }
      }
    }
  }
}

/**
 * DCT-II of the lines at `first` and `second` (stride `stride`) of x into out; `second` < 0
 * for a single line. Makhoul: v = (x0, x2, ..., x3, x1), X_k = scale_k Re(e^(-i pi k / 2n) FFT(v)_k);
 * two real lines share one complex FFT and are separated by its conjugate symmetry.
 */
function forwardPair(t: FftTables, x: Float64Array, out: Float64Array, first: number, second: number, stride: number): void {
  const { re, im, postCos, postSin } = t;
  const n = re.length;
  const half = n / 2;
  for (let m = 0; m < half; m++) {
    re[m] = x[first + 2 * m * stride]!;
    re[n - 1 - m] = x[first + (2 * m + 1) * stride]!;
    im[m] = second >= 0 ? x[second + 2 * m * stride]! : 0;
    im[n - 1 - m] = second >= 0 ? x[second + (2 * m + 1) * stride]! : 0;
  }
  fft(t, false);
  for (let k = 0; k < n; k++) {
    const m = k === 0 ? 0 : n - k;
    const zr = re[k]!;
    const zi = im[k]!;
    const mr = re[m]!;
    const mi = im[m]!;
    const c = postCos[k]!;
    const s = postSin[k]!;
    // V_first = (Z_k + conj Z_m) / 2, V_second = (Z_k - conj Z_m) / 2i; X = scale Re(V e^(-i theta)).
    out[first + k * stride] = 0.5 * ((zr + mr) * c + (zi - mi) * s);
    if (second >= 0) out[second + k * stride] = 0.5 * ((zi + mi) * c + (mr - zr) * s);
  }
}

/**
 * DCT-III (the orthonormal inverse) of two lines: W_0 = c_0, W_k = (c_k - i c_(n-k)) e^(i theta_k) / 2
 * with c = scale X; w = the inverse FFT of W is real and x_2m = w_m, x_(2m+1) = w_(n-1-m).
 * Two lines share one FFT as W_first + i W_second.
 */
function inversePair(t: FftTables, x: Float64Array, out: Float64Array, first: number, second: number, stride: number): void {
  const { re, im, postCos, postSin } = t;
  const n = re.length;
  const sqrt1 = Math.sqrt(1 / n);
  for (let k = 0; k < n; k++) {
    let ar: number;
    let ai: number;
    let br = 0;
    let bi = 0;
    if (k === 0) {
      ar = x[first]! * sqrt1;
      ai = 0;
      if (second >= 0) br = x[second]! * sqrt1;
    } else {
      // postCos / postSin carry scale_k; scale_(n-k) is the same for k >= 1.
      const c = postCos[k]!;
      const s = postSin[k]!;
      const p = x[first + k * stride]!;
      const q = x[first + (n - k) * stride]!;
      // (p - i q)(cos + i sin) / 2
      ar = 0.5 * (p * c + q * s);
      ai = 0.5 * (p * s - q * c);
      if (second >= 0) {
        const p2 = x[second + k * stride]!;
        const q2 = x[second + (n - k) * stride]!;
        br = 0.5 * (p2 * c + q2 * s);
        bi = 0.5 * (p2 * s - q2 * c);
      }
    }
    re[k] = ar - bi;
    im[k] = ai + br;
  }
  fft(t, true);
  const half = n / 2;
  for (let m = 0; m < half; m++) {
    out[first + 2 * m * stride] = re[m]!;
    out[first + (2 * m + 1) * stride] = re[n - 1 - m]!;
    if (second >= 0) {
      out[second + 2 * m * stride] = im[m]!;
      out[second + (2 * m + 1) * stride] = im[n - 1 - m]!;
    }
  }
}

/** The matrix path: out[o, k, i] = sum_j M[k, j] x[o, j, i], the sum in order of j. */
function matrixAlong(x: Float64Array, out: Float64Array, M: Float64Array, n: number, outer: number, inner: number): void {
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const base = o * n;
      for (let k = 0; k < n; k++) {
        let s = 0;
        const row = k * n;
        for (let j = 0; j < n; j++) s += M[row + j]! * x[base + j]!;
        out[base + k] = s;
      }
    }
    return;
  }
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let k = 0; k < n; k++) {
      const dst = base + k * inner;
      out.fill(0, dst, dst + inner);
      for (let j = 0; j < n; j++) {
        const m = M[k * n + j]!;
        const src = base + j * inner;
        for (let i = 0; i < inner; i++) out[dst + i] += m * x[src + i]!;
      }
    }
  }
}

function fftAlong(plan: FftTables, x: Float64Array, out: Float64Array, n: number, outer: number, inner: number, inverse: boolean): void {
  const pair = inverse ? inversePair : forwardPair;
  const block = inverse ? inverseBlock : forwardBlock;
  if (inner === 1) {
    // The contiguous axis: blocks of whole lines, each transposed into the block's rows.
    let o = 0;
    while (outer - o >= 2) {
      const w = Math.min(BLOCK, (outer - o) >> 1);
      block(plan, x, out, o * n, w, 1, n);
      o += 2 * w;
    }
    if (o < outer) pair(plan, x, out, o * n, -1, 1);
    return;
  }
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    let c = 0;
    while (inner - c >= 2) {
      const w = Math.min(BLOCK, (inner - c) >> 1);
      block(plan, x, out, base + c, w, inner, 1);
      c += 2 * w;
    }
    if (c < inner) pair(plan, x, out, base + c, -1, inner);
  }
}

/**
 * forwardPair over 2w lines at once: the lines starting at first + j lineStep and
 * first + (w + j) lineStep (j < w; lineStep 1 on a strided axis, n on the contiguous one) share
 * an FFT, their values gathered straight into bit-reversed rows.
 */
function forwardBlock(t: FftTables, x: Float64Array, out: Float64Array, first: number, w: number, stride: number, lineStep: number): void {
  const { blockRe: re, blockIm: im, bitReverse, postCos, postSin } = t;
  const n = t.re.length;
  const half = n / 2;
  const second = w * lineStep;
  for (let m = 0; m < half; m++) {
    const even = first + 2 * m * stride;
    const odd = even + stride;
    const toEven = bitReverse[m]! * w;
    const toOdd = bitReverse[n - 1 - m]! * w;
    for (let j = 0; j < w; j++) {
      const at = j * lineStep;
      re[toEven + j] = x[even + at]!;
      im[toEven + j] = x[even + second + at]!;
      re[toOdd + j] = x[odd + at]!;
      im[toOdd + j] = x[odd + second + at]!;
    }
  }
  butterflies(t, re, im, w, false);
  for (let k = 0; k < n; k++) {
    const m = (k === 0 ? 0 : n - k) * w;
    const c = postCos[k]!;
    const s = postSin[k]!;
    const row = k * w;
    const to = first + k * stride;
    for (let j = 0; j < w; j++) {
      const zr = re[row + j]!;
      const zi = im[row + j]!;
      const mr = re[m + j]!;
      const mi = im[m + j]!;
      const at = to + j * lineStep;
      out[at] = 0.5 * ((zr + mr) * c + (zi - mi) * s);
      out[at + second] = 0.5 * ((zi + mi) * c + (mr - zr) * s);
    }
  }
}

/** inversePair over 2w lines at once (as forwardBlock pairs them). */
function inverseBlock(t: FftTables, x: Float64Array, out: Float64Array, first: number, w: number, stride: number, lineStep: number): void {
  const { blockRe: re, blockIm: im, bitReverse, postCos, postSin } = t;
  const n = t.re.length;
  const sqrt1 = Math.sqrt(1 / n);
  const to0 = bitReverse[0]! * w;
  const second = w * lineStep;
  for (let j = 0; j < w; j++) {
    // k = 0: (a, b) = (x_first, x_second) scaled; re = a - 0, im = 0 + b.
    re[to0 + j] = x[first + j * lineStep]! * sqrt1;
    im[to0 + j] = x[first + second + j * lineStep]! * sqrt1;
  }
  for (let k = 1; k < n; k++) {
    const c = postCos[k]!;
    const s = postSin[k]!;
    const pRow = first + k * stride;
    const qRow = first + (n - k) * stride;
    const to = bitReverse[k]! * w;
    for (let j = 0; j < w; j++) {
      const at = j * lineStep;
      const p = x[pRow + at]!;
      const q = x[qRow + at]!;
      const p2 = x[pRow + second + at]!;
      const q2 = x[qRow + second + at]!;
      re[to + j] = 0.5 * (p * c + q * s) - 0.5 * (p2 * s - q2 * c);
      im[to + j] = 0.5 * (p * s - q * c) + 0.5 * (p2 * c + q2 * s);
    }
  }
  butterflies(t, re, im, w, true);
  const half = n / 2;
  for (let m = 0; m < half; m++) {
    const even = first + 2 * m * stride;
    const odd = even + stride;
    const fromEven = m * w;
    const fromOdd = (n - 1 - m) * w;
    for (let j = 0; j < w; j++) {
      const at = j * lineStep;
      out[even + at] = re[fromEven + j]!;
      out[odd + at] = re[fromOdd + j]!;
      out[even + second + at] = im[fromEven + j]!;
      out[odd + second + at] = im[fromOdd + j]!;
    }
  }
}

/** A reusable 3-D orthonormal DCT for arrays of one shape. */
export class Dct3 {
  private readonly axes: AxisPlan[];
  private readonly scratch: Float64Array;

  constructor(readonly dims: Dims3) {
    this.axes = dims.map((n) => {
      if (isPowerOfTwo(n)) return { n, fft: fftTables(n) };
      const c = dctMatrix(n);
      const t = new Float64Array(n * n);
      for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) t[j * n + k] = c[k * n + j]!;
      return { n, forwardMatrix: c, inverseMatrix: t };
    });
    this.scratch = new Float64Array(dims[0] * dims[1] * dims[2]);
  }

  /** out = DCT-II of x over every axis longer than 1 (x is left unchanged; out may not be x). */
  forward(x: Float64Array, out: Float64Array): void {
    this.apply(x, out, false);
  }

  /** out = DCT-III (the inverse) of x. */
  inverse(x: Float64Array, out: Float64Array): void {
    this.apply(x, out, true);
  }

  private apply(x: Float64Array, out: Float64Array, inverse: boolean): void {
    const [n0, n1, n2] = this.dims;
    const N = n0 * n1 * n2;
    if (x.length !== N || out.length !== N) throw new Error(`Dct3: arrays of ${x.length} / ${out.length} values for dims ${this.dims.join(" x ")}`);
    if (x === out) throw new Error("Dct3: out must not be x");
    const active = ([0, 1, 2] as const).filter((a) => this.dims[a] > 1);
    if (active.length === 0) {
      out.set(x);
      return;
    }
    // Alternate between out and the scratch so that the last axis writes into out.
    let src = x;
    for (let step = 0; step < active.length; step++) {
      const axis = active[step]!;
      const dst = (active.length - 1 - step) % 2 === 0 ? out : this.scratch;
      const n = this.dims[axis];
      const outer = axis === 0 ? 1 : axis === 1 ? n0 : n0 * n1;
      const inner = axis === 0 ? n1 * n2 : axis === 1 ? n2 : 1;
      const plan = this.axes[axis]!;
      if (plan.fft) fftAlong(plan.fft, src, dst, n, outer, inner, inverse);
      else matrixAlong(src, dst, inverse ? plan.inverseMatrix! : plan.forwardMatrix!, n, outer, inner);
      src = dst;
    }
  }
}
