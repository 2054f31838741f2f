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
  /** The product variants against the demo world's truth (--no-products: not run; reconstruct.json has the product models'). */
  products?: boolean;
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
function smapfill(o: Pick<AccuracyOptions, "repo">, args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(o.repo, "bin", "smapfill.js"), ...args, "--quiet"], { cwd: o.repo, stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`smapfill ${args.slice(0, 2).join(" ")} failed (exit ${r.status})`);
}

function evaluate(o: AccuracyOptions, name: string, cube: string, seed: number, args: string[]): { dir: string; seconds: number | null } {
  const dir = path.join(o.workDir, "accuracy", name);
  if (fs.existsSync(path.join(dir, "evaluation.json"))) return { dir, seconds: null };
  fs.mkdirSync(path.dirname(dir), { recursive: true });
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
    fs.mkdirSync(dir, { recursive: true });
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
        ? {
            noise_floor: await noiseFloor(c.path, c.demoWorld),
            ...(o.products === false ? {} : { products_against_truth: await productsAgainstTruth(o, c.path, c.demoWorld) }),
          }
        : {}),
    };
  }
  return {
    benchmark: "accuracy",
    description:
      "smapfill evaluate through the one training path on held-out gaps (20 % test and 10 % validation, each an equal mix of swath stripes, blocks, runs of days and, where the cube records why SMAP is missing, SMAP's own masks moved in time: the transplanted kind; 10 % calibration gaps, transplanted where the record has room; held-out design 4), one split per cube (seed 0: the same test rows in every run), training seeds as listed; 40 000 training rows at most; networks under their default 200-epoch cap with early stopping; out-of-fold time-series features. 'paper': the paper's features; 'ours': the default model (ensemble of the boosted trees and TsSMNet on departures from each pixel's climatology, weights on the validation gaps) with spatial context. default_vs_best_paper: relative test RMSE of the default model against the best of the paper's models run (negative: lower). noise_floor (synthetic world only): the RMSE no gap filler can beat against hidden SMAP values, sqrt(mean sigma^2) of the retrievals' white noise.",
    cubes,
  };
}

export interface WeatherAccuracyOptions {
  repo: string;
  workDir: string;
  /** The demo world's cube (smapfill demo --out DIR). */
  cube: string;
  seeds: number[];
  /** Training rows per run (the issue: 40 000). */
  rows: number;
  /** The sequence model's epoch cap (its registry default: 200, with early stopping). */
  lstmEpochs: number;
  /** The period split's first test day (halfway through the demo world's year). */
  testStart: string;
  /** API decays tried for the weather group, chosen on the validation gaps (the boosted trees' validation RMSE). */
  apiDecays: number[];
  /** The Transformer's epoch cap in the paper's-models runs (its training is the slowest by far: about 30 s per epoch of 40 000 rows on 2 threads). */
  transformerEpochs: number;
  /** The sequence model's windows tried (days), chosen on the validation gaps (its validation RMSE on the paper's features). */
  windows: number[];
  /** Real cubes without precipitation (the weather group is empty there): the sequence model alone and in the ensemble, seed 0, --spatial as the default model. */
  real: { label: string; key: string; path: string }[];
}

/**
 * The paper's models other than the boosted trees (MODELS.md) on the paper's features: all five
 * at the first seed, TsSMNet and TsSMNet-noTS at every seed (the issue asks for rf, AutoResNet and
 * the Transformer at least at the first).
 */
const PAPER_OTHERS = "rf,tssmnet,tssmnet_nots,autoresnet,transformer";
const PAPER_EVERY_SEED = "tssmnet,tssmnet_nots";

/** A result row of ours (the sequence model, or anything with the weather group) rather than the paper's. */
function isNew(model: string, withWeather: boolean): boolean {
  return withWeather || model === "lstm";
}

