/**
 * The LSTM: an op for one layer over a whole sequence (a fused cell with its own backward pass)
 * and PyTorch's nn.LSTM as a layer (batch_first), with its parameter names, gate layout and
 * initialisation, so weights move between the two unchanged.
 *
 * PyTorch's equations, gates in the order input, forget, cell, output (rows of W_ih [4H, I],
 * W_hh [4H, H], b_ih, b_hh [4H]):
 *   z_t = W_ih x_t + b_ih + W_hh h_t-1 + b_hh,   i, f, o = sigma(z_i, z_f, z_o),   g = tanh(z_g)
 *   c_t = f c_t-1 + i g,   h_t = o tanh(c_t).
 * One GEMM gives every step's input projection ([B T, I] x [I, 4H]); the recurrence (a GEMM of
 * [B, H] x [H, 4H] and the gate arithmetic per step) is one kernel call forward and one backward
 * (kernels.ts: lstmForward, lstmBackward); the weight gradients are again one GEMM each over all
 * steps. Inside, sequences are time-major; inputs and outputs are batch-first [B, T, .].
 *
 * A mask [B, T] (1: a real step) lets a row skip steps: at a masked step the state is carried
 * unchanged (h_t = h_t-1, c_t = c_t-1) and the input is not read, so masked history before a
 * cube's start (leading zeros of the mask) is the same as starting the sequence at the first real
 * step from the initial state; the output at a masked step is the carried h.
 */
import { kernels } from "./kernels/select.js";
import { Module } from "./module.js";
import * as ops from "./ops.js";
import { alloc, result, scratch, Tensor, type DType } from "./tensor.js";
import type { Rng } from "../util/random.js";

export interface LstmOutput {
  /** [B, T, H]: h_t of every step (the last layer's, for a stack). */
  output: Tensor;
  /** The state after the last step: [B, H] from the op, [layers, B, H] from the layer (PyTorch's h_n, c_n). */
  h: Tensor;
  c: Tensor;
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

/** [B, T, F] (batch-first) -> [T, B, F] (time-major) or back (swap B and T), into `out`. */
function swapLeadingAxes(x: ArrayLike<number>, out: { [i: number]: number }, B: number, T: number, F: number): void {
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const src = (b * T + t) * F;
      const dst = (t * B + b) * F;
      for (let k = 0; k < F; k++) out[dst + k] = x[src + k]!;
    }
}

/**
 * One LSTM layer over x [B, T, I] from the initial state h0, c0 [B, H] (null: zeros), with an
 * optional mask [B, T] (see above). Gradients reach x, the four parameters and h0, c0.
 */
export function lstm(x: Tensor, Wih: Tensor, Whh: Tensor, bih: Tensor, bhh: Tensor, h0: Tensor | null, c0: Tensor | null, mask: Uint8Array | null): LstmOutput {
  check(x.shape.length === 3, `lstm: input of shape [${x.shape}], expected [batch, steps, features]`);
  const [B, T, I] = x.shape as [number, number, number];
  check(B >= 1 && T >= 1, `lstm: input of shape [${x.shape}] has no rows or no steps`);
  const H = Whh.shape[1]!;
  check(Wih.shape[0] === 4 * H && Wih.shape[1] === I, `lstm: weight_ih of shape [${Wih.shape}], expected [${4 * H}, ${I}]`);
  check(Whh.shape[0] === 4 * H, `lstm: weight_hh of shape [${Whh.shape}], expected [${4 * H}, ${H}]`);
  check(bih.size === 4 * H && bhh.size === 4 * H, `lstm: biases of ${bih.size} and ${bhh.size} values, expected ${4 * H}`);
  for (const s of [h0, c0]) if (s) check(s.size === B * H, `lstm: initial state of ${s.size} values, expected ${B} x ${H}`);
  if (mask) check(mask.length === B * T, `lstm: mask of ${mask.length} values, expected ${B} x ${T}`);
  const dtype: DType = x.dtype;
  const [BH, H4] = [B * H, 4 * H];
  const K = kernels();

  const xt = scratch(T * B * I, dtype, false);
  swapLeadingAxes(x.data, xt, B, T, I);
  const bias = alloc(H4, dtype);
  for (let k = 0; k < H4; k++) bias[k] = bih.data[k]! + bhh.data[k]!;
  const gates = scratch(T * B * H4, dtype, false);
  K.gemm(false, true, T * B, H4, I, xt, Wih.data, gates, false, bias);
  const hs = scratch((T + 1) * BH, dtype, false);
  const cs = scratch((T + 1) * BH, dtype, false);
  if (h0) hs.set(h0.data);
  else hs.fill(0, 0, BH);
  if (c0) cs.set(c0.data);
  else cs.fill(0, 0, BH);
  let maskT: Float32Array | null = null;
  if (mask) {
    maskT = scratch(T * B, "float32", false) as Float32Array;
    swapLeadingAxes(mask, maskT, B, T, 1);
  }
  K.lstmForward(gates, Whh.data, hs, cs, maskT, T, B, H);

  // One tensor holds every output, [output | h_T | c_T], so that a single backward runs once all
  // their gradients are in; the outputs are views of it.
  const outSize = B * T * H;
  const joint = scratch(outSize + 2 * BH, dtype, false);
  swapLeadingAxes(hs.subarray(BH), joint, T, B, H);
  joint.set(hs.subarray(T * BH), outSize);
  joint.set(cs.subarray(T * BH), outSize + BH);
  const inputs = [x, Wih, Whh, bih, bhh, ...(h0 ? [h0] : []), ...(c0 ? [c0] : [])];
  // Whether the per-step outputs get a gradient (a head on the last state alone gives them none).
  let outputGradient = false;
  const all = result(joint, [joint.length], inputs, (out) => {
    const g = out.grad!;
    let dOut: typeof g | null = null;
    if (outputGradient) {
      dOut = scratch(T * BH, dtype, false);
      swapLeadingAxes(g, dOut, B, T, H);
    }
    const dh = scratch(BH, dtype, false);
    const dc = scratch(BH, dtype, false);
    dh.set(g.subarray(outSize, outSize + BH));
    dc.set(g.subarray(outSize + BH));
    const dGates = scratch(T * B * H4, dtype, false);
    K.lstmBackward(gates, Whh.data, cs, maskT, dOut, dh, dc, dGates, T, B, H);
    if (Wih.requiresGrad) K.gemm(true, false, H4, I, T * B, dGates, xt, Wih.gradBuffer(), true);
    if (Whh.requiresGrad) K.gemm(true, false, H4, H, T * B, dGates, hs, Whh.gradBuffer(), true);
    if (bih.requiresGrad || bhh.requiresGrad) {
      const db = alloc(H4, dtype);
      K.columnSums(dGates, T * B, H4, db);
      if (bih.requiresGrad) K.addInto(bih.gradBuffer(), db);
      if (bhh.requiresGrad) K.addInto(bhh.gradBuffer(), db);
    }
    if (x.requiresGrad) {
      const dxt = scratch(T * B * I, dtype, false);
      K.gemm(false, false, T * B, I, H4, dGates, Wih.data, dxt, false);
      const dx = scratch(B * T * I, dtype, false);
      swapLeadingAxes(dxt, dx, T, B, I);
      K.addInto(x.gradBuffer(), dx);
    }
    if (h0?.requiresGrad) K.addInto(h0.gradBuffer(), dh);
    if (c0?.requiresGrad) K.addInto(c0.gradBuffer(), dc);
  });
  const output = ops.slice(all, 0, [B, T, H]);
  if (output.backwardFn) {
    const add = output.backwardFn;
    output.backwardFn = () => {
      outputGradient = true;
      add();
    };
  }
  return { output, h: ops.slice(all, outSize, [B, H]), c: ops.slice(all, outSize + BH, [B, H]) };
}

