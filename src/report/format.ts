/** Numbers in tables (Markdown and HTML): fixed digits, percentages, "-" for missing. */

export function fmt(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);
}

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "-" : `${(100 * v).toFixed(digits)} %`;
}
