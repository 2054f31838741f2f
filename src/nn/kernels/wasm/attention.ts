// AssemblyScript (compiled with gemm.ts into one WebAssembly SIMD module; excluded from tsc).
// Multi-head self-attention on packed rows qkv [B, T, 3d] (q | k | v, head h = columns
// h*dh .. h*dh+dh-1 of each part), with dropout on the attention probabilities, forward and
// backward, one (batch row, head) at a time so every operand stays in L1. The dropout masks
// come from the same Mulberry32 stream, in the same order, as the TypeScript kernel's, so both
// paths give identical masks for the same seed.
// Probabilities P and masks M are stored [B*H, T, Tp] with Tp = T rounded up to 4 (padding 0).

import { drawMasks } from "./rng";
import { madd, vexp } from "./vmath";

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

// Rows of head h of batch row b: Qs (scaled q) and, as asked, K and V rows [T, dh] and the
// transposed KT / VT [dh, Tp] (padding columns must be zero).
function gather(qkv: usize, b: i32, h: i32, T: i32, d: i32, dh: i32, Tp: i32, scale: f32, Qs: usize, K: usize, V: usize, KT: usize, VT: usize): void {
  const d3 = 3 * d;
  if (dh == 8 && !K && !VT) {
    // the forward's case: q and v rows as vectors, k transposed
    const sv = f32x4.splat(scale);
    for (let t = 0; t < T; t++) {
      const src = at(qkv, (b * T + t) * d3 + h * 8);
      v128.store(at(Qs, t * 8), f32x4.mul(v128.load(src), sv));
      v128.store(at(Qs, t * 8 + 4), f32x4.mul(v128.load(at(src, 4)), sv));
      if (V) {
        v128.store(at(V, t * 8), v128.load(at(src, 2 * d)));
        v128.store(at(V, t * 8 + 4), v128.load(at(src, 2 * d + 4)));
      }
      if (KT) for (let i = 0; i < 8; i++) store<f32>(at(KT, i * Tp + t), load<f32>(at(src, d + i)));
    }
    return;
  }
  for (let t = 0; t < T; t++) {
    const src = at(qkv, (b * T + t) * d3 + h * dh);
    for (let i = 0; i < dh; i++) {
      const q = load<f32>(at(src, i));
      const k = load<f32>(at(src, d + i));
      const v = load<f32>(at(src, 2 * d + i));
      store<f32>(at(Qs, t * dh + i), q * scale);
      if (K) store<f32>(at(K, t * dh + i), k);
      if (V) store<f32>(at(V, t * dh + i), v);
      if (KT) store<f32>(at(KT, i * Tp + t), k);
      if (VT) store<f32>(at(VT, i * Tp + t), v);
    }
  }
}

// out[u] = sum_i a[i] * XT[i, u] for u < Tp (4 at a time; XT rows `stride` apart). Head width 8 (the spec's d 32 over
// 4 heads) keeps the 8 broadcast a[i] in registers.
@inline function rowTimesTransposed(a: usize, XT: usize, dh: i32, stride: i32, Tp: i32, out: usize): void {
  if (dh == 8) {
    const a0 = v128.load32_splat(a);
    const a1 = v128.load32_splat(at(a, 1));
    const a2 = v128.load32_splat(at(a, 2));
    const a3 = v128.load32_splat(at(a, 3));
    const a4 = v128.load32_splat(at(a, 4));
    const a5 = v128.load32_splat(at(a, 5));
    const a6 = v128.load32_splat(at(a, 6));
    const a7 = v128.load32_splat(at(a, 7));
    const T4 = <usize>stride << 2;
    for (let u = 0; u < Tp; u += 4) {
      const x = at(XT, u);
      let acc = f32x4.mul(a0, v128.load(x));
      acc = madd(a1, v128.load(x + T4), acc);
      acc = madd(a2, v128.load(x + 2 * T4), acc);
      acc = madd(a3, v128.load(x + 3 * T4), acc);
      acc = madd(a4, v128.load(x + 4 * T4), acc);
      acc = madd(a5, v128.load(x + 5 * T4), acc);
      acc = madd(a6, v128.load(x + 6 * T4), acc);
      acc = madd(a7, v128.load(x + 7 * T4), acc);
      v128.store(at(out, u), acc);
    }
    return;
  }
  for (let u = 0; u < Tp; u += 4) {
    let acc = f32x4.splat(0);
    for (let i = 0; i < dh; i++) acc = madd(f32x4.splat(load<f32>(at(a, i))), v128.load(at(XT, i * stride + u)), acc);
    v128.store(at(out, u), acc);
  }
}

