/**
 * The one fit-and-save: every trained model (evaluate's, `train CUBE`'s, `train DATASET`'s, the
 * product model) is created, fitted, calibrated and saved here, so the same hyperparameter
 * checks apply and the same files are written whoever trains:
 *   model.json (+ weights)   the model (Regressor.save)
 *   schema.json              its feature schema with the training range of every feature
 *   uncertainty.json         the residual model fitted on the calibration rows (when given)
 *   fit.json                 the run, the model, its resolved hyperparameters, seed, rows, time,
 *                            what fit learnt, and the caller's record (metrics, ...)
 * A folder with uncertainty.json is a product model: reconstruct fills a cube with it.
 */
import fs from "node:fs";
import path from "node:path";
import { featureRanges, type FeatureSchema } from "../features/schema.js";
import { SmapfillError } from "../util/errors.js";
import { runInfo } from "../util/run-info.js";
import { isSavedModel, loadModel, saveModel } from "./model-store.js";
import { createRegressor, resolveParams, type CommonOptions } from "./registry.js";
import { prepareRows, spreadOf, type Matrix, type ModelName, type Regressor } from "./regressor.js";
import { ResidualModel, type ResidualModelState } from "./uncertainty.js";

/** What to train: a registered model, its hyperparameters (the flat map of registry.ts) and seed. */
export interface ModelSpec extends CommonOptions {
  name: ModelName;
  params?: Record<string, number>;
}

export type LabelledRows = Matrix & { y: Float32Array };
/** Calibration rows may carry each gap's missing reason (soil_moisture_missing_reason codes: the donor mask's for transplanted gaps, 0 unknown). */
export type CalibrationRows = LabelledRows & { reasons?: Uint8Array };

export interface FitRows {
  train: LabelledRows;
  /** Early stopping (and the ensemble's weights). */
  validation: LabelledRows;
  /** Held-out rows the uncertainty is calibrated on (a product model needs them). */
  calibration?: CalibrationRows;
}

export interface FitAndSaveOptions {
  /** The model's folder (must not exist unless `replace`; its parent must). */
  out: string;
  schema: FeatureSchema;
  /** Fields added to fit.json (a function is called once the model is fitted). */
  record?: Record<string, unknown> | (() => Record<string, unknown>);
  /** More fields for fit.json from the calibration rows' predictions (metrics, coverage). */
  describeCalibration?: (pred: Float32Array, rows: CalibrationRows, residual: ResidualModel, spread: Float32Array | undefined) => Record<string, unknown>;
  replace?: boolean;
  log?: (message: string) => void;
  onStep?: (done: number, cap: number) => void;
}

export interface FittedModel {
  model: Regressor;
  schema: FeatureSchema;
  /** The calibrated uncertainty (absent when no calibration rows were given). */
  residual?: ResidualModel;
  seconds: number;
  /** fit.json. */
  record: Record<string, unknown>;
  /** True when a saved model was loaded instead of trained (reuse). */
  reused: boolean;
}

/** Refuses an output folder before any work: it must not exist (unless replacing) and its parent must. */
export function checkModelOut(out: string, replace = false): void {
  if (!replace && fs.existsSync(out)) throw new SmapfillError("already exists", { file: out, hint: "Choose another --out, or remove the old model" });
  const parent = path.dirname(path.resolve(out));
  if (!fs.existsSync(parent) || !fs.statSync(parent).isDirectory())
    throw new SmapfillError("does not exist", { file: parent, hint: "Create the folder first, or choose another --out" });
}

/**
 * Creates, fits (a sequence model after its rows are prepared: history.ts), calibrates and saves
 * a model; the hyperparameters and the output folder are checked before anything is read.
 */
export async function fitAndSave(spec: ModelSpec, given: FitRows, o: FitAndSaveOptions): Promise<FittedModel> {
  const params = resolveParams(spec.name, spec.params ?? {});
  checkModelOut(o.out, o.replace);
  const model = createRegressor(spec.name, o.schema.names, o.schema.groups, spec.params ?? {}, {
    seed: spec.seed,
    ...(spec.threads !== undefined ? { threads: spec.threads } : {}),
  });
  const [train, validation, calibrationRows] = await prepareRows(model, [given.train, given.validation, ...(given.calibration ? [given.calibration] : [])]);
  const rows: FitRows = { train: train!, validation: validation!, ...(calibrationRows ? { calibration: calibrationRows } : {}) };
  const started = performance.now();
  model.fit(rows.train, { validation: rows.validation, onProgress: (m) => o.log?.(`    ${m}`), ...(o.onStep ? { onStep: o.onStep } : {}) });
  const seconds = (performance.now() - started) / 1000;
  const files: Record<string, unknown> = {};
  let residual: ResidualModel | undefined;
  let calibration: Record<string, unknown> = {};
  const cal = rows.calibration;
  if (cal) {
    const pred = model.predict(cal.X, cal.n, cal.origin);
    const spread = spreadOf(model, cal.X, cal.n, cal.origin);
    residual = ResidualModel.fit(pred, cal.y, cal.X, cal.n, o.schema, { spread, reasons: cal.reasons, days: cal.origin?.day });
    files["uncertainty.json"] = residual.toJSON();
    calibration = o.describeCalibration?.(pred, cal, residual, spread) ?? {};
  }
  const record = {
    run: runInfo(),
    model: spec.name,
    params,
    seed: spec.seed,
    rows: { train: rows.train.n, validation: rows.validation.n, calibration: cal?.n ?? 0 },
    seconds,
    fit: model.info(),
    ...calibration,
    ...(typeof o.record === "function" ? o.record() : o.record),
  };
  const schema = { ...o.schema, ranges: featureRanges(rows.train.X, rows.train.n, o.schema.names.length) };
  saveModel(o.out, model, schema, record, { files, replace: Boolean(o.replace) });
  return { model, schema, ...(residual ? { residual } : {}), seconds, record, reused: false };
}

/** A saved model with its residual model, when its folder has one (a product model must: `product`). */
export function loadFitted(dir: string, o: { product?: boolean } = {}): FittedModel {
  const saved = loadModel(dir, o);
  const file = path.join(dir, "uncertainty.json");
  let residual: ResidualModel | undefined;
  if (fs.existsSync(file)) {
    let state: ResidualModelState;
    try {
      state = JSON.parse(fs.readFileSync(file, "utf8")) as ResidualModelState;
    } catch (error) {
      throw new SmapfillError("is not valid JSON", { file, cause: error, hint: "The model folder is damaged: train it again" });
    }
    residual = new ResidualModel(state);
  }
  const seconds = typeof saved.record.seconds === "number" ? saved.record.seconds : NaN;
  return { model: saved.model, schema: saved.schema, ...(residual ? { residual } : {}), seconds, record: saved.record, reused: true };
}

/** fitAndSave, or the model a previous run saved in `o.out` (resumable runs); `accept` may refuse a saved one. */
export async function fitOrReuse(spec: ModelSpec, rows: FitRows, o: FitAndSaveOptions & { accept?: (saved: FittedModel) => void }): Promise<FittedModel> {
  if (isSavedModel(o.out)) {
    o.log?.(`  ${spec.name}: reusing the model trained before (${o.out})`);
    const saved = loadFitted(o.out);
    o.accept?.(saved);
    return saved;
  }
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  return fitAndSave(spec, rows, { ...o, replace: true });
}
