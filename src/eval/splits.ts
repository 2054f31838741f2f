/**
 * Honest splits of observed pixel-days into train, validation, calibration and test (the Role
 * values of features/roles.ts), and simulated gaps with the shapes real SMAP gaps have. A role
 * array holds one value per pixel-day, day-major like the cube ([t * P + p]).
 *
 *  - randomPixelDays: every observed pixel-day drawn independently (optimistic: neighbours in
 *    space and time of a test value are in training; reported, never the headline);
 *  - spatialBlocks: blocks of 8 x 8 pixels assigned whole to a role (k-fold over blocks);
 *  - temporal: whole days assigned to a role (runs of days, so a test day's neighbours are not
 *    all in training);
 *  - stations: the pixels that contain stations are held out entirely (independent stations);
 *  - simulatedGaps: observed values hidden in swath stripes, spatial blocks or runs of days;
 *  - transplantedGaps: SMAP's own missingness masks of other days (other years where the record
 *    allows) laid over observed days, so held-out values have the structure of real gaps;
 *  - period: every observation from a date on (prolongation: train before, test after).
 * Every design also hides calibration gaps among the training values (designRoles), on which the
 * uncertainty is calibrated, as the product model does (reconstruct/product-model.ts).
 */
import { Rng } from "../util/random.js";
import { SmapfillError } from "../util/errors.js";
import { observedRoles, Role, type HeldRole, type Roles } from "../features/roles.js";

export { observedRoles, roleCounts, Role, type Roles } from "../features/roles.js";

export interface SplitShares {
  validation: number;
  test: number;
  /** Gaps hidden for the uncertainty's calibration (designRoles; default none). */
  calibration?: number;
}

function pick(r: number, shares: SplitShares): Role {
  if (r < shares.test) return Role.Test;
  if (r < shares.test + shares.validation) return Role.Validation;
  return Role.Train;
}

export function randomPixelDays(observed: Float32Array, shares: SplitShares, seed: number): Roles {
  const rng = new Rng(seed);
  return Int8Array.from(observed, (v) => (Number.isNaN(v) ? Role.Unobserved : pick(rng.uniform(), shares)));
}

/** Blocks of `block` x `block` pixels, each given one role. */
export function spatialBlocks(observed: Float32Array, nrows: number, ncols: number, shares: SplitShares, seed: number, block = 8): Roles {
  const P = nrows * ncols;
  const rng = new Rng(seed);
  const bRows = Math.ceil(nrows / block);
  const bCols = Math.ceil(ncols / block);
  const blockRole = Int8Array.from({ length: bRows * bCols }, () => pick(rng.uniform(), shares));
  const pixelRole = Int8Array.from({ length: P }, (_, p) => blockRole[Math.floor(Math.floor(p / ncols) / block) * bCols + Math.floor((p % ncols) / block)]!);
  return Int8Array.from(observed, (v, k) => (Number.isNaN(v) ? Role.Unobserved : pixelRole[k % P]!));
}

/** k-fold over blocks of pixels: fold id (0..k-1) per pixel. */
export function blockFolds(nrows: number, ncols: number, k: number, seed: number, block = 8): Int32Array {
  const bRows = Math.ceil(nrows / block);
  const bCols = Math.ceil(ncols / block);
  const order = new Rng(seed).shuffle(Array.from({ length: bRows * bCols }, (_, i) => i));
  const fold = new Int32Array(bRows * bCols);
  order.forEach((b, i) => (fold[b] = i % k));
  return Int32Array.from({ length: nrows * ncols }, (_, p) => fold[Math.floor(Math.floor(p / ncols) / block) * bCols + Math.floor((p % ncols) / block)]!);
}

/** Runs of `runLength` whole days, each run given one role. */
export function temporal(observed: Float32Array, P: number, shares: SplitShares, seed: number, runLength = 10): Roles {
  const T = observed.length / P;
  const rng = new Rng(seed);
  const dayRole = new Int8Array(T);
  for (let t0 = 0; t0 < T; t0 += runLength) {
    const role = pick(rng.uniform(), shares);
    for (let t = t0; t < Math.min(T, t0 + runLength); t++) dayRole[t] = role;
  }
  return Int8Array.from(observed, (v, k) => (Number.isNaN(v) ? Role.Unobserved : dayRole[Math.floor(k / P)]!));
}

