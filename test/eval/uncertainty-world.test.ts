/**
 * The uncertainty on a world with SMAP's gap structure (the demo world's generator, a season of
 * it: frozen winter into spring): sigma's mean rises with the distance to the nearest retrieval
 * wherever the error does, on the test gaps of a quick evaluation with the boosted trees.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import type { CoverageRow as Row } from "../../src/eval/uncertainty.js";
import { DISTANCE_LABELS } from "../../src/models/uncertainty.js";
import { REPO_ROOT, tempDir } from "../helpers.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
function smapfill(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("on the demo world, sigma's mean rises with the distance to the nearest retrieval wherever RMSE does, and the calibration rows reach the far bins", () => {
  const dir = tempDir();
  const demo = smapfill("demo", "--out", dir, "--days", "120", "--quiet", "--no-evaluate", "--no-product");
  assert.equal(demo.code, 0, demo.stderr);
  const out = path.join(dir, "e");
  // Quick boosted trees: the residual model is the same for every model.
  const quick = ["--models", "xgb", "--reference", "xgb", "--xgb-rounds", "200", "--max-train-samples", "8000", "--boot", "0", "--importance", "none"];
  const ev = smapfill("evaluate", path.join(dir, "cube.zarr"), "--out", out, ...quick, "--ablation-pairs", "none", "--quiet");
  assert.equal(ev.code, 0, ev.stderr);
  const result = JSON.parse(fs.readFileSync(path.join(out, "evaluation.json"), "utf8"));
  const xgb = result.splits[0].models[0];
  const rows = (xgb.uncertainty.byDistance as Row[]).filter((r) => r.group !== "all" && r.n >= 200);
  const ordered = DISTANCE_LABELS.map((l) => rows.find((r) => r.group === l)).filter((r): r is Row => r !== undefined);
  assert.ok(ordered.length >= 4, `${ordered.length} distance bins with 200 test rows`);
  let pairs = 0;
  for (let i = 0; i < ordered.length; i++)
    for (let j = i + 1; j < ordered.length; j++) {
      const [near, far] = [ordered[i]!, ordered[j]!];
      if (far.rmse <= 1.1 * near.rmse) continue;
      pairs++;
      assert.ok(
        far.meanSigma > near.meanSigma,
        `RMSE ${near.rmse.toFixed(4)} at ${near.group} -> ${far.rmse.toFixed(4)} at ${far.group}, sigma ${near.meanSigma.toFixed(4)} -> ${far.meanSigma.toFixed(4)}`,
      );
    }
  assert.ok(pairs >= 1, "the error rises with distance somewhere (else the test says nothing)");
  // The residual model saw rows in the far bins (transplanted calibration gaps), and its distance term never falls.
  const state = JSON.parse(fs.readFileSync(path.join(out, xgb.modelDir, "uncertainty.json"), "utf8"));
  const q = state.q90Distance as number[];
  for (let d = 1; d < q.length; d++) assert.ok(q[d]! >= q[d - 1]!);
  assert.ok(q[q.length - 1]! > 1.2 * q[0]!, `distance term ${q.map((v) => v.toFixed(4))}`);
});
