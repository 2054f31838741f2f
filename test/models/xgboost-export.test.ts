import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fitGbt, predictGbt } from "../../src/models/trees/gbt.js";
import { saveXgboostJson } from "../../src/models/trees/xgboost-json.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { Rng } from "../../src/util/random.js";
import { REPO_ROOT, tempDir } from "../helpers.js";

test("the XGBoost JSON export loads in xgboost.Booster and predicts the same values (1e-5)", (t) => {
  if (spawnSync("/usr/bin/python3", ["-c", "import xgboost"]).status !== 0) {
    if (process.env.CI) assert.fail("CI must have python3-xgboost (.ci/run installs it)");
    t.skip("Debian python3-xgboost not installed");
    return;
  }
  const rng = new Rng(8);
  const n = 3000;
  const f = 6;
  const X = new Float32Array(n * f);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) X[i * f + j] = rng.uniform() < 0.1 ? NaN : rng.normal();
    const x = (j: number) => (Number.isNaN(X[i * f + j]!) ? 0.3 : X[i * f + j]!);
    y[i] = Math.sin(2 * x(0)) + x(1) * x(2) + 0.5 * Math.abs(x(3)) + 0.1 * rng.normal();
  }
  const model = fitGbt(X, y, n, f, X.subarray(0, 500 * f), y.subarray(0, 500), 500, { rounds: 80, earlyStopping: 20 });
  const dir = tempDir();
  const names = Array.from({ length: f }, (_, j) => `x${j}`);
  saveXgboostJson(path.join(dir, "model.json"), model, names);
  writeNpy(path.join(dir, "X.npy"), X, [n, f]);
  fs.writeFileSync(path.join(dir, "names.json"), JSON.stringify(names));
  const run = spawnSync(
    "/usr/bin/python3",
    [
      path.join(REPO_ROOT, "test", "python", "xgb_predict.py"),
      path.join(dir, "model.json"),
      path.join(dir, "X.npy"),
      path.join(dir, "names.json"),
      path.join(dir, "pred.npy"),
    ],
    { encoding: "utf8" },
  );
  assert.equal(run.status, 0, run.stderr);
  const theirs = readNpy(path.join(dir, "pred.npy")).data as Float32Array;
  const ours = predictGbt(model, X, n);
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
  assert.ok(worst <= 1e-5, `largest difference ${worst}`);
  assert.ok(model.bestIteration >= 10);
});
