/**
 * One interface for every model (scikit-learn's estimator shape): the constructor takes only
 * hyperparameters and the feature names/groups; fit learns (preprocessing fitted on the
 * training rows only, inside the model); predict answers; save/load round-trip exactly.
 * Experiments loop over models and never special-case one.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { buildNet, type Net, type NetName } from "./nets.js";
import { Preprocessor, type PreprocessorState } from "./preprocess.js";
import { EVAL_BATCH, predictNet, trainNet, type EpochRecord } from "./train-net.js";
import { NetReplicas } from "./net-replicas.js";
import { fitGbt, predictGbt, GBT_DEFAULTS, type GbtModel, type GbtParams } from "./trees/gbt.js";
import { treeFromJson, treeToJson } from "./trees/tree.js";
import { saveXgboostJson } from "./trees/xgboost-json.js";
import { fitForest, predictForest, FOREST_DEFAULTS, type ForestModel, type ForestParams } from "./trees/forest.js";
import { loadModule, saveModule } from "../nn/persist.js";
import { defaultThreads } from "../util/worker-pool.js";

export type ModelName = "tssmnet" | "tssmnet_nots" | "autoresnet" | "transformer" | "rf" | "xgb";
export const MODEL_NAMES: readonly ModelName[] = ["tssmnet", "tssmnet_nots", "autoresnet", "transformer", "rf", "xgb"];

export interface Matrix {
  X: Float32Array;
  y?: Float32Array;
  n: number;
}

export interface FitOptions {
  /** The validation rows (early stopping); required. */
  validation: Matrix & { y: Float32Array };
  onProgress?: (message: string) => void;
}

export interface Regressor {
  readonly name: ModelName;
  readonly featureNames: string[];
  fit(train: Matrix & { y: Float32Array }, options: FitOptions): this;
  predict(X: Float32Array, n: number): Float32Array;
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
  gbt?: Partial<GbtParams>;
  forest?: Partial<ForestParams>;
}

function checkTraining(name: string, names: string[], m: Matrix, role: string): void {
  if (m.n < 2) throw new SmapfillError(`the ${role} set has ${m.n} rows`, { variable: name, hint: "Give at least two rows (check the split)" });
  if (m.X.length !== m.n * names.length)
    throw new SmapfillError(`the ${role} set has ${m.X.length / m.n} columns, the model ${names.length}`, { variable: name });
  if (m.y) {
    const bad = m.y.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new SmapfillError(`the ${role} target of row ${bad} is ${m.y[bad]}`, { variable: name, hint: "Targets must be finite; drop those rows" });
  }
}

/** The column subset a model uses: TsSMNet-noTS drops the time-series group. */
function columnsFor(name: ModelName, groups: string[]): number[] {
  return groups
    .map((g, j) => [g, j] as const)
    .filter(([g]) => !(name === "tssmnet_nots" && g === "ts"))
    .map(([, j]) => j);
}

/** The columns `cols` of the row-major X [n, f] (X itself when all are kept). */
export function selectColumns(X: Float32Array, n: number, f: number, cols: number[]): Float32Array {
  if (cols.length === f) return X;
  const out = new Float32Array(n * cols.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < cols.length; k++) out[i * cols.length + k] = X[i * f + cols[k]!]!;
  return out;
}

/** Random forest on mean-imputed raw inputs plus missing indicators (the reference's preprocessing). */
class ForestRegressor implements Regressor {
  readonly name = "rf" as const;
  private pre = new Preprocessor(false, true);
  private model: ForestModel | undefined;

  constructor(
    readonly featureNames: string[],
    readonly groups: string[],
    private readonly o: ModelOptions = {},
  ) {}

  fit(train: Matrix & { y: Float32Array }, options: FitOptions): this {
    checkTraining(this.name, this.featureNames, train, "training");
    const f = this.featureNames.length;
    this.pre.fit(train.X, train.n, f);
    const trees = this.o.forest?.trees ?? FOREST_DEFAULTS.trees;
    this.model = fitForest(
      this.pre.transform(train.X, train.n, f),
      train.y,
      train.n,
      this.pre.outputWidth,
      { ...this.o.forest, seed: this.o.seed ?? 0 },
      (t) => {
        if ((t + 1) % 50 === 0) options.onProgress?.(`rf ${t + 1}/${trees} trees`);
      },
      this.o.threads ?? defaultThreads(),
    );
    return this;
  }

  predict(X: Float32Array, n: number): Float32Array {
    if (!this.model) throw new SmapfillError("predict before fit", { variable: this.name });
    const f = this.featureNames.length;
    if (X.length !== n * f) throw new SmapfillError(`${X.length / Math.max(1, n)} columns given, the model was fitted on ${f}`, { variable: this.name });
    return predictForest(this.model, this.pre.transform(X, n, f), n);
  }

  info() {
    return { trees: this.model?.trees.length, n_inputs: this.pre.outputWidth, total_nodes: this.model?.trees.reduce((a, t) => a + t.feature.length, 0) };
  }

