/**
 * Layers, each with PyTorch's parameter names and initialisation:
 *  - Linear / Conv1D: "weight" [out, in(, k)], "bias"; default init as PyTorch
 *    (kaiming_uniform(a=sqrt 5): U(+-1/sqrt(fan_in)) for weights and biases), or He-normal
 *    (std sqrt(2/fan_in), zero bias) as MODELS.md asks for TsSMNet and AutoResNet;
 *  - BatchNorm1d: weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked,
 *    momentum 0.1, eps 1e-5;
 *  - LayerNorm: weight 1, bias 0, eps 1e-5;
 *  - MultiheadAttention: in_proj_weight [3d, d] Xavier-uniform, in_proj_bias 0, out_proj Linear
 *    with zero bias;
 *  - TransformerEncoderLayer: pre-norm (norm_first), GELU, dropout where PyTorch puts it.
 */
import { Module } from "./module.js";
import * as ops from "./ops.js";
import type { Arr } from "./kernels/kernels.js";
import { alloc, Tensor, type DType } from "./tensor.js";
import type { Rng } from "../util/random.js";

export type Init = "torch" | "he";

export interface LayerOptions {
  rng: Rng;
  dtype?: DType;
}

function uniform(n: number, bound: number, o: LayerOptions): Tensor {
  const data = alloc(n, o.dtype ?? "float32");
  for (let i = 0; i < n; i++) data[i] = o.rng.between(-bound, bound);
  return new Tensor(data, [n]);
}

function normal(n: number, std: number, o: LayerOptions): Tensor {
  const data = alloc(n, o.dtype ?? "float32");
  for (let i = 0; i < n; i++) data[i] = std * o.rng.normal();
  return new Tensor(data, [n]);
}

function constant(n: number, value: number, o: { dtype?: DType }): Tensor {
  const data = alloc(n, o.dtype ?? "float32");
  data.fill(value);
  return new Tensor(data, [n]);
}

function shaped(t: Tensor, shape: number[]): Tensor {
  return new Tensor(t.data, shape);
}

function initWeights(shape: number[], fanIn: number, init: Init, o: LayerOptions): { weight: Tensor; bias: Tensor } {
  const n = shape.reduce((a, b) => a * b, 1);
  const outF = shape[0]!;
  if (init === "he") return { weight: shaped(normal(n, Math.sqrt(2 / fanIn), o), shape), bias: constant(outF, 0, o) };
  const bound = 1 / Math.sqrt(fanIn);
  return { weight: shaped(uniform(n, bound, o), shape), bias: uniform(outF, bound, o) };
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: LayerOptions & { init?: Init },
  ) {
    super();
    const { weight, bias } = initWeights([outFeatures, inFeatures], inFeatures, o.init ?? "torch", o);
    this.weight = this.param("weight", weight);
    this.bias = this.param("bias", bias);
  }

  forward(x: Tensor): Tensor {
    return ops.linear(x, this.weight, this.bias);
  }
}

export class Conv1D extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(inChannels: number, outChannels: number, kernel: number, o: LayerOptions & { init?: Init }) {
    super();
    if (kernel % 2 !== 1) throw new Error("Conv1D: 'same' padding needs an odd kernel");
    const { weight, bias } = initWeights([outChannels, inChannels, kernel], inChannels * kernel, o.init ?? "torch", o);
    this.weight = this.param("weight", weight);
    this.bias = this.param("bias", bias);
  }

  forward(x: Tensor): Tensor {
    return ops.conv1d(x, this.weight, this.bias);
  }
}

