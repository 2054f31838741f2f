/**
 * One interface for every model (scikit-learn's estimator shape): the constructor takes only
 * hyperparameters and the feature names/groups; fit learns (preprocessing fitted on the
 * training rows only, inside the model); predict answers; save/load round-trip exactly.
 * Experiments loop over models and never special-case one; the registry (registry.ts) names,
 * creates and loads them.
 */
import { SmapfillError } from "../util/errors.js";
import type { GbtParams } from "./trees/gbt.js";
import type { ForestParams } from "./trees/forest.js";
import { writeFileAtomic } from "../util/atomic-file.js";

/** A model's name in the registry (registry.ts): tssmnet, xgb, ... */
export type ModelName = string;

/**
 * Where rows come from: each row's pixel (window-local, r * ncols + c of the cube's window) and
 * day (index into the cube's days), and the cube itself, so a model that needs more than a row's
 * features (a sequence model: the history of its pixel) can gather it without another path.
 */
export interface RowOrigin {
  pixel: Int32Array;
  day: Int32Array;
  /** The cube the rows were drawn from (absent for a dataset folder). */
  cube?: { path: string };
  /**
   * Which SMAP values the rows' features could see: the roles of the cube's pixel-days
   * (features/roles.ts) and the view the rows were built in (fit: the training values; ship:
   * every observation but the test values). Absent: every observation (a reconstruction).
   */
  seen?: { roles: Int8Array; view: "fit" | "ship" };
  /** What sequence models' prepare gathered for these rows (their pixels' series), by model. */
  history?: Record<string, unknown>;
}

export interface Matrix {
  X: Float32Array;
  y?: Float32Array;
  n: number;
  origin?: RowOrigin;
}

/**
 * What a model can do beyond fit and predict, declared by every model (not guessed from its
 * methods): the conformance suite checks each declaration against the methods.
 *  - predictLater: starts a prediction on worker threads and finishes it later, so a caller can
 *    build the next rows in between (reconstruction's pipeline);
 *  - spread: how far the model's members disagree on each row (the uncertainty scales with it);
 *  - sequence: the model reads more than a row's features, its pixel's history in the rows' cube:
 *    callers await prepare(origins) before fit and predict, and pass each row set's origin
 *    (prepareRows, predictRows); it cannot learn from a dataset folder, which has no cube.
 */
export interface Capabilities {
  predictLater: boolean;
  spread: boolean;
  sequence: boolean;
}
export const NO_CAPABILITIES: Capabilities = Object.freeze({ predictLater: false, spread: false, sequence: false });

export interface FitOptions {
  /** The validation rows (early stopping); required. */
  validation: Matrix & { y: Float32Array };
  onProgress?: (message: string) => void;
  /** One step done (a boosting round, a tree, an epoch) of at most `cap`: early stopping may end sooner. */
  onStep?: (done: number, cap: number) => void;
}

export interface Regressor {
  readonly name: ModelName;
  readonly featureNames: string[];
  readonly groups: string[];
  readonly capabilities: Capabilities;
  fit(train: Matrix & { y: Float32Array }, options: FitOptions): this;
  /** Estimates for the rows of X [n, F]; `origin`: where they come from (a sequence model needs it, prepared). */
  predict(X: Float32Array, n: number, origin?: RowOrigin): Float32Array;
  /**
   * Optional: starts predict on worker threads and returns the function that finishes it (the
   * same values as predict), so the caller can build the next rows in between. One in flight.
   */
  predictLater?(X: Float32Array, n: number, origin?: RowOrigin): () => Float32Array;
  /**
   * Optional: how far the model's members disagree on each row (the ensemble: the range of its
   * members' predictions); the uncertainty scales with it (eval/uncertainty.ts). Cheap right
   * after predict on the same X (the members' predictions are kept).
   */
  spread?(X: Float32Array, n: number, origin?: RowOrigin): Float32Array;
  /**
   * Optional (Capabilities.sequence): reads from the rows' cube what the model needs beyond their
   * features (its pixels' series), held once for all the row sets given, and returns their
   * origins with it attached (RowOrigin.history).
   */
  prepare?(origins: RowOrigin[]): Promise<RowOrigin[]>;
  save(dir: string): void;
  /** What fit learnt about itself (epochs, best iteration, ...). */
  info(): Record<string, unknown>;
}

