import { test } from "node:test";
import assert from "node:assert/strict";
import { coverageTable } from "../../src/eval/uncertainty.js";
import { distanceBins, ResidualModel, seasons } from "../../src/models/uncertainty.js";
import { Rng } from "../../src/util/random.js";

const schema = { names: ["x", "doy_sin", "doy_cos", "ts_prev_gap", "ts_next_gap"] };

/** Rows whose error grows with the distance to the nearest retrieval. */
function rows(n: number, seed: number) {
  const rng = new Rng(seed);
  const X = new Float32Array(n * 5);
  const y = new Float32Array(n);
  const pred = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const doy = rng.int(365);
    const prev = 1 + rng.int(30);
    const next = rng.uniform() < 0.1 ? NaN : 1 + rng.int(30);
    X.set([rng.uniform(), Math.sin((2 * Math.PI * doy) / 365.25), Math.cos((2 * Math.PI * doy) / 365.25), prev, next], i * 5);
    const d = Math.min(prev, Number.isNaN(next) ? Infinity : next);
    y[i] = 0.25;
    pred[i] = 0.25 + 0.01 * Math.sqrt(d) * rng.normal();
  }
  return { X, y, pred };
}

test("the residual model's 90 % intervals hold about 90 % of new residuals, per distance bin, and widen with distance", () => {
  const fit = rows(20000, 1);
  const m = ResidualModel.fit(fit.pred, fit.y, fit.X, 20000, schema);
  // Through JSON (NaN bins become null) and back: the same sigmas.
  const again = new ResidualModel(JSON.parse(JSON.stringify(m.toJSON())));
  const test_ = rows(20000, 2);
  const sigma = again.sigma(test_.X, 20000, schema);
  assert.deepEqual(sigma, m.sigma(test_.X, 20000, schema));
  assert.ok(sigma.every((s) => s > 0 && Number.isFinite(s)));
  const bins = distanceBins(test_.X, 20000, schema);
  const table = coverageTable(test_.pred, test_.y, sigma, Array.from(bins, String));
  for (const row of table) if (row.n > 500) assert.ok(row.coverage90 > 0.86 && row.coverage90 < 0.94, `${row.group}: ${row.coverage90}`);
  const sigmaOf = (bin: number) => table.find((r) => r.group === String(bin))!.meanSigma;
  assert.ok(sigmaOf(5) > 1.5 * sigmaOf(0), "farther from a retrieval, wider");
  // A model that ignores distance is miscalibrated per bin: the check can fail.
  const mean = sigma.reduce((a, b) => a + b, 0) / sigma.length;
  const flat = new Float32Array(sigma.length).fill(mean);
  const bad = coverageTable(test_.pred, test_.y, flat, Array.from(bins, String));
  assert.ok(bad.some((r) => r.n > 500 && (r.coverage90 < 0.85 || r.coverage90 > 0.95)));
});

test("seasons from the calendar terms: Jan DJF, Apr MAM, Jul JJA, Oct SON", () => {
  const X = new Float32Array(4 * 5);
  [15, 105, 196, 288].forEach((doy, i) => X.set([0, Math.sin((2 * Math.PI * doy) / 365.25), Math.cos((2 * Math.PI * doy) / 365.25), 1, 1], i * 5));
  assert.deepEqual(Array.from(seasons(X, 4, schema)), [0, 1, 2, 3]);
});

/** Rows as above whose error also grows with a spread the model reports (an ensemble's disagreement). */
function spreadRows(n: number, seed: number) {
  const r = rows(n, seed);
  const rng = new Rng(seed + 100);
  const spread = Float32Array.from({ length: n }, () => 0.02 * rng.uniform());
  const pred = Float32Array.from(r.pred, (p, i) => r.y[i]! + (p - r.y[i]!) * (0.3 + 100 * spread[i]!));
  return { ...r, pred, spread };
}

test("with the members' spread, each spread tercile's 90 % interval holds about 90 %; without it the top tercile is under-covered", () => {
  const fit = spreadRows(30000, 3);
  const withSpread = ResidualModel.fit(fit.pred, fit.y, fit.X, 30000, schema, fit.spread);
  const without = ResidualModel.fit(fit.pred, fit.y, fit.X, 30000, schema);
  assert.match(withSpread.state.method, /spread/);
  const [lowScale, , highScale] = withSpread.state.spreadScale!;
  assert.ok(highScale > 2 * lowScale, `scales ${withSpread.state.spreadScale}`);
  const t = spreadRows(30000, 4);
  const again = new ResidualModel(JSON.parse(JSON.stringify(withSpread.toJSON())));
  const sigma = again.sigma(t.X, 30000, schema, t.spread);
  const tercile = Array.from(t.spread, (s) => (s < withSpread.state.spreadEdges![0] ? "low" : s < withSpread.state.spreadEdges![1] ? "mid" : "high"));
  for (const row of coverageTable(t.pred, t.y, sigma, tercile)) assert.ok(row.coverage90 > 0.87 && row.coverage90 < 0.93, `${row.group}: ${row.coverage90}`);
  const plain = coverageTable(t.pred, t.y, without.sigma(t.X, 30000, schema), tercile);
  assert.ok(plain.find((r) => r.group === "high")!.coverage90 < 0.85, "the distance-and-season bins alone miss the spread");
  assert.throws(() => withSpread.sigma(t.X, 10, schema), /calibrated with the ensemble members' spread/);
});
