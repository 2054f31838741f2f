/**
 * `smapfill worker`: pulls jobs (reconstruction, ingestion, features) from the queue and runs them in sandboxed child
 * processes, `concurrency` at a time (by default the machine's cores, each job on one thread).
 * It outlives Redis restarts (one line while Redis is away, it reconnects and goes on) and runs
 * only the jobs of its own build (job-data.ts); the worker's name on Redis is its build, so a
 * coordinator can tell that no worker of its build listens.
 */
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "bullmq";
import { codeVersion } from "./code-version.js";
import { QUEUE_NAME, type JobResult } from "./job-data.js";
import { RECONNECT_MS, RedisLink } from "./redis.js";

export interface WorkerOptions {
  queue: string;
  concurrency?: number;
  /** How long a job's lock lasts without renewal: a dead worker's job is handed on after it. */
  lockMs?: number;
  log?: (message: string) => void;
  /** Redis away and back, errors: shown even under --quiet (default: stderr). */
  warn?: (message: string) => void;
}

export async function startWorker(o: WorkerOptions): Promise<{ close(): Promise<void> }> {
  const link = await RedisLink.open(o.queue, { warn: o.warn, waiting: "this worker waits for it and goes on with its jobs" });
  const concurrency = o.concurrency ?? os.availableParallelism();
  // Jobs side by side, one thread each: the cores are shared by jobs, not oversubscribed.
  if (concurrency > 1) process.env.SMAPFILL_THREADS ??= "1";
  const lockDuration = o.lockMs ?? 30_000;
  const code = codeVersion();
  const worker = new Worker<unknown, JobResult>(QUEUE_NAME, fileURLToPath(new URL("./job-processor.js", import.meta.url)), {
    connection: link.client,
    name: code,
    concurrency,
    lockDuration,
    stalledInterval: lockDuration,
    maxStalledCount: 3,
    // After a connection error the worker's loop waits this long before fetching again (BullMQ's
    // default, 15 s, would idle a worker well after Redis is back).
    runRetryDelay: RECONNECT_MS,
  });
  const warn = o.warn ?? ((m: string) => void process.stderr.write(`${m}\n`));
  const lost = new Set<string>();
  worker.on("error", (e) => {
    // After a Redis restart (or a job longer than its lock) BullMQ says so once per call that
    // needed the lock; what the operator needs is once per job, and what it means.
    const id = /(?:Missing lock|could not renew lock) for job ([^\s.]+)/.exec(e.message)?.[1];
    if (!id) return link.report(e);
    if (lost.has(id)) return;
    lost.add(id);
    warn(`job ${id} lost its lock (Redis restarted, or the job outlived --lock-ms without renewal): its result here is dropped, the job runs again`);
  });
  const log = o.log ?? (() => {});
  worker.on("completed", (job) => log(`done ${job.id}`));
  worker.on("failed", (job, error) => log(`failed ${job?.id} (attempt ${job?.attemptsMade}): ${error.message.split("\n")[0]}`));
  await worker.waitUntilReady();
  log(`worker on ${o.queue}, queue ${QUEUE_NAME}, smapfill ${code}, ${concurrency} jobs at a time`);
  return {
    close: async () => {
      link.closeQuietly();
      // With Redis away nothing can be handed back (closing would wait for it forever): stop
      // now; the jobs in hand run again elsewhere once their locks expire.
      const away = link.awaySince !== undefined;
      const closing = worker.close(away).catch(() => {});
      if (!away) await closing;
      link.close();
    },
  };
}
