/**
 * A fixed pool of worker threads running one module. Tasks go to the first idle worker; results
 * come back as promises. Used where independent files can be processed on all cores (reading
 * granules); the workers share nothing, so there is nothing to lock.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class WorkerPool<Task, Result> {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { task: Task; pending: Pending }[] = [];
  private readonly running = new Map<Worker, Pending>();
  private closed = false;

  constructor(moduleUrl: URL, size = defaultThreads()) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const worker = new Worker(moduleUrl);
      worker.on("message", (result: Result) => this.settle(worker, (p) => p.resolve(result)));
      worker.on("error", (error) => this.settle(worker, (p) => p.reject(error)));
      worker.unref();
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  run(task: Task): Promise<Result> {
    if (this.closed) return Promise.reject(new Error("the worker pool is closed"));
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ task, pending: { resolve: resolve as (v: unknown) => void, reject } });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const { task, pending } = this.queue.shift()!;
      this.running.set(worker, pending);
      worker.ref(); // keep the process alive while a task is out
      worker.postMessage(task);
    }
  }

  private settle(worker: Worker, action: (p: Pending) => void): void {
    const pending = this.running.get(worker);
    this.running.delete(worker);
    worker.unref(); // an idle pool must not keep the process alive
    this.idle.push(worker);
    if (pending) action(pending);
    this.dispatch();
  }
}

/** The default thread count: the machine's cores (SMAPFILL_THREADS overrides). */
export function defaultThreads(): number {
  const fromEnv = Number(process.env.SMAPFILL_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}
