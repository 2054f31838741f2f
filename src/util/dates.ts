/**
 * Calendar days as integers (days since 1970-01-01, UTC), the time axis of every cube: SMAP L3
 * granules are daily composites, so a day is the natural unit and integer days avoid time-zone
 * and DST mistakes.
 */
import { SmapfillError } from "./errors.js";

const MS_PER_DAY = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** YYYY-MM-DD -> days since 1970-01-01. Throws on anything else, including 2021-02-30. */
export function parseDay(text: string, what = "date"): number {
  const m = ISO_DATE.exec(text.trim());
  if (!m) throw new SmapfillError(`'${text}' is not a date`, { variable: what, hint: "Write dates as YYYY-MM-DD" });
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    throw new SmapfillError(`'${text}' is not a calendar date`, { variable: what, hint: "Check the month and day" });
  }
  return Math.round(ms / MS_PER_DAY);
}

/** days since 1970-01-01 -> YYYY-MM-DD. */
export function formatDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Day of year, 1..366. */
export function dayOfYear(day: number): number {
  const date = new Date(day * MS_PER_DAY);
  const start = Date.UTC(date.getUTCFullYear(), 0, 1);
  return Math.round((day * MS_PER_DAY - start) / MS_PER_DAY) + 1;
}

/** Every day from start to end inclusive. */
export function dayRange(start: number, end: number): number[] {
  const out: number[] = [];
  for (let d = start; d <= end; d++) out.push(d);
  return out;
}
