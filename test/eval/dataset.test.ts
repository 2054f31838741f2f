import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import {
  blockFolds,
  designRoles,
  holdOutPixels,
  mixedGaps,
  randomPixelDays,
  Role,
  roleCounts,
  simulatedGaps,
  spatialBlocks,
  temporal,
} from "../../src/eval/splits.js";
import { observedRoles } from "../../src/features/roles.js";
import { drawRows, streamShipRows, type RowSet } from "../../src/features/row-draw.js";
import { readDataset, writeDataset } from "../../src/features/dataset.js";
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
      if (Number.isNaN(obs[k]!)) assert.equal(blocks[k], Role.Unobserved);
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
  for (let t = 0; t < T; t++) for (const p of [7, 8]) if (held[t * P + p]! >= 0) assert.equal(held[t * P + p], Role.Test);
});

test("simulated gaps: the share asked for, in runs of days, blocks and swath stripes", () => {
  const [nrows, ncols, T] = [24, 32, 90];
  const P = nrows * ncols;
  const obs = fakeObserved(T, P, 5);
  const base = observedRoles(obs);
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
      if (runs[t * P + p] !== Role.Test) continue;
      hidden++;
      if ((t > 0 && runs[(t - 1) * P + p] === Role.Test) || (t < T - 1 && runs[(t + 1) * P + p] === Role.Test)) withNeighbour++;
    }
  }
  assert.ok(withNeighbour / hidden > 0.3, `${withNeighbour}/${hidden}`);
});

