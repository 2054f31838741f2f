/**
 * Convergence parity: the reference dataset (make_synthetic.py, same seed), the same splits, the
 * same training protocol and epoch cap, trained by the reference (run.py, PyTorch) and by
 * smapfill with the same training seeds; the mean test RMSEs over the seeds should agree within
 * 2 %. One seed is one draw of initial weights, shuffles and dropout masks: at a short epoch cap
 * the spread between seeds on one side is of the order of the target, so a single seed cannot
 * tell the implementations apart (the per-seed values are in the JSON).
 */
import { referenceDataset, rmse, runReference } from "./reference-data.js";
import { Preprocessor } from "../src/models/preprocess.js";
import { predictNet, trainNet } from "../src/models/train-net.js";
import type { NetName } from "../src/models/nets.js";

export async function benchConvergence(o: { sharedDir: string; n: number; epochs: number; models: NetName[]; seeds: number }) {
  const data = referenceDataset(o.sharedDir, o.n);
  const { train: tr, validation: va, test: te } = data;
  const f = data.d.f;
  const n = data.d.n;
  const results: Record<string, unknown>[] = [];
  for (const model of o.models)
    for (let seed = 0; seed < o.seeds; seed++) {
      const pre = new Preprocessor().fit(tr.X, tr.n, f);
      const w = pre.outputWidth;
      const t0 = performance.now();
      const trained = trainNet(model, pre.transform(tr.X, tr.n, f), tr.y, pre.transform(va.X, va.n, f), va.y, w, { maxEpochs: o.epochs, seed, threads: 1 });
      const seconds = (performance.now() - t0) / 1000;
      const pred = predictNet(trained.net, pre.transform(te.X, te.n, f), te.n, w, trained.yMean, trained.ySd);
      const ours = {
        test_rmse: rmse(pred, te.y),
        val_rmse: trained.bestValRmse,
        best_epoch: trained.bestEpoch,
        epochs_run: trained.history.length,
        train_s: seconds,
        train_samples_per_s: trained.trainSamplesPerSecond,
      };
      const ran = runReference(o.sharedDir, data.data, ["--model", model, "--threads", "1", "--max-epochs", String(o.epochs), "--seed", String(seed)]);
      const reference: Record<string, unknown> =
        "error" in ran
          ? ran
          : {
              test_rmse: ran.result.test.rmse.value,
              val_rmse: ran.result.val_rmse,
              best_epoch: ran.result.fit_info?.best_epoch,
              epochs_run: ran.result.fit_info?.epochs_run,
              train_s: ran.result.train_wall_s,
              train_samples_per_s: ran.result.train_samples_per_s,
            };
      const rel = typeof reference.test_rmse === "number" ? ours.test_rmse / reference.test_rmse - 1 : undefined;
      results.push({
        model,
        seed,
        n_inputs: w,
        ours,
        reference,
        test_rmse_relative_difference: rel,
        within_2_percent: rel === undefined ? undefined : Math.abs(rel) <= 0.02,
      });
      process.stderr.write(`${model} seed ${seed}: ours ${ours.test_rmse.toFixed(5)}, reference ${reference.test_rmse ?? "error"}\n`);
    }
  data.cleanup();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
  const summary = o.models.map((model) => {
    const rows = results.filter((r) => r.model === model);
    const ours = rows.map((r) => (r.ours as { test_rmse: number }).test_rmse);
    const reference = rows.flatMap((r) =>
      typeof (r.reference as { test_rmse?: number }).test_rmse === "number" ? [(r.reference as { test_rmse: number }).test_rmse] : [],
    );
    const rel = reference.length === ours.length ? mean(ours) / mean(reference) - 1 : undefined;
    return {
      model,
      seeds: rows.length,
      ours_mean_test_rmse: mean(ours),
      ours_sd_between_seeds: sd(ours),
      reference_mean_test_rmse: reference.length ? mean(reference) : undefined,
      reference_sd_between_seeds: reference.length ? sd(reference) : undefined,
      mean_test_rmse_relative_difference: rel,
      within_2_percent: rel === undefined ? undefined : Math.abs(rel) <= 0.02,
    };
  });
  return {
    benchmark: "convergence",
    description: `make_synthetic.py --n ${o.n} --f 40 --seed 1 (${n} rows), same splits and protocol, epoch cap ${o.epochs}, training seeds 0..${o.seeds - 1} on both sides, 1 thread`,
    summary,
    results,
  };
}
