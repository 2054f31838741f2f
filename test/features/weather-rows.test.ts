/**
 * The weather group in the sample layer: which predictors are the forcings (by name and units),
 * the group's names, groups and units in a FeatureBuilder, and the out-of-fold rule: a training
 * row's weather terms are weather.ts's with the retrievals of its drawn gap hidden and the drydown
 * fitted without its fold; every other row's with every value the view sees.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { recogniseForcings, type PredictorInfo } from "../../src/features/forcings.js";
import { FeatureBuilder, type SampleArrays } from "../../src/features/samples.js";
import { fitDrydown, weatherFeatures } from "../../src/features/weather.js";
import { WEATHER_SETTINGS } from "../../src/features/weather-rows.js";
import { mixedGaps } from "../../src/eval/splits.js";
import { Role } from "../../src/features/roles.js";
import { dayOfYear } from "../../src/util/dates.js";
import { Rng } from "../../src/util/random.js";

const dynamic = (name: string, units: string, source?: string): PredictorInfo => ({
  name,
  kind: "dynamic",
  units,
  ...(source ? { attributes: { source_variable: source } } : {}),
});

test("forcings are recognised by name and units: antecedent sums, land surface and soil temperatures are not forcings; units are converted or the predictor is skipped with the fix", () => {
  // The demo world's cube.
  const demo = recogniseForcings([
    dynamic("soil_moisture", "m3 m-3"),
    dynamic("precipitation", "mm d-1", "precipitation"),
    dynamic("precipitation_sum3d", "mm d-1", "precipitation"),
    dynamic("air_temperature", "degC", "air_temperature"),
    dynamic("lst", "K", "lst_day"),
    dynamic("ndvi", "1", "ndvi"),
    { name: "sand", kind: "static", units: "1" },
  ]);
  assert.deepEqual(demo.chosen, {
    precipitation: { variable: "precipitation", units: "mm d-1", scale: 1, offset: 0 },
    temperature: { variable: "air_temperature", units: "degC", scale: 1, offset: 0 },
  });
  assert.deepEqual(demo.skipped, []);
  // Hawaii's and Pakistan's cubes: soil water and soil temperature only, no forcing.
  const real = recogniseForcings([
    dynamic("era5_swvl1", "m3 m-3", "swvl1"),
    dynamic("era5_stl1", "degC", "stl1"),
    dynamic("gldas_sm0_10", "kg m-2", "SoilMoi0_10cm_inst"),
    dynamic("gldas_soilt0_10", "degC", "SoilTMP0_10cm_inst"),
  ]);
  assert.deepEqual(real, { chosen: {}, skipped: [] });
  // ERA5 names and units: tp in m per day, t2m in K, ssrd in W m-2, pev in mm per hour.
  const era5 = recogniseForcings([dynamic("total_rain", "m", "tp"), dynamic("t2m", "K"), dynamic("ssrd", "W m-2"), dynamic("pev", "mm h-1")]);
  assert.deepEqual(era5.chosen, {
    precipitation: { variable: "total_rain", units: "m", scale: 1000, offset: 0 },
    temperature: { variable: "t2m", units: "K", scale: 1, offset: -273.15 },
    radiation: { variable: "ssrd", units: "W m-2", scale: 1, offset: 0 },
    pet: { variable: "pev", units: "mm h-1", scale: 24, offset: 0 },
  });
  // A rain predictor in other units is skipped with the fix; the first of two wins.
  const odd = recogniseForcings([dynamic("rain_rate", "in/day"), dynamic("prcp", "kg m-2"), dynamic("precip_gpm", "mm d-1")]);
  assert.equal(odd.chosen.precipitation?.variable, "prcp");
  assert.match(odd.skipped[0]!, /'rain_rate' looks like precipitation but its units 'in\/day' are not a daily depth.*units: \{ to/);
  assert.match(odd.skipped[1]!, /'precip_gpm' looks like precipitation, but 'prcp' comes first/);
});

const [nrows, ncols, T] = [4, 5, 160];
const P = nrows * ncols;

/** A window with rain, temperature and SMAP (day-major), its latitude, and the forcings for the builder. */
function world(seed: number): SampleArrays {
  const rng = new Rng(seed);
  const rain = Float32Array.from({ length: T * P }, () => (rng.uniform() < 0.25 ? 20 * rng.uniform() : 0));
  const temperature = Float32Array.from({ length: T * P }, (_, k) => 10 + 10 * Math.sin(k / P / 30) + rng.normal());
  const smap = Float32Array.from({ length: T * P }, (_, k) => (rng.uniform() < 0.55 ? 0.1 + 0.2 * Math.sin(k / P / 40) ** 2 + 0.03 * rng.uniform() : NaN));
  const latitude = Float32Array.from({ length: P }, (_, p) => 30 + p / 4);
  return {
    P,
    T,
    nrows,
    ncols,
    startDay: 18000,
    smap,
    dynamic: new Map([["rain", rain]]),
    static: new Map(),
    units: new Map([["rain", "mm d-1"]]),
    forcing: {
      series: new Map([
        ["precipitation", rain],
        ["temperature", temperature],
      ]),
      choice: {
        precipitation: { variable: "rain", units: "mm d-1", scale: 1, offset: 0 },
        temperature: { variable: "tair", units: "degC", scale: 1, offset: 0 },
      },
      units: new Map([
        ["precipitation", "mm d-1"],
        ["temperature", "degC"],
      ]),
    },
    latitude,
  };
}

