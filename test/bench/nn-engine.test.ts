/**
 * The nn-engine benchmark's harness on a short run (the timed runs need a quiet machine): every
 * peer present is measured on the LSTM network, ONNX Runtime's outputs on the exported network
 * were checked against PyTorch's, and an absent ONNX Runtime is reported, not silently skipped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { benchNnEngine } from "../../bench/nn-engine.js";
import { debianPython, REPO_ROOT, SHARED, tempDir } from "../helpers.js";

test("nn-engine bench, short run on the LSTM network: ours, PyTorch (flushed denormals, trained weights) and ONNX Runtime or its absence", async (t) => {
  if (!debianPython("torch", "numpy")) {
    if (process.env.CI) assert.fail("CI must have python3-torch (.ci/run installs it)");
    t.skip("Debian python3-torch not installed");
    return;
  }
  const installed = path.join(REPO_ROOT, "bench", "peers");
  // With ONNX Runtime where bench/peers/install.sh put it (developers), else without (CI).
  const peersDir = fs.existsSync(path.join(installed, "node_modules", "onnxruntime-node")) ? installed : tempDir();
  const r = await benchNnEngine({
    sharedDir: SHARED,
    repeats: 1,
    minRepeatSeconds: 0.02,
    torch: true,
    threads: [1],
    rounds: 1,
    models: ["lstm"],
    pretrainSteps: 2,
    peersDir,
  });
  const [row] = r.summary;
  assert.equal(row!.model, "lstm");
  assert.ok((row!.train_samples_per_s as number) > 0 && (row!.infer_samples_per_s as number) > 0);
  assert.ok((row!.torch_train_samples_per_s as number) > 0 && (row!.torch_infer_samples_per_s as number) > 0);
  const torch = (r.rounds[0]!.torch as { results: Record<string, unknown>[] }).results[0]!;
  assert.equal(torch.flush_denormal, true);
  assert.equal(torch.pretrain_steps, 2);
  // The same network on both sides.
  assert.equal(torch.n_params, (r.rounds[0]!.ours as Record<string, unknown>).n_params);
  if (peersDir === installed) {
    assert.ok((row!.ort_infer_samples_per_s as number) > 0);
    const ort = r.rounds[0]!.onnxruntime as Record<string, number>;
    assert.ok(ort.max_difference_from_torch! <= 1e-4);
  } else {
    assert.match((r.peers.onnxruntime as { absent: string }).absent, /not installed.*bench\/peers\/install\.sh/);
    assert.equal(row!.ort_infer_samples_per_s, undefined);
  }
});
