// AssemblyScript (compiled with gemm.ts into one WebAssembly SIMD module; excluded from tsc).
// Multi-head self-attention on packed rows qkv [B, T, 3d] (q | k | v, head h = columns
// h*dh .. h*dh+dh-1 of each part), with dropout on the attention probabilities, forward and
// backward, one (batch row, head) at a time so every operand stays in L1. The dropout masks
// come from the same Mulberry32 stream, in the same order, as the TypeScript kernel's, so both
// paths give identical masks for the same seed.
// Probabilities P and masks M are stored [B*H, T, Tp] with Tp = T rounded up to 4 (padding 0).

import { uniform } from "./rng";
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

// out[u] = sum_i a[i] * XT[i, u] for u < Tp (4 at a time). Head width 8 (the spec's d 32 over
// 4 heads) keeps the 8 broadcast a[i] in registers.
@inline function rowTimesTransposed(a: usize, XT: usize, dh: i32, Tp: i32, out: usize): void {
  if (dh == 8) {
    const a0 = v128.load32_splat(a);
    const a1 = v128.load32_splat(at(a, 1));
    const a2 = v128.load32_splat(at(a, 2));
    const a3 = v128.load32_splat(at(a, 3));
    const a4 = v128.load32_splat(at(a, 4));
    const a5 = v128.load32_splat(at(a, 5));
    const a6 = v128.load32_splat(at(a, 6));
    const a7 = v128.load32_splat(at(a, 7));
    const T4 = <usize>Tp << 2;
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
    for (let i = 0; i < dh; i++) acc = madd(f32x4.splat(load<f32>(at(a, i))), v128.load(at(XT, i * Tp + u)), acc);
    v128.store(at(out, u), acc);
  }
}

// dst[0..dh) += w * src[0..dh)
@inline function axpy(dst: usize, w: f32, src: usize, dh: i32): void {
  const wv = f32x4.splat(w);
  for (let i = 0; i < dh; i += 4) v128.store(at(dst, i), f32x4.add(v128.load(at(dst, i)), f32x4.mul(wv, v128.load(at(src, i)))));
}

export function attentionForward(qkv: usize, y: usize, P: usize, M: usize, B: i32, T: i32, d: i32, H: i32, scale: f32, p: f64, scratch: usize): void {
  const dh = d / H;
  const Tp = (T + 3) & ~3;
  const Qs = scratch;
  const V = at(Qs, T * dh);
  const KT = at(V, T * dh);
  // P = 0: no backward pass follows, the probabilities of one row at a time live in scratch.
  const rowScratch = at(KT, dh * Tp);
  const keep: f32 = p > 0 ? <f32>(1.0 / (1.0 - p)) : 1;
  memory.fill(KT, 0, <usize>(dh * Tp) << 2);
  for (let bh = 0; bh < B * H; bh++) {
    const b = bh / H;
    const h = bh % H;
    gather(qkv, b, h, T, d, dh, Tp, scale, Qs, 0, V, KT, 0);
    for (let t = 0; t < T; t++) {
      const row = P ? at(P, (bh * T + t) * Tp) : rowScratch;
      rowTimesTransposed(at(Qs, t * dh), KT, dh, Tp, row);
      for (let u = T; u < Tp; u++) store<f32>(at(row, u), -Infinity); // exp gives exactly 0
      let mv = v128.load(row);
      for (let u = 4; u < Tp; u += 4) mv = f32x4.max(mv, v128.load(at(row, u)));
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
      const mrow = at(M, (bh * T + t) * Tp);
      if (p > 0) {
        for (let u = 0; u < T; u++) store<f32>(at(mrow, u), uniform() >= p ? keep : 0);
        for (let u = T; u < Tp; u++) store<f32>(at(mrow, u), 0);
      }
      const yo = at(y, (b * T + t) * d + h * dh);
      // y row = sum_u w_u V[u, :], 8 columns at a time in two registers; four positions u per
      // step into four accumulator pairs, so the multiply-adds do not wait on each other.
      for (let i0 = 0; i0 < dh; i0 += 8) {
        const two = i0 + 8 <= dh;
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0), r0 = f32x4.splat(0), r1 = f32x4.splat(0);
        let q0 = f32x4.splat(0), q1 = f32x4.splat(0), o0 = f32x4.splat(0), o1 = f32x4.splat(0);
        const vstep = <usize>dh << 2;
        let u = 0;
        for (; u + 4 <= T; u += 4) {
          let w0 = load<f32>(at(row, u)), w1 = load<f32>(at(row, u + 1)), w2 = load<f32>(at(row, u + 2)), w3 = load<f32>(at(row, u + 3));
          if (p > 0) {
            w0 *= load<f32>(at(mrow, u));
            w1 *= load<f32>(at(mrow, u + 1));
            w2 *= load<f32>(at(mrow, u + 2));
            w3 *= load<f32>(at(mrow, u + 3));
          }
          const vr = at(V, u * dh + i0);
          const x0 = f32x4.splat(w0), x1 = f32x4.splat(w1), x2 = f32x4.splat(w2), x3 = f32x4.splat(w3);
          s0 = madd(x0, v128.load(vr), s0);
          r0 = madd(x1, v128.load(vr + vstep), r0);
          q0 = madd(x2, v128.load(vr + 2 * vstep), q0);
          o0 = madd(x3, v128.load(vr + 3 * vstep), o0);
          if (two) {
            s1 = madd(x0, v128.load(vr, 16), s1);
            r1 = madd(x1, v128.load(vr + vstep, 16), r1);
            q1 = madd(x2, v128.load(vr + 2 * vstep, 16), q1);
            o1 = madd(x3, v128.load(vr + 3 * vstep, 16), o1);
          }
        }
        for (; u < T; u++) {
          let w = load<f32>(at(row, u));
          if (p > 0) w *= load<f32>(at(mrow, u));
          const wv = f32x4.splat(w);
          const vr = at(V, u * dh + i0);
          s0 = madd(wv, v128.load(vr), s0);
          if (two) s1 = madd(wv, v128.load(vr, 16), s1);
        }
        v128.store(at(yo, i0), f32x4.add(f32x4.add(s0, r0), f32x4.add(q0, o0)));
        if (two) v128.store(at(yo, i0 + 4), f32x4.add(f32x4.add(s1, r1), f32x4.add(q1, o1)));
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
      rowTimesTransposed(dO, VT, dh, Tp, dS);
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