// dst[0..dh) += w * src[0..dh)
@inline function axpy(dst: usize, w: f32, src: usize, dh: i32): void {
  const wv = f32x4.splat(w);
  for (let i = 0; i < dh; i += 4) v128.store(at(dst, i), f32x4.add(v128.load(at(dst, i)), f32x4.mul(wv, v128.load(at(src, i)))));
}

// Softmax of one score row in place (padding u >= T gets exactly 0), then, with dropout, the
// row's masks drawn in order (the same stream and order as the TypeScript kernel's).
@inline function softmaxRow(row: usize, T: i32, Tp: i32, mrow: usize, p: f64, keep: f32): void {
  for (let u = T; u < Tp; u++) store<f32>(at(row, u), -Infinity); // exp gives exactly 0
  let mv = v128.load(row);
  for (let u = 4; u < Tp; u += 4) mv = f32x4.pmax(mv, v128.load(at(row, u))); // NaN rows give NaN through exp anyway
  const mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  const mxv = f32x4.splat(mx);
  let sv = f32x4.splat(0);
  for (let u = 0; u < Tp; u += 4) {
    const e = vexp(f32x4.sub(v128.load(at(row, u)), mxv));
    v128.store(at(row, u), e);
    sv = f32x4.add(sv, e);
  }
  const inv = f32x4.splat(<f32>1 / hsum(sv));
  for (let u = 0; u < Tp; u += 4) v128.store(at(row, u), f32x4.mul(v128.load(at(row, u)), inv));
  if (p > 0) {
    drawMasks(mrow, T, p, keep);
    for (let u = T; u < Tp; u++) store<f32>(at(mrow, u), 0);
  }
}

// Scores of four query rows (Q rows of width 8 at q) against eight keys from u (KT [8, stride]):
// the GEMM's 4 x 8 tile, 6 loads per 8 multiply-adds. Only the first four columns are stored
// when `full` is false (the row ends at u + 4).
@inline function scores4x8(q: usize, KT: usize, stride: i32, u: i32, r0: usize, r1: usize, r2: usize, r3: usize, full: bool): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  let kr = at(KT, u);
  const step = <usize>stride << 2;
  for (let i = 0; i < 8; i++) {
    const k0 = v128.load(kr);
    const k1 = v128.load(kr, 16);
    const q0 = v128.load32_splat(at(q, i));
    const q1 = v128.load32_splat(at(q, 8 + i));
    const q2 = v128.load32_splat(at(q, 16 + i));
    const q3 = v128.load32_splat(at(q, 24 + i));
    a00 = madd(q0, k0, a00);
    a01 = madd(q0, k1, a01);
    a10 = madd(q1, k0, a10);
    a11 = madd(q1, k1, a11);
    a20 = madd(q2, k0, a20);
    a21 = madd(q2, k1, a21);
    a30 = madd(q3, k0, a30);
    a31 = madd(q3, k1, a31);
    kr += step;
  }
  v128.store(at(r0, u), a00);
  v128.store(at(r1, u), a10);
  v128.store(at(r2, u), a20);
  v128.store(at(r3, u), a30);
  if (full) {
    v128.store(at(r0, u + 4), a01);
    v128.store(at(r1, u + 4), a11);
    v128.store(at(r2, u + 4), a21);
    v128.store(at(r3, u + 4), a31);
  }
}

