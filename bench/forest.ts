/**
 * Random forest against scikit-learn 1.2 side by side: the reference dataset, the same splits,
 * MODELS.md's settings (bootstrap, 1/3 of the inputs per split, min_samples_leaf 5, unlimited
 * depth) with the same number of trees on both sides, at 1 and 2 threads; test RMSE and training time.
 */
import { createRegressor } from "../src/models/registry.js";
import { referenceDataset, rmse, runReference } from "./reference-data.js";

export async function benchForest(o: { sharedDir: string; n: number; trees: number; threads: number[] }) {
  const ref = referenceDataset(o.sharedDir, o.n);
  const rows: Record<string, unknown>[] = [];
  for (const threads of o.threads) {
    const model = createRegressor("rf", ref.d.names, ref.d.groups, { "rf.trees": o.trees }, { seed: 0, threads });
    const t0 = performance.now();
    model.fit(ref.train, { validation: ref.validation });
    const trainS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const pred = model.predict(ref.test.X, ref.test.n);
    const ours = { test_rmse: rmse(pred, ref.test.y), train_s: trainS, infer_samples_per_s: ref.test.n / ((performance.now() - t1) / 1000), ...model.info() };
    const ran = runReference(o.sharedDir, ref.data, ["--model", "rf", "--threads", String(threads), "--rf-trees", String(o.trees)]);
    const sklearn: Record<string, unknown> =
      "error" in ran
        ? ran
        : { test_rmse: ran.result.test.rmse.value, train_s: ran.result.train_wall_s, infer_samples_per_s: ran.result.inference_samples_per_s };
    rows.push({
      threads,
      ours,
      sklearn,
      test_rmse_relative_difference: typeof sklearn.test_rmse === "number" ? ours.test_rmse / (sklearn.test_rmse as number) - 1 : undefined,
      train_time_ratio_ours_over_sklearn: typeof sklearn.train_s === "number" ? trainS / (sklearn.train_s as number) : undefined,
    });
    process.stderr.write(`rf ${threads} thread(s): ours ${trainS.toFixed(1)} s, scikit-learn ${sklearn.train_s} s\n`);
  }
  ref.cleanup();
  return {
    benchmark: "forest",
    description: `make_synthetic.py --n ${o.n} --f 40 --seed 1; ${o.trees} trees on both sides; threads ${o.threads.join(", ")} on both sides (scikit-learn n_jobs)`,
    results: rows,
  };
}
