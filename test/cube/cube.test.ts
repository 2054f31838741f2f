import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Cube, type CubeSpec } from "../../src/cube/cube.js";
import { Ease2Grid } from "../../src/grid/ease2.js";
import { debianPython, runPythonJson, tempDir } from "../helpers.js";

const g9 = Ease2Grid.of("9km");
const window = { row0: 700, col0: 2800, nrows: 45, ncols: 64 };

function spec(days = 10): CubeSpec {
  return {
    resolution: "9km",
    window,
    start: "2020-01-30",
    days,
    chunks: { time: 4, y: 16, x: 24 },
    variables: [
      { name: "soil_moisture", kind: "dynamic", units: "m3 m-3", long_name: "SMAP surface soil moisture" },
      { name: "elevation", kind: "static", units: "m", long_name: "elevation" },
    ],
  };
}

function pattern(n: number, offset: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i * 7 + offset) % 997) / 1000);
}

test("create, write and read any window, across chunk edges", async () => {
  const dir = tempDir();
  const cube = await Cube.create(path.join(dir, "c.zarr"), spec());
  assert.equal(cube.days, 10);
  assert.deepEqual(cube.dates().slice(0, 3), ["2020-01-30", "2020-01-31", "2020-02-01"]);
  assert.equal(cube.dayIndex("2020-02-01"), 2);
  assert.equal(cube.dayIndex("2021-01-01"), -1);
  // A block of 5 days on a window that straddles chunk boundaries in every axis.
  const w = { row0: 10, col0: 20, nrows: 13, ncols: 9 };
  const block = pattern(5 * 13 * 9, 3);
  await cube.writeBlock("soil_moisture", 3, block, w);
  assert.deepEqual(await cube.readBlock("soil_moisture", 3, 8, w), block);
  // Unwritten cells are missing (NaN), written cells read back inside a larger window.
  const day5 = await cube.readDay("soil_moisture", 5);
  assert.ok(Number.isNaN(day5[0]!));
  assert.equal(day5[(10 + 2) * window.ncols + 20 + 4], block[2 * 13 * 9 + 2 * 9 + 4]);
  const elev = pattern(45 * 64, 11);
  await cube.writeStatic("elevation", elev);
  assert.deepEqual(await cube.readStatic("elevation"), elev);
  assert.deepEqual(await cube.readStatic("elevation", { row0: 44, col0: 63, nrows: 1, ncols: 1 }), elev.subarray(45 * 64 - 1));
});

test("append days, add a variable, record provenance; reopen sees it all", async () => {
  const dir = tempDir();
  const file = path.join(dir, "c.zarr");
  const cube = await Cube.create(file, spec(3));
  await cube.writeDay("soil_moisture", 2, pattern(45 * 64, 1));
  await cube.appendDays(6);
  assert.equal(cube.days, 9);
  await cube.writeDay("soil_moisture", 8, pattern(45 * 64, 2));
  await cube.addVariable({ name: "soil_moisture_pass", kind: "dynamic", units: "1", long_name: "pass", dtype: "uint8" });
  await cube.writeDay("soil_moisture_pass", 8, new Uint8Array(45 * 64).fill(2));
  await cube.addProvenance("test", { note: "hello" });
  const again = await Cube.open(file);
  assert.equal(again.days, 9);
  assert.deepEqual(again.dates().at(-1), "2020-02-07");
  assert.deepEqual(await again.readDay("soil_moisture", 2), pattern(45 * 64, 1));
  assert.deepEqual(await again.readDay("soil_moisture", 8), pattern(45 * 64, 2));
  assert.ok((await again.readDay("soil_moisture", 5)).every(Number.isNaN));
  assert.equal((await again.readDay("soil_moisture_pass", 8))[7], 2);
  assert.deepEqual(
    again.provenance.map((p) => p.step),
    ["create", "test"],
  );
});

