// AssemblyScript: batch normalisation over [N, C, L] (L = 1 for dense layers): channel c of
// sample n is the contiguous row at (n * C + c) * L. Rows are summed 4 lanes at a time, rows
// of a channel in float64. stats = [mean C | variance C | 1/sqrt(variance + eps) C] (float32).

@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

@inline function lanes(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function rowSum(p: usize, L: i32): f64 {
  let v = f32x4.splat(0);
  let l = 0;
  for (; l + 4 <= L; l += 4) v = f32x4.add(v, v128.load(at(p, l)));
  let s = lanes(v);
  for (; l < L; l++) s += load<f32>(at(p, l));
  return <f64>s;
}

@inline function rowSqDev(p: usize, L: i32, mu: f32): f64 {
  const m = f32x4.splat(mu);
  let v = f32x4.splat(0);
  let l = 0;
  for (; l + 4 <= L; l += 4) {
    const d = f32x4.sub(v128.load(at(p, l)), m);
    v = f32x4.add(v, f32x4.mul(d, d));
  }
  let s = lanes(v);
  for (; l < L; l++) {
    const d = load<f32>(at(p, l)) - mu;
    s += d * d;
  }
  return <f64>s;
}

@inline function rowDot(p: usize, q: usize, L: i32): f64 {
  let v = f32x4.splat(0);
  let l = 0;
  for (; l + 4 <= L; l += 4) v = f32x4.add(v, f32x4.mul(v128.load(at(p, l)), v128.load(at(q, l))));
  let s = lanes(v);
  for (; l < L; l++) s += load<f32>(at(p, l)) * load<f32>(at(q, l));
  return <f64>s;
}

// Sum of 4 float32 lanes into two float64x2 accumulators (lanes 0-1, lanes 2-3).
@inline function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}

// Dense layers (L = 1): a channel's values are strided by C, so 4 channels are done at once,
// summed over the rows in float64 lanes. Channels from C & ~3 on go through the row code.
function bnForwardDense(x: usize, y: usize, xhat: usize, N: i32, C: i32, gamma: usize, beta: usize, stats: usize, eps: f64, training: bool, scratch: usize): void {
  const C4 = C & ~3;
  const rowBytes = <usize>C << 2;
  if (training) {
    const inv = 1.0 / <f64>N;
    for (let c = 0; c < C4; c += 4) {
      let lo = f64x2.splat(0);
      let hi = f64x2.splat(0);
      let p = at(x, c);
      for (let n = 0; n < N; n++, p += rowBytes) {
        const v = v128.load(p);
        lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
        hi = f64x2.add(hi, promoteHigh(v));
      }
      const muLo = f64x2.mul(lo, f64x2.splat(inv));
      const muHi = f64x2.mul(hi, f64x2.splat(inv));
      const mu = f32x4.demote_f64x2_zero(muLo);
      const muv = v128.shuffle<f32>(mu, f32x4.demote_f64x2_zero(muHi), 0, 1, 4, 5);
      let qlo = f64x2.splat(0);
      let qhi = f64x2.splat(0);
      p = at(x, c);
      for (let n = 0; n < N; n++, p += rowBytes) {
        const d = f32x4.sub(v128.load(p), muv);
        const d2 = f32x4.mul(d, d);
        qlo = f64x2.add(qlo, f64x2.promote_low_f32x4(d2));
        qhi = f64x2.add(qhi, promoteHigh(d2));
      }
      const vlo = f64x2.mul(qlo, f64x2.splat(inv));
      const vhi = f64x2.mul(qhi, f64x2.splat(inv));
      v128.store(at(stats, c), muv);
      v128.store(at(stats, C + c), v128.shuffle<f32>(f32x4.demote_f64x2_zero(vlo), f32x4.demote_f64x2_zero(vhi), 0, 1, 4, 5));
      const e = f64x2.splat(eps);
      const one = f64x2.splat(1.0);
      const isLo = f64x2.div(one, f64x2.sqrt(f64x2.add(vlo, e)));
      const isHi = f64x2.div(one, f64x2.sqrt(f64x2.add(vhi, e)));
      v128.store(at(stats, 2 * C + c), v128.shuffle<f32>(f32x4.demote_f64x2_zero(isLo), f32x4.demote_f64x2_zero(isHi), 0, 1, 4, 5));
    }
  }
  for (let n = 0; n < N; n++) {
    const o = n * C;
    for (let c = 0; c < C4; c += 4) {
      const h = f32x4.mul(f32x4.sub(v128.load(at(x, o + c)), v128.load(at(stats, c))), v128.load(at(stats, 2 * C + c)));
      v128.store(at(xhat, o + c), h);
      v128.store(at(y, o + c), f32x4.add(f32x4.mul(v128.load(at(gamma, c)), h), v128.load(at(beta, c))));
    }
  }
  if (C4 < C) bnForwardSweep(x, y, xhat, N, C, 1, gamma, beta, stats, eps, training, scratch, C4);
}

