/**
 * Training of a network on standardised inputs, as MODELS.md and the reference's
 * train_regressor do it: the target standardised with the training mean/sd; MSE; batches of
 * 512 from a seeded shuffle every epoch (a last batch of 1 row is dropped, for BatchNorm);
 * Adam(1e-3) for TsSMNet/AutoResNet, AdamW(5e-4, wd 1e-5) for the Transformer; after every
 * epoch the validation RMSE in original units; a strictly better one keeps the weights; 5 epochs
 * without improvement halve the learning rate, 12 stop; the best weights are restored.
 */
import { buildNet, type Net, type NetName, type NetOptions } from "./nets.js";
import { Adam, AdamW, PlateauSchedule, type Optimizer } from "../nn/optim.js";
import { Rng } from "../util/random.js";
import { NetReplicas } from "./net-replicas.js";
import { forwardRows, trainStep } from "./net-steps.js";
import type { FitOptions } from "./regressor.js";

export { EVAL_BATCH } from "./net-steps.js";

/**
 * A network's input rows: copied into a batch buffer when needed, so that rows too wide to hold
 * all at once (a sequence model's windows) are gathered batch by batch.
 */
export interface RowSource {
  readonly n: number;
  readonly f: number;
  /** Writes rows rows[0..count) into into[0 .. count * f). */
  copy(rows: ArrayLike<number>, count: number, into: Float32Array): void;
}

/** Rows held in one array Z [n, f]. */
export function materialised(Z: Float32Array, n: number, f: number): RowSource & { Z: Float32Array } {
  return {
    Z,
    n,
    f,
    copy: (rows, count, into) => {
      for (let r = 0; r < count; r++) into.set(Z.subarray(rows[r]! * f, (rows[r]! + 1) * f), r * f);
    },
  };
}

/** Rows gathered per inference call: bounds the gathered inputs in memory (rows x features floats). */
const GATHER_FLOATS = 1 << 22;

export interface TrainOptions {
  /** What buildNet needs besides the seed (the LSTM networks' shape). */
  net?: Omit<NetOptions, "seed">;
  maxEpochs?: number;
  batch?: number;
  seed?: number;
  lrPatience?: number;
  stopPatience?: number;
  /** Threads (data-parallel over each batch, see NetReplicas); default 1. Results depend on it. */
  threads?: number;
  onEpoch?: (e: EpochRecord) => void;
}

export interface EpochRecord {
  epoch: number;
  trainMseStd: number;
  valRmse: number;
  lr: number;
  seconds: number;
}

/** A network's per-epoch report: one progress line and the step against its epoch cap. */
export function epochReporter(name: string, options: Pick<FitOptions, "onProgress" | "onStep">, maxEpochs: number): (e: EpochRecord) => void {
  return (e) => {
    options.onProgress?.(`${name} epoch ${e.epoch}: val RMSE ${e.valRmse.toFixed(5)}, lr ${e.lr.toExponential(1)}, ${e.seconds.toFixed(1)} s`);
    options.onStep?.(e.epoch, maxEpochs);
  };
}

export interface TrainedNet {
  net: Net;
  yMean: number;
  ySd: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestValRmse: number;
  trainSamplesPerSecond: number;
}

/**
 * Predictions (original units) for standardised inputs (Z [n, f], or rows gathered chunk by
 * chunk from a source), on the replicas' threads when given.
 */
export function predictNet(
  net: Net,
  Z: Float32Array | RowSource,
  n: number,
  f: number,
  yMean: number,
  ySd: number,
  replicas?: NetReplicas | null,
): Float32Array {
  const out = new Float32Array(n);
  const run = (z: Float32Array, m: number, at: number) => {
    if (replicas) out.set(replicas.predict(z, m), at);
    else {
      net.eval();
      forwardRows(net, z, f, 0, m, out.subarray(at));
    }
  };
  if (Z instanceof Float32Array) run(Z, n, 0);
  else {
    const chunk = Math.max(1, Math.floor(GATHER_FLOATS / f));
    const buffer = new Float32Array(Math.min(n, chunk) * f);
    const rows = new Int32Array(Math.min(n, chunk));
    for (let c0 = 0; c0 < n; c0 += chunk) {
      const m = Math.min(chunk, n - c0);
      for (let r = 0; r < m; r++) rows[r] = c0 + r;
      Z.copy(rows, m, buffer);
      run(buffer.subarray(0, m * f), m, c0);
    }
  }
  for (let i = 0; i < n; i++) out[i] = out[i]! * ySd + yMean;
  return out;
}