/** Whether two arrays hold the same bytes (native memcmp). */
function sameBytes(a: Arr, b: Arr): boolean {
  return (
    a.length === b.length &&
    a.constructor === b.constructor &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

/** A fold of batch norm into a layer, with copies of everything it was computed from. */
interface Fold {
  layerWeight: Tensor;
  transposed: boolean;
  sources: Arr[];
  weight: Tensor;
  bias: Tensor;
}

export class BatchNorm1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  private readonly state: ops.BatchNormState;
  private readonly tracked: BigInt64Array;
  private fold: Fold | null = null;

  constructor(channels: number, o: { dtype?: DType } = {}, momentum = 0.1, eps = 1e-5) {
    super();
    this.weight = this.param("weight", constant(channels, 1, o));
    this.bias = this.param("bias", constant(channels, 0, o));
    const runningMean = this.buffer("running_mean", constant(channels, 0, o).data);
    const runningVar = this.buffer("running_var", constant(channels, 1, o).data);
    this.tracked = this.buffer("num_batches_tracked", new BigInt64Array(1));
    this.state = { runningMean, runningVar, momentum, eps };
  }

  forward(x: Tensor): Tensor {
    if (this.training) this.tracked[0]! += 1n;
    return ops.batchNorm(x, this.weight, this.bias, this.state, this.training);
  }
  /**
   * The weight and bias of the preceding layer (Linear [out, in] or Conv1D [out, in, k]) with this
   * normalisation in eval mode folded in: per output channel c, s = gamma / sqrt(var + eps),
   * W' = s W, b' = s (b - mean) + beta. Inference then skips the normalisation pass (the result
   * equals layer-then-BN up to float32 rounding). New arrays, the caller's to keep.
   */
  foldInto(weight: Tensor, bias: Tensor | null): { weight: Tensor; bias: Tensor } {
    const C = this.weight.size;
    const per = weight.size / C;
    const W = alloc(weight.size, weight.dtype);
    const b = alloc(C, weight.dtype);
    const { runningMean, runningVar, eps } = this.state;
    const [w, g, beta] = [weight.data, this.weight.data, this.bias.data];
    for (let c = 0; c < C; c++) {
      const scale = g[c]! / Math.sqrt(runningVar[c]! + eps);
      for (let k = c * per; k < (c + 1) * per; k++) W[k] = w[k]! * scale;
      b[c] = ((bias ? bias.data[c]! : 0) - runningMean[c]!) * scale + beta[c]!;
    }
    return { weight: new Tensor(W, [...weight.shape]), bias: new Tensor(b, [C]) };
  }

  /**
   * foldInto()'s result for inference, kept and reused while nothing it comes from changes: the
   * layer's weight and bias and this layer's parameters and running statistics are compared in
   * full with copies at every call (a memcmp, about 30 us for TsSMNet's 1280 x 128 weight, against
   * about 0.5 ms to fold and transpose it), so a weight set by any route (optimiser, load, a
   * replica's copy) is never served stale. transposed: the weight as [in, out] (a Linear's, for
   * ops.linearTransposed). The arrays are the layer's own, valid until the next call.
   */
  folded(weight: Tensor, bias: Tensor | null, transposed: boolean): { weight: Tensor; bias: Tensor } {
    const { runningMean, runningVar } = this.state;
    const sources = [weight.data, bias ? bias.data : new Float32Array(0), this.weight.data, this.bias.data, runningMean, runningVar];
    const f = this.fold;
    if (f && f.layerWeight === weight && f.transposed === transposed && sources.every((a, i) => sameBytes(a, f.sources[i]!))) return f;
    let { weight: W, bias: b } = this.foldInto(weight, bias);
    if (transposed) {
      const [outF, inF] = weight.shape as [number, number];
      const t = alloc(W.size, weight.dtype);
      for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) t[i * outF + o] = W.data[o * inF + i]!;
      W = new Tensor(t, [inF, outF]);
    }
    this.fold = { layerWeight: weight, transposed, sources: sources.map((a) => a.slice()), weight: W, bias: b };
    return this.fold;
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    width: number,
    o: { dtype?: DType } = {},
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.param("weight", constant(width, 1, o));
    this.bias = this.param("bias", constant(width, 0, o));
  }

  forward(x: Tensor): Tensor {
    return ops.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class Dropout extends Module {
  constructor(
    readonly p: number,
    private readonly rng: Rng,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return ops.dropout(x, this.p, this.training, this.rng);
  }
}

export class MultiheadAttention extends Module {
  readonly inProjWeight: Tensor;
  readonly inProjBias: Tensor;
  readonly outProj: Linear;

  constructor(
    readonly width: number,
    readonly heads: number,
    readonly p: number,
    private readonly o: LayerOptions,
  ) {
    super();
    const bound = Math.sqrt(6 / (width + 3 * width)); // xavier_uniform_ on [3d, d]
    this.inProjWeight = this.param("in_proj_weight", shaped(uniform(3 * width * width, bound, o), [3 * width, width]));
    this.inProjBias = this.param("in_proj_bias", constant(3 * width, 0, o));
    this.outProj = this.child("out_proj", new Linear(width, width, o));
    this.outProj.bias.data.fill(0);
  }

  forward(x: Tensor): Tensor {
    const qkv = ops.linear(x, this.inProjWeight, this.inProjBias);
    return this.outProj.forward(ops.attention(qkv, this.heads, this.p, this.training, this.o.rng));
  }
}

/** PyTorch's nn.TransformerEncoderLayer(norm_first=True, activation="gelu", batch_first=True). */
export class TransformerEncoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  private readonly dropout: Dropout;
  private readonly dropout1: Dropout;
  private readonly dropout2: Dropout;

  constructor(width: number, heads: number, feedForward: number, p: number, o: LayerOptions) {
    super();
    this.selfAttn = this.child("self_attn", new MultiheadAttention(width, heads, p, o));
    this.linear1 = this.child("linear1", new Linear(width, feedForward, o));
    this.dropout = this.child("dropout", new Dropout(p, o.rng));
    this.linear2 = this.child("linear2", new Linear(feedForward, width, o));
    this.norm1 = this.child("norm1", new LayerNorm(width, o));
    this.norm2 = this.child("norm2", new LayerNorm(width, o));
    this.dropout1 = this.child("dropout1", new Dropout(p, o.rng));
    this.dropout2 = this.child("dropout2", new Dropout(p, o.rng));
  }

  forward(x: Tensor): Tensor {
    const a = this.dropout1.forward(this.selfAttn.forward(this.norm1.forward(x)));
    const h = ops.add(x, a);
    const f = this.linear2.forward(this.dropout.forward(ops.gelu(this.linear1.forward(this.norm2.forward(h)))));
    return ops.add(h, this.dropout2.forward(f));
  }
}
