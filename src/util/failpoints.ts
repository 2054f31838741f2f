/**
 * Faults on purpose, for the tests of resumption, recovery and what a fault leaves behind, all in
 * one place. A failpoint is named in the environment, SMAPFILL_FAILPOINT=NAME:VALUE, and costs one
 * string comparison otherwise:
 *
 *   reconstruct-block:N   kill this process (SIGKILL, as a power cut or the OOM killer would) when
 *                         it is about to write its N-th block of days after the first block of a
 *                         tile, i.e. in the middle of a tile
 *   worker-job:N          kill the worker (the parent of a sandboxed job process) at its N-th job,
 *                         the job's own process going on
 *   job-delay:MS          make every distributed job wait MS first (a run long enough to restart
 *                         Redis in its middle)
 *   enospc:N              the N-th atomic file write of this process fails as a full disk would
 *   enospc-at:TEXT        every atomic write of a file whose path contains TEXT fails so
 *   lock-takeover-delay:MS  a pause between a stale lock's check and its takeover (the race two
 *                         processes could win at once)
 */
const hits = new Map<string, number>();

function spec(): { name: string; text: string } | undefined {
  const s = process.env.SMAPFILL_FAILPOINT;
  if (!s) return undefined;
  const at = s.indexOf(":");
  return { name: s.slice(0, at), text: s.slice(at + 1) };
}

/** True when the failpoint `name` fires on this hit (its N-th in this process). */
export function failpointFires(name: string): boolean {
  const s = spec();
  if (s?.name !== name) return false;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  return n === Number(s.text);
}

/** The value of a `NAME:VALUE` failpoint (e.g. a delay in ms), or undefined. */
export function failpointValue(name: string): number | undefined {
  const s = spec();
  return s?.name === name ? Number(s.text) : undefined;
}

/** The text of a `NAME:TEXT` failpoint, or undefined. */
export function failpointText(name: string): string | undefined {
  const s = spec();
  return s?.name === name ? s.text : undefined;
}

/** Blocks the thread for `ms` (a failpoint's pause inside synchronous code). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Kills this process at the N-th pass through `name` and after (reconstruct-block). */
export function failpoint(name: "reconstruct-block"): void {
  const s = spec();
  if (s?.name !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n >= Number(s.text)) process.kill(process.pid, "SIGKILL");
}

/** The points a distributed job passes before its work: a delay, or its worker killed. */
export async function jobFailpoint(): Promise<void> {
  const delay = failpointValue("job-delay");
  if (delay !== undefined) await new Promise((r) => setTimeout(r, delay));
  if (failpointFires("worker-job")) process.kill(process.ppid, "SIGKILL");
}
