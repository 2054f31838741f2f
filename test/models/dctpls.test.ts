/**
 * DCT-PLS against an independent numpy/scipy implementation (scipy.fft.dctn) on small cubes,
 * plain and robust, with a weighted time axis; and what it is for: filling a smooth field's gaps
 * far better than the mean.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { dctPls } from "../../src/models/dctpls.js";
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