test("bad requests give clear errors and never leave a half-made cube", async () => {
  const dir = tempDir();
  const file = path.join(dir, "c.zarr");
  const cube = await Cube.create(file, spec(4));
  await assert.rejects(() => Cube.create(file, spec()), /already exists/);
  await assert.rejects(() => cube.readBlock("soil_moisture", 2, 6), /outside the time axis/);
  await assert.rejects(() => cube.readDay("nope", 0), /nope: no such variable in the cube. The cube has soil_moisture, elevation/);
  await assert.rejects(() => cube.readStatic("soil_moisture"), /is dynamic, not static/);
  await assert.rejects(() => cube.writeDay("soil_moisture", 0, new Float32Array(7)), /do not fill whole days/);
  await assert.rejects(() => cube.readDay("soil_moisture", 0, { row0: 40, col0: 0, nrows: 10, ncols: 2 }), /outside the cube/);
  await assert.rejects(
    () => Cube.create(path.join(dir, "bad.zarr"), { ...spec(), variables: [{ name: "time", kind: "dynamic", units: "", long_name: "" }] }),
    /cannot name a cube variable/,
  );
  await assert.rejects(
    () => Cube.create(path.join(dir, "bad2.zarr"), { ...spec(), window: { row0: 1620, col0: 0, nrows: 10, ncols: 10 } }),
    /not inside the EASE2_M09km grid/,
  );
  assert.ok(!fs.existsSync(path.join(dir, "bad.zarr")) && !fs.existsSync(path.join(dir, "bad2.zarr")));
  assert.deepEqual(fs.readdirSync(dir), ["c.zarr"]);
  await assert.rejects(() => Cube.open(dir), /is not a smapfill cube/);
});

test("an independent Zarr v3 reader (Python, numpy only) reads the cube with its CF metadata", async (t) => {
  const python = debianPython("numpy");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have /usr/bin/python3 with numpy (.ci/run installs python3-numpy)");
    t.skip("no Debian python3-numpy here");
    return;
  }
  const dir = tempDir();
  const file = path.join(dir, "c.zarr");
  const cube = await Cube.create(file, spec(6));
  const values = pattern(6 * 45 * 64, 5);
  values[17] = NaN;
  await cube.writeBlock("soil_moisture", 0, values);
  const out = runPythonJson(python, "read_zarr_v3.py", [file, "soil_moisture", "time", "lat", "lon", "x", "y", "crs"]);
  const sm = out.arrays.soil_moisture;
  assert.deepEqual(sm.dims, ["time", "y", "x"]);
  assert.deepEqual(sm.shape, [6, 45, 64]);
  assert.equal(sm.attributes.grid_mapping, "crs");
  assert.equal(sm.values[17], null);
  for (let i = 0; i < values.length; i += 97) if (i !== 17) assert.equal(sm.values[i], values[i]);
  const time = out.arrays.time;
  assert.equal(time.attributes.units, "days since 1970-01-01");
  assert.equal(time.values[0], Date.UTC(2020, 0, 30) / 86400000);
  assert.ok(Math.abs(out.arrays.lat.values[0] - g9.rowLatitude(700)) < 1e-12);
  assert.ok(Math.abs(out.arrays.lon.values[63] - g9.colLongitude(2863)) < 1e-12);
  assert.ok(Math.abs(out.arrays.x.values[0] - g9.colToX(2800)) < 1e-6);
  assert.equal(out.arrays.crs.attributes.grid_mapping_name, "lambert_cylindrical_equal_area");
  assert.equal(out.group_attributes.Conventions, "CF-1.8");
  assert.equal(out.group_attributes.smapfill.grid, "EASE2_M09km");
});

test("chunkFiles names the files a window's writes land in; staticChunkTiles groups the tiles no other group shares a static chunk with", async () => {
  const dir = tempDir();
  const cube = await Cube.create(path.join(dir, "c.zarr"), { ...spec(10), chunks: { time: 4, y: 8, x: 8 } });
  // 45 x 64 cells in 8 x 8 tiles (6 x 8 = 48); static chunks of 32 x 32 cells: 2 x 2 groups of at most 4 x 4 tiles.
  const groups = cube.staticChunkTiles();
  assert.deepEqual(
    groups.map((g) => g.length),
    [16, 16, 8, 8],
  );
  assert.deepEqual(
    groups.flat().sort((a, b) => a - b),
    cube.tiles().map((_, i) => i),
  );
  const tile = cube.tiles()[9]!; // row 1, column 1 of tiles
  await cube.writeBlock("soil_moisture", 4, pattern(3 * tile.nrows * tile.ncols, 1), tile);
  await cube.writeStatic("elevation", pattern(tile.nrows * tile.ncols, 2), tile);
  const rel = (files: string[]) => files.map((f) => path.relative(cube.path, f));
  assert.deepEqual(rel(cube.chunkFiles("soil_moisture", tile, [4, 7])), ["soil_moisture/c/1/1/1"]);
  assert.deepEqual(rel(cube.chunkFiles("soil_moisture", tile, [3, 9])), ["soil_moisture/c/0/1/1", "soil_moisture/c/1/1/1", "soil_moisture/c/2/1/1"]);
  assert.deepEqual(rel(cube.chunkFiles("elevation", tile)), ["elevation/c/0/0"]);
  for (const f of [...cube.chunkFiles("soil_moisture", tile, [4, 7]), ...cube.chunkFiles("elevation", tile)]) assert.ok(fs.existsSync(f), f);
});
