import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ingestSmap, mergePasses } from "../../src/cube/ingest-smap.js";
import { Cube } from "../../src/cube/cube.js";
import { readSmapL3 } from "../../src/io/smap-l3.js";
import { realFile, tempDir } from "../helpers.js";

const PAKISTAN = realFile("pakistan_2020", "SPL3SMP_E");
const bbox = { south: 25.0, north: 28.5, west: 67.0, east: 73.0 };

test("pass rules: am-first, pm-first and mean, with the source of each value", () => {
  const am = new Float32Array([0.1, NaN, 0.3, NaN]);
  const pm = new Float32Array([0.2, 0.25, NaN, NaN]);
  const out = new Float32Array(4);
  const source = new Uint8Array(4);
  mergePasses(am, pm, "am-first", out, source);
  assert.deepEqual(
    [...out].map((v) => (Number.isNaN(v) ? null : +v.toFixed(3))),
    [0.1, 0.25, 0.3, null],
  );
  assert.deepEqual([...source], [1, 2, 1, 0]);
  mergePasses(am, pm, "pm-first", out, source);
  assert.deepEqual([...source], [2, 2, 1, 0]);
  assert.equal(+out[0]!.toFixed(3), 0.2);
  mergePasses(am, pm, "mean", out, source);
  assert.equal(+out[0]!.toFixed(3), 0.15);
  assert.deepEqual([...source], [3, 2, 1, 0]);
});

test("real Pakistan January 2020: every retrieval lands in the cube by the AM-first rule", async () => {
  const dir = tempDir();
  const cubePath = path.join(dir, "pk.zarr");
  const report = await ingestSmap({
    granules: PAKISTAN,
    cube: cubePath,
    resolution: "9km",
    bbox,
    start: "2020-01-01",
    end: "2020-01-31",
    quiet: true,
    keepPasses: true,
    chunks: { time: 8 },
  });
  assert.equal(report.granulesRead, 31);
  assert.equal(report.failures.length, 0);
  assert.deepEqual([report.window.nrows, report.window.ncols], [45, 64]);
  const cube = await Cube.open(cubePath);
  for (const date of ["2020-01-01", "2020-01-05", "2020-01-22"]) {
    const t = cube.dayIndex(date);
    const granule = readSmapL3(path.join(PAKISTAN, `SMAP_L3_SM_P_E_${date.replaceAll("-", "")}_R00000_001.h5`), { window: report.window });
    const [am, pm] = granule.passes;
    const merged = await cube.readDay("soil_moisture", t);
    const source = await cube.readDay("soil_moisture_pass", t);
    assert.deepEqual(await cube.readDay("soil_moisture_am", t), am!.values);
    assert.deepEqual(await cube.readDay("soil_moisture_pm", t), pm!.values);
    for (let i = 0; i < merged.length; i++) {
      const expected = Number.isNaN(am!.values[i]!) ? pm!.values[i]! : am!.values[i]!;
      assert.ok(Object.is(merged[i], expected) || (Number.isNaN(merged[i]!) && Number.isNaN(expected)));
      assert.equal(source[i], Number.isNaN(am!.values[i]!) ? (Number.isNaN(pm!.values[i]!) ? 0 : 2) : 1);
    }
  }
  // Observed pixel-days = cells with AM or PM; the point lists hold 71 407 pass-values.
  assert.equal(report.causes.observed, 71407);
  assert.ok(report.missingShare > 0.2 && report.missingShare < 0.4);
  assert.deepEqual(
    cube.provenance.map((p) => p.step),
    ["create", "ingest-smap"],
  );
});

test("an interrupted ingest resumes where it stopped and redoes nothing done", async () => {
  const dir = tempDir();
  const cubePath = path.join(dir, "pk.zarr");
  const options = {
    granules: PAKISTAN,
    cube: cubePath,
    resolution: "9km" as const,
    bbox,
    start: "2020-01-01",
    end: "2020-01-20",
    quiet: true,
    chunks: { time: 5 },
  };
  await ingestSmap(options);
  const cube = await Cube.open(cubePath);
  const day12 = await cube.readDay("soil_moisture", 12);
  // Simulate a run killed during block 2 (days 10-14): its record is absent and its chunk torn.
  const state = cube.attributes.smap_ingest as { settings: unknown; blocks: Record<string, unknown> };
  delete state.blocks["2"];
  await cube.setAttributes({ smap_ingest: state });
  await cube.writeBlock("soil_moisture", 10, new Float32Array(5 * 45 * 64).fill(NaN));
  const again = await ingestSmap(options);
  assert.equal(again.resumedBlocks, 3);
  assert.deepEqual(await (await Cube.open(cubePath)).readDay("soil_moisture", 12), day12);
  // Other settings on the same cube are refused, not mixed in.
  await assert.rejects(() => ingestSmap({ ...options, passRule: "mean" }), /exists and was built with other settings/);
});

test("days without a granule and bad granules are reported, the rest ingested", async () => {
  const dir = tempDir();
  const granules = path.join(dir, "granules");
  fs.mkdirSync(granules);
  for (const d of ["01", "02", "04"]) {
    const name = `SMAP_L3_SM_P_E_202001${d}_R00000_001.h5`;
    fs.copyFileSync(path.join(PAKISTAN, name), path.join(granules, name));
  }
  fs.writeFileSync(path.join(granules, "SMAP_L3_SM_P_E_20200105_R00000_001.h5"), "broken");
  const report = await ingestSmap({ granules, cube: path.join(dir, "c.zarr"), resolution: "9km", bbox, start: "2020-01-01", end: "2020-01-05", quiet: true });
  assert.equal(report.granulesRead, 3);
  assert.deepEqual(report.missingDays, ["2020-01-03"]);
  assert.equal(report.failures.length, 1);
  assert.match(report.failures[0]!.error, /20200105.*not an HDF5/);
  // A systematic mistake stops before any cube is made.
  await assert.rejects(
    () => ingestSmap({ granules, cube: path.join(dir, "d.zarr"), resolution: "36km", bbox, start: "2020-01-01", end: "2020-01-02", quiet: true }),
    /EASE2_M09km grid, but the study uses 36km/,
  );
  assert.ok(!fs.existsSync(path.join(dir, "d.zarr")));
  await assert.rejects(
    () => ingestSmap({ granules, cube: path.join(dir, "g.zarr"), resolution: "9km", bbox, start: "2021-01-01", end: "2021-01-02", quiet: true }),
    /no SMAP L3 granule dated 2021-01-01 .. 2021-01-02/,
  );
  await assert.rejects(
    () => ingestSmap({ granules, cube: path.join(dir, "e.zarr"), resolution: "9km", bbox, start: "2020-01-05", end: "2020-01-01", quiet: true }),
    /before start/,
  );
  await assert.rejects(
    () =>
      ingestSmap({
        granules: path.join(dir, "nope"),
        cube: path.join(dir, "f.zarr"),
        resolution: "9km",
        bbox,
        start: "2020-01-01",
        end: "2020-01-02",
        quiet: true,
      }),
    /nope: directory not found/,
  );
});
