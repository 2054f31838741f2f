// AssemblyScript: 1-D convolution with kernel 3 and 'same' zero padding by Winograd's minimal
// filtering F(4, 3) (Lavin & Gray 2016): four outputs of a channel pair from six products
// instead of twelve, so the channel sums, done as six GEMMs, cost half the direct convolution's.
//
// Per tile of four outputs y[4t .. 4t+4) the six inputs d = x[4t-1 .. 4t+5) are transformed
// v = B^T d, the kernel g = W[co, ci, 0..3) is transformed u = G g, the products m = u (.) v
// are summed over input channels (GEMM i: M_i[co, n] = sum_ci U_i[co, ci] V_i[ci, n]), and
// y = A^T m (A, B, G: the F(4, 3) matrices with interpolation points 0, -1, 1, -2, 2, inf).
// Columns n = tile * 8 + sample: eight samples at a time, so the transforms run on vectors of
// four samples and every GEMM is 8 * tiles wide (whole 4 x 8 register tiles).

import { gemm } from "./gemm";
import { relu4 } from "./vmath";

const GROUP: i32 = 8; // samples per pass

@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

// Transposes four vectors (rows) into four vectors (columns).
@inline function transpose4(a: v128, b: v128, c: v128, d: v128, out: usize): void {
  const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(c, d, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
  v128.store(out, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(out, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
  v128.store(out, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
  v128.store(out, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
}

// v = B^T d for the tiles of four rows at once (lanes = rows): the rows start at r, rs bytes
// apart, and tile value d_j of row c is r[c][j], j < 6 (two in-register 4 x 4 transposes);
// v_i is stored at e + i * plane. two, four, five: the splatted constants (hoisted by the caller,
// since V8 rebuilds a v128 constant at every use inside a loop).
@inline function inputTransform4(r: usize, rs: usize, e: usize, plane: usize, two: v128, four: v128, five: v128): void {
  const a = v128.load(r), b = v128.load(r + rs), c = v128.load(r + 2 * rs), d = v128.load(r + 3 * rs);
  const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(c, d, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(a, b, 2, 6, 3, 7), t3 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
  const d0 = v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), d1 = v128.shuffle<f32>(t0, t1, 2, 3, 6, 7);
  const d2 = v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), d3 = v128.shuffle<f32>(t2, t3, 2, 3, 6, 7);
  const a4 = v128.load(r, 16), b4 = v128.load(r + rs, 16), c4 = v128.load(r + 2 * rs, 16), e4 = v128.load(r + 3 * rs, 16);
  const u0 = v128.shuffle<f32>(a4, b4, 0, 4, 1, 5), u1 = v128.shuffle<f32>(c4, e4, 0, 4, 1, 5);
  const d4 = v128.shuffle<f32>(u0, u1, 0, 1, 4, 5), d5 = v128.shuffle<f32>(u0, u1, 2, 3, 6, 7);
  v128.store(e, f32x4.add(f32x4.sub(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4));
  v128.store(e + plane, f32x4.sub(f32x4.add(d3, d4), f32x4.mul(four, f32x4.add(d1, d2))));
  v128.store(e + 2 * plane, f32x4.add(f32x4.mul(four, f32x4.sub(d1, d2)), f32x4.sub(d4, d3)));
  v128.store(e + 3 * plane, f32x4.add(f32x4.mul(two, f32x4.sub(d3, d1)), f32x4.sub(d4, d2)));
  v128.store(e + 4 * plane, f32x4.add(f32x4.mul(two, f32x4.sub(d1, d3)), f32x4.sub(d4, d2)));
  v128.store(e + 5 * plane, f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5));
}

// Row stride of a sample's zero-padded input row: one zero, L values, zeros to 4 T + 8.
@inline function rowStride(T: i32): i32 {
  return 4 * T + 8;
}

/** Floats of scratch conv1dWinograd needs. */
export function winogradScratch(Cin: i32, Cout: i32, L: i32): i32 {
  const T = (L + 3) >> 2;
  const N = GROUP * T;
  return 6 * Cout * Cin + 6 * Cin * N + 6 * Cout * N + GROUP * Cin * rowStride(T) + 64;
}

// y[b, co, l] = bias[co] + sum_ci sum_k W[co, ci, k] x[b, ci, l + k - 1], K = 3; relu: y = max(0, y).
// accumulate: y += the convolution instead (the input gradient, below).
export function conv1dWinograd(x: usize, W: usize, bias: usize, y: usize, B: i32, Cin: i32, Cout: i32, L: i32, scratch: usize, relu: bool, accumulate: bool): void {
  const T = (L + 3) >> 2;
  const N = GROUP * T;
  const S = rowStride(T);
  const U = scratch; // [6, Cout, Cin]
  const V = at(U, 6 * Cout * Cin); // [6, Cin, N]
  const M = at(V, 6 * Cin * N); // [6, Cout, N]
  const P = at(M, 6 * Cout * N); // [GROUP, Cin, S] padded rows
  const tmp = at(P, GROUP * Cin * S); // 16 floats
  const plane = <usize>(Cout * Cin) << 2;
  // u = G g
  for (let j = 0; j < Cout * Cin; j++) {
    const g0 = load<f32>(at(W, 3 * j)), g1 = load<f32>(at(W, 3 * j + 1)), g2 = load<f32>(at(W, 3 * j + 2));
    const e = at(U, j);
    store<f32>(e, g0 * 0.25);
    store<f32>(e + plane, -(g0 + g1 + g2) / 6);
    store<f32>(e + 2 * plane, -(g0 - g1 + g2) / 6);
    store<f32>(e + 3 * plane, g0 / 24 + g1 / 12 + g2 / 6);
    store<f32>(e + 4 * plane, g0 / 24 - g1 / 12 + g2 / 6);
    store<f32>(e + 5 * plane, g2);
  }
  const vPlane = <usize>(Cin * N) << 2;
  const mPlane = <usize>(Cout * N) << 2;
  const four = f32x4.splat(4), five = f32x4.splat(5), two = f32x4.splat(2), eight = f32x4.splat(8), zero = f32x4.splat(0);
  for (let b0 = 0; b0 < B; b0 += GROUP) {
    const G = min(GROUP, B - b0);
    memory.fill(P, 0, <usize>(GROUP * Cin * S) << 2);
    for (let g = 0; g < G; g++)
      for (let ci = 0; ci < Cin; ci++) memory.copy(at(P, (g * Cin + ci) * S + 1), at(x, ((b0 + g) * Cin + ci) * L), <usize>L << 2);
    // v = B^T d on four samples at a time: rows of P transposed so lanes are samples
    for (let ci = 0; ci < Cin; ci++) {
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < GROUP; h += 4) {
          // four samples' rows of input channel ci (lanes = samples)
          inputTransform4(at(P, (h * Cin + ci) * S + 4 * t), <usize>(Cin * S) << 2, at(V, ci * N + t * GROUP + h), vPlane, two, four, five);
        }
      }
    }
    for (let i = 0; i < 6; i++) gemm(Cout, N, Cin, U + <usize>i * plane, V + <usize>i * vPlane, M + <usize>i * mPlane, false, 0, false, false);
    // y = A^T m (+ bias, ReLU), transposed back so each sample's four outputs are contiguous
    for (let co = 0; co < Cout; co++) {
      const bv = bias ? v128.load32_splat(at(bias, co)) : zero;
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < G; h += 4) {
          const e = at(M, co * N + t * GROUP + h);
          const m0 = v128.load(e), m1 = v128.load(e + mPlane), m2 = v128.load(e + 2 * mPlane);
          const m3 = v128.load(e + 3 * mPlane), m4 = v128.load(e + 4 * mPlane), m5 = v128.load(e + 5 * mPlane);
          const p12 = f32x4.add(m1, m2), n12 = f32x4.sub(m1, m2), p34 = f32x4.add(m3, m4), n34 = f32x4.sub(m3, m4);
          let y0 = f32x4.add(f32x4.add(m0, p12), p34);
          let y1 = f32x4.add(n12, f32x4.mul(two, n34));
          let y2 = f32x4.add(p12, f32x4.mul(four, p34));
          let y3 = f32x4.add(f32x4.add(n12, f32x4.mul(eight, n34)), m5);
          y0 = f32x4.add(y0, bv); y1 = f32x4.add(y1, bv); y2 = f32x4.add(y2, bv); y3 = f32x4.add(y3, bv);
          if (relu) {
            y0 = relu4(y0); y1 = relu4(y1); y2 = relu4(y2); y3 = relu4(y3);
          }
          const l = 4 * t;
          const o = at(y, ((b0 + h) * Cout + co) * L + l);
          const so = <usize>(Cout * L) << 2; // between samples
          if (l + 4 <= L && h + 4 <= G) {
            // transpose back: sample g's outputs 4t .. 4t+4 are lane g of y0..y3
            const t0 = v128.shuffle<f32>(y0, y1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(y2, y3, 0, 4, 1, 5);
            const t2 = v128.shuffle<f32>(y0, y1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(y2, y3, 2, 6, 3, 7);
            let r0 = v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), r1 = v128.shuffle<f32>(t0, t1, 2, 3, 6, 7);
            let r2 = v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), r3 = v128.shuffle<f32>(t2, t3, 2, 3, 6, 7);
            if (accumulate) {
              r0 = f32x4.add(r0, v128.load(o)); r1 = f32x4.add(r1, v128.load(o + so));
              r2 = f32x4.add(r2, v128.load(o + 2 * so)); r3 = f32x4.add(r3, v128.load(o + 3 * so));
            }
            v128.store(o, r0);
            v128.store(o + so, r1);
            v128.store(o + 2 * so, r2);
            v128.store(o + 3 * so, r3);
          } else {
            transpose4(y0, y1, y2, y3, tmp);
            const n = min(4, L - l);
            for (let g = 0; g < min(4, G - h); g++)
              for (let q = 0; q < n; q++) {
                const dst = o + <usize>g * so + (<usize>q << 2);
                store<f32>(dst, load<f32>(at(tmp, 4 * g + q)) + (accumulate ? load<f32>(dst) : 0));
              }
          }
        }
      }
    }
  }
}