/** Pixel-major copy of a day-major window series. */
const byPixel = (a: Float32Array) => Float32Array.from({ length: P * T }, (_, i) => a[(i % T) * P + Math.floor(i / T)]!);

test("the weather group in the sample layer: its names, group and units; none without --weather or without precipitation", () => {
  const a = world(1);
  const roles = mixedGaps(a.smap, nrows, ncols, { validation: 0.1, test: 0.2 }, 3);
  const b = new FeatureBuilder(a, roles, { tsMode: "out-of-fold", weather: WEATHER_SETTINGS });
  const at = b.groups.indexOf("weather");
  assert.deepEqual(b.names.slice(at), [
    "wx_precip_since_prev",
    "wx_rain_days_since_prev",
    "wx_precip_until_next",
    "wx_rain_days_until_next",
    "wx_days_since_rain_1mm",
    "wx_days_since_rain_5mm",
    "wx_days_since_rain_20mm",
    "wx_api",
    "wx_prev_drydown",
    "wx_next_drydown",
    "wx_dry_mean_before",
    "wx_dry_count_before",
    "wx_dry_mean_after",
    "wx_dry_count_after",
    "wx_temperature_mean_since_prev",
    "wx_pet_mean_since_prev",
  ]);
  assert.ok(b.groups.slice(at).every((g) => g === "weather"));
  assert.deepEqual(b.units.slice(at), [
    "mm",
    "days",
    "mm",
    "days",
    "days",
    "days",
    "days",
    "mm",
    "m3 m-3",
    "m3 m-3",
    "m3 m-3",
    "1",
    "m3 m-3",
    "1",
    "degC",
    "mm day-1",
  ]);
  assert.deepEqual(b.schema().weather, { forcings: { precipitation: "rain", temperature: "tair" }, pet: "oudin", api_decay: 0.9, rain_thresholds: [1, 5, 20] });
  assert.equal(new FeatureBuilder(a, roles, { tsMode: "out-of-fold" }).groups.includes("weather"), false);
  const dry = { ...a, forcing: { ...a.forcing!, series: new Map([["temperature" as const, a.forcing!.series.get("temperature")!]]) } };
  assert.equal(new FeatureBuilder(dry, roles, { weather: WEATHER_SETTINGS }).groups.includes("weather"), false);
});

