/**
 * `npm run bench -- accuracy`: the accuracy measurements as whole `smapfill evaluate` runs, and
 * the demo world's noise floor. For each cube and training seed (one split per cube, split seed
 * 0, so every run scores the same test rows):
 *  - "paper": the paper's features (no spatial context), the boosted trees (the best of the
 *    paper's six on every cube so far), TsSMNet and TsSMNet-noTS with their paired ablation;
 *    seed 0 adds the non-ML baselines (linear interpolation, DCT-PLS);
 *  - "ours": the product's default model, the ensemble with spatial context (`--spatial`).
 * Each run writes WORK/accuracy/NAME and is skipped when its evaluation.json is there (a run that
 * was stopped resumes through evaluate's own resume). Settings as the issue asks: 40 000 training
 * rows, networks with early stopping under their default cap, 200 bootstrap resamples.
 *
 * The floor: in the synthetic world a SMAP retrieval is truth + a per-pixel bias + a slow AR(1)
 * error + white noise (src/synth/world.ts); only the white noise is unpredictable, so no gap
 * filler's RMSE against hidden SMAP values can fall below sqrt(mean sigma^2) over them.
 */
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Cube } from "../src/cube/cube.js";
import { smapRandomErrorStd } from "../src/synth/world.js";
import { productAgainstTruth } from "../src/eval/against-truth.js";

export interface AccuracyOptions {
  repo: string;
  workDir: string;
  /** Cube paths by label; the demo world's needs its world folder beside it (world/truth.zarr). */
  cubes: { label: string; key: string; path: string; seeds: number[]; demoWorld?: string }[];
}

interface ModelRow {
  model: string;
  test_rmse: number;
  test_rmse_ci: [number, number];
  validation_rmse: number | null;
  rmse_by_gap_kind: Record<string, number>;
  fit: unknown;
}

/** `smapfill ARGS --quiet` from the repository, its progress on stderr. */
function smapfill(o: AccuracyOptions, args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(o.repo, "bin", "smapfill.js"), ...args, "--quiet"], { cwd: o.repo, stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`smapfill ${args.slice(0, 2).join(" ")} failed (exit ${r.status})`);
}

function evaluate(o: AccuracyOptions, name: string, cube: string, seed: number, args: string[]): { dir: string; seconds: number | null } {
  const dir = path.join(o.workDir, "accuracy", name);
  if (fs.existsSync(path.join(dir, "evaluation.json"))) return { dir, seconds: null };
  const started = performance.now();
  process.stderr.write(`accuracy: ${name}\n`);
  smapfill(o, ["evaluate", cube, "--out", dir, "--max-train-samples", "40000", "--boot", "200", "--importance", "none", "--train-seed", String(seed), ...args]);
  return { dir, seconds: (performance.now() - started) / 1000 };
}

function modelRows(dir: string): { rows: ModelRow[]; ablation: unknown; samples: unknown; warnings: unknown } {
  const e = JSON.parse(fs.readFileSync(path.join(dir, "evaluation.json"), "utf8"));
  const split = e.splits[0];
  const rows: ModelRow[] = split.models.map((m: Record<string, any>) => ({
    model: m.model,
    test_rmse: m.test.rmse.value,
    test_rmse_ci: [m.test.rmse.ciLow, m.test.rmse.ciHigh],
    validation_rmse: m.validationRmse ?? null,
    rmse_by_gap_kind: Object.fromEntries(((m.uncertainty?.byKind ?? []) as { group: string; rmse: number }[]).map((k) => [k.group, k.rmse])),
    fit: m.fit,
  }));
  return { rows, ablation: split.ablations?.[0] ?? null, samples: split.samples, warnings: e.warnings ?? [] };
}

/** sqrt(mean sigma^2) of the white noise over the cube's observed SMAP pixel-days. */
async function noiseFloor(cubePath: string, worldDir: string): Promise<{ rmse: number; pixel_days: number }> {
  const cube = await Cube.open(cubePath);
  const truth = await Cube.open(path.join(worldDir, "truth.zarr"));
  const forest = await truth.readStatic("forest");
  const smap = await cube.readBlock("soil_moisture", 0, cube.days);
  const P = forest.length;
  let [sum, n] = [0, 0];
  for (let k = 0; k < smap.length; k++) {
    if (Number.isNaN(smap[k]!)) continue;
    sum += smapRandomErrorStd(forest[k % P]!) ** 2;
    n++;
  }
  return { rmse: Math.sqrt(sum / n), pixel_days: n };
}

/** The product variants judged against the demo world's truth on SMAP's real gaps (demo settings: 20 000 rows, 500 rounds). */
const PRODUCT_VARIANTS: { key: string; label: string; args: string[] }[] = [
  { key: "xgb", label: "boosted trees (the demo's product model)", args: ["--model", "xgb", "--param", "xgb.rounds=500"] },
  { key: "xgb-anomaly", label: "boosted trees, anomaly target", args: ["--model", "xgb", "--param", "xgb.rounds=500", "--param", "xgb.anomaly=1"] },
  { key: "xgb-spatial", label: "boosted trees, --spatial", args: ["--model", "xgb", "--spatial", "--param", "xgb.rounds=500"] },
  { key: "ensemble", label: "ensemble (anomaly target)", args: ["--model", "ensemble", "--param", "ensemble.rounds=500"] },
  {
    key: "ensemble-spatial",
    label: "ensemble (anomaly target), --spatial: evaluate's default",
    args: ["--model", "ensemble", "--spatial", "--param", "ensemble.rounds=500"],
  },
];

/**
 * Simulated gaps hide SMAP where SMAP could retrieve; SMAP's real gaps are often where it cannot
 * (frozen ground). Only the synthetic world can judge those: each variant is trained as a
 * product model, reconstructs the cube, and is scored against the truth on the reconstructed
 * pixel-days (frozen and elsewhere apart), with the share of the truth inside its 90 % interval.
 */
