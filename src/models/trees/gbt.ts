/**
 * Gradient-boosted regression trees with XGBoost's histogram method (tree_method "hist"),
 * squared error, as MODELS.md configures it:
 *  - every feature is cut into at most maxBin - 1 quantile bins of the training values (bin
 *    edges halfway between neighbouring quantile values, as float32), plus a missing bin;
 *  - per round: gradients g = prediction - y, hessians h = 1; rows sampled (subsample) and
 *    columns sampled per tree (colsample_bytree); the tree grows depth-wise to maxDepth from
 *    histograms of (sum g, sum h) per bin, the larger child's by subtraction from its parent;
 *  - a split maximises XGBoost's loss change GL^2/(HL+lambda) + GR^2/(HR+lambda) - G^2/(H+lambda)
 *    with both children's hessian sums >= minChildWeight, trying missing values on each side
 *    and keeping the better (the learned default direction); it is made when the change is
 *    > 1e-6 and >= gamma; leaves get eta * -G / (H + lambda);
 *  - the base score is 0.5 (XGBoost 1.7's default); early stopping after earlyStopping rounds
 *    without a better validation RMSE; prediction uses the best iteration.
 * Split condition, as XGBoost: x < threshold goes left, missing goes the default way.
 */
import { Rng } from "../../util/random.js";
import { SyncWorkers } from "../../util/sync-workers.js";
import { KernelArena, MISSING_BIN, useWasmHistograms } from "./gbt-histogram.js";
import { growTree, histogramSize, HistogramPool, LevelAnswers, type Growth, type GrownTree, type LevelWork } from "./gbt-grow.js";
import { partitionPieces, processLevel, type LevelData, type LevelTask } from "./gbt-level.js";
import { treeValue, type Tree } from "./tree.js";
import { LEAF_RUNS, LEAF_WIDTH, OTHER_ROWS, updatePredictions, VALIDATION_ROWS, type UpdateData, type UpdateTask } from "./gbt-update.js";

export type { Tree } from "./tree.js";

export interface GbtParams {
  maxDepth: number;
  eta: number;
  lambda: number;
  gamma: number;
  minChildWeight: number;
  subsample: number;
  colsampleByTree: number;
  maxBin: number;
  rounds: number;
  earlyStopping: number;
  baseScore: number;
  seed: number;
}

export const GBT_DEFAULTS: GbtParams = {
  maxDepth: 8,
  eta: 0.05,
  lambda: 1,
  gamma: 0,
  minChildWeight: 1,
  subsample: 0.8,
  colsampleByTree: 0.8,
  maxBin: 256,
  rounds: 2000,
  earlyStopping: 50,
  baseScore: 0.5,
  seed: 0,
};

/** Bin edges per feature from the training values (NaN ignored). */
export function binEdges(X: Float32Array, n: number, f: number, maxBin: number): Float64Array[] {
  const edges: Float64Array[] = [];
  const column = new Float64Array(n);
  for (let j = 0; j < f; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) {
      const v = X[i * f + j]!;
      if (v === v) column[m++] = v;
    }
    const sorted = column.subarray(0, m).sort();
    const picks: number[] = [];
    const bins = Math.min(maxBin - 1, MISSING_BIN);
    for (let b = 1; b < bins; b++) {
      const v = sorted[Math.min(m - 1, Math.floor((b * m) / bins))]!;
      if (m > 0 && (picks.length === 0 || v > picks[picks.length - 1]!)) picks.push(v);
    }
    // Edges halfway between consecutive distinct values around each pick.
    const out: number[] = [];
    let k = 0;
    for (const p of picks) {
      while (k < m && sorted[k]! < p) k++;
      if (k === 0) continue;
      const below = sorted[k - 1]!;
      // A float32 edge (XGBoost compares in float32) strictly above `below` and not above `p`:
      // the midpoint rounded, or `p` itself when rounding lands on `below`.
      let edge = Math.fround(below + (p - below) / 2);
      if (edge <= below) edge = p;
      if (out.length === 0 || edge > out[out.length - 1]!) out.push(edge);
    }
    edges.push(Float64Array.from(out));
  }
  return edges;
}