/**
 * `npm run bench -- accuracy-weather` (issue 26): the weather group and the sequence model on the
 * demo world against the paper's models with the same other features, on simulated gaps and on
 * the period split (train on the first half of the year, test on the second). Per seed and split:
 * `base` (xgb and lstm on the paper's features), `paper` (the paper's other five models at the
 * first seed, TsSMNet and TsSMNet-noTS at the others), `weather` (xgb and lstm with --weather, its
 * API decay the one with the lowest validation RMSE of xgb among `apiDecays`, chosen on the gaps
 * split's validation gaps only) and `ensemble` (the two with --weather, weights on validation). The
 * sequence model's window is chosen first, among `windows`, on the same validation gaps.
 * RMSE by gap kind and by distance to the nearest retrieval come from evaluate's coverage tables.
 */
export async function benchWeatherAccuracy(o: WeatherAccuracyOptions): Promise<Record<string, unknown>> {
  const epochs = (seed: number) => ["--train-seed", String(seed), "--param", `lstm.max_epochs=${o.lstmEpochs}`];
  const rowsOf = (dir: string) => {
    const e = JSON.parse(fs.readFileSync(path.join(dir, "evaluation.json"), "utf8"));
    const split = e.splits[0];
    return (split.models as Record<string, any>[]).map((m) => ({
      model: m.model,
      test_rmse: m.test.rmse.value as number,
      test_rmse_ci: [m.test.rmse.ciLow, m.test.rmse.ciHigh],
      validation_rmse: (m.validationRmse ?? null) as number | null,
      train_seconds: m.trainSeconds,
      rmse_by_gap_kind: Object.fromEntries(
        ((m.uncertainty?.byKind ?? []) as { group: string; rmse: number; n: number }[]).map((k) => [k.group, { rmse: k.rmse, n: k.n }]),
      ),
      rmse_by_distance: Object.fromEntries(
        ((m.uncertainty?.byDistance ?? []) as { group: string; rmse: number; n: number }[]).map((k) => [k.group, { rmse: k.rmse, n: k.n }]),
      ),
      fit: m.fit,
    }));
  };
  const run = (name: string, args: string[], cube = o.cube) => {
    const dir = path.join(o.workDir, "accuracy-weather", name);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    // The wall time of a run is kept beside it, so that a re-run that reuses it still reports it.
    const wall = path.join(dir, "bench-wall-seconds.json");
    let seconds: number | null = fs.existsSync(wall) ? (JSON.parse(fs.readFileSync(wall, "utf8")) as number) : null;
    if (!fs.existsSync(path.join(dir, "evaluation.json"))) {
      const started = performance.now();
      process.stderr.write(`accuracy-weather: ${name}\n`);
      smapfill(o, [
        "evaluate",
        cube,
        "--out",
        dir,
        "--max-train-samples",
        String(o.rows),
        "--boot",
        "200",
        "--importance",
        "none",
        "--ablation",
        "none",
        ...args,
      ]);
      seconds = (performance.now() - started) / 1000;
      fs.writeFileSync(wall, JSON.stringify(seconds));
    }
    return { name, args, wall_seconds: seconds, models: rowsOf(dir) };
  };
  // One run of one model per candidate value on the gaps split (seed 0); the value with the lowest validation RMSE.
  const choose = <K extends string>(key: K, values: number[], name: (v: number) => string, args: (v: number) => string[]) => {
    const tried = values.map((v) => {
      const r = run(name(v), ["--splits", "gaps", ...args(v)]);
      return { [key]: v, validation_rmse: r.models[0]!.validation_rmse!, test_rmse: r.models[0]!.test_rmse, wall_seconds: r.wall_seconds } as Record<
        K,
        number
      > & {
        validation_rmse: number;
      };
    });
    return { tried, chosen: tried.reduce((best, t) => (t.validation_rmse < best.validation_rmse ? t : best))[key] };
  };
  // The API decay: the boosted trees with --weather.
  const decays = choose(
    "api_decay",
    o.apiDecays,
    (k) => `decay-${k}`,
    (k) => ["--models", "xgb", "--weather", "--weather-api-decay", String(k), "--train-seed", String(o.seeds[0])],
  );
  const decay = decays.chosen;
  // The sequence model's window: the sequence model alone on the paper's features.
  const windows = choose(
    "window",
    o.windows,
    (w) => `window-${w}`,
    (w) => ["--models", "lstm", "--param", `lstm.window=${w}`, ...epochs(o.seeds[0]!)],
  );
  const window = windows.chosen;
  const common = (seed: number) => [...epochs(seed), "--param", `lstm.window=${window}`, "--param", `ensemble.lstm_window=${window}`];
  const splits = { gaps: ["--splits", "gaps"], period: ["--splits", "period", "--test-start", o.testStart] };
  const runs = o.seeds.flatMap((seed) =>
    Object.entries(splits).map(([split, args]) => {
      const base = run(`${split}-base-s${seed}`, [...args, "--models", "xgb,lstm", ...common(seed)]);
      // The paper's other models on the same rows: the best of them and xgb is the bar.
      const first = seed === o.seeds[0];
      const paper = run(`${split}-paper-s${seed}`, [
        ...args,
        "--models",
        first ? PAPER_OTHERS : PAPER_EVERY_SEED,
        ...(first ? ["--transformer-max-epochs", String(o.transformerEpochs)] : []),
        "--train-seed",
        String(seed),
      ]);
      const weather = run(`${split}-weather-s${seed}`, [...args, "--models", "xgb,lstm", "--weather", "--weather-api-decay", String(decay), ...common(seed)]);
      // The ensemble reconsidered: the boosted trees and the sequence model with the weather group
      // (the runs above, trained again together), weights on the validation rows (gaps, or the
      // period split's last tenth of the training days).
      const ensemble = run(`${split}-ensemble-weather-s${seed}`, [
        ...args,
        "--models",
        "ensemble",
        "--param",
        "ensemble.tssmnet=0",
        "--param",
        "ensemble.lstm=1",
        "--param",
        `ensemble.max_epochs=${o.lstmEpochs}`,
        "--weather",
        "--weather-api-decay",
        String(decay),
        "--reference",
        "ensemble",
        ...common(seed),
      ]);
      const all = [
        ...base.models.map((m) => ({ ...m, variant: "base" })),
        ...weather.models.map((m) => ({ ...m, variant: "weather" })),
        ...ensemble.models.map((m) => ({ ...m, variant: "weather" })),
        ...paper.models.map((m) => ({ ...m, variant: "base" })),
      ];
      const of = (variant: string, model: string) => all.find((m) => m.variant === variant && m.model === model)!.test_rmse;
      const candidates = [
        ["lstm", of("base", "lstm")],
        ["xgb --weather", of("weather", "xgb")],
        ["lstm --weather", of("weather", "lstm")],
        ["ensemble (xgb + lstm) --weather", of("weather", "ensemble")],
      ] as [string, number][];
      const best = candidates.reduce((a, b) => (b[1] < a[1] ? b : a));
      const paperRows = all.filter((m) => !isNew(m.model, m.variant === "weather"));
      const bestPaper = paperRows.reduce((a, b) => (b.test_rmse < a.test_rmse ? b : a));
      return {
        split,
        train_seed: seed,
        base,
        weather,
        ensemble,
        paper,
        best_new: { model: best[0], test_rmse: best[1] },
        against_xgb: best[1] / of("base", "xgb") - 1,
        best_paper: { model: bestPaper.model, test_rmse: bestPaper.test_rmse, of: paperRows.map((m) => m.model) },
        against_best_paper: best[1] / bestPaper.test_rmse - 1,
      };
    }),
  );
  // Real cubes: the sequence model and the ensemble with it as a third member, against the
  // default model's row of accuracy.json (the ensemble of the trees and TsSMNet, --spatial).
  const real = o.real
    .filter((c) => fs.existsSync(c.path))
    .map((c) => ({
      cube: c.label,
      ...run(
        `${c.key}-sequence-s0`,
        ["--spatial", "--models", "lstm,ensemble", "--param", "ensemble.lstm=1", "--reference", "ensemble", "--train-seed", String(o.seeds[0])],
        c.path,
      ),
    }));
  return {
    benchmark: "accuracy-weather",
    description:
      "Issue 26 on the demo world: smapfill evaluate, split seed 0, the boosted trees (xgb, the best of the paper's models on this world in accuracy.json) and the sequence model (lstm, epoch cap as listed, early stopping) on the paper's features ('base') and with the weather group ('weather', --weather with the API decay chosen on the gaps split's validation RMSE of xgb; and the ensemble of the two with the weather group, 'ensemble.tssmnet=0 ensemble.lstm=1', weights on the validation rows: the validation gaps, or on the period split the last tenth of the training days); simulated gaps (20 % test) and the period split (trained on days before test_start, tested on the days from it); RMSE by gap kind and by distance to the nearest retrieval from evaluate's coverage tables. against_xgb: the best new variant's test RMSE relative to xgb on the paper's features (negative: lower); against_best_paper: relative to the best of the paper's models run on the same rows and seed (at the first seed all six: xgb, rf, tssmnet, tssmnet_nots, autoresnet and transformer, the 'paper' run; at the other seeds xgb, tssmnet and tssmnet_nots; the 'paper' run's Transformer under the epoch cap transformer_max_epochs, with early stopping). 'real': cubes without precipitation (the weather group empty), --spatial, the sequence model (its registry defaults: 200-epoch cap, early stopping) and the ensemble with it as a third member (ensemble.lstm=1), seed 0. wall_seconds null: the run was made outside the bench and reused (each model's train_seconds is in its row). window_choice: the sequence model's window (days of history), chosen among those tried on the gaps split's validation RMSE of lstm alone on the paper's features (seed 0), then used by every lstm run above and by the ensemble's lstm member (ensemble.lstm_window); the real cubes keep the registry default. over_seeds: per split, each model's mean test RMSE over the seeds it ran at (rf, autoresnet and transformer at the first seed only) and the best new variant's mean against the best paper model's, both among the models run at every seed. Wall times on a machine shared with other work (2 cores, others running): not performance numbers.",
    cube: o.cube,
    rows: o.rows,
    lstm_max_epochs: o.lstmEpochs,
    transformer_max_epochs: o.transformerEpochs,
    test_start: o.testStart,
    api_decay_choice: decays,
    window_choice: windows,
    runs,
    over_seeds: overSeeds(runs),
    real,
  };
}

