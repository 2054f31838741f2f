/**
 * Six-model accuracy parity (issue 5): every model of MODELS.md trained by smapfill (through
 * the Regressor interface, preprocessing inside) and by the Python reference (run.py) on the
 * same make_synthetic.py dataset and splits, with the same epoch/tree/round caps, in one run.
 * Reports test RMSE side by side (target: within 3 %), training time and prediction throughput.
 * Timings share the machine with nothing else of ours (one model at a time, 1 thread each side).
 */
import { existingDataset, referenceDataset, rmse, runReference } from "./reference-data.js";
import { createRegressor, modelNames } from "../src/models/registry.js";
import type { ModelName } from "../src/models/regressor.js";

export interface ModelsBenchOptions {
  sharedDir: string;
  n: number;
  /** Epoch cap of the fast networks (TsSMNet, TsSMNet-noTS, AutoResNet) and of the Transformer. */
  epochs: number;
  transformerEpochs: number;
  rfTrees: number;
  xgbRounds: number;
  models: ModelName[];
  /** An existing dataset folder instead of make_synthetic.py's. */
  dataset?: string;
}

function medianSeconds(fn: () => void, repeats: number): number {
  fn();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  return times.sort((a, b) => a - b)[Math.floor(repeats / 2)]!;
}

export async function benchModels(o: ModelsBenchOptions) {
  const data = o.dataset ? existingDataset(o.dataset) : referenceDataset(o.sharedDir, o.n);
  const { train, validation, test } = data;
  const results: Record<string, unknown>[] = [];
  for (const name of o.models) {
    const epochs = name === "transformer" ? o.transformerEpochs : o.epochs;
    const model = createRegressor(
      name,
      data.d.names,
      data.d.groups,
      { max_epochs: epochs, "rf.trees": o.rfTrees, "xgb.rounds": o.xgbRounds },
      { seed: 0, threads: 1 },
    );
    const t0 = performance.now();
    model.fit(train, { validation, onProgress: (m) => process.stderr.write(`  ${m}\n`) });
    const trainSeconds = (performance.now() - t0) / 1000;
    const pred = model.predict(test.X, test.n);
    const inferSeconds = medianSeconds(() => model.predict(test.X, test.n), 3);
    const ours = { test_rmse: rmse(pred, test.y), train_s: trainSeconds, infer_samples_per_s: test.n / inferSeconds, fit_info: model.info() };

    const ran = runReference(o.sharedDir, data.data, [
      ...["--model", name, "--threads", "1", "--max-epochs", String(epochs)],
      ...["--rf-trees", String(o.rfTrees), "--xgb-rounds", String(o.xgbRounds), "--n-boot", "200"],
    ]);
    const reference: Record<string, unknown> =
      "error" in ran
        ? ran
        : {
            test_rmse: ran.result.test.rmse.value,
            train_s: ran.result.train_wall_s,
            infer_samples_per_s: ran.result.inference_samples_per_s,
            fit_info: {
              epochs_run: ran.result.fit_info?.epochs_run,
              best_epoch: ran.result.fit_info?.best_epoch,
              rounds_run: ran.result.fit_info?.rounds_run,
              best_iteration: ran.result.fit_info?.best_iteration,
            },
          };
    const refRmse = reference.test_rmse as number | undefined;
    const rel = refRmse === undefined ? undefined : ours.test_rmse / refRmse - 1;
    results.push({
      model: name,
      cap: name === "rf" ? `${o.rfTrees} trees` : name === "xgb" ? `${o.xgbRounds} rounds` : `${epochs} epochs`,
      ours,
      reference,
      test_rmse_relative_difference: rel,
      within_3_percent: rel === undefined ? undefined : Math.abs(rel) <= 0.03,
      train_time_ratio_ours_over_reference: refRmse === undefined ? undefined : ours.train_s / (reference.train_s as number),
      infer_throughput_ratio: refRmse === undefined ? undefined : ours.infer_samples_per_s / (reference.infer_samples_per_s as number),
    });
    process.stderr.write(
      `${name}: ours ${ours.test_rmse.toFixed(5)} (${trainSeconds.toFixed(1)} s), reference ${refRmse?.toFixed(5) ?? "error"} (${reference.train_s} s)\n`,
    );
  }
  data.cleanup();
  return {
    benchmark: "models",
    description: `${o.dataset ? `dataset ${o.dataset}` : `make_synthetic.py --n ${o.n} --f 40 --seed 1`} (${data.d.n} rows: ${train.n}/${validation.n}/${test.n}, ${data.d.f} features), same splits, 1 thread each side, one model at a time; caps: networks ${o.epochs} epochs (Transformer ${o.transformerEpochs}), rf ${o.rfTrees} trees, xgb ${o.xgbRounds} rounds with early stopping 50`,
    results,
  };
}

export const ALL_MODELS = modelNames();
