/** The per-row test predictions file: written in gzip members, read back one model's column at a time. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { forEachPrediction, PredictionsWriter } from "../../src/eval/predictions.js";
import { tempDir } from "../helpers.js";

test("predictions: two appended batches (per model its estimate and sigma) are one gzip stream; each model's column reads back with its SMAP value; missing values are skipped", async () => {
  const file = path.join(tempDir(), "predictions", "gaps.csv.gz");
  const w = new PredictionsWriter(file, ["xgb", "rf"]);
  w.append({ row: [1, 2], col: [3, 4], date: ["2019-01-01", "2019-01-02"], y: [0.2, 0.3], kind: ["swath", "run"] }, [
    new Float32Array([0.21, NaN]),
    new Float32Array([0.03, NaN]),
    new Float32Array([0.25, 0.31]),
    new Float32Array([0.04, 0.04]),
  ]);
  w.append({ row: [5], col: [6], date: ["2019-01-03"], y: [0.4], kind: ["transplanted"] }, [
    new Float32Array([0.38]),
    new Float32Array([0.03]),
    new Float32Array([0.41]),
    new Float32Array([0.04]),
  ]);
  assert.ok(!fs.existsSync(file), "named only when finished");
  w.finish();
  const text = zlib.gunzipSync(fs.readFileSync(file)).toString();
  assert.equal(text.split("\n")[0], "row,col,date,smap,gap_kind,xgb,xgb_sigma,rf,rf_sigma");
  const pairs: [number, number][] = [];
  assert.equal(await forEachPrediction(file, "xgb", (s, e) => pairs.push([s, e])), true);
  assert.deepEqual(
    pairs.map(([s, e]) => [Math.round(s * 1e4) / 1e4, Math.round(e * 1e4) / 1e4]),
    [
      [0.2, 0.21],
      [0.4, 0.38],
    ],
  );
  let n = 0;
  assert.equal(await forEachPrediction(file, "rf", () => n++), true);
  assert.equal(n, 3);
  assert.equal(await forEachPrediction(file, "tssmnet", () => n++), false, "a model the evaluation did not score");
  assert.equal(await forEachPrediction(path.join(path.dirname(file), "period.csv.gz"), "xgb", () => n++), false, "no such split");
});