/**
 * Per split, each model's mean test RMSE over the seeds it ran at, and the best new variant's
 * mean against the best paper model's among the models run at every seed (rf, AutoResNet and the
 * Transformer, at the first seed only, are compared per seed in `runs`).
 */
function overSeeds(
  runs: { split: string; train_seed: number; [run: string]: unknown }[],
): Record<string, { models: { name: string; seeds: number; mean_test_rmse: number }[]; best_new: string; best_paper: string; against_best_paper: number }> {
  const out: ReturnType<typeof overSeeds> = {};
  for (const split of [...new Set(runs.map((r) => r.split))]) {
    const values = new Map<string, { isNew: boolean; rmse: number[] }>();
    for (const r of runs.filter((x) => x.split === split))
      for (const variant of ["base", "paper", "weather", "ensemble"]) {
        const v = r[variant] as { models: { model: string; test_rmse: number }[] } | undefined;
        const withWeather = variant === "weather" || variant === "ensemble";
        for (const m of v?.models ?? []) {
          const name = `${m.model}${withWeather ? " --weather" : ""}`;
          const entry = values.get(name) ?? { isNew: isNew(m.model, withWeather), rmse: [] };
          entry.rmse.push(m.test_rmse);
          values.set(name, entry);
        }
      }
    const models = [...values].map(([name, v]) => ({
      name,
      isNew: v.isNew,
      seeds: v.rmse.length,
      mean_test_rmse: v.rmse.reduce((a, b) => a + b, 0) / v.rmse.length,
    }));
    const best = (list: typeof models) => list.reduce((a, b) => (b.mean_test_rmse < a.mean_test_rmse ? b : a));
    // Means over the same seeds only: a model run at the first seed alone is not a mean.
    const seeds = Math.max(...models.map((m) => m.seeds));
    const bestNew = best(models.filter((m) => m.isNew && m.seeds === seeds));
    const bestPaper = best(models.filter((m) => !m.isNew && m.seeds === seeds));
    out[split] = {
      models: models.map(({ isNew: _, ...m }) => m),
      best_new: bestNew.name,
      best_paper: bestPaper.name,
      against_best_paper: bestNew.mean_test_rmse / bestPaper.mean_test_rmse - 1,
    };
  }
  return out;
}