/** Bins, feature-major: bins[j * n + i]; bin = number of edges <= x; missing = 255 (written into `bins` when given). */
export function binMatrix(X: Float32Array, n: number, f: number, edges: Float64Array[], bins: Uint8Array<ArrayBufferLike> = new Uint8Array(n * f)): Uint8Array {
  for (let j = 0; j < f; j++) {
    const e = edges[j]!;
    for (let i = 0; i < n; i++) {
      const v = X[i * f + j]!;
      if (v !== v) {
        bins[j * n + i] = MISSING_BIN;
        continue;
      }
      let lo = 0;
      let hi = e.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (e[mid]! <= v) lo = mid + 1;
        else hi = mid;
      }
      bins[j * n + i] = lo;
    }
  }
  return bins;
}

export interface GbtModel {
  params: GbtParams;
  nFeatures: number;
  trees: Tree[];
  bestIteration: number;
  bestValRmse: number;
  history: number[];
}

/** Predictions of the first `nTrees` trees (default: up to the best iteration). */
export function predictGbt(m: GbtModel, X: Float32Array, n: number, nTrees = m.bestIteration + 1): Float32Array {
  const f = m.nFeatures;
  if (X.length !== n * f) throw new Error(`predictGbt: ${X.length} values for ${n} rows of ${f} features`);
  const out = new Float32Array(n).fill(m.params.baseScore);
  for (let t = 0; t < Math.min(nTrees, m.trees.length); t++) for (let i = 0; i < n; i++) out[i]! += treeValue(m.trees[t]!, X, i * f);
  return out;
}

/**
 * The messages a GBT worker handles: claim units of a level's histograms, pieces of its
 * partitions, or units of a round's prediction updates (new histogram buffers ride along, to be
 * appended to the worker's list).
 */
export type GbtWorkerMessage = { newHists: Float64Array[] } & (
  { kind: "level"; task: LevelTask } | { kind: "partition"; pieces: Int32Array; lefts: Int32Array } | { kind: "update"; task: UpdateTask }
);

/** Rows per unit of the prediction updates. */
const UPDATE_ROWS = 4096;

/**
 * Gradient-boosted trees on the training rows, scored on the validation rows after each round;
 * stops after `earlyStopping` rounds without a better validation RMSE. Each round: the rows and
 * columns drawn, one tree grown (gbt-grow.ts), the predictions and gradients updated. The trees
 * are the same for any `threadCount` (the threads share each level's and round's work).
 */
export function fitGbt(
  X: Float32Array,
  y: Float32Array,
  n: number,
  f: number,
  Xva: Float32Array,
  yva: Float32Array,
  nva: number,
  options: Partial<GbtParams> = {},
  onRound?: (round: number, valRmse: number) => void,
  threadCount = 1,
): GbtModel {
  const p: GbtParams = { ...GBT_DEFAULTS, ...options };
  if (y.length !== n || X.length !== n * f) throw new Error("fitGbt: X and y do not match");
  const t = startTraining(X, y, n, f, Xva, nva, p, threadCount);
  const trees: Tree[] = [];
  const scores = new ValidationScores(p.earlyStopping);
  try {
    drawRowSample(t);
    for (let round = 0; round < p.rounds; round++) {
      const split = splitRowsBySample(t);
      const grown = growTree(t.growth, split.sampled, drawColumns(t));
      trees.push(grown.tree);
      addTree(t, grown, split.others);
      const rmse = validationRmse(t.update.predVa, yva, nva);
      onRound?.(round, rmse);
      if (scores.stopsAfter(round, rmse)) break;
    }
  } finally {
    t.threads.close();
  }
  return { params: p, nFeatures: f, trees, bestIteration: scores.bestIteration, bestValRmse: scores.best, history: scores.history };
}

/**
 * One fit's state, made once and reused by every round: the binned training rows, predictions
 * and gradients (update), what growing a tree reuses (growth), the threads, and one seeded
 * stream for every draw, so that the same seed draws the same rows and columns.
 */
