import { test } from "node:test";
import assert from "node:assert/strict";
import { movingAverageAnomaly } from "../../src/eval/anomaly.js";

const close = (a: ArrayLike<number>, b: number[], tol = 1e-12) =>
  b.forEach((v, i) => (Number.isNaN(v) ? assert.ok(Number.isNaN(a[i]!), `index ${i}`) : assert.ok(Math.abs(a[i]! - v) < tol, `index ${i}: ${a[i]} vs ${v}`)));

test("anomaly: each value minus the mean of the values present in its centred window (hand-computed)", () => {
  // Window 3: t0 sees {1, 2}, t1 {1, 2} (t2 missing), t3 {4, 10}, t4 {4, 10}.
  close(movingAverageAnomaly([1, 2, NaN, 4, 10], 3), [-0.5, 0.5, NaN, -3, 3]);
});

test("anomaly: a seasonal cycle alone leaves (almost) nothing; a one-day wetting stays", () => {
  const season = Array.from({ length: 365 }, (_, t) => 0.25 + 0.1 * Math.sin((2 * Math.PI * t) / 365));
  const a = movingAverageAnomaly(season);
  // Inside the year (away from the ends) a 35-day mean of a yearly sine differs from it by < 0.1 * (1 - sinc) ~ 0.0015.
  for (let t = 17; t < 348; t++) assert.ok(Math.abs(a[t]!) < 0.002, `day ${t}: ${a[t]}`);
  const wet = season.slice();
  wet[200] = wet[200]! + 0.1;
  const b = movingAverageAnomaly(wet);
  assert.ok(Math.abs(b[200]! - a[200]! - 0.1 * (1 - 1 / 35)) < 1e-12);
});
