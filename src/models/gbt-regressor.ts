/**
 * Gradient-boosted trees (XGBoost's histogram method, MODELS.md's settings) behind the Regressor
 * interface; saved as model.json and as an XGBoost JSON model (xgboost.Booster().load_model()).
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { defaultThreads } from "../util/worker-pool.js";
import { checkTraining, checkWidth, writeJson, type Capabilities, type FitOptions, type Matrix, type ModelOptions, type Regressor } from "./regressor.js";
import { fitGbt, GBT_DEFAULTS, type GbtModel, type GbtParams } from "./trees/gbt.js";
import { packTrees, TreePredictor } from "./trees/packed-trees.js";
import { treeFromJson, treeToJson } from "./trees/tree.js";
import { saveXgboostJson } from "./trees/xgboost-json.js";

export class GbtRegressor implements Regressor {
  readonly name = "xgb" as const;
  readonly capabilities: Capabilities = { predictLater: true, spread: false, sequence: false };
  private model: GbtModel | undefined;
  /** The trees up to the best iteration, packed for fast prediction (made at the first predict). */
  private predictor: TreePredictor | undefined;

  constructor(
    readonly featureNames: string[],
    readonly groups: string[],
    private readonly o: ModelOptions = {},
  ) {}

  fit(train: Matrix & { y: Float32Array }, options: FitOptions): this {
    checkTraining(this.name, this.featureNames, train, "training");
    checkTraining(this.name, this.featureNames, options.validation, "validation");
    const v = options.validation;
    this.predictor?.close();
    this.predictor = undefined;
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
        options.onStep?.(round + 1, this.o.gbt?.rounds ?? GBT_DEFAULTS.rounds);
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
    checkWidth(this.name, X, n, this.featureNames.length);
    this.predictor ??= new TreePredictor(
      packTrees(this.model.trees, this.model.bestIteration + 1),
      this.featureNames.length,
      false,
      this.model.params.baseScore,
    );
    return this.predictor.begin(X, n, this.o.threads ?? defaultThreads()) as () => Float32Array;
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
