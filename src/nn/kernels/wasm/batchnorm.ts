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

// training: computes the batch statistics into stats; else stats holds mean and 1/std already.
export function bnForward(x: usize, y: usize, xhat: usize, N: i32, C: i32, L: i32, gamma: usize, beta: usize, stats: usize, eps: f64, training: bool): void {
  const m = <f64>N * <f64>L;
  if (training) {
    for (let c = 0; c < C; c++) {
      let s: f64 = 0;
      for (let n = 0; n < N; n++) s += rowSum(at(x, (n * C + c) * L), L);
      const mu = <f32>(s / m);
      let q: f64 = 0;
      for (let n = 0; n < N; n++) q += rowSqDev(at(x, (n * C + c) * L), L, mu);
      const variance = q / m;
      store<f32>(at(stats, c), mu);
      store<f32>(at(stats, C + c), <f32>variance);
      store<f32>(at(stats, 2 * C + c), <f32>(1.0 / Math.sqrt(variance + eps)));
    }
  }
  for (let c = 0; c < C; c++) {
    const mu = load<f32>(at(stats, c));
    const is = load<f32>(at(stats, 2 * C + c));
    const g = load<f32>(at(gamma, c));
    const b = load<f32>(at(beta, c));
    const muv = f32x4.splat(mu);
    const isv = f32x4.splat(is);
    const gv = f32x4.splat(g);
    const bv = f32x4.splat(b);
    for (let n = 0; n < N; n++) {
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

// dgamma += sum dy xhat, dbeta += sum dy; dx += (training) g is / m (m dy - sum dy - xhat sum dy xhat)
// or (eval) g is dy.
export function bnBackward(dy: usize, xhat: usize, dx: usize, N: i32, C: i32, L: i32, gamma: usize, stats: usize, training: bool, dgamma: usize, dbeta: usize): void {
  const m = <f32>(N * L);
  for (let c = 0; c < C; c++) {
    let s1: f64 = 0;
    let s2: f64 = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * L;
      s1 += rowSum(at(dy, o), L);
      s2 += rowDot(at(dy, o), at(xhat, o), L);
    }
    store<f32>(at(dgamma, c), load<f32>(at(dgamma, c)) + <f32>s2);
    store<f32>(at(dbeta, c), load<f32>(at(dbeta, c)) + <f32>s1);
    if (!dx) continue;
    const k = load<f32>(at(gamma, c)) * load<f32>(at(stats, 2 * C + c));
    // dx += A dy + B + D xhat
    const A: f32 = k;
    const B: f32 = training ? <f32>(-k * <f32>s1 / m) : 0;
    const D: f32 = training ? <f32>(-k * <f32>s2 / m) : 0;
    const av = f32x4.splat(A);
    const bv = f32x4.splat(B);
    const dv = f32x4.splat(D);
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * L;
      let l = 0;
      for (; l + 4 <= L; l += 4) {
        const t = f32x4.add(f32x4.add(f32x4.mul(av, v128.load(at(dy, o + l))), bv), f32x4.mul(dv, v128.load(at(xhat, o + l))));
        v128.store(at(dx, o + l), f32x4.add(v128.load(at(dx, o + l)), t));
      }
      for (; l < L; l++) store<f32>(at(dx, o + l), load<f32>(at(dx, o + l)) + A * load<f32>(at(dy, o + l)) + B + D * load<f32>(at(xhat, o + l)));
    }
  }
}
