import { pointMetrics } from "../../src/eval/metrics.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createRegressor, loadRegressor, modelNames } from "../../src/models/registry.js";
import type { ModelName } from "../../src/models/regressor.js";
import { writeNpy, readNpy } from "../../src/io/npy.js";
import { REPO_ROOT, tempDir, friedman1 } from "../helpers.js";
import { StepProgress } from "../../src/util/progress.js";

const rmse = (a: ArrayLike<number>, b: ArrayLike<number>) => pointMetrics(a, b).rmse;

const names = Array.from({ length: 10 }, (_, j) => `x${j}`);
const groups = [...Array(5).fill("dynamic"), ...Array(5).fill("ts")];

const settings: Record<ModelName, { n: number; epochs: number }> = {
  xgb: { n: 3000, epochs: 0 },
  rf: { n: 3000, epochs: 0 },
  autoresnet: { n: 3000, epochs: 25 },
  tssmnet: { n: 2000, epochs: 12 },
  tssmnet_nots: { n: 2000, epochs: 12 },
  transformer: { n: 1200, epochs: 8 },
};

for (const name of ["tssmnet", "tssmnet_nots", "autoresnet", "transformer", "rf", "xgb"]) {
  assert.ok(modelNames().includes(name));
  test(`${name}: learns Friedman #1 far better than the mean; save/load gives identical predictions`, () => {
    const { n, epochs } = settings[name]!;
    const tr = friedman1(n, 1, 0.05, 4);
    const va = friedman1(500, 2, 0.05, 4);
    const te = friedman1(800, 3, 0.05, 4);
    const model = createRegressor(
      name,
      names,
      groups,
      { ...(epochs ? { max_epochs: epochs } : {}), "xgb.rounds": 300, "xgb.eta": 0.1, "xgb.max_depth": 4, "xgb.early_stopping": 30, "rf.trees": 60 },
      { seed: 1 },
    );
    model.fit(tr, { validation: va });
    const pred = model.predict(te.X, te.n);
    const mean = tr.y.reduce((a, b) => a + b, 0) / tr.n;
    const baseline = rmse(
      Float32Array.from(te.y, () => mean),
      te.y,
    );
    // The noTS variant cannot see x5..x9, which are noise here: it must still learn.
    const limit = name === "transformer" ? 0.75 : 0.6;
    assert.ok(rmse(pred, te.y) < limit * baseline, `${name}: ${rmse(pred, te.y)} vs mean-only ${baseline}`);
    const dir = path.join(tempDir(), name);
    model.save(dir);
    assert.deepEqual(loadRegressor(dir).predict(te.X, te.n), pred);
    if (name === "tssmnet_nots") assert.ok((model.info().n_inputs as number) < 10, "the ts group is dropped");
  });
}

test("bad input: NaN targets, wrong feature count, empty training set, unknown model", () => {
  const tr = friedman1(100, 4, 0.05, 4);
  const va = friedman1(50, 5, 0.05, 4);
  const bad = { ...tr, y: Float32Array.from(tr.y, (v, i) => (i === 7 ? NaN : v)) };
  assert.throws(() => createRegressor("xgb", names, groups).fit(bad, { validation: va }), /the training target of row 7 is NaN/);
  assert.throws(
    () => createRegressor("autoresnet", names, groups).fit({ X: tr.X.subarray(0, 90 * 10), y: tr.y.subarray(0, 90), n: 100 }, { validation: va }),
    /columns, the model 10/,
  );
  assert.throws(
    () => createRegressor("xgb", names, groups).fit({ X: new Float32Array(0), y: new Float32Array(0), n: 0 }, { validation: va }),
    /the training set has 0 rows/,
  );
  assert.throws(() => createRegressor("svm" as ModelName, names, groups), /unknown model 'svm'/);
  const m = createRegressor("xgb", names, groups, { "xgb.rounds": 5 }).fit(tr, { validation: va });
  assert.throws(() => m.predict(new Float32Array(9 * 5), 5), /9 columns given, the model was fitted on 10/);
  assert.throws(() => loadRegressor(tempDir()), /is not a saved model/);
});

