import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { readIsmn, selectSeries, parseIsmnText } from "../../src/io/ismn.js";
import { writeWorld } from "../../src/synth/write-world.js";
import { SyntheticWorld, WORLD_PRESETS } from "../../src/synth/world.js";
import { realFile, tempDir } from "../helpers.js";

const ROOT = realFile("ismn", "tuw_ismn_tests");
const DATA = path.join(ROOT, "tests", "test_data");

test("every ISMN file of the shared test data is read: formats, zips, CR/LF/CRLF, static variables", () => {
  const r = readIsmn(ROOT);
  assert.deepEqual(r.failures, []);
  assert.equal(r.series.length, 40);
  assert.equal(r.staticVariables.size, 12);
  const networks = new Set(r.series.map((s) => s.network));
  for (const n of ["COSMOS", "FR_Aqui", "MAQU", "SCAN", "SOILSCAPE", "SMOSMANIA", "RISMA"]) assert.ok(networks.has(n), n);
  // Known first record of COSMOS ARM-1 (header+values): 2017/08/10 00:00, 0.1410, G.
  const arm = r.series.find((s) => s.file.includes("Data_seperate_files_header_20170810_20180809/COSMOS/ARM-1"))!;
  assert.equal(new Date(arm.times[0]!).toISOString(), "2017-08-10T00:00:00.000Z");
  assert.ok(Math.abs(arm.values[0]! - 0.141) < 1e-6);
  assert.equal(arm.flags[0], "G");
  assert.deepEqual([arm.lat, arm.lon, arm.depthFrom, arm.depthTo, arm.sensor], [36.6054, -97.4878, 0, 0.19, "Cosmic-ray-Probe"]);
  // RISMA's sensor name has spaces in the header.
  assert.equal(r.series.find((s) => s.network === "RISMA")!.sensor, "Hydraprobe II Sdi-12_C");
  const fraye = r.staticVariables.get(
    path.join(DATA, "Data_seperate_files_20170810_20180809", "FR_Aqui", "fraye", "FR-Aqui_FR-Aqui_fraye_static_variables.csv"),
  )!;
  assert.ok(fraye.some((v) => v.quantity === "saturation" && v.value === "0.49"));
});

test("the same station in header+values, CEOP-separate and zipped downloads gives identical series", () => {
  const r = readIsmn(ROOT);
  const arm = r.series.filter((s) => s.station === "ARM-1");
  assert.equal(arm.length, 5);
  for (const s of arm.slice(1)) {
    assert.deepEqual(s.times, arm[0]!.times);
    assert.deepEqual(s.values, arm[0]!.values);
    assert.deepEqual(s.flags, arm[0]!.flags);
  }
  const narbonne = r.series.filter((s) => s.station === "Narbonne" && s.depthTo === 0.05 && s.times.length === 741);
  assert.equal(narbonne.length, 3); // CEOP-separate, header+values (CR-only lines), and its zip
  assert.deepEqual(narbonne[1]!.values, narbonne[0]!.values);
});

test("combined CEOP: soil temperature and soil moisture per depth, -999.99 missing", () => {
  const r = readIsmn(path.join(DATA, "format_ceop", "SMOSMANIA"));
  const sm = r.series
    .filter((s) => s.variable === "soil_moisture")
    .map((s) => s.depthTo)
    .sort();
  assert.deepEqual(sm, [0.05, 0.1, 0.2, 0.3]);
  const t02 = r.series.find((s) => s.variable === "soil_temperature" && s.depthTo === 0.2)!;
  assert.ok(Number.isNaN(t02.values[0]!)); // -999.99 with flag M
  const sm01 = r.series.find((s) => s.variable === "soil_moisture" && s.depthTo === 0.1)!;
  assert.ok(Math.abs(sm01.values[0]! - 0.2913) < 1e-6);
});

test("selection: surface depth and quality flags (G by default)", () => {
  const all = readIsmn(ROOT).series;
  const surface = selectSeries(all);
  assert.ok(surface.every((s) => s.variable === "soil_moisture" && s.depthTo <= 0.06));
  assert.ok(!surface.some((s) => s.network === "COSMOS"), "cosmic-ray 0-19 cm is not surface");
  assert.ok(
    surface.some((s) => s.network === "SCAN"),
    "SCAN's 5.08 cm sensors count as surface",
  );
  const fraye = surface.find((s) => s.station === "fraye")!;
  fraye.values.forEach((v, i) => {
    if (fraye.flags[i] !== "G") assert.ok(Number.isNaN(v));
  });
  // Old downloads flag unchecked values U: keeping them is the user's choice.
  const maqu = selectSeries(all, { flags: ["G", "U"] }).find((s) => s.network === "MAQU")!;
  assert.ok(maqu.values.some((v) => !Number.isNaN(v)));
  assert.ok(
    selectSeries(all)
      .find((s) => s.network === "MAQU")!
      .values.every(Number.isNaN),
  );
});

test("a malformed file gives a clear error naming it; a folder with it reads the rest", () => {
  const bad = path.join(DATA, "malformed", "mal_formed_file.txt");
  const r = readIsmn(bad);
  assert.equal(r.series.length, 0);
  assert.equal(r.failures.length, 1);
  assert.match(r.failures[0]!.error, /mal_formed_file\.txt: has a header line ISMN does not write/);
  assert.throws(() => parseIsmnText("x.stm", "2020/01/01 00:00 2020/01/01 00:00 A B C 1 2 3"), /x\.stm: has records ISMN does not write/);
  assert.throws(() => parseIsmnText("y.stm", "NET NET ST 1 2 3 0.05 0.05 probe\n2020/01/01 00:00 abc"), /y\.stm: line 2 is not 'date time value flag'/);
  assert.throws(() => readIsmn("/nonexistent/ismn"), /\/nonexistent\/ismn: not found/);
});

test("the synthetic world's stations read back with the simulated values", async () => {
  const config = { ...WORLD_PRESETS.test, days: 5 };
  const written = await writeWorld(config, path.join(tempDir(), "w"));
  const r = readIsmn(path.join(written.directory, "ismn"), { flags: ["G", "D02", "C03"] });
  assert.equal(r.series.length, config.stations); // the 20 cm sensors are not surface
  const days = [...new SyntheticWorld(config).simulate()];
  const s = r.series.find((x) => x.station === "S001")!;
  const expected = days[0]!.stations[0]!.surface;
  const outage = s.times.length < 5 * 24;
  if (!outage) for (let h = 0; h < 24; h++) assert.ok(Math.abs(s.values[h]! - expected[h]!) < 5e-5);
  assert.ok(Math.abs(s.lat - written.stations[0]!.lat) < 1e-5);
});
