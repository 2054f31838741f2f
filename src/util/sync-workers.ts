/**
 * Synchronous fan-out to worker threads, for CPU-bound work inside synchronous APIs (a model's
 * fit): each worker gets its share of the tasks, the calling thread blocks (Atomics.wait) until
 * all have answered, and fetches the answers with receiveMessageOnPort. The workers run the
 * module at `moduleUrl`, which calls `serveSyncTasks` with its task handler.
 */
import { MessageChannel, receiveMessageOnPort, Worker, workerData, type MessagePort } from "node:worker_threads";

/** How long a waiting thread spins before it sleeps: a hand-off within this costs no wake-up (tens of microseconds). */
const SPIN_MS = 0.1;

/** Blocks the calling thread until counter[at] >= count (spinning briefly first). */
function waitUntil(counter: Int32Array, count: number, at = 0): void {
  const spinUntil = performance.now() + SPIN_MS;
  while (Atomics.load(counter, at) < count && performance.now() < spinUntil);
  for (;;) {
    const finished = Atomics.load(counter, at);
    if (finished >= count) break;
    Atomics.wait(counter, at, finished, 1000);
  }
}

/** Worker side: one more item done (wakes the waiting thread). */
function signalDone(counter: Int32Array): void {
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

interface Answer<R> {
  results?: R[];
  error?: string;
}

/** Runs `tasks` on `threads` workers (task i on worker i mod threads); results in task order. */
export function runSyncTasks<T, R>(moduleUrl: URL, shared: unknown, tasks: T[], threads: number): R[] {
  const n = Math.max(1, Math.min(threads, tasks.length));
  const done = new Int32Array(new SharedArrayBuffer(4));
  const ports: MessagePort[] = [];
  const workers: Worker[] = [];
  for (let w = 0; w < n; w++) {
    const { port1, port2 } = new MessageChannel();
    const mine = tasks.flatMap((t, i) => (i % n === w ? [t] : []));
    workers.push(new Worker(moduleUrl, { workerData: { port: port2, done: done.buffer, shared, tasks: mine }, transferList: [port2] }));
    ports.push(port1);
  }
  try {
    waitUntil(done, n);
    const answers = ports.map((p) => (receiveMessageOnPort(p)?.message ?? { error: "a worker ended without an answer" }) as Answer<R>);
    const failed = answers.find((a) => a.error);
    if (failed) throw new Error(`worker thread failed: ${failed.error}`);
    const out: R[] = new Array(tasks.length);
    answers.forEach((a, w) => a.results!.forEach((r, k) => (out[k * n + w] = r)));
    return out;
  } finally {
    for (const w of workers) void w.terminate();
    for (const p of ports) p.close();
  }
}

/** Worker side: answers the tasks given in workerData with `handle`. */
export function serveSyncTasks<T, R>(handle: (task: T, shared: unknown) => R): void {
  const { port, done, shared, tasks } = workerData as { port: MessagePort; done: SharedArrayBuffer; shared: unknown; tasks: T[] };
  let answer: Answer<R>;
  try {
    answer = { results: tasks.map((t) => handle(t, shared)) };
  } catch (error) {
    answer = { error: errorText(error) };
  }
  port.postMessage(answer);
  signalDone(new Int32Array(done));
}

/**
 * Persistent workers driven synchronously: the calling thread posts messages (any number, to any
 * worker), does its own share, then blocks in wait() until every posted message is handled.
 * State lives in the workers between messages (a network replica, shared histograms); bulk data
 * goes through SharedArrayBuffers, messages carry only small descriptions of the work.
 *
 * Hand-offs are frequent (every tree level, every batch), so a worker does not return to its
 * event loop between messages, whose wake-up costs 70-100 microseconds here: it blocks on a
 * shared counter of posted messages (spinning briefly first) and takes them from its port with
 * receiveMessageOnPort.
 */
export class SyncWorkers<Message> {
  private readonly workers: Worker[] = [];
  /** Per worker: the port messages go to, and its error answers come back on. */
  private readonly ports: MessagePort[] = [];
  private readonly done = new Int32Array(new SharedArrayBuffer(4));
  /** posted[w]: messages posted to worker w so far. */
  private readonly posted: Int32Array;
  private expected = 0;
  private closed = false;

  /** One worker per element of `data` (its workerData, plus the synchronisation handles). */
  constructor(moduleUrl: URL, data: object[]) {
    this.posted = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, data.length)));
    data.forEach((d, rank) => {
      const { port1, port2 } = new MessageChannel();
      const sync = { port: port2, done: this.done.buffer, posted: this.posted.buffer, rank };
      const worker = new Worker(moduleUrl, { workerData: { ...d, sync }, transferList: [port2] });
      worker.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    });
  }

  post(worker: number, message: Message): void {
    if (this.closed) throw new Error("the worker threads are closed");
    this.expected++;
    // The message is in the port's queue before the count says so.
    this.ports[worker]!.postMessage(message);
    Atomics.add(this.posted, worker, 1);
    Atomics.notify(this.posted, worker);
  }

  /** Blocks until every posted message is handled; rethrows a worker's error (and closes). */
  wait(): void {
    waitUntil(this.done, this.expected);
    for (const port of this.ports) {
      const message = receiveMessageOnPort(port)?.message as { error?: string } | undefined;
      if (message?.error) {
        this.close();
        throw new Error(`worker thread failed: ${message.error}`);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
  }
}

/**
 * Worker side of SyncWorkers: handles each message with `handle`; returns this worker's
 * workerData. The serving loop starts once the worker's module has finished loading (its
 * set-up after this call runs first) and never returns: the thread ends when it is terminated.
 */
export function serveSyncMessages<Data, Message>(handle: (message: Message, data: Data) => void): Data {
  const data = workerData as Data & { sync: { port: MessagePort; done: SharedArrayBuffer; posted: SharedArrayBuffer; rank: number } };
  const { port, rank } = data.sync;
  const done = new Int32Array(data.sync.done);
  const posted = new Int32Array(data.sync.posted);
  setImmediate(() => {
    for (let handled = 0; ; handled++) {
      waitUntil(posted, handled + 1, rank);
      const message = receiveMessageOnPort(port)!.message as Message;
      try {
        handle(message, data);
      } catch (error) {
        port.postMessage({ error: errorText(error) });
      } finally {
        signalDone(done);
      }
    }
  });
  return data;
}

/**
 * Claims blocks of `chunk` items from a shared counter until all n are taken, handing each to
 * `work` (from, to): every thread of a call runs it, so a slower or later one simply takes fewer.
 */
export function claimBlocks(m: { counter: SharedArrayBuffer; n: number; chunk: number }, work: (from: number, to: number) => void): void {
  const counter = new Int32Array(m.counter);
  for (;;) {
    const c = Atomics.add(counter, 0, 1);
    const from = c * m.chunk;
    if (from >= m.n) return;
    work(from, Math.min(m.n, from + m.chunk));
  }
}
