/**
 * Gradient-boosted trees against XGBoost 1.7 (hist), side by side: the reference dataset
 * (make_synthetic.py), the same splits and MODELS.md's settings (depth 8, eta 0.05, 256 bins,
 * subsample 0.8, colsample 0.8, lambda 1, up to 2000 rounds, early stopping 50), at each thread
 * count (XGBoost's nthread the same). Reports test RMSE and training time for both.
 */
import { referenceDataset, rmse, runReference } from "./reference-data.js";
import { fitGbt, predictGbt } from "../src/models/trees/gbt.js";

export async function benchGbt(o: { sharedDir: string; n: number; threads: number[] }) {
  const data = referenceDataset(o.sharedDir, o.n);
  const { train: tr, validation: va, test: te } = data;
  const f = data.d.f;
  const runs: Record<string, unknown>[] = [];
  for (const threads of o.threads) {
    const t0 = performance.now();
    const model = fitGbt(tr.X, tr.y, tr.n, f, va.X, va.y, va.n, { seed: 0 }, undefined, threads);
    const trainS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const pred = predictGbt(model, te.X, te.n);
    const inferS = (performance.now() - t1) / 1000;
    const ours = {
      test_rmse: rmse(pred, te.y),
      best_iteration: model.bestIteration,
      rounds_run: model.trees.length,
      train_s: trainS,
      seconds_per_round: trainS / model.trees.length,
      infer_samples_per_s: te.n / inferS,
    };
    const ran = runReference(o.sharedDir, data.data, ["--model", "xgb", "--threads", String(threads)]);
    const reference: Record<string, unknown> =
      "error" in ran
        ? ran
        : {
            test_rmse: ran.result.test.rmse.value,
            best_iteration: ran.result.fit_info?.best_iteration,
            rounds_run: ran.result.fit_info?.rounds_run,
            train_s: ran.result.train_wall_s,
            seconds_per_round: ran.result.train_wall_s / ran.result.fit_info!.rounds_run!,
            infer_samples_per_s: ran.result.inference_samples_per_s,
          };
    const ratio = typeof reference.seconds_per_round === "number" ? ours.seconds_per_round / (reference.seconds_per_round as number) : undefined;
    process.stderr.write(
      `gbt ${threads} thread(s): ours ${ours.seconds_per_round.toFixed(4)} s/round, XGBoost ${reference.seconds_per_round} s/round (ratio ${ratio?.toFixed(2)})\n`,
    );
    runs.push({
      threads,
      ours,
      xgboost: reference,
      test_rmse_relative_difference: typeof reference.test_rmse === "number" ? ours.test_rmse / (reference.test_rmse as number) - 1 : undefined,
      time_per_round_ratio_ours_over_xgboost: ratio,
    });
  }
  data.cleanup();
  return {
    benchmark: "gbt",
    description: `make_synthetic.py --n ${o.n} --f 40 --seed 1; MODELS.md settings; threads ${o.threads.join(", ")} on both sides (ours: the same trees for any count)`,
    runs,
  };
}