// Wf[ci, co, j] = W[co, ci, 2 - j]: the input gradient of a kernel-3 'same' convolution is the
// convolution of dy with these weights (channels swapped, taps reversed).
export function flipKernel3(W: usize, Wf: usize, Cin: i32, Cout: i32): void {
  for (let co = 0; co < Cout; co++)
    for (let ci = 0; ci < Cin; ci++)
      for (let j = 0; j < 3; j++) store<f32>(at(Wf, (ci * Cout + co) * 3 + j), load<f32>(at(W, (co * Cin + ci) * 3 + 2 - j)));
}

/** Floats of scratch conv1dWinogradWeights needs. */
export function winogradWeightsScratch(Cin: i32, Cout: i32, L: i32, B: i32): i32 {
  const T = (L + 3) >> 2;
  const Ci4 = (Cin + 3) & ~3, Co4 = (Cout + 3) & ~3;
  return 6 * B * T * (Ci4 + Co4) + 6 * Co4 * Ci4 + Ci4 * rowStride(T) + Co4 * (4 * T + 4) + 64;
}

// Transposes the four rows at r, r + rs, r + 2 rs, r + 3 rs (four values from each) so that lane
// c holds row c: returns the j-th column.
@inline function column(t0: v128, t1: v128, t2: v128, t3: v128, j: i32): v128 {
  if (j == 0) return v128.shuffle<f32>(t0, t1, 0, 1, 4, 5);
  if (j == 1) return v128.shuffle<f32>(t0, t1, 2, 3, 6, 7);
  if (j == 2) return v128.shuffle<f32>(t2, t3, 0, 1, 4, 5);
  return v128.shuffle<f32>(t2, t3, 2, 3, 6, 7);
}

