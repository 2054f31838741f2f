/**
 * The LSTM layer against PyTorch's nn.LSTM: the same weights (our safetensors, loaded by
 * test/python/torch_lstm.py with load_state_dict, strict) and inputs; the forward outputs (every
 * step, h_n, c_n) and the gradient of every parameter, the input and the initial states must agree
 * within 1e-4 (relative to the largest value of each tensor, at least 1).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { buildNet } from "../../src/models/nets.js";
import { LSTM } from "../../src/nn/lstm.js";
import { Adam } from "../../src/nn/optim.js";
import * as ops from "../../src/nn/ops.js";
import { saveModule } from "../../src/nn/persist.js";
import { loadSafetensors, saveSafetensors } from "../../src/nn/safetensors.js";
import { result, Tensor } from "../../src/nn/tensor.js";
import { Rng } from "../../src/util/random.js";
import { debianPython, REPO_ROOT, tempDir } from "../helpers.js";

const TOLERANCE = 1e-4;

interface Case {
  label: string;
  B: number;
  T: number;
  I: number;
  H: number;
  layers: number;
  mask: "none" | "leading" | "scattered";
}

const CASES: Case[] = [
  { label: "one layer, every step", B: 6, T: 12, I: 5, H: 16, layers: 1, mask: "none" },
  { label: "two layers, odd width, history before the start masked", B: 5, T: 9, I: 3, H: 7, layers: 2, mask: "leading" },
  { label: "one layer, steps masked anywhere, a row without any step", B: 4, T: 8, I: 4, H: 12, layers: 1, mask: "scattered" },
];

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/** The largest difference between ours and PyTorch's, relative to max(1, the largest |value|). */
function worstDifference(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  assert.equal(ours.length, theirs.length);
  let scale = 1;
  for (let i = 0; i < theirs.length; i++) scale = Math.max(scale, Math.abs(theirs[i]!));
  let worst = 0;
  for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
  return worst / scale;
}

/** sum(t w) as a scalar tensor of the graph (its gradient with respect to t is w). */
function weightedSum(t: Tensor, w: Float32Array): Tensor {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += t.data[i]! * w[i]!;
  return result(Float64Array.of(s), [], [t], (out) => {
    const g = t.gradBuffer();
    for (let i = 0; i < w.length; i++) g[i]! += out.grad![0]! * w[i]!;
  });
}

/** Writes a case's weights and inputs; returns what the check needs. */
function prepare(c: Case, dir: string) {
  const { B, T, I, H, layers } = c;
  const rng = new Rng(31 + layers);
  const net = new LSTM(I, H, { rng: new Rng(5), layers });
  const files = { weights: path.join(dir, "weights.safetensors"), inputs: path.join(dir, "inputs.safetensors"), out: path.join(dir, "torch.safetensors") };
  saveModule(files.weights, net);
  const mask = new Uint8Array(B * T).fill(1);
  if (c.mask === "leading") for (let b = 0; b < B; b++) mask.fill(0, b * T, b * T + Math.min(T - 1, 2 * b)); // row b starts at step 2b
  if (c.mask === "scattered") {
    for (let k = 0; k < B * T; k++) mask[k] = rng.uniform() < 0.35 ? 0 : 1;
    mask.fill(0, (B - 1) * T, B * T);
  }
  const state = [layers, B, H];
  const values: Record<string, { data: Float32Array; shape: number[] }> = {
    x: { data: randomArray(rng, B * T * I), shape: [B, T, I] },
    h0: { data: randomArray(rng, layers * B * H, 0.5), shape: state },
    c0: { data: randomArray(rng, layers * B * H, 0.5), shape: state },
    r_out: { data: randomArray(rng, B * T * H), shape: [B, T, H] },
    r_h: { data: randomArray(rng, layers * B * H), shape: state },
    r_c: { data: randomArray(rng, layers * B * H), shape: state },
    mask: { data: Float32Array.from(mask), shape: [B, T] },
  };
  saveSafetensors(files.inputs, new Map(Object.entries(values)));
  return { c, net, mask, values, files };
}

