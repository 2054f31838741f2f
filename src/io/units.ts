/**
 * Unit conversion for predictors: a small table of the conversions remote-sensing predictors
 * need, keyed by normalised unit strings (so "m**3 m**-3", "m3/m3" and "m3 m-3" are one unit).
 * Anything else is an error that lists what is known and how to give a scale and offset instead.
 */
import { SmapfillError } from "../util/errors.js";

const ALIASES: Record<string, string> = {
  "m3m-3": "m3 m-3",
  "m3/m3": "m3 m-3",
  "m**3m**-3": "m3 m-3",
  "cm**3/cm**3": "m3 m-3",
  "cm3/cm3": "m3 m-3",
  "cm3cm-3": "m3 m-3",
  k: "K",
  kelvin: "K",
  degc: "degC",
  "°c": "degC",
  celsius: "degC",
  c: "degC",
  m: "m",
  mm: "mm",
  "kgm-2": "mm",
  "kg/m2": "mm",
  "kg/m^2": "mm",
  "mm/hr": "mm h-1",
  "mm/h": "mm h-1",
  "mmh-1": "mm h-1",
  "mmhr-1": "mm h-1",
  "mm/day": "mm d-1",
  "mm/d": "mm d-1",
  "mmd-1": "mm d-1",
  "mmday-1": "mm d-1",
  "kgm-2s-1": "mm s-1",
  "mm/s": "mm s-1",
  "mms-1": "mm s-1",
  "%": "percent",
  percent: "percent",
  "1": "1",
  "(0-1)": "1",
  "(0,1)": "1",
  fraction: "1",
  "": "1",
  "wm-2": "W m-2",
  "w/m2": "W m-2",
};

/** A unit in canonical spelling, or the input itself when unknown. */
export function normaliseUnit(unit: string): string {
  const key = unit.toLowerCase().replace(/\s+/g, "");
  return ALIASES[key] ?? unit.trim();
}

/** y = scale * x + offset, from canonical unit to canonical unit. */
const CONVERSIONS: Record<string, [number, number]> = {
  "K>degC": [1, -273.15],
  "degC>K": [1, 273.15],
  "m>mm": [1000, 0],
  "mm>m": [0.001, 0],
  "mm h-1>mm d-1": [24, 0],
  "mm s-1>mm d-1": [86400, 0],
  "mm s-1>mm h-1": [3600, 0],
  "percent>1": [0.01, 0],
  "1>percent": [100, 0],
};

export interface Conversion {
  scale: number;
  offset: number;
}

export function unitConversion(from: string | undefined, to: string, context: { file?: string; variable?: string }): Conversion {
  if (from === undefined) {
    throw new SmapfillError(`has no units attribute, so it cannot be converted to '${to}'`, { ...context, hint: "Give units.from in the config" });
  }
  const a = normaliseUnit(from);
  const b = normaliseUnit(to);
  if (a === b) return { scale: 1, offset: 0 };
  const c = CONVERSIONS[`${a}>${b}`];
  if (!c) {
    throw new SmapfillError(`cannot convert '${from}' to '${to}'`, {
      ...context,
      hint: `Known: ${Object.keys(CONVERSIONS)
        .map((k) => k.replace(">", " -> "))
        .join(", ")}; or give scale and offset in the config`,
    });
  }
  return { scale: c[0], offset: c[1] };
}
