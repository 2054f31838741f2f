/**
 * One training path, end to end: what evaluate scores is what reconstruct ships (its model
 * folders are product models, and with the test values hidden from the cube a reconstruction
 * gives exactly the evaluation's estimates), the period split sees no later SMAP value,
 * hyperparameters and outputs are checked before any work, and dataset folders with every
 * feature group go through train and predict.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { spawnSync } from "node:child_process";
import { Cube } from "../../src/cube/cube.js";
import { readDataset } from "../../src/features/dataset.js";
import { Role } from "../../src/features/roles.js";
import { parseDay } from "../../src/util/dates.js";
import { REPO_ROOT, tempDir } from "../helpers.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
function smapfill(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

let world: Promise<string> | undefined;
/** The test preset's cube (45 days from 2019-03-01), made once. */
function testCube(): Promise<string> {
  world ??= (async () => {
    const dir = tempDir();
    const demo = smapfill("demo", "--preset", "test", "--out", dir, "--quiet", "--no-evaluate", "--no-product");
    assert.equal(demo.code, 0, demo.stderr);
    return path.join(dir, "cube.zarr");
  })();
  return world;
}

const QUICK = [
  "--xgb-rounds",
  "30",
  "--max-train-samples",
  "1500",
  "--boot",
  "0",
  "--importance",
  "none",
  "--ablation-pairs",
  "none",
  "--reference",
  "xgb",
  "--quiet",
];

/** An evaluation's per-row predictions: header and rows of cells. */
function predictions(file: string): { head: string[]; rows: string[][] } {
  const [head, ...rows] = zlib.gunzipSync(fs.readFileSync(file)).toString().trim().split("\n");
  return { head: head!.split(","), rows: rows.map((r) => r.split(",")) };
}

/** The sequence model, quick: a short window, a narrow state, two epochs. */
const QUICK_LSTM = ["--param", "lstm.max_epochs=2", "--param", "lstm.window=10", "--param", "lstm.hidden=8"];

for (const [label, models, extra] of [
  ["", ["xgb"], []],
  [" (the weather group; the sequence model reading its history)", ["xgb", "lstm"], ["--weather", ...QUICK_LSTM]],
] as [string, string[], string[]][])
  test(`evaluate's model folder is a product model: with the test values hidden from the cube, reconstruct gives exactly the evaluation's estimates${label}`, async () => {
    await productEqualsEvaluation(models, extra);
  });

async function productEqualsEvaluation(models: string[], extra: string[]): Promise<void> {
  const cubePath = await testCube();
  const dir = tempDir();
  const evalOut = path.join(dir, "eval");
  const ev = smapfill("evaluate", cubePath, "--out", evalOut, "--models", models.join(","), ...extra, ...QUICK);
  assert.equal(ev.code, 0, ev.stderr);
  const { head, rows } = predictions(path.join(evalOut, "predictions", "gaps.csv.gz"));
  assert.ok(rows.length > 100, `${rows.length} test rows`);
  const at = (name: string) => head.indexOf(name);

  // The cube as a user would have it without the test values.
  const hidden = path.join(dir, "hidden.zarr");
  fs.cpSync(cubePath, hidden, { recursive: true });
  const cube = await Cube.open(hidden);
  const { row0, col0, ncols } = cube.window;
  const P = cube.window.nrows * ncols;
  const key = (r: string[]) => (parseDay(r[at("date")]!) - cube.startDay) * P + (Number(r[at("row")]) - row0) * ncols + (Number(r[at("col")]) - col0);
  const smap = await cube.readBlock("soil_moisture", 0, cube.days);
  for (const r of rows) {
    assert.equal(smap[key(r)], Math.fround(Number(r[at("smap")])), "the CSV's target is the cube's value");
    smap[key(r)] = NaN;
  }
  await cube.writeBlock("soil_moisture", 0, smap);

  for (const name of models) {
    const product = path.join(dir, `product-${name}`);
    const rec = smapfill("reconstruct", hidden, "--model", path.join(evalOut, "models", "gaps", name), "--out", product, "--everywhere", "--quiet");
    assert.equal(rec.code, 0, rec.stderr);
    const made = await Cube.open(path.join(product, "product.zarr"));
    const model = await made.readBlock("soil_moisture_model", 0, made.days);
    const filled = await made.readBlock("soil_moisture", 0, made.days);
    const source = await made.readBlock("soil_moisture_source", 0, made.days);
    // A pixel whose every retrieval was a test value is no land pixel in the hidden cube
    // (reconstruct fills the cells SMAP saw at least once): nothing to compare there.
    const seen = new Uint8Array(P);
    smap.forEach((v, k) => Number.isNaN(v) || (seen[k % P] = 1));
    let same = 0;
    for (const r of rows) {
      if (!seen[key(r) % P]) {
        assert.equal(source[key(r)], 6, "not_filled_outside_land");
        continue;
      }
      const expected = Math.fround(Number(r[at(name)]));
      assert.equal(model[key(r)], expected, `${name}: ${r.slice(0, 3).join(" ")}`);
      assert.equal(filled[key(r)], expected, `${name}: the product's value there is the evaluation's estimate`);
      same++;
    }
    assert.ok(same > 0.95 * rows.length, `${name}: ${same} of ${rows.length} compared`);
  }
}