/** Holds out every pixel-day of the given pixels (Test); the rest keeps `base`. */
export function holdOutPixels(base: Roles, P: number, pixels: Iterable<number>): Roles {
  const held = new Set(pixels);
  return Int8Array.from(base, (r, k) => (r === Role.Unobserved ? r : held.has(k % P) ? Role.Test : r));
}

/**
 * The version of the held-out design (the gaps' kinds, shares and draws): an evaluation saved
 * under another is not resumed. 2: the transplanted kind; 3: calibration gaps transplanted only;
 * 4: a transplanted draw stops on the day its share is reached.
 */
export const HELD_OUT_DESIGN = 4;

export type GapShape = "swath" | "block" | "run";
export const GAP_SHAPES: readonly GapShape[] = ["swath", "block", "run"];
/** Every kind of held-out gap: the simulated shapes and real masks moved in time (`kinds` arrays hold 1 + the index here). */
export type GapKind = GapShape | "transplanted";
export const GAP_KINDS: readonly GapKind[] = [...GAP_SHAPES, "transplanted"];

/**
 * Hides about `share` of the observed pixel-days (role 2) in realistic shapes:
 *  swath: on random days, a diagonal stripe about 1/3 of the region wide (a missed overpass);
 *  block: on random days, a rectangle of about 1/4 x 1/4 of the region (clouds of RFI, frozen);
 *  run:   per pixel, runs of 5-15 consecutive days (instrument or retrieval outages).
 * Only training pixel-days of `base` are taken; they get `role` (validation and calibration gaps
 * have the test gaps' shapes, so that early stopping and the uncertainty see gaps like the ones
 * scored); the rest keeps its role. Test gaps fall on random days; validation and calibration
 * gaps on days spread evenly over the whole period (an additive golden-ratio sequence from a
 * random start), so that early stopping does not judge on a few days that happen to cluster in
 * one season of a long period.
 */
export function simulatedGaps(
  base: Roles,
  nrows: number,
  ncols: number,
  shape: GapShape,
  share: number,
  seed: number,
  role: HeldRole = Role.Test,
  kinds?: Uint8Array,
): Roles {
  const P = nrows * ncols;
  const T = base.length / P;
  const rng = new Rng(seed);
  const out = Int8Array.from(base);
  const observed = base.reduce((n, r) => n + (r === Role.Unobserved ? 0 : 1), 0);
  const target = share * observed;
  let hidden = 0;
  const hide = (t: number, p: number) => {
    const k = t * P + p;
    if (out[k] === Role.Train) {
      out[k] = role;
      if (kinds) kinds[k] = 1 + GAP_KINDS.indexOf(shape);
      hidden++;
    }
  };
  // Validation: the i-th gap's day is frac(u0 + i / phi) of the period (low discrepancy).
  const start = rng.uniform();
  let drawn = 0;
  const day = () => (role !== Role.Test ? Math.min(T - 1, Math.floor(((start + drawn++ * 0.6180339887498949) % 1) * T)) : rng.int(T));
  let guard = 0;
  // The guard stops a draw that cannot progress; it grows with the target (a continent needs many runs).
  while (hidden < target && guard++ < 100000 + 10 * target) {
    if (shape === "run") {
      const p = rng.int(P);
      const t0 = day();
      const len = 5 + rng.int(11);
      for (let t = t0; t < Math.min(T, t0 + len); t++) hide(t, p);
    } else if (shape === "block") {
      const t = day();
      const h = Math.max(1, Math.round(nrows / 4));
      const w = Math.max(1, Math.round(ncols / 4));
      const r0 = rng.int(Math.max(1, nrows - h + 1));
      const c0 = rng.int(Math.max(1, ncols - w + 1));
      for (let r = r0; r < r0 + h; r++) for (let c = c0; c < c0 + w; c++) hide(t, r * ncols + c);
    } else {
      const t = day();
      const width = Math.max(1, Math.round(ncols / 3));
      const offset = rng.int(ncols + nrows) - nrows;
      for (let r = 0; r < nrows; r++) {
        const c0 = offset + Math.round(r * 0.35);
        for (let c = Math.max(0, c0); c < Math.min(ncols, c0 + width); c++) hide(t, r * ncols + c);
      }
    }
  }
  return out;
}

