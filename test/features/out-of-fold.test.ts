import { test } from "node:test";
import assert from "node:assert/strict";
import { FeatureBuilder, type SampleArrays } from "../../src/features/samples.js";
import { mixedGaps } from "../../src/eval/splits.js";
import { Rng } from "../../src/util/random.js";

const [nrows, ncols, T] = [5, 6, 150];
const P = nrows * ncols;

function world(seed: number): SampleArrays {
  const rng = new Rng(seed);
  const smap = Float32Array.from({ length: T * P }, (_, k) => (rng.uniform() < 0.45 ? 0.1 + 0.2 * Math.sin(k / 40) ** 2 + 0.05 * rng.uniform() : NaN));
  const rain = Float32Array.from({ length: T * P }, () => rng.uniform());
  return { P, T, nrows, ncols, startDay: 18000, smap, dynamic: new Map([["rain", rain]]), static: new Map(), units: new Map([["rain", "mm"]]) };
}

const tsColumns = (b: FeatureBuilder) => b.names.flatMap((n, j) => (n.startsWith("ts_") ? [j] : []));
const contextColumns = (b: FeatureBuilder) => ["ts_clim_doy", "ts_prev_value", "ts_prev_gap", "ts_next_value", "ts_next_gap"].map((n) => b.names.indexOf(n));

test("out-of-fold: changing a training row's own target changes none of that row's inputs", () => {
  const a = world(1);
  const roles = mixedGaps(a.smap, nrows, ncols, { validation: 0.1, test: 0.2 }, 3);
  const train = [...roles.keys()].filter((k) => roles[k] === 0).slice(0, 40);
  const pixel = Int32Array.from(train, (k) => k % P);
  const day = Int32Array.from(train, (k) => Math.floor(k / P));
  const before = new FeatureBuilder(a, roles, { tsMode: "out-of-fold", seed: 7 });
  const X = before.rows(pixel, day);
  const F = before.names.length;
  train.forEach((k, i) => {
    const changed = { ...a, smap: Float32Array.from(a.smap, (v, kk) => (kk === k ? v + 0.25 : v)) };
    const row = new FeatureBuilder(changed, roles, { tsMode: "out-of-fold", seed: 7 }).rows(Int32Array.of(pixel[i]!), Int32Array.of(day[i]!));
    assert.deepEqual(row, X.subarray(i * F, (i + 1) * F), `row ${i}`);
  });
  // In-sample (the paper's reading), the same change moves the row's statistics: the test can fail.
  const k = train[0]!;
  const inSample = (s: Float32Array) => new FeatureBuilder({ ...a, smap: s }, roles).rows(Int32Array.of(pixel[0]!), Int32Array.of(day[0]!));
  assert.notDeepEqual(inSample(Float32Array.from(a.smap, (v, kk) => (kk === k ? v + 0.25 : v))), inSample(a.smap));
});

