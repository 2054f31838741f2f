/**
 * Why SMAP has no value, per pixel-day: the cube variable `soil_moisture_missing_reason` (uint8), written
 * by SMAP ingestion beside `soil_moisture` from the granules' own flags (io/smap-flags.ts), and
 * completed by the study's temperature predictors (`smap.frozen_from`).
 *
 * One byte per pixel-day, a CF flag variable (flag_values with flag_masks, flag_meanings):
 *   bits 0-4  the cause, one of io/smap-flags.ts's MISSING_CAUSES (1 = observed, the day has a
 *             value; 0 = fill, a day not ingested yet)
 *   bit 5     the retrieval exists but the study's `quality:` rule rejected it; the cause then
 *             says which surface condition made SMAP rate it below the rule
 *             (retrieval_failed_other: none was flagged)
 *   bit 6     a soil or skin temperature predictor of the study is below 0 degC that day
 *             (set on missing pixel-days only; recomputed by every ingestion of the predictors)
 *
 * A day's two passes are combined by precedence (the more informative reason wins), so a day
 * the AM pass missed outside its swath and the PM pass saw frozen is "frozen_ground". The name
 * starts with soil_moisture, as SMAP's own variables do, so that no model takes it for a
 * predictor (it says whether SMAP saw the day).
 */
import { normaliseUnit } from "../io/units.js";
import { CAUSE, CAUSE_MASK, combinePassReasons, MISSING_CAUSES, REJECTED_BY_QUALITY, type MissingCause } from "../io/smap-flags.js";
import { SmapfillError } from "../util/errors.js";
import type { Cube, VariableSpec } from "./cube.js";

export const MISSING_REASON_VARIABLE = "soil_moisture_missing_reason";
export const BELOW_FREEZING = 0x40;

/** The reason a gap is counted under: rejected retrievals apart, and the cube's temperature where SMAP gave no cause. */
export type GapReason = Exclude<MissingCause, "observed"> | "rejected_by_quality_rule" | "temperature_below_freezing";
export const GAP_REASONS: readonly GapReason[] = [
  ...MISSING_CAUSES.filter((c): c is Exclude<MissingCause, "observed"> => c !== "observed"),
  "rejected_by_quality_rule",
  "temperature_below_freezing",
];

/** What each reason means, for tables and the variable's comment. */
export const GAP_REASON_DESCRIPTIONS: Record<GapReason, string> = {
  no_granule: "no granule for the day (an outage, or not downloaded or unreadable)",
  not_in_swath: "outside the swath: no overpass (surface_flag 2047)",
  unknown: "no flags where the value is missing (re-assembled or subset granules)",
  frozen_ground: "frozen ground (surface_flag bit 7 with a successful freeze/thaw retrieval, or bit 8)",
  snow_or_ice: "snow or ice (surface_flag bits 5-6)",
  precipitation: "precipitation (surface_flag bit 4)",
  open_water: "open water (surface_flag bits 0-1)",
  urban_area: "urban area (surface_flag bit 3)",
  dense_vegetation: "dense vegetation (surface_flag bit 10)",
  mountainous_terrain: "mountainous terrain (surface_flag bit 9)",
  coastal_proximity: "coastal proximity (surface_flag bit 2)",
  retrieval_failed_other: "retrieval failed, other (no surface condition flagged; RFI among others)",
  outside_valid_range: "a value outside the product's valid_min..valid_max",
  rejected_by_quality_rule: "a retrieval the study's quality rule rejected",
  temperature_below_freezing: "no cause from SMAP, and a temperature predictor of the study below 0 degC",
};

/** The cube variable's specification: CF flag_values/flag_masks/flag_meanings. */
export function missingReasonVariable(quality: string): VariableSpec {
  const causes = MISSING_CAUSES.map((c) => CAUSE[c]);
  return {
    name: MISSING_REASON_VARIABLE,
    kind: "dynamic",
    units: "1",
    long_name: "why SMAP has no soil moisture value that day",
    dtype: "uint8",
    attributes: {
      flag_values: [...causes, REJECTED_BY_QUALITY, BELOW_FREEZING],
      flag_masks: [...causes.map(() => CAUSE_MASK), REJECTED_BY_QUALITY, BELOW_FREEZING],
      flag_meanings: [...MISSING_CAUSES, "rejected_by_quality_rule", "temperature_below_freezing"].join(" "),
      quality,
      comment:
        "Bits 0-4: the cause (1 = observed). Bit 5: the retrieval exists but the study's quality rule rejected it (bits 0-4: the surface condition behind its quality). Bit 6: a soil or skin temperature predictor of the study is below 0 degC. Decoded from retrieval_qual_flag and surface_flag of SPL3SMP / SPL3SMP_E (NSIDC data fields and flag guide); a day's AM and PM reasons are combined by precedence. 0 = not ingested.",
    },
  };
}

