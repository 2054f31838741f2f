import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { evaluate, pointMetrics, METRIC_NAMES } from "../../src/eval/metrics.js";
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
