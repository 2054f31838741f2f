/**
 * Why a SMAP L3 pass has no usable value in a cell, decoded from the granule's own flags as the
 * product specifications define them for SPL3SMP (v8, v9) and SPL3SMP_E (v5, v6); the bit names
 * below are the products' own `flag_meanings` (the DAP4 metadata of a v8 granule and the v6
 * HOSS subset in ../shared/data/real/smap_formats carry them), and NSIDC's "How do I interpret
 * the surface and quality flag information in the Level-2 and -3 passive soil moisture
 * products?" explains how the two flags relate (a surface_flag bit set = that condition
 * exceeded its threshold, and the retrieval was skipped or flagged).
 *
 * retrieval_qual_flag (a bit SET means the condition FAILED):
 *   0 retrieval_recommended, 1 retrieval_attempted, 2 retrieval_success, 3 FT_retrieval_success
 * surface_flag (a bit SET means the condition is present):
 *   0 static_water_body        4 precipitation            8 model_frozen_ground
 *   1 radar_water_body_detect. 5 snow_or_ice              9 mountainous_terrain
 *   2 coastal_proximity        6 permanent_snow_or_ice   10 dense_vegetation
 *   3 urban_area               7 radiometer (AM) / radar (PM) frozen_ground   11 nadir_region
 *
 * Three rules from the real files:
 *  - Outside the swath (no brightness temperature at all) the products write surface_flag 2047
 *    (bits 0-10 all set) and retrieval_qual_flag 7, with latitude/longitude at fill: the v6 HOSS
 *    subset has 2047 exactly where its latitude is -9999, and the qa4sm SPL3SMP v8 cells of
 *    ../shared/data/real/hawaii_2016_2019 hold (7, 2047) on every day without a retrieval.
 *  - Bit 7 means frozen ground only where the freeze/thaw retrieval succeeded (qual bit 3
 *    clear): on Hawaii every retrieval has bits 7 and 3 set together ("not determined").
 *  - The flags' fill value (65534) says nothing: re-assembled granules (the Pakistan, Sudan,
 *    Uruguay and Hawaii files in ../shared) and subsetters' masks write it wherever there is no
 *    value, so such cells are "unknown", never "outside the swath".
 * RFI is not among these bits (SPL3SMP(_E) report it only in the brightness temperatures'
 * tb_qual_flag): a retrieval failed by RFI is "retrieval failed, other".
 */

/** The flags' fill value (uint16). */
export const FLAG_FILL_VALUE = 65534;
/** surface_flag outside the swath: bits 0-10 set. */
export const SURFACE_FLAG_NOT_IN_SWATH = 0x7ff;

export const FLAG_NOT_RECOMMENDED = 1;
export const FLAG_NOT_ATTEMPTED = 2;
export const FLAG_NOT_SUCCESSFUL = 4;
export const FLAG_FT_NOT_SUCCESSFUL = 8;

export const SURFACE_BITS = {
  static_water_body: 0,
  radar_water_body_detection: 1,
  coastal_proximity: 2,
  urban_area: 3,
  precipitation: 4,
  snow_or_ice: 5,
  permanent_snow_or_ice: 6,
  frozen_ground: 7,
  model_frozen_ground: 8,
  mountainous_terrain: 9,
  dense_vegetation: 10,
  nadir_region: 11,
} as const;

/**
 * The cause of a missing pass value (and of a missing daily value, see cube/missing-reasons.ts):
 * a code in the low 5 bits, the first one that applies in this order of precedence.
 */
export const MISSING_CAUSES = [
  "observed",
  "no_granule",
  "not_in_swath",
  "unknown",
  "frozen_ground",
  "snow_or_ice",
  "precipitation",
  "open_water",
  "urban_area",
  "dense_vegetation",
  "mountainous_terrain",
  "coastal_proximity",
  "retrieval_failed_other",
  "outside_valid_range",
] as const;
export type MissingCause = (typeof MISSING_CAUSES)[number];

/** Code of a cause: 1 + its index (0 stays the fill value of a variable never written). */
export const CAUSE: { readonly [K in MissingCause]: number } = Object.fromEntries(MISSING_CAUSES.map((c, i) => [c, i + 1])) as never;
export const CAUSE_MASK = 0x1f;
/** Set with a cause: the retrieval exists but the study's quality rule rejected it (the cause says why SMAP did not recommend it). */
export const REJECTED_BY_QUALITY = 0x20;

