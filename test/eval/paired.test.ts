import { test } from "node:test";
import assert from "node:assert/strict";
import { pairedRmseDifference } from "../../src/eval/experiment.js";
import { Rng } from "../../src/util/random.js";

test("paired bootstrap of an RMSE difference: exact value, a clear winner beyond chance, equal models within it", () => {
  const rng = new Rng(4);
  const n = 4000;
  const y = Float32Array.from({ length: n }, () => rng.uniform());
  const noise = (sd: number) => Float32Array.from(y, (v) => v + sd * (rng.uniform() - 0.5) * 3.46);
  const good = noise(0.03);
  const bad = noise(0.05);
  const rmse = (p: Float32Array) => Math.sqrt(p.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) / n);
  const d = pairedRmseDifference(good, bad, y, 500, 0);
  assert.ok(Math.abs(d.value - (rmse(good) - rmse(bad))) < 1e-9);
  assert.ok(d.ciLow <= d.value && d.value <= d.ciHigh);
  assert.ok(d.ciHigh < 0, `the better model wins beyond chance: [${d.ciLow}, ${d.ciHigh}]`);
  const twin = noise(0.03);
  const e = pairedRmseDifference(good, twin, y, 500, 0);
  assert.ok(e.ciLow < 0 && e.ciHigh > 0, `two equal models differ within chance: [${e.ciLow}, ${e.ciHigh}]`);
  assert.deepEqual(pairedRmseDifference(good, good, y, 100, 0), { value: 0, ciLow: 0, ciHigh: 0 });
});