  save(dir: string): void {
    if (!this.model) throw new SmapfillError("save before fit", { variable: this.name });
    fs.mkdirSync(dir, { recursive: true });
    writeJson(path.join(dir, "model.json"), {
      kind: "forest",
      name: this.name,
      featureNames: this.featureNames,
      groups: this.groups,
      options: this.o,
      preprocessor: this.pre.state,
      params: this.model.params,
      nFeatures: this.model.nFeatures,
      trees: this.model.trees.map(treeToJson),
    });
  }

  static load(spec: Record<string, unknown>): ForestRegressor {
    const r = new ForestRegressor(spec.featureNames as string[], spec.groups as string[], spec.options as ModelOptions);
    r.pre.state = spec.preprocessor as PreprocessorState;
    r.model = { params: spec.params as ForestParams, nFeatures: spec.nFeatures as number, trees: (spec.trees as Record<string, number[]>[]).map(treeFromJson) };
    return r;
  }
}

class NeuralRegressor implements Regressor {
  private pre = new Preprocessor(true, true);
  private net: Net | undefined;
  private yMean = 0;
  private ySd = 1;
  private history: EpochRecord[] = [];
  private bestEpoch = 0;
  private readonly columns: number[];
  private replicas: NetReplicas | undefined;
  private replicasTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: Exclude<ModelName, "xgb" | "rf">,
    readonly featureNames: string[],
    readonly groups: string[],
    private readonly o: ModelOptions = {},
  ) {
    this.columns = columnsFor(name, groups);
  }

  private get netName(): NetName {
    return this.name === "tssmnet_nots" ? "tssmnet" : this.name;
  }

  fit(train: Matrix & { y: Float32Array }, options: FitOptions): this {
    const f = this.featureNames.length;
    checkTraining(this.name, this.featureNames, train, "training");
    checkTraining(this.name, this.featureNames, options.validation, "validation");
    const cols = this.columns.length;
    const Xtr = selectColumns(train.X, train.n, f, this.columns);
    const Xva = selectColumns(options.validation.X, options.validation.n, f, this.columns);
    this.pre.fit(Xtr, train.n, cols);
    const w = this.pre.outputWidth;
    const trained = trainNet(
      this.netName,
      this.pre.transform(Xtr, train.n, cols),
      train.y,
      this.pre.transform(Xva, options.validation.n, cols),
      options.validation.y,
      w,
      {
        maxEpochs: this.o.maxEpochs ?? 200,
        seed: this.o.seed ?? 0,
        threads: this.threads,
        onEpoch: (e) =>
          options.onProgress?.(`${this.name} epoch ${e.epoch}: val RMSE ${e.valRmse.toFixed(5)}, lr ${e.lr.toExponential(1)}, ${e.seconds.toFixed(1)} s`),
      },
    );
    this.closeReplicas();
    Object.assign(this, { net: trained.net, yMean: trained.yMean, ySd: trained.ySd, history: trained.history, bestEpoch: trained.bestEpoch });
    return this;
  }

  predict(X: Float32Array, n: number): Float32Array {
    if (!this.net) throw new SmapfillError("predict before fit", { variable: this.name });
    const f = this.featureNames.length;
    if (X.length !== n * f) throw new SmapfillError(`${X.length / Math.max(1, n)} columns given, the model was fitted on ${f}`, { variable: this.name });
    const cols = this.columns.length;
    const Z = this.pre.transform(selectColumns(X, n, f, this.columns), n, cols);
    return predictNet(this.net, Z, n, this.pre.outputWidth, this.yMean, this.ySd, this.parallelPredictor(n));
  }

  private get threads(): number {
    return this.o.threads ?? defaultThreads();
  }

  /**
   * Worker replicas for a large prediction (same values as one thread), kept between calls (an
   * importance loop predicts dozens of times) and closed once the event loop has been idle 2 s.
   */
  private parallelPredictor(n: number): NetReplicas | null {
    if (this.threads < 2 || n < 4 * EVAL_BATCH) return null;
    this.replicas ??= new NetReplicas(this.net!, this.netName, this.o.seed ?? 0, this.threads, EVAL_BATCH);
    clearTimeout(this.replicasTimer);
    this.replicasTimer = setTimeout(() => this.closeReplicas(), 2000).unref();
    return this.replicas;
  }

  private closeReplicas(): void {
    clearTimeout(this.replicasTimer);
    this.replicas?.close();
    this.replicas = undefined;
  }

  info() {
    return {
      epochs_run: this.history.length,
      best_epoch: this.bestEpoch,
      best_val_rmse: Math.min(...this.history.map((h) => h.valRmse)),
      n_inputs: this.pre.outputWidth,
    };
  }

  save(dir: string): void {
    if (!this.net) throw new SmapfillError("save before fit", { variable: this.name });
    fs.mkdirSync(dir, { recursive: true });
    saveModule(path.join(dir, "weights.safetensors"), this.net, { model: this.name });
    writeJson(path.join(dir, "model.json"), {
      kind: "neural",
      name: this.name,
      net: this.netName,
      n_in: this.pre.outputWidth,
      featureNames: this.featureNames,
      groups: this.groups,
      options: this.o,
      preprocessor: this.pre.state,
      yMean: this.yMean,
      ySd: this.ySd,
      history: this.history,
      bestEpoch: this.bestEpoch,
    });
  }

  static load(dir: string, spec: Record<string, unknown>): NeuralRegressor {
    const r = new NeuralRegressor(
      spec.name as Exclude<ModelName, "xgb" | "rf">,
      spec.featureNames as string[],
      spec.groups as string[],
      spec.options as ModelOptions,
    );
    r.pre.state = spec.preprocessor as PreprocessorState;
    r.net = buildNet(spec.net as NetName, spec.n_in as number, { seed: 0 });
    loadModule(path.join(dir, "weights.safetensors"), r.net);
    Object.assign(r, { yMean: spec.yMean, ySd: spec.ySd, history: spec.history, bestEpoch: spec.bestEpoch });
    return r;
  }
}

