import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { bareSchema, featureRanges, matchSchema, parseSchema, rangeWarnings, type FeatureSchema } from "../../src/features/schema.js";
import { writeNpy, readNpy } from "../../src/io/npy.js";
import { REPO_ROOT, friedman1, tempDir } from "../helpers.js";

const schema = (over: Partial<FeatureSchema> = {}): FeatureSchema => ({
  format_version: 1,
  names: ["precipitation", "elevation", "doy_sin", "ts_mean"],
  groups: ["dynamic", "static", "calendar", "ts"],
  units: ["mm d-1", "m", "1", "m3 m-3"],
  ts_mode: "in-sample",
  resolution: "9km",
  ...over,
});
const where = { model: "MODEL", data: "CUBE" };

test("a model meets data: the same features in another order are picked by name; extra ones ignored", () => {
  const data = schema({
    names: ["ts_mean", "extra", "doy_sin", "elevation", "precipitation"],
    groups: ["ts", "static", "calendar", "static", "dynamic"],
    units: ["m3 m-3", "1", "1", "m", "mm d-1"],
  });
  const m = matchSchema(schema(), data, where);
  assert.deepEqual(m.columns, [4, 3, 2, 0]);
  assert.equal(m.identity, false);
  assert.equal(matchSchema(schema(), schema(), where).identity, true);
  // Another window or period is fine: the training region is information only.
  assert.equal(matchSchema(schema({ training: { start: "2019-01-01" } }), schema({ training: { start: "2021-06-01" } }), where).identity, true);
});

test("a model meets data: a missing or re-unit-ed predictor, another resolution or ts mode is refused by name", () => {
  assert.throws(
    () => matchSchema(schema(), schema({ names: ["rain", "elevation", "doy_sin", "ts_mean"] }), where),
    /the model MODEL does not fit CUBE: it needs the feature 'precipitation', which the data lack.*Add the predictor 'precipitation'/,
  );
  assert.throws(
    () => matchSchema(schema(), schema({ units: ["mm h-1", "m", "1", "m3 m-3"] }), where),
    /'precipitation' is in mm h-1, the model was trained on mm d-1/,
  );
  assert.throws(() => matchSchema(schema(), schema({ resolution: "36km" }), where), /trained at 9km, the data are at 36km/);
  assert.throws(() => matchSchema(schema(), schema({ ts_mode: "out-of-fold" }), where), /time-series features are 'in-sample', the data's 'out-of-fold'/);
  // Unknown units (a dataset folder from elsewhere) are not a mismatch.
  assert.equal(matchSchema(schema(), bareSchema(schema().names, schema().groups), where).identity, true);
  assert.throws(() => parseSchema({ ...schema(), format_version: 7 }, "f.json"), /f\.json: has feature schema version 7/);
});

test("inputs outside the training range are reported per feature", () => {
  const X = Float32Array.from([1, 10, 2, 20, 3, 30]);
  const ranges = featureRanges(X, 3, 2);
  assert.deepEqual(ranges, { min: [1, 10], max: [3, 30] });
  const s = { ...bareSchema(["a", "b"], ["dynamic", "dynamic"]), ranges };
  assert.deepEqual(rangeWarnings(s, Float32Array.from([2, 25, 2, 25]), 2), []);
  const w = rangeWarnings(s, Float32Array.from([2, 40, 2, 25, 2, 5, 2, NaN]), 4);
  assert.equal(w.length, 1);
  assert.match(w[0]!, /^b: 50\.0 % of the rows lie outside the training range \[10\.00, 30\.00\]: the model extrapolates there; train it on/);
  // The day of year: the advice names the season.
  const doy = { ...bareSchema(["doy_sin"], ["calendar"]), ranges: { min: [0.2], max: [0.5] } };
  assert.match(rangeWarnings(doy, Float32Array.from([0.9]), 1)[0]!, /trained on other days of the year .* train it on a period covering these days/);
});

test("smapfill train saves the dataset folder's schema with the model; predict picks columns by name and refuses a missing one", () => {
  const dir = tempDir();
  const data = path.join(dir, "data");
  fs.mkdirSync(data);
  const d = friedman1(1500, 7, 0.05, 4);
  const names = Array.from({ length: 10 }, (_, j) => `x${j}`);
  const groups = names.map(() => "dynamic");
  const split = Int8Array.from({ length: d.n }, (_, i) => (i % 10 < 7 ? 0 : i % 10 < 8 ? 1 : 2));
  writeNpy(path.join(data, "X.npy"), d.X, [d.n, 10]);
  writeNpy(path.join(data, "y.npy"), d.y, [d.n]);
  writeNpy(path.join(data, "split.npy"), split, [d.n]);
  const units = names.map(() => "K");
  fs.writeFileSync(
    path.join(data, "features.json"),
    JSON.stringify({ names, groups, schema: { format_version: 1, names, groups, units, ts_mode: "none", resolution: "9km" } }),
  );
  const bin = path.join(REPO_ROOT, "bin", "smapfill.js");
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  const model = path.join(dir, "model");
  const train = run("train", data, "--model", "xgb", "--out", model, "--quiet", "--xgb-rounds", "40");
  assert.equal(train.status, 0, train.stderr);
  const saved = JSON.parse(fs.readFileSync(path.join(model, "schema.json"), "utf8"));
  assert.deepEqual([saved.names, saved.units, saved.resolution, saved.ts_mode], [names, units, "9km", "none"]);
  assert.equal(saved.ranges.min.length, 10);
  // Nothing existing is overwritten.
  const again = run("train", data, "--model", "xgb", "--out", model, "--quiet");
  assert.equal(again.status, 2);
  assert.match(again.stderr, /model: already exists/);

  // The same features reversed, plus one more: predictions equal the original order's.
  const reordered = path.join(dir, "reordered");
  fs.mkdirSync(reordered);
  const order = [...names.keys()].reverse();
  const X2 = new Float32Array(d.n * 11);
  for (let i = 0; i < d.n; i++) {
    order.forEach((j, k) => (X2[i * 11 + k] = d.X[i * 10 + j]!));
    X2[i * 11 + 10] = 1;
  }
  writeNpy(path.join(reordered, "X.npy"), X2, [d.n, 11]);
  fs.copyFileSync(path.join(data, "y.npy"), path.join(reordered, "y.npy"));
  fs.copyFileSync(path.join(data, "split.npy"), path.join(reordered, "split.npy"));
  const names2 = [...order.map((j) => names[j]!), "extra"];
  fs.writeFileSync(path.join(reordered, "features.json"), JSON.stringify({ names: names2, groups: names2.map(() => "dynamic") }));
  const a = run("predict", model, data, "--out", path.join(dir, "a.npy"));
  const b = run("predict", model, reordered, "--out", path.join(dir, "b.npy"));
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.deepEqual(readNpy(path.join(dir, "b.npy")).data, readNpy(path.join(dir, "a.npy")).data);

  fs.writeFileSync(
    path.join(reordered, "features.json"),
    JSON.stringify({ names: names2.map((n) => (n === "x3" ? "x3_renamed" : n)), groups: names2.map(() => "dynamic") }),
  );
  const missing = run("predict", model, reordered, "--out", path.join(dir, "c.npy"));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /it needs the feature 'x3', which the data lack/);
  assert.ok(!fs.existsSync(path.join(dir, "c.npy")));
  const noFolder = run("predict", model, data, "--out", path.join(dir, "no", "such", "p.npy"));
  assert.equal(noFolder.status, 2);
  assert.match(noFolder.stderr, /the folder of .*p\.npy does not exist/);
  assert.doesNotMatch(noFolder.stderr, /\n\s+at /);
});
