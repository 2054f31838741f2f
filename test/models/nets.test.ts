import { test } from "node:test";
import assert from "node:assert/strict";
import { buildNet, type NetName } from "../../src/models/nets.js";
import { noGrad, Tensor } from "../../src/nn/tensor.js";
import { Rng } from "../../src/util/random.js";

for (const name of ["tssmnet", "autoresnet"] as NetName[])
  test(`inference with batch norm folded into the preceding layers equals the unfolded eval forward (${name})`, () => {
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
