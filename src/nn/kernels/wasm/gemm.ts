// AssemblyScript (compiled to WebAssembly SIMD by `npm run build`; excluded from tsc).
// C[M,N] (+)= op(A) B[K,N], float32, row-major, operands at byte offsets in this module's
// memory; op(A) = A[M,K] or, transA, A[K,M]^T: the tile reads A through two strides (between
// rows i, between steps k), so a transposed A needs no copy. Register tile 4 x 8 (8 f32x4
// accumulators), K blocked so a B panel stays in cache.

import { madd, relu4 } from "./vmath";

const KBLOCK: i32 = 256;

// dst[c * rows + r] = src[r * cols + c]
export function transpose(src: usize, dst: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>(r * cols) * 4;
    for (let c = 0; c < cols; c++) store<f32>(dst + <usize>(c * rows + r) * 4, load<f32>(s + <usize>c * 4));
  }
}

// aI, aK: byte strides of A between rows i and between steps k.
// fresh: C's values are not read, the sums start from zero (C is overwritten).
@inline function tile4x8(A: usize, aI: usize, aK: usize, B: usize, C: usize, N: i32, i: i32, j: i32, k0: i32, k1: i32, fresh: bool): void {
  const c0 = C + <usize>(i * N + j) * 4;
  const c1 = c0 + <usize>N * 4;
  const c2 = c1 + <usize>N * 4;
  const c3 = c2 + <usize>N * 4;
  const z = f32x4.splat(0);
  let s00 = fresh ? z : v128.load(c0), s01 = fresh ? z : v128.load(c0, 16);
  let s10 = fresh ? z : v128.load(c1), s11 = fresh ? z : v128.load(c1, 16);
  let s20 = fresh ? z : v128.load(c2), s21 = fresh ? z : v128.load(c2, 16);
  let s30 = fresh ? z : v128.load(c3), s31 = fresh ? z : v128.load(c3, 16);
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
  v128.store(c0, s00); v128.store(c0, s01, 16);
  v128.store(c1, s10); v128.store(c1, s11, 16);
  v128.store(c2, s20); v128.store(c2, s21, 16);
  v128.store(c3, s30); v128.store(c3, s31, 16);
}

@inline function tile1x8(A: usize, aI: usize, aK: usize, B: usize, C: usize, N: i32, i: i32, j: i32, k0: i32, k1: i32, fresh: bool): void {
  const c0 = C + <usize>(i * N + j) * 4;
  const z = f32x4.splat(0);
  let s0 = fresh ? z : v128.load(c0), s1 = fresh ? z : v128.load(c0, 16);
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
  v128.store(c0, s0); v128.store(c0, s1, 16);
}

@inline function scalarCell(A: usize, aI: usize, aK: usize, B: usize, C: usize, N: i32, i: i32, j: i32, k0: i32, k1: i32, fresh: bool): void {
  const c = C + <usize>(i * N + j) * 4;
  let s: f32 = fresh ? 0 : load<f32>(c);
  for (let k = k0; k < k1; k++) s += load<f32>(A + <usize>i * aI + <usize>k * aK) * load<f32>(B + <usize>(k * N + j) * 4);
  store<f32>(c, s);
}

// bias (0: none): [N] added to every row of C before the products; relu: C = max(0, C) at the end.
export function gemm(M: i32, N: i32, K: i32, A: usize, B: usize, C: usize, accumulate: bool, bias: usize, relu: bool, transA: bool): void {
  const aI: usize = transA ? 4 : <usize>K * 4;
  const aK: usize = transA ? <usize>M * 4 : 4;
  // Without accumulate or bias, C is never read: the first K block's tiles start from zero.
  const fresh = !accumulate && !bias && K > 0;
  if (!accumulate && !fresh) memory.fill(C, 0, <usize>(M * N) * 4);
  if (bias) columnAdd(C, bias, M, N);
  const N8 = N & ~7;
  const M4 = M & ~3;
  for (let k0 = 0; k0 < K; k0 += KBLOCK) {
    const k1 = min(K, k0 + KBLOCK);
    const f = fresh && k0 == 0;
    for (let i = 0; i < M4; i += 4) {
      for (let j = 0; j < N8; j += 8) tile4x8(A, aI, aK, B, C, N, i, j, k0, k1, f);
      for (let j = N8; j < N; j++) {
        scalarCell(A, aI, aK, B, C, N, i, j, k0, k1, f);
        scalarCell(A, aI, aK, B, C, N, i + 1, j, k0, k1, f);
        scalarCell(A, aI, aK, B, C, N, i + 2, j, k0, k1, f);
        scalarCell(A, aI, aK, B, C, N, i + 3, j, k0, k1, f);
      }
    }
    for (let i = M4; i < M; i++) {
      for (let j = 0; j < N8; j += 8) tile1x8(A, aI, aK, B, C, N, i, j, k0, k1, f);
      for (let j = N8; j < N; j++) scalarCell(A, aI, aK, B, C, N, i, j, k0, k1, f);
    }
  }
  if (relu) clampBelowZero(C, M * N);
}

// C[i] = max(0, C[i]) over n floats.
function clampBelowZero(C: usize, n: i32): void {
  const zero = f32x4.splat(0);
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