test("the period split trains only on earlier days, and no feature (the weather group's, the sequence model's history) sees a SMAP value on or after the first test day", async () => {
  const cubePath = await testCube();
  const dir = tempDir();
  const args = (cube: string, out: string) => [
    "evaluate",
    cube,
    "--out",
    out,
    "--models",
    "xgb,linear_interp,lstm",
    "--splits",
    "period",
    "--test-start",
    "2019-04-01",
    "--write-dataset",
    "--weather",
    ...QUICK_LSTM,
    ...QUICK,
  ];
  const a = smapfill(...args(cubePath, path.join(dir, "a")));
  assert.equal(a.code, 0, a.stderr);
  const first = parseDay("2019-04-01") - parseDay("2019-03-01");
  const data = readDataset(path.join(dir, "a", "datasets", "period"));
  for (let i = 0; i < data.n; i++) {
    if (data.role[i] === Role.Test) assert.ok(data.day![i]! >= first);
    else assert.ok(data.day![i]! < first, `a ${data.role[i]} row on day ${data.day![i]}`);
  }
  // Every later SMAP value perturbed: every estimate stays the same (only the targets move).
  const perturbed = path.join(dir, "perturbed.zarr");
  fs.cpSync(cubePath, perturbed, { recursive: true });
  const cube = await Cube.open(perturbed);
  const P = cube.window.nrows * cube.window.ncols;
  const smap = await cube.readBlock("soil_moisture", 0, cube.days);
  await cube.writeBlock(
    "soil_moisture",
    0,
    Float32Array.from(smap, (v, k) => (k >= first * P && !Number.isNaN(v) ? Math.min(0.5, v + 0.2) : v)),
  );
  const b = smapfill(...args(perturbed, path.join(dir, "b")));
  assert.equal(b.code, 0, b.stderr);
  const [pa, pb] = [predictions(path.join(dir, "a", "predictions", "period.csv.gz")), predictions(path.join(dir, "b", "predictions", "period.csv.gz"))];
  assert.equal(pa.rows.length, pb.rows.length);
  assert.ok(pa.rows.length > 100);
  const cols = ["xgb", "xgb_sigma", "linear_interp", "lstm", "lstm_sigma"].map((c) => pa.head.indexOf(c));
  assert.ok(cols.every((c) => c >= 0));
  // The weather group was there (the test cube has precipitation).
  assert.ok(data.schema.groups.includes("weather"));
  pa.rows.forEach((r, i) => {
    for (const c of cols) assert.equal(pb.rows[i]![c], r[c]);
  });
  assert.notEqual(pb.rows[0]![pa.head.indexOf("smap")], pa.rows[0]![pa.head.indexOf("smap")]);
  assert.match(fs.readFileSync(path.join(dir, "a", "report.md"), "utf8"), /prolongation/);

  // A dataset folder has no cube: predict and train DATASET refuse the sequence model with the fix.
  const dataset = path.join(dir, "a", "datasets", "period");
  const p = smapfill("predict", path.join(dir, "a", "models", "period", "lstm"), dataset, "--out", path.join(dir, "lstm.npy"));
  assert.equal(p.code, 2, p.stderr);
  assert.match(p.stderr, /lstm reads its pixels' history from a cube.*smapfill reconstruct CUBE/s);
  const t = smapfill("train", dataset, "--model", "lstm", "--out", path.join(dir, "lstm-model"));
  assert.equal(t.code, 2, t.stderr);
  assert.match(t.stderr, /lstm reads its pixels' history from a cube, and these rows come from none.*smapfill train CUBE/s);
  assert.equal(fs.existsSync(path.join(dir, "lstm-model")), false);
});

test("train refuses unknown hyperparameters (cube and dataset) and a missing output folder before any work", async () => {
  const cubePath = await testCube();
  const dir = tempDir();
  for (const input of [cubePath, path.join(dir, "dataset")]) {
    if (input.endsWith("dataset")) {
      const ev = smapfill("evaluate", cubePath, "--out", path.join(dir, "e"), "--models", "xgb", "--spatial", "--write-dataset", ...QUICK);
      assert.equal(ev.code, 0, ev.stderr);
      fs.cpSync(path.join(dir, "e", "datasets", "gaps"), input, { recursive: true });
    }
    const r = smapfill("train", input, "--model", "xgb", "--out", path.join(dir, `m${input.length}`), "--param", "xgb.depth=3");
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /xgb has no parameter 'depth'\. xgb takes rounds, early_stopping, max_depth, eta/);
    assert.equal(fs.existsSync(path.join(dir, `m${input.length}`)), false);
  }
  const started = Date.now();
  const missing = smapfill("train", cubePath, "--model", "xgb", "--out", path.join(dir, "no", "such", "model"));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /the folder of .*model does not exist/);
  assert.ok(Date.now() - started < 20000, "refused before the draw");

  // A dataset with the spatial group trains and predicts (every group the sample layer writes).
  const data = path.join(dir, "dataset");
  assert.ok(readDataset(data).groups.includes("spatial"));
  const model = path.join(dir, "spatial-model");
  const t = smapfill("train", data, "--model", "xgb", "--out", model, "--xgb-rounds", "20", "--quiet");
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /test n \d+, rmse 0\.\d+ \[0\.\d+, 0\.\d+\].*\(95 % CIs over days\)/);
  assert.ok(fs.existsSync(path.join(model, "uncertainty.json")), "calibrated on the dataset's calibration rows");
  const p = smapfill("predict", model, data, "--out", path.join(dir, "pred.npy"));
  assert.equal(p.code, 0, p.stderr);
  // evaluate's own spatial model predicts the same dataset too.
  const q = smapfill("predict", path.join(dir, "e", "models", "gaps", "xgb"), data, "--out", path.join(dir, "pred2.npy"));
  assert.equal(q.code, 0, q.stderr);
});
