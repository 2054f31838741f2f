/**
 * Gradient checks: every op, layer and network runs in float64 and its analytic gradients are
 * compared with central finite differences (h = 1e-6) of a scalar loss. Dropout masks are
 * replayed exactly by restoring the generator's state before each forward.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ops from "../../src/nn/ops.js";
import { Tensor } from "../../src/nn/tensor.js";
import { BatchNorm1d, Conv1D, LayerNorm, Linear, MultiheadAttention, TransformerEncoderLayer } from "../../src/nn/layers.js";
import { AutoResNet, FTTransformer, TsSMNet, type Net } from "../../src/models/nets.js";
import type { Module } from "../../src/nn/module.js";
import { lstm, LSTM } from "../../src/nn/lstm.js";
import { Rng } from "../../src/util/random.js";

function randomTensor(rng: Rng, shape: number[], scale = 1, awayFromZero = false): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = Tensor.zeros(shape, "float64", true);
  for (let i = 0; i < n; i++) {
    let v = scale * rng.normal();
    if (awayFromZero && Math.abs(v) < 0.05) v += v < 0 ? -0.1 : 0.1; // keep off ReLU's kink
    t.data[i] = v;
  }
  return t;
}

/**
 * Compares d loss / d input for (a sample of) every element of every input. `forward` must be
 * deterministic given the restored `rng` state.
 */
function gradcheck(name: string, inputs: Tensor[], forward: () => Tensor, rng?: Rng, samples = 25, h = 1e-6): void {
  const target = new Rng(99);
  const out0 = forward();
  const targets = Float64Array.from({ length: out0.size }, () => target.normal());
  const state = rng?.getState();
  const loss = () => {
    if (rng && state) rng.setState(state);
    const out = forward();
    return ops.mseLoss(ops.reshape(out, [out.size]), targets);
  };
  for (const t of inputs) t.grad = null;
  loss().backward();
  const pick = new Rng(7);
  for (const [k, t] of inputs.entries()) {
    const analytic = t.grad ?? new Float64Array(t.size);
    const indices = t.size <= samples ? [...Array(t.size).keys()] : Array.from({ length: samples }, () => pick.int(t.size));
    for (const i of indices) {
      const original = t.data[i]!;
      t.data[i] = original + h;
      const up = loss().item();
      t.data[i] = original - h;
      const down = loss().item();
      t.data[i] = original;
      const numeric = (up - down) / (2 * h);
      const a = analytic[i]!;
      assert.ok(Math.abs(a - numeric) <= 1e-6 + 2e-5 * Math.abs(numeric), `${name}: input ${k}[${i}] analytic ${a} numeric ${numeric}`);
    }
  }
}

test("gradients of the elementwise and shape ops", () => {
  const rng = new Rng(1);
  const x = randomTensor(rng, [4, 6], 1, true);
  const y = randomTensor(rng, [4, 6]);
  gradcheck("relu", [x], () => ops.relu(x));
  gradcheck("gelu", [x], () => ops.gelu(x));
  gradcheck("add", [x, y], () => ops.add(x, y));
  gradcheck("reshape", [x], () => ops.reshape(ops.gelu(x), [6, 4]));
  const drop = new Rng(5);
  gradcheck("dropout", [x], () => ops.dropout(ops.gelu(x), 0.3, true, drop), drop);
  gradcheck("add with a shared input (skip)", [x], () => ops.add(ops.gelu(x), x));
  // add and reshape hand their output gradient to an input instead of copying it: intermediates
  // used by several ops (either side of an add, reshaped, added to themselves) must still get
  // every contribution.
  gradcheck("gradients passed through shared intermediates", [x, y], () => {
    const u = ops.gelu(x);
    const v = ops.gelu(y);
    const s = ops.add(u, v);
    const w = ops.add(ops.add(s, ops.reshape(u, [4, 6])), ops.add(v, s));
    return ops.add(ops.add(w, w), ops.relu(v));
  });
});