async function productsAgainstTruth(o: AccuracyOptions, cubePath: string, worldDir: string): Promise<Record<string, unknown>[]> {
  const cube = await Cube.open(cubePath);
  const T = cube.days;
  const truthCube = await Cube.open(path.join(worldDir, "truth.zarr"));
  const truth = await truthCube.readBlock("soil_moisture_true", 0, T);
  const frozen = await truthCube.readBlock("frozen", 0, T);
  const smap = await cube.readBlock("soil_moisture", 0, T);
  const out: Record<string, unknown>[] = [];
  for (const v of PRODUCT_VARIANTS) {
    const dir = path.join(o.workDir, "accuracy", "product", v.key);
    if (!fs.existsSync(path.join(dir, "model", "fit.json")))
      smapfill(o, ["train", cubePath, "--out", path.join(dir, "model"), "--max-train-samples", "20000", ...v.args]);
    if (!fs.existsSync(path.join(dir, "product", "product.json")))
      smapfill(o, ["reconstruct", cubePath, "--model", path.join(dir, "model"), "--out", path.join(dir, "product")]);
    const product = await Cube.open(path.join(dir, "product", "product.zarr"));
    const scores = productAgainstTruth({
      smap,
      truth,
      frozen,
      product: await product.readBlock("soil_moisture", 0, T),
      uncertainty: await product.readBlock("soil_moisture_uncertainty", 0, T),
    });
    out.push({
      variant: v.label,
      train_args: v.args,
      reconstructed_pixel_days: scores.reconstructed.n,
      rmse_against_truth: scores.reconstructed.rmse,
      frozen: { pixel_days: scores.frozen!.n, rmse: scores.frozen!.rmse },
      elsewhere: { pixel_days: scores.elsewhere!.n, rmse: scores.elsewhere!.rmse },
      truth_inside_90: scores.inside90,
    });
  }
  return out;
}

export async function benchAccuracy(o: AccuracyOptions): Promise<Record<string, unknown>> {
  const cubes: Record<string, unknown> = {};
  for (const c of o.cubes) {
    const runs = c.seeds.map((seed) => {
      const baselines = seed === c.seeds[0] ? ",linear_interp,dctpls" : "";
      const paper = evaluate(o, `${c.key}-paper-seed${seed}`, c.path, seed, [
        "--models",
        `xgb,tssmnet,tssmnet_nots${baselines}`,
        "--reference",
        "xgb",
        "--ablation-pairs",
        "tssmnet:tssmnet_nots",
      ]);
      const ours = evaluate(o, `${c.key}-ours-seed${seed}`, c.path, seed, [
        "--spatial",
        "--models",
        "ensemble",
        "--reference",
        "ensemble",
        "--ablation-pairs",
        "none",
      ]);
      const p = modelRows(paper.dir);
      const e = modelRows(ours.dir);
      const rmse = (rows: ModelRow[], m: string) => rows.find((r) => r.model === m)?.test_rmse ?? NaN;
      const paperBest = ["xgb", "tssmnet", "tssmnet_nots"].reduce((best, m) => (rmse(p.rows, m) < rmse(p.rows, best) ? m : best), "xgb");
      const ensemble = rmse(e.rows, "ensemble");
      return {
        train_seed: seed,
        samples: p.samples,
        paper: p.rows,
        ts_ablation: p.ablation,
        ours: e.rows,
        best_paper_model: paperBest,
        default_vs_best_paper: ensemble / rmse(p.rows, paperBest) - 1,
        seconds: { paper: paper.seconds, ours: ours.seconds },
        warnings: { paper: p.warnings, ours: e.warnings },
      };
    });
    const mean = (f: (r: (typeof runs)[number]) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
    const of = (rows: ModelRow[], m: string) => rows.find((r) => r.model === m)?.test_rmse ?? NaN;
    cubes[c.label] = {
      cube: c.path,
      runs,
      mean_over_seeds: {
        seeds: c.seeds,
        xgb: mean((r) => of(r.paper, "xgb")),
        tssmnet: mean((r) => of(r.paper, "tssmnet")),
        tssmnet_nots: mean((r) => of(r.paper, "tssmnet_nots")),
        ensemble_spatial: mean((r) => of(r.ours, "ensemble")),
        ts_group_reduction: 1 - mean((r) => of(r.paper, "tssmnet")) / mean((r) => of(r.paper, "tssmnet_nots")),
        default_vs_best_paper:
          mean((r) => of(r.ours, "ensemble")) /
            Math.min(
              mean((r) => of(r.paper, "xgb")),
              mean((r) => of(r.paper, "tssmnet")),
            ) -
          1,
      },
      ...(c.demoWorld
        ? { noise_floor: await noiseFloor(c.path, c.demoWorld), products_against_truth: await productsAgainstTruth(o, c.path, c.demoWorld) }
        : {}),
    };
  }
  return {
    benchmark: "accuracy",
    description:
      "smapfill evaluate on simulated gaps (20 % test, 10 % validation: swath stripes, blocks, runs of days), one split per cube (seed 0: the same test rows in every run), training seeds as listed; 40 000 training rows; networks under their default 200-epoch cap with early stopping; out-of-fold time-series features. 'paper': the paper's features; 'ours': the default model (ensemble of the boosted trees and TsSMNet on departures from each pixel's climatology, weights on the validation gaps) with spatial context. default_vs_best_paper: relative test RMSE of the default model against the best of the paper's models run (negative: lower). noise_floor (synthetic world only): the RMSE no gap filler can beat against hidden SMAP values, sqrt(mean sigma^2) of the retrievals' white noise.",
    cubes,
  };
}
