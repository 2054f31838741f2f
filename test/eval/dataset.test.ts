import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { blockFolds, holdOutPixels, mixedGaps, randomPixelDays, roleCounts, simulatedGaps, spatialBlocks, temporal } from "../../src/eval/splits.js";
import { buildSamples as buildDataset, FeatureBuilder, readSampleArrays as loadCubeArrays } from "../../src/features/samples.js";
import { writeDataset } from "../../src/features/dataset.js";
import { Preprocessor } from "../../src/models/preprocess.js";
import { Cube } from "../../src/cube/cube.js";
import { ingestStudy } from "../../src/cube/ingest-study.js";
import { loadStudy } from "../../src/config/study.js";
import { writeWorld } from "../../src/synth/write-world.js";
import { writeWorldStudy } from "../../src/synth/world-study.js";
import { WORLD_PRESETS } from "../../src/synth/world.js";
import { Rng } from "../../src/util/random.js";
import { SHARED, tempDir, debianPython } from "../helpers.js";

const shares = { validation: 0.15, test: 0.15 };

function fakeObserved(T: number, P: number, seed = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: T * P }, () => (rng.uniform() < 0.4 ? 0.1 + 0.3 * rng.uniform() : NaN));
}

test("splits: shares, whole blocks, whole days, held-out pixels; unobserved stays unobserved", () => {
  const [nrows, ncols, T] = [20, 30, 120];
  const P = nrows * ncols;
  const obs = fakeObserved(T, P);
  const random = roleCounts(randomPixelDays(obs, shares, 1));
  const n = random.train + random.validation + random.test;
  assert.ok(Math.abs(random.test / n - 0.15) < 0.02 && Math.abs(random.validation / n - 0.15) < 0.02);
  const blocks = spatialBlocks(obs, nrows, ncols, shares, 2);
  for (let t = 0; t < T; t++) {
    for (let p = 0; p < P; p++) {
      const k = t * P + p;
      if (Number.isNaN(obs[k]!)) assert.equal(blocks[k], -1);
    }
  }
  // Every observed pixel of one 8 x 8 block has one role, on every day.
  const roleOfBlock = new Map<string, number>();
  blocks.forEach((r, k) => {
    if (r < 0) return;
    const p = k % P;
    const key = `${Math.floor(Math.floor(p / ncols) / 8)},${Math.floor((p % ncols) / 8)}`;
    if (roleOfBlock.has(key)) assert.equal(roleOfBlock.get(key), r);
    roleOfBlock.set(key, r);
  });
  const days = temporal(obs, P, shares, 3);
  for (let t = 0; t < T; t++) assert.equal(new Set(Array.from(days.subarray(t * P, (t + 1) * P)).filter((r) => r >= 0)).size <= 1, true);
  const folds = blockFolds(nrows, ncols, 5, 4);
  assert.deepEqual([...new Set(folds)].sort(), [0, 1, 2, 3, 4]);
  const held = holdOutPixels(days, P, [7, 8]);
  for (let t = 0; t < T; t++) for (const p of [7, 8]) if (held[t * P + p]! >= 0) assert.equal(held[t * P + p], 2);
});

test("simulated gaps: the share asked for, in runs of days, blocks and swath stripes", () => {
  const [nrows, ncols, T] = [24, 32, 90];
  const P = nrows * ncols;
  const obs = fakeObserved(T, P, 5);
  const base = Int8Array.from(obs, (v) => (Number.isNaN(v) ? -1 : 0));
  for (const shape of ["run", "block", "swath"] as const) {
    const roles = simulatedGaps(base, nrows, ncols, shape, 0.2, 9);
    const c = roleCounts(roles);
    const share = c.test / (c.train + c.test);
    assert.ok(share >= 0.2 && share < 0.35, `${shape}: ${share}`);
    assert.equal(c.unobserved, roleCounts(base).unobserved);
  }
  // Runs: a hidden pixel-day usually has a hidden neighbour day at the same pixel.
  const runs = simulatedGaps(base, nrows, ncols, "run", 0.2, 9);
  let hidden = 0;
  let withNeighbour = 0;
  for (let t = 0; t < T; t++) {
    for (let p = 0; p < P; p++) {
      if (runs[t * P + p] !== 2) continue;
      hidden++;
      if ((t > 0 && runs[(t - 1) * P + p] === 2) || (t < T - 1 && runs[(t + 1) * P + p] === 2)) withNeighbour++;
    }
  }
  assert.ok(withNeighbour / hidden > 0.3, `${withNeighbour}/${hidden}`);
});

