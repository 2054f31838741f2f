import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { collocate } from "../../src/eval/collocate.js";
import { readIsmn } from "../../src/io/ismn.js";
import { Ease2Grid } from "../../src/grid/ease2.js";
import { parseDay } from "../../src/util/dates.js";
import { writeWorld } from "../../src/synth/write-world.js";
import { WORLD_PRESETS } from "../../src/synth/world.js";
import { realFile, tempDir } from "../helpers.js";

const g9 = Ease2Grid.of("9km");

test("real RISMA MB11 (SMAP era): the containing 9 km cell, daily means and overpass values", () => {
  const file = realFile("ismn", "tuw_ismn_tests", "RISMA_test_data", "RISMA_RISMA_MB11_sm_0.000000_0.050000_Hydraprobe-II-Sdi-12-C_19500101_20230521.stm");
  const { series } = readIsmn(file, {});
  const s = series[0]!;
  const window = g9.windowFromBBox({ south: 49.5, north: 50.5, west: -98.5, east: -97 });
  const start = parseDay("2016-07-01");
  const { stations, outside } = collocate(series, g9, window, start, 10);
  assert.equal(outside.length, 0);
  const st = stations[0]!;
  const [row, col] = g9.latLonToRowCol(s.lat, s.lon)!;
  assert.equal(st.pixel, (row - window.row0) * window.ncols + (col - window.col0));
  // Daily mean of 2016-07-03 by hand from the hourly records.
  const day = start + 2;
  let sum = 0;
  let n = 0;
  s.times.forEach((t, i) => {
    if (Math.floor(t / 86400000) === day && !Number.isNaN(s.values[i]!)) {
      sum += s.values[i]!;
      n++;
    }
  });
  assert.ok(n >= 12);
  assert.ok(Math.abs(st.daily[2]! - sum / n) < 1e-6);
  // 6 am local solar time at -97.57 E is 12:30 UTC: the 12:00 or 13:00 record of that day.
  const at = (h: number) => s.values[s.times.findIndex((t) => t === day * 86400000 + h * 3600000)]!;
  assert.ok(
    [at(12), at(13)].some((v) => Math.abs(v - st.am[2]!) < 1e-7),
    `${st.am[2]} vs ${at(12)}/${at(13)}`,
  );
  // 6 pm local = 00:30 UTC of the next UTC day, so it belongs to cube day 3.
  const next = (h: number) => s.values[s.times.findIndex((t) => t === (day + 1) * 86400000 + h * 3600000)]!;
  assert.ok([next(0), next(1)].some((v) => Math.abs(v - st.pm[3]!) < 1e-7));
  // Outside the window: reported, not placed.
  const far = collocate(series, g9, g9.windowFromBBox({ south: 30, north: 31, west: 100, east: 101 }), start, 10);
  assert.equal(far.stations.length, 0);
  assert.equal(far.outside[0]!.station, "MB11");
});

test("days with too few records have no daily mean", () => {
  const s = readIsmn(
    realFile("ismn", "tuw_ismn_tests", "RISMA_test_data", "RISMA_RISMA_MB11_sm_0.000000_0.050000_Hydraprobe-II-Sdi-12-C_19500101_20230521.stm"),
    {},
  ).series[0]!;
  const day = parseDay("2016-07-03");
  const thinned = { ...s, values: Float32Array.from(s.values, (v, i) => (Math.floor(s.times[i]! / 86400000) === day && i % 4 !== 0 ? NaN : v)) };
  const window = g9.windowFromBBox({ south: 49.5, north: 50.5, west: -98.5, east: -97 });
  const r = collocate([thinned], g9, window, day, 1);
  assert.ok(Number.isNaN(r.stations[0]!.daily[0]!));
});

test("synthetic stations land in the pixel the world put them in", async () => {
  const config = { ...WORLD_PRESETS.test, days: 6 };
  const w = await writeWorld(config, path.join(tempDir(), "w"));
  const { series } = readIsmn(path.join(w.directory, "ismn"), { flags: ["G", "D02", "C03"] });
  const r = collocate(series, g9, w.window, parseDay(config.start), config.days);
  for (const st of r.stations) assert.equal(st.pixel, w.stations.find((x) => x.id === st.station)!.pixel);
});
