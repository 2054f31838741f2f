/**
 * The networks of MODELS.md on the engine, with the PyTorch reference's state_dict names
 * (../shared/reference/models_torch.py), so weights move between the two unchanged:
 *
 *  - residual autoencoder: e1..e4 = Dense+BN+ReLU (128, 64, 32, 16), dropout 0.2 on the code,
 *    d3/d2/d1 = Dense+BN (32, 64, 128) added to e3/e2/e1, then ReLU; head Dense(128 -> 1).
 *  - AutoResNet: that autoencoder on the standardised inputs.
 *  - TsSMNet: Conv1D(1->16,k3,same)+BN+ReLU, Conv1D(16->32,k3,same)+BN+ReLU over the feature
 *    axis, channel-major flatten (32 * n_in), then the autoencoder. He-normal init throughout.
 *  - FT-Transformer: token_i = w_i x_i + b_i (d 32), [CLS] prepended, 3 pre-norm encoder layers
 *    (4 heads, feed-forward 64, GELU, dropout 0.1), LayerNorm, Linear(32 -> 1) on [CLS].
 *  - LSTM network (issue 26, not in MODELS.md): nn.LSTM over a window of days, Linear(hidden -> 1)
 *    on the last step's state.
 *  - the sequence model's network (issue 26, ours): nn.LSTM over a window of days (steps before
 *    the cube's start masked), its last state beside the row's tabular inputs into a small head.
 */
import { BatchNorm1d, Conv1D, Dropout, LayerNorm, Linear, TransformerEncoderLayer, type LayerOptions } from "../nn/layers.js";
import { LSTM } from "../nn/lstm.js";
import { Module, ModuleList } from "../nn/module.js";
import * as ops from "../nn/ops.js";
import { alloc, isGradEnabled, Tensor, type DType } from "../nn/tensor.js";
import { Rng } from "../util/random.js";

export type NetName = "tssmnet" | "autoresnet" | "transformer" | "lstm" | "sequence";

export abstract class Net extends Module {
  abstract readonly nIn: number;
  /** x [B, nIn] -> predictions [B]. */
  abstract forward(x: Tensor): Tensor;
}

/** Inference without gradients: batch norm folds into the preceding layer (BatchNorm1d.folded). */
function foldable(bn: BatchNorm1d): boolean {
  return !bn.training && !isGradEnabled();
}

/** relu(bn(conv(x))): one kernel call at inference (batch norm folded, ReLU fused). */
function convBNReLU(conv: Conv1D, bn: BatchNorm1d, x: Tensor): Tensor {
  if (!foldable(bn)) return ops.relu(bn.forward(conv.forward(x)));
  const { weight, bias } = bn.folded(conv.weight, conv.bias, false);
  return ops.conv1d(x, weight, bias, { relu: true });
}

/** Dense + BatchNorm + ReLU (plus a residual before the ReLU in the decoder). */
class DenseBN extends Module {
  readonly linear: Linear;
  readonly bn: BatchNorm1d;
  constructor(nIn: number, nOut: number, o: LayerOptions) {
    super();
    this.linear = this.child("0", new Linear(nIn, nOut, { ...o, init: "he" }));
    this.bn = this.child("1", new BatchNorm1d(nOut, o));
  }
  /**
   * relu(bn(linear(x)) + residual) (residual null: none): one kernel call at inference (batch
   * norm folded, residual and ReLU fused), separate ops when the graph is recorded.
   */
  forward(x: Tensor, residual: Tensor | null = null): Tensor {
    if (foldable(this.bn)) {
      const { weight, bias } = this.bn.folded(this.linear.weight, this.linear.bias, true);
      return ops.linearTransposed(x, weight, bias, { residual, relu: true });
    }
    const y = this.bn.forward(this.linear.forward(x));
    return ops.relu(residual ? ops.add(y, residual) : y);
  }
}

export class ResidualAutoencoder extends Module {
  private readonly e1: DenseBN;
  private readonly e2: DenseBN;
  private readonly e3: DenseBN;
  private readonly e4: DenseBN;
  private readonly drop: Dropout;
  private readonly d3: DenseBN;
  private readonly d2: DenseBN;
  private readonly d1: DenseBN;
  private readonly head: Linear;

  constructor(nIn: number, o: LayerOptions, dropout = 0.2) {
    super();
    this.e1 = this.child("e1", new DenseBN(nIn, 128, o));
    this.e2 = this.child("e2", new DenseBN(128, 64, o));
    this.e3 = this.child("e3", new DenseBN(64, 32, o));
    this.e4 = this.child("e4", new DenseBN(32, 16, o));
    this.drop = this.child("drop", new Dropout(dropout, o.rng));
    this.d3 = this.child("d3", new DenseBN(16, 32, o));
    this.d2 = this.child("d2", new DenseBN(32, 64, o));
    this.d1 = this.child("d1", new DenseBN(64, 128, o));
    this.head = this.child("head", new Linear(128, 1, { ...o, init: "he" }));
  }

