/**
 * Gradient-boosted trees against XGBoost 1.7 (hist), side by side: the reference dataset
 * (make_synthetic.py), the same splits and MODELS.md's settings (depth 8, eta 0.05, 256 bins,
 * subsample 0.8, colsample 0.8, lambda 1, up to 2000 rounds, early stopping 50), 1 thread.
 * Reports test RMSE and training time for both.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readNpy } from "../src/io/npy.js";
import { fitGbt, predictGbt } from "../src/models/trees/gbt.js";

export async function benchGbt(o: { sharedDir: string; n: number }) {
  const ref = path.join(o.sharedDir, "reference");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smapfill-gbt-"));
  const data = path.join(dir, "data");
  const make = spawnSync("/usr/bin/python3", [path.join(ref, "make_synthetic.py"), data, "--n", String(o.n), "--f", "40", "--seed", "1"], { encoding: "utf8" });
  if (make.status !== 0) throw new Error(make.stderr);
  const X = readNpy(path.join(data, "X.npy"));
  const y = readNpy(path.join(data, "y.npy")).data as Float32Array;
  const split = readNpy(path.join(data, "split.npy")).data as Int8Array;
  const [, f] = X.shape as [number, number];
  const part = (k: number) => {
    const rows = [...split.keys()].filter((i) => split[i] === k);
    const Xp = new Float32Array(rows.length * f);
    rows.forEach((r, i) => Xp.set((X.data as Float32Array).subarray(r * f, (r + 1) * f), i * f));
    return { X: Xp, y: Float32Array.from(rows, (r) => y[r]!), n: rows.length };
  };
  const [tr, va, te] = [part(0), part(1), part(2)];
  const t0 = performance.now();
  const model = fitGbt(tr.X, tr.y, tr.n, f, va.X, va.y, va.n, { seed: 0 });
  const trainS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const pred = predictGbt(model, te.X, te.n);
  const inferS = (performance.now() - t1) / 1000;
  let se = 0;
  for (let i = 0; i < te.n; i++) se += (pred[i]! - te.y[i]!) ** 2;
  const ours = {
    test_rmse: Math.sqrt(se / te.n),
    best_iteration: model.bestIteration,
    rounds_run: model.trees.length,
    train_s: trainS,
    seconds_per_round: trainS / model.trees.length,
    infer_samples_per_s: te.n / inferS,
  };
  const out = path.join(dir, "xgb.json");
  const run = spawnSync("/usr/bin/python3", [path.join(ref, "run.py"), data, "--model", "xgb", "--threads", "1", "--out", out, "--quiet"], {
    encoding: "utf8",
  });
  let reference: Record<string, unknown> = { error: run.stderr.slice(-1500) };
  if (run.status === 0) {
    const r = JSON.parse(fs.readFileSync(out, "utf8")).results[0];
    reference = {
      test_rmse: r.test.rmse.value,
      best_iteration: r.fit_info.best_iteration,
      rounds_run: r.fit_info.rounds_run,
      train_s: r.train_wall_s,
      seconds_per_round: r.train_wall_s / r.fit_info.rounds_run,
      infer_samples_per_s: r.inference_samples_per_s,
    };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const rel = typeof reference.test_rmse === "number" ? ours.test_rmse / (reference.test_rmse as number) - 1 : undefined;
  return {
    benchmark: "gbt",
    description: `make_synthetic.py --n ${o.n} --f 40 --seed 1; MODELS.md settings; 1 thread`,
    ours,
    xgboost: reference,
    test_rmse_relative_difference: rel,
    time_per_round_ratio_ours_over_xgboost:
      typeof reference.seconds_per_round === "number" ? ours.seconds_per_round / (reference.seconds_per_round as number) : undefined,
  };
}
