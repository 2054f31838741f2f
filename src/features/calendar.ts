/** The calendar terms every row carries, and the seasons the draw and the uncertainty bin by. */
import { dayOfYear } from "../util/dates.js";

export const SEASONS = ["DJF", "MAM", "JJA", "SON"] as const;

/** sin and cos of 2 pi doy / 365.25 (float32, as a model sees them). */
export function calendarTerms(day: number): [number, number] {
  const angle = (2 * Math.PI * dayOfYear(day)) / 365.25;
  return [Math.fround(Math.sin(angle)), Math.fround(Math.cos(angle))];
}

/** The season (0 DJF, 1 MAM, 2 JJA, 3 SON) of a day given as its calendar features sin/cos(2 pi doy / 365.25). */
export function seasonOf(doySin: number, doyCos: number): number {
  let doy = (Math.atan2(doySin, doyCos) / (2 * Math.PI)) * 365.25;
  if (doy < 0) doy += 365.25;
  // Day of year ~ 1 Jan at 0: Dec-Feb = [335, 365) + [0, 59), Mar-May [59, 151), Jun-Aug [151, 243).
  return doy >= 335 || doy < 59 ? 0 : doy < 151 ? 1 : doy < 243 ? 2 : 3;
}

/** The season of each of `days` days from `startDay` (days since 1970-01-01), as a row's calendar terms give it. */
export function daySeasons(startDay: number, days: number): Uint8Array {
  return Uint8Array.from({ length: days }, (_, t) => seasonOf(...calendarTerms(startDay + t)));
}