test("out-of-fold weather: a training row's terms hide the retrievals of its drawn gap and use the drydown fitted without its fold; other rows see every training value", () => {
  const a = world(2);
  const roles = mixedGaps(a.smap, nrows, ncols, { validation: 0.1, test: 0.2 }, 4);
  const settings = { apiDecay: 0.85, rainThresholds: [2, 10] };
  const b = new FeatureBuilder(a, roles, { tsMode: "out-of-fold", seed: 5, weather: settings });
  const cols = b.groups.flatMap((g, j) => (g === "weather" ? [j] : []));
  const train = byPixel(Float32Array.from(a.smap, (v, k) => (roles[k] === Role.Train ? v : NaN)));
  const seen = new Uint8Array(P * T).fill(1);
  const forcing = { precipitation: byPixel(a.forcing!.series.get("precipitation")!), temperature: byPixel(a.forcing!.series.get("temperature")!) };
  const doy = Int32Array.from({ length: T }, (_, t) => dayOfYear(a.startDay + t));
  const o = { apiDecay: 0.85, rainThresholds: [2, 10], latitude: a.latitude!, doy };
  // Each day's fold (5 runs of the days with training values, samples.ts).
  const withData = Array.from({ length: T }, (_, t) => [...Array(P).keys()].some((p) => roles[t * P + p] === Role.Train));
  const D = withData.filter(Boolean).length;
  const fold = new Int32Array(T);
  for (let t = 0, r = 0; t < T; t++) ((fold[t] = Math.min(4, Math.floor((r * 5) / D))), (r += withData[t] ? 1 : 0));
  const pick = (role: number, count: number) => [...roles.keys()].filter((k) => roles[k] === role).slice(0, count);
  let gaps = 0;
  for (const k of pick(Role.Train, 80)) {
    const [p, t] = [k % P, Math.floor(k / P)];
    const g = b.gapOf(p, t)!;
    const masked = Float32Array.from(train, (v, i) => (fold[i % T] === fold[t] ? NaN : v));
    const drydown = fitDrydown(masked, seen, forcing.precipitation, P, T);
    const want = weatherFeatures(train, seen, P, T, forcing, Int32Array.of(p), Int32Array.of(t), {
      ...o,
      drydown,
      gapStart: Int32Array.of(Math.max(0, g[0])),
      gapEnd: Int32Array.of(g[1]),
    });
    const got = b.rows(Int32Array.of(p), Int32Array.of(t));
    cols.forEach((j, c) => assert.ok(Object.is(got[j], Math.fround(want[c]!)), `training row ${k}, ${b.names[j]}: ${got[j]} vs ${want[c]}`));
    if (g[1] > g[0]) gaps++;
  }
  assert.ok(gaps > 20, `${gaps} rows had gaps longer than a day`);
  const full = fitDrydown(train, seen, forcing.precipitation, P, T);
  for (const k of [...pick(Role.Validation, 30), ...pick(Role.Test, 30), ...pick(Role.Unobserved, 30)]) {
    const [p, t] = [k % P, Math.floor(k / P)];
    const want = weatherFeatures(train, seen, P, T, forcing, Int32Array.of(p), Int32Array.of(t), { ...o, drydown: full });
    const got = b.rows(Int32Array.of(p), Int32Array.of(t));
    cols.forEach((j, c) => assert.ok(Object.is(got[j], Math.fround(want[c]!)), `row ${k} (role ${roles[k]}), ${b.names[j]}`));
  }
});

test("out-of-fold weather: a training row's own value and the values inside its gap change none of its weather terms; held-out values change none of any row's", () => {
  const a = world(3);
  const roles = mixedGaps(a.smap, nrows, ncols, { validation: 0.1, test: 0.2 }, 5);
  const make = (smap: Float32Array) => new FeatureBuilder({ ...a, smap }, roles, { tsMode: "out-of-fold", seed: 9, weather: WEATHER_SETTINGS });
  const b = make(a.smap);
  const cols = b.groups.flatMap((g, j) => (g === "weather" ? [j] : []));
  const F = b.names.length;
  const train = [...roles.keys()].filter((k) => roles[k] === Role.Train).slice(0, 40);
  for (const k of train) {
    const [p, t] = [k % P, Math.floor(k / P)];
    const g = b.gapOf(p, t)!;
    const inGap = Float32Array.from(a.smap, (v, kk) => (kk % P === p && Math.floor(kk / P) >= g[0] && Math.floor(kk / P) <= g[1] ? v + 0.2 : v));
    const own = Float32Array.from(a.smap, (v, kk) => (kk === k ? v + 0.2 : v));
    const [x0, x1, x2] = [b, make(inGap), make(own)].map((m) => m.rows(Int32Array.of(p), Int32Array.of(t)));
    // Its own value: nothing. The gap's values: none of the terms that look for the neighbouring
    // retrievals; the drydown is the pixel's fit without the row's fold (like its statistics),
    // which days of the gap outside that fold may feed.
    for (const j of cols) assert.ok(Object.is(x0![j], x2![j]), `row ${k}, its own value: ${b.names[j]}`);
    for (const j of cols.filter((j) => !b.names[j]!.endsWith("_drydown"))) assert.ok(Object.is(x0![j], x1![j]), `row ${k}: ${b.names[j]}`);
  }
  // Every held-out value perturbed: every row's weather terms stay.
  const pixel = Int32Array.from({ length: 300 }, (_, i) => i % P);
  const day = Int32Array.from({ length: 300 }, (_, i) => (i * 7) % T);
  const held = Float32Array.from(a.smap, (v, k) => (roles[k] !== Role.Train && !Number.isNaN(v) ? v + 0.3 : v));
  const [x0, x1] = [b.rows(pixel, day), make(held).rows(pixel, day)];
  for (let i = 0; i < 300; i++) for (const j of cols) assert.ok(Object.is(x0[i * F + j], x1[i * F + j]), `row ${i}: ${b.names[j]}`);
  // And a training value does move them (the test can fail).
  const moved = Float32Array.from(a.smap, (v, k) => (roles[k] === Role.Train ? v + 0.05 : v));
  assert.notDeepEqual(make(moved).rows(pixel, day), x0);
});