class GbtRegressor implements Regressor {
  readonly name = "xgb" as const;
  private model: GbtModel | undefined;

  constructor(
    readonly featureNames: string[],
    readonly groups: string[],
    private readonly o: ModelOptions = {},
  ) {}

  fit(train: Matrix & { y: Float32Array }, options: FitOptions): this {
    checkTraining(this.name, this.featureNames, train, "training");
    checkTraining(this.name, this.featureNames, options.validation, "validation");
    const v = options.validation;
    this.model = fitGbt(
      train.X,
      train.y,
      train.n,
      this.featureNames.length,
      v.X,
      v.y,
      v.n,
      { ...this.o.gbt, seed: this.o.seed ?? 0 },
      (round, rmse) => {
        if (round % 50 === 0) options.onProgress?.(`xgb round ${round}: val RMSE ${rmse.toFixed(5)}`);
      },
      this.o.threads ?? defaultThreads(),
    );
    return this;
  }

  predict(X: Float32Array, n: number): Float32Array {
    if (!this.model) throw new SmapfillError("predict before fit", { variable: this.name });
    if (X.length !== n * this.featureNames.length)
      throw new SmapfillError(`${X.length / Math.max(1, n)} columns given, the model was fitted on ${this.featureNames.length}`, { variable: this.name });
    return predictGbt(this.model, X, n);
  }

  info() {
    return { best_iteration: this.model?.bestIteration, rounds_run: this.model?.trees.length, best_val_rmse: this.model?.bestValRmse };
  }

  save(dir: string): void {
    if (!this.model) throw new SmapfillError("save before fit", { variable: this.name });
    fs.mkdirSync(dir, { recursive: true });
    // Also as an XGBoost model, for xgboost.Booster().load_model().
    saveXgboostJson(path.join(dir, "xgboost.json"), this.model, this.featureNames);
    const trees = this.model.trees.map(treeToJson);
    writeJson(path.join(dir, "model.json"), {
      kind: "gbt",
      name: this.name,
      featureNames: this.featureNames,
      groups: this.groups,
      options: this.o,
      params: this.model.params,
      bestIteration: this.model.bestIteration,
      bestValRmse: this.model.bestValRmse,
      history: this.model.history,
      trees,
    });
  }

  static load(spec: Record<string, unknown>): GbtRegressor {
    const r = new GbtRegressor(spec.featureNames as string[], spec.groups as string[], spec.options as ModelOptions);
    const trees = (spec.trees as Record<string, number[]>[]).map(treeFromJson);
    r.model = {
      params: { ...GBT_DEFAULTS, ...(spec.params as GbtParams) },
      nFeatures: (spec.featureNames as string[]).length,
      trees,
      bestIteration: spec.bestIteration as number,
      bestValRmse: spec.bestValRmse as number,
      history: spec.history as number[],
    };
    return r;
  }
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value));
  fs.renameSync(`${file}.tmp`, file);
}

export function createRegressor(name: ModelName, featureNames: string[], groups: string[], options: ModelOptions = {}): Regressor {
  if (!MODEL_NAMES.includes(name)) throw new SmapfillError(`unknown model '${name}'`, { hint: `Use one of ${MODEL_NAMES.join(", ")}` });
  if (featureNames.length !== groups.length) throw new SmapfillError(`${featureNames.length} feature names but ${groups.length} groups`);
  if (name === "xgb") return new GbtRegressor(featureNames, groups, options);
  if (name === "rf") return new ForestRegressor(featureNames, groups, options);
  return new NeuralRegressor(name, featureNames, groups, options);
}

export function loadRegressor(dir: string): Regressor {
  const file = path.join(dir, "model.json");
  if (!fs.existsSync(file)) throw new SmapfillError("is not a saved model (no model.json)", { file: dir });
  const spec = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  if (spec.kind === "gbt") return GbtRegressor.load(spec);
  if (spec.kind === "forest") return ForestRegressor.load(spec);
  if (spec.kind === "neural") return NeuralRegressor.load(dir, spec);
  throw new SmapfillError(`has an unknown model kind '${spec.kind}'`, { file });
}
