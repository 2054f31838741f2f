/**
 * Faults on purpose, for the tests of what a fault leaves behind: SMAPFILL_FAILPOINT=NAME:N makes
 * the N-th hit of the point NAME in this process fire, NAME:VALUE gives a point its value (a pause
 * that opens a race, the file a full disk stops). Unset, a failpoint costs one string comparison.
 */
const hits = new Map<string, number>();

/** True when the failpoint `name` fires on this hit. */
export function failpointFires(name: string): boolean {
  const spec = process.env.SMAPFILL_FAILPOINT;
  if (!spec?.startsWith(`${name}:`)) return false;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  return n === Number(spec.slice(name.length + 1));
}

/** The value of a `NAME:VALUE` failpoint (e.g. a delay in ms), or undefined. */
export function failpointValue(name: string): number | undefined {
  const spec = process.env.SMAPFILL_FAILPOINT;
  return spec?.startsWith(`${name}:`) ? Number(spec.slice(name.length + 1)) : undefined;
}

/** The text of a `NAME:TEXT` failpoint, or undefined. */
export function failpointText(name: string): string | undefined {
  const spec = process.env.SMAPFILL_FAILPOINT;
  return spec?.startsWith(`${name}:`) ? spec.slice(name.length + 1) : undefined;
}

/** Blocks the thread for `ms` (a failpoint's pause inside synchronous code). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