test("out-of-fold: values inside a training row's drawn gap change none of its context terms; its fold's values none of its statistics", () => {
  const a = world(2);
  const roles = mixedGaps(a.smap, nrows, ncols, { validation: 0.1, test: 0.2 }, 4);
  const b = new FeatureBuilder(a, roles, { tsMode: "out-of-fold", seed: 11 });
  const ctx = contextColumns(b);
  const F = b.names.length;
  let tested = 0;
  for (const k of [...roles.keys()].filter((kk) => roles[kk] === 0).slice(0, 60)) {
    const [p, t] = [k % P, Math.floor(k / P)];
    const gap = b.gapOf(p, t)!;
    assert.ok(gap[0] <= t && t <= gap[1], "the row lies in its gap");
    const inGap = Float32Array.from(a.smap, (v, kk) => (kk % P === p && Math.floor(kk / P) >= gap[0] && Math.floor(kk / P) <= gap[1] ? v + 0.3 : v));
    const x0 = b.rows(Int32Array.of(p), Int32Array.of(t));
    const x1 = new FeatureBuilder({ ...a, smap: inGap }, roles, { tsMode: "out-of-fold", seed: 11 }).rows(Int32Array.of(p), Int32Array.of(t));
    for (const j of ctx) assert.ok(Object.is(x0[j], x1[j]), `context ${b.names[j]} of row ${k}`);
    if (gap[1] > gap[0]) tested++;
  }
  assert.ok(tested > 20, `${tested} rows had gaps longer than a day`);
  // The drawn gaps follow the held-out gaps' lengths: most are longer than one day.
  const lengths = [...roles.keys()]
    .filter((kk) => roles[kk] === 0)
    .map((kk) => b.gapOf(kk % P, Math.floor(kk / P))!)
    .map(([s, e]) => e - s + 1);
  assert.ok(lengths.reduce((x, y) => x + y, 0) / lengths.length > 2);
  // Statistics: a training row in the first fold does not see the first fold's values.
  const k = [...roles.keys()].find((kk) => roles[kk] === 0 && Math.floor(kk / P) < T / 5)!;
  const [p, t] = [k % P, Math.floor(k / P)];
  const firstFold = Float32Array.from(a.smap, (v, kk) => (Math.floor(kk / P) < Math.floor(T / 5) ? v + 0.2 : v));
  const stats = (s: Float32Array) => {
    const x = new FeatureBuilder({ ...a, smap: s }, roles, { tsMode: "out-of-fold", seed: 11 }).rows(Int32Array.of(p), Int32Array.of(t));
    return tsColumns(b)
      .filter((j) => !ctx.includes(j))
      .map((j) => x[j]);
  };
  assert.deepEqual(stats(firstFold), stats(a.smap));
  void F;
});

test("out-of-fold changes training rows only: validation, test and unobserved rows equal in-sample", () => {
  const a = world(3);
  const roles = mixedGaps(a.smap, nrows, ncols, { validation: 0.1, test: 0.2 }, 5);
  const others = [...roles.keys()].filter((k) => roles[k] !== 0).slice(0, 200);
  const pixel = Int32Array.from(others, (k) => k % P);
  const day = Int32Array.from(others, (k) => Math.floor(k / P));
  const oof = new FeatureBuilder(a, roles, { tsMode: "out-of-fold", seed: 1 });
  assert.deepEqual(oof.rows(pixel, day), new FeatureBuilder(a, roles).rows(pixel, day));
  assert.equal(oof.schema().ts_mode, "out-of-fold");
});

test("out-of-fold folds are runs of the days with data: a period with empty months (January and June) keeps part of each month in a row's statistics", () => {
  // 180 days: 30 days at 0.1, 120 empty days, 30 days at 0.4 (one pixel, every data day observed).
  const days = 180;
  const smap = Float32Array.from({ length: days }, (_, t) => (t < 30 ? 0.1 : t >= 150 ? 0.4 : NaN));
  const a: SampleArrays = { P: 1, T: days, nrows: 1, ncols: 1, startDay: 18262, smap, dynamic: new Map(), static: new Map(), units: new Map() };
  const roles = Int8Array.from(smap, (v) => (Number.isNaN(v) ? -1 : 0));
  const b = new FeatureBuilder(a, roles, { tsMode: "out-of-fold", seed: 1 });
  const mean = b.names.indexOf("ts_mean");
  const F = b.names.length;
  const X = b.rows(
    Int32Array.from({ length: 60 }, () => 0),
    Int32Array.from({ length: 60 }, (_, i) => (i < 30 ? i : 120 + i)),
  );
  // Five folds of 12 data days: a January row's fold hides 12 of January's 30 days, not all of
  // them (calendar folds of 36 days would have hidden all of January: mean 0.4, June's alone).
  for (let i = 0; i < 30; i++) {
    const m = X[i * F + mean]!;
    const expected = i < 24 ? (18 * 0.1 + 30 * 0.4) / 48 : (24 * 0.1 + 24 * 0.4) / 48; // the third fold spans both months
    assert.ok(Math.abs(m - expected) < 1e-6, `January day ${i}: ts_mean ${m}, expected ${expected}`);
  }
});