/** Trains a network on rows of Ztr (standardised inputs [n, f], or a source of them) for targets ytr, early stopping on Zva, yva. */
export function trainNet(
  name: NetName,
  Ztr: Float32Array | RowSource,
  ytr: Float32Array,
  Zva: Float32Array | RowSource,
  yva: Float32Array,
  f: number,
  o: TrainOptions = {},
): TrainedNet {
  const source = Ztr instanceof Float32Array ? materialised(Ztr, ytr.length, f) : Ztr;
  const batch = o.batch ?? 512;
  const seed = o.seed ?? 0;
  const n = ytr.length;
  let yMean = 0;
  for (const v of ytr) yMean += v;
  yMean /= n;
  let ss = 0;
  for (const v of ytr) ss += (v - yMean) ** 2;
  const ySd = Math.sqrt(ss / n) || 1;
  const target = Float32Array.from(ytr, (v) => (v - yMean) / ySd);
  const net = buildNet(name, f, { ...o.net, seed });
  const opt: Optimizer = name === "transformer" ? new AdamW(net.parameters(), 5e-4, [0.9, 0.999], 1e-8, 1e-5) : new Adam(net.parameters(), 1e-3);
  const schedule = new PlateauSchedule(net, opt, o.lrPatience ?? 5, o.stopPatience ?? 12);
  const rng = new Rng(seed + 1);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const xb = new Float32Array(batch * f);
  const yb = new Float32Array(batch);
  const history: EpochRecord[] = [];
  let trainSeconds = 0;
  let samples = 0;
  const threads = Math.max(1, Math.min(o.threads ?? 1, Math.floor(batch / 64)));
  const replicas = threads > 1 ? new NetReplicas(net, name, seed, threads, batch, o.net ?? {}) : null;
  try {
    for (let epoch = 1; epoch <= (o.maxEpochs ?? 200); epoch++) {
      const t0 = performance.now();
      net.train();
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      let lossSum = 0;
      let seen = 0;
      for (let s = 0; s < n; s += batch) {
        const m = Math.min(batch, n - s);
        if (m < 2) continue;
        const rows = order.subarray(s, s + m);
        source.copy(rows, m, xb);
        for (let r = 0; r < m; r++) yb[r] = target[rows[r]!]!;
        const [x, y] = [xb.subarray(0, m * f), yb.subarray(0, m)];
        lossSum += (replicas ? replicas.trainStep(opt, x, y, m) : trainStep(net, opt, x, y, m, f)) * m;
        seen += m;
      }
      const t1 = performance.now();
      trainSeconds += (t1 - t0) / 1000;
      samples += seen;
      const pred = predictNet(net, Zva, yva.length, f, yMean, ySd, replicas);
      let se = 0;
      for (let i = 0; i < yva.length; i++) se += (pred[i]! - yva[i]!) ** 2;
      const valRmse = Math.sqrt(se / yva.length);
      const record = { epoch, trainMseStd: lossSum / Math.max(1, seen), valRmse, lr: opt.lr, seconds: (performance.now() - t0) / 1000 };
      history.push(record);
      o.onEpoch?.(record);
      if (schedule.update(epoch, valRmse)) break;
    }
  } finally {
    replicas?.close();
  }
  schedule.restoreBest();
  return { net, yMean, ySd, history, bestEpoch: schedule.bestEpoch, bestValRmse: schedule.best, trainSamplesPerSecond: samples / trainSeconds };
}
