/**
 * DCT-PLS against an independent numpy/scipy implementation (scipy.fft.dctn) on small cubes,
 * plain and robust, with a weighted time axis; and what it is for: filling a smooth field's gaps
 * far better than the mean.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { dctPls, dctPlsPieces, dctPlsTiled, spans, widerDays, type DctPlsOptions, type DctPlsPiece } from "../../src/models/dctpls.js";
import { solveDctPlsPieces } from "../../src/models/dctpls-pool.js";
import { DctPlsPieceStore } from "../../src/models/dctpls-store.js";
import { writeNpy } from "../../src/io/npy.js";
import { Rng } from "../../src/util/random.js";
import { debianPython, runPythonJson, tempDir } from "../helpers.js";

const dims: [number, number, number] = [20, 6, 7];
const N = dims[0] * dims[1] * dims[2];

function field(seed: number, missing: number, outliers = 0) {
  const rng = new Rng(seed);
  const truth = Float32Array.from({ length: N }, (_, k) => {
    const [t, r, c] = [Math.floor(k / 42), Math.floor((k % 42) / 7), k % 7];
    return 0.25 + 0.08 * Math.sin(t / 4) + 0.03 * Math.cos(r / 2 + c / 3);
  });
  const y = Float32Array.from(truth, (v) => (rng.uniform() < missing ? NaN : v + 0.005 * (rng.uniform() - 0.5)));
  for (let i = 0; i < outliers; i++) y[Math.floor(rng.uniform() * N)] = 0.9;
  return { truth, y };
}

const python = debianPython("numpy", "scipy");
if (!python && process.env.CI) throw new Error("Debian's python3-numpy and python3-scipy are missing (the DCT-PLS oracle)");

for (const [name, seed, missing, outliers, timeWeight, robust] of [
  ["plain, 40 % missing", 1, 0.4, 0, 1, false],
  ["robust with outliers, 30 % missing, time weighted", 2, 0.3, 4, 0.25, true],
] as const) {
  test(`DCT-PLS equals its numpy/scipy oracle within 1e-5: ${name}`, { skip: python ? false : "no python3-scipy" }, () => {
    const { y } = field(seed, missing, outliers);
    const file = path.join(tempDir(), "y.npy");
    writeNpy(file, y, [...dims]);
    const want = runPythonJson(python!, "dctpls_oracle.py", [file, String(timeWeight), robust ? "1" : "0"]) as {
      values: number[];
      s: number;
      iterations: number;
    };
    const got = dctPls(y, dims, { timeWeight, robust });
    assert.equal(got.iterations, want.iterations, "the same number of iterations");
    assert.ok(Math.abs(Math.log10(got.s) - Math.log10(want.s)) < 1e-9, `s ${got.s} vs ${want.s}`);
    let worst = 0;
    for (let k = 0; k < N; k++) worst = Math.max(worst, Math.abs(got.values[k]! - want.values[k]!));
    assert.ok(worst < 1e-5, `largest difference ${worst}`);
  });
}

test("DCT-PLS fills a smooth field's gaps far better than the mean, and resists outliers when robust", () => {
  const { truth, y } = field(3, 0.5, 3);
  const rmse = (v: ArrayLike<number>) => {
    let s = 0;
    let n = 0;
    for (let k = 0; k < N; k++) if (Number.isNaN(y[k]!)) ((s += (v[k]! - truth[k]!) ** 2), n++);
    return Math.sqrt(s / n);
  };
  const observed = Array.from(y).filter((v) => !Number.isNaN(v));
  const mean = observed.reduce((a, b) => a + b, 0) / observed.length;
  const robust = rmse(dctPls(y, dims, { robust: true }).values);
  const plain = rmse(dctPls(y, dims, { robust: false }).values);
  assert.ok(robust < 0.3 * rmse(new Float32Array(N).fill(mean)), `robust ${robust} vs the mean's ${rmse(new Float32Array(N).fill(mean))}`);
  assert.ok(robust < plain, `robust ${robust} beats plain ${plain} with outliers`);
});

test("DCT-PLS pieces: every value of a window in exactly one kept core, each piece's axes a power of two once cut", () => {
  for (const dims of [
    [20, 6, 7],
    [100, 130, 200],
    [365, 407, 664],
  ] as [number, number, number][]) {
    const covered = new Uint8Array(dims[0] * dims[1] * dims[2]);
    for (const p of dctPlsPieces(dims)) {
      for (const [axis, s] of [p.t, p.r, p.c].entries()) {
        assert.ok(s.start <= s.coreStart && s.coreEnd <= s.end && s.end <= dims[axis]!, JSON.stringify(s));
        const n = s.end - s.start;
        if (n !== dims[axis]) assert.ok([64, 128].includes(n), `a cut piece ${n} long`);
      }
      for (let t = p.t.coreStart; t < p.t.coreEnd; t++)
        for (let r = p.r.coreStart; r < p.r.coreEnd; r++) for (let c = p.c.coreStart; c < p.c.coreEnd; c++) covered[(t * dims[1] + r) * dims[2] + c]!++;
    }
    assert.ok(
      covered.every((v) => v === 1),
      `${dims.join(" x ")}: ${covered.filter((v) => v !== 1).length} values not covered once`,
    );
  }
  assert.equal(spans(96, { size: 64, core: 32 }).length, 1, "up to 1.5 pieces long: one piece");
  // The short last core shares the previous piece: one solve, not two of the same piece.
  assert.deepEqual(spans(200, { size: 128, core: 96 }), [
    { start: 0, end: 128, coreStart: 0, coreEnd: 96 },
    { start: 72, end: 200, coreStart: 96, coreEnd: 200 },
  ]);
  const starts = spans(365, { size: 64, core: 32 }).map((s) => s.start);
  assert.equal(new Set(starts).size, starts.length, `distinct pieces: ${starts.join(", ")}`);
});

test("DCT-PLS in pieces: the same values on worker threads as in one thread, and it fills a smooth field about as well as the whole window", async () => {
  const dims: [number, number, number] = [100, 4, 200];
  const n = dims[0] * dims[1] * dims[2];
  const rng = new Rng(7);
  const truth = Float32Array.from({ length: n }, (_, k) => {
    const [t, r, c] = [Math.floor(k / 800), Math.floor((k % 800) / 200), k % 200];
    return 0.25 + 0.08 * Math.sin(t / 9) + 0.04 * Math.cos(r / 6 + c / 25);
  });
  const y = Float32Array.from(truth, (v) => (rng.uniform() < 0.5 ? NaN : v + 0.01 * (rng.uniform() - 0.5)));
  const one = await solveDctPlsPieces(y, dims, { robust: false }, { threads: 1 });
  const two = await solveDctPlsPieces(y, dims, { robust: false }, { threads: 2 });
  assert.deepEqual(two.values, one.values);
  assert.equal(one.pieces, 3 * 1 * 2, "3 windows of days x 2 blocks of columns");
  const rmse = (v: Float32Array) => {
    let [s, m] = [0, 0];
    for (let k = 0; k < n; k++) if (Number.isNaN(y[k]!)) ((s += (v[k]! - truth[k]!) ** 2), m++);
    return Math.sqrt(s / m);
  };
  const whole = rmse(dctPls(y, dims, { robust: false }).values);
  assert.ok(rmse(one.values) < 1.5 * whole + 1e-3, `pieces ${rmse(one.values)} vs the whole window ${whole}`);
});

test("DCT-PLS in pieces: a piece without a training value in its days is solved over more days (here the whole period), so every pixel with training values gets estimates", async () => {
  const dims: [number, number, number] = [100, 2, 3];
  const rng = new Rng(11);
  // No value at all in the first 64 days: the first window's piece is empty.
  const y = Float32Array.from({ length: 600 }, (_, k) => (k < 64 * 6 || rng.uniform() < 0.3 ? NaN : 0.2 + 0.001 * (k % 7)));
  const r = await solveDctPlsPieces(y, dims, { robust: false }, { threads: 1 });
  assert.equal(r.widenedPieces, 1);
  assert.equal(r.emptyPieces, 0);
  assert.ok(
    r.values.every((v) => Number.isFinite(v)),
    "every value estimated",
  );
});

test("DCT-PLS in pieces: a widened piece stops doubling at the first window with a training value, a power of two inside the period", async () => {
  const dims: [number, number, number] = [300, 2, 3];
  // Values only on days 100-299: the first piece (days 0-63) widens to days 0-127, not to all 300.
  const y = Float32Array.from({ length: 300 * 6 }, (_, k) => (k < 100 * 6 ? NaN : 0.2 + 0.001 * (k % 5)));
  const solvedDays: number[] = [];
  const r = await dctPlsTiled(
    y,
    dims,
    { robust: false },
    {
      solve: async (piece, o) => {
        solvedDays.push(piece.dims[0]);
        return dctPls(piece.y, piece.dims, o);
      },
    },
  );
  assert.equal(r.widenedPieces, 2, "the first two windows of days have no value");
  assert.deepEqual(
    solvedDays.filter((d) => d !== 64),
    [128, 128],
  );
  assert.ok(r.values.every((v) => Number.isFinite(v)));
  assert.deepEqual(widerDays({ start: 236, end: 300, coreStart: 256, coreEnd: 300 }, 300), { start: 172, end: 300, coreStart: 256, coreEnd: 300 });
  assert.deepEqual(widerDays({ start: 0, end: 256, coreStart: 0, coreEnd: 32 }, 300), { start: 0, end: 300, coreStart: 0, coreEnd: 32 });
});

test("DCT-PLS in pieces: an interrupted fill resumes from its stored pieces with the same bytes; pieces solved from other values are not reused", async () => {
  const dims: [number, number, number] = [100, 4, 200];
  const rng = new Rng(5);
  const y = Float32Array.from({ length: 100 * 800 }, (_, k) => (rng.uniform() < 0.6 ? NaN : 0.2 + 0.05 * Math.sin(k / 300) + 0.01 * rng.uniform()));
  const options: DctPlsOptions = { robust: true };
  const whole = await dctPlsTiled(y, dims, options);
  const dir = tempDir("dctpls-store");
  let solves = 0;
  const counted = async (piece: DctPlsPiece, o: DctPlsOptions) => {
    if (++solves > 3) throw new Error("interrupted");
    return dctPls(piece.y, piece.dims, o);
  };
  await assert.rejects(dctPlsTiled(y, dims, options, { solve: counted, store: DctPlsPieceStore.open(dir, { training: y, dims, options }) }), /interrupted/);
  const stored = () => fs.readdirSync(dir).filter((f) => /^piece-\d+\.json$/.test(f)).length;
  assert.equal(stored(), 3);
  solves = -100;
  const resumed = await dctPlsTiled(y, dims, options, { solve: counted, store: DctPlsPieceStore.open(dir, { training: y, dims, options }) });
  assert.equal(solves, -100 + whole.pieces - 3, "only the pieces not stored are solved");
  assert.deepEqual(Buffer.from(resumed.values.buffer), Buffer.from(whole.values.buffer));
  assert.deepEqual({ ...resumed, values: null, storedPieces: 0 }, { ...whole, values: null });
  assert.equal(resumed.storedPieces, 3);
  // Other training values: the stored pieces are removed, not mixed in.
  const other = Float32Array.from(y);
  other[other.findIndex((v) => !Number.isNaN(v))] = 0.4;
  DctPlsPieceStore.open(dir, { training: other, dims, options });
  assert.equal(stored(), 0);
});
