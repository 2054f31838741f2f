/**
 * A fixed pool of worker threads running one module. Tasks go to the first idle worker; results
 * come back as promises. Used where independent units can be processed on all cores (reading
 * granules, DCT-PLS's pieces); the workers share nothing, so there is nothing to lock. A thread
 * that dies fails its task and is replaced.
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

  constructor(
    private readonly moduleUrl: URL,
    size = defaultThreads(),
  ) {
    for (let i = 0; i < Math.max(1, size); i++) this.spawn();
  }

  private spawn(): void {
    const worker = new Worker(this.moduleUrl);
    worker.on("message", (result: Result) => this.settle(worker, (p) => p.resolve(result)));
    // An uncaught error ends the thread ('error', then 'exit'); so does process.exit or running
    // out of memory ('exit' alone). Either way the thread is gone: its task fails, and a fresh
    // thread takes its place so that the pool keeps its size.
    worker.on("error", (error) => this.retire(worker, error));
    worker.on("exit", (code) => this.retire(worker, new Error(`a worker thread of ${this.moduleUrl.pathname} exited (code ${code}) during its task`)));
    worker.unref();
    this.workers.push(worker);
    this.idle.push(worker);
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

  private retire(worker: Worker, error: Error): void {
    const at = this.workers.indexOf(worker);
    if (at < 0) return; // already retired: 'exit' follows 'error'
    this.workers.splice(at, 1);
    const idleAt = this.idle.indexOf(worker);
    if (idleAt >= 0) this.idle.splice(idleAt, 1);
    const pending = this.running.get(worker);
    this.running.delete(worker);
    if (pending) pending.reject(error);
    if (this.closed) return;
    this.spawn();
    this.dispatch();
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