/** Days of the record a transplanted run may take its donor mask from: one whole year or more away where the record spans one, else nearby days. */
const YEAR = 365;
const NEARBY_MAX_LAG = 45;
const YEAR_JITTER = 15;

export interface TransplantOptions {
  /** The cube's soil_moisture_missing_reason, day-major like the roles: each hidden pixel-day gets its donor cell's reason. */
  missingReasons?: Uint8Array;
  /** Receives the donor cell's reason of every pixel-day this draw hides (its `missingReasons` value; 0 without them). */
  reasonsOut?: Uint8Array;
  /** One byte per day: days other draws took as targets or donors (1). This draw avoids them and marks its own, so draws sharing it are disjoint in days and masks. */
  takenDays?: Uint8Array;
  /** Receives 1 + GAP_KINDS.indexOf("transplanted") for every pixel-day this draw hides. */
  kinds?: Uint8Array;
  /** Receives the runs drawn: target days [t0, t1) took the masks of days [t0 + lag, t1 + lag). */
  runs?: { t0: number; t1: number; lag: number }[];
}

/** What a design needs to hold out real gaps too: the cube's missing reasons (optional) and where each hidden row's donor reason goes. */
export type RealGaps = Pick<TransplantOptions, "missingReasons" | "reasonsOut">;

/**
 * Real gaps as held-out sets (the cross-validation of DINEOF and DINCAE): runs of 5-15
 * consecutive target days take SMAP's missingness mask of as many consecutive donor days, `lag`
 * days away, and every training value of a target day whose pixel SMAP missed on the donor day
 * is hidden (given `role`). The donor days lie a whole year or more away (+-15 days) where the
 * record has them, so a January is hidden by another January's frozen ground; otherwise 5-45
 * days away (never overlapping the target run). A hidden set so keeps the structure of SMAP's
 * gaps: swath edges, multi-day runs, whole regions (outages), and frozen ground where it happens.
 * Like simulatedGaps: about `share` of the observed pixel-days (the last run stops on the day
 * the share is reached), test runs on random days, validation and calibration runs spread evenly
 * over the period; pure and seeded.
 */
export function transplantedGaps(
  base: Roles,
  nrows: number,
  ncols: number,
  share: number,
  seed: number,
  role: HeldRole = Role.Test,
  o: TransplantOptions = {},
): Roles {
  const P = nrows * ncols;
  const T = base.length / P;
  const rng = new Rng(seed);
  const out = Int8Array.from(base);
  const target = share * base.reduce((n, r) => n + (r === Role.Unobserved ? 0 : 1), 0);
  const kind = 1 + GAP_KINDS.indexOf("transplanted");
  const mine = new Uint8Array(T);
  const free = (t0: number, t1: number) => {
    for (let t = t0; t < t1; t++) if (o.takenDays?.[t]) return false;
    return true;
  };
  const years = Math.floor((T - 1) / YEAR);
  const fits = (t0: number, t1: number, lag: number) => lag !== 0 && t0 + lag >= 0 && t1 + lag <= T && free(t0 + lag, t1 + lag);
  /** Another year's days where the record has them (either direction), else nearby days; undefined when none fits. */
  const lagOf = (t0: number, t1: number, len: number): number | undefined => {
    const sign = rng.uniform() < 0.5 ? -1 : 1;
    if (years >= 1) {
      const jitter = rng.int(2 * YEAR_JITTER + 1) - YEAR_JITTER;
      const yearly = rng.shuffle(Array.from({ length: years }, (_, k) => YEAR * (k + 1) + jitter)).flatMap((l) => [sign * l, -sign * l]);
      const lag = yearly.find((l) => fits(t0, t1, l));
      if (lag !== undefined) return lag;
    }
    const nearby = len + rng.int(Math.max(1, NEARBY_MAX_LAG - len + 1));
    for (const lag of [sign * nearby, -sign * nearby]) if (fits(t0, t1, lag)) return lag;
    return undefined;
  };
  const start = rng.uniform();
  let drawn = 0;
  const day = () => (role !== Role.Test ? Math.min(T - 1, Math.floor(((start + drawn++ * 0.6180339887498949) % 1) * T)) : rng.int(T));
  let hidden = 0;
  let guard = 0;
  while (hidden < target && guard++ < 100000 + 10 * target) {
    const t0 = day();
    const len = 5 + rng.int(11);
    const t1 = Math.min(T, t0 + len);
    if (!free(t0, t1)) continue;
    const lag = lagOf(t0, t1, len);
    if (lag === undefined) continue;
    // Day by day until the share is reached: a donor run of outage days hides whole days, and a
    // run of 15 of them at once overshot the share several times over (a half-year cube with four
    // months of outages held out 27 % as test and 19 % as validation instead of 20 and 10).
    let t = t0;
    for (; t < t1 && hidden < target; t++) {
      mine[t] = 1;
      mine[t + lag] = 1;
      for (let p = 0; p < P; p++) {
        const k = t * P + p;
        const donor = (t + lag) * P + p;
        if (out[k] !== Role.Train || base[donor] !== Role.Unobserved) continue;
        out[k] = role;
        if (o.kinds) o.kinds[k] = kind;
        if (o.reasonsOut) o.reasonsOut[k] = o.missingReasons?.[donor] ?? 0;
        hidden++;
      }
    }
    o.runs?.push({ t0, t1: t, lag });
  }
  if (o.takenDays) for (let t = 0; t < T; t++) if (mine[t]) o.takenDays[t] = 1;
  return out;
}

