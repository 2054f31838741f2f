import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  checkParams,
  createRegressor,
  loadRegressor,
  modelEntry,
  modelLabel,
  modelNames,
  parseParamAssignment,
  registerModel,
  resolveParams,
  unregisterModel,
} from "../../src/models/registry.js";
import { NO_CAPABILITIES, writeJson, type Regressor } from "../../src/models/regressor.js";
import { runEvaluation } from "../../src/eval/experiment.js";
import { demoEvaluationConfig } from "../../src/eval/config.js";
import { renderMarkdown } from "../../src/report/evaluation-report.js";
import { ingestStudy } from "../../src/cube/ingest-study.js";
import { loadStudy } from "../../src/config/study.js";
import { writeWorld } from "../../src/synth/write-world.js";
import { writeWorldStudy } from "../../src/synth/world-study.js";
import { WORLD_PRESETS } from "../../src/synth/world.js";
import { tempDir } from "../helpers.js";

test("the registry holds the six models of MODELS.md with their defaults", () => {
  assert.deepEqual(modelNames().slice(0, 6), ["tssmnet", "tssmnet_nots", "autoresnet", "transformer", "rf", "xgb"]);
  assert.equal(modelLabel("xgb"), "XGBoost (GBT)");
  assert.deepEqual(modelEntry("tssmnet_nots").drops, ["ts"]);
  assert.deepEqual(resolveParams("tssmnet"), { max_epochs: 200, batch_size: 512, lr_patience: 5, stop_patience: 12, anomaly: 0 });
  assert.equal(resolveParams("xgb").rounds, 2000);
  assert.equal(resolveParams("rf").trees, 300);
  assert.equal(resolveParams("rf").max_features, undefined, "derived from F at fit time");
});

test("hyperparameters: one flat map, the model-specific key wins, out-of-range values are refused", () => {
  const params = { max_epochs: 10, "transformer.max_epochs": 4, "xgb.rounds": 50 };
  assert.equal(resolveParams("tssmnet", params).max_epochs, 10);
  assert.equal(resolveParams("transformer", params).max_epochs, 4);
  assert.equal(resolveParams("xgb", params).rounds, 50);
  checkParams(params);
  assert.throws(() => checkParams({ max_epochs: 0 }), /max_epochs = 0 is out of range: expected a whole number >= 1/);
  assert.throws(() => checkParams({ "xgb.eta": 0 }), /xgb\.eta = 0 is out of range: expected a number > 0 and <= 1/);
  assert.throws(() => checkParams({ "xgb.trees": 5 }), /xgb has no parameter 'trees'.*xgb takes rounds, early_stopping/);
  assert.throws(() => checkParams({ "svm.c": 1 }), /no model is named 'svm'/);
  assert.throws(() => checkParams({ depth: 3 }), /no model has a parameter 'depth'/);
  assert.throws(() => resolveParams("rf", { "rf.trees": 2.5 }), /rf\.trees = 2\.5 is out of range: expected a whole number/);
  assert.deepEqual(parseParamAssignment("transformer.max_epochs=4", { a: 1 }), { a: 1, "transformer.max_epochs": 4 });
  assert.throws(() => parseParamAssignment("transformer.max_epochs"), /not a parameter assignment/);
  assert.throws(() => parseParamAssignment("xgb.eta=fast"), /'fast' is not a number/);
});

/** A seventh model, written only against src/models' interfaces: the training mean plus a least-squares slope on one column. */
class OneColumnModel implements Regressor {
  readonly name = "one_column";
  readonly capabilities = NO_CAPABILITIES;
  private a = 0;
  private b = 0;
  constructor(
    readonly featureNames: string[],
    readonly groups: string[],
    private readonly column: number,
  ) {}
  fit(train: { X: Float32Array; y: Float32Array; n: number }): this {
    const f = this.featureNames.length;
    let [sx, sy, sxx, sxy, k] = [0, 0, 0, 0, 0];
    for (let i = 0; i < train.n; i++) {
      const x = train.X[i * f + this.column]!;
      if (Number.isNaN(x)) continue;
      [sx, sy, sxx, sxy, k] = [sx + x, sy + train.y[i]!, sxx + x * x, sxy + x * train.y[i]!, k + 1];
    }
    this.b = (sxy - (sx * sy) / k) / (sxx - (sx * sx) / k || 1);
    this.a = sy / k - (this.b * sx) / k;
    return this;
  }
  predict(X: Float32Array, n: number): Float32Array {
    const f = this.featureNames.length;
    return Float32Array.from({ length: n }, (_, i) => {
      const x = X[i * f + this.column]!;
      return Number.isNaN(x) ? this.a : this.a + this.b * x;
    });
  }
  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    writeJson(path.join(dir, "model.json"), {
      name: this.name,
      featureNames: this.featureNames,
      groups: this.groups,
      column: this.column,
      a: this.a,
      b: this.b,
    });
  }
  info() {
    return { slope: this.b };
  }
}

