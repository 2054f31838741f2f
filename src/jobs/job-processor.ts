/**
 * The sandboxed processor of `smapfill worker` (BullMQ runs it in a child process, so a job that
 * crashes or leaks takes only its child down): one job of any kind, by its name.
 */
import type { SandboxedJob } from "bullmq";
import { reconstructBlockJob } from "../reconstruct/reconstruct.js";
import { ingestBlockJob, type IngestJobData } from "../cube/ingest-jobs.js";
import { featuresTileJob, type FeaturesJobData } from "../features/cube-features.js";
import type { JobKind, JobResult, ReconstructJobData } from "./queue.js";

export default async function process(job: SandboxedJob): Promise<JobResult> {
  // A crash on purpose, for the tests of stalled-job recovery: the worker dies mid-job.
  failpoint(job);
  const kind = job.name as JobKind;
  switch (kind) {
    case "reconstruct": {
      const d = job.data as ReconstructJobData;
      return reconstructBlockJob({ cube: d.cube, model: d.model, out: d.out, run: d.run, job: d.job, everywhere: d.everywhere, batchRows: d.batchRows });
    }
    case "ingest-smap":
    case "ingest-predictor":
      return ingestBlockJob(job.data as IngestJobData);
    case "features":
      return featuresTileJob(job.data as FeaturesJobData);
    default:
      throw new Error(
        `unknown job kind '${String(kind)}' (a newer smapfill's job? this worker speaks ${"reconstruct, ingest-smap, ingest-predictor, features"})`,
      );
  }
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