const bit = (flag: number, b: number) => (flag >> b) & 1;

/**
 * The surface condition that explains a skipped or flagged retrieval, or undefined when no
 * condition bit is set (or the flag is absent, fill, or the outside-the-swath pattern).
 * `qual` is the cell's retrieval_qual_flag (undefined when the granule has none).
 */
export function surfaceCause(surface: number | undefined, qual: number | undefined): MissingCause | undefined {
  if (surface === undefined || surface === FLAG_FILL_VALUE || surface === SURFACE_FLAG_NOT_IN_SWATH) return undefined;
  const s = (name: keyof typeof SURFACE_BITS) => bit(surface, SURFACE_BITS[name]) === 1;
  const freezeThawKnown = qual === undefined || qual === FLAG_FILL_VALUE || (qual & FLAG_FT_NOT_SUCCESSFUL) === 0;
  if (s("model_frozen_ground") || (s("frozen_ground") && freezeThawKnown)) return "frozen_ground";
  if (s("snow_or_ice") || s("permanent_snow_or_ice")) return "snow_or_ice";
  if (s("precipitation")) return "precipitation";
  if (s("static_water_body") || s("radar_water_body_detection")) return "open_water";
  if (s("urban_area")) return "urban_area";
  if (s("dense_vegetation")) return "dense_vegetation";
  if (s("mountainous_terrain")) return "mountainous_terrain";
  if (s("coastal_proximity")) return "coastal_proximity";
  return undefined;
}

/** What the reader saw in a cell: a usable value, nothing, a value outside the valid range, or a value the quality policy rejected. */
export type CellState = "valid" | "fill" | "out_of_range" | "rejected";

/**
 * The missing-reason code of one pass-cell (CAUSE[...] | REJECTED_BY_QUALITY): why the study has
 * no value there. `qual` and `surface` are the cell's flags (undefined when the granule lacks them).
 */
export function passMissingReason(state: CellState, qual: number | undefined, surface: number | undefined): number {
  if (state === "valid") return CAUSE.observed;
  if (state === "out_of_range") return CAUSE.outside_valid_range;
  if (state === "rejected") return REJECTED_BY_QUALITY | CAUSE[surfaceCause(surface, qual) ?? "retrieval_failed_other"];
  if (surface === SURFACE_FLAG_NOT_IN_SWATH) return CAUSE.not_in_swath;
  const condition = surfaceCause(surface, qual);
  if (qual === undefined || qual === FLAG_FILL_VALUE) return CAUSE[condition ?? "unknown"];
  return CAUSE[condition ?? "retrieval_failed_other"];
}

/**
 * Precedence of codes when the AM and PM passes both miss a day: the more informative reason
 * wins (a retrieval the study rejected, then a value outside the valid range, a surface
 * condition, a failure without one, no overpass, no information, no granule).
 */
const PRECEDENCE: number[] = [
  CAUSE.outside_valid_range,
  CAUSE.frozen_ground,
  CAUSE.snow_or_ice,
  CAUSE.precipitation,
  CAUSE.open_water,
  CAUSE.urban_area,
  CAUSE.dense_vegetation,
  CAUSE.mountainous_terrain,
  CAUSE.coastal_proximity,
  CAUSE.retrieval_failed_other,
  CAUSE.not_in_swath,
  CAUSE.unknown,
  CAUSE.no_granule,
];
/** Lower wins: observed, then rejected retrievals (by their cause), then the causes in PRECEDENCE order; unknown codes last. */
const RANK = new Uint8Array(256).fill(255);
for (let code = 0; code < 256; code++) {
  const cause = code & CAUSE_MASK;
  const at = PRECEDENCE.indexOf(cause);
  if (cause === CAUSE.observed) RANK[code] = 0;
  else if (at >= 0) RANK[code] = (code & REJECTED_BY_QUALITY ? 1 : 1 + PRECEDENCE.length) + at;
}

/** The reason of a day from its two passes' reasons: observed if either has a value, else the more informative one. */
export function combinePassReasons(a: number, b: number): number {
  return RANK[b & 0xff]! < RANK[a & 0xff]! ? b : a;
}
