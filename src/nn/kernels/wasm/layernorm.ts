// AssemblyScript: layer normalisation over the last axis (rows of width d, d a multiple of 4),
// forward and backward, 4 lanes at a time; row sums in float32 lanes, as PyTorch's CPU kernel.

@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// xhat = (x - mean) / sqrt(var + eps), y = gamma xhat + beta, invStd[r] = 1 / sqrt(var + eps).
export function lnForward(x: usize, y: usize, xhat: usize, invStd: usize, rows: i32, d: i32, gamma: usize, beta: usize, eps: f32): void {
  const inv = <f32>1 / <f32>d;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let s = f32x4.splat(0);
    for (let k = 0; k < d; k += 4) s = f32x4.add(s, v128.load(at(x, o + k)));
    const mean = f32x4.splat(hsum(s) * inv);
    let q = f32x4.splat(0);
    for (let k = 0; k < d; k += 4) {
      const c = f32x4.sub(v128.load(at(x, o + k)), mean);
      q = f32x4.add(q, f32x4.mul(c, c));
    }
    const is = <f32>1 / Mathf.sqrt(hsum(q) * inv + eps);
    store<f32>(at(invStd, r), is);
    const isv = f32x4.splat(is);
    for (let k = 0; k < d; k += 4) {
      const h = f32x4.mul(f32x4.sub(v128.load(at(x, o + k)), mean), isv);
      v128.store(at(xhat, o + k), h);
      v128.store(at(y, o + k), f32x4.add(f32x4.mul(h, v128.load(at(gamma, k))), v128.load(at(beta, k))));
    }
  }
}

// dgamma += sum dy xhat, dbeta += sum dy (when given); dx += invStd / d (d dy gamma - s1 - xhat s2)
// with s1 = sum dy gamma, s2 = sum dy gamma xhat over the row (when dx is given).
export function lnBackward(dy: usize, xhat: usize, invStd: usize, rows: i32, d: i32, gamma: usize, dx: usize, dgamma: usize, dbeta: usize): void {
  const dv = f32x4.splat(<f32>d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    if (dgamma) {
      for (let k = 0; k < d; k += 4) {
        const g = v128.load(at(dy, o + k));
        v128.store(at(dgamma, k), f32x4.add(v128.load(at(dgamma, k)), f32x4.mul(g, v128.load(at(xhat, o + k)))));
        v128.store(at(dbeta, k), f32x4.add(v128.load(at(dbeta, k)), g));
      }
    }
    if (!dx) continue;
    let s1 = f32x4.splat(0);
    let s2 = f32x4.splat(0);
    for (let k = 0; k < d; k += 4) {
      const dxh = f32x4.mul(v128.load(at(dy, o + k)), v128.load(at(gamma, k)));
      s1 = f32x4.add(s1, dxh);
      s2 = f32x4.add(s2, f32x4.mul(dxh, v128.load(at(xhat, o + k))));
    }
    const a = f32x4.splat(hsum(s1));
    const b = f32x4.splat(hsum(s2));
    const f = f32x4.splat(load<f32>(at(invStd, r)) / <f32>d);
    for (let k = 0; k < d; k += 4) {
      const t = f32x4.sub(f32x4.sub(f32x4.mul(dv, f32x4.mul(v128.load(at(dy, o + k)), v128.load(at(gamma, k)))), a), f32x4.mul(v128.load(at(xhat, o + k)), b));
      v128.store(at(dx, o + k), f32x4.add(v128.load(at(dx, o + k)), f32x4.mul(f, t)));
    }
  }
}