test("validation gaps fall on days spread over the whole period; test gaps on random days", () => {
  const [nrows, ncols, T] = [24, 32, 365];
  const P = nrows * ncols;
  const base = observedRoles(fakeObserved(T, P, 7));
  for (const shape of ["block", "swath"] as const) {
    const days = (role: typeof Role.Validation | typeof Role.Test) => {
      const roles = simulatedGaps(base, nrows, ncols, shape, 0.05, 11, role);
      return [...new Set(Array.from({ length: T }, (_, t) => t).filter((t) => roles.subarray(t * P, (t + 1) * P).includes(role)))].sort((a, b) => a - b);
    };
    const largestGap = (d: number[]) => Math.max(d[0]! + T - d.at(-1)!, ...d.slice(1).map((t, i) => t - d[i]!));
    const validation = days(Role.Validation);
    // n points of an additive golden-ratio sequence leave no gap longer than about phi^2 / n of the circle.
    assert.ok(validation.length >= 10, `${validation.length} validation days`);
    assert.ok(
      largestGap(validation) <= Math.ceil((2.62 * T) / validation.length),
      `${shape}: largest gap ${largestGap(validation)} days between ${validation.length} days`,
    );
    assert.ok(days(Role.Test).length >= 10);
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
  roles.forEach((r, k) => assert.equal(r === Role.Unobserved, Number.isNaN(obs[k]!)));
  // Block and swath gaps hide many pixels of one day: some day has >= 1/8 of its observed pixels hidden.
  let maxDayShare = 0;
  for (let t = 0; t < T; t++) {
    const day = roles.subarray(t * P, (t + 1) * P);
    const seen = day.filter((r) => r >= 0).length;
    maxDayShare = Math.max(maxDayShare, day.filter((r) => r === Role.Test).length / Math.max(1, seen));
  }
  assert.ok(maxDayShare > 0.125, `${maxDayShare}`);
  assert.deepEqual(mixedGaps(obs, nrows, ncols, { test: 0.2, validation: 0.1 }, 3), roles, "seeded");
});

/** The test world's 40 days as a cube, and a copy whose SMAP values are perturbed where `hide` says. */
async function worldCube(): Promise<string> {
  const config = { ...WORLD_PRESETS.test, days: 40 };
  const dir = path.join(tempDir(), "w");
  await writeWorld(config, dir);
  return (await ingestStudy(loadStudy(writeWorldStudy(dir, config, "../cube.zarr")), { quiet: true })).output;
}
async function perturbedCopy(cubePath: string, hide: (k: number) => boolean): Promise<Cube> {
  const copy = path.join(tempDir(), "perturbed.zarr");
  fs.cpSync(cubePath, copy, { recursive: true });
  const cube = await Cube.open(copy);
  const smap = await cube.readBlock("soil_moisture", 0, cube.days);
  await cube.writeBlock(
    "soil_moisture",
    0,
    Float32Array.from(smap, (v, k) => (hide(k) && !Number.isNaN(v) ? v + 0.3 : v)),
  );
  return Cube.open(copy);
}

/** Every row of a design: the fit view's training, validation and calibration rows, and the ship view's test rows. */
async function allRows(cube: Cube, roles: Int8Array, spatial: boolean): Promise<Record<string, RowSet>> {
  const o = { seed: 3, spatial, quiet: true, maxRows: 1e9, maxHeldRows: 1e9 };
  const d = await drawRows(cube, roles, o);
  const parts: RowSet[] = [];
  await streamShipRows(cube, roles, { select: (_p, _t, r) => r === Role.Test, spatial, quiet: true, onRows: (r) => void parts.push(r) });
  const X = parts.flatMap((r) => Array.from(r.X));
  return {
    train: d.train,
    validation: d.validation,
    calibration: d.calibration,
    test: { ...parts[0]!, X: Float32Array.from(X), n: parts.reduce((n, r) => n + r.n, 0) },
  };
}

test("no leakage: perturbing every held-out SMAP value changes no input of any row (fit and ship views, with spatial context)", async () => {
  const cubePath = await worldCube();
  const cube = await Cube.open(cubePath);
  const { nrows, ncols } = cube.window;
  const observed = observedRoles(await cube.readBlock("soil_moisture", 0, cube.days));
  for (const [design, roles] of [
    ["random", designRoles("random", observed, nrows, ncols, { shares: { ...shares, calibration: 0.1 }, seed: 11 })],
    ["gaps", designRoles("gaps", observed, nrows, ncols, { shares: { ...shares, calibration: 0.1 }, seed: 4 })],
  ] as const) {
    const c = roleCounts(roles);
    assert.ok(c.train > 0 && c.validation > 0 && c.calibration > 0 && c.test > 0, `${design}: ${JSON.stringify(c)}`);
    // Held-out values (validation, calibration, test) feed no training or validation row; the
    // calibration rows are built as the product builds its rows (every observation visible but the
    // calibration and test values), so calibration and test values feed none of them; and test
    // values feed no row at all.
    const before = await allRows(cube, roles, true);
    const heldChanged = await allRows(await perturbedCopy(cubePath, (k) => roles[k] !== Role.Train && roles[k] !== Role.Unobserved), roles, true);
    for (const part of ["train", "validation"]) assert.deepEqual(heldChanged[part]!.X, before[part]!.X, `${design} ${part}`);
    const calibrationChanged = await allRows(await perturbedCopy(cubePath, (k) => roles[k] === Role.Calibration || roles[k] === Role.Test), roles, true);
    assert.deepEqual(calibrationChanged.calibration!.X, before.calibration!.X, `${design} calibration`);
    const testChanged = await allRows(await perturbedCopy(cubePath, (k) => roles[k] === Role.Test), roles, true);
    for (const part of ["train", "validation", "calibration", "test"]) assert.deepEqual(testChanged[part]!.X, before[part]!.X, `${design} ${part}`);
    // The targets are the perturbed values where they were perturbed.
    assert.ok(Math.abs(testChanged.test!.y[0]! - before.test!.y[0]! - 0.3) < 1e-6);
  }
});

test("the dataset folder: every role and feature group round-trips, and the reference's dataset.py loads it", async () => {
  const cube = await Cube.open(await worldCube());
  const { nrows, ncols } = cube.window;
  const roles = designRoles("gaps", observedRoles(await cube.readBlock("soil_moisture", 0, cube.days)), nrows, ncols, {
    shares: { ...shares, calibration: 0.1 },
    seed: 4,
  });
  const d = await drawRows(cube, roles, { seed: 1, spatial: true, quiet: true, maxRows: 3000, maxHeldRows: 500 });
  // Groups follow MODELS.md (dynamic, static, calendar, ts) and ours (spatial).
  assert.deepEqual([...new Set(d.schema.groups)], ["dynamic", "static", "calendar", "ts", "spatial"]);
  assert.equal(d.schema.groups.filter((g) => g === "ts").length, 35);
  const parts = [d.train, d.validation, d.calibration];
  const rows: RowSet = {
    X: Float32Array.from(parts.flatMap((r) => Array.from(r.X))),
    y: Float32Array.from(parts.flatMap((r) => Array.from(r.y))),
    n: parts.reduce((n, r) => n + r.n, 0),
    pixel: Int32Array.from(parts.flatMap((r) => Array.from(r.pixel))),
    day: Int32Array.from(parts.flatMap((r) => Array.from(r.day))),
  };
  const role = Int8Array.from(parts.flatMap((r, i) => Array.from({ length: r.n }, () => [Role.Train, Role.Validation, Role.Calibration][i]!)));
  const out = path.join(tempDir(), "dataset");
  writeDataset(out, rows, role, d.schema, { source: "smapfill synthetic world" });
  const back = readDataset(out);
  assert.deepEqual(back.role, role);
  assert.deepEqual(back.groups, d.schema.groups);
  assert.deepEqual(back.day, rows.day);
  // The reference's readers see calibration rows as validation rows (split.npy 1).
  assert.deepEqual(
    Array.from(back.split),
    Array.from(role, (r) => (r === Role.Train ? 0 : 1)),
  );

  const python = debianPython("numpy");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have python3-numpy");
    return;
  }
  const check = spawnSync(
    python,
    [
      "-c",
      `import sys; sys.path.insert(0, ${JSON.stringify(path.join(SHARED, "reference"))}); import dataset; d = dataset.load(${JSON.stringify(out)}); print(d.X.shape[0], d.X.shape[1], int((d.split == 1).sum()))`,
    ],
    { encoding: "utf8" },
  );
  assert.equal(check.status, 0, check.stderr);
  assert.equal(check.stdout.trim(), `${rows.n} ${d.schema.names.length} ${d.validation.n + d.calibration.n}`);
});

