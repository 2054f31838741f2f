import { test } from "node:test";
import assert from "node:assert/strict";
import { buildNet, type NetName } from "../../src/models/nets.js";
import { noGrad, Tensor } from "../../src/nn/tensor.js";
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

test("a residual or ReLU epilogue is refused while gradients are recorded (it has no backward)", () => {
  const x = Tensor.from(Float32Array.of(1, -2, 3, 4), [2, 2]);
  const W = Tensor.from(Float32Array.of(1, 0, 0, 1), [2, 2]);
  assert.throws(() => ops.linear(x, W, null, { relu: true }), /inference only/);
  const y = noGrad(() => ops.linear(x, W, null, { residual: x, relu: true }));
  assert.deepEqual(Array.from(y.data), [2, 0, 6, 8]);
  assert.throws(() => noGrad(() => ops.linear(x, W, null, { residual: Tensor.from(Float32Array.of(1), [1]) })), /residual has 1 values/);
});
