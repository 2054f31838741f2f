import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fromFile } from "geotiff";
import { SyntheticWorld, WORLD_PRESETS, type WorldConfig } from "../../src/synth/world.js";
import { writeWorld } from "../../src/synth/write-world.js";
import { readSmapL3 } from "../../src/io/smap-l3.js";
import { openHdf5, getDataset, readAll } from "../../src/io/hdf5.js";
import { Cube } from "../../src/cube/cube.js";
import { debianPython, runPythonJson, tempDir } from "../helpers.js";

const small: WorldConfig = { ...WORLD_PRESETS.test, days: 20 };

function firstDays(config: WorldConfig, n: number) {
  const out = [];
  for (const day of new SyntheticWorld(config).simulate()) {
    out.push(day);
    if (out.length === n) break;
  }
  return out;
}

test("a seed reproduces the world exactly; another seed gives another world", () => {
  const a = firstDays(small, 5);
  const b = firstDays(small, 5);
  const c = firstDays({ ...small, seed: 2 }, 5);
  for (let t = 0; t < 5; t++) {
    assert.deepEqual(a[t]!.soilMoisture, b[t]!.soilMoisture);
    assert.deepEqual(a[t]!.smap.AM.values, b[t]!.smap.AM.values);
    assert.deepEqual(a[t]!.stations[0]!.surface, b[t]!.stations[0]!.surface);
  }
  assert.notDeepEqual(a[4]!.soilMoisture, c[4]!.soilMoisture);
});

test("the demo world is physically plausible over a year", () => {
  const world = new SyntheticWorld(WORLD_PRESETS.demo);
  const s = world.statics;
  for (let i = 0; i < world.size; i++) {
    if (!s.land[i]) continue;
    assert.ok(s.wiltingPoint[i]! < s.fieldCapacity[i]! && s.fieldCapacity[i]! < s.porosity[i]!, `hydraulic limits at ${i}`);
    const cover = s.forest[i]! + s.cropland[i]! + s.grassland[i]! + s.barren[i]!;
    assert.ok(Math.abs(cover - 1) < 1e-5, `land cover sums to ${cover}`);
  }
  let precipitation = 0;
  let smapMinusTruth = 0;
  let pairs = 0;
  let frozenRetrievals = 0;
  let summerCoverage = 0;
  let summerDays = 0;
  for (const day of world.simulate()) {
    for (let i = 0; i < world.size; i++) {
      const sm = day.soilMoisture[i]!;
      assert.ok(sm >= 0.015 && sm <= s.porosity[i]! + 1e-6, `soil moisture ${sm} out of bounds`);
      assert.ok(day.precipitation[i]! >= 0);
      precipitation += day.precipitation[i]!;
      for (const pass of ["AM", "PM"] as const) {
        const v = day.smap[pass].values[i]!;
        if (Number.isNaN(v)) continue;
        assert.ok(v >= Math.fround(0.02) && v <= Math.fround(0.6), `SMAP value ${v}`);
        if (day.frozen[i]) frozenRetrievals++;
        smapMinusTruth += v - sm;
        pairs++;
      }
      if (Number.isFinite(day.ndvi[i]!)) assert.ok(day.ndvi[i]! > -0.2 && day.ndvi[i]! < 1);
    }
    const month = Number(day.date.slice(5, 7));
    if (month >= 6 && month <= 8) {
      summerDays++;
      summerCoverage += day.smap.AM.values.filter((v) => !Number.isNaN(v)).length / world.size;
    }
  }
  const annual = precipitation / world.size;
  const expected = s.annualPrecipitation.reduce((a, b) => a + b, 0) / world.size;
  assert.ok(Math.abs(annual / expected - 1) < 0.35, `annual precipitation ${annual} vs climate ${expected}`);
  assert.equal(frozenRetrievals, 0, "no retrievals on frozen ground");
  assert.ok(Math.abs(smapMinusTruth / pairs) < 0.03, "SMAP bias stays small on average");
  const perPass = summerCoverage / summerDays;
  assert.ok(perPass > 0.3 && perPass < 0.55, `summer AM coverage ${perPass} (SMAP: about 0.45 at 35 N)`);
});

test("soil moisture rises after heavy rain and does not rise on dry days", () => {
  const world = new SyntheticWorld({ ...WORLD_PRESETS.demo, days: 240 });
  const pixel = world.stations[0]!.pixel;
  let rainyDays = 0;
  let wetUps = 0;
  let dryDays = 0;
  let notRising = 0;
  let previous = NaN;
  for (const day of world.simulate()) {
    const sm = day.soilMoisture[pixel]!;
    const rain = day.precipitation[pixel]!;
    if (day.t >= 120 && !day.frozen[pixel]) {
      if (rain > 10) {
        rainyDays++;
        if (sm > previous) wetUps++;
      } else if (rain < 0.05) {
        dryDays++;
        // Only the slow exchange with the deeper store can lift it, by a little.
        if (sm <= previous + 0.003) notRising++;
      }
    }
    previous = sm;
  }
  assert.ok(rainyDays > 3, `only ${rainyDays} heavy rain days in summer`);
  assert.ok(wetUps / rainyDays > 0.8, `soil wets up on ${wetUps}/${rainyDays} heavy rain days`);
  assert.ok(dryDays > 30 && notRising / dryDays > 0.95, `no rise on ${notRising}/${dryDays} dry days`);
});