  forward(x: Tensor): Tensor {
    const e1 = this.e1.forward(x);
    const e2 = this.e2.forward(e1);
    const e3 = this.e3.forward(e2);
    const code = this.drop.forward(this.e4.forward(e3));
    const d3 = this.d3.forward(code, e3);
    const d2 = this.d2.forward(d3, e2);
    const d1 = this.d1.forward(d2, e1);
    const out = this.head.forward(d1);
    return ops.reshape(out, [out.shape[0]!]);
  }
}

export interface NetOptions {
  seed: number;
  dtype?: DType;
  /** Dropout probability (default: 0.2 on the autoencoder code, 0.1 in the Transformer). */
  dropout?: number;
  /**
   * The LSTM networks' shape: days per row and the state's width; for the sequence model also
   * the channels of each day (nIn = steps x channels + the tabular inputs), else nIn = steps x
   * inputs per day.
   */
  sequence?: { steps: number; hidden: number; channels?: number };
}

export class AutoResNet extends Net {
  private readonly core: ResidualAutoencoder;
  constructor(
    readonly nIn: number,
    o: NetOptions,
  ) {
    super();
    this.core = this.child("core", new ResidualAutoencoder(nIn, { rng: new Rng(o.seed), dtype: o.dtype }, o.dropout ?? 0.2));
  }
  forward(x: Tensor): Tensor {
    return this.core.forward(x);
  }
}

class ConvStack extends Module {
  private readonly c1: Conv1D;
  private readonly b1: BatchNorm1d;
  private readonly c2: Conv1D;
  private readonly b2: BatchNorm1d;
  constructor(c1: number, c2: number, k: number, o: LayerOptions) {
    super();
    // nn.Sequential(conv, bn, relu, conv, bn, relu): indices 0, 1, 3, 4 carry weights.
    this.c1 = this.child("0", new Conv1D(1, c1, k, { ...o, init: "he" }));
    this.b1 = this.child("1", new BatchNorm1d(c1, o));
    this.c2 = this.child("3", new Conv1D(c1, c2, k, { ...o, init: "he" }));
    this.b2 = this.child("4", new BatchNorm1d(c2, o));
  }
  forward(x: Tensor): Tensor {
    return convBNReLU(this.c2, this.b2, convBNReLU(this.c1, this.b1, x));
  }
}

export class TsSMNet extends Net {
  private readonly conv: ConvStack;
  private readonly core: ResidualAutoencoder;
  constructor(
    readonly nIn: number,
    o: NetOptions,
    readonly channels: [number, number] = [16, 32],
    kernel = 3,
  ) {
    super();
    const layer = { rng: new Rng(o.seed), dtype: o.dtype };
    this.conv = this.child("conv", new ConvStack(channels[0], channels[1], kernel, layer));
    this.core = this.child("core", new ResidualAutoencoder(nIn * channels[1], layer, o.dropout ?? 0.2));
  }
  forward(x: Tensor): Tensor {
    const B = x.shape[0]!;
    const h = this.conv.forward(ops.reshape(x, [B, 1, this.nIn])); // [B, 32, nIn]
    return this.core.forward(ops.reshape(h, [B, this.channels[1] * this.nIn])); // channel-major flatten
  }
}

export class FTTransformer extends Net {
  readonly w: Tensor;
  readonly b: Tensor;
  readonly cls: Tensor;
  private readonly layers: TransformerEncoderLayer[];
  private readonly norm: LayerNorm;
  private readonly head: Linear;

  constructor(
    readonly nIn: number,
    o: NetOptions,
    readonly width = 32,
    depth = 3,
    heads = 4,
    feedForward = 64,
  ) {
    super();
    const dropout = o.dropout ?? 0.1;
    const layer: LayerOptions = { rng: new Rng(o.seed), dtype: o.dtype };
    const bound = 1 / Math.sqrt(width);
    const u = (n: number, shape: number[]) => {
      const data = alloc(n, o.dtype ?? "float32");
      for (let i = 0; i < n; i++) data[i] = layer.rng.between(-bound, bound);
      return new Tensor(data, shape);
    };
    this.w = this.param("w", u(nIn * width, [nIn, width]));
    this.b = this.param("b", u(nIn * width, [nIn, width]));
    this.cls = this.param("cls", u(width, [1, 1, width]));
    const layers = Array.from({ length: depth }, () => new TransformerEncoderLayer(width, heads, feedForward, dropout, layer));
    this.layers = this.child("layers", new ModuleList(layers)).items;
    this.norm = this.child("norm", new LayerNorm(width, layer));
    this.head = this.child("head", new Linear(width, 1, layer));
  }

  forward(x: Tensor): Tensor {
    let h = ops.prependToken(this.cls, ops.featureTokens(x, this.w, this.b));
    for (const l of this.layers) h = l.forward(h);
    const out = this.head.forward(this.norm.forward(ops.selectToken(h, 0)));
    return ops.reshape(out, [out.shape[0]!]);
  }
}

/**
 * An LSTM over a window of days and a linear head on its last state (PyTorch: nn.LSTM(inputs,
 * hidden, batch_first=True) named `lstm`, nn.Linear(hidden, 1) named `head`). A row of x
 * [B, steps * inputs] is the window day by day (every input of the first day, then the next day's).
 */
