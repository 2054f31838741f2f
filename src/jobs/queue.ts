/**
 * Distributed reconstruction on BullMQ + Redis (an existing engine, not a home-made queue). The
 * coordinator (`smapfill reconstruct --queue URL`) takes the product's writer lock for the run,
 * creates the product, enqueues one job per tile and chunk of days with a deterministic id (run,
 * tile, first day), and waits; workers (`smapfill worker --queue URL`, any number, any machine
 * that sees the same files) run the jobs in sandboxed child processes and return the sha256 of
 * every chunk they wrote. BullMQ delivers at least once, so a job is idempotent: chunk-aligned
 * (no two jobs share a chunk) and written to a temporary name then renamed, a retried or
 * duplicated job rewrites the same bytes. Retries back off exponentially; a worker that dies
 * leaves its job stalled, and BullMQ hands it to another after the lock expires. At the end the
 * coordinator checks every chunk file against its job's checksum and lists the failed jobs.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { Job } from "bullmq";
import {
  blockJobs,
  finishReconstruction,
  markTileDone,
  planReconstruction,
  type BlockJob,
  type ReconstructOptions,
  type ReconstructReport,
} from "../reconstruct/reconstruct.js";
import { codeVersion } from "./code-version.js";
import { QUEUE_NAME, type ReconstructJobData, type ReconstructJobResult } from "./job-data.js";
import { failedJobsError, runJobs, withQueue, type QueueOptions } from "./run-jobs.js";

/** BullMQ job ids may not contain ':'; the id names the run's jobs, the tile and the first day. */
export function jobId(runKey: string, j: BlockJob): string {
  return `${runKey}-t${j.tile}-d${j.b0}`;
}

/**
 * The key of a run's jobs: the run (the product's settings) and everything else that makes its
 * jobs' output, the output's path and the build of smapfill included. The same product made
 * again into another folder, or by another build, gets other jobs, never the completed ones of
 * the first (which wrote elsewhere, or other bytes).
 */
function runKey(data: Omit<ReconstructJobData, "job" | "batchRows">): string {
  return createHash("sha256")
    .update(JSON.stringify({ ...data, code: codeVersion() }))
    .digest("hex")
    .slice(0, 16);
}

export interface QueueRunOptions extends ReconstructOptions, QueueOptions {}

/** The coordinator: plan, enqueue, wait, check, finish. */
export async function reconstructOnQueue(o: QueueRunOptions): Promise<ReconstructReport & { jobs: number }> {
  const started = performance.now();
  const log = o.log ?? (() => {});
  const plan = await planReconstruction(o);
  try {
    return await withQueue(o, async (queue, link) => {
      const blocks = blockJobs(plan);
      const common = {
        cube: path.resolve(o.cube),
        model: path.resolve(o.model),
        modelFingerprint: plan.loaded.fingerprint,
        out: path.resolve(o.out),
        run: plan.run,
        everywhere: o.everywhere,
      };
      const key = runKey(common);
      const jobs = blocks.map((job) => ({ id: jobId(key, job), name: "reconstruct" as const, data: { ...common, job, batchRows: o.batchRows } }));
      log(`${jobs.length} jobs on ${o.queue} (queue ${QUEUE_NAME}, run ${plan.run}); start workers with: smapfill worker --queue ${o.queue}`);
      const { results, failed } = await runJobs<ReconstructJobData, ReconstructJobResult>(queue, link, common.out, jobs, o);
      // The tiles whose jobs all succeeded are recorded (a rerun resumes after them).
      const warnings = new Set<string>();
      const byTile = new Map<number, { ok: boolean; clipped: number }>();
      for (const [i, job] of blocks.entries()) {
        const t = byTile.get(job.tile) ?? { ok: true, clipped: 0 };
        const r = results.get(jobs[i]!.id);
        if (!r) t.ok = false;
        else {
          t.clipped += r.clipped;
          for (const w of r.warnings) warnings.add(w);
        }
        byTile.set(job.tile, t);
      }
      for (const [tile, t] of byTile) if (t.ok) await markTileDone(plan, tile, t.clipped);
      if (failed.length) throw failedJobsError(failed, jobs.length, o.out);
      const report = await finishReconstruction(plan, o, warnings, started);
      return { ...report, jobs: jobs.length };
    });
  } catch (e) {
    plan.release();
    throw e;
  }
}

/** Counts and failures of the queue, for `smapfill status`. */
export async function queueStatus(
  url: string,
): Promise<{ counts: Record<string, number>; failed: { id: string; reason: string; attempts: number }[]; active: { id: string; progress: unknown }[] }> {
  return withQueue(url, async (queue) => {
    const counts = await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed", "prioritized");
    const failed = (await queue.getFailed(0, 49)).map((j: Job) => ({ id: String(j.id), reason: j.failedReason, attempts: j.attemptsMade }));
    const active = (await queue.getActive(0, 49)).map((j: Job) => ({ id: String(j.id), progress: j.progress }));
    return { counts, failed, active };
  });
}