export interface LstmOptions {
  rng: Rng;
  dtype?: DType;
  /** Stacked layers (PyTorch's num_layers), default 1. */
  layers?: number;
  /** Dropout on the outputs of every layer but the last, in training (PyTorch's dropout), default 0. */
  dropout?: number;
}

/** The parameters of one layer of the stack, under PyTorch's names with suffix _l{k}. */
interface LayerWeights {
  wih: Tensor;
  whh: Tensor;
  bih: Tensor;
  bhh: Tensor;
}

/**
 * PyTorch's nn.LSTM(input, hidden, num_layers, dropout, batch_first=True): parameters
 * weight_ih_l{k} [4H, in], weight_hh_l{k} [4H, H], bias_ih_l{k}, bias_hh_l{k} [4H], every value
 * drawn from U(-1/sqrt(H), 1/sqrt(H)) as PyTorch's reset_parameters does.
 */
export class LSTM extends Module {
  readonly layers: LayerWeights[] = [];
  readonly dropout: number;
  private readonly rng: Rng;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    o: LstmOptions,
  ) {
    super();
    const L = o.layers ?? 1;
    check(Number.isInteger(L) && L >= 1, `LSTM: ${L} layers`);
    this.dropout = o.dropout ?? 0;
    this.rng = o.rng;
    const bound = 1 / Math.sqrt(hiddenSize);
    const H4 = 4 * hiddenSize;
    const uniform = (shape: number[]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = alloc(n, o.dtype ?? "float32");
      for (let i = 0; i < n; i++) data[i] = o.rng.between(-bound, bound);
      return new Tensor(data, shape);
    };
    for (let k = 0; k < L; k++) {
      const nIn = k === 0 ? inputSize : hiddenSize;
      this.layers.push({
        wih: this.param(`weight_ih_l${k}`, uniform([H4, nIn])),
        whh: this.param(`weight_hh_l${k}`, uniform([H4, hiddenSize])),
        bih: this.param(`bias_ih_l${k}`, uniform([H4])),
        bhh: this.param(`bias_hh_l${k}`, uniform([H4])),
      });
    }
  }

  /**
   * x [B, T, inputSize]; h0, c0 [layers, B, H] (absent: zeros); mask [B, T] (1: a real step).
   * Returns every step's output of the last layer and the final states of every layer.
   */
  forward(x: Tensor, state: { h0?: Tensor | null; c0?: Tensor | null; mask?: Uint8Array | null } = {}): LstmOutput {
    const L = this.layers.length;
    const B = x.shape[0]!;
    const BH = B * this.hiddenSize;
    for (const s of [state.h0, state.c0]) if (s) check(s.size === L * BH, `LSTM: initial state of ${s.size} values, expected ${L} x ${B} x ${this.hiddenSize}`);
    const initial = (s: Tensor | null | undefined, k: number) => (s ? (L === 1 ? s : ops.slice(s, k * BH, [B, this.hiddenSize])) : null);
    let input = x;
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    let output = x;
    for (let k = 0; k < L; k++) {
      const w = this.layers[k]!;
      const r = lstm(input, w.wih, w.whh, w.bih, w.bhh, initial(state.h0, k), initial(state.c0, k), state.mask ?? null);
      output = r.output;
      hs.push(r.h);
      cs.push(r.c);
      input = k < L - 1 ? ops.dropout(r.output, this.dropout, this.training, this.rng) : r.output;
    }
    const H = this.hiddenSize;
    return { output, h: L === 1 ? ops.reshape(hs[0]!, [1, B, H]) : ops.stack(hs), c: L === 1 ? ops.reshape(cs[0]!, [1, B, H]) : ops.stack(cs) };
  }
}
