/**
 * CF time coordinates: "<unit> since <reference>" with unit seconds/minutes/hours/days and the
 * standard (= mixed Gregorian, identical to proleptic Gregorian after 1582), gregorian or
 * proleptic_gregorian calendar. Times become milliseconds since 1970-01-01T00:00Z.
 */
import { SmapfillError } from "../util/errors.js";

const UNIT_MS: Record<string, number> = {
  second: 1000,
  seconds: 1000,
  sec: 1000,
  secs: 1000,
  s: 1000,
  minute: 60_000,
  minutes: 60_000,
  min: 60_000,
  mins: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  h: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
  d: 86_400_000,
};

/**
 * "julian" is accepted and read as Gregorian: GPM IMERG labels its POSIX seconds since 1970 with
 * calendar = "julian", and a literal Julian reading would shift every time by 13 days. Data in a
 * true Julian calendar do not occur in satellite remote sensing.
 */
const SUPPORTED_CALENDARS = new Set(["standard", "gregorian", "proleptic_gregorian", "julian"]);

/** A converter from raw time values to epoch milliseconds, or an error naming what is wrong. */
export function cfTimeConverter(units: string, calendar: string | undefined, context: { file: string; variable: string }): (value: number) => number {
  const m =
    /^\s*([A-Za-z]+)\s+since\s+(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}(?:\.\d*)?))?)?\s*(Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?\s*$/i.exec(
      units,
    );
  if (!m) {
    throw new SmapfillError(`time units '${units}' are not CF '<unit> since <date>'`, {
      ...context,
      hint: "Fix the file's time units, or give the predictor as static",
    });
  }
  const scale = UNIT_MS[m[1]!.toLowerCase()];
  if (!scale) throw new SmapfillError(`time unit '${m[1]}' is not known`, { ...context, hint: "Use seconds, minutes, hours or days" });
  const cal = (calendar ?? "standard").toLowerCase();
  if (!SUPPORTED_CALENDARS.has(cal)) {
    throw new SmapfillError(`calendar '${calendar}' is not supported`, {
      ...context,
      hint: "Only standard / gregorian / proleptic_gregorian (and IMERG's julian) calendars are supported",
    });
  }
  let offsetMinutes = 0;
  const tz = m[8];
  if (tz && /^[+-]/.test(tz)) {
    const t = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(tz)!;
    offsetMinutes = (t[1] === "-" ? -1 : 1) * (Number(t[2]) * 60 + Number(t[3] ?? 0));
  }
  const seconds = Number(m[7] ?? 0);
  const reference =
    Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]), Number(m[5] ?? 0), Number(m[6] ?? 0), 0, 0) + seconds * 1000 - offsetMinutes * 60_000;
  return (value: number) => reference + value * scale;
}