export class LstmNet extends Net {
  readonly lstm: LSTM;
  private readonly head: Linear;
  readonly steps: number;

  constructor(
    readonly nIn: number,
    o: NetOptions,
  ) {
    super();
    if (!o.sequence) throw new Error("LstmNet: the window's steps and the hidden width are needed (NetOptions.sequence)");
    const { steps, hidden } = o.sequence;
    if (!Number.isInteger(nIn / steps)) throw new Error(`LstmNet: ${nIn} inputs do not make ${steps} days`);
    this.steps = steps;
    const layer: LayerOptions = { rng: new Rng(o.seed), dtype: o.dtype };
    this.lstm = this.child("lstm", new LSTM(nIn / steps, hidden, layer));
    this.head = this.child("head", new Linear(hidden, 1, layer));
  }

  forward(x: Tensor): Tensor {
    const B = x.shape[0]!;
    const { h } = this.lstm.forward(ops.reshape(x, [B, this.steps, this.nIn / this.steps]));
    const out = this.head.forward(ops.reshape(h, [B, this.lstm.hiddenSize]));
    return ops.reshape(out, [B]);
  }
}

/** Widths of the sequence model's head (two ReLU layers). */
export const SEQUENCE_HEAD = [128, 64] as const;

/**
 * The sequence model's network: a row of x [B, steps * channels + tabular] is the window day by
 * day (channel 0 of a day: 1 where the day lies in the cube, 0 before its start, where the step
 * is masked: its state carried unchanged), then the row's tabular inputs. The LSTM's last state
 * h and the tabular inputs go through head = Linear(hidden + tabular -> 128), ReLU, Linear(128
 * -> 64), ReLU, Linear(64 -> 1). PyTorch: nn.LSTM(channels, hidden, batch_first=True) named
 * `lstm` and nn.Sequential(Linear, ReLU, Linear, ReLU, Linear) named `head` (indices 0, 2, 4),
 * with each row's real steps packed (bench/python/torch_sequence.py).
 */
/** nn.Sequential(Linear(nIn, 128), ReLU, Linear(128, 64), ReLU, Linear(64, 1)): the weights at indices 0, 2 and 4. */
class SequenceHead extends Module {
  private readonly l1: Linear;
  private readonly l2: Linear;
  private readonly l3: Linear;
  constructor(nIn: number, o: LayerOptions) {
    super();
    this.l1 = this.child("0", new Linear(nIn, SEQUENCE_HEAD[0], o));
    this.l2 = this.child("2", new Linear(SEQUENCE_HEAD[0], SEQUENCE_HEAD[1], o));
    this.l3 = this.child("4", new Linear(SEQUENCE_HEAD[1], 1, o));
  }
  forward(x: Tensor): Tensor {
    return this.l3.forward(ops.relu(this.l2.forward(ops.relu(this.l1.forward(x)))));
  }
}

export class SequenceNet extends Net {
  readonly lstm: LSTM;
  private readonly head: SequenceHead;
  readonly steps: number;
  readonly channels: number;
  readonly tabular: number;

  constructor(
    readonly nIn: number,
    o: NetOptions,
  ) {
    super();
    const s = o.sequence;
    if (!s?.channels) throw new Error("SequenceNet: the window's steps, channels and the hidden width are needed (NetOptions.sequence)");
    this.steps = s.steps;
    this.channels = s.channels;
    this.tabular = nIn - s.steps * s.channels;
    if (this.tabular < 1) throw new Error(`SequenceNet: ${nIn} inputs leave no tabular inputs after ${s.steps} x ${s.channels}`);
    const layer: LayerOptions = { rng: new Rng(o.seed), dtype: o.dtype };
    this.lstm = this.child("lstm", new LSTM(s.channels, s.hidden, layer));
    this.head = this.child("head", new SequenceHead(s.hidden + this.tabular, layer));
  }

  forward(x: Tensor): Tensor {
    const B = x.shape[0]!;
    const { steps, channels, tabular } = this;
    const width = steps * channels;
    const mask = new Uint8Array(B * steps);
    for (let b = 0; b < B; b++) for (let t = 0; t < steps; t++) mask[b * steps + t] = x.data[b * this.nIn + t * channels]! > 0.5 ? 1 : 0;
    const seq = ops.reshape(ops.columns(x, 0, width), [B, steps, channels]);
    const { h } = this.lstm.forward(seq, { mask });
    const joint = ops.concatColumns(ops.reshape(h, [B, this.lstm.hiddenSize]), ops.columns(x, width, tabular));
    return ops.reshape(this.head.forward(joint), [B]);
  }
}

export function buildNet(name: NetName, nIn: number, o: NetOptions): Net {
  if (name === "sequence") return new SequenceNet(nIn, o);
  if (name === "tssmnet") return new TsSMNet(nIn, o);
  if (name === "autoresnet") return new AutoResNet(nIn, o);
  if (name === "lstm") return new LstmNet(nIn, o);
  return new FTTransformer(nIn, o);
}
