import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Ease2Grid } from "../../src/grid/ease2.js";
import { openHdf5, getDataset, readAll, createHdf5 } from "../../src/io/hdf5.js";
import { readSmapL3, readGranules, listGranules, acceptedByQuality, granuleDateFromName } from "../../src/io/smap-l3.js";
import { writeSmapL3Granule, granuleFileName } from "../../src/io/smap-l3-writer.js";
import { realFile, tempDir } from "../helpers.js";

const PAKISTAN = realFile("pakistan_2020", "SPL3SMP_E");
const POINTLISTS = realFile("pakistan_2020", "smap_pointlists", "Pakistan_20200101_20200131");
const g9 = Ease2Grid.of("9km");
const pakistanWindow = g9.windowFromBBox({ south: 25.0, north: 28.5, west: 67.0, east: 73.0 });

function readPointList(file: string) {
  const h5 = openHdf5(file);
  const lat = readAll(file, getDataset(h5, "latitude")) as Float32Array;
  const lon = readAll(file, getDataset(h5, "longitude")) as Float32Array;
  const sm = readAll(file, getDataset(h5, "soil_moisture")) as Float32Array;
  h5.close();
  return { lat, lon, sm };
}

test("real Pakistan SPL3SMP_E granules give back exactly the SMAP point lists", () => {
  for (const day of ["01", "02", "05", "17", "22"]) {
    const granule = readSmapL3(path.join(PAKISTAN, `SMAP_L3_SM_P_E_202001${day}_R00000_001.h5`), {
      window: pakistanWindow,
      quality: "any",
    });
    assert.equal(granule.product, "SPL3SMP_E");
    assert.equal(granule.date, `2020-01-${day}`);
    const points = readPointList(path.join(POINTLISTS, `Pakistan_2020-01-${day}.nc`));
    // The point list is AM block then PM block; count and compare every value.
    const expected = new Map<string, number[]>();
    for (let k = 0; k < points.sm.length; k++) {
      if (!Number.isFinite(points.sm[k]!)) continue;
      const rc = g9.latLonToRowCol(points.lat[k]!, points.lon[k]!)!;
      const key = `${rc[0]},${rc[1]}`;
      expected.set(key, [...(expected.get(key) ?? []), points.sm[k]!]);
    }
    let found = 0;
    for (const pass of granule.passes) {
      for (let i = 0; i < pakistanWindow.nrows; i++) {
        for (let j = 0; j < pakistanWindow.ncols; j++) {
          const v = pass.values[i * pakistanWindow.ncols + j]!;
          if (Number.isNaN(v)) continue;
          found++;
          const key = `${pakistanWindow.row0 + i},${pakistanWindow.col0 + j}`;
          assert.ok(expected.get(key)?.includes(v), `day ${day} ${pass.pass} cell ${key} value ${v} not in the point list`);
        }
      }
    }
    const total = [...expected.values()].reduce((s, v) => s + v.length, 0);
    assert.equal(found, total, `day ${day}`);
  }
});

test("the default quality policy keeps the Pakistan values (flag 0 = recommended)", () => {
  const file = path.join(PAKISTAN, "SMAP_L3_SM_P_E_20200101_R00000_001.h5");
  const any = readSmapL3(file, { window: pakistanWindow, quality: "any" });
  const rec = readSmapL3(file, { window: pakistanWindow });
  assert.equal(rec.passes[0]!.stats.valid, any.passes[0]!.stats.valid);
  assert.ok(rec.passes[0]!.stats.valid > 1000);
  assert.equal(rec.passes[0]!.stats.rejectedQuality, 0);
});

test("quality bits: recommended, uncertain and any", () => {
  assert.equal(acceptedByQuality(0, "recommended"), true);
  assert.equal(acceptedByQuality(8, "recommended"), true); // only the freeze/thaw retrieval failed
  assert.equal(acceptedByQuality(1, "recommended"), false);
  assert.equal(acceptedByQuality(1, "uncertain"), true);
  assert.equal(acceptedByQuality(1 | 4, "uncertain"), false);
  assert.equal(acceptedByQuality(1 | 2 | 4, "uncertain"), false);
  assert.equal(acceptedByQuality(65534, "uncertain"), false);
  assert.equal(acceptedByQuality(7, "any"), true);

  const dir = tempDir();
  const window = { row0: 500, col0: 2000, nrows: 2, ncols: 3 };
  const values = new Float32Array([0.1, 0.2, 0.3, 0.4, 0.6, NaN]);
  const flags = new Uint16Array([0, 1, 5, 8, 0, 65534]);
  const file = writeSmapL3Granule(dir, { grid: g9, date: "2021-07-04", window, AM: { values, flags } });
  assert.equal(path.basename(file), "SMAP_L3_SM_P_E_20210704_R19240_001.h5");
  const read = (quality: "recommended" | "uncertain" | "any") =>
    Array.from(readSmapL3(file, { window, quality, passes: ["AM"] }).passes[0]!.values).map((v) => (Number.isNaN(v) ? null : +v.toFixed(3)));
  // 0.6 is above valid_max 0.5 and is dropped whatever the policy.
  assert.deepEqual(read("recommended"), [0.1, null, null, 0.4, null, null]);
  assert.deepEqual(read("uncertain"), [0.1, 0.2, null, 0.4, null, null]);
  assert.deepEqual(read("any"), [0.1, 0.2, 0.3, 0.4, null, null]);
  const stats = readSmapL3(file, { window, passes: ["AM"] }).passes[0]!.stats;
  assert.deepEqual(stats, { valid: 2, rejectedQuality: 2, outOfRange: 1 });
});