// Output rows of four queries, head width 8: y[t + j, :] = sum_u w[j, u] V[u, :] with the four
// weight rows `ws` bytes apart from w (P, or P times the dropout masks). Each V row is loaded once
// for the four queries. Few live values, so V8 keeps all eight sums in registers.
@inline function values4x8(V: usize, T: i32, w: usize, ws: usize, y0: usize, yStride: usize): void {
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
  let s20 = f32x4.splat(0), s21 = f32x4.splat(0), s30 = f32x4.splat(0), s31 = f32x4.splat(0);
  let vr = V;
  const end = w + (<usize>T << 2);
  for (; w < end; w += 4) {
    const v0 = v128.load(vr);
    const v1 = v128.load(vr, 16);
    let x = v128.load32_splat(w);
    s00 = madd(x, v0, s00);
    s01 = madd(x, v1, s01);
    x = v128.load32_splat(w + ws);
    s10 = madd(x, v0, s10);
    s11 = madd(x, v1, s11);
    x = v128.load32_splat(w + 2 * ws);
    s20 = madd(x, v0, s20);
    s21 = madd(x, v1, s21);
    x = v128.load32_splat(w + 3 * ws);
    s30 = madd(x, v0, s30);
    s31 = madd(x, v1, s31);
    vr += 32;
  }
  v128.store(y0, s00);
  v128.store(y0, s01, 16);
  v128.store(y0 + yStride, s10);
  v128.store(y0 + yStride, s11, 16);
  v128.store(y0 + 2 * yStride, s20);
  v128.store(y0 + 2 * yStride, s21, 16);
  v128.store(y0 + 3 * yStride, s30);
  v128.store(y0 + 3 * yStride, s31, 16);
}

// Scratch: Qs [T, dh], V [T, dh], KT [dh, Tp8] and 4 rows [4, Tp] (the probabilities, when P = 0).
export function attentionForward(qkv: usize, y: usize, P: usize, M: usize, B: i32, T: i32, d: i32, H: i32, scale: f32, p: f64, scratch: usize): void {
  const dh = d / H;
  const Tp = (T + 3) & ~3;
  const Tp8 = (T + 7) & ~7; // key columns, so that 8-column score tiles read zeros past T
  const Qs = scratch;
  const V = at(Qs, T * dh);
  const KT = at(V, T * dh);
  // P = 0: no backward pass follows, the probabilities of four rows at a time live in scratch.
  const rowScratch = at(KT, dh * Tp8);
  const masked = at(rowScratch, 4 * Tp); // four rows of P times the dropout masks
  const keep: f32 = p > 0 ? <f32>(1.0 / (1.0 - p)) : 1;
  memory.fill(KT, 0, <usize>(dh * Tp8) << 2);
  const yStride = <usize>d << 2;
  for (let bh = 0; bh < B * H; bh++) {
    const b = bh / H;
    const h = bh % H;
    gather(qkv, b, h, T, d, dh, Tp8, scale, Qs, 0, V, KT, 0);
    let t = 0;
    if (dh == 8) {
      // Four query rows at a time: scores and value sums as register tiles; softmax row by row.
      for (; t + 4 <= T; t += 4) {
        const r0 = P ? at(P, (bh * T + t) * Tp) : rowScratch;
        const r1 = at(r0, Tp);
        const r2 = at(r1, Tp);
        const r3 = at(r2, Tp);
        for (let u = 0; u < Tp; u += 8) scores4x8(at(Qs, t * 8), KT, Tp8, u, r0, r1, r2, r3, u + 8 <= Tp);
        const m0 = at(M, (bh * T + t) * Tp);
        const m1 = at(m0, Tp);
        const m2 = at(m1, Tp);
        const m3 = at(m2, Tp);
        softmaxRow(r0, T, Tp, m0, p, keep);
        softmaxRow(r1, T, Tp, m1, p, keep);
        softmaxRow(r2, T, Tp, m2, p, keep);
        softmaxRow(r3, T, Tp, m3, p, keep);
        let w = r0;
        if (p > 0) {
          // the rows and masks of the four queries are contiguous (stride Tp): one product pass
          for (let u = 0; u < 4 * Tp; u += 4) v128.store(at(masked, u), f32x4.mul(v128.load(at(r0, u)), v128.load(at(m0, u))));
          w = masked;
        }
        values4x8(V, T, w, <usize>Tp << 2, at(y, (b * T + t) * d + h * 8), yStride);
      }
    }
    for (; t < T; t++) {
      const row = P ? at(P, (bh * T + t) * Tp) : rowScratch;
      rowTimesTransposed(at(Qs, t * dh), KT, dh, Tp8, Tp, row);
      const mrow = at(M, (bh * T + t) * Tp);
      softmaxRow(row, T, Tp, mrow, p, keep);
      const yo = at(y, (b * T + t) * d + h * dh);
      // y row = sum_u w_u V[u, :], 8 columns at a time in two registers.
      for (let i0 = 0; i0 < dh; i0 += 8) {
        const two = i0 + 8 <= dh;
        let s0 = f32x4.splat(0);
        let s1 = f32x4.splat(0);
        for (let u = 0; u < T; u++) {
          let w = load<f32>(at(row, u));
          if (p > 0) w *= load<f32>(at(mrow, u));
          const wv = f32x4.splat(w);
          const vr = at(V, u * dh + i0);
          s0 = madd(wv, v128.load(vr), s0);
          if (two) s1 = madd(wv, v128.load(vr, 16), s1);
        }
        v128.store(at(yo, i0), s0);
        if (two) v128.store(at(yo, i0 + 4), s1);
      }
    }
  }
}

