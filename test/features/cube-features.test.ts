import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Cube } from "../../src/cube/cube.js";
import { writeCubeFeatures } from "../../src/features/cube-features.js";
import { contextFeatures, CONTEXT_FEATURE_NAMES, pixelFeatures, PIXEL_FEATURE_NAMES } from "../../src/features/timeseries.js";
import { dayOfYear, parseDay } from "../../src/util/dates.js";
import { Rng } from "../../src/util/random.js";
import { tempDir } from "../helpers.js";

test("cube features streamed tile by tile equal the whole-cube computation; only the training window is used", async () => {
  const [nrows, ncols, T] = [9, 11, 70];
  const P = nrows * ncols;
  const dir = tempDir();
  // Chunks of 4 x 5 cells: 3 x 3 = 9 tiles, the last ones partial.
  const cube = await Cube.create(path.join(dir, "c.zarr"), {
    resolution: "9km",
    window: { row0: 300, col0: 3000, nrows, ncols },
    start: "2019-12-01",
    days: T,
    variables: [{ name: "soil_moisture", kind: "dynamic", units: "m3 m-3", long_name: "SMAP" }],
    chunks: { time: 16, y: 4, x: 5 },
  });
  const rng = new Rng(3);
  const sm = Float32Array.from({ length: T * P }, () => (rng.uniform() < 0.45 ? 0.05 + 0.4 * rng.uniform() : NaN));
  await cube.writeBlock("soil_moisture", 0, sm);
  const [useFrom, useTo] = [5, 59];
  const r = await writeCubeFeatures(cube, path.join(dir, "f.zarr"), { useFrom, useTo, context: true });
  assert.equal(r.tiles, 9);
  const features = await Cube.open(path.join(dir, "f.zarr"));

  const series = new Float64Array(P * T).fill(NaN);
  for (let t = useFrom; t <= useTo; t++) for (let p = 0; p < P; p++) series[p * T + t] = sm[t * P + p]!;
  const doy = Int32Array.from({ length: T }, (_, t) => dayOfYear(parseDay("2019-12-01") + t));
  const stats = pixelFeatures(series, P, T, { doy });
  const close = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  for (const [f, name] of PIXEL_FEATURE_NAMES.entries()) {
    const got = await features.readStatic(name);
    for (let p = 0; p < P; p++) assert.ok(close(got[p]!, Math.fround(stats[p * PIXEL_FEATURE_NAMES.length + f]!)), `${name} pixel ${p}`);
  }
  const pix = Int32Array.from({ length: P * T }, (_, k) => k % P);
  const day = Int32Array.from({ length: P * T }, (_, k) => Math.floor(k / P));
  const ctx = contextFeatures(series, P, T, pix, day, { doy });
  for (const [c, name] of CONTEXT_FEATURE_NAMES.entries()) {
    const got = await features.readBlock(name, 0, T);
    for (let k = 0; k < P * T; k++) assert.ok(close(got[k]!, Math.fround(ctx[k * 5 + c]!)), `${name} ${k}`);
  }
  // Values outside the window change nothing.
  const changed = Float32Array.from(sm, (v, k) => (Math.floor(k / P) < useFrom || Math.floor(k / P) > useTo ? v + 0.2 : v));
  await cube.writeBlock("soil_moisture", 0, changed);
  await writeCubeFeatures(cube, path.join(dir, "g.zarr"), { useFrom, useTo });
  const again = await Cube.open(path.join(dir, "g.zarr"));
  assert.deepEqual(await again.readStatic("ts_mean"), await features.readStatic("ts_mean"));
  await assert.rejects(writeCubeFeatures(cube, path.join(dir, "g.zarr")), /already exists/);
  await assert.rejects(writeCubeFeatures(cube, path.join(dir, "h.zarr"), { useFrom: 10, useTo: 80 }), /outside the cube's 70 days/);
});
