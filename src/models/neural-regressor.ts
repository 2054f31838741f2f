/**
 * The networks (TsSMNet, TsSMNet-noTS, AutoResNet, Transformer) behind the Regressor interface:
 * standardised inputs with missing indicators, the target standardised, MODELS.md's training
 * (train-net.ts), data-parallel on worker replicas; saved as safetensors plus model.json.
 */
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { defaultThreads } from "../util/worker-pool.js";
import { loadModule, saveModule } from "../nn/persist.js";
import { buildNet, type Net, type NetName } from "./nets.js";
import { BEGIN_MAX_FLOATS, IdleReplicas, type NetReplicas } from "./net-replicas.js";
import { Preprocessor, type PreprocessorState } from "./preprocess.js";
import {
  checkTraining,
  checkWidth,
  columnsWithout,
  selectColumns,
  writeJson,
  type Capabilities,
  type FitOptions,
  type Matrix,
  type ModelName,
  type ModelOptions,
  type Regressor,
} from "./regressor.js";
import { EVAL_BATCH, epochReporter, predictNet, trainNet, type EpochRecord } from "./train-net.js";
import fs from "node:fs";

export class NeuralRegressor implements Regressor {
  /** predictLater: a large prediction runs on the worker replicas while the caller goes on. */
  readonly capabilities: Capabilities = { predictLater: true, spread: false, sequence: false };
  private pre = new Preprocessor(true, true);
  private net: Net | undefined;
  private yMean = 0;
  private ySd = 1;
  private history: EpochRecord[] = [];
  private bestEpoch = 0;
  private readonly columns: number[];
  private readonly replicas = new IdleReplicas();

  /**
   * `net` is the architecture (nets.ts); `dropped` the feature groups the model leaves out
   * (TsSMNet-noTS is TsSMNet without the ts group).
   */
  constructor(
    readonly name: ModelName,
    private readonly netName: NetName,
    readonly featureNames: string[],
    readonly groups: string[],
    private readonly o: ModelOptions = {},
    private readonly dropped: readonly string[] = [],
  ) {
    this.columns = columnsWithout(groups, dropped);
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
        ...(this.o.batch !== undefined ? { batch: this.o.batch } : {}),
        ...(this.o.lrPatience !== undefined ? { lrPatience: this.o.lrPatience } : {}),
        ...(this.o.stopPatience !== undefined ? { stopPatience: this.o.stopPatience } : {}),
        seed: this.o.seed ?? 0,
        threads: this.threads,
        onEpoch: epochReporter(this.name, options, this.o.maxEpochs ?? 200),
      },
    );
    this.replicas.close();
    Object.assign(this, { net: trained.net, yMean: trained.yMean, ySd: trained.ySd, history: trained.history, bestEpoch: trained.bestEpoch });
    return this;
  }

  predict(X: Float32Array, n: number): Float32Array {
    const Z = this.standardised(X, n);
    return predictNet(this.net!, Z, n, this.pre.outputWidth, this.yMean, this.ySd, this.parallelPredictor(n));
  }

  predictLater(X: Float32Array, n: number): () => Float32Array {
    const Z = this.standardised(X, n);
    const replicas = this.parallelPredictor(n);
    if (!replicas || n * this.pre.outputWidth > BEGIN_MAX_FLOATS)
      return () => predictNet(this.net!, Z, n, this.pre.outputWidth, this.yMean, this.ySd, replicas);
    const finish = replicas.begin(Z, n);
    return () => {
      const out = finish();
      for (let i = 0; i < n; i++) out[i] = out[i]! * this.ySd + this.yMean;
      return out;
    };
  }

  /** The network's inputs for X [n, features]: its columns, standardised. */
  private standardised(X: Float32Array, n: number): Float32Array {
    if (!this.net) throw new SmapfillError("predict before fit", { variable: this.name });
    const f = this.featureNames.length;
    checkWidth(this.name, X, n, f);
    return this.pre.transform(selectColumns(X, n, f, this.columns), n, this.columns.length);
  }

  private get threads(): number {
    return this.o.threads ?? defaultThreads();
  }

  /** Worker replicas for a large prediction (same values as one thread), kept between calls. */
  private parallelPredictor(n: number): NetReplicas | null {
    return this.replicas.get(this.net!, this.netName, this.o.seed ?? 0, this.threads, n, EVAL_BATCH);
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
      dropped: this.dropped,
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

  /** A saved model; `dropped` for models saved before it was recorded (TsSMNet-noTS: ["ts"]). */
  static load(dir: string, spec: Record<string, unknown>, dropped: readonly string[] = []): NeuralRegressor {
    const r = new NeuralRegressor(
      spec.name as ModelName,
      spec.net as NetName,
      spec.featureNames as string[],
      spec.groups as string[],
      spec.options as ModelOptions,
      (spec.dropped as string[] | undefined) ?? dropped,
    );
    r.pre.state = spec.preprocessor as PreprocessorState;
    r.net = buildNet(spec.net as NetName, spec.n_in as number, { seed: 0 });
    loadModule(path.join(dir, "weights.safetensors"), r.net);
    Object.assign(r, { yMean: spec.yMean, ySd: spec.ySd, history: spec.history, bestEpoch: spec.bestEpoch });
    return r;
  }
}
