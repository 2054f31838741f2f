/**
 * Six-model accuracy parity (issue 5): every model of MODELS.md trained by smapfill (through
 * the Regressor interface, preprocessing inside) and by the Python reference (run.py) on the
 * same make_synthetic.py dataset and splits, with the same epoch/tree/round caps, in one run.
 * Reports test RMSE side by side (target: within 3 %, on the mean over the training seeds),
 * training time and prediction throughput. Timings share the machine with nothing else of ours
 * (one model at a time, the same threads each side).
 */
import { existingDataset, referenceDataset, rmse, runReference } from "./reference-data.js";
import { createRegressor, modelNames } from "../src/models/registry.js";
import type { ModelName } from "../src/models/regressor.js";
import { median } from "./common.js";

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
  /** Training seeds, each side (the splits stay the dataset's); parity is judged on the mean. */
  seeds?: number[];
  threads?: number;
}

function medianSeconds(fn: () => void, repeats: number): number {
  fn();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

export async function benchModels(o: ModelsBenchOptions) {
  const data = o.dataset ? existingDataset(o.dataset) : referenceDataset(o.sharedDir, o.n);
  const { train, validation, test } = data;
  const results: Record<string, unknown>[] = [];
  const seeds = o.seeds ?? [0];
  const threads = o.threads ?? 1;
  for (const name of o.models) {
    const epochs = name === "transformer" ? o.transformerEpochs : o.epochs;
    const runs: {
      seed: number;
      ours: Record<string, unknown> & { test_rmse: number; train_s: number; infer_samples_per_s: number };
      reference: Record<string, unknown>;
    }[] = [];
    for (const seed of seeds) {
      const model = createRegressor(
        name,
        data.d.names,
        data.d.groups,
        { max_epochs: epochs, "rf.trees": o.rfTrees, "xgb.rounds": o.xgbRounds },
        { seed, threads },
      );
      const t0 = performance.now();
      model.fit(train, { validation, onProgress: (m) => process.stderr.write(`  ${m}\n`) });
      const trainSeconds = (performance.now() - t0) / 1000;
      const pred = model.predict(test.X, test.n);
      const inferSeconds = medianSeconds(() => model.predict(test.X, test.n), 3);
      const ours = { test_rmse: rmse(pred, test.y), train_s: trainSeconds, infer_samples_per_s: test.n / inferSeconds, fit_info: model.info() };
      const ran = runReference(o.sharedDir, data.data, [
        ...["--model", name, "--threads", String(threads), "--max-epochs", String(epochs), "--seed", String(seed)],
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
      runs.push({ seed, ours, reference });
      process.stderr.write(
        `${name} seed ${seed}: ours ${ours.test_rmse.toFixed(5)} (${trainSeconds.toFixed(1)} s), reference ${(reference.test_rmse as number | undefined)?.toFixed(5) ?? "error"} (${reference.train_s} s)\n`,
      );
    }
    const refRmses = runs.map((r) => r.reference.test_rmse as number | undefined);
    const complete = refRmses.every((v) => v !== undefined);
    const oursMean = mean(runs.map((r) => r.ours.test_rmse));
    const refMean = complete ? mean(refRmses as number[]) : undefined;
    const rel = refMean === undefined ? undefined : oursMean / refMean - 1;
    results.push({
      model: name,
      cap: name === "rf" ? `${o.rfTrees} trees` : name === "xgb" ? `${o.xgbRounds} rounds` : `${epochs} epochs`,
      seeds,
      ours: { ...runs[0]!.ours, mean_test_rmse: oursMean },
      reference: { ...runs[0]!.reference, mean_test_rmse: refMean },
      per_seed: runs,
      test_rmse_relative_difference: rel,
      within_3_percent: rel === undefined ? undefined : Math.abs(rel) <= 0.03,
      train_time_ratio_ours_over_reference: complete ? mean(runs.map((r) => r.ours.train_s)) / mean(runs.map((r) => r.reference.train_s as number)) : undefined,
      infer_throughput_ratio: complete
        ? mean(runs.map((r) => r.ours.infer_samples_per_s)) / mean(runs.map((r) => r.reference.infer_samples_per_s as number))
        : undefined,
    });
  }
  data.cleanup();
  return {
    benchmark: "models",
    description: `${o.dataset ? `dataset ${o.dataset}` : `make_synthetic.py --n ${o.n} --f 40 --seed 1`} (${data.d.n} rows: ${train.n}/${validation.n}/${test.n}, ${data.d.f} features), same splits, ${threads} thread(s) each side, one model at a time, training seeds ${seeds.join(", ")} (RMSE difference of the means); caps: networks ${o.epochs} epochs (Transformer ${o.transformerEpochs}), rf ${o.rfTrees} trees, xgb ${o.xgbRounds} rounds with early stopping 50`,
    results,
  };
}

export const ALL_MODELS = modelNames();
