import { test } from "node:test";
import assert from "node:assert/strict";
import { aggregateStations, MIN_STATION_DAYS, pairScores, stationPairs, type Pairs } from "../../src/reconstruct/product-stations.js";

const near = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);
const pairs = (pred: number[], ref: number[]): Pairs => ({ pred, ref, predAnomaly: pred, refAnomaly: ref });

test("per-station scores of a small known series (hand-computed)", () => {
  // pred - ref = 0.1, 0.1, 0: RMSE sqrt(0.02 / 3), bias 0.2 / 3, ubRMSE of (1/30, 1/30, -2/30).
  const s = pairScores(pairs([0.2, 0.3, 0.4], [0.1, 0.2, 0.4]));
  assert.equal(s.n, 3);
  near(s.rmse, Math.sqrt(0.02 / 3));
  near(s.bias, 0.2 / 3);
  near(s.ubrmse, Math.sqrt((2 * (1 / 30) ** 2 + (2 / 30) ** 2) / 3));
  // Deviations (-0.1, 0, 0.1) and (-0.4/3, -0.1/3, 0.5/3): R = 0.03 / sqrt(0.02 * 0.14/3).
  near(s.r, 0.03 / Math.sqrt(0.02 * (0.14 / 3)));
  near(s.anomalyR, s.r);
  const empty = pairScores(pairs([], []));
  assert.equal(empty.n, 0);
  assert.ok(Number.isNaN(empty.rmse) && Number.isNaN(empty.anomalyR));
});

test("a station's gap days: only the chosen days are scored; anomalies come from the whole series", () => {
  // 40 days, the estimate a constant 0.3 except a wet day; in situ 0.2 except the same wet day.
  const T = 40;
  const est = new Float64Array(T).fill(0.3);
  const ref = new Float64Array(T).fill(0.2);
  est[20] = 0.4;
  ref[20] = 0.35;
  ref[5] = NaN; // a station day missing is skipped
  const gapDays = new Set([5, 10, 20, 30]);
  const p = stationPairs(est, est, ref, (t) => gapDays.has(t));
  assert.deepEqual(p.pred, [0.3, 0.4, 0.3]);
  assert.deepEqual(p.ref, [0.2, 0.35, 0.2]);
  // Day 20's anomaly: 0.1 above a 35-day window (days 3-37, all present) whose mean is 0.3 + 0.1 / 35.
  near(p.predAnomaly[1]!, 0.1 - 0.1 / 35);
  const s = pairScores(p);
  near(s.bias, (0.1 + 0.05 + 0.1) / 3);
  assert.ok(s.anomalyR > 0.99, `anomaly R ${s.anomalyR}`);
});

test("pooled vs mean over stations: long records weigh in the pooled score, a station under the minimum days is left out of the mean", () => {
  const ref12 = Array.from({ length: 12 }, (_, i) => 0.1 + 0.01 * i);
  const a = pairs(
    ref12.map((v) => v + 0.1),
    ref12,
  );
  const b = pairs([0.1, 0.2, 0.3], [0.3, 0.4, 0.5]);
  assert.ok(12 >= MIN_STATION_DAYS && 3 < MIN_STATION_DAYS);
  const agg = aggregateStations([a, b].map((p) => ({ pairs: p, scores: pairScores(p) })));
  near(agg.pooled.rmse, Math.sqrt((12 * 0.01 + 3 * 0.04) / 15));
  near(agg.pooled.bias, (12 * 0.1 - 3 * 0.2) / 15);
  assert.equal(agg.pooled.n, 15);
  assert.equal(agg.stations, 1);
  near(agg.stationMean.rmse, 0.1);
  near(agg.stationMeanRmse, 0.1);
  near(agg.stationMean.bias, 0.1);
  assert.equal(agg.stationMean.n, 12);
});