test("a seventh model registered in src/models' terms runs through evaluate and the report", async () => {
  registerModel({
    name: "one_column",
    label: "One-column fit",
    description: "least squares on one feature (a test model)",
    params: { column: { default: 0, min: 0, max: 1000, integer: true, doc: "the feature column" } },
    create: (names, groups, p) => new OneColumnModel(names, groups, p.column!),
    load: (_dir, spec) =>
      Object.assign(new OneColumnModel(spec.featureNames as string[], spec.groups as string[], spec.column as number), { a: spec.a, b: spec.b }),
  });
  try {
    assert.throws(() => registerModel(modelEntry("one_column")), /registered already/);
    const dir = tempDir();
    const world = { ...WORLD_PRESETS.test, days: 30 };
    await writeWorld(world, path.join(dir, "w"));
    const report = await ingestStudy(loadStudy(writeWorldStudy(path.join(dir, "w"), world, "../cube.zarr")), { quiet: true });
    const config = {
      ...demoEvaluationConfig(report.output, path.join(dir, "eval"), path.join(dir, "w", "ismn")),
      models: ["xgb", "one_column"],
      reference: "one_column",
      ablationPairs: [],
      importanceModels: ["one_column"],
      maxTrainSamples: 2000,
      params: { "xgb.rounds": 100, "one_column.column": 3 },
      nBoot: 50,
    };
    const { result } = await runEvaluation(config);
    const gaps = result.splits[0]!;
    assert.deepEqual(
      gaps.models.map((m) => m.model),
      ["xgb", "one_column"],
    );
    assert.equal(gaps.reference, "one_column");
    assert.ok(
      gaps.models[0]!.test.rmse.value < gaps.models[1]!.test.rmse.value,
      `the boosted trees (RMSE ${gaps.models[0]!.test.rmse.value}) beat a one-column fit (${gaps.models[1]!.test.rmse.value})`,
    );
    assert.ok(gaps.models[0]!.referenceRmseReduction! < 0);
    assert.equal(result.importance[0]!.model, "one_column");
    assert.equal(result.insitu!.models.length, 2);
    const md = renderMarkdown(result);
    assert.match(md, /\| One-column fit \| column 3 \|/);
    assert.match(md, /One-column fit's RMSE reduction/);
    // Saved and reloaded through the registry.
    const saved = path.join(dir, "eval", "models", "gaps", "one_column");
    assert.equal(loadRegressor(saved).name, "one_column");
    assert.ok(fs.existsSync(path.join(saved, "schema.json")));
    const again = createRegressor("one_column", ["a", "b"], ["dynamic", "static"], { "one_column.column": 1 });
    assert.equal((again as unknown as { column: number }).column, 1);
  } finally {
    unregisterModel("one_column");
  }
  assert.ok(!modelNames().includes("one_column"));
});

test("linear interpolation: between the retrievals, the nearer one within max_gap, climatology beyond, the mean without anything", () => {
  const names = ["x", "ts_clim_doy", "ts_prev_value", "ts_prev_gap", "ts_next_value", "ts_next_gap"];
  const groups = ["dynamic", "ts", "ts", "ts", "ts", "ts"];
  const m = createRegressor("linear_interp", names, groups, { "linear_interp.max_gap": 10 });
  m.fit({ X: new Float32Array(12), y: Float32Array.of(0.2, 0.4), n: 2 }, { validation: { X: new Float32Array(12), y: Float32Array.of(0, 0), n: 2 } });
  const X = Float32Array.from(
    [
      [0, 0.3, 0.1, 1, 0.4, 3],
      [0, 0.3, 0.1, 2, 0.4, 20],
      [0, 0.3, 0.1, 15, 0.4, 20],
      [0, NaN, NaN, NaN, NaN, NaN],
    ].flat(),
  );
  const p = m.predict(X, 4);
  assert.ok(Math.abs(p[0]! - (0.1 + (0.3 * 1) / 4)) < 1e-6);
  assert.ok(Math.abs(p[1]! - 0.1) < 1e-6);
  assert.ok(Math.abs(p[2]! - 0.3) < 1e-6);
  assert.ok(Math.abs(p[3]! - 0.3) < 1e-6, "the training mean");
  assert.throws(() => createRegressor("linear_interp", ["x"], ["dynamic"]), /needs the time-series context terms; ts_prev_value, .* are missing/);
});