test("validation gaps fall on days spread over the whole period; test gaps on random days", () => {
  const [nrows, ncols, T] = [24, 32, 365];
  const P = nrows * ncols;
  const base = Int8Array.from(fakeObserved(T, P, 7), (v) => (Number.isNaN(v) ? -1 : 0));
  for (const shape of ["block", "swath"] as const) {
    const days = (role: 1 | 2) => {
      const roles = simulatedGaps(base, nrows, ncols, shape, 0.05, 11, role);
      return [...new Set(Array.from({ length: T }, (_, t) => t).filter((t) => roles.subarray(t * P, (t + 1) * P).includes(role)))].sort((a, b) => a - b);
    };
    const largestGap = (d: number[]) => Math.max(d[0]! + T - d.at(-1)!, ...d.slice(1).map((t, i) => t - d[i]!));
    const validation = days(1);
    // n points of an additive golden-ratio sequence leave no gap longer than about phi^2 / n of the circle.
    assert.ok(validation.length >= 10, `${validation.length} validation days`);
    assert.ok(
      largestGap(validation) <= Math.ceil((2.62 * T) / validation.length),
      `${shape}: largest gap ${largestGap(validation)} days between ${validation.length} days`,
    );
    assert.ok(days(2).length >= 10);
  }
});

test("mixed gaps: test and validation shares, each in swaths, blocks and runs; only observed training days taken", () => {
  const [nrows, ncols, T] = [24, 32, 90];
  const P = nrows * ncols;
  const obs = fakeObserved(T, P, 6);
  const roles = mixedGaps(obs, nrows, ncols, { test: 0.2, validation: 0.1 }, 3);
  const c = roleCounts(roles);
  const n = c.train + c.validation + c.test;
  assert.ok(c.test / n >= 0.2 && c.test / n < 0.26, `test ${c.test / n}`);
  assert.ok(c.validation / n >= 0.1 && c.validation / n < 0.14, `validation ${c.validation / n}`);
  roles.forEach((r, k) => assert.equal(r === -1, Number.isNaN(obs[k]!)));
  // Block and swath gaps hide many pixels of one day: some day has >= 1/8 of its observed pixels hidden.
  let maxDayShare = 0;
  for (let t = 0; t < T; t++) {
    const day = roles.subarray(t * P, (t + 1) * P);
    const seen = day.filter((r) => r >= 0).length;
    maxDayShare = Math.max(maxDayShare, day.filter((r) => r === 2).length / Math.max(1, seen));
  }
  assert.ok(maxDayShare > 0.125, `${maxDayShare}`);
  assert.deepEqual(mixedGaps(obs, nrows, ncols, { test: 0.2, validation: 0.1 }, 3), roles, "seeded");
});

