/**
 * `smapfill worker`: pulls jobs (reconstruction, ingestion, features) from the queue and runs them in sandboxed child
 * processes, `concurrency` at a time (by default the machine's cores, each job on one thread).
 */
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "bullmq";
import { connect, QUEUE_NAME, type JobResult } from "./queue.js";

export interface WorkerOptions {
  queue: string;
  concurrency?: number;
  /** How long a job's lock lasts without renewal: a dead worker's job is handed on after it. */
  lockMs?: number;
  log?: (message: string) => void;
}

export async function startWorker(o: WorkerOptions): Promise<{ close(): Promise<void> }> {
  const connection = await connect(o.queue);
  const concurrency = o.concurrency ?? os.availableParallelism();
  // Jobs side by side, one thread each: the cores are shared by jobs, not oversubscribed.
  if (concurrency > 1) process.env.SMAPFILL_THREADS ??= "1";
  const lockDuration = o.lockMs ?? 30_000;
  const worker = new Worker<unknown, JobResult>(QUEUE_NAME, fileURLToPath(new URL("./job-processor.js", import.meta.url)), {
    connection,
    concurrency,
    lockDuration,
    stalledInterval: lockDuration,
    maxStalledCount: 3,
  });
  const log = o.log ?? (() => {});
  worker.on("completed", (job) => log(`done ${job.id}`));
  worker.on("failed", (job, error) => log(`failed ${job?.id} (attempt ${job?.attemptsMade}): ${error.message.split("\n")[0]}`));
  worker.on("error", (error) => log(`worker error: ${error.message}`));
  await worker.waitUntilReady();
  log(`worker on ${o.queue}, queue ${QUEUE_NAME}, ${concurrency} jobs at a time`);
  return {
    close: async () => {
      await worker.close();
      connection.disconnect();
    },
  };
}
