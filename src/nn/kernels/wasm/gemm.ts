// AssemblyScript (compiled to WebAssembly SIMD by `npm run build`; excluded from tsc).
// C[M,N] (+)= op(A) B[K,N], float32, row-major, operands at byte offsets in this module's
// memory; op(A) = A[M,K] or, transA, A[K,M]^T: the tile reads A through two strides (between
// rows i, between steps k), so a transposed A needs no copy. Register tile 4 x 8 (8 f32x4
// accumulators), K blocked so a B panel stays in cache.

import { madd, relu4 } from "./vmath";

const KBLOCK: i32 = 256;
const NBLOCK: i32 = 256;

// dst[c * rows + r] = src[r * cols + c]
export function transpose(src: usize, dst: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>(r * cols) * 4;
    for (let c = 0; c < cols; c++) store<f32>(dst + <usize>(c * rows + r) * 4, load<f32>(s + <usize>c * 4));
  }
}

// aI, aK: byte strides of A between rows i and between steps k.
// Where a tile's sums start and how they end. In the first K block (first) they start from
// zero, or from C with accumulate, plus the bias (at bj) when there is one; in later blocks from
// C. In the last block (relu) they are clamped at zero when stored. The same additions in the
// same order as a fill, a bias pass and a clamp pass over C, without those passes.
@inline function start(c: usize, bj: usize, first: bool, accumulate: bool, bias: usize): v128 {
  if (!first) return v128.load(c);
  const base = accumulate ? v128.load(c) : f32x4.splat(0);
  return bias ? f32x4.add(base, v128.load(bj)) : base;
}

@inline function startScalar(c: usize, bj: usize, first: bool, accumulate: bool, bias: usize): f32 {
  if (!first) return load<f32>(c);
  const base: f32 = accumulate ? load<f32>(c) : 0;
  return bias ? base + load<f32>(bj) : base;
}

@inline function end(c: usize, s: v128, relu: bool): void {
  v128.store(c, relu ? relu4(s) : s);
}

@inline function tile4x8(A: usize, aI: usize, aK: usize, B: usize, C: usize, N: i32, i: i32, j: i32, k0: i32, k1: i32, first: bool, accumulate: bool, bias: usize, relu: bool): void {
  const c0 = C + <usize>(i * N + j) * 4;
  const c1 = c0 + <usize>N * 4;
  const c2 = c1 + <usize>N * 4;
  const c3 = c2 + <usize>N * 4;
  const bj = bias + (<usize>j << 2);
  let s00 = start(c0, bj, first, accumulate, bias), s01 = start(c0 + 16, bj + 16, first, accumulate, bias);
  let s10 = start(c1, bj, first, accumulate, bias), s11 = start(c1 + 16, bj + 16, first, accumulate, bias);
  let s20 = start(c2, bj, first, accumulate, bias), s21 = start(c2 + 16, bj + 16, first, accumulate, bias);
  let s30 = start(c3, bj, first, accumulate, bias), s31 = start(c3 + 16, bj + 16, first, accumulate, bias);
  let a = A + <usize>i * aI + <usize>k0 * aK;
  let b = B + <usize>(k0 * N + j) * 4;
  const rowB = <usize>N * 4;
  for (let k = k0; k < k1; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    const a1 = v128.load32_splat(a + aI);
    const a2 = v128.load32_splat(a + 2 * aI);
    const a3 = v128.load32_splat(a + 3 * aI);
    s00 = madd(a0, b0, s00);
    s01 = madd(a0, b1, s01);
    s10 = madd(a1, b0, s10);
    s11 = madd(a1, b1, s11);
    s20 = madd(a2, b0, s20);
    s21 = madd(a2, b1, s21);
    s30 = madd(a3, b0, s30);
    s31 = madd(a3, b1, s31);
    a += aK;
    b += rowB;
  }
  end(c0, s00, relu); end(c0 + 16, s01, relu);
  end(c1, s10, relu); end(c1 + 16, s11, relu);
  end(c2, s20, relu); end(c2 + 16, s21, relu);
  end(c3, s30, relu); end(c3 + 16, s31, relu);
}

@inline function tile1x8(A: usize, aI: usize, aK: usize, B: usize, C: usize, N: i32, i: i32, j: i32, k0: i32, k1: i32, first: bool, accumulate: bool, bias: usize, relu: bool): void {
  const c0 = C + <usize>(i * N + j) * 4;
  const bj = bias + (<usize>j << 2);
  let s0 = start(c0, bj, first, accumulate, bias), s1 = start(c0 + 16, bj + 16, first, accumulate, bias);
  let a = A + <usize>i * aI + <usize>k0 * aK;
  let b = B + <usize>(k0 * N + j) * 4;
  const rowB = <usize>N * 4;
  for (let k = k0; k < k1; k++) {
    const av = v128.load32_splat(a);
    s0 = madd(av, v128.load(b), s0);
    s1 = madd(av, v128.load(b, 16), s1);
    a += aK;
    b += rowB;
  }
  end(c0, s0, relu);
  end(c0 + 16, s1, relu);
}

