import { test } from "node:test";
import assert from "node:assert/strict";
import { coverageTable, winkler90 } from "../../src/eval/uncertainty.js";
import { distanceBins, ResidualModel, seasons, Z90 } from "../../src/models/uncertainty.js";
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

/** Calibration rows like those of a real cube: most of them one day from a retrieval, few far away, where the errors are largest. */
function skewedRows(n: number, seed: number) {
  const rng = new Rng(seed);
  const X = new Float32Array(n * 5);
  const y = new Float32Array(n).fill(0.25);
  const pred = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const doy = rng.int(365);
    const u = rng.uniform();
    // 95 % at 1-3 days, 4.2 % at 4-9, 0.8 % at 10-40 (about 32 rows of 4000 beyond 9 days, fewer than 30 in any season).
    const d = u < 0.95 ? 1 + rng.int(3) : u < 0.992 ? 4 + rng.int(6) : 10 + rng.int(31);
    X.set([0, Math.sin((2 * Math.PI * doy) / 365.25), Math.cos((2 * Math.PI * doy) / 365.25), d, d], i * 5);
    pred[i] = 0.25 + 0.01 * Math.sqrt(d) * rng.normal();
  }
  return { X, y, pred };
}

test("few calibration rows far from a retrieval: their bins are pooled with their neighbours, never replaced by all rows, and sigma does not fall with distance", () => {
  const fit = skewedRows(4000, 5);
  const m = ResidualModel.fit(fit.pred, fit.y, fit.X, 4000, schema);
  const s = m.state;
  assert.equal(s.version, 2);
  const q = s.q90Distance;
  for (let d = 1; d < q.length; d++) assert.ok(q[d]! >= q[d - 1]!, `non-decreasing: ${q.map((v) => v.toFixed(4))}`);
  // The far bins carry the far rows' errors (about 0.01 sqrt(20) q90 ~ 0.07), far above all rows' q90 (~0.025).
  assert.ok(q[6]! > 1.8 * s.q90All, `far ${q[6]} against all ${s.q90All}`);
  assert.ok(
    s.pooledBins!.some(([a, b]) => b > a),
    "sparse bins were pooled",
  );
  // The earlier model on the same rows: cells with few rows fell back to all residuals, and came out flat far away.
  const legacy = new ResidualModel(legacyState(fit));
  const row = (d: number) => {
    const X = new Float32Array(5);
    X.set([0, 0, 1, d, d]);
    return X;
  };
  assert.ok(m.sigma(row(30), 1, schema)[0]! > 2 * m.sigma(row(1), 1, schema)[0]!);
  // The earlier model gave the far rows all residuals' quantile (too few rows in their bin), dominated by the near rows: why this model pools.
  assert.ok(Math.abs(legacy.sigma(row(30), 1, schema)[0]! - legacy.state.q90All / Z90) < 1e-6);
  assert.ok(m.sigma(row(30), 1, schema)[0]! > 1.8 * legacy.sigma(row(30), 1, schema)[0]!);
});

/** The earlier model's state on rows (per distance x season cell, falling back to the bin, then to all): saved models load as they were. */
function legacyState(r: { X: Float32Array; y: Float32Array; pred: Float32Array }) {
  const n = r.y.length;
  const bins = distanceBins(r.X, n, schema);
  const season = seasons(r.X, n, schema);
  const q90 = (v: number[]) => (v.length >= 30 ? v.sort((a, b) => a - b)[Math.floor(0.9 * (v.length - 1))]! : NaN);
  const cells = Array.from({ length: 7 }, () => [[], [], [], []] as number[][]);
  for (let i = 0; i < n; i++) cells[bins[i]!]![season[i]!]!.push(Math.abs(r.pred[i]! - r.y[i]!));
  return {
    method: "residual quantile by distance to the nearest retrieval and season",
    q90: cells.map((row) => row.map(q90)),
    q90Distance: cells.map((row) => q90(row.flat())),
    q90All: q90(cells.flat(2)),
    counts: cells.map((row) => row.map((c) => c.length)),
  };
}

test("a model saved before (no version) gives the sigma it gave then: cell, else distance bin, else all residuals", () => {
  const r = rows(3000, 9);
  const state = legacyState(r);
  const m = new ResidualModel(JSON.parse(JSON.stringify(state)));
  const sigma = m.sigma(r.X, 3000, schema);
  const bins = distanceBins(r.X, 3000, schema);
  const season = seasons(r.X, 3000, schema);
  for (let i = 0; i < 3000; i += 97) {
    const cell = state.q90[bins[i]!]![season[i]!]!;
    const expected = (Number.isFinite(cell) ? cell : Number.isFinite(state.q90Distance[bins[i]!]!) ? state.q90Distance[bins[i]!]! : state.q90All) / Z90;
    assert.ok(Math.abs(sigma[i]! - expected) < 1e-6, `row ${i}`);
  }
});