test("gradients of linear, conv1d, batch norm (train and eval) and layer norm", () => {
  const rng = new Rng(2);
  const x = randomTensor(rng, [5, 7]);
  const W = randomTensor(rng, [3, 7], 0.5);
  const b = randomTensor(rng, [3]);
  gradcheck("linear", [x, W, b], () => ops.linear(x, W, b));
  const x3 = randomTensor(rng, [2, 4, 7]);
  gradcheck("linear on [B, T, d]", [x3, randomTensor(rng, [3, 7])], () => ops.linear(x3, W, b));
  const xc = randomTensor(rng, [3, 2, 9]);
  const Wc = randomTensor(rng, [4, 2, 3], 0.5);
  const bc = randomTensor(rng, [4]);
  gradcheck("conv1d", [xc, Wc, bc], () => ops.conv1d(xc, Wc, bc));
  gradcheck("conv1d k=5", [xc], () => ops.conv1d(xc, randomTensor(new Rng(3), [1, 2, 5]), null));
  const gamma = randomTensor(rng, [7]);
  const beta = randomTensor(rng, [7]);
  const state = () => ({ runningMean: new Float64Array(7).fill(0.1), runningVar: new Float64Array(7).fill(1.3), momentum: 0.1, eps: 1e-5 });
  gradcheck("batchNorm train [N, C]", [x, gamma, beta], () => ops.batchNorm(x, gamma, beta, state(), true));
  gradcheck("batchNorm eval", [x, gamma, beta], () => ops.batchNorm(x, gamma, beta, state(), false));
  const g2 = randomTensor(rng, [2]);
  const b2 = randomTensor(rng, [2]);
  const s2 = () => ({ runningMean: new Float64Array(2), runningVar: new Float64Array(2).fill(1), momentum: 0.1, eps: 1e-5 });
  gradcheck("batchNorm train [N, C, L]", [xc, g2, b2], () => ops.batchNorm(xc, g2, b2, s2(), true));
  gradcheck("layerNorm", [x3, randomTensor(rng, [7]), randomTensor(rng, [7])], () =>
    ops.layerNorm(x3, ops.gelu(randomTensor(new Rng(4), [7])), randomTensor(new Rng(4), [7])),
  );
});

test("gradients of the transformer pieces: tokens, CLS, attention with dropout", () => {
  const rng = new Rng(3);
  const x = randomTensor(rng, [3, 5]);
  const w = randomTensor(rng, [5, 8]);
  const b = randomTensor(rng, [5, 8]);
  gradcheck("featureTokens", [x, w, b], () => ops.featureTokens(x, w, b));
  const cls = randomTensor(rng, [1, 1, 8]);
  const h = randomTensor(rng, [3, 5, 8]);
  gradcheck("prependToken", [cls, h], () => ops.prependToken(cls, h));
  gradcheck("selectToken", [h], () => ops.selectToken(h, 2));
  const qkv = randomTensor(rng, [2, 6, 24]);
  const attn = new Rng(11);
  gradcheck("attention", [qkv], () => ops.attention(qkv, 2, 0, true, attn));
  gradcheck("attention with dropout", [qkv], () => ops.attention(qkv, 4, 0.2, true, attn), attn);
});

function layerCheck(name: string, module: Module & { forward(x: Tensor): Tensor }, x: Tensor, rng?: Rng) {
  gradcheck(`${name} (input and parameters)`, [x, ...module.parameters()], () => module.forward(x), rng, 12);
}