/** The daily reason of each cell from its AM and PM reasons (in place into `am` when `out` is it). */
export function combineDayReasons(am: Uint8Array, pm: Uint8Array, out: Uint8Array): void {
  for (let i = 0; i < out.length; i++) out[i] = combinePassReasons(am[i]!, pm[i]!);
}

/** Whether a code says the day has a value. */
export const isObserved = (code: number) => (code & CAUSE_MASK) === CAUSE.observed;

/** The reason a missing pixel-day is counted under (undefined: observed, or not ingested). */
export function gapReason(code: number): GapReason | undefined {
  const cause = code & CAUSE_MASK;
  if (cause === 0 || cause === CAUSE.observed) return undefined;
  if (code & REJECTED_BY_QUALITY) return "rejected_by_quality_rule";
  const name = MISSING_CAUSES[cause - 1];
  if (!name || name === "observed") return undefined;
  if ((name === "unknown" || name === "retrieval_failed_other") && code & BELOW_FREEZING) return "temperature_below_freezing";
  return name;
}

/**
 * Whether a missing pixel-day counts as frozen for the product's frozen-ground policy
 * (reconstruct --frozen): SMAP's frozen-ground or snow-or-ice cause (a retrieval skipped, or
 * kept and rejected by the study's quality rule), or a temperature predictor below 0 degC
 * (smap.frozen_from). Snow counts with frozen ground as ESA CCI SM's flag does ("snow coverage
 * or temperature below zero"): the liquid water a radiometer sees under either is not the soil
 * moisture of a thawed day.
 */
export function isFrozenGap(code: number): boolean {
  const cause = code & CAUSE_MASK;
  if (cause === 0 || cause === CAUSE.observed) return false;
  return cause === CAUSE.frozen_ground || cause === CAUSE.snow_or_ice || (code & BELOW_FREEZING) !== 0;
}

export interface MissingReasonShares {
  /** Cells SMAP retrieved at least once in the period (a value kept or rejected): the gaps are counted on them only (the others are water, or outside SMAP's land). */
  cells: number;
  pixelDays: number;
  gaps: number;
  /** Per reason with at least one gap: the count and its share of the gaps, largest first. */
  reasons: { reason: GapReason; count: number; share: number }[];
  /** Rejected retrievals by the surface condition behind their quality (counted in rejected_by_quality_rule). */
  rejectedBy: Partial<Record<MissingCause, number>>;
  /** Missing pixel-days a temperature predictor calls frozen, whatever their cause. */
  belowFreezing: number;
  /** Pixel-days not ingested yet (code 0). */
  notIngested: number;
}

/** Whether SMAP retrieved a value (kept, rejected by the study, or outside the valid range). */
const isRetrieval = (code: number) => isObserved(code) || (code & REJECTED_BY_QUALITY) !== 0 || (code & CAUSE_MASK) === CAUSE.outside_valid_range;

/** The share of gaps per reason, streamed by chunk of days (two passes: which cells SMAP retrieves, then the counts). */
export async function missingReasonShares(cube: Cube): Promise<MissingReasonShares | undefined> {
  if (!cube.hasVariable(MISSING_REASON_VARIABLE)) return undefined;
  const cells = cube.window.nrows * cube.window.ncols;
  const block = cube.chunks.time;
  const seen = new Uint8Array(cells);
  for (let t0 = 0; t0 < cube.days; t0 += block) {
    const codes = await cube.readBlock(MISSING_REASON_VARIABLE, t0, Math.min(cube.days, t0 + block));
    for (let k = 0; k < codes.length; k++) if (isRetrieval(codes[k]!)) seen[k % cells] = 1;
  }
  const counts = new Map<GapReason, number>();
  const rejectedBy: Partial<Record<MissingCause, number>> = {};
  let [gaps, belowFreezing, notIngested, pixelDays] = [0, 0, 0, 0];
  for (let t0 = 0; t0 < cube.days; t0 += block) {
    const codes = await cube.readBlock(MISSING_REASON_VARIABLE, t0, Math.min(cube.days, t0 + block));
    for (let k = 0; k < codes.length; k++) {
      if (!seen[k % cells]) continue;
      pixelDays++;
      const code = codes[k]!;
      if (code === 0) notIngested++;
      const reason = gapReason(code);
      if (!reason) continue;
      gaps++;
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
      if (code & BELOW_FREEZING) belowFreezing++;
      if (reason === "rejected_by_quality_rule") {
        const cause = MISSING_CAUSES[(code & CAUSE_MASK) - 1]!;
        rejectedBy[cause] = (rejectedBy[cause] ?? 0) + 1;
      }
    }
  }
  const reasons = GAP_REASONS.filter((r) => counts.has(r))
    .map((reason) => ({ reason, count: counts.get(reason)!, share: counts.get(reason)! / gaps }))
    .sort((a, b) => b.count - a.count);
  return { cells: seen.reduce((n, v) => n + v, 0), pixelDays, gaps, reasons, rejectedBy, belowFreezing, notIngested };
}

