/**
 * Synchronous fan-out to worker threads, for CPU-bound work inside synchronous APIs (a model's
 * fit): each worker gets its share of the tasks, the calling thread blocks (Atomics.wait) until
 * all have answered, and fetches the answers with receiveMessageOnPort. The workers run the
 * module at `moduleUrl`, which calls `serveSyncTasks` with its task handler.
 */
import { MessageChannel, parentPort, receiveMessageOnPort, Worker, workerData, type MessagePort } from "node:worker_threads";

/** Blocks the calling thread until counter[0] >= count. */
function waitUntil(counter: Int32Array, count: number): void {
  for (;;) {
    const finished = Atomics.load(counter, 0);
    if (finished >= count) break;
    Atomics.wait(counter, 0, finished, 1000);
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
 */
export class SyncWorkers<Message> {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly done = new Int32Array(new SharedArrayBuffer(4));
  private expected = 0;
  private closed = false;

  /** One worker per element of `data` (its workerData, plus the synchronisation handles). */
  constructor(moduleUrl: URL, data: object[]) {
    for (const d of data) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(moduleUrl, { workerData: { ...d, sync: { port: port2, done: this.done.buffer } }, transferList: [port2] });
      worker.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  post(worker: number, message: Message): void {
    if (this.closed) throw new Error("the worker threads are closed");
    this.expected++;
    this.workers[worker]!.postMessage(message);
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

/** Worker side of SyncWorkers: handles each message with `handle`; returns this worker's workerData. */
export function serveSyncMessages<Data, Message>(handle: (message: Message, data: Data) => void): Data {
  const data = workerData as Data & { sync: { port: MessagePort; done: SharedArrayBuffer } };
  const done = new Int32Array(data.sync.done);
  parentPort!.on("message", (message: Message) => {
    try {
      handle(message, data);
    } catch (error) {
      data.sync.port.postMessage({ error: errorText(error) });
    } finally {
      signalDone(done);
    }
  });
  return data;
}