test("the missing reason scales sigma: gaps of a reason whose errors are larger get a wider interval, and each reason's coverage holds", () => {
  const n = 12000;
  const r = rows(n, 11);
  // Half the rows carry the frozen-ground cause (code 5), with errors twice as large; the rest not_in_swath (code 3).
  const reasons = Uint8Array.from({ length: n }, (_, i) => (i % 2 ? 5 : 3));
  const pred = Float32Array.from(r.pred, (p, i) => r.y[i]! + (p - r.y[i]!) * (reasons[i] === 5 ? 2 : 1));
  const m = ResidualModel.fit(pred, r.y, r.X, n, schema, { reasons });
  const scale = m.state.reasonScale!;
  assert.ok(scale.frozen_ground!.scale > 1.6 * scale.not_in_swath!.scale, JSON.stringify(scale));
  const t = rows(n, 12);
  const tp = Float32Array.from(t.pred, (p, i) => t.y[i]! + (p - t.y[i]!) * (reasons[i] === 5 ? 2 : 1));
  const sigma = m.sigma(t.X, n, schema, { reasons });
  for (const row of coverageTable(tp, t.y, sigma, Array.from(reasons, String)))
    assert.ok(row.coverage90 > 0.87 && row.coverage90 < 0.93, `${row.group}: ${row.coverage90}`);
  // Without the reasons the same rows are under-covered where the errors are larger.
  const plain = ResidualModel.fit(pred, r.y, r.X, n, schema);
  const frozenRows = coverageTable(tp, t.y, plain.sigma(t.X, n, schema), Array.from(reasons, String)).find((x) => x.group === "5")!;
  assert.ok(frozenRows.coverage90 < 0.85, `without reasons: ${frozenRows.coverage90}`);
  // A reason never seen in calibration (precipitation, code 7) keeps scale 1, as rows without a reason do.
  assert.deepEqual(m.sigma(t.X, 5, schema, { reasons: new Uint8Array(5).fill(7) }), m.sigma(t.X, 5, schema, { reasons: new Uint8Array(5) }));
});

test("frozen days: sigma adds the pixel's climatological spread (ts_std) to its distance's, or the calibration rows' spread without that feature", () => {
  const withStd = { names: [...schema.names, "ts_std"] };
  const n = 2000;
  const r = rows(n, 13);
  const X = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) (X.set(r.X.subarray(i * 5, i * 5 + 5), i * 6), (X[i * 6 + 5] = 0.06));
  const y = Float32Array.from({ length: n }, (_, i) => 0.2 + 0.1 * (i % 2));
  const pred = Float32Array.from(r.pred, (p, i) => p - 0.25 + y[i]!);
  const m = ResidualModel.fit(pred, y, X, n, withStd);
  const frozen = new Uint8Array(n).fill(1);
  const plain = m.sigma(X, n, withStd);
  const cold = m.sigma(X, n, withStd, { frozen });
  for (let i = 0; i < n; i += 53) assert.ok(Math.abs(cold[i]! - Math.hypot(plain[i]!, 0.06)) < 1e-6);
  assert.ok(Math.abs(m.state.frozen!.climatologySd - 0.05) < 1e-3, `${m.state.frozen!.climatologySd}`);
  const noStd = ResidualModel.fit(r.pred, y, r.X, n, schema);
  const fallback = noStd.sigma(r.X, 1, schema, { frozen: new Uint8Array([1]) })[0]!;
  assert.ok(Math.abs(fallback - Math.hypot(noStd.sigma(r.X, 1, schema)[0]!, noStd.state.frozen!.climatologySd)) < 1e-6);
});

test("the interval (Winkler) score: the width where the value is inside, plus 20 x the miss outside; a needlessly wide sigma scores worse", () => {
  assert.ok(Math.abs(winkler90(0.3, 0.3, 0.01) - 2 * Z90 * 0.01) < 1e-12);
  const half = Z90 * 0.01;
  assert.ok(Math.abs(winkler90(0.3, 0.3 + half + 0.01, 0.01) - (2 * half + 20 * 0.01)) < 1e-12);
  const r = rows(5000, 15);
  const m = ResidualModel.fit(r.pred, r.y, r.X, 5000, schema);
  const sigma = m.sigma(r.X, 5000, schema);
  const good = coverageTable(r.pred, r.y, sigma, undefined)[0]!;
  const wide = coverageTable(
    r.pred,
    r.y,
    sigma.map((s) => 3 * s),
    undefined,
  )[0]!;
  assert.ok(wide.coverage90 > good.coverage90 && wide.winkler90 > good.winkler90);
});
