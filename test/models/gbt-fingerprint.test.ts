/**
 * Fingerprints of fixed boosted-trees fits, pinned: any change to the training code that alters
 * a single tree, leaf value or validation score (at 1 or 2 threads, with either kernel) changes
 * a hash. A refactor of fitGbt must keep these hashes; a change meant to alter the trees
 * updates them and says why in its commit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fitGbt, predictGbt, type GbtModel, type GbtParams } from "../../src/models/trees/gbt.js";
import { friedman1 } from "../helpers.js";

// 10 000 rows: at 2 threads the root's partition is cut into pieces (> 4096 rows a piece) and joined.
const train = friedman1(10000, 11, 0.15, 3);
const validation = friedman1(1500, 12, 0.15, 3);
// A second column with missing values (every 7th row's column 7), so two features learn a default direction.
for (const d of [train, validation]) for (let i = 0; i < d.n; i += 7) d.X[i * d.f + 7] = NaN;

/** sha256 of every tree's arrays, the validation history, the best iteration and the validation predictions. */
function fingerprint(m: GbtModel): string {
  const hash = createHash("sha256");
  for (const t of m.trees)
    for (const a of [t.feature, t.threshold, t.splitBin, t.defaultLeft, t.left, t.right, t.value])
      hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  hash.update(new Uint8Array(Float64Array.from(m.history).buffer));
  hash.update(`${m.bestIteration} ${m.trees.length}`);
  hash.update(new Uint8Array(predictGbt(m, validation.X, validation.n).buffer));
  return hash.digest("hex");
}

const FITS: { name: string; params: Partial<GbtParams>; trees: number; bestIteration: number; hash: string }[] = [
  {
    // 50 rounds at eta 0.3, early stopping after 6 rounds without a better score: stops at 41.
    name: "sampled rows and columns, early stopping",
    params: { rounds: 50, eta: 0.3, maxDepth: 7, earlyStopping: 6, subsample: 0.7, colsampleByTree: 0.6, minChildWeight: 3, gamma: 0.01, seed: 5 },
    trees: 41,
    bestIteration: 34,
    hash: "29698d6a47e05f09ea3380a671d9d3632ef1ad90ce4cd5e868a152b9f59514dd",
  },
  {
    name: "every row and column, no early stop",
    params: { rounds: 20, eta: 0.1, maxDepth: 4, subsample: 1, colsampleByTree: 1, baseScore: 0, seed: 1 },
    trees: 20,
    bestIteration: 19,
    hash: "01be755d0dc34bd4b951f8464a80afe4632a4e0afa9f399051b5185600b54fc1",
  },
];

for (const { name, params, trees, bestIteration, hash } of FITS)
  test(`a fixed fit (${name}) hashes as recorded, at 1 and 2 threads and with both kernels`, () => {
    const saved = process.env.SMAPFILL_KERNELS;
    try {
      for (const kernels of ["wasm", "typescript"]) {
        process.env.SMAPFILL_KERNELS = kernels;
        for (const threads of [1, 2]) {
          const m = fitGbt(train.X, train.y, train.n, train.f, validation.X, validation.y, validation.n, params, undefined, threads);
          const label = `${kernels} kernels, ${threads} thread(s)`;
          assert.equal(m.trees.length, trees, label);
          assert.equal(m.bestIteration, bestIteration, label);
          assert.equal(fingerprint(m), hash, label);
        }
      }
    } finally {
      if (saved === undefined) delete process.env.SMAPFILL_KERNELS;
      else process.env.SMAPFILL_KERNELS = saved;
    }
  });
