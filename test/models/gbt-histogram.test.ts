import { test } from "node:test";
import assert from "node:assert/strict";
import { HB, KernelArena, MISSING_BIN, tsHistogramKernels } from "../../src/models/trees/gbt-histogram.js";
import { fitGbt } from "../../src/models/trees/gbt.js";
import { Rng } from "../../src/util/random.js";
import { friedman1 } from "../helpers.js";

// Random level data in a WebAssembly arena: rows with some missing bins, a sorted row subset, odd sizes.
function levelData(n: number, f: number, slots: number, seed: number) {
  const rng = new Rng(seed);
  const arena = new KernelArena(true, false);
  const rowBins = arena.u8(n * f);
  const binsOf = arena.i32(slots);
  const cols = arena.i32(slots);
  for (let s = 0; s < slots; s++) {
    cols[s] = Math.floor((s * f) / slots);
    binsOf[s] = 1 + Math.floor(rng.uniform() * 254); // 1..254 bins (edges + 1)
  }
  for (let i = 0; i < n; i++)
    for (let s = 0; s < slots; s++) rowBins[i * f + cols[s]!] = rng.uniform() < 0.1 ? MISSING_BIN : Math.floor(rng.uniform() * binsOf[s]!);
  const g = arena.f64(n);
  for (let i = 0; i < n; i++) g[i] = rng.normal(); // (not .map: that makes a new array outside the arena)
  const idx = arena.i32(n);
  let m = 0;
  for (let i = 0; i < n; i++) if (rng.uniform() < 0.7) idx[m++] = i;
  return { arena, rowBins, binsOf, cols, g, idx, m };
}

test("WebAssembly histogram kernels equal the TypeScript oracle bit for bit (odd sizes, missing bins, column ranges)", () => {
  for (const [n, f, slots] of [
    [1, 1, 1],
    [17, 3, 3],
    [511, 7, 5],
    [3001, 40, 32],
  ] as const) {
    const d = levelData(n, f, slots, n);
    const wasm = d.arena.kernels;
    assert.equal(wasm.name, "wasm");
    const size = slots * HB * 2;
    const [hw, hs, sw, ss] = [d.arena.f64(size).fill(7), new Float64Array(size).fill(7), d.arena.f64(size), new Float64Array(size)];
    const [ow, os] = [d.arena.f64(12), new Float64Array(12)];
    // Parent over all slots, child over two column ranges, parent minus child, and the best splits.
    const half = d.m >> 1;
    wasm.buildHistogram(d.idx, 0, d.m, d.g, d.rowBins, f, d.cols, d.binsOf, 0, slots, hw);
    tsHistogramKernels.buildHistogram(d.idx, 0, d.m, d.g, d.rowBins, f, d.cols, d.binsOf, 0, slots, hs);
    for (const [s0, s1] of [
      [0, slots >> 1],
      [slots >> 1, slots],
    ]) {
      wasm.buildHistogram(d.idx, 0, half, d.g, d.rowBins, f, d.cols, d.binsOf, s0!, s1!, sw);
      tsHistogramKernels.buildHistogram(d.idx, 0, half, d.g, d.rowBins, f, d.cols, d.binsOf, s0!, s1!, ss);
    }
    assert.deepEqual(Array.from(hw), Array.from(hs), `build n=${n}`);
    assert.deepEqual(Array.from(sw), Array.from(ss), `build by ranges n=${n}`);
    let G = 0;
    for (let q = 0; q < d.m; q++) G += d.g[d.idx[q]!]!;
    for (const minChildWeight of [0, 1, 5]) {
      wasm.bestSplit(hw, d.binsOf, d.cols, 0, slots, G, d.m, 1, minChildWeight, ow, 0);
      tsHistogramKernels.bestSplit(hs, d.binsOf, d.cols, 0, slots, G, d.m, 1, minChildWeight, os, 0);
      assert.deepEqual(Array.from(ow), Array.from(os), `split n=${n} mcw=${minChildWeight}`);
    }
    wasm.subtractHistogram(hw, sw, d.binsOf, 0, slots);
    tsHistogramKernels.subtractHistogram(hs, ss, d.binsOf, 0, slots);
    assert.deepEqual(Array.from(hw), Array.from(hs), `subtract n=${n}`);
    wasm.bestSplit(hw, d.binsOf, d.cols, 0, slots, 0.5, d.m - half, 2, 1, ow, 6);
    tsHistogramKernels.bestSplit(hs, d.binsOf, d.cols, 0, slots, 0.5, d.m - half, 2, 1, os, 6);
    assert.deepEqual(Array.from(ow), Array.from(os), `split after subtraction n=${n}`);
    if (d.m >= 2 && n > 100) assert.ok(os[1]! >= 0, "a split is found");
  }
});

test("the arena grows its memory on demand and earlier views stay valid", () => {
  const arena = new KernelArena(true, true);
  const a = arena.f64(10).fill(3);
  const big = arena.u8(5 << 20); // grows the memory by 80 pages
  big[big.length - 1] = 9;
  assert.deepEqual(Array.from(a), new Array(10).fill(3));
  assert.ok(arena.memory!.buffer.byteLength >= 5 << 20);
});

test("the same trees with the WebAssembly and the TypeScript kernels, on 1 and 2 threads", () => {
  const tr = friedman1(2500, 8, 0.1);
  const va = friedman1(400, 9, 0.1);
  const fit = (threads: number) => fitGbt(tr.X, tr.y, tr.n, tr.f, va.X, va.y, va.n, { rounds: 25, maxDepth: 6, seed: 4 }, undefined, threads);
  const wasm = fit(2);
  const saved = process.env.SMAPFILL_KERNELS;
  process.env.SMAPFILL_KERNELS = "typescript";
  try {
    for (const threads of [1, 2]) {
      const ts = fit(threads);
      assert.deepEqual(ts.trees, wasm.trees, `${threads} thread(s)`);
      assert.deepEqual(ts.history, wasm.history);
    }
  } finally {
    if (saved === undefined) delete process.env.SMAPFILL_KERNELS;
    else process.env.SMAPFILL_KERNELS = saved;
  }
});

test("the WebAssembly kernels refuse an array from outside their arena", () => {
  const d = levelData(50, 4, 4, 1);
  assert.throws(
    () => d.arena.kernels.buildHistogram(d.idx, 0, d.m, new Float64Array(50), d.rowBins, 4, d.cols, d.binsOf, 0, 4, d.arena.f64(4 * HB * 2)),
    /not in the kernel arena/,
  );
});