// dW[co, ci, k] += sum_b sum_l dy[b, co, l] x[b, ci, l + k - 1] (K = 3, 'same'), and
// dbias[co] += sum_b sum_l dy[b, co, l] when dbias is nonzero. Winograd F(4, 3) backwards: with
// y = A^T [(G g) (.) (B^T d)] per tile, dL/dg = G^T sum_tiles [(A dy) (.) (B^T d)], so per point
// i the sum over all tiles of all samples is one GEMM Z_i[co, ci] = sum_n E_i[n, co] V_i[n, ci]
// (E = A dy, V = B^T d, n = sample * T + tile), half the direct multiply-adds. Both transforms
// run on vectors of four channels.
export function conv1dWinogradWeights(x: usize, dy: usize, dW: usize, dbias: usize, B: i32, Cin: i32, Cout: i32, L: i32, scratch: usize): void {
  const T = (L + 3) >> 2;
  const S = rowStride(T);
  const SQ = 4 * T + 4;
  const Ci4 = (Cin + 3) & ~3, Co4 = (Cout + 3) & ~3;
  const NT = B * T;
  const V = scratch; // [6, NT, Ci4]
  const E = at(V, 6 * NT * Ci4); // [6, NT, Co4]
  const Z = at(E, 6 * NT * Co4); // [6, Co4, Ci4]
  const P = at(Z, 6 * Co4 * Ci4); // [Ci4, S] one sample's padded input rows
  const Q = at(P, Ci4 * S); // [Co4, SQ] its output-gradient rows, zero past L
  const vPlane = <usize>(NT * Ci4) << 2;
  const ePlane = <usize>(NT * Co4) << 2;
  const four = f32x4.splat(4), five = f32x4.splat(5), two = f32x4.splat(2), eight = f32x4.splat(8);
  memory.fill(P, 0, <usize>(Ci4 * S) << 2);
  memory.fill(Q, 0, <usize>(Co4 * SQ) << 2);
  for (let b = 0; b < B; b++) {
    for (let ci = 0; ci < Cin; ci++) memory.copy(at(P, ci * S + 1), at(x, (b * Cin + ci) * L), <usize>L << 2);
    for (let co = 0; co < Cout; co++) {
      const src = at(dy, (b * Cout + co) * L);
      memory.copy(at(Q, co * SQ), src, <usize>L << 2);
      if (dbias) {
        let sum: f32 = 0;
        for (let l = 0; l < L; l++) sum += load<f32>(at(src, l));
        store<f32>(at(dbias, co), load<f32>(at(dbias, co)) + sum);
      }
    }
    for (let t = 0; t < T; t++) {
      const n = b * T + t;
      const rs = <usize>S << 2;
      for (let c4 = 0; c4 < Ci4; c4 += 4) {
        // rows of input channels c4 .. c4 + 4 (lanes = channels)
        inputTransform4(at(P, c4 * S + 4 * t), rs, at(V, n * Ci4 + c4), vPlane, two, four, five);
      }
      const qs = <usize>SQ << 2;
      for (let c4 = 0; c4 < Co4; c4 += 4) {
        const r = at(Q, c4 * SQ + 4 * t);
        const a = v128.load(r), bb = v128.load(r + qs), c = v128.load(r + 2 * qs), d = v128.load(r + 3 * qs);
        const t0 = v128.shuffle<f32>(a, bb, 0, 4, 1, 5), t1 = v128.shuffle<f32>(c, d, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(a, bb, 2, 6, 3, 7), t3 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
        const y0 = column(t0, t1, t2, t3, 0), y1 = column(t0, t1, t2, t3, 1), y2 = column(t0, t1, t2, t3, 2), y3 = column(t0, t1, t2, t3, 3);
        // E = A dy (A = the transpose of the forward's output transform A^T)
        const p02 = f32x4.add(y0, y2), p13 = f32x4.add(y1, y3);
        const q02 = f32x4.add(y0, f32x4.mul(four, y2)), q13 = f32x4.add(f32x4.mul(two, y1), f32x4.mul(eight, y3));
        const e = at(E, n * Co4 + c4);
        v128.store(e, y0);
        v128.store(e + ePlane, f32x4.add(p02, p13));
        v128.store(e + 2 * ePlane, f32x4.sub(p02, p13));
        v128.store(e + 3 * ePlane, f32x4.add(q02, q13));
        v128.store(e + 4 * ePlane, f32x4.sub(q02, q13));
        v128.store(e + 5 * ePlane, y3);
      }
    }
  }
  const zPlane = <usize>(Co4 * Ci4) << 2;
  for (let i = 0; i < 6; i++) gemm(Co4, Ci4, NT, E + <usize>i * ePlane, V + <usize>i * vPlane, Z + <usize>i * zPlane, false, 0, false, true);
  // dW = G^T Z
  for (let co = 0; co < Cout; co++)
    for (let ci = 0; ci < Cin; ci++) {
      const z = at(Z, co * Ci4 + ci);
      const z0 = load<f32>(z), z1 = load<f32>(z + zPlane), z2 = load<f32>(z + 2 * zPlane);
      const z3 = load<f32>(z + 3 * zPlane), z4 = load<f32>(z + 4 * zPlane), z5 = load<f32>(z + 5 * zPlane);
      const w = at(dW, (co * Cin + ci) * 3);
      store<f32>(w, load<f32>(w) + (z0 / 4 - (z1 + z2) / 6 + (z3 + z4) / 24));
      store<f32>(at(w, 1), load<f32>(at(w, 1)) + ((z2 - z1) / 6 + (z3 - z4) / 12));
      store<f32>(at(w, 2), load<f32>(at(w, 2)) + ((z3 + z4 - z1 - z2) / 6 + z5));
    }
}
