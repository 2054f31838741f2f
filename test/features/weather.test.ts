import { test } from "node:test";
import assert from "node:assert/strict";
import {
  extraterrestrialRadiation,
  fitDrydown,
  oudinPet,
  weatherFeatureNames,
  weatherFeatures,
  weatherFeatureUnits,
  type Drydown,
} from "../../src/features/weather.js";
import { Rng } from "../../src/util/random.js";

const NAN = Number.NaN;

/** The features of one query as a name -> value map. */
function featuresOf(values: Float64Array, names: string[], q: number): Record<string, number> {
  return Object.fromEntries(names.map((n, i) => [n, values[q * names.length + i]!]));
}

function near(a: number, b: number, tol = 1e-12): boolean {
  return (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= tol;
}

test("weather features of a hand-made pixel equal their definitions (intervals, rain days, days since rain, drydowns; missing days make them unknown)", () => {
  const D = 12;
  const precipitation = Float64Array.from([0, 3, 0, 0, 12, 0, NAN, 0, 25, 0, 0, 0.5]);
  // Retrievals seen on days 2, 5 and 9; the others are held out (their values must not matter).
  const smap = Float64Array.from([0.9, 0.9, 0.3, 0.9, 0.9, 0.25, 0.9, 0.9, 0.9, 0.35, 0.9, 0.9]);
  const seen = Uint8Array.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
  const drydown: Drydown = { tau: Float64Array.of(2), dry: Float64Array.of(0.1), wet: Float64Array.of(0.6), pairs: Int32Array.of(0), pooledTau: NAN };
  const forcing = { precipitation };
  const names = weatherFeatureNames(forcing);
  const days = [3, 7, 10, 11, 1];
  const out = weatherFeatures(smap, seen, 1, D, forcing, new Int32Array(days.length), Int32Array.from(days), { drydown });
  const [d3, d7, d10, d11, d1] = days.map((_, q) => featuresOf(out, names, q));
  const expected: [Record<string, number>, Record<string, number>][] = [
    [
      d3!,
      {
        wx_precip_since_prev: 0, // day 3
        wx_rain_days_since_prev: 0,
        wx_precip_until_next: 12, // days 4-5
        wx_rain_days_until_next: 1,
        wx_days_since_rain_1mm: 2, // day 1
        wx_days_since_rain_5mm: NAN,
        wx_prev_drydown: 0.1 + 0.2 * Math.exp(-1 / 2),
        wx_next_drydown: 0.1 + 0.15 * Math.exp(2 / 2),
        // Day 2 carried to day 3 (days 2-3 dry; day 1 rained); day 4's rain cuts the way to day 5.
        wx_dry_mean_before: 0.1 + 0.2 * Math.exp(-1 / 2),
        wx_dry_count_before: 1,
        wx_dry_mean_after: NAN,
        wx_dry_count_after: 0,
      },
    ],
    [
      d7!,
      {
        wx_precip_since_prev: NAN, // days 6 (missing) and 7
        wx_rain_days_since_prev: NAN,
        wx_precip_until_next: 25, // days 8-9
        wx_rain_days_until_next: 1,
        wx_days_since_rain_1mm: NAN, // day 4, but day 6 is unknown
        wx_prev_drydown: 0.1 + 0.15 * Math.exp(-2 / 2),
        // Carried backward from 0.35 over two days: 0.1 + 0.25 e = 0.78, capped at the wet level.
        wx_next_drydown: 0.6,
      },
    ],
    [
      d10!,
      {
        wx_precip_since_prev: 0,
        wx_precip_until_next: NAN,
        wx_days_since_rain_1mm: 2,
        wx_days_since_rain_5mm: 2,
        wx_days_since_rain_20mm: 2,
        wx_next_drydown: NAN,
        wx_dry_mean_before: 0.1 + 0.25 * Math.exp(-1 / 2),
        wx_dry_count_before: 1,
        wx_dry_count_after: 0,
      },
    ],
    // 0.5 mm on day 11 is below a rain day: the dry spell from day 9 holds.
    [
      d11!,
      {
        wx_precip_since_prev: 0.5,
        wx_rain_days_since_prev: 0,
        wx_days_since_rain_1mm: 3,
        wx_dry_mean_before: 0.1 + 0.25 * Math.exp(-2 / 2),
        wx_dry_count_before: 1,
      },
    ],
    [d1!, { wx_precip_since_prev: NAN, wx_prev_drydown: NAN, wx_precip_until_next: 0, wx_days_since_rain_1mm: 0, wx_days_since_rain_5mm: NAN }],
  ];
  for (const [got, want] of expected)
    for (const [name, value] of Object.entries(want)) assert.ok(near(got[name]!, value), `${name}: ${got[name]} vs ${value} (${JSON.stringify(got)})`);
});

test("the antecedent precipitation index equals sum k^n P(d - n) over the days whose weight is >= 1 %, NaN when that window reaches before the start or over a missing day", () => {
  const rng = new Rng(3);
  const [P, D] = [3, 80];
  const precipitation = Float64Array.from({ length: P * D }, () => (rng.uniform() < 0.3 ? 20 * rng.uniform() : 0));
  precipitation[1 * D + 40] = NAN;
  const smap = new Float64Array(P * D).fill(0.2);
  const seen = new Uint8Array(P * D);
  const pix = Int32Array.from({ length: P * D }, (_, i) => Math.floor(i / D));
  const day = Int32Array.from({ length: P * D }, (_, i) => i % D);
  for (const k of [0, 0.5, 0.85, 0.95]) {
    const names = weatherFeatureNames({ precipitation });
    const out = weatherFeatures(smap, seen, P, D, { precipitation }, pix, day, { apiDecay: k });
    const window = k === 0 ? 1 : [...Array(1000).keys()].filter((n) => k ** n >= 0.01).length;
    for (let i = 0; i < P * D; i++) {
      const [p, d] = [pix[i]!, day[i]!];
      let expected = 0;
      for (let n = 0; n < window; n++) expected += d - n < 0 ? NAN : k ** n * precipitation[p * D + d - n]!;
      const got = featuresOf(out, names, i).wx_api!;
      assert.ok(near(got, expected, 1e-9), `k ${k} pixel ${p} day ${d}: ${got} vs ${expected}`);
    }
  }
});

/** A random region: P pixels x D days of rain, temperature, radiation and retrievals, some seen. */
function region(seed: number, P: number, D: number) {
  const rng = new Rng(seed);
  const precipitation = Float64Array.from({ length: P * D }, () => (rng.uniform() < 0.25 ? 15 * rng.uniform() : rng.uniform() < 0.02 ? NAN : 0));
  const temperature = Float64Array.from({ length: P * D }, () => 15 + 8 * rng.normal());
  const radiation = Float64Array.from({ length: P * D }, () => 200 + 60 * rng.normal());
  const smap = Float64Array.from({ length: P * D }, () => (rng.uniform() < 0.6 ? 0.1 + 0.3 * rng.uniform() : NAN));
  const seen = Uint8Array.from(smap, (v) => (v === v && rng.uniform() < 0.75 ? 1 : 0));
  const latitude = Float64Array.from({ length: P }, () => -60 + 120 * rng.uniform());
  const doy = Int32Array.from({ length: D }, (_, d) => (d % 365) + 1);
  return { rng, precipitation, temperature, radiation, smap, seen, latitude, doy };
}

test("property: no held-out retrieval reaches the features (values not seen are never read, the drydown fit included)", () => {
  const [P, D] = [6, 120];
  const r = region(5, P, D);
  const forcing = { precipitation: r.precipitation, temperature: r.temperature, radiation: r.radiation };
  const pix = Int32Array.from({ length: 400 }, () => r.rng.int(P));
  const day = Int32Array.from({ length: 400 }, () => r.rng.int(D));
  const o = { latitude: r.latitude, doy: r.doy };
  const before = weatherFeatures(r.smap, r.seen, P, D, forcing, pix, day, o);
  const changed = r.smap.map((v, i) => (r.seen[i] ? v : r.rng.uniform()));
  assert.deepEqual(weatherFeatures(changed, r.seen, P, D, forcing, pix, day, o), before);
  assert.deepEqual(fitDrydown(changed, r.seen, r.precipitation, P, D), fitDrydown(r.smap, r.seen, r.precipitation, P, D));
  // And seen values do matter (the test can fail).
  const seenChanged = r.smap.map((v, i) => (r.seen[i] ? v + 0.01 : v));
  assert.notDeepEqual(weatherFeatures(seenChanged, r.seen, P, D, forcing, pix, day, o), before);
});

test("property: with a gap around a query (out-of-fold rows), the retrievals inside it change none of its features", () => {
  const [P, D] = [4, 90];
  const r = region(6, P, D);
  const forcing = { precipitation: r.precipitation };
  const drydown = fitDrydown(r.smap, r.seen, r.precipitation, P, D);
  const Q = 300;
  const pix = Int32Array.from({ length: Q }, () => r.rng.int(P));
  const day = Int32Array.from({ length: Q }, () => r.rng.int(D));
  const gapStart = new Int32Array(Q);
  const gapEnd = new Int32Array(Q);
  for (let q = 0; q < Q; q++) {
    gapStart[q] = Math.max(0, day[q]! - r.rng.int(6));
    gapEnd[q] = Math.min(D - 1, day[q]! + r.rng.int(6));
  }
  const names = weatherFeatureNames(forcing);
  const base = weatherFeatures(r.smap, r.seen, P, D, forcing, pix, day, { drydown, gapStart, gapEnd });
  for (let q = 0; q < Q; q += 7) {
    const changed = r.smap.slice();
    for (let d = gapStart[q]!; d <= gapEnd[q]!; d++) changed[pix[q]! * D + d] = r.rng.uniform();
    const after = weatherFeatures(changed, r.seen, P, D, forcing, pix.subarray(q, q + 1), day.subarray(q, q + 1), {
      drydown,
      gapStart: gapStart.subarray(q, q + 1),
      gapEnd: gapEnd.subarray(q, q + 1),
    });
    assert.deepEqual(Array.from(after), Array.from(base.subarray(q * names.length, (q + 1) * names.length)), `query ${q}`);
  }
});

test("property: since the previous and until the next retrieval split the rain between them exactly; the means since the previous are the means of the known days", () => {
  const [P, D] = [5, 100];
  const r = region(7, P, D);
  const forcing = { precipitation: r.precipitation, temperature: r.temperature, radiation: r.radiation };
  const pix = Int32Array.from({ length: P * D }, (_, i) => Math.floor(i / D));
  const day = Int32Array.from({ length: P * D }, (_, i) => i % D);
  const names = weatherFeatureNames(forcing);
  const out = weatherFeatures(r.smap, r.seen, P, D, forcing, pix, day);
  let checked = 0;
  for (let i = 0; i < P * D; i++) {
    const [p, d] = [pix[i]!, day[i]!];
    const f = featuresOf(out, names, i);
    const isSeen = (e: number) => r.seen[p * D + e] === 1 && !Number.isNaN(r.smap[p * D + e]!);
    let prev = d - 1;
    while (prev >= 0 && !isSeen(prev)) prev--;
    let next = d + 1;
    while (next < D && !isSeen(next)) next++;
    if (prev < 0) {
      assert.ok(Number.isNaN(f.wx_temperature_mean_since_prev!));
      continue;
    }
    const known = (a: number, b: number) => [...Array(b - a).keys()].map((k) => r.temperature[p * D + a + 1 + k]!);
    const mean = known(prev, d).reduce((s, v) => s + v, 0) / (d - prev);
    assert.ok(near(f.wx_temperature_mean_since_prev!, mean, 1e-9));
    if (next >= D) continue;
    let total = 0;
    for (let e = prev + 1; e <= next; e++) total += r.precipitation[p * D + e]!;
    assert.ok(near(f.wx_precip_since_prev! + f.wx_precip_until_next!, total, 1e-9), `pixel ${p} day ${d}`);
    if (!Number.isNaN(total)) checked++;
  }
  assert.ok(checked > 50, `${checked} complete intervals checked`);
});

test("fitDrydown recovers the e-folding time of noisy exponential drydowns per pixel; a pixel that is never dry gets the pooled median", () => {
  const rng = new Rng(11);
  const taus = [2.5, 5, 10, 20];
  const D = 365;
  const P = taus.length + 1;
  const precipitation = new Float64Array(P * D);
  const smap = new Float64Array(P * D).fill(NAN);
  for (let p = 0; p < P; p++) {
    const tau = taus[p] ?? 5;
    const [dry, wet] = [0.05 + 0.02 * p, 0.35];
    let theta = wet;
    for (let d = 0; d < D; d++) {
      // Storms every 12-20 days (every day for the last pixel), then the soil dries towards its dry level.
      const storm = p === taus.length || d % (12 + 2 * p) === 0;
      precipitation[p * D + d] = storm ? 25 : 0;
      theta = storm ? wet : dry + (theta - dry) * Math.exp(-1 / tau);
      if (rng.uniform() < 0.5) smap[p * D + d] = theta + 0.002 * rng.normal();
    }
  }
  const seen = Uint8Array.from(smap, (v) => (Number.isNaN(v) ? 0 : 1));
  const fit = fitDrydown(smap, seen, precipitation, P, D);
  taus.forEach((tau, p) => {
    assert.ok(fit.pairs[p]! >= 20, `pixel ${p}: ${fit.pairs[p]} pairs`);
    assert.ok(Math.abs(fit.tau[p]! - tau) <= 0.15 * tau, `pixel ${p}: tau ${fit.tau[p]} for ${tau}`);
  });
  assert.equal(fit.pairs[taus.length], 0);
  assert.equal(fit.tau[taus.length], fit.pooledTau);
  const own = [...fit.tau.subarray(0, taus.length)].sort((a, b) => a - b);
  assert.ok(near(fit.pooledTau, (own[1]! + own[2]!) / 2));
  for (let p = 0; p < P; p++) {
    let lo = Infinity;
    for (let d = 0; d < D; d++) if (seen[p * D + d]) lo = Math.min(lo, smap[p * D + d]!);
    // The fitted dry level lies below the smallest retrieval, near the true one; the pixel without a fit keeps its smallest.
    if (p < taus.length) assert.ok(fit.dry[p]! <= lo && Math.abs(fit.dry[p]! - (0.05 + 0.02 * p)) < 0.01, `pixel ${p}: dry ${fit.dry[p]}, smallest ${lo}`);
    else assert.equal(fit.dry[p], lo);
  }
});

test("extraterrestrial radiation matches FAO-56 (example 8: 20 S on 3 September, 32.2 MJ m-2 day-1; none in polar night) and Oudin's PET follows from it", () => {
  assert.ok(Math.abs(extraterrestrialRadiation(-20, 246) - 32.2) < 0.05, `${extraterrestrialRadiation(-20, 246)}`);
  assert.equal(extraterrestrialRadiation(80, 355), 0);
  assert.ok(extraterrestrialRadiation(80, 172) > 40); // polar day: more than the equator's ~38
  assert.ok(near(oudinPet(20, -20, 246), (extraterrestrialRadiation(-20, 246) * 25) / 245));
  assert.equal(oudinPet(-6, -20, 246), 0);
});

test("the group is empty without precipitation and names what each forcing adds, with units", () => {
  assert.deepEqual(weatherFeatureNames({ temperature: 1, radiation: 1 }), []);
  const some = new Float64Array(4);
  assert.deepEqual(weatherFeatures(some, new Uint8Array(4), 1, 4, { temperature: some }, Int32Array.of(0, 1), Int32Array.of(0, 1)).length, 0);
  const names = weatherFeatureNames({ precipitation: 1, temperature: 1 }, { rainThresholds: [2, 10], latitude: [10], doy: new Int32Array(1) });
  assert.deepEqual(names, [
    "wx_precip_since_prev",
    "wx_rain_days_since_prev",
    "wx_precip_until_next",
    "wx_rain_days_until_next",
    "wx_days_since_rain_2mm",
    "wx_days_since_rain_10mm",
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
  assert.deepEqual(
    weatherFeatureNames({ precipitation: 1, temperature: 1 }),
    names.slice(0, 4).concat(["wx_days_since_rain_1mm", "wx_days_since_rain_5mm", "wx_days_since_rain_20mm"], names.slice(6, 14)),
  );
  assert.deepEqual(weatherFeatureUnits(names, { smap: "m3 m-3", temperature: "degC" }), [
    "mm",
    "days",
    "mm",
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
});

test("Oudin's PET since the previous retrieval is the mean of its daily values (temperature and latitude, no PET in the study)", () => {
  const D = 6;
  const temperature = Float64Array.from([10, 12, 14, NAN, 20, 22]);
  const precipitation = new Float64Array(D);
  const smap = Float64Array.from([0.2, NAN, NAN, NAN, NAN, 0.2]);
  const seen = Uint8Array.from([1, 0, 0, 0, 0, 1]);
  const doy = Int32Array.from({ length: D }, (_, d) => 100 + d);
  const forcing = { precipitation, temperature };
  const o = { latitude: [35], doy };
  const names = weatherFeatureNames(forcing, o);
  const f = featuresOf(weatherFeatures(smap, seen, 1, D, forcing, Int32Array.of(0), Int32Array.of(4), o), names, 0);
  const expected = [1, 2, 4].map((d) => oudinPet(temperature[d]!, 35, doy[d]!)).reduce((s, v) => s + v, 0) / 3;
  assert.ok(near(f.wx_pet_mean_since_prev!, expected), `${f.wx_pet_mean_since_prev} vs ${expected}`);
});
