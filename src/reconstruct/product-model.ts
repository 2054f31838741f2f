/**
 * The product model: a model trained on a whole cube's observed pixel-days, to fill its gaps.
 *
 * Roles: every observed pixel-day trains, except two sets of simulated gaps (swath stripes,
 * blocks and runs of days, as the evaluation draws them): a validation share for early stopping
 * and a calibration share on which the uncertainty's residual model is fitted (eval/uncertainty.ts)
 * and the product's held-out metrics are measured; neither is seen by the model nor by the
 * time-series features of the training rows. The training rows are a seeded draw of at most
 * `maxSamples`, stratified by pixel and season (proportional allocation, largest remainders):
 * every pixel, and so every land-cover class, keeps its share of the rows in every season.
 * The time-series features are in-sample (MODELS.md's paper reading; the out-of-fold mode is the
 * accuracy issue's).
 */
import path from "node:path";
import type { Cube } from "../cube/cube.js";
import { buildSamples, FeatureBuilder, readSampleArrays, subsetSamples } from "../features/samples.js";
import { featureRanges } from "../features/schema.js";
import { evaluate, type Metrics } from "../eval/metrics.js";
import { mixedGaps } from "../eval/splits.js";
import { coverageTable, ResidualModel, seasons, type CoverageRow } from "../eval/uncertainty.js";
import { saveModel } from "../models/model-store.js";
import { createRegressor } from "../models/registry.js";
import { Rng } from "../util/random.js";
import { runInfo } from "../util/run-info.js";
import { SmapfillError } from "../util/errors.js";

export interface ProductModelOptions {
  model: string;
  out: string;
  params?: Record<string, number>;
  seed?: number;
  /** Most training rows (a stratified draw); default 200 000. */
  maxSamples?: number;
  /** Shares of the observed pixel-days hidden for early stopping and for calibration. */
  validationShare?: number;
  calibrationShare?: number;
  coordinates?: boolean;
  /** Time-series features of the training rows (default out-of-fold, imitating SMAP's own gaps). */
  tsMode?: "in-sample" | "out-of-fold";
  /** Add the spatial context features (reconstruction then reads a halo around each tile). */
  spatial?: boolean;
  log?: (message: string) => void;
}

export interface ProductModelReport {
  out: string;
  rows: { train: number; validation: number; calibration: number; observed: number };
  calibration: Metrics;
  coverage: CoverageRow[];
  seconds: number;
}

/** Indices of at most `max` of `rows`, stratified by `stratum` (proportional, largest remainders), sorted. */
export function stratifiedDraw(stratum: Int32Array, max: number, seed: number): Int32Array {
  const n = stratum.length;
  if (n <= max) return Int32Array.from({ length: n }, (_, i) => i);
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const list = members.get(stratum[i]!);
    if (list) list.push(i);
    else members.set(stratum[i]!, [i]);
  }
  const keys = [...members.keys()].sort((a, b) => a - b);
  const quota = keys.map((k) => (members.get(k)!.length * max) / n);
  const take = quota.map(Math.floor);
  let left = max - take.reduce((a, b) => a + b, 0);
  const byRemainder = keys.map((_, j) => j).sort((a, b) => quota[b]! - take[b]! - (quota[a]! - take[a]!) || a - b);
  for (const j of byRemainder) {
    if (left-- <= 0) break;
    take[j]!++;
  }
  const rng = new Rng(seed);
  const out: number[] = [];
  keys.forEach((k, j) => out.push(...rng.shuffle([...members.get(k)!]).slice(0, take[j]!)));
  return Int32Array.from(out.sort((a, b) => a - b));
}

export async function trainProductModel(cube: Cube, o: ProductModelOptions): Promise<ProductModelReport> {
  const started = performance.now();
  const log = o.log ?? (() => {});
  const seed = o.seed ?? 0;
  const arrays = await readSampleArrays(cube, { coordinates: o.coordinates ?? true });
  const { nrows, ncols } = cube.window;
  const observed = arrays.smap.reduce((n, v) => n + (Number.isNaN(v) ? 0 : 1), 0);
  if (observed < 200)
    throw new SmapfillError(`has only ${observed} SMAP values`, { file: cube.path, variable: "soil_moisture", hint: "Train on a larger region or period" });
  // Roles: 0 train, 1 validation (early stopping), 2 calibration (uncertainty, held-out metrics).
  const roles = mixedGaps(arrays.smap, nrows, ncols, { validation: o.validationShare ?? 0.1, test: o.calibrationShare ?? 0.1 }, seed);
  const features = new FeatureBuilder(arrays, roles, { tsMode: o.tsMode ?? "out-of-fold", gaps: "missing", seed, spatial: Boolean(o.spatial) });
  const samples = buildSamples(arrays, roles, features);
  const schema = features.schema();
  const pick = (role: number) => Int32Array.from(Array.from(samples.split).flatMap((s, i) => (s === role ? [i] : [])));
  const trainAll = pick(0);
  const season = seasons(subsetSamples(samples, trainAll).X, trainAll.length, schema);
  const stratum = Int32Array.from(trainAll, (i, j) => samples.pixel[i]! * 4 + season[j]!);
  const drawn = stratifiedDraw(stratum, o.maxSamples ?? 200000, seed);
  const train = subsetSamples(
    samples,
    Int32Array.from(drawn, (j) => trainAll[j]!),
  );
  const validation = subsetSamples(samples, pick(1));
  const calibration = subsetSamples(samples, pick(2));
  const n = { train: train.y.length, validation: validation.y.length, calibration: calibration.y.length };
  log(
    `product model ${o.model}: ${n.train} training rows (of ${trainAll.length}), ${n.validation} validation, ${n.calibration} calibration, ${schema.names.length} features`,
  );
  const model = createRegressor(o.model, schema.names, schema.groups, o.params ?? {}, { seed });
  model.fit({ X: train.X, y: train.y, n: n.train }, { validation: { X: validation.X, y: validation.y, n: n.validation }, onProgress: (m) => log(`  ${m}`) });
  const pred = model.predict(calibration.X, n.calibration);
  const residual = ResidualModel.fit(pred, calibration.y, calibration.X, n.calibration, schema);
  const coverage = coverageTable(pred, calibration.y, residual.sigma(calibration.X, n.calibration, schema), undefined);
  const metrics = evaluate(pred, calibration.y, { seed, nBoot: 200 });
  const seconds = (performance.now() - started) / 1000;
  const record = {
    run: runInfo(),
    kind: "product model",
    cube: path.resolve(cube.path),
    model: o.model,
    params: o.params ?? {},
    seed,
    rows: { ...n, observed, trainAvailable: trainAll.length },
    seconds,
    fit: model.info(),
    calibration_metrics: metrics,
    calibration_coverage: coverage,
  };
  saveModel(o.out, model, { ...schema, ranges: featureRanges(train.X, n.train, schema.names.length) }, record, {
    files: { "uncertainty.json": residual.toJSON() },
  });
  return { out: o.out, rows: { ...n, observed }, calibration: metrics, coverage, seconds };
}
