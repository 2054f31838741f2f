/**
 * Data-parallel training and inference of a network on worker threads sharing memory.
 *
 * The calling thread keeps the master network and the optimiser; each worker keeps a replica of
 * the same architecture. A training step splits the batch into one contiguous shard per thread
 * (the calling thread takes the first), every thread runs forward and backward on its shard,
 * the workers' gradients come back through shared memory and are summed, weighted by shard size,
 * into the master's (= the gradient of the whole batch's mean loss), and the master takes the
 * optimiser step. The replicas read the master's weights from shared memory before every step.
 *
 * As in PyTorch's DistributedDataParallel: batch normalisation normalises each shard with its
 * own statistics (no synchronised BN), the running statistics are the master's (its shard's),
 * and each replica draws its own dropout masks. Results are deterministic for a given thread
 * count and differ slightly between thread counts. The calling thread blocks (Atomics.wait)
 * while the workers run, so fit() and predict() stay synchronous.
 */
import type { Optimizer } from "../nn/optim.js";
import { claimBlocks, SyncWorkers } from "../util/sync-workers.js";
import type { Net, NetName, NetOptions } from "./nets.js";
import { backpropagate, EVAL_BATCH, forwardRows } from "./net-steps.js";

/** Rows of one shared inference chunk: at most 32768, and at most 4 Mi floats of inputs (wide rows: a sequence model's windows). */
const predictChunk = (nIn: number) => Math.max(1, Math.min(32768, Math.floor((1 << 22) / nIn)));

export interface ReplicaSetup {
  name: NetName;
  nIn: number;
  seed: number;
  /** The network's options besides its seed (the LSTM network's shape). */
  options: Omit<NetOptions, "seed">;
  rank: number;
  batch: number;
  params: SharedArrayBuffer;
  buffers: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  input: SharedArrayBuffer;
  target: SharedArrayBuffer;
  predictInput: SharedArrayBuffer;
  predictOutput: SharedArrayBuffer;
  loss: SharedArrayBuffer;
}

/** Rows one thread claims at a time in begin(): a few inference batches. */
const CLAIM_ROWS = 4 * EVAL_BATCH;

/** The most input floats begin() copies into shared memory (larger predictions run synchronously, in chunks). */
export const BEGIN_MAX_FLOATS = 1 << 24;

export type ReplicaMessage =
  | { kind: "train"; rows: number }
  | { kind: "predict"; from: number; to: number }
  /** Blocks of `chunk` rows of `input` claimed from `counter` until n are done, outputs to `output`. */
  | { kind: "claim"; input: SharedArrayBuffer; output: SharedArrayBuffer; counter: SharedArrayBuffer; n: number; chunk: number };

/** The float buffers of a module (batch-norm running statistics), in a fixed order. */
export function floatBuffers(net: Net): Float32Array[] {
  return net.namedBuffers().flatMap(([, b]) => (b instanceof Float32Array ? [b] : []));
}

/** Shard sizes of m rows over t threads: as equal as possible, every shard >= 2 rows (batch norm). */
export function shardSizes(m: number, t: number): number[] {
  const k = Math.max(1, Math.min(t, Math.floor(m / 2)));
  return Array.from({ length: k }, (_, i) => Math.floor((m * (i + 1)) / k) - Math.floor((m * i) / k));
}

export class NetReplicas {
  readonly threads: number;
  private readonly chunk: number;
  private readonly workers: SyncWorkers<ReplicaMessage>;
  private readonly params: Float32Array;
  private readonly buffers: Float32Array;
  private readonly grads: Float32Array[] = [];
  private readonly inputs: Float32Array[] = [];
  private readonly targets: Float32Array[] = [];
  private readonly predictInput: Float32Array;
  private readonly predictOutput: Float32Array;
  private readonly losses: Float64Array;

  /**
   * threads >= 2: the calling thread and threads - 1 workers. batch: the largest training batch.
   * options: what buildNet needs besides the seed to build the same architecture (the LSTM's shape).
   */
  constructor(
    private readonly net: Net,
    name: NetName,
    seed: number,
    threads: number,
    batch: number,
    options: Omit<NetOptions, "seed"> = {},
  ) {
    this.threads = threads;
    const nIn = net.nIn;
    const nParams = net.parameters().reduce((s, p) => s + p.size, 0);
    const nBuffers = floatBuffers(net).reduce((s, b) => s + b.length, 0);
    const shared = (floats: number) => new SharedArrayBuffer(4 * Math.max(1, floats));
    const paramsBuffer = shared(nParams);
    const buffersBuffer = shared(nBuffers);
    this.chunk = predictChunk(nIn);
    const predictInput = shared(this.chunk * nIn);
    const predictOutput = shared(this.chunk);
    const loss = new SharedArrayBuffer(8 * threads);
    this.params = new Float32Array(paramsBuffer);
    this.buffers = new Float32Array(buffersBuffer);
    this.predictInput = new Float32Array(predictInput);
    this.predictOutput = new Float32Array(predictOutput);
    this.losses = new Float64Array(loss);
    const setups: ReplicaSetup[] = [];
    for (let rank = 1; rank < threads; rank++) {
      const grads = shared(nParams);
      const input = shared(batch * nIn);
      const target = shared(batch);
      this.grads.push(new Float32Array(grads));
      this.inputs.push(new Float32Array(input));
      this.targets.push(new Float32Array(target));
      setups.push({
        name,
        nIn,
        seed,
        options,
        rank,
        batch,
        params: paramsBuffer,
        buffers: buffersBuffer,
        grads,
        input,
        target,
        predictInput,
        predictOutput,
        loss,
      });
    }
    this.workers = new SyncWorkers(new URL("./net-replica-worker.js", import.meta.url), setups);
  }

