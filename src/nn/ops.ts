/**
 * Differentiable operations. Each computes its output (heavy arithmetic through kernels()) and
 * records how to add its inputs' gradients. Shapes follow PyTorch: linear weights [out, in],
 * conv1d weights [out, in, k], activations [batch, channels, length].
 */
import type { Arr } from "./kernels/kernels.js";
import { kernels } from "./kernels/select.js";
export { erf } from "./kernels/ts-kernels.js";
import { isGradEnabled, result, scratch as alloc, sizeOf, Tensor, type DType } from "./tensor.js";
import type { Rng } from "../util/random.js";

/** An output array the op (or its kernel) writes entirely: not zero-filled when recycled. */
function overwritten(n: number, dtype: DType): Arr {
  return alloc(n, dtype, false);
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

function addInto(target: Arr, source: Arr): void {
  kernels().addInto(target, source);
}

/**
 * x.grad += g where the op passes its output gradient through unchanged (reshape, add). When x
 * is an op output without a gradient yet, x.grad becomes g itself: g is dead once this backward
 * has run, and both live for the same step. Parameters (leaves) keep their own buffers. Only one
 * tensor may take over a given g.
 */
function passGradient(x: Tensor, g: Arr): void {
  if (!x.grad && x.backwardFn && g.length === x.size) x.grad = g;
  else addInto(x.gradBuffer(), g);
}

/**
 * What may follow a layer inside its kernel at inference (no gradients): a residual added
 * (same shape as the output) and a ReLU, so a residual block's relu(layer(x) + skip) is one
 * kernel call instead of three passes.
 */
export interface Epilogue {
  residual?: Tensor | null;
  relu?: boolean;
}

function checkEpilogue(op: string, e: Epilogue | undefined, outSize: number): void {
  if (!e || (!e.residual && !e.relu)) return;
  check(!isGradEnabled(), `${op}: a residual or ReLU epilogue is for inference only (no gradients)`);
  if (e.residual) check(e.residual.size === outSize, `${op}: residual has ${e.residual.size} values, the output ${outSize}`);
}

/**
 * The forward of a dense layer: y = x op(W) + b over the last axis, then the epilogue, with
 * op(W) = W^T for a weight [out, in] or W itself for one given transposed, [in, out].
 */
function denseForward(
  x: Tensor,
  W: Tensor,
  b: Tensor | null,
  epilogue: Epilogue | undefined,
  transposed: boolean,
): { y: Arr; n: number; inF: number; outF: number } {
  const [inF, outF] = (transposed ? W.shape : [W.shape[1], W.shape[0]]) as [number, number];
  check(x.shape[x.shape.length - 1] === inF, `linear: input has ${x.shape[x.shape.length - 1]} features, weight expects ${inF}`);
  const n = x.size / inF;
  checkEpilogue("linear", epilogue, n * outF);
  const y = overwritten(n * outF, x.dtype);
  const residual = epilogue?.residual;
  if (residual) y.set(residual.data);
  kernels().gemm(false, !transposed, n, outF, inF, x.data, W.data, y, !!residual, b ? b.data : null, epilogue?.relu);
  return { y, n, inF, outF };
}

/** y = x W^T + b over the last axis, then the epilogue; x [..., in], W [out, in], b [out]. */
export function linear(x: Tensor, W: Tensor, b: Tensor | null, epilogue?: Epilogue): Tensor {
  const { y, n, inF, outF } = denseForward(x, W, b, epilogue, false);
  return result(y, [...x.shape.slice(0, -1), outF], b ? [x, W, b] : [x, W], (out) => {
    const dy = out.grad!;
    if (x.requiresGrad) {
      const { grad, fresh } = x.gradTarget();
      kernels().gemm(false, false, n, inF, outF, dy, W.data, grad, !fresh);
    }
    if (W.requiresGrad) kernels().gemm(true, false, outF, inF, n, dy, x.data, W.gradBuffer(), true);
    if (b && b.requiresGrad) kernels().columnSums(dy, n, outF, b.gradBuffer());
  });
}

/**
 * linear() with the weight given transposed, Wt [in, out]: for inference, where a layer's weight
 * (batch norm folded in) is transposed once and cached instead of at every batch. No gradients.
 */
export function linearTransposed(x: Tensor, Wt: Tensor, b: Tensor | null, epilogue?: Epilogue): Tensor {
  check(!isGradEnabled(), "linearTransposed: for inference only (no gradients)");
  const { y, outF } = denseForward(x, Wt, b, epilogue, true);
  return new Tensor(y, [...x.shape.slice(0, -1), outF]);
}

/** 1-D convolution with 'same' zero padding (odd k); x [B, Cin, L], W [Cout, Cin, K], b [Cout]. */
export function conv1d(x: Tensor, W: Tensor, b: Tensor | null, epilogue?: { relu?: boolean }): Tensor {
  const [B, Cin, L] = x.shape as [number, number, number];
  const [Cout, Cin2, K] = W.shape as [number, number, number];
  check(Cin === Cin2, `conv1d: input has ${Cin} channels, weight expects ${Cin2}`);
  check(K % 2 === 1, `conv1d: kernel size ${K} must be odd for 'same' padding`);
  checkEpilogue("conv1d", epilogue, B * Cout * L);
  const y = overwritten(B * Cout * L, x.dtype);
  const Kn = kernels();
  Kn.conv1d(x.data, W.data, b ? b.data : null, y, B, Cin, Cout, L, K, epilogue?.relu);
  return result(y, [B, Cout, L], b ? [x, W, b] : [x, W], (out) => {
    const dx = x.requiresGrad ? x.gradTarget() : null;
    Kn.conv1dBackward(
      x.data,
      W.data,
      out.grad!,
      dx ? dx.grad : null,
      W.requiresGrad ? W.gradBuffer() : null,
      b && b.requiresGrad ? b.gradBuffer() : null,
      B,
      Cin,
      Cout,
      L,
      K,
      dx?.fresh,
    );
  });
}

export interface BatchNormState {
  runningMean: Arr;
  runningVar: Arr;
  momentum: number;
  eps: number;
}

/**
 * Batch normalisation over [N, C] or [N, C, L] (statistics per channel over N and L). Training
 * uses the batch's biased variance and updates the running statistics with the unbiased one
 * (PyTorch's rule); evaluation uses the running statistics.
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, state: BatchNormState, training: boolean): Tensor {
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const L = x.shape.length === 3 ? x.shape[2]! : 1;
  const m = N * L;
  // stats = [mean | biased variance | 1 / sqrt(variance + eps)] per channel.
  const stats = new Float64Array(3 * C);
  if (training) check(m > 1, "batchNorm: training needs more than one value per channel");
  else {
    for (let c = 0; c < C; c++) {
      stats[c] = state.runningMean[c]!;
      stats[2 * C + c] = 1 / Math.sqrt(state.runningVar[c]! + state.eps);
    }
  }
  const xhat = overwritten(x.size, x.dtype);
  const y = overwritten(x.size, x.dtype);
  const K = kernels();
  K.batchNorm(x.data, y, xhat, N, C, L, gamma.data, beta.data, stats, state.eps, training);
  if (training) {
    for (let c = 0; c < C; c++) {
      state.runningMean[c] = (1 - state.momentum) * state.runningMean[c]! + state.momentum * stats[c]!;
      state.runningVar[c] = (1 - state.momentum) * state.runningVar[c]! + (state.momentum * stats[C + c]! * m) / (m - 1);
    }
  }
  return result(y, [...x.shape], [x, gamma, beta], (out) => {
    const dx = x.requiresGrad ? x.gradTarget() : null;
    K.batchNormBackward(
      out.grad!,
      xhat,
      dx ? dx.grad : null,
      N,
      C,
      L,
      gamma.data,
      stats,
      training,
      gamma.requiresGrad ? gamma.gradBuffer() : null,
      beta.requiresGrad ? beta.gradBuffer() : null,
      dx?.fresh,
    );
  });
}

export function relu(x: Tensor): Tensor {
  const y = overwritten(x.size, x.dtype);
  kernels().relu(x.data, y);
  return result(y, [...x.shape], [x], (out) => {
    const { grad, fresh } = x.gradTarget();
    kernels().reluBackward(y, out.grad!, grad, fresh);
  });
}

/** GELU, exact (erf) form as PyTorch's default: x * Phi(x). */
export function gelu(x: Tensor): Tensor {
  const y = overwritten(x.size, x.dtype);
  kernels().gelu(x.data, y);
  return result(y, [...x.shape], [x], (out) => {
    const { grad, fresh } = x.gradTarget();
    kernels().geluBackward(x.data, out.grad!, grad, fresh);
  });
}

export function add(a: Tensor, b: Tensor): Tensor {
  check(a.size === b.size, `add: shapes [${a.shape}] and [${b.shape}] differ`);
  const y = overwritten(a.size, a.dtype);
  kernels().add(a.data, b.data, y);
  return result(y, [...a.shape], [a, b], (out) => {
    // One tensor at most may take over out.grad: two distinct tensors sharing one buffer would
    // see each other's later gradient contributions.
    if (a.requiresGrad) passGradient(a, out.grad!);
    if (b.requiresGrad) addInto(b.gradBuffer(), out.grad!);
  });
}

/** Inverted dropout: zero with probability p, scale the rest by 1 / (1 - p). */
export function dropout(x: Tensor, p: number, training: boolean, rng: Rng): Tensor {
  if (!training || p === 0) return x;
  const mask = overwritten(x.size, x.dtype);
  kernels().dropoutMask(mask, p, rng);
  const y = overwritten(x.size, x.dtype);
  kernels().mul(x.data, mask, y, false);
  return result(y, [...x.shape], [x], (out) => {
    const { grad, fresh } = x.gradTarget();
    kernels().mul(out.grad!, mask, grad, !fresh);
  });
}

/** Same values, another shape (row-major order unchanged). */
export function reshape(x: Tensor, shape: number[]): Tensor {
  check(sizeOf(shape) === x.size, `reshape: [${x.shape}] cannot become [${shape}]`);
  return result(x.data, shape, [x], (out) => passGradient(x, out.grad!));
}

/** Mean squared error of pred [N] (or [N, 1]) against target values [N]. */
export function mseLoss(pred: Tensor, target: ArrayLike<number>): Tensor {
  check(pred.size === target.length, `mseLoss: ${pred.size} predictions, ${target.length} targets`);
  let s = 0;
  for (let i = 0; i < pred.size; i++) s += (pred.data[i]! - target[i]!) ** 2;
  const y = alloc(1, pred.dtype);
  y[0] = s / pred.size;
  return result(y, [], [pred], (out) => {
    const g = out.grad![0]!;
    const dp = pred.gradBuffer();
    for (let i = 0; i < pred.size; i++) dp[i]! += (2 * g * (pred.data[i]! - target[i]!)) / pred.size;
  });
}

/** Per-feature tokens of the FT-Transformer: out[b, f, :] = x[b, f] * w[f, :] + bias[f, :]. */
export function featureTokens(x: Tensor, w: Tensor, bias: Tensor): Tensor {
  const [B, F] = x.shape as [number, number];
  const d = w.shape[1]!;
  check(w.shape[0] === F, `featureTokens: ${F} features, weights for ${w.shape[0]}`);
  const y = alloc(B * F * d, x.dtype);
  for (let b = 0; b < B; b++) {
    for (let f = 0; f < F; f++) {
      const v = x.data[b * F + f]!;
      const o = (b * F + f) * d;
      for (let k = 0; k < d; k++) y[o + k] = v * w.data[f * d + k]! + bias.data[f * d + k]!;
    }
  }
  return result(y, [B, F, d], [x, w, bias], (out) => {
    const dy = out.grad!;
    const dx = x.requiresGrad ? x.gradBuffer() : null;
    const dw = w.requiresGrad ? w.gradBuffer() : null;
    const db = bias.requiresGrad ? bias.gradBuffer() : null;
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) {
        const v = x.data[b * F + f]!;
        const o = (b * F + f) * d;
        let s = 0;
        for (let k = 0; k < d; k++) {
          const g = dy[o + k]!;
          s += g * w.data[f * d + k]!;
          if (dw) dw[f * d + k]! += g * v;
          if (db) db[f * d + k]! += g;
        }
        if (dx) dx[b * F + f]! += s;
      }
    }
  });
}