/**
 * The evaluation design for gap filling: about `test` of the observed pixel-days hidden as test
 * gaps, `validation` as validation gaps and `calibration` as calibration gaps, each an equal mix
 * of swaths, blocks and runs, and, with `transplant`, of real gaps moved in time
 * (transplantedGaps; the test's, the validation's and the calibration's transplanted gaps use
 * disjoint days and masks). With `transplant`, the calibration gaps are real gaps moved in time
 * only: the uncertainty is calibrated on gaps with the structure of the ones a product fills
 * (their distances to the nearest retrieval, their reasons); where the record has too few free
 * days for them (under half the share: a month-long cube), the simulated shapes make up the rest. With `kinds`, the kind that hid each pixel-day is written there (1 +
 * its index in GAP_KINDS; the roles tell test from validation and calibration gaps).
 */
export function mixedGaps(observed: Float32Array, ...design: DesignArguments): Roles {
  return mixedGapsOf(observedRoles(observed), ...design);
}

function countRole(roles: Roles, role: Role): number {
  let n = 0;
  for (const r of roles) if (r === role) n++;
  return n;
}

/** mixedGapsOf's arguments after the observed roles. */
type DesignArguments = Parameters<typeof mixedGapsOf> extends [Roles, ...infer Rest] ? Rest : never;

/** mixedGaps from the observed roles rather than the values: a cube read tile by tile needs 1 byte per pixel-day, not 4. */
export function mixedGapsOf(
  observed: Roles,
  nrows: number,
  ncols: number,
  shares: SplitShares,
  seed: number,
  kinds?: Uint8Array,
  transplant?: RealGaps,
): Roles {
  const mix: readonly GapKind[] = transplant ? GAP_KINDS : GAP_SHAPES;
  const takenDays = new Uint8Array(observed.length / (nrows * ncols));
  let roles = observed;
  // Each role's gaps come from their own seed stream (test 2, validation 1, calibration 3).
  for (const [role, share, stream] of [
    [Role.Test, shares.test, 2],
    [Role.Validation, shares.validation, 1],
    [Role.Calibration, shares.calibration ?? 0, 3],
  ] as const) {
    if (!(share > 0)) continue;
    if (role === Role.Calibration && transplant) {
      const before = countRole(roles, role);
      roles = transplantedGaps(roles, nrows, ncols, share, seed + 101 * stream + GAP_KINDS.indexOf("transplanted"), role, {
        ...transplant,
        ...(kinds ? { kinds } : {}),
        takenDays,
      });
      const observedCount = roles.reduce((n, r) => n + (r === Role.Unobserved ? 0 : 1), 0);
      const missing = share - (countRole(roles, role) - before) / Math.max(1, observedCount);
      if (missing > share / 2)
        GAP_SHAPES.forEach(
          (shape, i) => (roles = simulatedGaps(roles, nrows, ncols, shape, missing / GAP_SHAPES.length, seed + 101 * stream + i, role, kinds)),
        );
      continue;
    }
    mix.forEach((kind, i) => {
      const seedOf = seed + 101 * stream + i;
      roles =
        kind === "transplanted"
          ? transplantedGaps(roles, nrows, ncols, share / mix.length, seedOf, role, {
              ...transplant,
              ...(kinds ? { kinds } : {}),
              takenDays,
            })
          : simulatedGaps(roles, nrows, ncols, kind, share / mix.length, seedOf, role, kinds);
    });
  }
  return roles;
}

