/**
 * Parity with the PyTorch reference: the same initial weights (our safetensors, loaded into
 * models_torch.py) and the same batch; one training step (forward, MSE, backward, Adam/AdamW)
 * must give the same loss and the same updated weights to 1e-4 relative.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { buildNet, type NetName } from "../../src/models/nets.js";
import * as ops from "../../src/nn/ops.js";
import { Adam, AdamW } from "../../src/nn/optim.js";
import { saveModule } from "../../src/nn/persist.js";
import { loadSafetensors, saveSafetensors } from "../../src/nn/safetensors.js";
import { Tensor } from "../../src/nn/tensor.js";
import { Rng } from "../../src/util/random.js";
import { REPO_ROOT, SHARED, tempDir } from "../helpers.js";

/** Linear/conv biases that feed straight into a BatchNorm (nn.Sequential index 0, conv 0 and 3). */
const BIAS_BEFORE_BATCHNORM = /(^|\.)(e|d)\d\.0\.bias$|^conv\.[03]\.bias$/;

function torchAvailable(): boolean {
  return spawnSync("/usr/bin/python3", ["-c", "import torch, numpy"]).status === 0;
}

const cases: [NetName, number][] = [
  ["autoresnet", 40],
  ["tssmnet", 12],
  ["transformer", 10],
];

for (const [name, nIn] of cases) {
  test(`${name}: one training step matches PyTorch (loss and every updated weight, 1e-4 relative)`, (t) => {
    if (!torchAvailable()) {
      if (process.env.CI) assert.fail("CI must have python3-torch (.ci/run installs it)");
      t.skip("Debian python3-torch not installed");
      return;
    }
    const dir = tempDir();
    const net = buildNet(name, nIn, { seed: 3, dropout: 0 });
    net.train();
    const weights = path.join(dir, "weights.safetensors");
    saveModule(weights, net);
    const rng = new Rng(4);
    const B = 64;
    const x = Float32Array.from({ length: B * nIn }, () => rng.normal());
    const y = Float32Array.from({ length: B }, () => rng.normal());
    const batch = path.join(dir, "batch.safetensors");
    saveSafetensors(
      batch,
      new Map([
        ["x", { data: x, shape: [B, nIn] }],
        ["y", { data: y, shape: [B] }],
      ]),
    );
    const out = path.join(dir, "after.safetensors");
    const run = spawnSync(
      "/usr/bin/python3",
      [path.join(REPO_ROOT, "test", "python", "torch_step.py"), path.join(SHARED, "reference"), name, String(nIn), weights, batch, out],
      { encoding: "utf8" },
    );
    assert.equal(run.status, 0, run.stderr);

    const optimizer = name === "transformer" ? new AdamW(net.parameters(), 5e-4, [0.9, 0.999], 1e-8, 1e-5) : new Adam(net.parameters(), 1e-3);
    optimizer.zeroGrad();
    const loss = ops.mseLoss(net.forward(Tensor.from(x, [B, nIn])), y);
    loss.backward();
    optimizer.step();

    const reference = loadSafetensors(out);
    const torchLoss = Number(reference.metadata.loss);
    assert.ok(Math.abs(loss.item() - torchLoss) <= 1e-4 * Math.abs(torchLoss), `loss ${loss.item()} vs ${torchLoss}`);
    let compared = 0;
    const before = new Map([...loadSafetensors(weights).tensors].map(([n, v]) => [n, v.data as Float32Array]));
    for (const [n, p] of net.namedParameters()) {
      const theirs = reference.tensors.get(n)!.data as Float32Array;
      // The key part of in_proj_bias is the same case: q.(k + b) shifts a whole row of scores,
      // which softmax ignores, so its true gradient is 0 too.
      const width = p.size / 3;
      const zeroGradient = (i: number) => BIAS_BEFORE_BATCHNORM.test(n) || (n.endsWith("in_proj_bias") && i >= width && i < 2 * width);
      if (BIAS_BEFORE_BATCHNORM.test(n) || n.endsWith("in_proj_bias")) {
        // BatchNorm subtracts the batch mean, so these biases have a true gradient of exactly 0;
        // both sides hold rounding noise (~1e-9) that Adam's normalisation turns into steps of
        // up to lr with arbitrary signs. Check the steps are that, on both sides.
        const start = before.get(n)!;
        for (let i = 0; i < p.size; i++) {
          if (zeroGradient(i)) assert.ok(Math.abs(p.data[i]! - start[i]!) <= 1.001e-3 && Math.abs(theirs[i]! - start[i]!) <= 1.001e-3, `${n}[${i}]`);
          else assert.ok(Math.abs(p.data[i]! - theirs[i]!) <= 1e-4 * Math.max(1e-3, Math.abs(theirs[i]!)), `${n}[${i}]: ${p.data[i]} vs ${theirs[i]}`);
        }
        compared++;
        continue;
      }
      const scale = Math.max(...Array.from(theirs, Math.abs), 1e-3);
      let worst = 0;
      for (let i = 0; i < p.size; i++) worst = Math.max(worst, Math.abs(p.data[i]! - theirs[i]!));
      assert.ok(worst <= 1e-4 * scale, `${n}: max difference ${worst} (largest value ${scale})`);
      compared++;
    }
    for (const [n, b] of net.namedBuffers()) {
      if (n.endsWith("num_batches_tracked")) continue;
      const theirs = reference.tensors.get(n)!.data as Float32Array;
      for (let i = 0; i < b.length; i++) assert.ok(Math.abs(Number(b[i]) - theirs[i]!) <= 1e-4 * Math.max(1, Math.abs(theirs[i]!)), `${n}[${i}]`);
    }
    assert.equal(compared, net.namedParameters().length);
  });
}