/** Prepends one learned token to every sequence: token [d] (any shape of d values), h [B, T, d] -> [B, T+1, d]. */
export function prependToken(token: Tensor, h: Tensor): Tensor {
  const [B, T, d] = h.shape as [number, number, number];
  check(token.size === d, `prependToken: token of ${token.size} values for width ${d}`);
  const y = alloc(B * (T + 1) * d, h.dtype);
  for (let b = 0; b < B; b++) {
    y.set(token.data, b * (T + 1) * d);
    y.set(h.data.subarray(b * T * d, (b + 1) * T * d), (b * (T + 1) + 1) * d);
  }
  return result(y, [B, T + 1, d], [token, h], (out) => {
    const dy = out.grad!;
    if (token.requiresGrad) {
      const dt = token.gradBuffer();
      for (let b = 0; b < B; b++) for (let k = 0; k < d; k++) dt[k]! += dy[b * (T + 1) * d + k]!;
    }
    if (h.requiresGrad) {
      const dh = h.gradBuffer();
      for (let b = 0; b < B; b++) {
        const src = (b * (T + 1) + 1) * d;
        const dst = b * T * d;
        for (let k = 0; k < T * d; k++) dh[dst + k]! += dy[src + k]!;
      }
    }
  });
}

/** h[:, index, :] of h [B, T, d] -> [B, d]. */
export function selectToken(h: Tensor, index: number): Tensor {
  const [B, T, d] = h.shape as [number, number, number];
  const y = alloc(B * d, h.dtype);
  for (let b = 0; b < B; b++) y.set(h.data.subarray((b * T + index) * d, (b * T + index + 1) * d), b * d);
  return result(y, [B, d], [h], (out) => {
    const dh = h.gradBuffer();
    const dy = out.grad!;
    for (let b = 0; b < B; b++) for (let k = 0; k < d; k++) dh[(b * T + index) * d + k]! += dy[b * d + k]!;
  });
}

