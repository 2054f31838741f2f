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
import fs from "node:fs";
import path from "node:path";
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import {
  blockJobs,
  fileSha256,
  finishReconstruction,
  markTileDone,
  planReconstruction,
  type BlockJob,
  type ReconstructOptions,
  type ReconstructReport,
} from "../reconstruct/reconstruct.js";
import { SmapfillError } from "../util/errors.js";

export const QUEUE_NAME = "smapfill-reconstruct";

export interface ReconstructJobData {
  cube: string;
  model: string;
  out: string;
  run: string;
  job: BlockJob;
  everywhere?: boolean;
  batchRows?: number;
}

export interface ReconstructJobResult {
  clipped: number;
  warnings: string[];
  files: Record<string, string>;
}

/** A Redis connection from redis://[user:password@]host:port/db, checked before use. */
export async function connect(url: string): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SmapfillError(`'${url}' is not a Redis URL`, { variable: "--queue", hint: "Give redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0" });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    throw new SmapfillError(`'${url}' is not a Redis URL`, { variable: "--queue", hint: "Give redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0" });
  // BullMQ's workers block on Redis: no per-request retry cap (its documented requirement).
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: (n) => (n > 3 ? null : 200 * n) });
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    throw new SmapfillError(`cannot reach Redis at ${url} (${(e as Error).message})`, {
      variable: "--queue",
      hint: "Start redis-server, or check the host, port and password",
    });
  }
  return redis;
}

/** BullMQ job ids may not contain ':'; the id names the run, the tile and the first day. */
export function jobId(run: string, j: BlockJob): string {
  return `${run}-t${j.tile}-d${j.b0}`;
}

export interface QueueRunOptions extends ReconstructOptions {
  queue: string;
  /** Attempts per job before it lands in the failed list. */
  attempts?: number;
  pollMs?: number;
  onJobs?: (done: number, total: number) => void;
}

/** The coordinator: plan, enqueue, wait, check, finish. */
export async function reconstructOnQueue(o: QueueRunOptions): Promise<ReconstructReport & { jobs: number }> {
  const started = performance.now();
  const log = o.log ?? (() => {});
  const plan = await planReconstruction(o);
  const connection = await connect(o.queue).catch((e) => {
    plan.release();
    throw e;
  });
  const queue = new Queue<ReconstructJobData, ReconstructJobResult>(QUEUE_NAME, { connection });
  const warnings = new Set<string>();
  try {
    const jobs = blockJobs(plan);
    const out = path.resolve(o.out);
    await queue.addBulk(
      jobs.map((job) => ({
        name: "reconstruct",
        data: { cube: path.resolve(o.cube), model: path.resolve(o.model), out, run: plan.run, job, everywhere: o.everywhere, batchRows: o.batchRows },
        opts: {
          jobId: jobId(plan.run, job),
          attempts: o.attempts ?? 3,
          backoff: { type: "exponential", delay: 1000 },
          removeOnComplete: false,
          removeOnFail: false,
        },
      })),
    );
    // Failed jobs of an earlier attempt of this run go back to the queue (their ids are the same).
    for (const job of jobs) {
      const j = await queue.getJob(jobId(plan.run, job));
      if (j && (await j.getState()) === "failed") await j.retry("failed");
    }
    log(`${jobs.length} jobs on ${o.queue} (queue ${QUEUE_NAME}, run ${plan.run}); start workers with: smapfill worker --queue ${o.queue}`);
    const states = new Map<string, string>();
    for (;;) {
      let finished = 0;
      for (const job of jobs) {
        const id = jobId(plan.run, job);
        if (["completed", "failed"].includes(states.get(id) ?? "")) {
          finished++;
          continue;
        }
        const state = await queue.getJobState(id);
        states.set(id, state);
        if (state === "completed" || state === "failed") finished++;
      }
      o.onJobs?.([...states.values()].filter((s) => s === "completed").length, jobs.length);
      if (finished === jobs.length) break;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
    // Check every chunk against its job's checksum, then record the tiles whose jobs all succeeded.
    const failed: string[] = [];
    const byTile = new Map<number, { ok: boolean; clipped: number }>();
    for (const job of jobs) {
      const j = (await queue.getJob(jobId(plan.run, job)))!;
      const t = byTile.get(job.tile) ?? { ok: true, clipped: 0 };
      if (states.get(j.id!) !== "completed") {
        failed.push(`${j.id}: ${j.failedReason}`);
        t.ok = false;
      } else {
        const r = j.returnvalue;
        for (const [file, sha] of Object.entries(r.files)) {
          const full = path.join(out, file);
          const now = fs.existsSync(full) ? fileSha256(full) : "missing";
          if (now !== sha)
            throw new SmapfillError(`chunk ${file} of job ${j.id} is ${now === "missing" ? "missing" : "not the bytes the job wrote"}`, {
              file: out,
              hint: "Another writer touched the product; run again",
            });
        }
        t.clipped += r.clipped;
        for (const w of r.warnings) warnings.add(w);
      }
      byTile.set(job.tile, t);
    }
    for (const [tile, t] of byTile) if (t.ok) await markTileDone(plan, tile, t.clipped);
    if (failed.length)
      throw new SmapfillError(`${failed.length} of ${jobs.length} jobs failed:\n  ${failed.slice(0, 20).join("\n  ")}${failed.length > 20 ? "\n  ..." : ""}`, {
        file: o.out,
        hint: "Fix the cause and run the same command again: finished tiles are kept, failed jobs are retried",
      });
    const report = await finishReconstruction(plan, o, warnings, started);
    return { ...report, jobs: jobs.length };
  } catch (e) {
    plan.release();
    throw e;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Counts and failures of the queue, for `smapfill status`. */
export async function queueStatus(
  url: string,
): Promise<{ counts: Record<string, number>; failed: { id: string; reason: string; attempts: number }[]; active: { id: string; progress: unknown }[] }> {
  const connection = await connect(url);
  const queue = new Queue(QUEUE_NAME, { connection });
  try {
    const counts = await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed", "prioritized");
    const failed = (await queue.getFailed(0, 49)).map((j: Job) => ({ id: String(j.id), reason: j.failedReason, attempts: j.attemptsMade }));
    const active = (await queue.getActive(0, 49)).map((j: Job) => ({ id: String(j.id), progress: j.progress }));
    return { counts, failed, active };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
