// AssemblyScript: the recurrence of one LSTM layer, forward and backward, over a whole sequence
// in one call (the per-step GEMM and the gate arithmetic stay inside the module: no copies in and
// out per step). Time-major: gates [T, B, 4H] in PyTorch's order (input, forget, cell, output),
// states hs, cs [T + 1, B, H] with the initial state in slot 0, mask [T, B] (0: the row keeps its
// state at that step; offset 0: no mask). See kernels.ts for the definitions.

import { gemm } from "./gemm";
import { kv, ONE, vexp } from "./vmath";

// sigma(x) = 1 / (1 + exp(-x)) with x clamped to +-30: sigma(-30) = 9e-14, and the clamp keeps
// exp's result and the quotient out of the subnormal range (slow on x86, and PyTorch's gates are
// as exact there within float32 rounding of 1).
const LIMIT: f32 = 30;

@inline function vsigmoid(x: v128): v128 {
  const z = f32x4.pmax(f32x4.pmin(x, f32x4.splat(LIMIT)), f32x4.splat(-LIMIT));
  return f32x4.div(kv(ONE), f32x4.add(kv(ONE), vexp(f32x4.neg(z))));
}

// tanh(x) = 2 sigma(2x) - 1 (absolute error about 1e-7, float32's rounding of 1).
@inline function vtanh(x: v128): v128 {
  const s = vsigmoid(f32x4.add(x, x));
  return f32x4.sub(f32x4.add(s, s), kv(ONE));
}

@inline function sigmoid(x: f32): f32 {
  const z = max<f32>(-LIMIT, min<f32>(LIMIT, x));
  return <f32>1 / (<f32>1 + Mathf.exp(-z));
}

@inline function tanhf(x: f32): f32 {
  const s = sigmoid(x + x);
  return s + s - <f32>1;
}

@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

@inline function kept(mask: usize, i: i32): bool {
  return mask == 0 || load<f32>(at(mask, i)) != 0;
}

// WhhT: W_hh transposed, [H, 4H] (the GEMM's right operand).
export function lstmForward(gates: usize, WhhT: usize, hs: usize, cs: usize, mask: usize, T: i32, B: i32, H: i32): void {
  const H4 = 4 * H;
  const BH = B * H;
  const H4v = H & ~3;
  for (let t = 0; t < T; t++) {
    const g = at(gates, t * B * H4);
    gemm(B, H4, H, at(hs, t * BH), WhhT, g, true, 0, false, false);
    for (let b = 0; b < B; b++) {
      const prev = t * BH + b * H;
      const next = prev + BH;
      if (!kept(mask, t * B + b)) {
        memory.copy(at(hs, next), at(hs, prev), <usize>H << 2);
        memory.copy(at(cs, next), at(cs, prev), <usize>H << 2);
        continue;
      }
      const zi = at(g, b * H4);
      const zf = zi + (<usize>H << 2);
      const zg = zf + (<usize>H << 2);
      const zo = zg + (<usize>H << 2);
      let j = 0;
      for (; j < H4v; j += 4) {
        const o = <usize>j << 2;
        const i = vsigmoid(v128.load(zi + o));
        const f = vsigmoid(v128.load(zf + o));
        const c = vtanh(v128.load(zg + o));
        const u = vsigmoid(v128.load(zo + o));
        v128.store(zi + o, i);
        v128.store(zf + o, f);
        v128.store(zg + o, c);
        v128.store(zo + o, u);
        const cell = f32x4.add(f32x4.mul(f, v128.load(at(cs, prev + j))), f32x4.mul(i, c));
        v128.store(at(cs, next + j), cell);
        v128.store(at(hs, next + j), f32x4.mul(u, vtanh(cell)));
      }
      for (; j < H; j++) {
        const o = <usize>j << 2;
        const i = sigmoid(load<f32>(zi + o));
        const f = sigmoid(load<f32>(zf + o));
        const c = tanhf(load<f32>(zg + o));
        const u = sigmoid(load<f32>(zo + o));
        store<f32>(zi + o, i);
        store<f32>(zf + o, f);
        store<f32>(zg + o, c);
        store<f32>(zo + o, u);
        const cell = f * load<f32>(at(cs, prev + j)) + i * c;
        store<f32>(at(cs, next + j), cell);
        store<f32>(at(hs, next + j), u * tanhf(cell));
      }
    }
  }
}

