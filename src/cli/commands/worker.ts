/** `smapfill worker` and `smapfill status`: the distributed side of `reconstruct --queue`. */
import os from "node:os";
import { Command, Option } from "commander";
import { QUEUE_NAME } from "../../jobs/job-data.js";
import { queueStatus } from "../../jobs/queue.js";
import { startWorker } from "../../jobs/worker.js";
import { quietOption, wholeNumber } from "../options.js";

export function workerCommand(): Command {
  return new Command("worker")
    .description("run reconstruction jobs from a queue (smapfill reconstruct --queue) until stopped (Ctrl-C finishes the jobs in hand)")
    .requiredOption("--queue <redis-url>", "the Redis the jobs are on (redis://HOST:PORT/DB)")
    .addOption(
      new Option("--concurrency <n>", "jobs at a time, each in its own process on one thread").argParser(wholeNumber(1)).default(os.availableParallelism()),
    )
    .addOption(new Option("--lock-ms <ms>", "a job's lock; a dead worker's job goes to another worker after it").argParser(wholeNumber(1000)).default(30000))
    .addOption(quietOption())
    .action(async (o: { queue: string; concurrency: number; lockMs: number; quiet?: boolean }) => {
      const warn = (m: string) => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);
      const log = o.quiet ? () => {} : warn;
      const worker = await startWorker({ queue: o.queue, concurrency: o.concurrency, lockMs: o.lockMs, log, warn });
      process.stdout.write(`smapfill worker on ${o.queue} (queue ${QUEUE_NAME}); Ctrl-C stops it\n`);
      const stop = () => void worker.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}

export function statusCommand(): Command {
  return new Command("status")
    .description("the jobs of a queue: waiting, active, completed, failed (with their errors)")
    .requiredOption("--queue <redis-url>", "the Redis the jobs are on (redis://HOST:PORT/DB)")
    .action(async (o: { queue: string }) => {
      const s = await queueStatus(o.queue);
      const c = s.counts;
      const total = Object.values(c).reduce((a, b) => a + b, 0);
      const lines = [
        `${o.queue} queue ${QUEUE_NAME}: ${total} jobs: ${c.completed} completed, ${c.active} active, ${c.waiting + (c.prioritized ?? 0)} waiting, ${c.delayed} delayed (retry back-off), ${c.failed} failed`,
        ...s.active.map((j) => `  active ${j.id}`),
        ...s.failed.map((j) => `  failed ${j.id} after ${j.attempts} attempts: ${j.reason.split("\n")[0]}`),
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
