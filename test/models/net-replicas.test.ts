import { test } from "node:test";
import assert from "node:assert/strict";
import { buildNet, type NetName, type NetOptions } from "../../src/models/nets.js";
import { NetReplicas, shardSizes } from "../../src/models/net-replicas.js";
import { predictNet, trainNet } from "../../src/models/train-net.js";
import * as ops from "../../src/nn/ops.js";
import { SGD } from "../../src/nn/optim.js";
import { Tensor } from "../../src/nn/tensor.js";
import { deriveSeed, Rng } from "../../src/util/random.js";

test("property: shard sizes cover the batch, differ by at most one row and never leave batch norm a single row", () => {
  for (let m = 1; m <= 70; m++) {
    for (let t = 1; t <= 5; t++) {
      const s = shardSizes(m, t);
      assert.equal(
        s.reduce((a, b) => a + b, 0),
        m,
      );
      assert.ok(s.length <= t);
      assert.ok(Math.max(...s) - Math.min(...s) <= 1);
      if (m >= 2) assert.ok(Math.min(...s) >= 2, `m ${m} t ${t}: ${s}`);
    }
  }
});

function data(n: number, f: number, seed: number): { X: Float32Array; y: Float32Array } {
  const rng = new Rng(seed);
  const X = Float32Array.from({ length: n * f }, () => rng.normal());
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.sin(X[i * f]!) + 0.5 * X[i * f + 1]! * X[i * f + 2]! + 0.1 * rng.normal();
  return { X, y };
}

const SHAPES: [NetName, number, Omit<NetOptions, "seed">][] = [
  ["autoresnet", 7, {}],
  ["tssmnet", 7, {}],
  ["transformer", 7, {}],
  ["lstm", 8, { sequence: { steps: 4, hidden: 5 } }],
];

for (const [name, f, options] of SHAPES) {
  test(`a 2-thread step's gradient is the size-weighted sum of the shards' gradients (${name}, dropout and per-shard batch norm included)`, () => {
    const m = 37; // shards of 18 and 19 rows
    const { X, y } = data(m, f, 1);
    const master = buildNet(name, f, { ...options, seed: 5 });
    const replicas = new NetReplicas(master, name, 5, 2, 64, options);
    try {
      master.train();
      const loss = replicas.trainStep(new SGD(master.parameters(), 0), X, y, m); // lr 0: gradients stay, weights do not move
      // The same step by hand: shard 0 on a copy of the master, shard 1 on a net with the replica's seed.
      const [m0, m1] = shardSizes(m, 2) as [number, number];
      const shard = (seed: number, from: number, rows: number) => {
        const net = buildNet(name, f, { ...options, seed });
        net.loadState(master.stateDict());
        net.train();
        const l = ops.mseLoss(net.forward(Tensor.from(X.subarray(from * f, (from + rows) * f), [rows, f])), y.subarray(from, from + rows));
        l.backward();
        return { loss: l.item(), grads: net.parameters().map((p) => p.grad!) };
      };
      const a = shard(5, 0, m0);
      const b = shard(deriveSeed(5, "replica 1"), m0, m1);
      assert.ok(Math.abs(loss - (a.loss * m0 + b.loss * m1) / m) < 1e-6, `loss ${loss}`);
      master.parameters().forEach((p, k) => {
        for (let i = 0; i < p.size; i++) {
          const expected = Math.fround(a.grads[k]![i]! * (m0 / m) + b.grads[k]![i]! * (m1 / m));
          assert.ok(Math.abs(p.grad![i]! - expected) <= 1e-6 * (1 + Math.abs(expected)), `${name} param ${k}[${i}]: ${p.grad![i]} vs ${expected}`);
        }
      });
    } finally {
      replicas.close();
    }
  });
}

test("inference on 3 threads equals single-threaded inference exactly, whole or begun and finished later", () => {
  const f = 9;
  const n = 2000;
  const { X } = data(n, f, 2);
  const net = buildNet("tssmnet", f, { seed: 3 });
  // Running statistics away from their defaults, so that the replicas must receive them.
  for (const [, b] of net.namedBuffers()) if (b instanceof Float32Array) b.forEach((_, i) => (b[i] = 0.5 + 0.01 * i));
  const replicas = new NetReplicas(net, "tssmnet", 3, 3, 64);
  try {
    for (const rows of [n, 601, 5]) {
      const parallel = replicas.predict(X, rows);
      const single = predictNet(net, X, rows, f, 0, 1);
      assert.deepEqual(parallel, single, `${rows} rows`);
      // Started on the workers, finished later (blocks claimed by whichever thread is free).
      const finish = replicas.begin(X, rows);
      assert.deepEqual(finish(), single, `${rows} rows, begun and finished`);
    }
  } finally {
    replicas.close();
  }
});

test("2-thread training learns as well as 1-thread training and is deterministic for its thread count", () => {
  const f = 6;
  const tr = data(3000, f, 4);
  const va = data(600, f, 5);
  const fit = (threads: number) => trainNet("autoresnet", tr.X, tr.y, va.X, va.y, f, { maxEpochs: 8, seed: 1, threads });
  const one = fit(1);
  const two = fit(2);
  const twoAgain = fit(2);
  assert.deepEqual(
    two.history.map((h) => h.valRmse),
    twoAgain.history.map((h) => h.valRmse),
  );
  let sd = 0;
  const mean = va.y.reduce((a, b) => a + b, 0) / va.y.length;
  for (const v of va.y) sd += (v - mean) ** 2;
  sd = Math.sqrt(sd / va.y.length);
  assert.ok(two.bestValRmse < 0.6 * sd, `2 threads: ${two.bestValRmse} vs sd ${sd}`);
  assert.ok(Math.abs(two.bestValRmse - one.bestValRmse) < 0.15 * one.bestValRmse, `1 thread ${one.bestValRmse}, 2 threads ${two.bestValRmse}`);
});
