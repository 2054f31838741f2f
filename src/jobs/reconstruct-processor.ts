/**
 * The sandboxed processor of `smapfill worker` (BullMQ runs it in a child process, so a job that
 * crashes or leaks takes only its child down): one reconstruction job.
 */
import type { SandboxedJob } from "bullmq";
import { reconstructBlockJob } from "../reconstruct/reconstruct.js";
import type { ReconstructJobData, ReconstructJobResult } from "./queue.js";

export default async function process(job: SandboxedJob<ReconstructJobData, ReconstructJobResult>): Promise<ReconstructJobResult> {
  const d = job.data;
  // A crash on purpose, for the tests of stalled-job recovery: the worker dies mid-job.
  failpoint(job);
  return reconstructBlockJob({ cube: d.cube, model: d.model, out: d.out, run: d.run, job: d.job, everywhere: d.everywhere, batchRows: d.batchRows });
}

/** SMAPFILL_FAILPOINT=worker-job:N kills this worker's parent and itself at its N-th job (SIGKILL, as the OOM killer would). */
let count = 0;
function failpoint(job: SandboxedJob): void {
  const spec = globalThis.process.env.SMAPFILL_FAILPOINT;
  if (!spec?.startsWith("worker-job:") || ++count < Number(spec.slice("worker-job:".length))) return;
  void job;
  globalThis.process.kill(globalThis.process.ppid, "SIGKILL");
  globalThis.process.kill(globalThis.process.pid, "SIGKILL");
}