function bnBackwardDense(dy: usize, xhat: usize, dx: usize, N: i32, C: i32, gamma: usize, stats: usize, training: bool, dgamma: usize, dbeta: usize, scratch: usize, overwrite: bool): void {
  const C4 = C & ~3;
  const rowBytes = <usize>C << 2;
  const m = <f32>N;
  for (let c = 0; c < C4; c += 4) {
    let s1lo = f64x2.splat(0);
    let s1hi = f64x2.splat(0);
    let s2lo = f64x2.splat(0);
    let s2hi = f64x2.splat(0);
    let p = at(dy, c);
    let q = at(xhat, c);
    for (let n = 0; n < N; n++, p += rowBytes, q += rowBytes) {
      const d = v128.load(p);
      const dh = f32x4.mul(d, v128.load(q));
      s1lo = f64x2.add(s1lo, f64x2.promote_low_f32x4(d));
      s1hi = f64x2.add(s1hi, promoteHigh(d));
      s2lo = f64x2.add(s2lo, f64x2.promote_low_f32x4(dh));
      s2hi = f64x2.add(s2hi, promoteHigh(dh));
    }
    const s1 = v128.shuffle<f32>(f32x4.demote_f64x2_zero(s1lo), f32x4.demote_f64x2_zero(s1hi), 0, 1, 4, 5);
    const s2 = v128.shuffle<f32>(f32x4.demote_f64x2_zero(s2lo), f32x4.demote_f64x2_zero(s2hi), 0, 1, 4, 5);
    v128.store(at(dgamma, c), f32x4.add(v128.load(at(dgamma, c)), s2));
    v128.store(at(dbeta, c), f32x4.add(v128.load(at(dbeta, c)), s1));
    if (!dx) continue;
    // dx += A dy + B + D xhat, as in the row code
    const A = f32x4.mul(v128.load(at(gamma, c)), v128.load(at(stats, 2 * C + c)));
    const mv = f32x4.splat(m);
    const B = training ? f32x4.div(f32x4.neg(f32x4.mul(A, s1)), mv) : f32x4.splat(0);
    const D = training ? f32x4.div(f32x4.neg(f32x4.mul(A, s2)), mv) : f32x4.splat(0);
    p = at(dy, c);
    q = at(xhat, c);
    let r = at(dx, c);
    for (let n = 0; n < N; n++, p += rowBytes, q += rowBytes, r += rowBytes) {
      const t = f32x4.add(f32x4.add(f32x4.mul(A, v128.load(p)), B), f32x4.mul(D, v128.load(q)));
      v128.store(r, overwrite ? t : f32x4.add(v128.load(r), t));
    }
  }
  if (C4 < C) bnBackwardSweep(dy, xhat, dx, N, C, 1, gamma, stats, training, dgamma, dbeta, scratch, C4, overwrite);
}

// training: computes the batch statistics into stats; else stats holds mean and 1/std already.
// scratch: 2 C float64.
export function bnForward(x: usize, y: usize, xhat: usize, N: i32, C: i32, L: i32, gamma: usize, beta: usize, stats: usize, eps: f64, training: bool, scratch: usize): void {
  if (L == 1) bnForwardDense(x, y, xhat, N, C, gamma, beta, stats, eps, training, scratch);
  else bnForwardSweep(x, y, xhat, N, C, L, gamma, beta, stats, eps, training, scratch, 0);
}

@inline function f64at(base: usize, i: i32): usize {
  return base + (<usize>i << 3);
}

