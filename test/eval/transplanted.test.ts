import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Cube } from "../../src/cube/cube.js";
import { ingestSmap } from "../../src/cube/ingest-smap.js";
import { readMissingReasons } from "../../src/cube/missing-reasons.js";
import { observedRoles, Role } from "../../src/features/roles.js";
import { settingsKey, type EvaluationConfig } from "../../src/eval/config.js";
import { GAP_KINDS, GAP_SHAPES, HELD_OUT_DESIGN, mixedGaps, mixedGapsOf, simulatedGaps, transplantedGaps, type Roles } from "../../src/eval/splits.js";
import { Rng } from "../../src/util/random.js";
import { realFile, tempDir } from "../helpers.js";

const TRANSPLANTED = 1 + GAP_KINDS.indexOf("transplanted");

/** A record with real-looking gaps: per day a swath stripe missing, a frozen winter block, and an outage; reasons encode the day. */
function world(T: number, nrows: number, ncols: number, seed: number, outages = 0.02) {
  const P = nrows * ncols;
  const rng = new Rng(seed);
  const base: Roles = new Int8Array(T * P);
  const reasons = new Uint8Array(T * P);
  for (let t = 0; t < T; t++) {
    const offset = (t * 3) % ncols;
    const winter = t % 365 < 60;
    const outage = rng.uniform() < outages;
    for (let p = 0; p < P; p++) {
      const [r, c] = [Math.floor(p / ncols), p % ncols];
      const missing = outage || (c - offset + ncols) % ncols < ncols / 3 || (winter && r < nrows / 2) || rng.uniform() < 0.05;
      base[t * P + p] = missing ? -1 : 0;
      reasons[t * P + p] = missing ? 2 + (t % 250) : 1;
    }
  }
  return { base, reasons, P };
}

function checkDraw(T: number, years: boolean, outages = 0.02) {
  const [nrows, ncols] = [6, 9];
  const { base, reasons, P } = world(T, nrows, ncols, 3, outages);
  const runs: { t0: number; t1: number; lag: number }[] = [];
  const kinds = new Uint8Array(base.length);
  const reasonsOut = new Uint8Array(base.length);
  const roles = transplantedGaps(base, nrows, ncols, 0.1, 7, Role.Test, { missingReasons: reasons, reasonsOut, kinds, runs });
  assert.ok(runs.length > 3);
  const covered = new Int32Array(T).fill(-1);
  for (const [i, { t0, t1, lag }] of runs.entries()) {
    // The last run stops on the day the share is reached.
    assert.ok(t1 - t0 >= 1 && t1 - t0 <= 15 && (t1 - t0 >= 5 || t1 === T || i === runs.length - 1), `run ${t0}..${t1}`);
    assert.ok(t0 + lag >= 0 && t1 + lag <= T);
    const yearly = Math.abs(lag) >= 365 - 15 && Math.abs(lag) <= 365 * Math.floor((T - 1) / 365) + 15;
    const nearby = Math.abs(lag) >= t1 - t0 && Math.abs(lag) <= 45;
    assert.ok(years ? yearly : nearby, `lag ${lag}: ${years ? "another year" : "nearby, never overlapping"}`);
    for (let t = t0; t < t1; t++) {
      covered[t] = lag;
      // The whole donor mask is laid over the target day: every training value under it is hidden.
      for (let p = 0; p < P; p++) if (base[t * P + p] === 0 && base[(t + lag) * P + p]! < 0) assert.equal(roles[t * P + p], Role.Test, `day ${t} pixel ${p}`);
    }
  }
  let hidden = 0;
  const observed = base.reduce((n, r) => n + (r >= 0 ? 1 : 0), 0);
  for (let k = 0; k < base.length; k++) {
    if (roles[k] === base[k]) continue;
    hidden++;
    const [t, p] = [Math.floor(k / P), k % P];
    assert.equal(base[k], 0, "only training values are hidden");
    assert.equal(kinds[k], TRANSPLANTED);
    // Hidden under some run's donor day, and carrying that donor cell's reason.
    const lags = runs.filter((r) => r.t0 <= t && t < r.t1).map((r) => r.lag);
    assert.ok(
      lags.some((lag) => base[(t + lag) * P + p]! < 0 && reasons[(t + lag) * P + p] === reasonsOut[k]),
      `day ${t} pixel ${p}`,
    );
  }
  // The share, overshot by at most the last day's mask.
  assert.ok(hidden >= 0.1 * observed && hidden < 0.1 * observed + P, `${hidden} hidden of ${observed}`);
  // Pure and seeded.
  assert.deepEqual(transplantedGaps(base, nrows, ncols, 0.1, 7, Role.Test, { missingReasons: reasons }), roles);
  assert.notDeepEqual(transplantedGaps(base, nrows, ncols, 0.1, 8, Role.Test), roles);
}

test("transplanted gaps, a year of record: whole masks of nearby days laid over runs of observed days, each row with its donor's reason", () => {
  checkDraw(200, false);
});

test("transplanted gaps, several years: the masks come from the same season of another year", () => {
  checkDraw(3 * 365, true);
});

test("transplanted gaps on a record with many outages (whole days missing): the share holds, no run hides more than needed", () => {
  checkDraw(300, false, 0.3);
});