/** The shares as text lines (inspect, ingest). */
export function describeMissingReasons(s: MissingReasonShares): string[] {
  const pct = (v: number) => `${(100 * v).toFixed(1).padStart(5)} %`;
  const lines = [
    `  gaps       ${s.gaps} of ${s.pixelDays} pixel-days of the ${s.cells} cells SMAP retrieves (${MISSING_REASON_VARIABLE}), by reason:`,
    ...s.reasons.map((r) => `    ${r.reason.padEnd(28)} ${pct(r.share)}  ${String(r.count).padStart(9)}  ${GAP_REASON_DESCRIPTIONS[r.reason]}`),
  ];
  const rejected = Object.entries(s.rejectedBy).sort((a, b) => b[1] - a[1]);
  if (rejected.length) lines.push(`    (rejected retrievals by SMAP's flagged condition: ${rejected.map(([c, n]) => `${c} ${n}`).join(", ")})`);
  if (s.belowFreezing) lines.push(`    (${s.belowFreezing} gaps with a temperature predictor below 0 degC, whatever their cause)`);
  if (s.notIngested) lines.push(`    (${s.notIngested} pixel-days not ingested yet)`);
  return lines;
}

/** Stores the shares in the cube's attributes (smap_missing_reasons), for the report and product.json. */
export async function recordMissingReasonShares(cube: Cube): Promise<MissingReasonShares | undefined> {
  const shares = await missingReasonShares(cube);
  if (shares) await cube.setAttributes({ smap_missing_reasons: shares });
  return shares;
}

/** The whole cube's reasons, day-major (t * cells + cell), or undefined when the cube has none. */
export async function readMissingReasons(cube: Cube): Promise<Uint8Array | undefined> {
  if (!cube.hasVariable(MISSING_REASON_VARIABLE)) return undefined;
  const cells = cube.window.nrows * cube.window.ncols;
  const out = new Uint8Array(cube.days * cells);
  for (let t0 = 0; t0 < cube.days; t0 += cube.chunks.time)
    out.set(await cube.readBlock(MISSING_REASON_VARIABLE, t0, Math.min(cube.days, t0 + cube.chunks.time)), t0 * cells);
  return out;
}

/** The frozen threshold of a temperature variable in its units (0 degC or 273.15 K). */
function freezingPoint(cube: Cube, name: string): number {
  const v = cube.variable(name);
  const units = normaliseUnit(v.units);
  if (v.kind !== "dynamic" || (units !== "K" && units !== "degC"))
    throw new SmapfillError(`smap.frozen_from names '${name}', a ${v.kind} variable in '${v.units}': not a daily temperature in K or degC`, {
      file: cube.path,
      variable: name,
      hint: "Name soil or skin temperature predictors (dynamic, units K or degC: units: { to: degC })",
    });
  return units === "K" ? 273.15 : 0;
}

/**
 * Sets bit 6 on every missing pixel-day where one of the `predictors` (soil or skin temperature)
 * is below freezing, and clears it everywhere else: idempotent, so a changed list is applied in
 * full. Only blocks whose codes change are written.
 */
export async function markBelowFreezing(cube: Cube, predictors: readonly string[]): Promise<number> {
  if (!cube.hasVariable(MISSING_REASON_VARIABLE)) return 0;
  const thresholds = predictors.map((p) => freezingPoint(cube, p));
  const block = cube.chunks.time;
  let marked = 0;
  for (let t0 = 0; t0 < cube.days; t0 += block) {
    const t1 = Math.min(cube.days, t0 + block);
    const codes = Uint8Array.from(await cube.readBlock(MISSING_REASON_VARIABLE, t0, t1));
    const cold = new Uint8Array(codes.length);
    for (const [i, name] of predictors.entries()) {
      const values = await cube.readBlock(name, t0, t1);
      for (let k = 0; k < values.length; k++) if (values[k]! < thresholds[i]!) cold[k] = 1;
    }
    let changed = false;
    for (let k = 0; k < codes.length; k++) {
      const code = codes[k]!;
      const missing = gapReason(code & ~BELOW_FREEZING) !== undefined;
      const next = missing && cold[k] ? code | BELOW_FREEZING : code & ~BELOW_FREEZING;
      if (next & BELOW_FREEZING) marked++;
      if (next !== code) {
        codes[k] = next;
        changed = true;
      }
    }
    if (changed) await cube.writeBlock(MISSING_REASON_VARIABLE, t0, codes);
  }
  return marked;
}
