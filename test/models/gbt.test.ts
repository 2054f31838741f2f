import { pointMetrics } from "../../src/eval/metrics.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { binEdges, binMatrix, fitGbt, predictGbt } from "../../src/models/trees/gbt.js";
import { friedman1 } from "../helpers.js";

const rmse = (a: ArrayLike<number>, b: ArrayLike<number>) => pointMetrics(a, b).rmse;

test("binning: at most 255 bins, monotone, bin = number of edges <= x, missing in bin 255", () => {
  const { X, n, f } = friedman1(2000, 1, 0.1);
  const edges = binEdges(X, n, f, 256);
  for (const e of edges) {
    assert.ok(e.length <= 254);
    for (let k = 1; k < e.length; k++) assert.ok(e[k]! > e[k - 1]!);
  }
  const bins = binMatrix(X, n, f, edges);
  for (let i = 0; i < n; i += 37) {
    const v = X[i * f + 3]!;
    const b = bins[3 * n + i]!;
    if (Number.isNaN(v)) assert.equal(b, 255);
    else assert.equal(b, edges[3]!.filter((e) => e <= v).length);
  }
  // Few distinct values: one bin each.
  const small = Float32Array.from({ length: 100 }, (_, i) => i % 4);
  assert.equal(binEdges(small, 100, 1, 256)[0]!.length, 3);
});

test("learns Friedman #1 far better than the mean, with and without missing values; seeded", () => {
  for (const missing of [0, 0.2]) {
    const tr = friedman1(4000, 2, missing);
    const va = friedman1(1000, 3, missing);
    const te = friedman1(2000, 4, missing);
    const model = fitGbt(tr.X, tr.y, tr.n, tr.f, va.X, va.y, va.n, { rounds: 400, eta: 0.1, maxDepth: 4, earlyStopping: 30 });
    const pred = predictGbt(model, te.X, te.n);
    const mean = tr.y.reduce((a, b) => a + b, 0) / tr.n;
    const baseline = rmse(
      Float32Array.from(te.y, () => mean),
      te.y,
    );
    const score = rmse(pred, te.y);
    assert.ok(score < 0.45 * baseline, `missing ${missing}: test RMSE ${score} vs mean-only ${baseline}`);
    assert.ok(model.bestIteration > 50);
  }
  const tr = friedman1(1000, 5);
  const a = fitGbt(tr.X, tr.y, tr.n, tr.f, tr.X, tr.y, tr.n, { rounds: 20, seed: 3 });
  const b = fitGbt(tr.X, tr.y, tr.n, tr.f, tr.X, tr.y, tr.n, { rounds: 20, seed: 3 });
  assert.deepEqual(predictGbt(a, tr.X, tr.n), predictGbt(b, tr.X, tr.n));
});

test("missing values take the learned default direction", () => {
  // y depends on x only; rows with x missing all have y = 5: the split must send them to the right side.
  const n = 600;
  const X = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) {
      X[i] = NaN;
      y[i] = 5;
    } else {
      X[i] = (i % 100) / 100;
      y[i] = X[i]! < 0.5 ? -5 : 5;
    }
  }
  const m = fitGbt(X, y, n, 1, X, y, n, { rounds: 200, eta: 0.3, maxDepth: 2, subsample: 1, colsampleByTree: 1, baseScore: 0 });
  const p = predictGbt(m, Float32Array.of(NaN, 0.1, 0.9), 3);
  assert.ok(p[0]! > 4 && p[1]! < -4 && p[2]! > 4, `${p}`);
});

test("early stopping keeps the best iteration", () => {
  const tr = friedman1(300, 6);
  const va = friedman1(300, 7);
  const m = fitGbt(tr.X, tr.y, tr.n, tr.f, va.X, va.y, va.n, { rounds: 2000, eta: 0.3, maxDepth: 8, earlyStopping: 10, subsample: 1 });
  assert.ok(m.trees.length < 2000, "stopped early");
  assert.equal(m.trees.length, m.bestIteration + 11);
  assert.equal(Math.min(...m.history), m.history[m.bestIteration]);
});

test("the same trees for any thread count (column ranges on worker threads), with missing values", () => {
  const tr = friedman1(3000, 6, 0.1);
  const va = friedman1(500, 7, 0.1);
  const fit = (threads: number) => fitGbt(tr.X, tr.y, tr.n, tr.f, va.X, va.y, va.n, { rounds: 30, maxDepth: 6, seed: 2 }, undefined, threads);
  const one = fit(1);
  for (const threads of [2, 3]) {
    const many = fit(threads);
    assert.deepEqual(many.trees, one.trees, `${threads} threads`);
    assert.deepEqual(many.history, one.history);
  }
});
