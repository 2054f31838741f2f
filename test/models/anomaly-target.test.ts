import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { AnomalyTarget } from "../../src/models/anomaly-target.js";
import { createRegressor, loadRegressor, resolveParams } from "../../src/models/registry.js";
import { NO_CAPABILITIES, type FitOptions, type Matrix, type Regressor } from "../../src/models/regressor.js";
import { Rng } from "../../src/util/random.js";
import { tempDir } from "../helpers.js";

const NAMES = ["x", "ts_clim_doy", "ts_mean"];
const GROUPS = ["dynamic", "ts", "ts"];

/** Predicts the mean of the targets it was fitted on, and remembers what it was given. */
class MeanModel implements Regressor {
  readonly name = "mean_model";
  readonly capabilities = NO_CAPABILITIES;
  readonly featureNames = NAMES;
  readonly groups = GROUPS;
  seen: { y?: Float32Array; validationY?: Float32Array } = {};
  private mean = 0;
  fit(train: Matrix & { y: Float32Array }, options: FitOptions): this {
    this.seen = { y: train.y, validationY: options.validation.y };
    this.mean = train.y.reduce((a, b) => a + b, 0) / train.n;
    return this;
  }
  predict(_X: Float32Array, n: number): Float32Array {
    return new Float32Array(n).fill(this.mean);
  }
  save(): void {}
  info() {
    return { mean: this.mean };
  }
}

const rows = (r: number[][]): Float32Array => Float32Array.from(r.flat());

/** Rows [x, ts_clim_doy, ts_mean] of pixels at levels 0.05..0.45 (known through their climatology): y = level + departure(x). */
function pixelRows(rng: Rng, n: number, departure: (x: number) => number) {
  const X = new Float32Array(n * 3);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const level = 0.05 + 0.4 * rng.uniform();
    const x = rng.uniform();
    X.set([x, level, level], i * 3);
    y[i] = level + departure(x);
  }
  return { X, y, n };
}

test("the anomaly base is the pixel's climatology, else its training mean, else the training rows' mean", () => {
  const inner = new MeanModel();
  const m = new AnomalyTarget(inner);
  const X = rows([
    [1, 0.2, 0.3],
    [2, NaN, 0.3],
    [3, NaN, NaN],
  ]);
  const y = Float32Array.from([0.25, 0.35, 0.4]);
  m.fit({ X, y, n: 3 }, { validation: { X: X.slice(0, 6), y: Float32Array.from([0.2, 0.3]), n: 2 } });
  const fallback = (0.25 + 0.35 + 0.4) / 3;
  const base = [0.2, 0.3, fallback];
  assert.deepEqual(
    [...m.base(X, 3)].map((v) => +v.toFixed(6)),
    base.map((v) => +v.toFixed(6)),
  );
  // The inner model saw departures, for training and validation alike.
  assert.deepEqual(
    [...inner.seen.y!].map((v) => +v.toFixed(6)),
    [0.05, 0.05, 0.4 - fallback].map((v) => +v.toFixed(6)),
  );
  assert.deepEqual(
    [...inner.seen.validationY!].map((v) => +v.toFixed(6)),
    [0, 0],
  );
  // Predictions add the base back: base + the mean departure.
  const meanDeparture = (0.05 + 0.05 + 0.4 - fallback) / 3;
  assert.deepEqual(
    [...m.predict(X, 3)].map((v) => +v.toFixed(5)),
    base.map((b) => +(b + meanDeparture).toFixed(5)),
  );
});

test("a model without the ts group cannot learn anomalies, and says which feature is missing", () => {
  assert.throws(() => createRegressor("xgb", ["x", "ts_mean"], ["dynamic", "ts"], { anomaly: 1 }), /ts_clim_doy are missing/);
  assert.equal(resolveParams("xgb").anomaly, 0, "the paper's boosted trees learn the value itself by default");
});

test("boosted trees on anomalies: a pixel offset they would need many splits for is exact, and save/load round-trips", () => {
  // y = pixel level (0.05..0.45, known through ts_clim_doy) + 0.02 x: the departure is one line in x.
  const rng = new Rng(7);
  const make = (n: number) => pixelRows(rng, n, (x) => 0.02 * x);
  const [train, validation, test_] = [make(3000), make(500), make(500)];
  const fitted = (anomaly: 0 | 1) => createRegressor("xgb", NAMES, GROUPS, { anomaly, rounds: 60 }, { seed: 0, threads: 1 }).fit(train, { validation });
  const rmse = (m: Regressor) => {
    const p = m.predict(test_.X, test_.n);
    return Math.sqrt(p.reduce((s, v, i) => s + (v - test_.y[i]!) ** 2, 0) / test_.n);
  };
  const [plain, anomaly] = [fitted(0), fitted(1)];
  assert.ok(rmse(anomaly) < 0.5 * rmse(plain), `anomaly ${rmse(anomaly)} vs value ${rmse(plain)}`);
  assert.match(String(anomaly.info().target), /anomaly/);
  const dir = path.join(tempDir(), "model");
  anomaly.save(dir);
  const loaded = loadRegressor(dir);
  assert.ok(loaded instanceof AnomalyTarget);
  assert.deepEqual(loaded.predict(test_.X, test_.n), anomaly.predict(test_.X, test_.n));
});

test("the ensemble's spread is the range of its members' predictions, the same after predict (kept) or alone, and passes through the anomaly target", () => {
  const rng = new Rng(3);
  const make = (n: number) => pixelRows(rng, n, (x) => 0.05 * Math.sin(6 * x) + 0.01 * rng.normal());
  const [train, validation, rows] = [make(1500), make(300), make(200)];
  const m = createRegressor("ensemble", NAMES, GROUPS, { rounds: 20, max_epochs: 2 }, { seed: 0, threads: 1 }).fit(train, { validation });
  assert.ok(m instanceof AnomalyTarget && m.capabilities.spread, "the ensemble learns anomalies by default and reports its spread");
  const alone = m.spread!(rows.X, rows.n);
  m.predict(rows.X, rows.n);
  assert.deepEqual(m.spread!(rows.X, rows.n), alone);
  const members = (m as AnomalyTarget).inner as unknown as { members: Regressor[] };
  const [a, b] = members.members.map((r) => r.predict(rows.X, rows.n));
  assert.deepEqual(
    alone,
    Float32Array.from(a!, (v, i) => Math.abs(v - b![i]!)),
  );
  assert.ok(alone.some((s) => s > 0));
  assert.equal(createRegressor("xgb", NAMES, GROUPS, { anomaly: 1 }).capabilities.spread, false, "a single model has no spread");
});