test("the independent-stations split holds out every SMAP value of the station pixels, and only those", async () => {
  const [nrows, ncols, T] = [12, 16, 60];
  const P = nrows * ncols;
  const smap = fakeObserved(T, P, 8);
  const shares = { test: 0.2, validation: 0.1, calibration: 0.1 };
  const observed = observedRoles(smap);
  const roles = designRoles("stations", observed, nrows, ncols, { shares, seed: 1, stationPixels: [5, 77] });
  roles.forEach((r, k) => {
    const p = k % P;
    if (Number.isNaN(smap[k]!)) assert.equal(r, Role.Unobserved);
    else if (p === 5 || p === 77) assert.equal(r, Role.Test);
    else assert.ok(r === Role.Train || r === Role.Validation || r === Role.Calibration);
  });
  const c = roleCounts(roles);
  assert.ok(c.validation / (c.train + c.validation + c.calibration) > 0.08);
  assert.ok(c.calibration / (c.train + c.validation + c.calibration) > 0.08);
  assert.throws(() => designRoles("stations", observed, nrows, ncols, { shares, seed: 1, stationPixels: [] }), /needs stations inside the cube/);
});

test("the period split: every observation from the first test day on is a test value, later days left out, validation the last tenth of the training days", () => {
  const [nrows, ncols, T] = [6, 8, 100];
  const P = nrows * ncols;
  const smap = fakeObserved(T, P, 9);
  const roles = designRoles("period", observedRoles(smap), nrows, ncols, {
    shares: { test: 0.2, validation: 0.1, calibration: 0.1 },
    seed: 2,
    period: { from: 60, to: 89 },
  });
  let lastTrain = -1;
  let firstValidation = T;
  roles.forEach((r, k) => {
    const t = Math.floor(k / P);
    if (Number.isNaN(smap[k]!)) return assert.equal(r, Role.Unobserved);
    if (t >= 60 && t <= 89) assert.equal(r, Role.Test, `day ${t}`);
    else if (t > 89) assert.equal(r, Role.Unobserved, `day ${t}`);
    else assert.notEqual(r, Role.Test);
    if (r === Role.Train) lastTrain = Math.max(lastTrain, t);
    if (r === Role.Validation) firstValidation = Math.min(firstValidation, t);
  });
  // Validation: the last 10 % of the 60 training days (days 54-59); calibration gaps among the days before.
  assert.equal(firstValidation, 54);
  assert.ok(lastTrain < 54, `last training day ${lastTrain}`);
  assert.ok(roleCounts(roles).calibration > 0);
});