test("gradients of every layer", () => {
  const rng = new Rng(4);
  const o = { rng: new Rng(8), dtype: "float64" as const };
  layerCheck("Linear", new Linear(6, 4, o), randomTensor(rng, [5, 6]));
  layerCheck("Conv1D", new Conv1D(2, 3, 3, { ...o, init: "he" }), randomTensor(rng, [2, 2, 7]));
  layerCheck("BatchNorm1d", new BatchNorm1d(6, o), randomTensor(rng, [5, 6]));
  layerCheck("LayerNorm", new LayerNorm(6, o), randomTensor(rng, [3, 4, 6]));
  layerCheck("MultiheadAttention", new MultiheadAttention(8, 2, 0.1, o), randomTensor(rng, [2, 5, 8]), o.rng);
  layerCheck("TransformerEncoderLayer", new TransformerEncoderLayer(8, 2, 16, 0.1, o), randomTensor(rng, [2, 5, 8]), o.rng);
});

test("gradients of the three networks in training mode (BatchNorm batch statistics, dropout)", () => {
  const rng = new Rng(5);
  const nets: [string, Net][] = [
    ["AutoResNet", new AutoResNet(6, { seed: 1, dtype: "float64" })],
    ["TsSMNet", new TsSMNet(5, { seed: 2, dtype: "float64" })],
    ["FT-Transformer", new FTTransformer(4, { seed: 3, dtype: "float64", dropout: 0.1 }, 8, 2, 2, 16)],
  ];
  for (const [name, net] of nets) {
    const x = randomTensor(rng, [6, net.nIn]);
    // The nets' dropout draws from the generator inside the net: replay it through its state.
    const inner =
      (net as unknown as { core?: { drop?: { rng: Rng } } }).core?.drop?.rng ??
      (net as unknown as { layers: { selfAttn: { o: { rng: Rng } } }[] }).layers?.[0]?.selfAttn.o.rng;
    // h = 1e-7: with h = 1e-6 a difference can straddle a ReLU kink of one of the hundreds of units.
    gradcheck(name, [x, ...net.parameters()], () => net.forward(x), inner, 8, 1e-7);
  }
});

test("gradients of the LSTM: one layer (output, h_T and c_T; initial state; masked steps) and a stack with dropout", () => {
  const rng = new Rng(6);
  const [B, T, I, H] = [3, 5, 4, 3];
  const x = randomTensor(rng, [B, T, I]);
  const Wih = randomTensor(rng, [4 * H, I], 0.6);
  const Whh = randomTensor(rng, [4 * H, H], 0.6);
  const bih = randomTensor(rng, [4 * H], 0.3);
  const bhh = randomTensor(rng, [4 * H], 0.3);
  const h0 = randomTensor(rng, [B, H], 0.5);
  const c0 = randomTensor(rng, [B, H], 0.5);
  // Row 0 every step, row 1 two masked steps first (history before the start), row 2 one in the middle.
  const mask = Uint8Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1]);
  const all = [x, Wih, Whh, bih, bhh, h0, c0];
  for (const m of [null, mask]) {
    const label = m ? "masked" : "unmasked";
    gradcheck(`lstm output (${label})`, all, () => lstm(x, Wih, Whh, bih, bhh, h0, c0, m).output);
    gradcheck(`lstm h_T (${label})`, all, () => lstm(x, Wih, Whh, bih, bhh, h0, c0, m).h);
    gradcheck(`lstm c_T (${label})`, all, () => lstm(x, Wih, Whh, bih, bhh, h0, c0, m).c);
  }
  gradcheck("lstm from a zero state", [x, Wih, Whh, bih, bhh], () => lstm(x, Wih, Whh, bih, bhh, null, null, mask).output);
  const drop = new Rng(12);
  const stackOf = new LSTM(I, H, { rng: drop, dtype: "float64", layers: 2, dropout: 0.3 });
  const h0s = randomTensor(rng, [2, B, H], 0.5);
  const c0s = randomTensor(rng, [2, B, H], 0.5);
  gradcheck("LSTM stack (output)", [x, h0s, c0s, ...stackOf.parameters()], () => stackOf.forward(x, { h0: h0s, c0: c0s, mask }).output, drop, 12);
  gradcheck("LSTM stack (h_n)", [x, h0s, c0s, ...stackOf.parameters()], () => stackOf.forward(x, { h0: h0s, c0: c0s, mask }).h, drop, 12);
});
