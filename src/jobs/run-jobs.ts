/**
 * The coordinator's side of every distributed run (reconstruct, ingest, features --queue):
 * enqueue jobs with deterministic ids, wait until each completed or failed, check the files they
 * wrote. Made to heal rather than to stop: a job that completed before but whose files are gone
 * or changed (the output deleted, moved or replaced) is enqueued again; jobs Redis lost (a
 * restart without its data) are enqueued again as soon as it is back; Redis going away is one
 * line and a wait, not a stack trace; a job refused by a worker of another build, or no worker
 * at all, is said.
 */
import path from "node:path";
import { Queue, QueueEvents, type Job } from "bullmq";
import { SmapfillError } from "../util/errors.js";
import { fileSha256 } from "../util/checksum.js";
import { codeVersion } from "./code-version.js";
import { isRefusal, QUEUE_NAME, type JobKind, type JobOrigin, type JobResult } from "./job-data.js";
import { displayUrl, RedisLink } from "./redis.js";

/** What every coordinator (reconstruct, ingest, features --queue) takes. */
export interface QueueOptions {
  queue: string;
  /** Attempts per job before it lands in the failed list. */
  attempts?: number;
  pollMs?: number;
  /** How often the unfinished jobs' states are looked at in full (events may be missed). */
  recheckMs?: number;
  /** How long Redis may stay unreachable before the run gives up (ms; default 10 min). */
  redisWaitMs?: number;
  onJobs?: (done: number, total: number) => void;
  log?: (message: string) => void;
  /** Redis away and back, refused jobs, no workers: shown even under --quiet (default: stderr). */
  warn?: (message: string) => void;
}

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

const stderr = (m: string) => void process.stderr.write(`${m}\n`);

/** A queue on a Redis URL (or a coordinator's options), and the link that watches the connection, for the duration of `f`. */
export async function withQueue<T>(target: string | Pick<QueueOptions, "queue" | "warn">, f: (queue: Queue, link: RedisLink) => Promise<T>): Promise<T> {
  const { queue: url, warn } = typeof target === "string" ? { queue: target, warn: undefined } : target;
  const link = await RedisLink.open(url, { warn, waiting: "the run waits for it, finished jobs are kept" });
  const queue = new Queue(QUEUE_NAME, { connection: link.client });
  link.watch(queue);
  try {
    return await f(queue, link);
  } finally {
    link.closeQuietly();
    // With Redis away, commands wait for it: drop them so that closing does not wait too.
    if (link.awaySince !== undefined) link.client.disconnect();
    await queue.close().catch(() => {});
    link.close();
  }
}

/** The first file of a job's result that is not on disk with the bytes the job wrote. */
function changedFile(root: string, r: JobResult): { file: string; missing: boolean } | undefined {
  for (const [file, sha] of Object.entries(r.files ?? {})) {
    const now = fileSha256(path.join(root, file));
    if (now !== sha) return { file, missing: now === "missing" };
  }
  return undefined;
}

/**
 * Enqueues jobs (an id already in the queue is not added twice), waits until every job completed
 * or failed, and checks every file a completed job wrote against the checksum it returned
 * (`root`: the folder they are relative to). A job found completed from before is reused only
 * while its files are intact, and enqueued again otherwise; failed jobs of an earlier attempt are
 * enqueued again. A file that changes during the run throws: another writer touched the output.
 */
