/**
 * Training of a network on standardised inputs, as MODELS.md and the reference's
 * train_regressor do it: the target standardised with the training mean/sd; MSE; batches of
 * 512 from a seeded shuffle every epoch (a last batch of 1 row is dropped, for BatchNorm);
 * Adam(1e-3) for TsSMNet/AutoResNet, AdamW(5e-4, wd 1e-5) for the Transformer; after every
 * epoch the validation RMSE in original units; a strictly better one keeps the weights; 5 epochs
 * without improvement halve the learning rate, 12 stop; the best weights are restored.
 */
import { buildNet, type Net, type NetName } from "./nets.js";
import { Adam, AdamW, PlateauSchedule, type Optimizer } from "../nn/optim.js";
import { Rng } from "../util/random.js";
import { NetReplicas } from "./net-replicas.js";
import { forwardRows, trainStep } from "./net-steps.js";

export { EVAL_BATCH } from "./net-steps.js";

export interface TrainOptions {
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

export interface TrainedNet {
  net: Net;
  yMean: number;
  ySd: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestValRmse: number;
  trainSamplesPerSecond: number;
}

/** Predictions (original units) for standardised inputs Z [n, f], on the replicas' threads when given. */
export function predictNet(net: Net, Z: Float32Array, n: number, f: number, yMean: number, ySd: number, replicas?: NetReplicas | null): Float32Array {
  let out: Float32Array;
  if (replicas) out = replicas.predict(Z, n);
  else {
    net.eval();
    out = new Float32Array(n);
    forwardRows(net, Z, f, 0, n, out);
  }
  for (let i = 0; i < n; i++) out[i] = out[i]! * ySd + yMean;
  return out;
}

export function trainNet(
  name: NetName,
  Ztr: Float32Array,
  ytr: Float32Array,
  Zva: Float32Array,
  yva: Float32Array,
  f: number,
  o: TrainOptions = {},
): TrainedNet {
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
  const net = buildNet(name, f, { seed });
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
  const replicas = threads > 1 ? new NetReplicas(net, name, seed, threads, batch) : null;
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
        for (let r = 0; r < m; r++) {
          const src = order[s + r]!;
          xb.set(Ztr.subarray(src * f, (src + 1) * f), r * f);
          yb[r] = target[src]!;
        }
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