test("no leakage: perturbing every held-out SMAP value changes no input of any sample, nor the training statistics", async () => {
  const config = { ...WORLD_PRESETS.test, days: 40 };
  const dir = path.join(tempDir(), "w");
  await writeWorld(config, dir);
  const report = await ingestStudy(loadStudy(writeWorldStudy(dir, config, "../cube.zarr")), { quiet: true });
  const arrays = await loadCubeArrays(await Cube.open(report.output));
  const roles = temporal(arrays.smap, arrays.P, shares, 11, 4); // 4-day runs: 10 runs in 40 days
  const a = buildDataset(arrays, roles);
  const perturbed = { ...arrays, smap: Float32Array.from(arrays.smap, (v, k) => (roles[k]! > 0 ? v + 0.3 : v)) };
  const b = buildDataset(perturbed, roles);
  assert.deepEqual(b.X, a.X, "every feature of every sample is unchanged");
  assert.ok(a.split.some((s) => s === 2) && a.split.some((s) => s === 0));
  a.y.forEach((v, i) => {
    if (a.split[i] === 0) assert.equal(b.y[i], v);
    else assert.ok(Math.abs(b.y[i]! - v - 0.3) < 1e-6);
  });
  const train = (d: typeof a) => {
    const rows = [...d.split.keys()].filter((i) => d.split[i] === 0);
    const F = d.names.length;
    const X = new Float32Array(rows.length * F);
    rows.forEach((r, i) => X.set(d.X.subarray(r * F, (r + 1) * F), i * F));
    return new Preprocessor().fit(X, rows.length, F).state;
  };
  assert.deepEqual(train(b), train(a));
  // Rows of any pixel-day (also days without SMAP) come from the same builder: the samples' rows
  // are reproduced exactly, and the gap-filling design is leak-free too.
  const features = new FeatureBuilder(arrays, roles);
  assert.deepEqual(features.rows(a.pixel, a.day), a.X);
  const gapRoles = mixedGaps(arrays.smap, report.smap.window.nrows, report.smap.window.ncols, shares, 4);
  const gapsA = buildDataset(arrays, gapRoles);
  const gapsB = buildDataset({ ...arrays, smap: Float32Array.from(arrays.smap, (v, k) => (gapRoles[k]! > 0 ? v + 0.3 : v)) }, gapRoles);
  assert.deepEqual(gapsB.X, gapsA.X);
  const unobserved = [...arrays.smap.keys()].filter((k) => Number.isNaN(arrays.smap[k]!)).slice(0, 50);
  const gapRows = features.rows(
    Int32Array.from(unobserved, (k) => k % arrays.P),
    Int32Array.from(unobserved, (k) => Math.floor(k / arrays.P)),
  );
  assert.equal(gapRows.length, 50 * a.names.length);
  assert.ok(gapRows.some(Number.isFinite));
  // Groups follow MODELS.md: dynamic, static, calendar, ts.
  assert.deepEqual([...new Set(a.groups)], ["dynamic", "static", "calendar", "ts"]);
  assert.equal(a.groups.filter((g) => g === "ts").length, 35);

  // The shared interchange format: the reference's dataset.py loads and validates it.
  const python = debianPython("numpy");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have python3-numpy");
    return;
  }
  const out = path.join(tempDir(), "dataset");
  writeDataset(out, a, features.schema(), { source: "smapfill synthetic world" });
  const check = spawnSync(
    python,
    [
      "-c",
      `import sys; sys.path.insert(0, ${JSON.stringify(path.join(SHARED, "reference"))}); import dataset; d = dataset.load(${JSON.stringify(out)}); print(d.X.shape[0], d.X.shape[1], int((d.split == 2).sum()))`,
    ],
    { encoding: "utf8" },
  );
  assert.equal(check.status, 0, check.stderr);
  assert.equal(check.stdout.trim(), `${a.y.length} ${a.names.length} ${a.split.filter((s) => s === 2).length}`);
});

test("the independent-stations split holds out every SMAP value of the station pixels, and only those", async () => {
  const { splitRoles } = await import("../../src/eval/splits.js");
  const [nrows, ncols, T] = [12, 16, 60];
  const P = nrows * ncols;
  const smap = fakeObserved(T, P, 8);
  const shares = { test: 0.2, validation: 0.1 };
  const roles = splitRoles("stations", smap, nrows, ncols, shares, 1, [5, 77]);
  roles.forEach((r, k) => {
    const p = k % P;
    if (Number.isNaN(smap[k]!)) assert.equal(r, -1);
    else if (p === 5 || p === 77) assert.equal(r, 2);
    else assert.ok(r === 0 || r === 1);
  });
  const c = roleCounts(roles);
  assert.ok(c.validation / (c.train + c.validation) > 0.08);
  assert.throws(() => splitRoles("stations", smap, nrows, ncols, shares, 1, []), /needs stations inside the cube/);
});
