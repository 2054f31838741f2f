/**
 * Convergence parity: the reference dataset (make_synthetic.py, same seed), the same splits, the
 * same training protocol and epoch cap, trained by the reference (run.py, PyTorch) and by
 * smapfill; the test RMSEs should agree within 2 %.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { referenceDataset, rmse } from "./reference-data.js";
import { Preprocessor } from "../src/models/preprocess.js";
import { predictNet, trainNet } from "../src/models/train-net.js";
import type { NetName } from "../src/models/nets.js";

export async function benchConvergence(o: { sharedDir: string; n: number; epochs: number; models: NetName[] }) {
  const ref = path.join(o.sharedDir, "reference");
  const data = referenceDataset(o.sharedDir, o.n);
  const { train: tr, validation: va, test: te } = data;
  const f = data.d.f;
  const n = data.d.n;
  const results: Record<string, unknown>[] = [];
  for (const model of o.models) {
    const pre = new Preprocessor().fit(tr.X, tr.n, f);
    const w = pre.outputWidth;
    const t0 = performance.now();
    const trained = trainNet(model, pre.transform(tr.X, tr.n, f), tr.y, pre.transform(va.X, va.n, f), va.y, w, { maxEpochs: o.epochs, seed: 0 });
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
    const out = path.join(data.dir, `${model}.json`);
    const run = spawnSync(
      "/usr/bin/python3",
      [path.join(ref, "run.py"), data.data, "--model", model, "--threads", "1", "--max-epochs", String(o.epochs), "--out", out, "--quiet"],
      { encoding: "utf8" },
    );
    let reference: Record<string, unknown> = { error: run.stderr.slice(-1500) };
    if (run.status === 0) {
      const r = JSON.parse(fs.readFileSync(out, "utf8")).results[0];
      reference = {
        test_rmse: r.test.rmse.value,
        val_rmse: r.val_rmse,
        best_epoch: r.fit_info.best_epoch,
        epochs_run: r.fit_info.epochs_run,
        train_s: r.train_wall_s,
        train_samples_per_s: r.train_samples_per_s,
      };
    }
    const rel = typeof reference.test_rmse === "number" ? ours.test_rmse / reference.test_rmse - 1 : undefined;
    results.push({
      model,
      n_inputs: w,
      ours,
      reference,
      test_rmse_relative_difference: rel,
      within_2_percent: rel === undefined ? undefined : Math.abs(rel) <= 0.02,
    });
    process.stderr.write(`${model}: ours ${ours.test_rmse.toFixed(5)}, reference ${reference.test_rmse ?? "error"}\n`);
  }
  data.cleanup();
  return {
    benchmark: "convergence",
    description: `make_synthetic.py --n ${o.n} --f 40 --seed 1 (${n} rows), same splits and protocol, epoch cap ${o.epochs}, 1 thread`,
    results,
  };
}
