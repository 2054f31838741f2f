import { test } from "node:test";
import assert from "node:assert/strict";
import { fitGbt, predictGbt } from "../../src/models/trees/gbt.js";
import { fitForest, predictForest } from "../../src/models/trees/forest.js";
import { packTrees, setWasmCallFloats, TreePredictor, useWasmWalk } from "../../src/models/trees/packed-trees.js";
import { friedman1 } from "../helpers.js";

test("the WebAssembly walk is built and used by default", () => {
  assert.ok(useWasmWalk(), "dist/wasm/tree-kernels.wasm loads (npm run build)");
});

for (const kernels of ["wasm", "typescript"] as const) {
  test(`packed boosted trees predict bit for bit as the tree walk, missing values included, on 1 and 3 threads (${kernels} walk)`, () => {
    const tr = friedman1(3000, 11, 0.2, 3);
    const va = friedman1(500, 12, 0.2, 3);
    const te = friedman1(9001, 13, 0.2, 3);
    const m = fitGbt(tr.X, tr.y, tr.n, 10, va.X, va.y, va.n, { rounds: 80, earlyStopping: 10, maxDepth: 6 });
    const expected = predictGbt(m, te.X, te.n);
    const p = new TreePredictor(packTrees(m.trees, m.bestIteration + 1), 10, false, m.params.baseScore, kernels);
    try {
      assert.equal(p.kernels, kernels);
      for (const threads of [1, 3]) assert.deepEqual(p.sums(te.X, te.n, threads), expected, `${threads} threads`);
      assert.deepEqual(p.sums(te.X.subarray(0, 70), 7, 3), expected.subarray(0, 7), "a few rows");
      // A larger call after a smaller one (the memory grows) and a smaller one after it (reused).
      const twice = new Float32Array(te.X.length * 2);
      twice.set(te.X);
      twice.set(te.X, te.X.length);
      const both = p.sums(twice, 2 * te.n, 3);
      assert.deepEqual(both.subarray(te.n), expected, "second copy of the rows");
      assert.deepEqual(p.sums(te.X, 100, 1), expected.subarray(0, 100), "after a larger call");
      // A call larger than one part of the WebAssembly memory goes in parts (here 3 of 4096 rows at most).
      setWasmCallFloats(4096 * 10);
      assert.deepEqual(p.sums(te.X, te.n, 3), expected, "in parts");
    } finally {
      setWasmCallFloats(1 << 24);
      p.close();
    }
  });

  test(`packed forest sums equal the forest's walk (its mean divides them) (${kernels} walk)`, () => {
    const tr = friedman1(2000, 21, 0.1, 2);
    const te = friedman1(6000, 22, 0.1, 2);
    const m = fitForest(tr.X, tr.y, tr.n, 10, { trees: 25 });
    const expected = predictForest(m, te.X, te.n);
    const p = new TreePredictor(packTrees(m.trees), 10, true, 0, kernels);
    try {
      for (const threads of [1, 2]) {
        const sums = p.sums(te.X, te.n, threads);
        assert.ok(sums instanceof Float64Array);
        assert.deepEqual(
          Float32Array.from(sums, (v) => v / m.trees.length),
          expected,
          `${threads} threads`,
        );
      }
    } finally {
      p.close();
    }
  });
}

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
