// AssemblyScript: elementwise kernels over float32 arrays at byte offsets of this module's memory.
import { drawMasks } from "./rng";
import { HALF, INV_SQRT2, INV_SQRT_2PI, kv, madd, MINUS_HALF, relu4, verf, vexp } from "./vmath";

// y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 (PyTorch's exact GELU), n a multiple of 4.
export function geluForward(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const phi = madd(kv(HALF), verf(f32x4.mul(v, kv(INV_SQRT2))), kv(HALF));
    v128.store(y + o, f32x4.mul(v, phi));
  }
}

// dx += dy (Phi(x) + x phi(x)), phi the standard normal density (overwrite: dx =).
export function geluBackward(x: usize, dy: usize, dx: usize, n: i32, overwrite: bool): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const Phi = madd(kv(HALF), verf(f32x4.mul(v, kv(INV_SQRT2))), kv(HALF));
    const dens = f32x4.mul(kv(INV_SQRT_2PI), vexp(f32x4.mul(kv(MINUS_HALF), f32x4.mul(v, v))));
    const g = madd(v, dens, Phi);
    const t = f32x4.mul(v128.load(dy + o), g);
    v128.store(dx + o, overwrite ? t : f32x4.add(v128.load(dx + o), t));
  }
}

// Dropout multipliers: keep (1 / (1 - p)) with probability 1 - p, else 0, in stream order.
export function dropoutMask(mask: usize, n: i32, p: f64, keep: f32): void {
  drawMasks(mask, n, p, keep);
}

// y = a + b, n a multiple of 4.
export function addForward(a: usize, b: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
}

// y = a * b (dst 0) or dst += a * b, n a multiple of 4.
export function mulForward(a: usize, b: usize, y: usize, n: i32, accumulate: bool): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const p = f32x4.mul(v128.load(a + o), v128.load(b + o));
    v128.store(y + o, accumulate ? f32x4.add(v128.load(y + o), p) : p);
  }
}

// y = max(x, 0), n a multiple of 4.
export function reluForward(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, relu4(v128.load(x + o)));
  }
}

// dx += dy where y > 0 (branch-free: the sign pattern of activations is random); overwrite: dx =.
export function reluBackward(y: usize, dy: usize, dx: usize, n: i32, overwrite: bool): void {
  const zero = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const keep = f32x4.gt(v128.load(y + o), zero);
    const t = v128.and(v128.load(dy + o), keep);
    v128.store(dx + o, overwrite ? t : f32x4.add(v128.load(dx + o), t));
  }
}

// One Adam/AdamW update of n values (n a multiple of 4), as torch.optim does it in float32:
// decoupled: p *= 1 - lrWd first; else g += wd p. m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= stepSize m / (sqrt(v) / sqrtC2 + eps).
export function adamStep(p: usize, g: usize, m: usize, v: usize, n: i32, b1: f32, b2: f32, stepSize: f32, sqrtC2: f32, eps: f32, wd: f32, decoupled: bool, lrWd: f32): void {
  const vb1 = f32x4.splat(b1);
  const vb1c = f32x4.splat(1 - b1);
  const vb2 = f32x4.splat(b2);
  const vb2c = f32x4.splat(1 - b2);
  const vstep = f32x4.splat(stepSize);
  const vsc = f32x4.splat(sqrtC2);
  const veps = f32x4.splat(eps);
  const vwd = f32x4.splat(wd);
  const vdecay = f32x4.splat(1 - lrWd);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    let pv = v128.load(p + o);
    let gv = v128.load(g + o);
    if (decoupled) pv = f32x4.mul(pv, vdecay);
    else if (wd != 0) gv = f32x4.add(gv, f32x4.mul(vwd, pv));
    const mv = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vb1c, gv));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(f32x4.mul(vb2c, gv), gv));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    v128.store(p + o, f32x4.sub(pv, f32x4.div(f32x4.mul(vstep, mv), f32x4.add(f32x4.div(f32x4.sqrt(vv), vsc), veps))));
  }
}