/** Layer normalisation over the last axis. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const d = x.shape[x.shape.length - 1]!;
  const rows = x.size / d;
  const xhat = overwritten(x.size, x.dtype);
  const invStd = overwritten(rows, x.dtype);
  const y = overwritten(x.size, x.dtype);
  const K = kernels();
  K.layerNorm(x.data, y, xhat, invStd, rows, d, gamma.data, beta.data, eps);
  return result(y, [...x.shape], [x, gamma, beta], (out) => {
    const affine = gamma.requiresGrad || beta.requiresGrad;
    K.layerNormBackward(
      out.grad!,
      xhat,
      invStd,
      rows,
      d,
      gamma.data,
      x.requiresGrad ? x.gradBuffer() : null,
      affine ? gamma.gradBuffer() : null,
      affine ? beta.gradBuffer() : null,
    );
  });
}

/**
 * The core of multi-head self-attention: qkv [B, T, 3d] (q, k, v projections side by side, as
 * PyTorch's in_proj) -> [B, T, d], the heads' outputs concatenated (before out_proj).
 * softmax(q k^T / sqrt(d/H)), dropout on the attention weights in training, times v.
 * The arithmetic is a kernel (WebAssembly SIMD, or the TypeScript oracle).
 */
export function attention(qkv: Tensor, heads: number, p: number, training: boolean, rng: Rng): Tensor {
  const [B, T, d3] = qkv.shape as [number, number, number];
  const d = d3 / 3;
  check(Number.isInteger(d) && d % heads === 0, `attention: width ${d3} is not 3 x a multiple of ${heads} heads`);
  const scale = 1 / Math.sqrt(d / heads);
  const K = kernels();
  // Without a backward pass to come, the probabilities need not be kept.
  const saved = K.attention(qkv.data, B, T, d, heads, scale, training ? p : 0, rng, isGradEnabled() && qkv.requiresGrad, (n) => overwritten(n, qkv.dtype));
  return result(saved.y, [B, T, d], [qkv], (out) => K.attentionBackward(saved, qkv.data, out.grad!, qkv.gradBuffer(), B, T, d, heads, scale));
}