interface Training {
  params: GbtParams;
  f: number;
  /** Columns per tree. */
  nCols: number;
  nva: number;
  rng: Rng;
  /** This round's sampled rows (1), drawn during the previous round's updates. */
  sampled: Uint8Array;
  update: UpdateData;
  growth: Growth;
  threads: FitThreads;
}

/** Bins the training rows and makes every array and buffer the rounds reuse, and the threads; the gradients start from the base score. */
function startTraining(X: Float32Array, y: Float32Array, n: number, f: number, Xva: Float32Array, nva: number, p: GbtParams, threadCount: number): Training {
  const edges = binEdges(X, n, f, p.maxBin);
  const nCols = Math.max(1, Math.floor(p.colsampleByTree * f));
  // Threads share each level's histograms and partitions; the trees do not depend on the count.
  const threads = Math.max(1, Math.min(threadCount, nCols));
  // Every array the threads share (and the kernels read) lives in the arena.
  const arena = new KernelArena(useWasmHistograms(), threads > 1);
  const answers = new LevelAnswers(arena);
  const bins = binMatrix(X, n, f, edges, arena.u8(n * f));
  const rowBins = rowMajor(bins, n, f, arena.u8(n * f));
  const [slots, binsOf] = [arena.i32(nCols), arena.i32(nCols)];
  const pred = arena.f64(n).fill(p.baseScore);
  const predVa = arena.f64(nva).fill(p.baseScore);
  const g = arena.f64(n);
  for (let i = 0; i < n; i++) g[i] = pred[i]! - y[i]!;
  const [idx, others, scratch, claim] = [arena.i32(n), arena.i32(n), arena.i32(n), arena.i32(1)];
  const data: LevelData = { rowBins, bins, scratch, n, f, g, idx, claim, hists: [] };
  const update: UpdateData = { n, f, bins, y: arenaCopy(arena, y), pred, g, idx, others, Xva: arenaCopy(arena, Xva), predVa, claim };
  const histograms = new HistogramPool(arena, data.hists, histogramSize(nCols), threads > 1);
  const work = new FitThreads(threads, arena, data, update, histograms);
  const growth: Growth = { params: p, edges, data, slots, binsOf, histograms, answers, work };
  return { params: p, f, nCols, nva, rng: new Rng(p.seed), sampled: new Uint8Array(n), update, growth, threads: work };
}

/** Bins, row-major (rowBins[i * f + j]), from feature-major ones: a row's bins are read together when histograms are built. */
function rowMajor(bins: Uint8Array, n: number, f: number, out: Uint8Array): Uint8Array {
  for (let j = 0; j < f; j++) for (let i = 0; i < n; i++) out[i * f + j] = bins[j * n + i]!;
  return out;
}

function arenaCopy(arena: KernelArena, a: Float32Array): Float32Array {
  const c = arena.f32(a.length);
  c.set(a);
  return c;
}

/**
 * The fit's threads: a task (a level's histograms and split searches, its partitions, a round's
 * prediction updates) is posted to every worker and run on this thread too, each thread claiming
 * units from the shared counter until none is left; a task returns when all threads are done.
 * Histogram buffers made since the last task ride along.
 */
class FitThreads implements LevelWork {
  private readonly workers: SyncWorkers<GbtWorkerMessage> | null;

  constructor(
    readonly threads: number,
    private readonly arena: KernelArena,
    private readonly data: LevelData,
    private readonly update: UpdateData,
    private readonly histograms: HistogramPool,
  ) {
    this.workers =
      threads > 1
        ? new SyncWorkers<GbtWorkerMessage>(
            new URL("./gbt-worker.js", import.meta.url),
            Array.from({ length: threads - 1 }, () => ({ data, update, memory: arena.memory })),
          )
        : null;
  }

  level(task: LevelTask): void {
    this.run({ kind: "level", task, newHists: [] });
  }

  partition(pieces: Int32Array, lefts: Int32Array): void {
    this.run({ kind: "partition", pieces, lefts, newHists: [] });
  }

  /** A round's prediction updates; `meanwhile` runs on this thread once the workers have the task, before its own share. */
  updatePredictions(task: UpdateTask, meanwhile: () => void): void {
    this.run({ kind: "update", task, newHists: [] }, meanwhile);
  }

