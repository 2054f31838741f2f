/** The reference dataset (make_synthetic.py) written to a temporary folder and read back. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { part, readDataset } from "../src/features/dataset.js";
import { pointMetrics } from "../src/eval/metrics.js";

export function referenceDataset(sharedDir: string, n: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smapfill-refdata-"));
  const data = path.join(dir, "data");
  const make = spawnSync("/usr/bin/python3", [path.join(sharedDir, "reference", "make_synthetic.py"), data, "--n", String(n), "--f", "40", "--seed", "1"], {
    encoding: "utf8",
  });
  if (make.status !== 0) throw new Error(make.stderr);
  const d = readDataset(data);
  return { dir, data, d, train: part(d, 0), validation: part(d, 1), test: part(d, 2), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** RMSE of predictions against targets (the project's metric definition). */
export function rmse(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  return pointMetrics(pred, target).rmse;
}

/** A dataset folder that already exists (e.g. written by smapfill evaluate --write-dataset). */
export function existingDataset(data: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smapfill-data-"));
  const d = readDataset(data);
  return { dir, data, d, train: part(d, 0), validation: part(d, 1), test: part(d, 2), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** One result of the reference's run.py (its JSON's results[0]; fields as run.py writes them). */
export type ReferenceResult = {
  test: { rmse: { value: number } };
  val_rmse?: number;
  train_wall_s: number;
  train_samples_per_s?: number;
  inference_samples_per_s?: number;
  fit_info?: { epochs_run?: number; best_epoch?: number; rounds_run?: number; best_iteration?: number };
};

/**
 * Runs `reference/run.py DATA ARGS --out OUT --quiet` with Debian's Python (where torch, sklearn
 * and xgboost live) and returns its first result, or the tail of its error output.
 */
export function runReference(sharedDir: string, dataDir: string, args: string[]): { result: ReferenceResult } | { error: string } {
  const out = path.join(os.tmpdir(), `smapfill-reference-${process.pid}-${Date.now()}.json`);
  const run = spawnSync("/usr/bin/python3", [path.join(sharedDir, "reference", "run.py"), dataDir, ...args, "--out", out, "--quiet"], { encoding: "utf8" });
  if (run.status !== 0) return { error: run.stderr.slice(-1500) };
  const result = JSON.parse(fs.readFileSync(out, "utf8")).results[0] as ReferenceResult;
  fs.rmSync(out, { force: true });
  return { result };
}