/**
 * Values offset..offset + size(shape) - 1 of x (row-major) as a tensor of `shape`: a view, no
 * copy (x's values must not change while it is used); its gradient adds into that range of x's.
 */
export function slice(x: Tensor, offset: number, shape: number[]): Tensor {
  const n = sizeOf(shape);
  check(offset >= 0 && offset + n <= x.size, `slice: values ${offset}..${offset + n - 1} of a tensor of ${x.size}`);
  return result(x.data.subarray(offset, offset + n), shape, [x], (out) => addInto(x.gradBuffer().subarray(offset, offset + n), out.grad!));
}

/** Tensors of the same shape stacked along a new first axis: [k, ...shape]. */
export function stack(xs: Tensor[]): Tensor {
  check(xs.length > 0, "stack: no tensors");
  const shape = xs[0]!.shape;
  const n = xs[0]!.size;
  for (const x of xs) check(x.size === n, `stack: shapes [${shape}] and [${x.shape}] differ`);
  const y = overwritten(n * xs.length, xs[0]!.dtype);
  xs.forEach((x, k) => y.set(x.data, k * n));
  return result(y, [xs.length, ...shape], xs, (out) => {
    xs.forEach((x, k) => {
      if (x.requiresGrad) addInto(x.gradBuffer(), out.grad!.subarray(k * n, (k + 1) * n));
    });
  });
}

