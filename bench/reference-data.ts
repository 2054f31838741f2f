/** The reference dataset (make_synthetic.py) written to a temporary folder and read back. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { part, readDataset } from "../src/io/dataset.js";
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
