/**
 * The sequence model (`lstm`, issue 26; after Fang et al. 2017, GRL 44, an LSTM over forcings
 * that prolongs SMAP): an LSTM over the past `window` days of a pixel's dynamic predictors and of
 * the SMAP retrievals its features may see, its last state beside the row's tabular features
 * (every feature group, the last retrieval and the days since it among them) into a small head
 * (nets.ts, SequenceNet).
 *
 * Per day of the window (day d - window + 1 .. d of a row on day d), the channels:
 *   present        1 where the day lies in the cube, 0 before its start (the step is masked)
 *   predictors     each dynamic predictor standardised with the training rows' mean and sd
 *                  (missing: 0, and a missing indicator for the predictors that miss any value
 *                  in the training history)
 *   smap, seen     the retrieval of that day (standardised with the training history's) and 1, where the
 *                  row's features could see it and the day is not after the row's previous
 *                  retrieval (ts_prev_gap: for a training row out-of-fold, the last retrieval
 *                  before the gap it was placed in), else 0 and 0
 * So a training row sees no retrieval inside its drawn gap (nor its own value), exactly as its
 * context terms; with a test or reconstruction row it sees what they see.
 *
 * The windows are gathered per batch from a history held for the rows' pixels (history.ts,
 * prepare), never materialised for all rows. Training as the other networks (train-net.ts:
 * Adam 1e-3, batches of 512, the plateau rule, the best weights restored), data-parallel on
 * worker replicas.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { defaultThreads } from "../util/worker-pool.js";
import { loadModule, saveModule } from "../nn/persist.js";
import { covers, readHistory, type HistoryStore } from "./history.js";
import { buildNet, type Net } from "./nets.js";
import { IdleReplicas } from "./net-replicas.js";
import { Preprocessor, type PreprocessorState } from "./preprocess.js";
import {
  checkTraining,
  checkWidth,
  writeJson,
  type Capabilities,
  type FitOptions,
  type Matrix,
  type ModelName,
  type ModelOptions,
  type Regressor,
  type RowOrigin,
} from "./regressor.js";
import { EVAL_BATCH, epochReporter, predictNet, trainNet, type EpochRecord, type RowSource } from "./train-net.js";

export interface SequenceOptions extends ModelOptions {
  /** Days in the window (the row's day last). */
  window: number;
  /** The LSTM's state width. */
  hidden: number;
  /** The most history held, bytes. */
  maxHistoryBytes: number;
}

/** How each predictor channel and the SMAP channel are standardised, and which predictors get a missing indicator. */
interface ChannelState {
  mean: number[];
  sd: number[];
  indicators: number[];
  smap: { mean: number; sd: number };
}

/**
 * The spans of store.data [start, end) holding the training rows' pixels over the days their
 * windows cover (the first row's window start to the last row's day): what the channels are
 * standardised on, so that they depend on the training rows only.
 */
function trainingSpan(store: HistoryStore, origin: RowOrigin, window: number): [number, number][] {
  let [first, last] = [Infinity, -Infinity];
  const slots = new Set<number>();
  for (let i = 0; i < origin.pixel.length; i++) {
    slots.add(store.slot[origin.pixel[i]!]!);
    first = Math.min(first, origin.day[i]!);
    last = Math.max(last, origin.day[i]!);
  }
  const C = store.variables.length;
  const [a, b] = [Math.max(0, first - window + 1) - store.t0, last - store.t0 + 1];
  return [...slots].sort((x, y) => x - y).map((u) => [(u * store.L + a) * C, (u * store.L + b) * C]);
}

export class SequenceRegressor implements Regressor {
  readonly capabilities: Capabilities = { predictLater: false, spread: false, sequence: true };
  /** The dynamic predictors read per day (the schema's dynamic group). */
  readonly variables: string[];
  private readonly prevGap: number;
  private pre = new Preprocessor(true, true);
  private channels: ChannelState | undefined;
  private net: Net | undefined;
  private yMean = 0;
  private ySd = 1;
  private history: EpochRecord[] = [];
  private bestEpoch = 0;
  private readonly replicas = new IdleReplicas();

  constructor(
    readonly name: ModelName,
    readonly featureNames: string[],
    readonly groups: string[],
    private readonly o: SequenceOptions,
  ) {
    this.variables = featureNames.filter((_, j) => groups[j] === "dynamic");
    this.prevGap = featureNames.indexOf("ts_prev_gap");
  }

  /** The key of this model's history in RowOrigin.history (models reading the same predictors share one). */
  private get key(): string {
    return `sequence:${this.variables.join(",")}`;
  }

  /** Channels per day: present, the predictors, their missing indicators, SMAP and whether it is seen. */
  private get width(): number {
    return 1 + this.variables.length + (this.channels?.indicators.length ?? 0) + 2;
  }