/** Columns start..start + width - 1 of every row of x [B, F], as [B, width] (a copy); its gradient adds into those columns. */
export function columns(x: Tensor, start: number, width: number): Tensor {
  check(x.shape.length === 2, `columns: input of shape [${x.shape}], expected [rows, features]`);
  const [B, F] = x.shape as [number, number];
  check(start >= 0 && width >= 1 && start + width <= F, `columns: ${start}..${start + width - 1} of ${F} columns`);
  const y = overwritten(B * width, x.dtype);
  for (let b = 0; b < B; b++) y.set(x.data.subarray(b * F + start, b * F + start + width), b * width);
  return result(y, [B, width], [x], (out) => {
    const g = x.gradBuffer();
    const go = out.grad!;
    for (let b = 0; b < B; b++) for (let j = 0; j < width; j++) g[b * F + start + j]! += go[b * width + j]!;
  });
}

/** [a | b]: the columns of a [B, p] followed by those of b [B, q], as [B, p + q]. */
export function concatColumns(a: Tensor, b: Tensor): Tensor {
  check(a.shape.length === 2 && b.shape.length === 2 && a.shape[0] === b.shape[0], `concatColumns: shapes [${a.shape}] and [${b.shape}]`);
  const [B, p] = a.shape as [number, number];
  const q = b.shape[1]!;
  const y = overwritten(B * (p + q), a.dtype);
  for (let r = 0; r < B; r++) {
    y.set(a.data.subarray(r * p, (r + 1) * p), r * (p + q));
    y.set(b.data.subarray(r * q, (r + 1) * q), r * (p + q) + p);
  }
  return result(y, [B, p + q], [a, b], (out) => {
    const go = out.grad!;
    if (a.requiresGrad) {
      const g = a.gradBuffer();
      for (let r = 0; r < B; r++) for (let j = 0; j < p; j++) g[r * p + j]! += go[r * (p + q) + j]!;
    }
    if (b.requiresGrad) {
      const g = b.gradBuffer();
      for (let r = 0; r < B; r++) for (let j = 0; j < q; j++) g[r * q + j]! += go[r * (p + q) + p + j]!;
    }
  });
}
