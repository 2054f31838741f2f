/**
 * The fill rule for pixel-days whose dynamic predictors are all missing (#25 item 7), measured:
 *  - Pakistan January-June 2020 (examples/pakistan-2020.yaml): ERA5-Land covers January and June,
 *    and so does SMAP (no granule February-May in ../shared): the product model's calibration gaps
 *    hold no row without predictors, so those months stay not filled, and why;
 *  - Pakistan January 2020 with ERA5-Land removed on 10 days (a copy of the cube, days 11-20): real
 *    SMAP rows without dynamic predictors that an evaluation scores. The evaluation's test RMSE
 *    and 90 % coverage on those rows against the others (boosted trees and linear interpolation),
 *    and the product model's calibration record for them (their RMSE, the sigma scale), and how the
 *    product fills them (flag 8).
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { spawnSync } from "node:child_process";
import { Cube } from "../src/cube/cube.js";
import { trainProductModel } from "../src/reconstruct/product-model.js";
import { reconstruct, SOURCE_FLAGS } from "../src/reconstruct/reconstruct.js";
import type { WithoutDynamicCalibration } from "../src/reconstruct/without-predictors.js";
import { formatDay } from "../src/util/dates.js";

export interface WithoutPredictorsBenchOptions {
  repo: string;
  workDir: string;
  pakistan: string;
  pakistanJanuary: string;
  /** Days [from, to) of January whose predictors are removed. */
  blank: [number, number];
  maxSamples: number;
}

const r4 = (v: number | null | undefined) => (typeof v === "number" && Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null);

async function sourceCounts(store: string): Promise<Record<string, number>> {
  const product = await Cube.open(store);
  const src = await product.readBlock("soil_moisture_source", 0, product.days);
  const names = Object.fromEntries(Object.entries(SOURCE_FLAGS).map(([k, v]) => [v, k]));
  const out: Record<string, number> = {};
  for (const v of src) out[names[v] ?? String(v)] = (out[names[v] ?? String(v)] ?? 0) + 1;
  return out;
}

async function productRun(cubePath: string, dir: string, maxSamples: number) {
  fs.mkdirSync(dir, { recursive: true });
  const modelDir = path.join(dir, "model");
  if (!fs.existsSync(path.join(modelDir, "fit.json")))
    await trainProductModel(await Cube.open(cubePath), { model: "xgb", out: modelDir, seed: 0, maxSamples, params: { "xgb.rounds": 500 } });
  const store = path.join(dir, "product.zarr");
  await reconstruct({ cube: cubePath, model: modelDir, out: store });
  const fit = JSON.parse(fs.readFileSync(path.join(modelDir, "fit.json"), "utf8")) as { without_dynamic_predictors: WithoutDynamicCalibration };
  return { without_dynamic_predictors: fit.without_dynamic_predictors, product_source_counts: await sourceCounts(store) };
}

/** Test RMSE and 90 % coverage per model, on test rows dated inside `days` and outside. */
function splitPredictions(file: string, days: Set<string>) {
  const lines = zlib.gunzipSync(fs.readFileSync(file)).toString("utf8").trim().split("\n");
  const head = lines[0]!.split(",");
  const models = head.filter((h, i) => i > 4 && !h.endsWith("_sigma"));
  const acc: Record<string, Record<string, { n: number; sq: number; inside: number }>> = {};
  for (const line of lines.slice(1)) {
    const c = line.split(",");
    const y = Number(c[3]);
    const group = days.has(c[2]!) ? "without_dynamic_predictors" : "with_predictors";
    for (const m of models) {
      const i = head.indexOf(m);
      const x = Number(c[i]);
      const s = Number(c[i + 1]);
      if (!c[i]) continue;
      const a = ((acc[m] ??= {})[group] ??= { n: 0, sq: 0, inside: 0 });
      a.n++;
      a.sq += (x - y) ** 2;
      if (Math.abs(x - y) <= 1.6448536269514722 * s) a.inside++;
    }
  }
  return Object.fromEntries(
    Object.entries(acc).map(([m, g]) => [
      m,
      Object.fromEntries(Object.entries(g).map(([k, a]) => [k, { n: a.n, rmse: r4(Math.sqrt(a.sq / a.n)), inside90: r4(a.inside / a.n) }])),
    ]),
  );
}

export async function benchWithoutPredictors(o: WithoutPredictorsBenchOptions): Promise<Record<string, unknown>> {
  const work = path.join(o.workDir, "without-predictors");
  fs.mkdirSync(work, { recursive: true });
  const out: Record<string, unknown> = {};
  if (fs.existsSync(o.pakistan))
    out["Pakistan January-June 2020"] = { cube: o.pakistan, ...(await productRun(o.pakistan, path.join(work, "pakistan-2020"), o.maxSamples)) };
  if (fs.existsSync(o.pakistanJanuary)) {
    const blanked = path.join(work, "pakistan-2020-01-blanked.zarr");
    if (!fs.existsSync(blanked)) {
      fs.cpSync(o.pakistanJanuary, `${blanked}.partial`, { recursive: true });
      const cube = await Cube.open(`${blanked}.partial`);
      const P = cube.window.nrows * cube.window.ncols;
      const [a, b] = o.blank;
      for (const v of cube.variables.filter((x) => x.kind === "dynamic" && !x.name.startsWith("soil_moisture")))
        await cube.writeBlock(v.name, a, new Float32Array((b - a) * P).fill(NaN));
      fs.renameSync(`${blanked}.partial`, blanked);
    }
    const cube = await Cube.open(blanked);
    const days = new Set(Array.from({ length: o.blank[1] - o.blank[0] }, (_, i) => formatDay(cube.startDay + o.blank[0] + i)));
    const evaluation = path.join(work, "pakistan-2020-01-blanked-eval");
    const run = spawnSync(
      process.execPath,
      [
        path.join(o.repo, "bin", "smapfill.js"),
        "evaluate",
        blanked,
        "--out",
        evaluation,
        "--models",
        "xgb,linear_interp",
        "--max-train-samples",
        String(o.maxSamples),
        "--importance",
        "none",
        "--ablation-pairs",
        "none",
        "--reference",
        "xgb",
        "--boot",
        "0",
        "--quiet",
      ],
      { encoding: "utf8" },
    );
    if (run.status !== 0) throw new Error(run.stderr);
    out["Pakistan January 2020, ERA5-Land removed on days 11-20"] = {
      cube: blanked,
      removed_days: [...days].sort(),
      evaluation_test_rows: splitPredictions(path.join(evaluation, "predictions", "gaps.csv.gz"), days),
      ...(await productRun(blanked, path.join(work, "pakistan-2020-01-blanked"), o.maxSamples)),
    };
  }
  return {
    what: "pixel-days whose dynamic predictors are all missing: how the product model and an evaluation do on them, and what the product fills",
    cubes: out,
  };
}