test("a window reads only the region and matches the global read", () => {
  const file = path.join(PAKISTAN, "SMAP_L3_SM_P_E_20200109_R00000_001.h5");
  const whole = readSmapL3(file, { quality: "any", passes: ["AM"] }).passes[0]!.values;
  const part = readSmapL3(file, { window: pakistanWindow, quality: "any", passes: ["AM"] }).passes[0]!.values;
  assert.equal(whole.length, g9.nrows * g9.ncols);
  for (let i = 0; i < pakistanWindow.nrows; i++) {
    for (let j = 0; j < pakistanWindow.ncols; j++) {
      const a = part[i * pakistanWindow.ncols + j]!;
      const b = whole[(pakistanWindow.row0 + i) * g9.ncols + pakistanWindow.col0 + j]!;
      assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)));
    }
  }
});

test("a truncated granule names the file and says it is truncated", () => {
  const dir = tempDir();
  const src = path.join(PAKISTAN, "SMAP_L3_SM_P_E_20200101_R00000_001.h5");
  const bad = path.join(dir, "SMAP_L3_SM_P_E_20200101_R00000_001.h5");
  fs.writeFileSync(bad, fs.readFileSync(src).subarray(0, 150000));
  assert.throws(
    () => readSmapL3(bad),
    (e: Error) => e.message.includes(bad) && /truncated/.test(e.message) && /download it again/.test(e.message),
  );
});

test("a real NASA file without soil_moisture names the file and the dataset", () => {
  const file = realFile("smap_formats", "SC_SPL3SMP_009_prefetch.nc4");
  assert.throws(
    () => readSmapL3(file, { passes: ["AM"] }),
    (e: Error) => e.message.includes(file) && e.message.includes("Soil_Moisture_Retrieval_Data_AM/soil_moisture") && /not found/.test(e.message),
  );
});

test("a wrong grid size, a non-HDF5 file and a missing file give clear errors", () => {
  const dir = tempDir();
  const small = path.join(dir, "SMAP_L3_SM_P_E_20200101_R00000_001.h5");
  const h5 = createHdf5(small);
  const g = h5.create_group("Soil_Moisture_Retrieval_Data_AM");
  g.create_dataset({ name: "soil_moisture", data: new Float32Array(100 * 120), shape: [100, 120], dtype: "<f" });
  h5.close();
  assert.throws(() => readSmapL3(small, { passes: ["AM"] }), /soil_moisture: has shape \[100, 120\], not a global SPL3SMP_E/);
  const text = path.join(dir, "notes.h5");
  fs.writeFileSync(text, "hello");
  assert.throws(() => readSmapL3(text), /notes\.h5: not an HDF5\/NetCDF-4 file/);
  assert.throws(() => readSmapL3(path.join(dir, "nope.h5")), /nope\.h5: file not found/);
  const g36 = Ease2Grid.of("36km");
  const f36 = writeSmapL3Granule(dir, {
    grid: g36,
    date: "2020-01-01",
    window: { row0: 100, col0: 700, nrows: 2, ncols: 2 },
    AM: { values: new Float32Array([0.1, 0.2, 0.3, 0.4]) },
  });
  assert.equal(path.basename(f36), granuleFileName(g36, "2020-01-01"));
  assert.equal(readSmapL3(f36, { window: { row0: 100, col0: 700, nrows: 2, ncols: 2 } }).product, "SPL3SMP");
  assert.throws(() => readSmapL3(f36, { expectResolution: "9km" }), /EASE2_M36km grid, but the study uses 9km/);
  assert.throws(() => readSmapL3(f36, { window: { row0: 400, col0: 0, nrows: 10, ncols: 10 } }), /not inside the EASE2_M36km grid/);
});

test("a directory with one bad granule reads the others and reports the bad one", () => {
  const dir = tempDir();
  for (const day of ["03", "04", "05"]) {
    const name = `SMAP_L3_SM_P_E_202001${day}_R00000_001.h5`;
    fs.copyFileSync(path.join(PAKISTAN, name), path.join(dir, name));
  }
  const badName = "SMAP_L3_SM_P_E_20200106_R00000_001.h5";
  fs.writeFileSync(path.join(dir, badName), fs.readFileSync(path.join(PAKISTAN, badName)).subarray(0, 4000));
  fs.writeFileSync(path.join(dir, "README.txt"), "not a granule");
  const files = listGranules(dir);
  assert.deepEqual(
    files.map((f) => granuleDateFromName(f)),
    ["2020-01-03", "2020-01-04", "2020-01-05", "2020-01-06"],
  );
  const results = [...readGranules(files, { window: pakistanWindow })];
  const ok = results.filter((r) => r.ok);
  const failed = results.flatMap((r) => (r.ok ? [] : [r.failure]));
  assert.equal(ok.length, 3);
  assert.equal(failed.length, 1);
  assert.equal(path.basename(failed[0]!.file), badName);
  assert.match(failed[0]!.error, /truncated/);
});
