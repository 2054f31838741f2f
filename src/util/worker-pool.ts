/**
 * A fixed pool of worker threads running one module. Tasks go to an idle worker; results come
 * back as promises. Used where independent units can be processed on all cores (reading
 * granules, DCT-PLS's pieces); the workers share nothing, so there is nothing to lock.
 *
 * A thread that dies (an uncaught error, process.exit, running out of memory) is replaced when a
 * task needs it, and the task it held is tried once more on a fresh thread: the tasks are pure,
 * and a thread can die just after replying, with the next task already sent to it. A task whose
 * thread dies twice fails with the error. A module that cannot start fails each task in turn
 * rather than spawning threads without end.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Queued<Task> {
  task: Task;
  pending: Pending;
  /** Threads that died holding this task. */
  deaths: number;
}

export class WorkerPool<Task, Result> {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Queued<Task>[] = [];
  private readonly running = new Map<Worker, Queued<Task>>();
  private readonly capacity: number;
  private closed = false;

  constructor(
    private readonly moduleUrl: URL,
    size = defaultThreads(),
  ) {
    this.capacity = Math.max(1, size);
    for (let i = 0; i < this.capacity; i++) this.spawn();
  }

  get size(): number {
    return this.capacity;
  }

  run(task: Task): Promise<Result> {
    if (this.closed) return Promise.reject(new Error("the worker pool is closed"));
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ task, pending: { resolve: resolve as (v: unknown) => void, reject }, deaths: 0 });
      this.dispatch();
    });
  }

  /** Ends every thread; tasks still queued or running fail. */
  async close(): Promise<void> {
    this.closed = true;
    const closed = new Error("the worker pool is closed");
    for (const q of this.queue.splice(0)) q.pending.reject(closed);
    for (const q of this.running.values()) q.pending.reject(closed);
    this.running.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private spawn(): void {
    const worker = new Worker(this.moduleUrl);
    worker.on("message", (result: Result) => this.settle(worker, result));
    // An uncaught error ends the thread ('error', then 'exit'); process.exit or running out of
    // memory end it with 'exit' alone.
    worker.on("error", (error) => this.retire(worker, error));
    worker.on("exit", (code) => this.retire(worker, new Error(`a worker thread of ${this.moduleUrl.pathname} exited (code ${code}) during its task`)));
    worker.unref();
    this.workers.push(worker);
    this.idle.push(worker);
  }

  private dispatch(): void {
    if (this.closed) return;
    // Threads that died are replaced only for tasks waiting, so a module that cannot start
    // fails each task in turn instead of spawning threads without end.
    while (this.workers.length < this.capacity && this.queue.length > this.idle.length) this.spawn();
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const queued = this.queue.shift()!;
      this.running.set(worker, queued);
      worker.ref(); // keep the process alive while a task is out
      worker.postMessage(queued.task);
    }
  }

  private retire(worker: Worker, error: Error): void {
    const at = this.workers.indexOf(worker);
    if (at < 0) return; // already retired: 'exit' follows 'error'
    this.workers.splice(at, 1);
    const idleAt = this.idle.indexOf(worker);
    if (idleAt >= 0) this.idle.splice(idleAt, 1);
    const queued = this.running.get(worker);
    this.running.delete(worker);
    if (queued && !this.closed) {
      if (++queued.deaths < 2) this.queue.unshift(queued);
      else queued.pending.reject(error);
    }
    this.dispatch();
  }

  private settle(worker: Worker, result: Result): void {
    const queued = this.running.get(worker);
    this.running.delete(worker);
    worker.unref(); // an idle pool must not keep the process alive
    // A reply flushed by a thread already retired: the thread does not go back to work.
    if (this.workers.includes(worker)) this.idle.push(worker);
    queued?.pending.resolve(result);
    this.dispatch();
  }
}

/** The default thread count: the machine's cores (SMAPFILL_THREADS overrides). */
export function defaultThreads(): number {
  const fromEnv = Number(process.env.SMAPFILL_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}
