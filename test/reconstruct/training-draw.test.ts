/**
 * The product model's training draw, read tile by tile: the same rows whatever the tiling,
 * stratified by pixel x season in proportion, held-out rows capped, and a budget refused before
 * any work when the draw would not fit in --memory.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Cube } from "../../src/cube/cube.js";
import { drawTrainingRows, membersOf, proportionalQuota, type Rows } from "../../src/reconstruct/training-draw.js";
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
function rowSet(r: Rows): string[] {
  const f = r.X.length / r.n;
  return Array.from({ length: r.n }, (_, i) => `${r.y[i]}|${Array.from(r.X.subarray(i * f, (i + 1) * f)).join(",")}`).sort();
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
  const tiled = await drawTrainingRows(cube, o);
  const whole = await drawTrainingRows(cube, { ...o, tiles: [cube.fullWindow()] });
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
});

test("the training rows keep every pixel's share in every season (within one row of its proportional share)", async () => {
  const cube = await Cube.open(await smallCube());
  const perPixel = async (maxRows: number) => {
    const draw = await drawTrainingRows(cube, { maxRows, seed: 1, quiet: true, tsMode: "in-sample" });
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