export function attentionBackward(
  qkv: usize,
  dy: usize,
  P: usize,
  M: usize,
  dqkv: usize,
  B: i32,
  T: i32,
  d: i32,
  H: i32,
  scale: f32,
  masked: bool,
  scratch: usize,
): void {
  const dh = d / H;
  const Tp = (T + 3) & ~3;
  const d3 = 3 * d;
  const Qs = scratch;
  const K = at(Qs, T * dh);
  const VT = at(K, T * dh);
  const dK = at(VT, dh * Tp);
  const dV = at(dK, T * dh);
  const dS = at(dV, T * dh);
  const dQ = at(dS, Tp);
  memory.fill(VT, 0, <usize>(dh * Tp) << 2);
  for (let bh = 0; bh < B * H; bh++) {
    const b = bh / H;
    const h = bh % H;
    gather(qkv, b, h, T, d, dh, Tp, scale, Qs, K, 0, 0, VT);
    memory.fill(dK, 0, <usize>(2 * T * dh) << 2); // dK and dV
    for (let t = 0; t < T; t++) {
      const dO = at(dy, (b * T + t) * d + h * dh);
      const prow = at(P, (bh * T + t) * Tp);
      const mrow = at(M, (bh * T + t) * Tp);
      // dPd[u] = dO . V[u]; then through the dropout mask.
      rowTimesTransposed(dO, VT, dh, Tp, Tp, dS);
      let dot: f32 = 0;
      for (let u = 0; u < T; u++) {
        const m: f32 = masked ? load<f32>(at(mrow, u)) : 1;
        const pr = load<f32>(at(prow, u));
        // dV[u] += Pd[t, u] dO
        axpy(at(dV, u * dh), pr * m, dO, dh);
        const dp = load<f32>(at(dS, u)) * m;
        store<f32>(at(dS, u), dp);
        dot += dp * pr;
      }
      // Softmax: dS = P (dP - sum_u dP P).
      memory.fill(dQ, 0, <usize>dh << 2);
      for (let u = 0; u < T; u++) {
        const ds = load<f32>(at(prow, u)) * (load<f32>(at(dS, u)) - dot);
        axpy(dQ, ds, at(K, u * dh), dh); // dQs[t] += dS[t, u] K[u]
        axpy(at(dK, u * dh), ds, at(Qs, t * dh), dh); // dK[u] += dS[t, u] Qs[t]
      }
      const dst = at(dqkv, (b * T + t) * d3 + h * dh);
      axpy(dst, scale, dQ, dh);
    }
    for (let t = 0; t < T; t++) {
      const dst = at(dqkv, (b * T + t) * d3 + h * dh);
      axpy(at(dst, d), 1, at(dK, t * dh), dh);
      axpy(at(dst, 2 * d), 1, at(dV, t * dh), dh);
    }
  }
}
