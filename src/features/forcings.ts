/**
 * Which of a study's dynamic predictors are the weather group's forcings (weather.ts):
 * precipitation, air temperature, radiation and potential evapotranspiration, recognised by name
 * and by units, since a study config names its predictors freely ("precipitation", "tp",
 * "era5_t2m", ...). The rule, in full (docs/features.md says the same):
 *
 *  - candidates are the cube's dynamic predictors, not SMAP and not the antecedent sums ingestion
 *    derives (NAME_sumKd: the weather group makes its own sums);
 *  - a candidate's words are its name and its source variable (the file's variable name, kept in
 *    the cube's attributes), split at every character that is not a letter or digit;
 *  - precipitation: a word among PRECIPITATION_WORDS, and units of a daily depth or a rate (mm d-1,
 *    mm or kg m-2 per day, m per day, mm h-1, mm s-1: converted to mm per day);
 *  - air temperature: a word among TEMPERATURE_WORDS (or the word "temperature" or "temp"), none among
 *    NOT_AIR_WORDS (land surface, skin and soil temperatures drive the soil differently and are
 *    not air temperature), and units degC or K (converted to degC);
 *  - radiation: a word among RADIATION_WORDS, units W m-2 (averaged as they are);
 *  - potential evapotranspiration: a word among PET_WORDS, units of a daily depth or a rate (mm
 *    per day).
 * The first candidate in the cube's order wins each role. A predictor that has a role's name but
 * not its units is not used, and the reason is returned (the fix: convert it at ingestion with
 * `units: { to: ... }`). Without precipitation the group is empty.
 */
import { normaliseUnit } from "../io/units.js";

export type ForcingRole = "precipitation" | "temperature" | "radiation" | "pet";
export const FORCING_ROLES: readonly ForcingRole[] = ["precipitation", "temperature", "radiation", "pet"];

/** A predictor chosen for a role, and y = scale x + offset to the role's units. */
export interface ForcingVariable {
  variable: string;
  /** The predictor's units in the cube. */
  units: string;
  scale: number;
  offset: number;
}

export type ForcingChoice = Partial<Record<ForcingRole, ForcingVariable>>;

/** Forcings read from a cube window: every day [t * P + p] in the roles' units (mm per day, degC), and where they came from. */
export interface ForcingSeries {
  series: Map<ForcingRole, Float32Array>;
  choice: ForcingChoice;
  units: Map<ForcingRole, string>;
}

/** What recognition needs of a cube variable (a cube's VariableSpec has it). */
export interface PredictorInfo {
  name: string;
  kind: string;
  units: string;
  attributes?: Record<string, unknown>;
}

export const PRECIPITATION_WORDS = ["precipitation", "precip", "prcp", "ppt", "rain", "rainfall", "rainf", "tp", "pr", "prectot", "prectotcorr", "apcp"];
export const TEMPERATURE_WORDS = ["t2m", "tas", "tair", "t2", "2t", "airtemp", "air_temperature"];
export const NOT_AIR_WORDS = ["lst", "skin", "soil", "stl", "stl1", "surface", "land", "soilt", "tsoil", "skt", "sst", "dew", "d2m"];
export const RADIATION_WORDS = ["radiation", "ssrd", "rsds", "swdown", "swgdn", "srad", "shortwave", "swin", "rad"];
export const PET_WORDS = ["pet", "pev", "et0", "eto", "potential_evaporation", "potential_evapotranspiration", "evspsblpot"];

/** A variable's words: its name and source variable, lower-cased, split at non-alphanumerics. */
function wordsOf(v: PredictorInfo): Set<string> {
  const keys = [v.name, typeof v.attributes?.source_variable === "string" ? v.attributes.source_variable : ""];
  const words = new Set<string>();
  for (const key of keys) {
    const lower = key.toLowerCase();
    if (lower) words.add(lower);
    for (const w of lower.split(/[^a-z0-9]+/)) if (w) words.add(w);
  }
  return words;
}

/** Scale to mm per day of a daily depth or a rate (undefined: not one). */
function toMmPerDay(units: string): number | undefined {
  const u = normaliseUnit(units);
  if (u === "mm d-1" || u === "mm") return 1;
  if (u === "mm h-1") return 24;
  if (u === "mm s-1") return 86400;
  if (u === "m" || u === "m d-1") return 1000;
  return undefined;
}

const has = (words: Set<string>, list: readonly string[]) => list.some((w) => words.has(w));

/** The role a predictor's name gives it (before its units are checked), if any. */
function roleByName(words: Set<string>): ForcingRole | undefined {
  if (has(words, PRECIPITATION_WORDS) || [...words].some((w) => w.startsWith("precip"))) return "precipitation";
  if (has(words, PET_WORDS)) return "pet";
  if (has(words, RADIATION_WORDS)) return "radiation";
  // "temperature" alone counts too (a study may name its air temperature so), unless a word says whose.
  const air = has(words, TEMPERATURE_WORDS) || [...words].some((w) => w === "temperature" || w === "temp");
  if (air && !has(words, NOT_AIR_WORDS)) return "temperature";
  return undefined;
}

/** y = scale x + offset into the role's units, or a reason why the units do not fit. */
function conversion(role: ForcingRole, units: string): { scale: number; offset: number } | string {
  const u = normaliseUnit(units);
  if (role === "precipitation" || role === "pet") {
    const scale = toMmPerDay(units);
    return scale === undefined ? `its units '${units}' are not a daily depth or a rate (mm d-1, mm, kg m-2, m, mm h-1, mm s-1)` : { scale, offset: 0 };
  }
  if (role === "temperature") {
    if (u === "degC") return { scale: 1, offset: 0 };
    if (u === "K") return { scale: 1, offset: -273.15 };
    return `its units '${units}' are not degC or K`;
  }
  return u === "W m-2" ? { scale: 1, offset: 0 } : `its units '${units}' are not W m-2`;
}

/**
 * The forcings among a cube's variables (the rule above) and, for every predictor named like a
 * forcing but not used, why.
 */
export function recogniseForcings(variables: readonly PredictorInfo[]): { chosen: ForcingChoice; skipped: string[] } {
  const chosen: ForcingChoice = {};
  const skipped: string[] = [];
  for (const v of variables) {
    if (v.kind !== "dynamic" || v.name.startsWith("soil_moisture") || /_sum\d+d$/.test(v.name)) continue;
    const role = roleByName(wordsOf(v));
    if (!role) continue;
    const c = conversion(role, v.units);
    if (typeof c === "string") skipped.push(`'${v.name}' looks like ${role} but ${c}: convert it at ingestion (units: { to: ... })`);
    else if (chosen[role]) skipped.push(`'${v.name}' looks like ${role}, but '${chosen[role]!.variable}' comes first`);
    else chosen[role] = { variable: v.name, units: v.units, ...c };
  }
  return { chosen, skipped };
}
