import { test } from "node:test";
import assert from "node:assert/strict";
import { buildNet, type NetName } from "../../src/models/nets.js";
import { EVAL_BATCH, forwardRows, PAD_ROWS } from "../../src/models/net-steps.js";
import { noGrad, recycledLengths, Tensor } from "../../src/nn/tensor.js";
import * as ops from "../../src/nn/ops.js";
import { Rng } from "../../src/util/random.js";

for (const name of ["tssmnet", "autoresnet"] as NetName[])
  test(`inference with batch norm folded and residual + ReLU fused into the preceding layers' kernels equals the unfolded eval forward (${name})`, () => {
    const f = 11;
    const net = buildNet(name, f, { seed: 4 });
    const rng = new Rng(1);
    // Running statistics and affine parameters away from their defaults.
    for (const [key, b] of net.namedBuffers())
      if (b instanceof Float32Array) b.forEach((_, i) => (b[i] = key.endsWith("running_var") ? 0.2 + rng.uniform() : rng.normal()));
    for (const [key, p] of net.namedParameters()) if (/\.(1|4)\.(weight|bias)$/.test(key)) p.data.forEach((_, i) => (p.data[i] = 0.5 + rng.uniform()));
    net.eval();
    const x = Tensor.from(
      Float32Array.from({ length: 64 * f }, () => rng.normal()),
      [64, f],
    );
    const unfolded = net.forward(x).data; // gradients on: the batch-norm op runs
    const folded = noGrad(() => net.forward(x)).data;
    for (let i = 0; i < 64; i++)
      assert.ok(Math.abs(folded[i]! - unfolded[i]!) <= 1e-4 * (1 + Math.abs(unfolded[i]!)), `row ${i}: ${folded[i]} vs ${unfolded[i]}`);
    assert.notDeepEqual(Array.from(folded), Array.from(unfolded).fill(0));
  });

test("folded inference weights are cached but never stale: a change to any weight, batch-norm parameter or running statistic is seen at the next batch", () => {
  const f = 7;
  const net = buildNet("tssmnet", f, { seed: 2 });
  net.eval();
  const rng = new Rng(3);
  const x = Tensor.from(
    Float32Array.from({ length: 32 * f }, () => rng.normal()),
    [32, f],
  );
  const agrees = (label: string) => {
    const folded = noGrad(() => net.forward(x)).data;
    const unfolded = net.forward(x).data;
    for (let i = 0; i < 32; i++)
      assert.ok(Math.abs(folded[i]! - unfolded[i]!) <= 1e-4 * (1 + Math.abs(unfolded[i]!)), `${label}, row ${i}: ${folded[i]} vs ${unfolded[i]}`);
    return Array.from(folded);
  };
  const first = agrees("initial");
  assert.deepEqual(agrees("cached"), first, "the cached fold gives the same predictions");
  const params = new Map(net.namedParameters());
  const buffers = new Map(net.namedBuffers());
  const changes: [string, () => void][] = [
    ["dense weight (one value, written directly)", () => (params.get("core.e1.0.weight")!.data[5]! += 0.5)],
    ["dense bias", () => (params.get("core.d1.0.bias")!.data[0]! += 0.5)],
    ["batch-norm gamma", () => (params.get("core.e2.1.weight")!.data[1]! *= 1.5)],
    ["batch-norm beta", () => (params.get("conv.4.bias")!.data[2]! += 0.5)],
    ["running mean", () => ((buffers.get("conv.1.running_mean") as Float32Array)[3]! += 0.5)],
    ["running variance", () => ((buffers.get("core.e1.1.running_var") as Float32Array)[4]! *= 2)],
    ["conv weight", () => (params.get("conv.3.weight")!.data[7]! -= 0.5)],
  ];
  let previous = first;
  for (const [label, change] of changes) {
    change();
    const now = agrees(label);
    assert.notDeepEqual(now, previous, `${label}: the predictions changed`);
    previous = now;
  }
});

test("a residual or ReLU epilogue is refused while gradients are recorded (it has no backward)", () => {
  const x = Tensor.from(Float32Array.of(1, -2, 3, 4), [2, 2]);
  const W = Tensor.from(Float32Array.of(1, 0, 0, 1), [2, 2]);
  assert.throws(() => ops.linear(x, W, null, { relu: true }), /inference only/);
  const y = noGrad(() => ops.linear(x, W, null, { residual: x, relu: true }));
  assert.deepEqual(Array.from(y.data), [2, 0, 6, 8]);
  assert.throws(() => noGrad(() => ops.linear(x, W, null, { residual: Tensor.from(Float32Array.of(1), [1]) })), /residual has 1 values/);
});

test("inference over calls of many row counts keeps one set of scratch arrays per 64-row bucket, and a row's output does not depend on its batch (transformer)", () => {
  const f = 12;
  const net = buildNet("transformer", f, { seed: 1 });
  net.eval();
  const rng = new Rng(2);
  const n = 700;
  const Z = Float32Array.from({ length: n * f }, () => rng.normal());
  const all = new Float32Array(n);
  forwardRows(net, Z, f, 0, n, all); // a batch of 512 rows, then 188
  const outputs = (counts: number[]) => {
    for (const m of counts) {
      const out = new Float32Array(m);
      forwardRows(net, Z, f, 0, m, out);
      assert.deepEqual(out, all.subarray(0, m), `${m} rows`);
    }
  };
  // Every 64-row bucket up to 512 once: the lengths every later call may need.
  outputs(Array.from({ length: EVAL_BATCH / PAD_ROWS }, (_, k) => (k + 1) * PAD_ROWS - 1));
  const lengths = recycledLengths();
  // Calls of 90 other row counts add none (unpadded, each count kept a network's worth of new arrays:
  // a Transformer's evaluation ran the kernels' memory past 2 GiB).
  outputs(Array.from({ length: 90 }, (_, k) => 1 + 5 * k));
  assert.equal(recycledLengths(), lengths);
});
