/**
 * The product model: a model trained on a whole cube's observed pixel-days, to fill its gaps.
 *
 * Roles (eval/splits.ts designRoles "product"): every observed pixel-day trains, except two sets
 * of held-out gaps, as the evaluation draws them: a validation share for early stopping (swath
 * stripes, blocks, runs of days and SMAP's real masks moved in time) and a calibration share
 * (real masks moved in time, each row with its donor mask's missing reason) on which the
 * uncertainty's residual model is fitted (models/uncertainty.ts) and the product's held-out
 * metrics are measured; neither is seen by the model nor by the features of the training rows. The rows come
 * from the one row draw (features/row-draw.ts) and the model from the one fit-and-save
 * (models/fit.ts), as in `smapfill evaluate`: the same model an evaluation scores, trained on
 * every observation.
 */
import path from "node:path";
import type { Cube } from "../cube/cube.js";
import { readMissingReasons } from "../cube/missing-reasons.js";
import { checkObserved, drawRows, readObservedRoles, withOrigin } from "../features/row-draw.js";
import { calibrationRecord } from "../eval/calibration.js";
import type { Metrics } from "../eval/metrics.js";
import { designRoles } from "../eval/splits.js";
import type { CoverageRow } from "../eval/uncertainty.js";
import { checkModelOut, fitAndSave } from "../models/fit.js";
import { resolveParams } from "../models/registry.js";
import { StepProgress } from "../util/progress.js";
import { calibrateWithoutDynamic, dynamicPredictorColumns, rowsWithoutDynamic } from "./without-predictors.js";
import type { WeatherSettings } from "../features/weather-rows.js";

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
  /** Add the weather group with these settings (features/weather-rows.ts). */
  weather?: WeatherSettings;
  /** CI resamples of the calibration metrics (default 200). */
  nBoot?: number;
  log?: (message: string) => void;
}

/**
 * The demo's product model: the boosted trees (quick settings), the best on transplanted gaps
 * (SMAP's real masks moved in time) on the demo and Pakistan and level with the forest against in
 * situ on gap days (docs/product.md#which-product-model).
 */
export const DEMO_PRODUCT_MODEL = { model: "xgb", params: { "xgb.rounds": 500 }, maxSamples: 20000 } as const;

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
  // Refuse bad hyperparameters and a bad --out before any work.
  resolveParams(o.model, o.params ?? {});
  checkModelOut(o.out);
  const started = performance.now();
  const log = o.log ?? (() => {});
  const seed = o.seed ?? 0;
  const quiet = o.quiet ?? true;
  const { roles: observed, observed: nObserved } = await readObservedRoles(cube, { quiet });
  checkObserved(cube, nObserved, 200, "Train on");
  const { nrows, ncols } = cube.window;
  // Validation and calibration gaps of every kind the evaluation holds out, real masks moved in time among them.
  const missingReasons = await readMissingReasons(cube);
  // Each hidden pixel-day's donor reason: the uncertainty scales with the missing reason (models/uncertainty.ts).
  const donorReasons = new Uint8Array(observed.length);
  const roles = designRoles("product", observed, nrows, ncols, {
    shares: { validation: o.validationShare ?? 0.1, test: 0, calibration: o.calibrationShare ?? 0.1 },
    seed,
    transplant: { ...(missingReasons ? { missingReasons } : {}), reasonsOut: donorReasons },
  });
  const draw = await drawRows(cube, roles, {
    maxRows: o.maxSamples ?? 200000,
    ...(o.maxHeldSamples !== undefined ? { maxHeldRows: o.maxHeldSamples } : {}),
    seed,
    coordinates: o.coordinates ?? true,
    tsMode: o.tsMode ?? "out-of-fold",
    spatial: Boolean(o.spatial),
    ...(o.weather ? { weather: o.weather } : {}),
    quiet,
  });
  const { train, validation, calibration, schema } = draw;
  const n = { train: train.n, validation: validation.n, calibration: calibration.n };
  log(
    `product model ${o.model}: ${n.train} training rows (of ${draw.counts.train}), ${n.validation} validation (of ${draw.counts.validation}), ${n.calibration} calibration (of ${draw.counts.calibration}), ${schema.names.length} features; drawn in ${draw.seconds.toFixed(1)} s`,
  );
  const afterDraw = stageRecord(started);
  const steps = new StepProgress(`fit ${o.model}`, { quiet });
  const seen = { roles, view: "fit" as const };
  const fitted = await fitAndSave(
    { name: o.model, params: o.params ?? {}, seed },
    {
      train: withOrigin(train, cube, seen),
      validation: withOrigin(validation, cube, seen),
      calibration: {
        ...withOrigin(calibration, cube, seen),
        reasons: Uint8Array.from(calibration.day, (t, i) => donorReasons[t * nrows * ncols + calibration.pixel[i]!]!),
      },
    },
    {
      out: o.out,
      schema,
      describeCalibration: (pred, rows, residual, spread) => ({
        ...calibrationRecord(schema, seed, o.nBoot ?? 200)(pred, rows, residual, spread),
        // Whether pixel-days without dynamic predictors are filled, and their sigma's scale.
        without_dynamic_predictors: calibrateWithoutDynamic(
          pred,
          rows.y,
          residual.sigma(rows.X, rows.n, schema, spread),
          rowsWithoutDynamic(rows.X, rows.n, schema.names.length, dynamicPredictorColumns(schema)),
        ),
      }),
      record: () => ({
        kind: "product model",
        cube: path.basename(path.resolve(cube.path)),
        rows: {
          ...n,
          observed: nObserved,
          trainAvailable: draw.counts.train,
          validationAvailable: draw.counts.validation,
          calibrationAvailable: draw.counts.calibration,
        },
        // Wall time and the process's peak RSS at the end of each stage (the scale bench reads them).
        stages: { draw: afterDraw, fit: { seconds: stageRecord(started).seconds - afterDraw.seconds, peak_rss_mb: stageRecord(started).peak_rss_mb } },
      }),
      log: (m) => log(m),
      onStep: steps.onStep,
    },
  );
  steps.finish();
  return {
    out: o.out,
    rows: { ...n, observed: nObserved },
    calibration: fitted.record.calibration_metrics as Metrics,
    coverage: fitted.record.calibration_coverage as CoverageRow[],
    seconds: (performance.now() - started) / 1000,
  };
}