test("a written world goes through the real readers and matches the simulation", async () => {
  const dir = path.join(tempDir(), "world");
  const written = await writeWorld(small, dir);
  const days = firstDays(small, small.days);
  assert.equal(written.files.granules, small.days);
  // SMAP granules: the reader gives back the simulated retrievals that pass the quality policy.
  const day7 = days[7]!;
  const granule = readSmapL3(path.join(written.smapDirectory, `SMAP_L3_SM_P_E_${day7.date.replaceAll("-", "")}_R19240_001.h5`), {
    window: written.window,
    quality: "any",
  });
  for (const [k, pass] of granule.passes.entries()) {
    const simulated = day7.smap[k === 0 ? "AM" : "PM"].values;
    for (let i = 0; i < simulated.length; i++) {
      const expected = simulated[i]! > 0.5 ? NaN : simulated[i]!; // above valid_max
      assert.ok(Object.is(pass.values[i], expected) || (Number.isNaN(pass.values[i]!) && Number.isNaN(expected)), `cell ${i}`);
    }
  }
  // The truth cube holds the simulated soil moisture.
  const truth = await Cube.open(written.truthCube);
  assert.deepEqual(await truth.readDay("soil_moisture_true", 7), day7.soilMoisture);
  // NetCDF-4 meteorology: CF coordinates, descending latitude, one value per day.
  const meteo = written.files.meteo[0]!;
  const h5 = openHdf5(meteo);
  const lat = readAll(meteo, getDataset(h5, "latitude"));
  const precip = getDataset(h5, "precipitation");
  assert.ok(lat[0]! > lat[1]!);
  assert.equal(precip.shape![0], small.days);
  h5.close();
  // GeoTIFFs: georeferenced, with nodata.
  const tiff = await (await fromFile(written.files.static.find((f) => f.endsWith("dem.tif"))!)).getImage();
  const [west, south, east, north] = tiff.getBoundingBox();
  assert.ok(west! < small.bbox.west && east! > small.bbox.east && south! < small.bbox.south && north! > small.bbox.north);
  assert.equal(tiff.getGDALNoData(), -32768);
  // ISMN header+values files, one per station and depth.
  const stm = written.stations[0]!.files[0]!;
  const lines = fs.readFileSync(stm, "utf8").split("\n");
  assert.match(lines[0]!, /^SYNTH\s+SYNTH\s+S001\s+-?\d+\.\d{5}\s+-?\d+\.\d{5}\s+\d+\.\d{2}\s+0\.00\s+0\.05 SynthProbe$/);
  assert.match(lines[1]!, /^2019\/03\/01 00:00\s+0\.\d{4} (G|D02|C03) M$/);
  assert.ok(fs.existsSync(path.join(dir, "world.json")));
  await assert.rejects(() => writeWorld(small, dir), /exists and is not empty/);
});

test("h5py (the reference HDF5 stack) reads a synthetic granule exactly as we do", async (t) => {
  const python = debianPython("h5py", "numpy");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have /usr/bin/python3 with h5py (.ci/run installs python3-h5py)");
    t.skip("no Debian python3-h5py here");
    return;
  }
  const dir = path.join(tempDir(), "world");
  const written = await writeWorld({ ...small, days: 3 }, dir);
  const file = path.join(written.smapDirectory, "SMAP_L3_SM_P_E_20190302_R19240_001.h5");
  const w = written.window;
  const win = `${w.row0}:${w.row0 + w.nrows}:${w.col0}:${w.col0 + w.ncols}`;
  const out = runPythonJson(python, "h5py_read.py", [
    file,
    `Soil_Moisture_Retrieval_Data_PM/soil_moisture_pm:${win}`,
    `Soil_Moisture_Retrieval_Data_AM/retrieval_qual_flag:${win}`,
    "Soil_Moisture_Retrieval_Data_AM/soil_moisture_dca:0:2:0:2",
  ]);
  const ours = readSmapL3(file, { window: w, quality: "any" });
  const pm = out[`Soil_Moisture_Retrieval_Data_PM/soil_moisture_pm:${win}`];
  assert.deepEqual(pm.shape, [1624, 3856]);
  assert.equal(pm.attrs.units, "cm**3/cm**3");
  pm.values.forEach((v: number, i: number) => {
    const mine = ours.passes[1]!.values[i]!;
    if (Number.isNaN(mine)) assert.ok(v === -9999 || v > 0.5, `cell ${i}: h5py ${v}`);
    else assert.equal(v, mine);
  });
  const flags = out[`Soil_Moisture_Retrieval_Data_AM/retrieval_qual_flag:${win}`];
  assert.deepEqual(flags.values, Array.from(ours.passes[0]!.flags!));
  // soil_moisture_dca is a hard link to soil_moisture, filled with -9999 outside the region.
  assert.deepEqual(out["Soil_Moisture_Retrieval_Data_AM/soil_moisture_dca:0:2:0:2"].values, [-9999, -9999, -9999, -9999]);
});