test("the LSTM layer matches PyTorch's nn.LSTM: outputs, h_n, c_n and every gradient within 1e-4", async (t) => {
  const python = debianPython("torch", "numpy");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have python3-torch (.ci/run installs it)");
    t.skip("Debian python3-torch not installed");
    return;
  }
  const prepared = CASES.map((c, k) => prepare(c, tempDir(`smapfill-lstm-${k}-`)));
  const args = prepared.flatMap((p) => [String(p.c.layers), p.files.weights, p.files.inputs, p.files.out]);
  const run = spawnSync(python, [path.join(REPO_ROOT, "test", "python", "torch_lstm.py"), ...args], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  for (const { c, net, mask, values, files } of prepared)
    await t.test(c.label, (st) => {
      const { B, T, I, H, layers } = c;
      const reference = loadSafetensors(files.out);
      const x = new Tensor(values.x!.data.slice(), [B, T, I], true);
      const h0 = new Tensor(values.h0!.data.slice(), [layers, B, H], true);
      const c0 = new Tensor(values.c0!.data.slice(), [layers, B, H], true);
      const r = net.forward(x, { h0, c0, mask: c.mask === "none" ? null : mask });
      const total = ops.add(ops.add(weightedSum(r.output, values.r_out!.data), weightedSum(r.h, values.r_h!.data)), weightedSum(r.c, values.r_c!.data));
      const loss = total.item();
      total.backward();
      const compared: [string, ArrayLike<number>][] = [
        ["output", r.output.data],
        ["h_n", r.h.data],
        ["c_n", r.c.data],
        ["grad.x", x.grad!],
        ["grad.h0", h0.grad!],
        ["grad.c0", c0.grad!],
        ...net.namedParameters().map(([n, p]) => [`grad.${n}`, p.grad!] as [string, ArrayLike<number>]),
      ];
      const report: string[] = [];
      for (const [name, ours] of compared) {
        const worst = worstDifference(ours, reference.tensors.get(name)!.data as Float32Array);
        report.push(`${name} ${worst.toExponential(1)}`);
        assert.ok(worst <= TOLERANCE, `${name}: differs from PyTorch by ${worst} (relative to its largest value)`);
      }
      const torchLoss = Number(reference.metadata.loss);
      assert.ok(Math.abs(loss - torchLoss) <= TOLERANCE * Math.max(1, Math.abs(torchLoss)), `loss ${loss} vs ${torchLoss}`);
      st.diagnostic(report.join(", "));
    });
});

test("the LSTM network (the benchmark's, beside PyTorch's nn.LSTM) takes the same training step as its PyTorch twin: loss and every updated weight within 1e-4", (t) => {
  const python = debianPython("torch", "numpy");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have python3-torch (.ci/run installs it)");
    t.skip("Debian python3-torch not installed");
    return;
  }
  const [steps, inputs, hidden, B] = [9, 4, 12, 32];
  const net = buildNet("lstm", steps * inputs, { seed: 2, sequence: { steps, hidden } });
  const dir = tempDir();
  const weights = path.join(dir, "weights.safetensors");
  saveModule(weights, net);
  const rng = new Rng(8);
  const x = randomArray(rng, B * steps * inputs);
  const y = randomArray(rng, B);
  const batch = path.join(dir, "batch.safetensors");
  saveSafetensors(
    batch,
    new Map([
      ["x", { data: x, shape: [B, steps * inputs] }],
      ["y", { data: y, shape: [B] }],
    ]),
  );
  const out = path.join(dir, "after.safetensors");
  const script = path.join(REPO_ROOT, "test", "python", "torch_lstm_net_step.py");
  const run = spawnSync(python, [script, String(steps), String(hidden), weights, batch, out], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const optimizer = new Adam(net.parameters(), 1e-3);
  optimizer.zeroGrad();
  const loss = ops.mseLoss(net.forward(Tensor.from(x, [B, steps * inputs])), y);
  loss.backward();
  optimizer.step();
  const reference = loadSafetensors(out);
  const torchLoss = Number(reference.metadata.loss);
  assert.ok(Math.abs(loss.item() - torchLoss) <= 1e-4 * Math.abs(torchLoss), `loss ${loss.item()} vs ${torchLoss}`);
  for (const [n, p] of net.namedParameters()) {
    const worst = worstDifference(p.data, reference.tensors.get(n)!.data as Float32Array);
    assert.ok(worst <= 1e-4, `${n}: differs from PyTorch by ${worst}`);
  }
});