  close(): void {
    this.workers?.close();
  }

  private run(message: GbtWorkerMessage, meanwhile?: () => void): void {
    Atomics.store(this.data.claim, 0, 0);
    message.newHists = this.histograms.handOff();
    for (let w = 0; w < this.threads - 1; w++) this.workers!.post(w, message);
    meanwhile?.();
    if (message.kind === "level") processLevel(this.data, message.task, this.arena.kernels);
    else if (message.kind === "partition") partitionPieces(this.data, message.pieces, message.lefts);
    else updatePredictions(this.update, message.task);
    this.workers?.wait();
  }
}

/** Draws the rows of the next tree (each with probability subsample). */
function drawRowSample(t: Training): void {
  const { sampled, rng } = t;
  const { subsample } = t.params;
  if (subsample >= 1) sampled.fill(1);
  else for (let i = 0; i < sampled.length; i++) sampled[i] = rng.uniform() < subsample ? 1 : 0;
}

/** This round's sampled rows to the front of idx, the others to `others`, each ascending; returns their counts. */
function splitRowsBySample(t: Training): { sampled: number; others: number } {
  const { sampled } = t;
  const { idx, others } = t.update;
  let m = 0;
  let o = 0;
  for (let i = 0; i < sampled.length; i++) {
    if (sampled[i]) idx[m++] = i;
    else others[o++] = i;
  }
  return { sampled: m, others: o };
}

/** This tree's columns: nCols of the f drawn without replacement, ascending. */
function drawColumns(t: Training): number[] {
  return t.rng
    .shuffle(Array.from({ length: t.f }, (_, j) => j))
    .slice(0, t.nCols)
    .sort((a, b) => a - b);
}

/**
 * The tree added to the predictions, and the next round's gradients written: the sampled rows'
 * leaves are known from the partition, only the other rows and the validation rows walk the
 * tree. The next round's rows are drawn meanwhile: the draws come one after the other from the
 * one stream, so this thread makes them while the workers start on the updates.
 */
function addTree(t: Training, grown: GrownTree, others: number): void {
  const units = updateUnits(grown.leaves, others, t.nva);
  t.threads.updatePredictions({ tree: grown.tree, leaves: grown.leaves, units }, () => drawRowSample(t));
}

/** The update's units (kind, from, to): validation and other rows in runs of UPDATE_ROWS, then the leaves in groups of about UPDATE_ROWS rows. */
function updateUnits(leaves: Float64Array, others: number, nva: number): Int32Array {
  const units: number[] = [];
  for (let s = 0; s < nva; s += UPDATE_ROWS) units.push(VALIDATION_ROWS, s, Math.min(nva, s + UPDATE_ROWS));
  for (let s = 0; s < others; s += UPDATE_ROWS) units.push(OTHER_ROWS, s, Math.min(others, s + UPDATE_ROWS));
  const leafCount = leaves.length / LEAF_WIDTH;
  for (let k = 0, from = 0, run = 0; k < leafCount; k++) {
    run += leaves[k * LEAF_WIDTH + 1]! - leaves[k * LEAF_WIDTH]!;
    if (run >= UPDATE_ROWS || k === leafCount - 1) {
      units.push(LEAF_RUNS, from, k + 1);
      [from, run] = [k + 1, 0];
    }
  }
  return Int32Array.from(units);
}

function validationRmse(predVa: Float64Array, yva: Float32Array, nva: number): number {
  let se = 0;
  for (let i = 0; i < nva; i++) se += (predVa[i]! - yva[i]!) ** 2;
  return Math.sqrt(se / Math.max(1, nva));
}

/** The validation RMSE per round and the best so far, for early stopping. */
class ValidationScores {
  readonly history: number[] = [];
  best = Infinity;
  bestIteration = -1;

  constructor(private readonly patience: number) {}

  /** Records the round's score; true when `patience` rounds have passed without a better one. */
  stopsAfter(round: number, rmse: number): boolean {
    this.history.push(rmse);
    if (rmse < this.best) {
      this.best = rmse;
      this.bestIteration = round;
      return false;
    }
    return round - this.bestIteration >= this.patience;
  }
}
