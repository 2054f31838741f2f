/**
 * Faults on purpose, for the tests of resumption and recovery, all in one place. A failpoint is
 * named in the environment, SMAPFILL_FAILPOINT=NAME:VALUE, and does nothing otherwise:
 *
 *   reconstruct-block:N  kill this process (SIGKILL, as a power cut or the OOM killer would) when
 *                        it is about to write its N-th block of days after the first block of a
 *                        tile, i.e. in the middle of a tile
 *   worker-job:N         kill the worker (the parent of a sandboxed job process) at its N-th job,
 *                        the job's own process going on
 *   job-delay:MS         make every distributed job wait MS first (a run long enough to restart
 *                        Redis in its middle)
 */
const counts = new Map<string, number>();

function spec(): { name: string; value: number } | undefined {
  const text = process.env.SMAPFILL_FAILPOINT;
  if (!text) return undefined;
  const [name, value] = text.split(":");
  return { name: name!, value: Number(value) };
}

/** Counts a pass through a point that kills this process at its N-th pass. */
export function failpoint(name: "reconstruct-block"): void {
  const s = spec();
  if (s?.name !== name) return;
  const n = (counts.get(name) ?? 0) + 1;
  counts.set(name, n);
  if (n >= s.value) process.kill(process.pid, "SIGKILL");
}

/** The points a distributed job passes before its work: a delay, or its worker killed. */
export async function jobFailpoint(): Promise<void> {
  const s = spec();
  if (s?.name === "job-delay") await new Promise((r) => setTimeout(r, s.value));
  if (s?.name === "worker-job") {
    const n = (counts.get(s.name) ?? 0) + 1;
    counts.set(s.name, n);
    if (n === s.value) process.kill(process.ppid, "SIGKILL");
  }
}