/**
 * The prolongation design: every observation on days [testFrom, testTo] is a test value, the
 * days after testTo are left out (Unobserved: no later value may feed a feature), validation is
 * the last `validationShare` of the days before testFrom that hold observations.
 */
export function periodRoles(observed: Roles, P: number, testFrom: number, testTo: number, validationShare: number): Roles {
  const T = observed.length / P;
  const withData: number[] = [];
  for (let t = 0; t < Math.min(T, testFrom); t++) {
    for (let p = 0; p < P; p++)
      if (observed[t * P + p] !== Role.Unobserved) {
        withData.push(t);
        break;
      }
  }
  const firstValidation = withData[Math.max(0, Math.min(withData.length - 1, Math.floor(withData.length * (1 - validationShare))))] ?? testFrom;
  return Int8Array.from(observed, (r, k) => {
    if (r === Role.Unobserved) return r;
    const t = Math.floor(k / P);
    if (t > testTo) return Role.Unobserved;
    if (t >= testFrom) return Role.Test;
    return t >= firstValidation ? Role.Validation : Role.Train;
  });
}

export type HeldOut = "gaps" | "temporal" | "spatial" | "stations" | "random" | "period";

export interface DesignOptions {
  shares: SplitShares;
  seed: number;
  /** Real gaps too (the transplanted kind) where the design hides gaps: the cube's missing reasons, and where each hidden test row's donor reason goes. */
  transplant?: RealGaps;
  /** The stations split: the pixels holding stations. */
  stationPixels?: number[];
  /** The period split: the first and last test day (indices into the window's days). */
  period?: { from: number; to: number };
  /** Filled with the shape that hid each test pixel-day (1 + index in GAP_SHAPES). */
  kinds?: Uint8Array;
}

/**
 * The roles of one design over a window's observed roles (day-major; 1 byte per pixel-day, so a
 * continental cube's roles fit in memory): the split's test (and its validation) values, then
 * calibration gaps among the training values (mixed shapes, as the product model hides them).
 * "product" hides validation and calibration gaps only (the product model's design).
 */
export function designRoles(split: HeldOut | "product", observed: Roles, nrows: number, ncols: number, o: DesignOptions): Roles {
  const P = nrows * ncols;
  const { shares, seed } = o;
  const calibration = shares.calibration ?? 0;
  const t = o.transplant;
  const withCalibration = (roles: Roles) => mixedGapsOf(roles, nrows, ncols, { validation: 0, test: 0, calibration }, seed + 17, undefined, t);
  if (split === "product") return mixedGapsOf(observed, nrows, ncols, { validation: shares.validation, test: 0, calibration }, seed, undefined, t);
  if (split === "gaps") return mixedGapsOf(observed, nrows, ncols, shares, seed, o.kinds, t);
  if (split === "stations") {
    if (!o.stationPixels?.length)
      throw new SmapfillError("the stations split needs stations inside the cube", { variable: "--splits", hint: "Give --ismn with stations in the region" });
    return holdOutPixels(mixedGapsOf(observed, nrows, ncols, { validation: shares.validation, test: 0, calibration }, seed, undefined, t), P, o.stationPixels);
  }
  if (split === "period") {
    if (!o.period) throw new SmapfillError("the period split needs the first test day", { variable: "--test-start", hint: "Give --test-start YYYY-MM-DD" });
    return withCalibration(periodRoles(observed, P, o.period.from, o.period.to, shares.validation));
  }
  // The designs below draw from values: NaN where unobserved.
  const values = Float32Array.from(observed, (r) => (r === Role.Unobserved ? NaN : 0));
  if (split === "temporal") return withCalibration(temporal(values, P, shares, seed));
  if (split === "spatial") return withCalibration(spatialBlocks(values, nrows, ncols, shares, seed));
  return withCalibration(randomPixelDays(values, shares, seed));
}