export interface ModelOptions {
  seed?: number;
  /**
   * Threads; default the machine's cores. Random forest: the same forest for any count. Networks:
   * data-parallel over each batch, deterministic for a given count (batch norm sees per-thread
   * shards, as in PyTorch's DistributedDataParallel); predictions do not depend on it.
   */
  threads?: number;
  maxEpochs?: number;
  /** The networks' batch size and plateau rule (MODELS.md: 512, halve after 5, stop after 12). */
  batch?: number;
  lrPatience?: number;
  stopPatience?: number;
  gbt?: Partial<GbtParams>;
  forest?: Partial<ForestParams>;
}

export function checkTraining(name: string, names: string[], m: Matrix, role: string): void {
  if (m.n < 2) throw new SmapfillError(`the ${role} set has ${m.n} rows`, { variable: name, hint: "Give at least two rows (check the split)" });
  if (m.X.length !== m.n * names.length)
    throw new SmapfillError(`the ${role} set has ${m.X.length / m.n} columns, the model ${names.length}`, { variable: name });
  if (role === "training" && m.X.length > 0 && m.X.every((v) => Number.isNaN(v)))
    throw new SmapfillError("every feature of every training row is missing", {
      variable: name,
      hint: "The predictors have no values here: check the cube's coverage (smapfill inspect) and the study's predictor files",
    });
  if (m.y) {
    const bad = m.y.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new SmapfillError(`the ${role} target of row ${bad} is ${m.y[bad]}`, { variable: name, hint: "Targets must be finite; drop those rows" });
  }
}

/** The columns a model uses: all but those of the groups it drops (TsSMNet-noTS drops ts). */
export function columnsWithout(groups: string[], dropped: readonly string[]): number[] {
  return groups.flatMap((g, j) => (dropped.includes(g) ? [] : [j]));
}

/** Refuses X whose width is not the model's. */
export function checkWidth(name: string, X: Float32Array, n: number, f: number): void {
  if (X.length !== n * f) throw new SmapfillError(`${X.length / Math.max(1, n)} columns given, the model was fitted on ${f}`, { variable: name });
}

/** The columns `cols` of the row-major X [n, f] (X itself when all are kept). */
export function selectColumns(X: Float32Array, n: number, f: number, cols: number[]): Float32Array {
  if (cols.length === f) return X;
  const out = new Float32Array(n * cols.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < cols.length; k++) out[i * cols.length + k] = X[i * f + cols[k]!]!;
  return out;
}

/** Writes JSON to a temporary name and renames it (a full disk: one line naming the file). */
export function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value));
}

/** predict split in start and finish: overlapped where the model can (predictLater), else run at finish. */
export function predictLater(model: Regressor, X: Float32Array, n: number, origin?: RowOrigin): () => Float32Array {
  return model.capabilities.predictLater ? model.predictLater!(X, n, origin) : () => model.predict(X, n, origin);
}

/** The members' spread of the rows just predicted, where the model has members (Capabilities.spread). */
export function spreadOf(model: Regressor, X: Float32Array, n: number, origin?: RowOrigin): Float32Array | undefined {
  return model.capabilities.spread ? model.spread!(X, n, origin) : undefined;
}

/**
 * Row sets ready for a model: for a sequence model, their origins with what it gathered from the
 * cube attached (one read for all of them); others are returned as they are. A row set without
 * an origin in a cube is refused for a sequence model.
 */
export async function prepareRows<M extends Matrix>(model: Regressor, rows: M[]): Promise<M[]> {
  if (!model.capabilities.sequence) return rows;
  for (const r of rows)
    if (!r.origin?.cube)
      throw new SmapfillError(`${model.name} reads its pixels' history from a cube, and these rows come from none`, {
        variable: model.name,
        hint: "Train and evaluate it on a cube (smapfill train CUBE, smapfill evaluate); a dataset folder cannot feed it",
      });
  const origins = await model.prepare!(rows.map((r) => r.origin!));
  return rows.map((r, i) => ({ ...r, origin: origins[i]! }));
}

/** predict for a row set (prepared first when the model needs it). */
export async function predictRows(model: Regressor, rows: Matrix): Promise<Float32Array> {
  const [ready] = await prepareRows(model, [rows]);
  return model.predict(ready!.X, ready!.n, ready!.origin);
}
