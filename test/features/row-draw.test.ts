/**
 * The one row draw, read tile by tile: the same rows whatever the tiling, stratified by pixel x
 * season in proportion, held-out rows capped, every row knowing its pixel and day, and a budget
 * refused before any work when the draw would not fit in --memory.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Cube } from "../../src/cube/cube.js";
import { designRoles } from "../../src/eval/splits.js";
import { Role } from "../../src/features/roles.js";
import { drawRows, membersOf, proportionalQuota, readObservedRoles, type DrawOptions, type RowSet } from "../../src/features/row-draw.js";
import { Rng } from "../../src/util/random.js";
import { REPO_ROOT, tempDir } from "../helpers.js";
import { smallChunkedCube } from "../test-world.js";

let cubePath: Promise<string> | undefined;
/** The test world over 40 days in a cube of 8 x 8-cell chunks (6 tiles). */
function smallCube(): Promise<string> {
  cubePath ??= smallChunkedCube(tempDir()).then((w) => w.cube);
  return cubePath;
}

/** The rows as sorted strings of their bytes: a multiset, whatever their order. */
function rowSet(r: RowSet): string[] {
  const f = r.X.length / r.n;
  return Array.from({ length: r.n }, (_, i) => `${r.pixel[i]}/${r.day[i]}|${r.y[i]}|${Array.from(r.X.subarray(i * f, (i + 1) * f)).join(",")}`).sort();
}

/** The product model's draw: validation and calibration gaps hidden, the rest trains. */
async function productDraw(cube: Cube, o: DrawOptions) {
  const { roles: observed } = await readObservedRoles(cube, { quiet: true });
  const roles = designRoles("product", observed, cube.window.nrows, cube.window.ncols, {
    shares: { validation: 0.1, test: 0, calibration: 0.1 },
    seed: o.seed ?? 0,
  });
  return { roles, draw: await drawRows(cube, roles, o) };
}

test("proportionalQuota: exactly max rows, never more than a stratum holds, within one of its proportional share", () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 50; trial++) {
    const counts = Int32Array.from({ length: 1 + rng.int(300) }, () => rng.int(40));
    const total = counts.reduce((a, b) => a + b, 0);
    const max = rng.int(total + 20);
    const take = proportionalQuota(counts, max);
    assert.equal(
      take.reduce((a, b) => a + b, 0),
      Math.min(max, total),
    );
    counts.forEach((c, s) => {
      assert.ok(take[s]! <= c);
      if (total > max) assert.ok(Math.abs(take[s]! - (c * max) / total) < 1 + 1e-9, `stratum ${s}: ${take[s]} of ${c}`);
    });
  }
});

test("membersOf: exactly `take` members, seeded by the stratum", () => {
  for (const [count, take] of [
    [10, 3],
    [7, 7],
    [5, 0],
    [90, 45],
  ] as const) {
    const m = membersOf(count, take, 1, 17);
    assert.equal(
      m.reduce((a, b) => a + b, 0),
      take,
    );
    assert.deepEqual(membersOf(count, take, 1, 17), m);
  }
  assert.notDeepEqual(membersOf(90, 45, 1, 17), membersOf(90, 45, 1, 18));
});