// Channels c0.. (all, for L > 1; a dense layer's last C % 4) in memory order (sample by sample), each channel's sums in
// scratch: the same sums in the same order as channel by channel, but one sequential sweep
// instead of one strided pass per channel (which, on conv outputs, costs 2-3x the time).
function bnForwardSweep(x: usize, y: usize, xhat: usize, N: i32, C: i32, L: i32, gamma: usize, beta: usize, stats: usize, eps: f64, training: bool, scratch: usize, c0: i32): void {
  const m = <f64>N * <f64>L;
  if (training) {
    const sums = scratch;
    memory.fill(sums, 0, <usize>C << 3);
    for (let n = 0; n < N; n++)
      for (let c = c0; c < C; c++) store<f64>(f64at(sums, c), load<f64>(f64at(sums, c)) + rowSum(at(x, (n * C + c) * L), L));
    for (let c = c0; c < C; c++) store<f32>(at(stats, c), <f32>(load<f64>(f64at(sums, c)) / m));
    memory.fill(sums, 0, <usize>C << 3);
    for (let n = 0; n < N; n++)
      for (let c = c0; c < C; c++) store<f64>(f64at(sums, c), load<f64>(f64at(sums, c)) + rowSqDev(at(x, (n * C + c) * L), L, load<f32>(at(stats, c))));
    for (let c = c0; c < C; c++) {
      const variance = load<f64>(f64at(sums, c)) / m;
      store<f32>(at(stats, C + c), <f32>variance);
      store<f32>(at(stats, 2 * C + c), <f32>(1.0 / Math.sqrt(variance + eps)));
    }
  }
  for (let n = 0; n < N; n++) {
    for (let c = c0; c < C; c++) {
      const mu = load<f32>(at(stats, c));
      const is = load<f32>(at(stats, 2 * C + c));
      const g = load<f32>(at(gamma, c));
      const b = load<f32>(at(beta, c));
      const muv = f32x4.splat(mu);
      const isv = f32x4.splat(is);
      const gv = f32x4.splat(g);
      const bv = f32x4.splat(b);
      const o = (n * C + c) * L;
      let l = 0;
      for (; l + 4 <= L; l += 4) {
        const h = f32x4.mul(f32x4.sub(v128.load(at(x, o + l)), muv), isv);
        v128.store(at(xhat, o + l), h);
        v128.store(at(y, o + l), f32x4.add(f32x4.mul(gv, h), bv));
      }
      for (; l < L; l++) {
        const h = (load<f32>(at(x, o + l)) - mu) * is;
        store<f32>(at(xhat, o + l), h);
        store<f32>(at(y, o + l), g * h + b);
      }
    }
  }
}

// The row code, for channels c0 .. C-1.

// dgamma += sum dy xhat, dbeta += sum dy; dx += (training) g is / m (m dy - sum dy - xhat sum dy xhat)
// or (eval) g is dy.
// scratch: 2 C float64.
// overwrite: dx = its gradient instead of dx +=.
export function bnBackward(dy: usize, xhat: usize, dx: usize, N: i32, C: i32, L: i32, gamma: usize, stats: usize, training: bool, dgamma: usize, dbeta: usize, scratch: usize, overwrite: bool): void {
  if (L == 1) bnBackwardDense(dy, xhat, dx, N, C, gamma, stats, training, dgamma, dbeta, scratch, overwrite);
  else bnBackwardSweep(dy, xhat, dx, N, C, L, gamma, stats, training, dgamma, dbeta, scratch, 0, overwrite);
}

// The backward pass in memory order (see bnForwardSweep), channels from c0 on.
function bnBackwardSweep(dy: usize, xhat: usize, dx: usize, N: i32, C: i32, L: i32, gamma: usize, stats: usize, training: bool, dgamma: usize, dbeta: usize, scratch: usize, c0: i32, overwrite: bool): void {
  const m = <f32>(N * L);
  const s1 = scratch;
  const s2 = f64at(scratch, C);
  memory.fill(scratch, 0, <usize>C << 4);
  for (let n = 0; n < N; n++) {
    for (let c = c0; c < C; c++) {
      const o = (n * C + c) * L;
      store<f64>(f64at(s1, c), load<f64>(f64at(s1, c)) + rowSum(at(dy, o), L));
      store<f64>(f64at(s2, c), load<f64>(f64at(s2, c)) + rowDot(at(dy, o), at(xhat, o), L));
    }
  }
  for (let c = c0; c < C; c++) {
    store<f32>(at(dgamma, c), load<f32>(at(dgamma, c)) + <f32>load<f64>(f64at(s2, c)));
    store<f32>(at(dbeta, c), load<f32>(at(dbeta, c)) + <f32>load<f64>(f64at(s1, c)));
  }
  if (!dx) return;
  for (let n = 0; n < N; n++) {
    for (let c = c0; c < C; c++) {
      const k = load<f32>(at(gamma, c)) * load<f32>(at(stats, 2 * C + c));
      // dx += A dy + B + D xhat
      const A: f32 = k;
      const B: f32 = training ? <f32>(-k * <f32>load<f64>(f64at(s1, c)) / m) : 0;
      const D: f32 = training ? <f32>(-k * <f32>load<f64>(f64at(s2, c)) / m) : 0;
      const av = f32x4.splat(A);
      const bv = f32x4.splat(B);
      const dv = f32x4.splat(D);
      const o = (n * C + c) * L;
      let l = 0;
      for (; l + 4 <= L; l += 4) {
        const t = f32x4.add(f32x4.add(f32x4.mul(av, v128.load(at(dy, o + l))), bv), f32x4.mul(dv, v128.load(at(xhat, o + l))));
        v128.store(at(dx, o + l), overwrite ? t : f32x4.add(v128.load(at(dx, o + l)), t));
      }
      for (; l < L; l++) {
        const t: f32 = A * load<f32>(at(dy, o + l)) + B + D * load<f32>(at(xhat, o + l));
        store<f32>(at(dx, o + l), overwrite ? t : load<f32>(at(dx, o + l)) + t);
      }
    }
  }
}

