/**
 * What a model's fit.json records about its calibration rows (the gaps its uncertainty was
 * fitted on): the metrics of its estimates there, with CIs over whole days, and the share of the
 * held-out values inside the 90 % interval. The same record whoever trains (evaluate, train CUBE,
 * the product model): reconstruct copies it into the product's attributes.
 */
import type { FeatureSchema } from "../features/schema.js";
import type { CalibrationRows } from "../models/fit.js";
import type { ResidualModel } from "../models/uncertainty.js";
import { evaluate } from "./metrics.js";
import { coverageTable } from "./uncertainty.js";

export function calibrationRecord(schema: FeatureSchema, seed: number, nBoot: number) {
  return (pred: Float32Array, rows: CalibrationRows, residual: ResidualModel, spread: Float32Array | undefined): Record<string, unknown> => ({
    calibration_metrics: evaluate(pred, rows.y, { seed, nBoot, ...(rows.origin ? { clusters: rows.origin.day } : {}) }),
    calibration_coverage: coverageTable(pred, rows.y, residual.sigma(rows.X, rows.n, schema, { spread, reasons: rows.reasons }), undefined),
  });
}
