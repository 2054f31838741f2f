/**
 * The product model: a model trained on a whole cube's observed pixel-days, to fill its gaps.
 *
 * Roles: every observed pixel-day trains, except two sets of simulated gaps (swath stripes,
 * blocks and runs of days, as the evaluation draws them): a validation share for early stopping
 * and a calibration share on which the uncertainty's residual model is fitted (eval/uncertainty.ts)
 * and the product's held-out metrics are measured; neither is seen by the model nor by the
 * time-series features of the training rows. The rows are read tile by tile in bounded memory
 * (training-draw.ts): at most `maxSamples` training rows stratified by pixel and season
 * (proportional allocation, largest remainders), so every pixel, and so every land-cover class
 * and every level of coverage, keeps its share of the rows in every season. The time-series
 * features of training rows are out-of-fold by default (MODELS.md, last section).
 */
import path from "node:path";
import type { Cube } from "../cube/cube.js";
import { featureRanges } from "../features/schema.js";
import { evaluate, type Metrics } from "../eval/metrics.js";
import { coverageTable, ResidualModel, type CoverageRow } from "../eval/uncertainty.js";
import { saveModel } from "../models/model-store.js";
import { createRegressor } from "../models/registry.js";
import { runInfo } from "../util/run-info.js";
import { StepProgress } from "../util/progress.js";
import { drawTrainingRows } from "./training-draw.js";

export interface ProductModelOptions {
  model: string;
  out: string;
  params?: Record<string, number>;
  seed?: number;
  /** Most training rows (a stratified draw); default 200 000. */
  maxSamples?: number;
  /** Most validation and most calibration rows (default 200 000 each). */
  maxHeldSamples?: number;
  /** Show the draw's progress bars. */
  quiet?: boolean;
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

/** Seconds since `started` and the process's peak RSS so far. */
function stageRecord(started: number): { seconds: number; peak_rss_mb: number } {
  return { seconds: (performance.now() - started) / 1000, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
}

export interface ProductModelReport {
  out: string;
  rows: { train: number; validation: number; calibration: number; observed: number };
  calibration: Metrics;
  coverage: CoverageRow[];
  seconds: number;
}

export async function trainProductModel(cube: Cube, o: ProductModelOptions): Promise<ProductModelReport> {
  const started = performance.now();
  const log = o.log ?? (() => {});
  const seed = o.seed ?? 0;
  const draw = await drawTrainingRows(cube, {
    maxRows: o.maxSamples ?? 200000,
    ...(o.maxHeldSamples !== undefined ? { maxHeldRows: o.maxHeldSamples } : {}),
    validationShare: o.validationShare ?? 0.1,
    calibrationShare: o.calibrationShare ?? 0.1,
    seed,
    coordinates: o.coordinates ?? true,
    tsMode: o.tsMode ?? "out-of-fold",
    spatial: Boolean(o.spatial),
    quiet: o.quiet ?? true,
  });
  const { train, validation, calibration, schema } = draw;
  const n = { train: train.n, validation: validation.n, calibration: calibration.n };
  const observed = draw.counts.observed;
  log(
    `product model ${o.model}: ${n.train} training rows (of ${draw.counts.train}), ${n.validation} validation (of ${draw.counts.validation}), ${n.calibration} calibration (of ${draw.counts.calibration}), ${schema.names.length} features; drawn in ${(draw.seconds.roles + draw.seconds.rows).toFixed(1)} s`,
  );
  const afterDraw = stageRecord(started);
  const model = createRegressor(o.model, schema.names, schema.groups, o.params ?? {}, { seed });
  const steps = new StepProgress(`fit ${o.model}`, { quiet: o.quiet ?? true });
  model.fit(train, { validation, onProgress: (m) => log(`  ${m}`), onStep: steps.onStep });
  steps.finish();
  const afterFit = stageRecord(started);
  const pred = model.predict(calibration.X, n.calibration);
  const spread = model.spread?.(calibration.X, n.calibration);
  const residual = ResidualModel.fit(pred, calibration.y, calibration.X, n.calibration, schema, spread);
  const coverage = coverageTable(pred, calibration.y, residual.sigma(calibration.X, n.calibration, schema, spread), undefined);
  const metrics = evaluate(pred, calibration.y, { seed, nBoot: 200 });
  const seconds = (performance.now() - started) / 1000;
  const record = {
    run: runInfo(),
    kind: "product model",
    cube: path.resolve(cube.path),
    model: o.model,
    params: o.params ?? {},
    seed,
    rows: { ...n, observed, trainAvailable: draw.counts.train, validationAvailable: draw.counts.validation, calibrationAvailable: draw.counts.calibration },
    seconds,
    // Wall time and the process's peak RSS at the end of each stage (the scale bench reads them).
    stages: { draw: afterDraw, fit: { seconds: afterFit.seconds - afterDraw.seconds, peak_rss_mb: afterFit.peak_rss_mb } },
    fit: model.info(),
    calibration_metrics: metrics,
    calibration_coverage: coverage,
  };
  saveModel(o.out, model, { ...schema, ranges: featureRanges(train.X, n.train, schema.names.length) }, record, {
    files: { "uncertainty.json": residual.toJSON() },
  });
  return { out: o.out, rows: { ...n, observed }, calibration: metrics, coverage, seconds };
}
