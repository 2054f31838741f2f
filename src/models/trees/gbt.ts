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
import { HB, KernelArena, MISSING_BIN, useWasmHistograms } from "./gbt-histogram.js";
import { NODE_WIDTH, partitionPieces, PIECE_WIDTH, processLevel, RESULT_WIDTH, type LevelData, type LevelTask } from "./gbt-level.js";
import { TreeBuilder, treeValue, type Tree } from "./tree.js";
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

interface Split {
  gain: number;
  feature: number;
  bin: number;
  defaultLeft: boolean;
  GL: number;
  HL: number;
}

/** The best split of node k over the column ranges, scanned in column order (as one scan would); undefined: no split. */
function bestOfRanges(results: Float64Array, k: number, ranges: number, p: GbtParams): Split | undefined {
  let found: Split | undefined;
  for (let r = 0; r < ranges; r++) {
    const at = (k * ranges + r) * RESULT_WIDTH;
    if (results[at + 1]! < 0) continue;
    const gain = results[at]!;
    if (!found || gain > found.gain)
      found = { gain, feature: results[at + 1]!, bin: results[at + 2]!, defaultLeft: results[at + 3] === 1, GL: results[at + 4]!, HL: results[at + 5]! };
  }
  return found && found.gain > 1e-6 && found.gain >= p.gamma ? found : undefined;
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

/** A node of the level being grown: its tree node, rows, sums and histogram id. */
interface Entry {
  node: number;
  start: number;
  end: number;
  G: number;
  H: number;
  hist: number;
  search: boolean;
}

function entry(node: number, start: number, end: number, G: number, H: number, hist: number, search: boolean): Entry {
  return { node, start, end, G, H, hist, search };
}

/** A split's rows: idx[start, end) split at bin `bin` of `feature`. */
interface PartitionJob {
  start: number;
  end: number;
  feature: number;
  bin: number;
  defaultLeft: boolean;
}

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
  const edges = binEdges(X, n, f, p.maxBin);
  const nCols = Math.max(1, Math.floor(p.colsampleByTree * f));
  // Threads share each level's histograms and partitions; the trees do not depend on the count.
  const threads = Math.max(1, Math.min(threadCount, nCols));
  const shared = threads > 1;
  // Every array the threads share (and the kernels read) lives in the arena.
  const arena = new KernelArena(useWasmHistograms(), shared);
  // Per-level answers (split searches, partition ends), grown when a level has more nodes.
  let resultsBuffer = arena.f64(64 * RESULT_WIDTH);
  let leftsBuffer = arena.i32(64);
  const bins = binMatrix(X, n, f, edges, arena.u8(n * f));
  const rowBins = arena.u8(n * f);
  for (let j = 0; j < f; j++) for (let i = 0; i < n; i++) rowBins[i * f + j] = bins[j * n + i]!;
  const copy = (a: Float32Array) => {
    const c = arena.f32(a.length);
    c.set(a);
    return c;
  };
  // The sampled columns of the tree being grown and their bin counts (edges + 1).
  const slots = arena.i32(nCols);
  const binsOf = arena.i32(nCols);
  const rng = new Rng(p.seed);
  const pred = arena.f64(n).fill(p.baseScore);
  const predVa = arena.f64(nva).fill(p.baseScore);
  const g = arena.f64(n);
  const rows = arena.i32(n);
  const others = arena.i32(n);
  const scratch = arena.i32(n);
  // This round's sampled rows (drawn during the previous round's updates, in the same order of draws).
  const sampled = new Uint8Array(n);
  const drawSample = () => {
    if (p.subsample >= 1) sampled.fill(1);
    else for (let i = 0; i < n; i++) sampled[i] = rng.uniform() < p.subsample ? 1 : 0;
  };
  const rowsInLeaves: number[] = [];
  const claim = arena.i32(1);
  const data: LevelData = { rowBins, bins, scratch, n, f, g, idx: rows, claim, hists: [] };
  const update: UpdateData = { n, f, bins, y: copy(y), pred, g, idx: rows, others, Xva: copy(Xva), predVa, claim };
  // Free histogram ids; buffers made since the last hand-off to the workers.
  const pool: number[] = [];
  let newHists: Float64Array[] = [];
  const take = (): number => {
    const free = pool.pop();
    if (free !== undefined) return free;
    data.hists.push(arena.f64(nCols * HB * 2));
    if (shared) newHists.push(data.hists[data.hists.length - 1]!);
    return data.hists.length - 1;
  };
  const trees: Tree[] = [];
  const history: number[] = [];
  let best = Infinity;
  let bestIteration = -1;
  const workers = shared
    ? new SyncWorkers<GbtWorkerMessage>(
        new URL("./gbt-worker.js", import.meta.url),
        Array.from({ length: threads - 1 }, () => ({ data, update, memory: arena.memory })),
      )
    : null;

  try {
    // Every thread claims units of the work (processLevel, partitionPieces, updatePredictions) from `claim`.
    const runShared = (message: GbtWorkerMessage, meanwhile?: () => void) => {
      Atomics.store(claim, 0, 0);
      message.newHists = newHists;
      for (let w = 0; w < threads - 1; w++) workers!.post(w, message);
      newHists = [];
      meanwhile?.();
      if (message.kind === "level") processLevel(data, message.task, arena.kernels);
      else if (message.kind === "partition") partitionPieces(data, message.pieces, message.lefts);
      else updatePredictions(update, message.task);
      if (workers) workers.wait();
    };
    for (let i = 0; i < n; i++) g[i] = pred[i]! - y[i]!;
    drawSample();
    for (let round = 0; round < p.rounds; round++) {
      let m = 0;
      let o = 0;
      for (let i = 0; i < n; i++) {
        if (sampled[i]) rows[m++] = i;
        else others[o++] = i;
      }
      const cols = rng
        .shuffle(Array.from({ length: f }, (_, j) => j))
        .slice(0, nCols)
        .sort((a, b) => a - b);
      const tree = growTree(rows, m);
      trees.push(tree);
      // Predictions and gradients: the sampled rows' leaves are known from the partition
      // (rowsInLeaves); only the others walk the tree. The next round's rows are drawn meanwhile.
      const units: number[] = [];
      for (let s = 0; s < nva; s += UPDATE_ROWS) units.push(VALIDATION_ROWS, s, Math.min(nva, s + UPDATE_ROWS));
      for (let s = 0; s < o; s += UPDATE_ROWS) units.push(OTHER_ROWS, s, Math.min(o, s + UPDATE_ROWS));
      const leaves = Float64Array.from(rowsInLeaves);
      const leafCount = leaves.length / LEAF_WIDTH;
      for (let k = 0, from = 0, run = 0; k < leafCount; k++) {
        run += leaves[k * LEAF_WIDTH + 1]! - leaves[k * LEAF_WIDTH]!;
        if (run >= UPDATE_ROWS || k === leafCount - 1) {
          units.push(LEAF_RUNS, from, k + 1);
          [from, run] = [k + 1, 0];
        }
      }
      runShared({ kind: "update", task: { tree, leaves, units: Int32Array.from(units) }, newHists: [] }, drawSample);
      let se = 0;
      for (let i = 0; i < nva; i++) se += (predVa[i]! - yva[i]!) ** 2;
      const rmse = Math.sqrt(se / Math.max(1, nva));
      history.push(rmse);
      onRound?.(round, rmse);
      if (rmse < best) {
        best = rmse;
        bestIteration = round;
      } else if (round - bestIteration >= p.earlyStopping) break;

      function growTree(idx: Int32Array, count: number): Tree {
        // Depth-wise, one level at a time (as XGBoost's depthwise policy): the histograms and split
        // searches of a whole level are one task shared out over column ranges (processLevel).
        // Histogram buffers are recycled: a node owns its buffer and either hands it to the larger
        // child (histogram subtraction) or returns it to the pool; only the used bins are touched.
        const builder = new TreeBuilder();
        slots.set(cols);
        binsOf.set(cols.map((j) => edges[j]!.length + 1));
        rowsInLeaves.length = 0;
        const leaf = (node: number, G: number, H: number, start: number, end: number) => {
          const value = (p.eta * -G) / (H + p.lambda);
          builder.setValue(node, value);
          rowsInLeaves.push(start, end, Math.fround(value)); // the tree stores float32
        };
        // The split nodes' rows partitioned; returns each job's first right row. With threads, jobs
        // longer than a share are cut into pieces (the first levels have one or two nodes), each
        // partitioned in place, then a job's pieces' left runs and right runs joined in order.
        const partition = (jobs: PartitionJob[]): number[] => {
          const total = jobs.reduce((t, j) => t + j.end - j.start, 0);
          const pieceRows = shared ? Math.max(4096, Math.ceil(total / (4 * threads))) : Infinity;
          const cuts = jobs.map((j) => Math.max(1, Math.ceil((j.end - j.start) / pieceRows)));
          const pieces = new Int32Array(PIECE_WIDTH * cuts.reduce((t, c) => t + c, 0));
          let piece = 0;
          jobs.forEach((j, k) => {
            for (let c = 0; c < cuts[k]!; c++, piece++) {
              pieces.set(
                [j.start + Math.floor(((j.end - j.start) * c) / cuts[k]!), j.start + Math.floor(((j.end - j.start) * (c + 1)) / cuts[k]!)],
                piece * PIECE_WIDTH,
              );
              pieces.set([j.feature, j.bin, j.defaultLeft ? 1 : 0], piece * PIECE_WIDTH + 2);
            }
          });
          if (leftsBuffer.length < piece) leftsBuffer = arena.i32(2 * piece);
          const lefts = leftsBuffer;
          runShared({ kind: "partition", pieces, lefts, newHists: [] });
          piece = 0;
          return jobs.map((j, k) => {
            if (cuts[k] === 1) return lefts[piece++]!;
            let at = j.start;
            for (let c = 0; c < cuts[k]!; c++) {
              const [start, left] = [pieces[(piece + c) * PIECE_WIDTH]!, lefts[piece + c]!];
              scratch.set(rows.subarray(start, left), at);
              at += left - start;
            }
            const mid = at;
            for (let c = 0; c < cuts[k]!; c++) {
              const [left, end] = [lefts[piece + c]!, pieces[(piece + c) * PIECE_WIDTH + 1]!];
              scratch.set(rows.subarray(left, end), at);
              at += end - left;
            }
            rows.set(scratch.subarray(j.start, j.end), j.start);
            piece += cuts[k]!;
            return mid;
          });
        };
        const root = builder.node();
        let G = 0;
        for (let k = 0; k < count; k++) G += g[idx[k]!]!;
        if (p.maxDepth <= 0 || count < 2) {
          leaf(root, G, count, 0, count);
          return builder.finish();
        }
        let level: Entry[] = [entry(root, 0, count, G, count, take(), true)];
        // Groups: [built, subtracted or -1] per pair of siblings (the root alone), the largest built node first.
        let groups = Int32Array.of(0, -1);
        for (let depth = 0; level.length > 0; depth++) {
          // Enough units for the threads to even out: a level with few groups cuts the columns into ranges.
          const ranges = shared ? Math.min(nCols, Math.ceil((4 * threads) / (groups.length >> 1))) : 1;
          if (resultsBuffer.length < level.length * ranges * RESULT_WIDTH) resultsBuffer = arena.f64(2 * level.length * ranges * RESULT_WIDTH);
          const results = resultsBuffer;
          const nodes = new Float64Array(level.length * NODE_WIDTH);
          level.forEach((e, k) => nodes.set([e.start, e.end, e.G, e.H, e.hist, e.search ? 1 : 0], k * NODE_WIDTH));
          const task: LevelTask = { cols: slots, binsOf, nodes, groups, ranges, lambda: p.lambda, minChildWeight: p.minChildWeight, results };
          runShared({ kind: "level", task, newHists: [] });
          // Decisions, then the split nodes' rows partitioned, then the children.
          const splits: [Entry, Split][] = [];
          for (let k = 0; k < level.length; k++) {
            const e = level[k]!;
            const s = e.search ? bestOfRanges(results, k, ranges, p) : undefined;
            if (s) splits.push([e, s]);
            else {
              pool.push(e.hist);
              leaf(e.node, e.G, e.H, e.start, e.end);
            }
          }
          const mids = partition(splits.map(([e, s]) => ({ start: e.start, end: e.end, feature: s.feature, bin: s.bin, defaultLeft: s.defaultLeft })));
          const next: Entry[] = [];
          const pairs: [number, number, number][] = [];
          for (let k = 0; k < splits.length; k++) {
            const [e, s] = splits[k]!;
            const mid = mids[k]!;
            const [l, r] = builder.split(e.node, s.feature, s.bin, edges[s.feature]![s.bin]!, s.defaultLeft);
            const [GL, HL, GR, HR] = [s.GL, s.HL, e.G - s.GL, e.H - s.HL];
            if (depth + 1 >= p.maxDepth) {
              pool.push(e.hist);
              leaf(l, GL, HL, e.start, mid);
              leaf(r, GR, HR, mid, e.end);
              continue;
            }
            // The smaller child's histogram is built, the larger one's is the parent's minus it.
            const leftSmaller = mid - e.start <= e.end - mid;
            const small = take();
            const at = next.length;
            next.push(entry(l, e.start, mid, GL, HL, leftSmaller ? small : e.hist, mid - e.start >= 2));
            next.push(entry(r, mid, e.end, GR, HR, leftSmaller ? e.hist : small, e.end - mid >= 2));
            pairs.push(leftSmaller ? [at, at + 1, mid - e.start] : [at + 1, at, e.end - mid]);
          }
          pairs.sort((a, b) => b[2] - a[2]);
          groups = Int32Array.from(pairs.flatMap(([built, subtracted]) => [built, subtracted]));
          level = next;
        }
        return builder.finish();
      }
    }
  } finally {
    workers?.close();
  }
  return { params: p, nFeatures: f, trees, bestIteration, bestValRmse: best, history };
}