@inline function scalarCell(A: usize, aI: usize, aK: usize, B: usize, C: usize, N: i32, i: i32, j: i32, k0: i32, k1: i32, first: bool, accumulate: bool, bias: usize, relu: bool): void {
  const c = C + <usize>(i * N + j) * 4;
  let s = startScalar(c, bias + (<usize>j << 2), first, accumulate, bias);
  for (let k = k0; k < k1; k++) s += load<f32>(A + <usize>i * aI + <usize>k * aK) * load<f32>(B + <usize>(k * N + j) * 4);
  store<f32>(c, relu ? max<f32>(s, 0) : s);
}

// bias (0: none): [N] added to every row of C before the products; relu: C = max(0, C) at the end.
export function gemm(M: i32, N: i32, K: i32, A: usize, B: usize, C: usize, accumulate: bool, bias: usize, relu: bool, transA: bool): void {
  const aI: usize = transA ? 4 : <usize>K * 4;
  const aK: usize = transA ? <usize>M * 4 : 4;
  if (K == 0) {
    if (!accumulate) memory.fill(C, 0, <usize>(M * N) * 4);
    if (bias) columnAdd(C, bias, M, N);
    if (relu) clampBelowZero(C, M * N);
    return;
  }
  if (N == 1 && !transA && K >= 16) {
    gemv(M, K, A, B, C, accumulate, bias, relu);
    return;
  }
  const N8 = N & ~7;
  const M4 = M & ~3;
  for (let k0 = 0; k0 < K; k0 += KBLOCK) {
    const k1 = min(K, k0 + KBLOCK);
    const first = k0 == 0;
    const r = relu && k1 == K;
    // Columns in blocks of NBLOCK, so the panel of B that every row block sweeps (KBLOCK x NBLOCK
    // floats, 256 KiB) stays in L2 (TsSMNet's weight gradient, N 1280: 31-34 -> 40-42 GFLOP/s here).
    for (let j0 = 0; j0 < N8; j0 += NBLOCK) {
      const j1 = min(N8, j0 + NBLOCK);
      for (let i = 0; i < M4; i += 4) for (let j = j0; j < j1; j += 8) tile4x8(A, aI, aK, B, C, N, i, j, k0, k1, first, accumulate, bias, r);
      for (let i = M4; i < M; i++) for (let j = j0; j < j1; j += 8) tile1x8(A, aI, aK, B, C, N, i, j, k0, k1, first, accumulate, bias, r);
    }
    for (let i = 0; i < M; i++) for (let j = N8; j < N; j++) scalarCell(A, aI, aK, B, C, N, i, j, k0, k1, first, accumulate, bias, r);
  }
}

// One output column (a regression head, N = 1): C[i] = start + A[i, :] . B as a vectorised dot
// product on four accumulators, instead of one scalar chain of K dependent additions per row.
function gemv(M: i32, K: i32, A: usize, B: usize, C: usize, accumulate: bool, bias: usize, relu: bool): void {
  const K16 = K & ~15;
  const b0: f32 = bias ? load<f32>(bias) : 0;
  for (let i = 0; i < M; i++) {
    const a = A + (<usize>(i * K) << 2);
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let k = 0; k < K16; k += 16) {
      const p = a + (<usize>k << 2);
      const q = B + (<usize>k << 2);
      s0 = madd(v128.load(p), v128.load(q), s0);
      s1 = madd(v128.load(p, 16), v128.load(q, 16), s1);
      s2 = madd(v128.load(p, 32), v128.load(q, 32), s2);
      s3 = madd(v128.load(p, 48), v128.load(q, 48), s3);
    }
    const v = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
    let dot = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
    for (let k = K16; k < K; k++) dot += load<f32>(a + (<usize>k << 2)) * load<f32>(B + (<usize>k << 2));
    const c = C + (<usize>i << 2);
    const y = ((accumulate ? load<f32>(c) : 0) + b0) + dot;
    store<f32>(c, relu ? max<f32>(y, 0) : y);
  }
}

// C[i] = max(0, C[i]) over n floats.
function clampBelowZero(C: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(C + (<usize>i << 2), relu4(v128.load(C + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(C + (<usize>i << 2), max<f32>(load<f32>(C + (<usize>i << 2)), 0));
}

// C[i, :] += b for every row i.
function columnAdd(C: usize, b: usize, M: i32, N: i32): void {
  const N4 = N & ~3;
  for (let i = 0; i < M; i++) {
    const row = C + <usize>(i * N) * 4;
    let j = 0;
    for (; j < N4; j += 4) v128.store(row + <usize>j * 4, f32x4.add(v128.load(row + <usize>j * 4), v128.load(b + <usize>j * 4)));
    for (; j < N; j++) store<f32>(row + <usize>j * 4, load<f32>(row + <usize>j * 4) + load<f32>(b + <usize>j * 4));
  }
}

// out[j] += sum_i A[i, j] (the bias gradient of a dense layer), A [M, N].
export function columnSums(A: usize, M: i32, N: i32, out: usize): void {
  const N4 = N & ~3;
  for (let i = 0; i < M; i++) {
    const row = A + <usize>(i * N) * 4;
    let j = 0;
    for (; j < N4; j += 4) v128.store(out + <usize>j * 4, f32x4.add(v128.load(out + <usize>j * 4), v128.load(row + <usize>j * 4)));
    for (; j < N; j++) store<f32>(out + <usize>j * 4, load<f32>(out + <usize>j * 4) + load<f32>(row + <usize>j * 4));
  }
}