test("smapfill train and predict on a dataset folder in the shared format", () => {
  const dir = tempDir();
  const data = path.join(dir, "data");
  fs.mkdirSync(data);
  const d = friedman1(2500, 6, 0.05, 4);
  const split = Int8Array.from({ length: d.n }, (_, i) => (i % 10 < 7 ? 0 : i % 10 < 8 ? 1 : 2));
  writeNpy(path.join(data, "X.npy"), d.X, [d.n, 10]);
  writeNpy(path.join(data, "y.npy"), d.y, [d.n]);
  writeNpy(path.join(data, "split.npy"), split, [d.n]);
  fs.writeFileSync(path.join(data, "features.json"), JSON.stringify({ names, groups }));
  const bin = path.join(REPO_ROOT, "bin", "smapfill.js");
  const out = path.join(dir, "model");
  const train = spawnSync(process.execPath, [bin, "train", data, "--model", "xgb", "--out", out, "--quiet"], { encoding: "utf8" });
  assert.equal(train.status, 0, train.stderr);
  assert.match(train.stdout, /xgb on .*: test n 500, rmse \d\.\d{5} \[\d\.\d{5}, \d\.\d{5}\], ubrmse/);
  const metrics = JSON.parse(fs.readFileSync(path.join(out, "metrics.json"), "utf8"));
  assert.ok(metrics.test.rmse.value < 2.5 && metrics.run.node.startsWith("v"));
  const predFile = path.join(dir, "pred.npy");
  const predict = spawnSync(process.execPath, [bin, "predict", out, data, "--out", predFile], { encoding: "utf8" });
  assert.equal(predict.status, 0, predict.stderr);
  assert.equal(readNpy(predFile).shape[0], d.n);
  fs.writeFileSync(path.join(data, "features.json"), JSON.stringify({ names, groups: groups.map(() => "rainfall") }));
  const bad = spawnSync(process.execPath, [bin, "train", data, "--model", "xgb", "--out", path.join(dir, "model2")], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /features\.json: needs 10 groups from dynamic, static, calendar, ts, spatial/);
});

test("every model reports its fit's steps (rounds, trees, epochs) against its cap; the progress bar restarts for an ensemble's next member", () => {
  const tr = friedman1(600, 3);
  const va = friedman1(200, 4);
  const names = Array.from({ length: tr.f }, (_, j) => `x${j}`);
  const groups = names.map(() => "dynamic");
  for (const [model, params, cap] of [
    ["xgb", { "xgb.rounds": 30 }, 30],
    ["rf", { "rf.trees": 20 }, 20],
    ["autoresnet", { max_epochs: 3 }, 3],
  ] as const) {
    const steps: [number, number][] = [];
    createRegressor(model, names, groups, params, { seed: 1, threads: 1 }).fit(
      { X: tr.X, y: tr.y, n: tr.n },
      { validation: { X: va.X, y: va.y, n: va.n }, onStep: (done, c) => steps.push([done, c]) },
    );
    assert.ok(steps.length > 0 && steps.length <= cap, `${model}: ${steps.length} steps`);
    steps.forEach(([done, c], i) => assert.deepEqual([done, c], [i + 1, cap], model));
  }
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const bar = new StepProgress("fit", { stream });
  for (const d of [1, 2, 3, 4]) bar.onStep(d, 4);
  for (const d of [1, 2]) bar.onStep(d, 10);
  bar.finish();
  const text = lines.join("");
  assert.match(text, /fit \(to the cap of 4; early stopping may end sooner\): 4\/4 done/);
  assert.match(text, /fit \(to the cap of 10; early stopping may end sooner\): 2\/10 done in [^\n]* stopped after 2/);
});