// Whh [4H, H] as PyTorch stores it (the right operand of dh_t = dz W_hh); dOut 0: none;
// scratch: B * H floats.
export function lstmBackward(gates: usize, Whh: usize, cs: usize, mask: usize, dOut: usize, dh: usize, dc: usize, dGates: usize, T: i32, B: i32, H: i32, scratch: usize): void {
  const H4 = 4 * H;
  const BH = B * H;
  const H4v = H & ~3;
  const one = kv(ONE);
  for (let t = T - 1; t >= 0; t--) {
    if (dOut) {
      const src = at(dOut, t * BH);
      let k = 0;
      for (; k + 4 <= BH; k += 4) v128.store(at(dh, k), f32x4.add(v128.load(at(dh, k)), v128.load(at(src, k))));
      for (; k < BH; k++) store<f32>(at(dh, k), load<f32>(at(dh, k)) + load<f32>(at(src, k)));
    }
    const dg = at(dGates, t * B * H4);
    for (let b = 0; b < B; b++) {
      const row = at(dg, b * H4);
      if (!kept(mask, t * B + b)) {
        memory.fill(row, 0, <usize>H4 << 2);
        continue;
      }
      const gi = at(gates, (t * B + b) * H4);
      const gf = gi + (<usize>H << 2);
      const gg = gf + (<usize>H << 2);
      const go = gg + (<usize>H << 2);
      const cPrev = at(cs, t * BH + b * H);
      const cNext = cPrev + (<usize>BH << 2);
      const dhb = at(dh, b * H);
      const dcb = at(dc, b * H);
      let j = 0;
      for (; j < H4v; j += 4) {
        const o = <usize>j << 2;
        const i = v128.load(gi + o);
        const f = v128.load(gf + o);
        const c = v128.load(gg + o);
        const u = v128.load(go + o);
        const tc = vtanh(v128.load(cNext + o));
        const dhj = v128.load(dhb + o);
        const dcell = f32x4.add(v128.load(dcb + o), f32x4.mul(f32x4.mul(dhj, u), f32x4.sub(one, f32x4.mul(tc, tc))));
        v128.store(row + o, f32x4.mul(f32x4.mul(dcell, c), f32x4.mul(i, f32x4.sub(one, i))));
        v128.store(row + (<usize>H << 2) + o, f32x4.mul(f32x4.mul(dcell, v128.load(cPrev + o)), f32x4.mul(f, f32x4.sub(one, f))));
        v128.store(row + (<usize>(2 * H) << 2) + o, f32x4.mul(f32x4.mul(dcell, i), f32x4.sub(one, f32x4.mul(c, c))));
        v128.store(row + (<usize>(3 * H) << 2) + o, f32x4.mul(f32x4.mul(dhj, tc), f32x4.mul(u, f32x4.sub(one, u))));
        v128.store(dcb + o, f32x4.mul(dcell, f));
      }
      for (; j < H; j++) {
        const o = <usize>j << 2;
        const i = load<f32>(gi + o);
        const f = load<f32>(gf + o);
        const c = load<f32>(gg + o);
        const u = load<f32>(go + o);
        const tc = tanhf(load<f32>(cNext + o));
        const dhj = load<f32>(dhb + o);
        const dcell = load<f32>(dcb + o) + dhj * u * (<f32>1 - tc * tc);
        store<f32>(row + o, dcell * c * i * (<f32>1 - i));
        store<f32>(row + (<usize>H << 2) + o, dcell * load<f32>(cPrev + o) * f * (<f32>1 - f));
        store<f32>(row + (<usize>(2 * H) << 2) + o, dcell * i * (<f32>1 - c * c));
        store<f32>(row + (<usize>(3 * H) << 2) + o, dhj * tc * u * (<f32>1 - u));
        store<f32>(dcb + o, dcell * f);
      }
    }
    // dh_t = dz W_hh; a masked row passes its gradient through unchanged (its dz is 0).
    gemm(B, H, H4, dg, Whh, scratch, false, 0, false, false);
    if (mask) {
      for (let b = 0; b < B; b++) if (!kept(mask, t * B + b)) memory.copy(at(scratch, b * H), at(dh, b * H), <usize>H << 2);
    }
    memory.copy(dh, scratch, <usize>BH << 2);
  }
}