test("the draw read tile by tile holds the same rows as the draw over the whole window (in-sample features)", async () => {
  const cube = await Cube.open(await smallCube());
  assert.ok(cube.tiles().length >= 4, `${cube.tiles().length} tiles`);
  const o = { maxRows: 1500, maxHeldRows: 200, seed: 5, tsMode: "in-sample" as const, quiet: true };
  const { draw: tiled, roles } = await productDraw(cube, o);
  const { draw: whole } = await productDraw(cube, { ...o, tiles: [cube.fullWindow()] });
  assert.equal(tiled.train.n, 1500);
  assert.ok(tiled.counts.train > 1500);
  assert.deepEqual(tiled.counts, whole.counts);
  for (const part of ["train", "validation", "calibration"] as const) {
    assert.equal(tiled[part].n, whole[part].n, part);
    assert.deepEqual(rowSet(tiled[part]), rowSet(whole[part]), part);
  }
  // Held-out rows beyond the cap: about maxHeldRows of them (a hash-seeded share).
  assert.ok(tiled.counts.validation > 300);
  assert.ok(Math.abs(tiled.validation.n - 200) < 60, `${tiled.validation.n} validation rows`);
  assert.deepEqual(tiled.schema.training?.window, cube.window);
  // Every row knows its pixel and day, and its role there is the part it is in; targets are the cube's values.
  const smap = await cube.readBlock("soil_moisture", 0, cube.days);
  const P = cube.window.nrows * cube.window.ncols;
  for (const [part, role] of [
    ["train", Role.Train],
    ["validation", Role.Validation],
    ["calibration", Role.Calibration],
  ] as const) {
    const r = tiled[part];
    for (let i = 0; i < r.n; i++) {
      const k = r.day[i]! * P + r.pixel[i]!;
      assert.equal(roles[k], role, `${part} row ${i}`);
      assert.equal(r.y[i], smap[k]);
    }
  }
});

test("the training rows keep every pixel's share in every season (within one row of its proportional share)", async () => {
  const cube = await Cube.open(await smallCube());
  const perPixel = async (maxRows: number) => {
    const { draw } = await productDraw(cube, { maxRows, seed: 1, quiet: true, tsMode: "in-sample" });
    const [lat, lon] = [draw.schema.names.indexOf("lat"), draw.schema.names.indexOf("lon")];
    const f = draw.schema.names.length;
    const counts = new Map<string, number>();
    for (let i = 0; i < draw.train.n; i++) {
      const key = `${draw.train.X[i * f + lat]},${draw.train.X[i * f + lon]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return { counts, n: draw.train.n };
  };
  const all = await perPixel(1e9);
  const drawn = await perPixel(1500);
  assert.equal(drawn.n, 1500);
  // The test world's 40 days (March-April) lie in one season: one stratum per pixel.
  for (const [key, c] of all.counts) {
    const share = (c * 1500) / all.n;
    const got = drawn.counts.get(key) ?? 0;
    assert.ok(Math.abs(got - share) < 1, `pixel ${key}: ${got} rows for a share of ${share.toFixed(2)}`);
  }
});

test("train refuses a draw larger than --memory before it reads anything (exit 2, the budget and the fix named)", async () => {
  const cube = await smallCube();
  const out = path.join(tempDir(), "model");
  const run = spawnSync(
    process.execPath,
    [
      path.join(REPO_ROOT, "bin", "smapfill.js"),
      "train",
      cube,
      "--model",
      "xgb",
      "--out",
      out,
      "--max-train-samples",
      "5000000",
      "--memory",
      "256M",
      "--quiet",
    ],
    { encoding: "utf8" },
  );
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /training draw needs about [\d.]+ GiB, more than --memory 0\.3 GiB/);
  assert.match(run.stderr, /--max-train-samples/);
  assert.equal(fs.existsSync(out), false);
});

test("ingest refuses a study whose chunk of days would not fit in --memory, before it reads a file", () => {
  const dir = tempDir();
  // A global window: one chunk of 32 days of every array is gigabytes; no granule is needed to know.
  const study = path.join(dir, "study.yaml");
  fs.writeFileSync(
    study,
    [
      "name: too-big",
      "region: { bbox: [-60, 80, -180, 180] }",
      "period: { start: 2020-01-01, end: 2020-01-31 }",
      "resolution: 9km",
      "output: cube.zarr",
      "smap: { granules: smap/*.h5 }",
      "predictors: []",
    ].join("\n"),
  );
  const run = spawnSync(process.execPath, [path.join(REPO_ROOT, "bin", "smapfill.js"), "ingest", study, "--memory", "1G", "--quiet"], { encoding: "utf8" });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /a chunk of days of this study's window needs about [\d.]+ GiB, more than --memory 1\.0 GiB/);
  assert.equal(fs.existsSync(path.join(dir, "cube.zarr")), false);
});