export async function runJobs<D extends object, R extends JobResult>(
  queue: Queue,
  link: RedisLink,
  root: string,
  jobs: QueuedJob<D>[],
  o: Omit<QueueOptions, "queue" | "log"> = {},
): Promise<JobOutcome<R>> {
  const warn = o.warn ?? stderr;
  const code = codeVersion();
  const url = displayUrl(link.url);
  const pending = new Set(jobs.map((j) => j.id));
  const results = new Map<string, R>();
  const failed = new Map<string, string>();
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const enqueue = (list: QueuedJob<D>[]) =>
    queue.addBulk(
      list.map((j) => ({
        name: j.name,
        data: { ...j.data, code } satisfies D & JobOrigin,
        opts: { jobId: j.id, attempts: o.attempts ?? 3, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: false, removeOnFail: false },
      })),
    );
  const completed = (id: string, job: Job) => {
    pending.delete(id);
    results.set(id, job.returnvalue as R);
  };

  // Finished jobs are learnt from the queue's event stream (no Redis call per job and poll); a
  // full look at the unfinished jobs' states at the start, every `recheckMs` and after every
  // reconnection catches any event missed and any job Redis lost.
  const events = new QueueEvents(QUEUE_NAME, { connection: link.client });
  link.watch(events);
  const look = async (ids: string[]): Promise<string[]> => {
    const vanished: string[] = [];
    for (const id of ids) {
      if (!pending.has(id)) continue;
      const job = await queue.getJob(id);
      if (!job) vanished.push(id);
      else {
        const state = await job.getState();
        if (state === "completed") completed(id, job);
        else if (state === "failed") (failed.set(id, job.failedReason), pending.delete(id));
      }
    }
    return vanished;
  };
  const refusals = new Set<string>();
  let lookNow = false;
  const onReconnect = () => void (lookNow = true);
  link.on("reconnected", onReconnect);
  let giveUpTimer: NodeJS.Timeout | undefined;
  const limit = o.redisWaitMs ?? 600_000;
  const giveUp = new Promise<never>((_, reject) => {
    giveUpTimer = setInterval(
      () => {
        if (link.awaySince === undefined || Date.now() - link.awaySince < limit) return;
        reject(
          new SmapfillError(`Redis at ${url} has been unreachable for ${Math.round(limit / 1000)} s`, {
            variable: "--queue",
            hint: "Start it again and run the same command: finished work is kept, lost jobs are enqueued again",
          }),
        );
      },
      Math.min(1000, limit),
    );
  });

  const work = async () => {
    events.on("completed", ({ jobId, returnvalue }) => {
      if (!pending.has(jobId)) return;
      pending.delete(jobId);
      results.set(jobId, returnvalue as unknown as R);
    });
    // 'failed' fires for every failed attempt: only a job in the failed set has given up.
    events.on("failed", ({ jobId }) => void (pending.has(jobId) && look([jobId]).catch(() => {})));
    events.on("progress", ({ jobId, data }) => {
      if (!pending.has(jobId) || !isRefusal(data)) return;
      const key = `${data.refused.worker} ${data.refused.reason}`;
      if (refusals.has(key)) return;
      refusals.add(key);
      warn(`job ${jobId} refused by the worker on ${data.refused.worker}: ${data.refused.reason}; it waits for a worker of smapfill ${code}`);
    });
    await events.waitUntilReady();

    // What the queue holds of these ids from an earlier attempt.
    const add: QueuedJob<D>[] = [];
    let redone = 0;
    for (const j of jobs) {
      const job = await queue.getJob(j.id);
      const state = job ? await job.getState() : "missing";
      if (state === "completed" && !changedFile(root, job!.returnvalue as R)) completed(j.id, job!);
      else if (state === "completed" || state === "failed") {
        // Output deleted, moved or replaced since, or failed before: done again, from the start.
        await job!.remove();
        if (state === "completed") redone++;
        add.push(j);
      } else if (state === "missing" || state === "unknown") add.push(j);
      // waiting, delayed, active: in hand already.
    }
    if (redone) warn(`${redone} jobs had completed before, but their output is gone or changed (deleted, moved or replaced): enqueued again`);
    await enqueue(add);

    let lastLook = performance.now();
    let lastDone = -1;
    let stalled = "";
    for (;;) {
      const done = jobs.length - pending.size - failed.size;
      if (lookNow || performance.now() - lastLook > (o.recheckMs ?? 30_000)) {
        lookNow = false;
        const vanished = await look([...pending]);
        if (vanished.length) {
          warn(`${vanished.length} jobs were no longer on the queue (Redis restarted without its data?): enqueued again`);
          await enqueue(vanished.map((id) => byId.get(id)!));
        }
        if (done === lastDone && pending.size) {
          const message = await noWorkerMessage(queue, url, code);
          if (message && message !== stalled) warn(message);
          stalled = message ?? "";
        } else stalled = "";
        lastDone = done;
        lastLook = performance.now();
      }
      o.onJobs?.(done, jobs.length);
      if (!pending.size) break;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
  };
  const running = work();
  running.catch(() => {}); // after a give-up it ends in "connection closed": the give-up is the error
  try {
    await Promise.race([running, giveUp]);
  } finally {
    clearInterval(giveUpTimer);
    link.off("reconnected", onReconnect);
    // With Redis away, closing waits for an 'end' that a connection between two attempts never
    // emits: let it close in the background (it holds nothing that keeps the process alive).
    const closing = events.close().catch(() => {});
    if (link.awaySince === undefined) await closing;
  }

  for (const j of jobs) {
    const r = results.get(j.id);
    if (!r) continue;
    const changed = changedFile(root, r);
    if (changed)
      throw new SmapfillError(`${changed.file} of job ${j.id} is ${changed.missing ? "missing" : "not the bytes the job wrote"}`, {
        file: root,
        hint: "Another writer touched the output during this run; run again (jobs whose files changed are done again)",
      });
  }
  const failedList = jobs.filter((j) => failed.has(j.id)).map((j) => `${j.id}: ${failed.get(j.id)}`);
  return { results, failed: failedList };
}

/** Why no job moves, when no worker of this build listens (undefined when some does, or Redis cannot tell). */
async function noWorkerMessage(queue: Queue, url: string, code: string): Promise<string | undefined> {
  let workers: { rawname?: string }[];
  try {
    workers = await queue.getWorkers();
  } catch {
    return undefined;
  }
  const start = `start one with: smapfill worker --queue ${url}`;
  if (!workers.length) return `no worker listens on ${url} (queue ${QUEUE_NAME}): ${start}`;
  const builds = workers.map((w) => w.rawname?.split(":w:")[1]);
  // A worker without a name: a client list that tells nothing (some managed Redis services).
  if (builds.some((b) => b === undefined || b === code)) return undefined;
  return `none of the ${workers.length} workers on ${url} runs this build of smapfill (${code}; theirs: ${[...new Set(builds)].join(", ")}): ${start} from this installation`;
}

/** The failed jobs as one error (the same command again retries them; finished work is kept). */
export function failedJobsError(failed: string[], total: number, file: string): SmapfillError {
  return new SmapfillError(`${failed.length} of ${total} jobs failed:\n  ${failed.slice(0, 20).join("\n  ")}${failed.length > 20 ? "\n  ..." : ""}`, {
    file,
    hint: "Fix the cause and run the same command again: finished work is kept, failed jobs are retried",
  });
}