test("the test's and the validation's transplanted gaps share no day, as targets or as donors", () => {
  const [nrows, ncols] = [5, 5];
  const { base } = world(400, nrows, ncols, 4);
  const takenDays = new Uint8Array(400);
  const testRuns: { t0: number; t1: number; lag: number }[] = [];
  const validationRuns: typeof testRuns = [];
  const afterTest = transplantedGaps(base, nrows, ncols, 0.1, 1, Role.Test, { takenDays, runs: testRuns });
  transplantedGaps(afterTest, nrows, ncols, 0.05, 2, Role.Validation, { takenDays, runs: validationRuns });
  const days = (runs: typeof testRuns) => new Set(runs.flatMap(({ t0, t1, lag }) => Array.from({ length: t1 - t0 }, (_, i) => [t0 + i, t0 + i + lag]).flat()));
  const a = days(testRuns);
  const b = days(validationRuns);
  assert.ok(a.size > 20 && b.size > 10);
  for (const d of b) assert.ok(!a.has(d), `day ${d} in both`);
});

test("mixed gaps with transplanted real gaps: four kinds for test and validation; without, the three simulated shapes as before", () => {
  const [nrows, ncols] = [8, 10];
  const { base, reasons } = world(150, nrows, ncols, 5);
  const obs = Float32Array.from(base, (r) => (r < 0 ? NaN : 0.2));
  const kinds = new Uint8Array(base.length);
  const reasonsOut = new Uint8Array(base.length);
  const roles = mixedGaps(obs, nrows, ncols, { test: 0.2, validation: 0.1 }, 3, kinds, { missingReasons: reasons, reasonsOut });
  for (const role of [Role.Validation, Role.Test])
    for (const kind of GAP_KINDS)
      assert.ok(
        kinds.some((k, i) => roles[i] === role && k === 1 + GAP_KINDS.indexOf(kind)),
        `role ${role} has ${kind} gaps`,
      );
  assert.ok(reasonsOut.every((r, i) => (kinds[i] === TRANSPLANTED) === r > 0));
  // Without `transplant` the design is the three simulated shapes, in order, as it always was.
  let expected = observedRoles(obs);
  for (const [role, share, stream] of [
    [Role.Test, 0.2, 2],
    [Role.Validation, 0.1, 1],
  ] as const)
    GAP_SHAPES.forEach((shape, i) => (expected = simulatedGaps(expected, nrows, ncols, shape, share / 3, 3 + 101 * stream + i, role)));
  assert.deepEqual(mixedGapsOf(observedRoles(obs), nrows, ncols, { test: 0.2, validation: 0.1 }, 3), expected);
});

test("on real SMAP masks (Pakistan, January 2020) transplanted gaps are spatially coherent, as real gaps are, unlike runs of days", async (t) => {
  const cubePath = path.join(tempDir(), "pk.zarr");
  await ingestSmap({
    granules: realFile("pakistan_2020", "SPL3SMP_E"),
    cube: cubePath,
    resolution: "9km",
    bbox: { south: 25.0, north: 28.5, west: 67.0, east: 73.0 },
    start: "2020-01-01",
    end: "2020-01-31",
    quiet: true,
  });
  const cube = await Cube.open(cubePath);
  const { nrows, ncols } = cube.window;
  const P = nrows * ncols;
  const sm = await cube.readBlock("soil_moisture", 0, cube.days);
  const base = observedRoles(sm);
  const reasonsOut = new Uint8Array(base.length);
  const transplanted = transplantedGaps(base, nrows, ncols, 0.1, 11, Role.Test, { missingReasons: await readMissingReasons(cube), reasonsOut });
  const runs = simulatedGaps(base, nrows, ncols, "run", 0.1, 11);
  // Of the observed neighbours (same day, 4-neighbourhood) of a hidden value, the share hidden too.
  const coherence = (roles: Roles) => {
    let [both, pairs] = [0, 0];
    for (let k = 0; k < roles.length; k++) {
      if (roles[k] !== Role.Test) continue;
      const [r, c] = [Math.floor((k % P) / ncols), k % ncols];
      for (const [dr, dc] of [
        [0, 1],
        [1, 0],
        [0, -1],
        [-1, 0],
      ] as const) {
        if (r + dr < 0 || r + dr >= nrows || c + dc < 0 || c + dc >= ncols) continue;
        const n = k + dr * ncols + dc;
        if (base[n]! < 0) continue;
        pairs++;
        if (roles[n] === Role.Test) both++;
      }
    }
    return both / pairs;
  };
  const [a, b] = [coherence(transplanted), coherence(runs)];
  assert.ok(a > 0.6 && a > 3 * b, `transplanted ${a.toFixed(3)}, runs ${b.toFixed(3)}`);
  // The re-assembled granules say nothing of why: every hidden row's donor reason is 'unknown' (code 4).
  assert.ok(reasonsOut.every((r, k) => (transplanted[k] === Role.Test) === (r === 4)));
  t.diagnostic(`neighbours hidden too: transplanted ${a.toFixed(3)}, runs of days ${b.toFixed(3)}`);
});

test("an evaluation saved under an earlier design of held-out gaps is not resumed (its models trained on other rows)", () => {
  const c = { cube: "c.zarr", out: "eval", seed: 0, testShare: 0.2, validationShare: 0.1 } as unknown as EvaluationConfig;
  const key = JSON.parse(settingsKey(c));
  assert.equal(key.heldOutDesign, HELD_OUT_DESIGN);
  assert.ok(HELD_OUT_DESIGN >= 2, "the transplanted kind is design 2");
  const { heldOutDesign: _d, ...before } = key;
  assert.notEqual(settingsKey(c), JSON.stringify(before));
});
