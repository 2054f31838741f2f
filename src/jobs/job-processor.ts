/**
 * The sandboxed processor of `smapfill worker` (BullMQ runs it in a child process, so a job that
 * crashes or leaks takes only its child down): one job of any kind, by its name. A job made by
 * another build of smapfill, or for a model this worker sees with other contents, is refused and
 * left for a matching worker rather than run.
 */
import { DelayedError, type SandboxedJob } from "bullmq";
import { jobFailpoint } from "../util/failpoints.js";
import { featuresJob, ingestJob, reconstructJob, type FeaturesJobData, type IngestJobData } from "./units.js";
import { foreignJobReason, refusalNote, REFUSAL_DELAY_MS, type JobKind, type JobResult, type ReconstructJobData } from "./job-data.js";

// When the worker that forked this process dies (SIGKILL, the OOM killer), the IPC channel
// closes: stop at once. Its job goes to another worker when its lock expires; going on would
// only spend a core on work nobody collects (seen: a child spinning at 30-40 % for minutes,
// BullMQ's child looping on the closed channel).
if (globalThis.process.send) globalThis.process.once("disconnect", () => globalThis.process.exit(1));

export default async function process(job: SandboxedJob, token?: string): Promise<JobResult> {
  await jobFailpoint();
  const foreign = foreignJobReason(job.name as JobKind, job.data);
  if (foreign) {
    // Back to the queue (delayed, so this worker does not take it again at once) without
    // spending an attempt; the coordinator learns why from the job's progress.
    const note = refusalNote(foreign);
    await job.updateProgress({ refused: note });
    await job.moveToDelayed(Date.now() + REFUSAL_DELAY_MS, token);
    logRefusal(String(job.id), note.reason);
    throw new DelayedError();
  }
  const kind = job.name as JobKind;
  switch (kind) {
    case "reconstruct": {
      const d = job.data as ReconstructJobData;
      return reconstructJob({ cube: d.cube, model: d.model, out: d.out, run: d.run, job: d.job, everywhere: d.everywhere, batchRows: d.batchRows });
    }
    case "ingest-smap":
    case "ingest-predictor":
      return ingestJob(job.data as IngestJobData);
    case "features":
      return featuresJob(job.data as FeaturesJobData);
    default:
      throw new Error(
        `unknown job kind '${String(kind)}' (a newer smapfill's job? this worker speaks ${"reconstruct, ingest-smap, ingest-predictor, features"})`,
      );
  }
}

/** One line per reason, then at most one a minute with the count (a foreign run's every job comes by, again and again). */
const refusals = new Map<string, { count: number; logged: number }>();
function logRefusal(id: string, reason: string): void {
  const r = refusals.get(reason) ?? { count: 0, logged: 0 };
  r.count++;
  refusals.set(reason, r);
  if (Date.now() - r.logged < 60_000) return;
  const time = new Date().toISOString().slice(11, 19);
  globalThis.process.stderr.write(
    `${time} refused job ${id}${r.count > 1 ? ` (and ${r.count - 1} more refusals)` : ""}: ${reason}; left on the queue for a matching worker\n`,
  );
  r.logged = Date.now();
}
