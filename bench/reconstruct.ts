/**
 * The gap-free product's speed and accuracy on the demo world (a synthetic year, 40 x 53 cells,
 * with a known truth):
 *  - the whole reconstruction (read, features, predict, write; `reconstruct()` in process) with the
 *    boosted trees and with TsSMNet, in pixel-days/s, against the reference model's inference
 *    alone on the same rows (XGBoost's inplace_predict on our exported model; the reference
 *    TsSMNet in PyTorch on rows of the same width), same thread count, rounds alternated;
 *  - the boosted trees' predict against XGBoost's at 1 and 2 threads on those rows;
 *  - accuracy against the synthetic truth: the product on reconstructed pixel-days beside SMAP's
 *    own error on observed days, and against the stations on gap and on observed days.
 */
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Cube } from "../src/cube/cube.js";
import { ingestStudy } from "../src/cube/ingest-study.js";
import { loadStudy } from "../src/config/study.js";
import { writeWorld } from "../src/synth/write-world.js";
import { writeWorldStudy } from "../src/synth/world-study.js";
import { WORLD_PRESETS } from "../src/synth/world.js";
import { trainProductModel } from "../src/reconstruct/product-model.js";
import { reconstruct } from "../src/reconstruct/reconstruct.js";
import { FeatureBuilder, readSampleArrays } from "../src/features/samples.js";
import { loadModel } from "../src/models/model-store.js";
import { writeNpy } from "../src/io/npy.js";
import { pointMetrics } from "../src/eval/metrics.js";
import { readIsmn, selectSeries } from "../src/io/ismn.js";
import { collocate } from "../src/eval/collocate.js";
import { median } from "./common.js";
import { productAgainstTruth } from "../src/eval/against-truth.js";

async function demoWorld(work: string) {
  const world = WORLD_PRESETS.demo;
  const dir = path.join(work, "reconstruct-demo");
  const cube = path.join(dir, "cube.zarr");
  if (!fs.existsSync(path.join(dir, "world", "world.json"))) {
    fs.rmSync(dir, { recursive: true, force: true });
    await writeWorld(world, path.join(dir, "world"));
  }
  await ingestStudy(loadStudy(writeWorldStudy(path.join(dir, "world"), world, "../cube.zarr")), { quiet: true });
  return { dir, cube, world: path.join(dir, "world") };
}

/** The feature rows a reconstruction predicts: every unobserved land pixel-day. */
async function reconstructedRows(cube: Cube) {
  const arrays = await readSampleArrays(cube, { coordinates: true });
  const roles = Int8Array.from(arrays.smap, (v) => (Number.isNaN(v) ? -1 : 0));
  const features = new FeatureBuilder(arrays, roles);
  const land = new Uint8Array(arrays.P);
  arrays.smap.forEach((v, k) => {
    if (!Number.isNaN(v)) land[k % arrays.P] = 1;
  });
  const ks = [...arrays.smap.keys()].filter((k) => Number.isNaN(arrays.smap[k]!) && land[k % arrays.P]);
  const X = features.rows(
    Int32Array.from(ks, (k) => k % arrays.P),
    Int32Array.from(ks, (k) => Math.floor(k / arrays.P)),
  );
  return { X, n: ks.length, f: features.names.length };
}

