/**
 * Random forest behind the Regressor interface (MODELS.md: 300 trees, bootstrap, a third of the
 * features per split, min_samples_leaf 5), on mean-imputed raw inputs plus missing indicators.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { defaultThreads } from "../util/worker-pool.js";
import { Preprocessor, type PreprocessorState } from "./preprocess.js";
import { checkTraining, checkWidth, writeJson, type Capabilities, type FitOptions, type Matrix, type ModelOptions, type Regressor } from "./regressor.js";
import { fitForest, FOREST_DEFAULTS, type ForestModel, type ForestParams } from "./trees/forest.js";
import { packTrees, TreePredictor } from "./trees/packed-trees.js";
import { treeFromJson, treeToJson } from "./trees/tree.js";

/** Random forest on mean-imputed raw inputs plus missing indicators (the reference's preprocessing). */
export class ForestRegressor implements Regressor {
  readonly name = "rf" as const;
  readonly capabilities: Capabilities = { predictLater: true, spread: false, sequence: false };
  private pre = new Preprocessor(false, true);
  private model: ForestModel | undefined;
  /** The trees packed for fast prediction (made at the first predict). */
  private predictor: TreePredictor | undefined;

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
    this.predictor?.close();
    this.predictor = undefined;
    this.model = fitForest(
      this.pre.transform(train.X, train.n, f),
      train.y,
      train.n,
      this.pre.outputWidth,
      { ...this.o.forest, seed: this.o.seed ?? 0 },
      (t) => {
        if ((t + 1) % 50 === 0) options.onProgress?.(`rf ${t + 1}/${trees} trees`);
        options.onStep?.(t + 1, trees);
      },
      this.o.threads ?? defaultThreads(),
    );
    return this;
  }

  predict(X: Float32Array, n: number): Float32Array {
    return this.predictLater(X, n)();
  }

  predictLater(X: Float32Array, n: number): () => Float32Array {
    if (!this.model) throw new SmapfillError("predict before fit", { variable: this.name });
    const f = this.featureNames.length;
    checkWidth(this.name, X, n, f);
    this.predictor ??= new TreePredictor(packTrees(this.model.trees), this.pre.outputWidth, true, 0);
    const finish = this.predictor.begin(this.pre.transform(X, n, f), n, this.o.threads ?? defaultThreads());
    const k = this.model.trees.length;
    return () => Float32Array.from(finish(), (v) => v / k);
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