  async prepare(origins: RowOrigin[]): Promise<RowOrigin[]> {
    const w = this.o.window;
    const held = origins[0]?.history?.[this.key] as HistoryStore | undefined;
    if (origins.every((o) => covers(o.history?.[this.key] as HistoryStore | undefined, o, w))) return origins;
    // One history for the row sets seen alike (the fit view's train, validation and calibration rows).
    const out: RowOrigin[] = [];
    const groups = new Map<string, number[]>();
    origins.forEach((o, i) => {
      const k = `${o.seen?.view ?? "all"}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(i);
    });
    for (const idx of groups.values()) {
      const these = idx.map((i) => origins[i]!);
      const store = these.every((o) => covers(held, o, w)) ? held! : await readHistory(these, this.variables, w, this.o.maxHistoryBytes, this.name);
      idx.forEach((i) => (out[i] = { ...origins[i]!, history: { ...origins[i]!.history, [this.key]: store } }));
    }
    return out;
  }

  private storeOf(origin: RowOrigin | undefined, n: number): HistoryStore {
    const store = origin?.history?.[this.key] as HistoryStore | undefined;
    if (!origin || origin.pixel.length !== n || !covers(store, origin, this.o.window))
      throw new SmapfillError(`${this.name} needs its rows' history: the caller did not prepare these rows`, {
        variable: this.name,
        hint: "Prepare the rows first (prepareRows / predictRows in models/regressor.ts)",
      });
    return store!;
  }

  /**
   * The network's inputs of a row set, gathered per batch: the window of each row (history
   * `store`) and its standardised tabular features Z [n, tabular].
   */
  private rows(X: Float32Array, n: number, origin: RowOrigin, store: HistoryStore, Z: Float32Array): RowSource {
    const F = this.featureNames.length;
    const { window } = this.o;
    const C = this.width;
    const tab = this.pre.outputWidth;
    const f = window * C + tab;
    const ch = this.channels!;
    const V = this.variables.length;
    const S = store.variables.length;
    const prev = Int32Array.from({ length: n }, (_, i) => {
      const g = this.prevGap >= 0 ? X[i * F + this.prevGap]! : NaN;
      return g === g ? origin.day[i]! - g : -1;
    });
    return {
      n,
      f,
      copy: (rows, count, into) => {
        into.fill(0, 0, count * f);
        for (let r = 0; r < count; r++) {
          const i = rows[r]!;
          const d = origin.day[i]!;
          const base = store.slot[origin.pixel[i]!]! * store.L;
          const out = r * f;
          for (let s = 0; s < window; s++) {
            const e = d - window + 1 + s;
            if (e < 0) continue;
            const at = out + s * C;
            const day = (base + e - store.t0) * S;
            into[at] = 1;
            for (let v = 0; v < V; v++) {
              const x = store.data[day + v]!;
              if (x === x) into[at + 1 + v] = (x - ch.mean[v]!) / ch.sd[v]!;
            }
            ch.indicators.forEach((v, k) => {
              if (store.data[day + v]! !== store.data[day + v]!) into[at + 1 + V + k] = 1;
            });
            const y = store.data[day + V]!;
            if (e <= prev[i]! && y === y) {
              into[at + C - 2] = (y - ch.smap.mean) / ch.smap.sd;
              into[at + C - 1] = 1;
            }
          }
          into.set(Z.subarray(i * tab, (i + 1) * tab), out + window * C);
        }
      },
    };
  }

  fit(train: Matrix & { y: Float32Array }, options: FitOptions): this {
    const F = this.featureNames.length;
    checkTraining(this.name, this.featureNames, train, "training");
    checkTraining(this.name, this.featureNames, options.validation, "validation");
    const v = options.validation;
    const store = this.storeOf(train.origin, train.n);
    const vStore = this.storeOf(v.origin, v.n);
    this.pre.fit(train.X, train.n, F);
    // Channels: standardised with the training rows' own day (their dynamic features); an
    // indicator for every predictor with a missing value in the training history.
    const stats = this.pre.state!;
    const dynamic = this.variables.map((name) => this.featureNames.indexOf(name));
    const S = store.variables.length;
    // Over the training rows' own pixels and days (their windows' span), whatever else the
    // history holds (it may have been read with the validation and calibration rows too).
    const held = trainingSpan(store, train.origin!, this.o.window);
    const missing = this.variables.map((_, k) =>
      held.some(([a, b]) => {
        for (let j = a + k; j < b; j += S) if (store.data[j] !== store.data[j]) return true;
        return false;
      }),
    );
    // SMAP as the training history shows it (the target may be an anomaly: anomaly-target.ts).
    let [n, sum, sq] = [0, 0, 0];
    for (const [a, b] of held)
      for (let j = a + S - 1; j < b; j += S) {
        const v = store.data[j]!;
        if (v === v) ((n += 1), (sum += v), (sq += v * v));
      }
    const smapMean = n ? sum / n : 0;
    this.channels = {
      mean: dynamic.map((j) => stats.mean[j]!),
      sd: dynamic.map((j) => stats.sd[j]!),
      indicators: this.variables.flatMap((_, k) => (missing[k] ? [k] : [])),
      smap: { mean: smapMean, sd: Math.sqrt(Math.max(0, n ? sq / n - smapMean * smapMean : 0)) || 1 },
    };
    let mean = 0;
    for (const y of train.y) mean += y;
    mean /= train.n;
    let ss = 0;
    for (const y of train.y) ss += (y - mean) ** 2;
    [this.yMean, this.ySd] = [mean, Math.sqrt(ss / train.n) || 1];
    const trainRows = this.rows(train.X, train.n, train.origin!, store, this.pre.transform(train.X, train.n, F));
    const validationRows = this.rows(v.X, v.n, v.origin!, vStore, this.pre.transform(v.X, v.n, F));
    const trained = trainNet("sequence", trainRows, train.y, validationRows, v.y, trainRows.f, {
      net: { sequence: { steps: this.o.window, hidden: this.o.hidden, channels: this.width } },
      maxEpochs: this.o.maxEpochs ?? 200,
      ...(this.o.batch !== undefined ? { batch: this.o.batch } : {}),
      ...(this.o.lrPatience !== undefined ? { lrPatience: this.o.lrPatience } : {}),
      ...(this.o.stopPatience !== undefined ? { stopPatience: this.o.stopPatience } : {}),
      seed: this.o.seed ?? 0,
      threads: this.o.threads ?? defaultThreads(),
      onEpoch: epochReporter(this.name, options, this.o.maxEpochs ?? 200),
    });
    this.replicas.close();
    // trainNet standardised y itself, from the same rows: the same mean and sd.
    Object.assign(this, { net: trained.net, yMean: trained.yMean, ySd: trained.ySd, history: trained.history, bestEpoch: trained.bestEpoch });
    return this;
  }

