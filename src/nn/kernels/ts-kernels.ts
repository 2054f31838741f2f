/**
 * The plain TypeScript kernels: the oracle every faster kernel is tested against, and the
 * float64 path for gradient checks.
 */
import type { Arr, Kernels } from "./kernels.js";

/** erf to ~1e-15: Taylor series for |x| < 2.5, continued fraction of erfc beyond. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz)
  let f = ax;
  let C = ax;
  let D = 0;
  for (let n = 1; n < 200; n++) {
    const a = n / 2;
    D = ax + a * D;
    D = D === 0 ? 1e-300 : 1 / D;
    C = ax + a / C;
    if (C === 0) C = 1e-300;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

function im2col(x: Arr, B: number, Cin: number, L: number, K: number, alloc: (n: number) => Arr): Arr {
  const pad = Math.floor(K / 2);
  const CK = Cin * K;
  const cols = alloc(B * L * CK);
  for (let bb = 0; bb < B; bb++) {
    for (let c = 0; c < Cin; c++) {
      const xo = (bb * Cin + c) * L;
      for (let l = 0; l < L; l++) {
        const row = (bb * L + l) * CK + c * K;
        for (let k = 0; k < K; k++) {
          const src = l + k - pad;
          cols[row + k] = src >= 0 && src < L ? x[xo + src]! : 0;
        }
      }
    }
  }
  return cols;
}

function gemmProducts(transA: boolean, transB: boolean, M: number, N: number, K: number, A: Arr, B: Arr, C: Arr, accumulate: boolean, bias?: Arr | null): void {
  if (!accumulate) C.fill(0, 0, M * N);
  if (bias) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C[i * N + j]! += bias[j]!;
  if (!transA && !transB) {
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      for (let k = 0; k < K; k++) {
        const a = A[i * K + k]!;
        if (a === 0) continue;
        const bk = k * N;
        for (let j = 0; j < N; j++) C[ci + j]! += a * B[bk + j]!;
      }
    }
  } else if (!transA && transB) {
    for (let i = 0; i < M; i++) {
      const ai = i * K;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[ai + k]! * B[bj + k]!;
        C[i * N + j]! += s;
      }
    }
  } else if (transA && !transB) {
    for (let k = 0; k < K; k++) {
      const ak = k * M;
      const bk = k * N;
      for (let i = 0; i < M; i++) {
        const a = A[ak + i]!;
        if (a === 0) continue;
        const ci = i * N;
        for (let j = 0; j < N; j++) C[ci + j]! += a * B[bk + j]!;
      }
    }
  } else {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[k * M + i]! * B[j * K + k]!;
        C[i * N + j]! += s;
      }
    }
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Straightforward loops, ordered for contiguous inner access; any typed array. */
export const tsKernels: Kernels = {
  name: "typescript",
  gemm(transA, transB, M, N, K, A, B, C, accumulate, bias, relu) {
    gemmProducts(transA, transB, M, N, K, A, B, C, accumulate, bias);
    if (relu) for (let i = 0; i < M * N; i++) C[i] = Math.max(0, C[i]!);
  },
  add(a, b, y) {
    for (let i = 0; i < y.length; i++) y[i] = a[i]! + b[i]!;
  },

  addInto(target, source) {
    for (let i = 0; i < source.length; i++) target[i]! += source[i]!;
  },

  mul(a, b, y, accumulate) {
    if (accumulate) for (let i = 0; i < y.length; i++) y[i]! += a[i]! * b[i]!;
    else for (let i = 0; i < y.length; i++) y[i] = a[i]! * b[i]!;
  },

  layerNorm(x, y, xhat, invStd, rows, d, gamma, beta, eps) {
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      let mean = 0;
      for (let k = 0; k < d; k++) mean += x[o + k]!;
      mean /= d;
      let v = 0;
      for (let k = 0; k < d; k++) v += (x[o + k]! - mean) ** 2;
      const is = 1 / Math.sqrt(v / d + eps);
      invStd[r] = is;
      for (let k = 0; k < d; k++) {
        const h = (x[o + k]! - mean) * is;
        xhat[o + k] = h;
        y[o + k] = h * gamma[k]! + beta[k]!;
      }
    }
  },

  layerNormBackward(dy, xhat, invStd, rows, d, gamma, dx, dgamma, dbeta) {
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      if (dgamma && dbeta) {
        for (let k = 0; k < d; k++) {
          dgamma[k]! += dy[o + k]! * xhat[o + k]!;
          dbeta[k]! += dy[o + k]!;
        }
      }
      if (!dx) continue;
      let s1 = 0;
      let s2 = 0;
      for (let k = 0; k < d; k++) {
        const dxh = dy[o + k]! * gamma[k]!;
        s1 += dxh;
        s2 += dxh * xhat[o + k]!;
      }
      const f = invStd[r]! / d;
      for (let k = 0; k < d; k++) dx[o + k]! += f * (d * dy[o + k]! * gamma[k]! - s1 - xhat[o + k]! * s2);
    }
  },

  columnSums(A, M, N, out) {
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) out[j]! += A[i * N + j]!;
  },

  adamStep(p, g, m, v, o) {
    const { b1, b2, stepSize, sqrtC2, eps, weightDecay, decoupled, lr } = o;
    if (decoupled && weightDecay) for (let i = 0; i < p.length; i++) p[i]! *= 1 - lr * weightDecay;
    for (let i = 0; i < p.length; i++) {
      const gi = decoupled ? g[i]! : g[i]! + weightDecay * p[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      p[i]! -= (stepSize * m[i]!) / (Math.sqrt(v[i]!) / sqrtC2 + eps);
    }
  },

  conv1d(x, W, bias, y, B, Cin, Cout, L, K, relu) {
    // im2col: cols[b*L + l, c*K + k] = x[b, c, l + k - pad], then one GEMM.
    const CK = Cin * K;
    const alloc = (n: number) => (x instanceof Float64Array ? new Float64Array(n) : new Float32Array(n));
    const cols = im2col(x, B, Cin, L, K, alloc);
    const yt = alloc(B * L * Cout); // [B*L, Cout]
    tsKernels.gemm(false, true, B * L, Cout, CK, cols, W, yt, false);
    for (let bb = 0; bb < B; bb++) {
      for (let l = 0; l < L; l++) {
        const r = (bb * L + l) * Cout;
        for (let co = 0; co < Cout; co++) {
          const v = yt[r + co]! + (bias ? bias[co]! : 0);
          y[(bb * Cout + co) * L + l] = relu ? Math.max(0, v) : v;
        }
      }
    }
  },

  conv1dBackward(x, W, dy, dx, dW, dbias, B, Cin, Cout, L, K, overwriteDx) {
    if (dx && overwriteDx) dx.fill(0);
    const pad = Math.floor(K / 2);
    const CK = Cin * K;
    const alloc = (n: number) => (x instanceof Float64Array ? new Float64Array(n) : new Float32Array(n));
    const dyt = alloc(B * L * Cout);
    for (let bb = 0; bb < B; bb++) {
      for (let co = 0; co < Cout; co++) {
        const o = (bb * Cout + co) * L;
        for (let l = 0; l < L; l++) dyt[(bb * L + l) * Cout + co] = dy[o + l]!;
      }
    }
    if (dW) tsKernels.gemm(true, false, Cout, CK, B * L, dyt, im2col(x, B, Cin, L, K, alloc), dW, true);
    if (dbias) for (let i = 0; i < B * L; i++) for (let co = 0; co < Cout; co++) dbias[co]! += dyt[i * Cout + co]!;
    if (dx) {
      const dcols = alloc(B * L * CK);
      tsKernels.gemm(false, false, B * L, CK, Cout, dyt, W, dcols, false);
      for (let bb = 0; bb < B; bb++) {
        for (let c = 0; c < Cin; c++) {
          const xo = (bb * Cin + c) * L;
          for (let l = 0; l < L; l++) {
            const row = (bb * L + l) * CK + c * K;
            for (let k = 0; k < K; k++) {
              const src = l + k - pad;
              if (src >= 0 && src < L) dx[xo + src]! += dcols[row + k]!;
            }
          }
        }
      }
    }
  },

  batchNorm(x, y, xhat, N, C, L, gamma, beta, stats, eps, training) {
    const m = N * L;
    if (training) {
      const sum = new Float64Array(C);
      const sq = new Float64Array(C);
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const base = (n * C + c) * L;
          for (let l = 0; l < L; l++) sum[c]! += x[base + l]!;
        }
      }
      for (let c = 0; c < C; c++) stats[c] = sum[c]! / m;
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const base = (n * C + c) * L;
          const mu = stats[c]!;
          for (let l = 0; l < L; l++) sq[c]! += (x[base + l]! - mu) ** 2;
        }
      }
      for (let c = 0; c < C; c++) {
        stats[C + c] = sq[c]! / m;
        stats[2 * C + c] = 1 / Math.sqrt(stats[C + c]! + eps);
      }
    }
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * L;
        const mu = stats[c]!;
        const is = stats[2 * C + c]!;
        for (let l = 0; l < L; l++) {
          const h = (x[base + l]! - mu) * is;
          xhat[base + l] = h;
          y[base + l] = gamma[c]! * h + beta[c]!;
        }
      }
    }
  },

  batchNormBackward(dy, xhat, dx, N, C, L, gamma, stats, training, dgamma, dbeta, overwriteDx) {
    if (dx && overwriteDx) dx.fill(0);
    const m = N * L;
    const sumDy = new Float64Array(C);
    const sumDyXhat = new Float64Array(C);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * L;
        for (let l = 0; l < L; l++) {
          sumDy[c]! += dy[base + l]!;
          sumDyXhat[c]! += dy[base + l]! * xhat[base + l]!;
        }
      }
    }
    if (dgamma) for (let c = 0; c < C; c++) dgamma[c]! += sumDyXhat[c]!;
    if (dbeta) for (let c = 0; c < C; c++) dbeta[c]! += sumDy[c]!;
    if (!dx) return;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * L;
        const k = gamma[c]! * stats[2 * C + c]!;
        if (training) {
          const a = k / m;
          for (let l = 0; l < L; l++) dx[base + l]! += a * (m * dy[base + l]! - sumDy[c]! - xhat[base + l]! * sumDyXhat[c]!);
        } else {
          for (let l = 0; l < L; l++) dx[base + l]! += k * dy[base + l]!;
        }
      }
    }
  },

  relu(x, y) {
    for (let i = 0; i < x.length; i++) y[i] = x[i]! > 0 ? x[i]! : 0;
  },

  reluBackward(y, dy, dx, overwrite) {
    if (overwrite) dx.fill(0);
    for (let i = 0; i < dy.length; i++) if (y[i]! > 0) dx[i]! += dy[i]!;
  },

  gelu(x, y) {
    for (let i = 0; i < x.length; i++) y[i] = x[i]! * 0.5 * (1 + erf(x[i]! / Math.SQRT2));
  },

  geluBackward(x, dy, dx, overwrite) {
    if (overwrite) dx.fill(0);
    for (let i = 0; i < dy.length; i++) {
      const v = x[i]!;
      dx[i]! += dy[i]! * (0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI));
    }
  },

  dropoutMask(mask, p, rng) {
    const keep = 1 / (1 - p);
    for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() >= p ? keep : 0;
  },

  attention(qkv, B, T, d, heads, scale, p, rng) {
    const dh = d / heads;
    const d3 = 3 * d;
    const alloc = (n: number) => (qkv instanceof Float64Array ? new Float64Array(n) : new Float32Array(n));
    // Per (b, h): contiguous Q (scaled), K, V [T, dh]; probabilities P [T, T]; dropout masks.
    const Q = alloc(B * heads * T * dh);
    const Kt = alloc(B * heads * T * dh);
    const V = alloc(B * heads * T * dh);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < heads; h++) {
        const o = (b * heads + h) * T * dh;
        for (let t = 0; t < T; t++) {
          const src = (b * T + t) * d3 + h * dh;
          for (let i = 0; i < dh; i++) {
            Q[o + t * dh + i] = qkv[src + i]! * scale;
            Kt[o + t * dh + i] = qkv[src + d + i]!;
            V[o + t * dh + i] = qkv[src + 2 * d + i]!;
          }
        }
      }
    }
    const P = alloc(B * heads * T * T);
    const mask = p > 0 ? alloc(B * heads * T * T) : null;
    const Pd = mask ? alloc(B * heads * T * T) : P;
    const O = alloc(B * heads * T * dh);
    for (let bh = 0; bh < B * heads; bh++) {
      const qo = bh * T * dh;
      const po = bh * T * T;
      const S = P.subarray(po, po + T * T);
      tsKernels.gemm(false, true, T, T, dh, Q.subarray(qo, qo + T * dh), Kt.subarray(qo, qo + T * dh), S, false);
      for (let t = 0; t < T; t++) {
        const r = t * T;
        let mx = -Infinity;
        for (let u = 0; u < T; u++) mx = Math.max(mx, S[r + u]!);
        let sum = 0;
        for (let u = 0; u < T; u++) {
          const e = Math.exp(S[r + u]! - mx);
          S[r + u] = e;
          sum += e;
        }
        for (let u = 0; u < T; u++) S[r + u]! /= sum;
      }
      if (mask) {
        const keep = 1 / (1 - p);
        for (let k = po; k < po + T * T; k++) {
          mask[k] = rng.uniform() >= p ? keep : 0;
          Pd[k] = P[k]! * mask[k]!;
        }
      }
      tsKernels.gemm(false, false, T, dh, T, Pd.subarray(po, po + T * T), V.subarray(qo, qo + T * dh), O.subarray(qo, qo + T * dh), false);
    }
    const y = alloc(B * T * d);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < heads; h++) {
        const o = (b * heads + h) * T * dh;
        for (let t = 0; t < T; t++) for (let i = 0; i < dh; i++) y[(b * T + t) * d + h * dh + i] = O[o + t * dh + i]!;
      }
    }
    return { y, P, M: mask, layout: "dense", extra: { Q, Kt, V, Pd } };
  },

  attentionBackward(saved, _qkv, dy, dqkv, B, T, d, heads, scale) {
    const { Q, Kt, V, Pd } = saved.extra as { Q: Arr; Kt: Arr; V: Arr; Pd: Arr };
    const { P, M: mask } = saved;
    const dh = d / heads;
    const d3 = 3 * d;
    const alloc = (n: number) => (dy instanceof Float64Array ? new Float64Array(n) : new Float32Array(n));
    const dO = alloc(T * dh);
    const dPd = alloc(T * T);
    const dS = alloc(T * T);
    const dQ = alloc(T * dh);
    const dK = alloc(T * dh);
    const dV = alloc(T * dh);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < heads; h++) {
        const bh = b * heads + h;
        const qo = bh * T * dh;
        const po = bh * T * T;
        for (let t = 0; t < T; t++) for (let i = 0; i < dh; i++) dO[t * dh + i] = dy[(b * T + t) * d + h * dh + i]!;
        // O = Pd V:  dPd = dO V^T, dV = Pd^T dO
        tsKernels.gemm(false, true, T, T, dh, dO, V.subarray(qo, qo + T * dh), dPd, false);
        tsKernels.gemm(true, false, T, dh, T, Pd.subarray(po, po + T * T), dO, dV, false);
        // dropout, then softmax: dS = P * (dP - sum_u dP P)
        for (let t = 0; t < T; t++) {
          const r = t * T;
          let dot = 0;
          for (let u = 0; u < T; u++) {
            const dp = mask ? dPd[r + u]! * mask[po + r + u]! : dPd[r + u]!;
            dS[r + u] = dp;
            dot += dp * P[po + r + u]!;
          }
          for (let u = 0; u < T; u++) dS[r + u] = P[po + r + u]! * (dS[r + u]! - dot);
        }
        // S = Qs K^T with Qs = Q * scale: dQs = dS K, dK = dS^T Qs
        tsKernels.gemm(false, false, T, dh, T, dS, Kt.subarray(qo, qo + T * dh), dQ, false);
        tsKernels.gemm(true, false, T, dh, T, dS, Q.subarray(qo, qo + T * dh), dK, false);
        for (let t = 0; t < T; t++) {
          const dst = (b * T + t) * d3 + h * dh;
          for (let i = 0; i < dh; i++) {
            dqkv[dst + i]! += dQ[t * dh + i]! * scale;
            dqkv[dst + d + i]! += dK[t * dh + i]!;
            dqkv[dst + 2 * d + i]! += dV[t * dh + i]!;
          }
        }
      }
    }
  },

  lstmForward(gates, Whh, hs, cs, mask, T, B, H) {
    const H4 = 4 * H;
    for (let t = 0; t < T; t++) {
      const g = gates.subarray(t * B * H4, (t + 1) * B * H4);
      tsKernels.gemm(false, true, B, H4, H, hs.subarray(t * B * H, (t + 1) * B * H), Whh, g, true);
      for (let b = 0; b < B; b++) {
        const prev = (t * B + b) * H;
        const next = prev + B * H;
        if (mask && mask[t * B + b] === 0) {
          for (let j = 0; j < H; j++) {
            hs[next + j] = hs[prev + j]!;
            cs[next + j] = cs[prev + j]!;
          }
          continue;
        }
        const o = b * H4;
        for (let j = 0; j < H; j++) {
          const i = sigmoid(g[o + j]!);
          const f = sigmoid(g[o + H + j]!);
          const c = Math.tanh(g[o + 2 * H + j]!);
          const u = sigmoid(g[o + 3 * H + j]!);
          [g[o + j], g[o + H + j], g[o + 2 * H + j], g[o + 3 * H + j]] = [i, f, c, u];
          const cell = f * cs[prev + j]! + i * c;
          cs[next + j] = cell;
          hs[next + j] = u * Math.tanh(cell);
        }
      }
    }
  },

  lstmBackward(gates, Whh, cs, mask, dOut, dh, dc, dGates, T, B, H) {
    const H4 = 4 * H;
    const dhPrev = dh instanceof Float64Array ? new Float64Array(B * H) : new Float32Array(B * H);
    for (let t = T - 1; t >= 0; t--) {
      if (dOut) for (let k = 0; k < B * H; k++) dh[k]! += dOut[t * B * H + k]!;
      const dg = dGates.subarray(t * B * H4, (t + 1) * B * H4);
      for (let b = 0; b < B; b++) {
        const o = b * H4;
        if (mask && mask[t * B + b] === 0) {
          dg.fill(0, o, o + H4);
          continue;
        }
        const g = (t * B + b) * H4;
        const at = (t * B + b) * H;
        for (let j = 0; j < H; j++) {
          const [i, f, c, u] = [gates[g + j]!, gates[g + H + j]!, gates[g + 2 * H + j]!, gates[g + 3 * H + j]!];
          const tc = Math.tanh(cs[at + B * H + j]!);
          const dhj = dh[b * H + j]!;
          const dcell = dc[b * H + j]! + dhj * u * (1 - tc * tc);
          dg[o + j] = dcell * c * i * (1 - i);
          dg[o + H + j] = dcell * cs[at + j]! * f * (1 - f);
          dg[o + 2 * H + j] = dcell * i * (1 - c * c);
          dg[o + 3 * H + j] = dhj * tc * u * (1 - u);
          dc[b * H + j] = dcell * f;
        }
      }
      // dh_t = dz W_hh; a masked row passes its gradient through unchanged (its dz is 0).
      tsKernels.gemm(false, false, B, H, H4, dg, Whh, dhPrev, false);
      if (mask) for (let b = 0; b < B; b++) if (mask[t * B + b] === 0) for (let j = 0; j < H; j++) dhPrev[b * H + j] = dh[b * H + j]!;
      dh.set(dhPrev);
    }
  },
};
