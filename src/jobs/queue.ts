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
import path from "node:path";
import { Queue, QueueEvents, type Job } from "bullmq";
import { Redis } from "ioredis";
import {
  blockJobs,
  finishReconstruction,
  markTileDone,
  planReconstruction,
  type BlockJob,
  type ReconstructOptions,
  type ReconstructReport,
} from "../reconstruct/reconstruct.js";
import { SmapfillError } from "../util/errors.js";
import { fileSha256 } from "../util/checksum.js";

/**
 * The queue's name carries the job protocol: a worker of an older protocol listens on another
 * queue and never takes (and fails) jobs it does not know. Bump it when a job's data or its
 * processor's contract changes.
 */
export const QUEUE_NAME = "smapfill-jobs-v2";

export type JobKind = "reconstruct" | "ingest-smap" | "ingest-predictor" | "features";

/** What every job returns: the files it wrote (relative to its output) and their sha256. */
export interface JobResult {
  files: Record<string, string>;
}

export interface ReconstructJobData {
  cube: string;
  model: string;
  out: string;
  run: string;
  job: BlockJob;
  everywhere?: boolean;
  batchRows?: number;
}

export interface ReconstructJobResult extends JobResult {
  clipped: number;
  warnings: string[];
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

/** What every coordinator (reconstruct, ingest, features --queue) takes. */
export interface QueueOptions {
  queue: string;
  /** Attempts per job before it lands in the failed list. */
  attempts?: number;
  pollMs?: number;
  /** How often the unfinished jobs' states are looked at in full (events may be missed). */
  recheckMs?: number;
  onJobs?: (done: number, total: number) => void;
  log?: (message: string) => void;
}

export interface QueueRunOptions extends ReconstructOptions, QueueOptions {}

export interface QueuedJob<D> {
  id: string;
  /** The processor's kind of job (reconstruct, ingest-smap, ingest-predictor, features). */
  name: JobKind;
  data: D;
}

export interface JobOutcome<R> {
  results: Map<string, R>;
  /** "id: reason" of the jobs that failed every attempt. */
  failed: string[];
}

/**
 * Enqueues jobs (deterministic ids: an id already in the queue is not added twice), retries the
 * failed ones of an earlier attempt, waits until every job completed or failed, and checks every
 * file a completed job wrote against the checksum it returned (`root`: the folder they are
 * relative to). A file that changed after its job throws: another writer touched the output.
 */
export async function runJobs<D, R extends JobResult>(
  queue: Queue,
  root: string,
  jobs: QueuedJob<D>[],
  o: Omit<QueueOptions, "queue" | "log"> = {},
): Promise<JobOutcome<R>> {
  // Finished jobs are learnt from the queue's event stream (no Redis call per job and poll); a
  // full look at the unfinished jobs' states at the start and every `recheckMs` catches any
  // event missed (a reconnect).
  const events = new QueueEvents(QUEUE_NAME, { connection: (queue.opts.connection as Redis).duplicate() });
  const states = new Map<string, string>();
  const pending = new Set(jobs.map((j) => j.id));
  const look = async (id: string) => {
    const state = await queue.getJobState(id);
    states.set(id, state);
    if (state === "completed" || state === "failed") pending.delete(id);
  };
  try {
    events.on("completed", ({ jobId }) => {
      if (pending.has(jobId)) (states.set(jobId, "completed"), pending.delete(jobId));
    });
    // 'failed' fires for every failed attempt: only a job in the failed set has given up.
    events.on("failed", ({ jobId }) => void (pending.has(jobId) && look(jobId).catch(() => {})));
    await events.waitUntilReady();
    await queue.addBulk(
      jobs.map((j) => ({
        name: j.name,
        data: j.data,
        opts: { jobId: j.id, attempts: o.attempts ?? 3, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: false, removeOnFail: false },
      })),
    );
    // Failed jobs of an earlier attempt of this run go back to the queue (their ids are the same).
    for (const j of jobs) {
      const job = await queue.getJob(j.id);
      if (job && (await job.getState()) === "failed") await job.retry("failed");
    }
    let lastLook = 0;
    for (;;) {
      if (performance.now() - lastLook > (o.recheckMs ?? 30_000)) {
        for (const id of [...pending]) await look(id);
        lastLook = performance.now();
      }
      o.onJobs?.(jobs.length - pending.size - [...states.values()].filter((x) => x === "failed").length, jobs.length);
      if (!pending.size) break;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
  } finally {
    await events.close();
  }
  const results = new Map<string, R>();
  const failed: string[] = [];
  for (const j of jobs) {
    const job = (await queue.getJob(j.id))!;
    if (states.get(j.id) !== "completed") {
      failed.push(`${j.id}: ${job.failedReason}`);
      continue;
    }
    const r = job.returnvalue as R;
    for (const [file, sha] of Object.entries(r.files)) {
      const now = fileSha256(path.join(root, file));
      if (now !== sha)
        throw new SmapfillError(`${file} of job ${j.id} is ${now === "missing" ? "missing" : "not the bytes the job wrote"}`, {
          file: root,
          hint: "Another writer touched the output; run again",
        });
    }
    results.set(j.id, r);
  }
  return { results, failed };
}

/** The failed jobs as one error (the same command again retries them; finished work is kept). */
export function failedJobsError(failed: string[], total: number, file: string): SmapfillError {
  return new SmapfillError(`${failed.length} of ${total} jobs failed:\n  ${failed.slice(0, 20).join("\n  ")}${failed.length > 20 ? "\n  ..." : ""}`, {
    file,
    hint: "Fix the cause and run the same command again: finished work is kept, failed jobs are retried",
  });
}

/** A queue on a Redis URL for the duration of `f`. */
export async function withQueue<T>(url: string, f: (queue: Queue) => Promise<T>): Promise<T> {
  const connection = await connect(url);
  const queue = new Queue(QUEUE_NAME, { connection });
  try {
    return await f(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** The coordinator: plan, enqueue, wait, check, finish. */
export async function reconstructOnQueue(o: QueueRunOptions): Promise<ReconstructReport & { jobs: number }> {
  const started = performance.now();
  const log = o.log ?? (() => {});
  const plan = await planReconstruction(o);
  try {
    return await withQueue(o.queue, async (queue) => {
      const blocks = blockJobs(plan);
      const out = path.resolve(o.out);
      const jobs = blocks.map((job) => ({
        id: jobId(plan.run, job),
        name: "reconstruct" as const,
        data: { cube: path.resolve(o.cube), model: path.resolve(o.model), out, run: plan.run, job, everywhere: o.everywhere, batchRows: o.batchRows },
      }));
      log(`${jobs.length} jobs on ${o.queue} (queue ${QUEUE_NAME}, run ${plan.run}); start workers with: smapfill worker --queue ${o.queue}`);
      const { results, failed } = await runJobs<ReconstructJobData, ReconstructJobResult>(queue, out, jobs, o);
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
