import { test } from "node:test";
import assert from "node:assert/strict";
import { fitForest, predictForest } from "../../src/models/trees/forest.js";
import { pointMetrics } from "../../src/eval/metrics.js";
import { friedman1 } from "../helpers.js";

test("random forest: learns Friedman #1 far better than the mean; the same forest on 1 and 2 worker threads", () => {
  const train = friedman1(3000, 1);
  const test_ = friedman1(1000, 2);
  const one = fitForest(train.X, train.y, train.n, train.f, { trees: 12, seed: 4 }, undefined, 1);
  const two = fitForest(train.X, train.y, train.n, train.f, { trees: 12, seed: 4 }, undefined, 2);
  assert.equal(two.trees.length, 12);
  assert.deepEqual(two.trees, one.trees);
  const pred = predictForest(one, test_.X, test_.n);
  const mean = train.y.reduce((a, b) => a + b, 0) / train.n;
  const rmse = pointMetrics(pred, test_.y).rmse;
  const baseline = pointMetrics(new Float32Array(test_.n).fill(mean), test_.y).rmse;
  assert.ok(rmse < 0.6 * baseline, `${rmse} vs ${baseline}`);
  // Another seed grows another forest.
  const other = fitForest(train.X, train.y, train.n, train.f, { trees: 2, seed: 5 }, undefined, 1);
  assert.notDeepEqual(other.trees[0], one.trees[0]);
});