  /**
   * One optimisation step on the batch x [m, f], y [m] (as trainStep): zero the gradients,
   * forward/backward on every shard, sum the gradients, update. Returns the batch loss.
   */
  trainStep(opt: Optimizer, x: Float32Array, y: Float32Array, m: number): number {
    const f = this.net.nIn;
    const sizes = shardSizes(m, this.threads);
    this.publish(false);
    let start = sizes[0]!;
    for (let w = 1; w < sizes.length; w++) {
      const rows = sizes[w]!;
      this.inputs[w - 1]!.set(x.subarray(start * f, (start + rows) * f));
      this.targets[w - 1]!.set(y.subarray(start, start + rows));
      this.workers.post(w - 1, { kind: "train", rows });
      start += rows;
    }
    const m0 = sizes[0]!;
    opt.zeroGrad();
    const loss0 = backpropagate(this.net, x, y, m0, f);
    this.workers.wait();
    // grad = sum over shards of (rows / m) * shard gradient
    let total = (loss0 * m0) / m;
    const own = m0 / m;
    const weights = sizes.slice(1).map((r) => r / m);
    for (let w = 1; w < sizes.length; w++) total += (this.losses[w]! * sizes[w]!) / m;
    let at = 0;
    for (const p of this.net.parameters()) {
      const g = p.gradBuffer();
      for (let i = 0; i < p.size; i++) {
        let s = g[i]! * own;
        for (let w = 0; w < weights.length; w++) s += weights[w]! * this.grads[w]![at + i]!;
        g[i] = s;
      }
      at += p.size;
    }
    opt.step();
    return total;
  }

  /** Standardised predictions of the master network (eval mode) for Z [n, f], on all threads. */
  predict(Z: Float32Array, n: number): Float32Array {
    const f = this.net.nIn;
    this.net.eval();
    this.publish(true);
    const out = new Float32Array(n);
    for (let c0 = 0; c0 < n; c0 += this.chunk) {
      const rows = Math.min(this.chunk, n - c0);
      // An equal share per thread (a row's prediction does not depend on its batch); the calling
      // thread takes the first.
      const per = Math.ceil(rows / this.threads);
      this.predictInput.set(Z.subarray((c0 + Math.min(per, rows)) * f, (c0 + rows) * f), Math.min(per, rows) * f);
      for (let w = 1; w < this.threads; w++) {
        const from = Math.min(rows, w * per);
        const to = Math.min(rows, (w + 1) * per);
        if (to > from) this.workers.post(w - 1, { kind: "predict", from, to });
      }
      forwardRows(this.net, Z.subarray(c0 * f), f, 0, Math.min(per, rows), out.subarray(c0));
      this.workers.wait();
      if (rows > per) out.set(this.predictOutput.subarray(per, rows), c0 + per);
    }
    return out;
  }

  /**
   * Starts the standardised predictions of Z [n, f] (at most BEGIN_MAX_FLOATS floats) on the
   * workers and returns the function that finishes them: the calling thread is free in between
   * (a reconstruction builds its next rows), then joins on the blocks still unclaimed. The same
   * values as predict(). One call in flight at a time.
   */
  begin(Z: Float32Array, n: number): () => Float32Array {
    const f = this.net.nIn;
    if (n * f > BEGIN_MAX_FLOATS) throw new Error(`NetReplicas.begin: ${n} rows of ${f} exceed ${BEGIN_MAX_FLOATS} floats`);
    this.net.eval();
    this.publish(true);
    const input = new SharedArrayBuffer(4 * Math.max(1, n * f));
    const output = new SharedArrayBuffer(4 * Math.max(1, n));
    new Float32Array(input).set(Z.subarray(0, n * f));
    const claim = { counter: new SharedArrayBuffer(4), n, chunk: CLAIM_ROWS };
    for (let w = 1; w < this.threads; w++) this.workers.post(w - 1, { kind: "claim", input, output, ...claim });
    return () => {
      const [x, out] = [new Float32Array(input), new Float32Array(output)];
      this.net.eval();
      claimBlocks(claim, (from, to) => forwardRows(this.net, x, f, from, to, out));
      this.workers.wait();
      return out;
    };
  }

  close(): void {
    this.workers.close();
  }

  /** Copies the master's weights (and, for inference, its running statistics) to shared memory. */
  private publish(withBuffers: boolean): void {
    let at = 0;
    for (const p of this.net.parameters()) {
      this.params.set(p.data, at);
      at += p.size;
    }
    if (!withBuffers) return;
    at = 0;
    for (const b of floatBuffers(this.net)) {
      this.buffers.set(b, at);
      at += b.length;
    }
  }
}

/**
 * Replicas for large predictions, kept between calls (an importance loop or a reconstruction
 * predicts many times) and closed once the event loop has been idle 2 s.
 */
export class IdleReplicas {
  private replicas: NetReplicas | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** The replicas of `net` (made on first use), or null below 2 threads or for a small prediction. */
  get(net: Net, name: NetName, seed: number, threads: number, rows: number, batch: number, options: Omit<NetOptions, "seed"> = {}): NetReplicas | null {
    if (threads < 2 || rows < 4 * batch) return null;
    this.replicas ??= new NetReplicas(net, name, seed, threads, batch, options);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.close(), 2000).unref();
    return this.replicas;
  }

  close(): void {
    clearTimeout(this.timer);
    this.replicas?.close();
    this.replicas = undefined;
  }
}
