import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { evaluate, pointMetrics, METRIC_NAMES } from "../../src/eval/metrics.js";
import { pairedRmseDifference } from "../../src/eval/experiment.js";
import { Rng } from "../../src/util/random.js";
import { SHARED } from "../helpers.js";

test("golden: rmse, ubrmse, bias, r, mae match reference/metrics.py on its cases", () => {
  const cases = JSON.parse(fs.readFileSync(path.join(SHARED, "reference", "golden", "metrics_cases.json"), "utf8"));
  for (const [c, item] of cases.entries()) {
    const m = pointMetrics(item.pred, item.ref);
    for (const k of METRIC_NAMES) {
      const expected = item.expected[k];
      if (expected === null) assert.ok(Number.isNaN(m[k]), `case ${c} ${k}`);
      else assert.ok(Math.abs(m[k] - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `case ${c} ${k}: ${m[k]} vs ${expected}`);
    }
    if (item.expected.n !== undefined) assert.equal(item.pred.length, item.expected.n);
  }
});

test("property: metric identities (ubRMSE^2 = RMSE^2 - bias^2, perfect agreement, invariances)", () => {
  const rng = new Rng(2);
  for (let trial = 0; trial < 50; trial++) {
    const n = 5 + rng.int(300);
    const ref = Array.from({ length: n }, () => 0.1 + 0.3 * rng.uniform());
    const pred = ref.map((v) => 0.8 * v + 0.05 + 0.03 * rng.normal());
    const m = pointMetrics(pred, ref);
    assert.ok(Math.abs(m.ubrmse ** 2 - (m.rmse ** 2 - m.bias ** 2)) < 1e-12);
    assert.ok(m.mae <= m.rmse + 1e-15);
    assert.ok(m.r >= -1 && m.r <= 1);
    const shifted = pointMetrics(
      pred.map((v) => v + 0.1),
      ref,
    );
    assert.ok(Math.abs(shifted.ubrmse - m.ubrmse) < 1e-12 && Math.abs(shifted.r - m.r) < 1e-12, "ubRMSE and R ignore a constant offset");
    assert.ok(Math.abs(shifted.bias - m.bias - 0.1) < 1e-12);
  }
  const same = pointMetrics([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]);
  assert.deepEqual([same.rmse, same.ubrmse, same.bias, same.mae], [0, 0, 0, 0]);
  assert.ok(Math.abs(same.r - 1) < 1e-12);
});

test("bootstrap CIs: seeded and reproducible, bracket the value, shrink with n, none below 100 pairs", () => {
  const rng = new Rng(3);
  const make = (n: number) => {
    const ref = Array.from({ length: n }, () => 0.2 + 0.1 * rng.normal());
    return { ref, pred: ref.map((v) => v + 0.04 * rng.normal()) };
  };
  const small = make(150);
  const a = evaluate(small.pred, small.ref, { seed: 5 });
  const b = evaluate(small.pred, small.ref, { seed: 5 });
  assert.deepEqual(a, b);
  for (const k of METRIC_NAMES) assert.ok(a[k].ciLow <= a[k].value && a[k].value <= a[k].ciHigh, k);
  const big = make(5000);
  const c = evaluate(big.pred, big.ref, { seed: 5, nBoot: 300 });
  assert.ok(c.rmse.ciHigh - c.rmse.ciLow < a.rmse.ciHigh - a.rmse.ciLow);
  // The RMSE CI at n = 5000 covers the noise sd (0.04) used to make the pairs.
  assert.ok(c.rmse.ciLow < 0.041 && c.rmse.ciHigh > 0.039);
  const tiny = evaluate([0.1, 0.2], [0.1, 0.25]);
  assert.equal(tiny.n, 2);
  assert.ok(Number.isNaN(tiny.rmse.ciLow));
  assert.throws(() => evaluate([1, 2], [1]), /2 predictions, 1 references/);
});

test("cluster bootstrap: one pair per cluster is the pair bootstrap exactly; errors shared within days widen the CI", () => {
  const rng = new Rng(11);
  const n = 3000;
  const ref = Float64Array.from({ length: n }, () => rng.uniform());
  const pred = Float64Array.from(ref, (v) => v + 0.02 * rng.normal());
  const singletons = Int32Array.from({ length: n }, (_, i) => i);
  assert.deepEqual(evaluate(pred, ref, { nBoot: 200, seed: 3, clusters: singletons }), evaluate(pred, ref, { nBoot: 200, seed: 3 }));
  // 30 days of 100 pixels; each day has its own error (a storm the predictors missed) plus noise.
  const days = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 100));
  const dayError = Float64Array.from({ length: 30 }, () => 0.03 * rng.normal());
  const shared = Float64Array.from(ref, (v, i) => v + dayError[days[i]!]! + 0.01 * rng.normal());
  const byPairs = evaluate(shared, ref, { nBoot: 400, seed: 0 }).rmse;
  const byDays = evaluate(shared, ref, { nBoot: 400, seed: 0, clusters: days }).rmse;
  assert.equal(byDays.value, byPairs.value);
  assert.ok(byDays.ciLow <= byDays.value && byDays.value <= byDays.ciHigh);
  const width = (m: { ciLow: number; ciHigh: number }) => m.ciHigh - m.ciLow;
  assert.ok(width(byDays) > 4 * width(byPairs), `days ${width(byDays)} vs pairs ${width(byPairs)}`);
  // Clusters need not be contiguous or numbered from 0.
  const shuffled = Int32Array.from(days, (d) => 1000 - 7 * d);
  assert.deepEqual(evaluate(shared, ref, { nBoot: 50, seed: 1, clusters: shuffled }).rmse, evaluate(shared, ref, { nBoot: 50, seed: 1, clusters: days }).rmse);
  assert.throws(() => evaluate(shared, ref, { nBoot: 5, clusters: days.slice(1) }), /2999 cluster labels for 3000 pairs/);
});

test("paired bootstrap over days: the same draws as the pair bootstrap with one row per day", () => {
  const rng = new Rng(5);
  const n = 500;
  const y = Float32Array.from({ length: n }, () => rng.uniform());
  const a = Float32Array.from(y, (v) => v + 0.02 * rng.normal());
  const b = Float32Array.from(y, (v) => v + 0.03 * rng.normal());
  const singletons = Int32Array.from({ length: n }, (_, i) => i);
  assert.deepEqual(pairedRmseDifference(a, b, y, 100, 2, singletons), pairedRmseDifference(a, b, y, 100, 2));
});
