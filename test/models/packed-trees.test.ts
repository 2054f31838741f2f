import { test } from "node:test";
import assert from "node:assert/strict";
import { fitGbt, predictGbt } from "../../src/models/trees/gbt.js";
import { fitForest, predictForest } from "../../src/models/trees/forest.js";
import { packTrees, TreePredictor } from "../../src/models/trees/packed-trees.js";
import { friedman1 } from "../helpers.js";

test("packed boosted trees predict bit for bit as the tree walk, missing values included, on 1 and 3 threads", () => {
  const tr = friedman1(3000, 11, 0.2, 3);
  const va = friedman1(500, 12, 0.2, 3);
  const te = friedman1(9001, 13, 0.2, 3);
  const m = fitGbt(tr.X, tr.y, tr.n, 10, va.X, va.y, va.n, { rounds: 80, earlyStopping: 10, maxDepth: 6 });
  const expected = predictGbt(m, te.X, te.n);
  const p = new TreePredictor(packTrees(m.trees, m.bestIteration + 1), 10, false, m.params.baseScore);
  try {
    for (const threads of [1, 3]) assert.deepEqual(p.sums(te.X, te.n, threads), expected, `${threads} threads`);
    assert.deepEqual(p.sums(te.X.subarray(0, 70), 7, 3), expected.subarray(0, 7), "a few rows");
  } finally {
    p.close();
  }
});

test("packed forest sums equal the forest's walk (its mean divides them)", () => {
  const tr = friedman1(2000, 21, 0.1, 2);
  const te = friedman1(6000, 22, 0.1, 2);
  const m = fitForest(tr.X, tr.y, tr.n, 10, { trees: 25 });
  const expected = predictForest(m, te.X, te.n);
  const p = new TreePredictor(packTrees(m.trees), 10, true, 0);
  try {
    const sums = p.sums(te.X, te.n, 2);
    assert.ok(sums instanceof Float64Array);
    assert.deepEqual(
      Float32Array.from(sums, (v) => v / m.trees.length),
      expected,
    );
  } finally {
    p.close();
  }
});

test("a threshold that is not a float32 value is refused (the packed form stores float32)", () => {
  const t = {
    feature: Int32Array.of(0, -1, -1),
    threshold: Float64Array.of(0.1, 0, 0),
    splitBin: Int32Array.of(0, 0, 0),
    defaultLeft: Uint8Array.of(1, 0, 0),
    left: Int32Array.of(1, -1, -1),
    right: Int32Array.of(2, -1, -1),
    value: Float32Array.of(0, 1, 2),
  };
  assert.throws(() => packTrees([t]), /not a float32 value/);
});