function python(script: string, args: string[], env: Record<string, string> = {}) {
  const run = spawnSync("/usr/bin/python3", [script, ...args], { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`${script}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

export async function benchReconstruct(o: { sharedDir: string; workDir: string; rounds: number; threads: number; tssmnetEpochs: number }) {
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
  const { dir, cube: cubePath, world } = await demoWorld(o.workDir);
  const cube = await Cube.open(cubePath);
  const models: Record<string, string> = {};
  for (const [name, params] of [
    ["xgb", {}],
    ["tssmnet", { max_epochs: o.tssmnetEpochs }],
  ] as const) {
    const out = path.join(dir, `model-${name}`);
    if (!fs.existsSync(path.join(out, "fit.json"))) {
      fs.rmSync(out, { recursive: true, force: true });
      await trainProductModel(cube, { model: name, out, params, maxSamples: 40000, seed: 0, log: (m) => process.stderr.write(`${m}\n`) });
    }
    models[name] = out;
  }
  const rows = await reconstructedRows(cube);
  const xFile = path.join(dir, "rows.npy");
  writeNpy(xFile, rows.X, [rows.n, rows.f]);
  const pixelDays = cube.window.nrows * cube.window.ncols * cube.days;
  process.env.SMAPFILL_THREADS = String(o.threads);

  // Whole reconstruction against the reference model's inference alone, alternated.
  const pipeline: Record<string, unknown>[] = [];
  const nIn = (loadModel(models.tssmnet!).model.info().n_inputs as number) ?? rows.f;
  for (const name of ["xgb", "tssmnet"]) {
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const out = path.join(dir, `product-${name}-${r}.zarr`);
      fs.rmSync(out, { recursive: true, force: true });
      const t0 = performance.now();
      const rep = await reconstruct({ cube: cubePath, model: models[name]!, out });
      ours.push((performance.now() - t0) / 1000);
      if (rep.pixelDays.reconstructed !== rows.n) throw new Error(`reconstructed ${rep.pixelDays.reconstructed} rows, expected ${rows.n}`);
      const env = { OMP_NUM_THREADS: String(o.threads), OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: String(o.threads) };
      const ref =
        name === "xgb"
          ? python(path.join(repo, "bench", "python", "xgb_predict.py"), [path.join(models.xgb!, "xgboost.json"), xFile, "1", String(o.threads)]).rows_per_s[
              String(o.threads)
            ]
          : python(
              path.join(repo, "bench", "python", "torch_infer.py"),
              [path.join(o.sharedDir, "reference"), "tssmnet", String(nIn), String(rows.n), "1"],
              env,
            ).rows_per_s;
      theirs.push(rows.n / ref);
      fs.rmSync(out, { recursive: true, force: true });
    }
    pipeline.push({
      model: name,
      threads: o.threads,
      rows_predicted: rows.n,
      product_pixel_days: pixelDays,
      ours_whole_pipeline_s: median(ours),
      ours_pixel_days_per_s: pixelDays / median(ours),
      ours_rows_per_s: rows.n / median(ours),
      reference:
        name === "xgb" ? "XGBoost inplace_predict on our exported model, same rows" : `reference TsSMNet (PyTorch) inference, ${rows.n} rows of ${nIn} inputs`,
      reference_model_call_s: median(theirs),
      reference_rows_per_s: rows.n / median(theirs),
      ratio_reference_time_over_ours: median(theirs) / median(ours),
      rounds: { ours, reference: theirs },
    });
    process.stderr.write(`${name}: whole reconstruction ${median(ours).toFixed(2)} s, reference model call ${median(theirs).toFixed(2)} s\n`);
  }

  // The boosted trees' predict against XGBoost's, 1 and 2 threads, alternated.
  const trees: Record<string, unknown>[] = [];
  const gbt = loadModel(models.xgb!).model;
  for (const threads of [1, 2]) {
    process.env.SMAPFILL_THREADS = String(threads);
    const saved = loadModel(models.xgb!).model;
    saved.predict(rows.X, rows.n);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const t0 = performance.now();
      saved.predict(rows.X, rows.n);
      ours.push(rows.n / ((performance.now() - t0) / 1000));
      theirs.push(
        python(path.join(repo, "bench", "python", "xgb_predict.py"), [path.join(models.xgb!, "xgboost.json"), xFile, "3", String(threads)]).rows_per_s[
          String(threads)
        ],
      );
    }
    trees.push({
      threads,
      ours_rows_per_s: median(ours),
      xgboost_rows_per_s: median(theirs),
      ratio_ours_over_xgboost: median(ours) / median(theirs),
      rounds: { ours, xgboost: theirs },
    });
    process.stderr.write(`gbt predict ${threads} thread(s): ours ${median(ours).toFixed(0)} rows/s, XGBoost ${median(theirs).toFixed(0)}\n`);
  }
  void gbt;
  process.env.SMAPFILL_THREADS = String(o.threads);

  // Accuracy against the truth and the stations, per model.
  const truth = await Cube.open(path.join(world, "truth.zarr"));
  const T = cube.days;
  const trueSm = await truth.readBlock("soil_moisture_true", 0, T);
  const smap = await cube.readBlock("soil_moisture", 0, T);
  const stations = collocate(
    selectSeries(readIsmn(path.join(world, "ismn")).series, { flags: ["G"], maxDepth: 0.06 }),
    cube.grid,
    cube.window,
    cube.startDay,
    T,
  ).stations;
  const P = cube.window.nrows * cube.window.ncols;
  const accuracy: Record<string, unknown>[] = [];
  for (const name of ["xgb", "tssmnet"]) {
    const out = path.join(dir, `product-${name}.zarr`);
    fs.rmSync(out, { recursive: true, force: true });
    await reconstruct({ cube: cubePath, model: models[name]!, out });
    const product = await Cube.open(out);
    const sm = await product.readBlock("soil_moisture", 0, T);
    const unc = await product.readBlock("soil_moisture_uncertainty", 0, T);
    const { reconstructed, inside90, smapObserved } = productAgainstTruth({ smap, truth: trueSm, product: sm, uncertainty: unc });
    const station = (gapDays: boolean) => {
      const pred: number[] = [];
      const ref: number[] = [];
      for (const s of stations)
        for (let t = 0; t < T; t++) {
          const k = t * P + s.pixel;
          const v = s.daily[t]!;
          if (Number.isNaN(v) || Number.isNaN(sm[k]!) || Number.isNaN(smap[k]!) !== gapDays) continue;
          pred.push(sm[k]!);
          ref.push(v);
        }
      return { n: pred.length, ...pointMetrics(pred, ref) };
    };
    const smapStations = (() => {
      const pred: number[] = [];
      const ref: number[] = [];
      for (const s of stations)
        for (let t = 0; t < T; t++) {
          const k = t * P + s.pixel;
          if (Number.isNaN(s.daily[t]!) || Number.isNaN(smap[k]!)) continue;
          pred.push(smap[k]!);
          ref.push(s.daily[t]!);
        }
      return { n: pred.length, ...pointMetrics(pred, ref) };
    })();
    accuracy.push({
      model: name,
      product_vs_truth_on_reconstructed_days: reconstructed,
      truth_inside_90_percent_interval: inside90,
      smap_vs_truth_on_observed_days: smapObserved,
      stations: { product_gap_days: station(true), product_observed_days: station(false), smap_observed_days: smapStations },
    });
    fs.rmSync(out, { recursive: true, force: true });
  }
  return {
    benchmark: "reconstruct",
    description: `demo world (synthetic year, ${cube.window.nrows} x ${cube.window.ncols} cells, ${T} days); product models trained on 40 000 rows (TsSMNet ${o.tssmnetEpochs} epochs cap); ${o.rounds} alternated rounds, medians`,
    pipeline,
    tree_predict: trees,
    accuracy,
  };
}