  predict(X: Float32Array, n: number, origin?: RowOrigin): Float32Array {
    if (!this.net) throw new SmapfillError("predict before fit", { variable: this.name });
    const F = this.featureNames.length;
    checkWidth(this.name, X, n, F);
    const store = this.storeOf(origin, n);
    const rows = this.rows(X, n, origin!, store, this.pre.transform(X, n, F));
    const replicas = this.replicas.get(this.net, "sequence", this.o.seed ?? 0, this.o.threads ?? defaultThreads(), n, EVAL_BATCH, {
      sequence: { steps: this.o.window, hidden: this.o.hidden, channels: this.width },
    });
    return predictNet(this.net, rows, n, rows.f, this.yMean, this.ySd, replicas);
  }

  /**
   * The network's inputs of a prepared row set, materialised ([n, window x channels + tabular],
   * standardised) with the standardised targets: what a PyTorch reference trains on.
   */
  inputs(m: Matrix): { Z: Float32Array; f: number; channels: number; yMean: number; ySd: number } {
    const F = this.featureNames.length;
    const rows = this.rows(m.X, m.n, m.origin!, this.storeOf(m.origin, m.n), this.pre.transform(m.X, m.n, F));
    const Z = new Float32Array(m.n * rows.f);
    rows.copy(
      Int32Array.from({ length: m.n }, (_, i) => i),
      m.n,
      Z,
    );
    return { Z, f: rows.f, channels: this.width, yMean: this.yMean, ySd: this.ySd };
  }

  info() {
    return {
      epochs_run: this.history.length,
      best_epoch: this.bestEpoch,
      best_val_rmse: Math.min(...this.history.map((h) => h.valRmse)),
      window: this.o.window,
      channels_per_day: this.width,
      n_inputs: this.o.window * this.width + this.pre.outputWidth,
    };
  }

  save(dir: string): void {
    if (!this.net) throw new SmapfillError("save before fit", { variable: this.name });
    fs.mkdirSync(dir, { recursive: true });
    saveModule(path.join(dir, "weights.safetensors"), this.net, { model: this.name });
    writeJson(path.join(dir, "model.json"), {
      kind: "sequence",
      name: this.name,
      featureNames: this.featureNames,
      groups: this.groups,
      options: this.o,
      preprocessor: this.pre.state,
      channels: this.channels,
      yMean: this.yMean,
      ySd: this.ySd,
      history: this.history,
      bestEpoch: this.bestEpoch,
    });
  }

  static load(dir: string, spec: Record<string, unknown>): SequenceRegressor {
    const o = spec.options as SequenceOptions;
    const r = new SequenceRegressor(spec.name as ModelName, spec.featureNames as string[], spec.groups as string[], o);
    r.pre.state = spec.preprocessor as PreprocessorState;
    r.channels = spec.channels as ChannelState;
    const nIn = o.window * r.width + r.pre.outputWidth;
    r.net = buildNet("sequence", nIn, { seed: 0, sequence: { steps: o.window, hidden: o.hidden, channels: r.width } });
    loadModule(path.join(dir, "weights.safetensors"), r.net);
    Object.assign(r, { yMean: spec.yMean, ySd: spec.ySd, history: spec.history, bestEpoch: spec.bestEpoch });
    return r;
  }
}
