/**
 * One boosted tree grown depth-wise from a round's sampled rows, one level at a time (as
 * XGBoost's depthwise policy). Per level: the histograms and split searches of all its nodes
 * (one task shared out over the threads, see gbt-level.ts), each node's decision (split, or
 * leaf), the split nodes' rows partitioned, then the children. Of two siblings, the smaller's
 * histogram is built from its rows and the larger's is its parent's minus it, so only half the
 * rows of a level are read.
 *
 * Histogram buffers are recycled: a node owns its buffer and either hands it to its larger child
 * (whose histogram is subtracted in place) or returns it to the pool.
 */
import { HB, type KernelArena } from "./gbt-histogram.js";
import { NODE_WIDTH, PIECE_WIDTH, RESULT_WIDTH, type LevelData, type LevelTask } from "./gbt-level.js";
import { TreeBuilder, type Tree } from "./tree.js";

/** The parameters growing a tree reads (a subset of GbtParams). */
export interface GrowthParams {
  maxDepth: number;
  eta: number;
  lambda: number;
  gamma: number;
  minChildWeight: number;
}

/**
 * Runs a level's shared work and returns when it is done: the histograms and split searches, or
 * the partitions, on this thread alone or together with the fit's workers. The tree does not
 * depend on the thread count; only how finely the work is cut does.
 */
export interface LevelWork {
  readonly threads: number;
  level(task: LevelTask): void;
  partition(pieces: Int32Array, lefts: Int32Array): void;
}

/**
 * Histogram buffers by id (the ids index data.hists, which every thread holds), recycled between
 * nodes and trees. Buffers made since the last hand-off are listed for the workers, which append
 * them to their own lists before their next task.
 */
export class HistogramPool {
  private readonly free: number[] = [];
  private fresh: Float64Array[] = [];

  constructor(
    private readonly arena: KernelArena,
    private readonly hists: Float64Array[],
    /** Numbers per buffer: [slot][bin][g, h]. */
    private readonly size: number,
    private readonly shared: boolean,
  ) {}

  take(): number {
    const free = this.free.pop();
    if (free !== undefined) return free;
    this.hists.push(this.arena.f64(this.size));
    if (this.shared) this.fresh.push(this.hists[this.hists.length - 1]!);
    return this.hists.length - 1;
  }

  release(id: number): void {
    this.free.push(id);
  }

  /** The buffers made since the last hand-off (none on one thread). */
  handOff(): Float64Array[] {
    const fresh = this.fresh;
    this.fresh = [];
    return fresh;
  }
}

/** Histogram numbers per buffer for `columns` sampled columns. */
export function histogramSize(columns: number): number {
  return columns * HB * 2;
}

/**
 * A level's answers (split searches per node and column range, first right row per partition
 * piece), in the arena so that every thread writes them; grown (doubled) when a level needs more.
 */
export class LevelAnswers {
  private resultsBuffer: Float64Array;
  private leftsBuffer: Int32Array;

  constructor(private readonly arena: KernelArena) {
    this.resultsBuffer = arena.f64(64 * RESULT_WIDTH);
    this.leftsBuffer = arena.i32(64);
  }

  results(length: number): Float64Array {
    if (this.resultsBuffer.length < length) this.resultsBuffer = this.arena.f64(2 * length);
    return this.resultsBuffer;
  }

  lefts(length: number): Int32Array {
    if (this.leftsBuffer.length < length) this.leftsBuffer = this.arena.i32(2 * length);
    return this.leftsBuffer;
  }
}

/** What growing a tree reuses from one tree to the next (made once per fit). */
export interface Growth {
  params: GrowthParams;
  /** Bin edges per feature: a split's threshold is the edge above its bin. */
  edges: Float64Array[];
  /** The arrays the level tasks read: gradients, rows (data.idx: the sampled rows first), bins. */
  data: LevelData;
  /** The sampled columns of the tree being grown and their bin counts (edges + 1), in the arena for the level tasks. */
  slots: Int32Array;
  binsOf: Int32Array;
  histograms: HistogramPool;
  answers: LevelAnswers;
  work: LevelWork;
}

/** A tree and its leaves' rows: [start, end, value] per leaf (LEAF_WIDTH), each a run of data.idx, for the prediction updates. */
export interface GrownTree {
  tree: Tree;
  leaves: Float64Array;
}

/** A tree being grown: its nodes, and its leaves' runs of rows as growTree returns them. */
interface TreeInProgress {
  builder: TreeBuilder;
  leaves: number[];
}

/** A node of the level being grown: its tree node, rows data.idx[start, end), sums, histogram id and whether to search a split. */
interface LevelNode {
  node: number;
  start: number;
  end: number;
  G: number;
  H: number;
  hist: number;
  search: boolean;
}

function levelNode(node: number, start: number, end: number, G: number, H: number, hist: number, search: boolean): LevelNode {
  return { node, start, end, G, H, hist, search };
}

/** A level: its nodes, and its node groups as [built, subtracted or -1] (indices into nodes), the largest built node first. */
interface Level {
  nodes: LevelNode[];
  groups: Int32Array;
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  defaultLeft: boolean;
  GL: number;
  HL: number;
}

/** A split's rows: idx[start, end) split at bin `bin` of `feature`. */
interface PartitionJob {
  start: number;
  end: number;
  feature: number;
  bin: number;
  defaultLeft: boolean;
}

/** Grows one tree on the first `count` rows of data.idx (this round's sample) over the columns `cols` (ascending). */
export function growTree(g: Growth, count: number, cols: number[]): GrownTree {
  useColumns(g, cols);
  const t: TreeInProgress = { builder: new TreeBuilder(), leaves: [] };
  const root = t.builder.node();
  const G = gradientSum(g.data, count);
  if (g.params.maxDepth <= 0 || count < 2) makeLeaf(g, t, root, G, count, 0, count);
  else {
    // The root alone: its histogram built, none subtracted.
    let level: Level = { nodes: [levelNode(root, 0, count, G, count, g.histograms.take(), true)], groups: Int32Array.of(0, -1) };
    for (let depth = 0; level.nodes.length > 0; depth++) level = growLevel(g, t, level, depth);
  }
  return { tree: t.builder.finish(), leaves: Float64Array.from(t.leaves) };
}

/** The columns the level tasks read for this tree. */
function useColumns(g: Growth, cols: number[]): void {
  g.slots.set(cols);
  g.binsOf.set(cols.map((j) => g.edges[j]!.length + 1));
}

/** Sum of the gradients of the first `count` rows (the hessians are 1: their sum is the count). */
function gradientSum(d: LevelData, count: number): number {
  let G = 0;
  for (let k = 0; k < count; k++) G += d.g[d.idx[k]!]!;
  return G;
}

/** XGBoost's leaf value eta * -G / (H + lambda); the leaf's rows are remembered for the prediction updates. */
function makeLeaf(g: Growth, t: TreeInProgress, node: number, G: number, H: number, start: number, end: number): void {
  const value = (g.params.eta * -G) / (H + g.params.lambda);
  t.builder.setValue(node, value);
  t.leaves.push(start, end, Math.fround(value)); // the tree stores float32
}

/** One level: searched, decided, partitioned; returns the next level (empty when every node became a leaf). */
function growLevel(g: Growth, t: TreeInProgress, level: Level, depth: number): Level {
  const ranges = columnRanges(g, level);
  const results = searchSplits(g, level, ranges);
  const splits = decideSplits(g, t, level.nodes, results, ranges);
  const mids = partitionRows(
    g,
    splits.map(([e, s]) => ({ start: e.start, end: e.end, feature: s.feature, bin: s.bin, defaultLeft: s.defaultLeft })),
  );
  return makeChildren(g, t, splits, mids, depth);
}

/** Column ranges per node group: enough units for the threads to even out (a level with few groups cuts the columns). */
function columnRanges(g: Growth, level: Level): number {
  const threads = g.work.threads;
  return threads > 1 ? Math.min(g.slots.length, Math.ceil((4 * threads) / (level.groups.length >> 1))) : 1;
}

/** Builds or subtracts every node's histogram and searches each node's best split per column range; returns the results. */
function searchSplits(g: Growth, level: Level, ranges: number): Float64Array {
  const { nodes: entries, groups } = level;
  const results = g.answers.results(entries.length * ranges * RESULT_WIDTH);
  const nodes = new Float64Array(entries.length * NODE_WIDTH);
  entries.forEach((e, k) => nodes.set([e.start, e.end, e.G, e.H, e.hist, e.search ? 1 : 0], k * NODE_WIDTH));
  const { lambda, minChildWeight } = g.params;
  g.work.level({ cols: g.slots, binsOf: g.binsOf, nodes, groups, ranges, lambda, minChildWeight, results });
  return results;
}

/** Each node split by its best split, or made a leaf (its histogram returned to the pool); returns the splits. */
function decideSplits(g: Growth, t: TreeInProgress, nodes: LevelNode[], results: Float64Array, ranges: number): [LevelNode, Split][] {
  const splits: [LevelNode, Split][] = [];
  for (let k = 0; k < nodes.length; k++) {
    const e = nodes[k]!;
    const s = e.search ? bestOfRanges(results, k, ranges, g.params) : undefined;
    if (s) splits.push([e, s]);
    else {
      g.histograms.release(e.hist);
      makeLeaf(g, t, e.node, e.G, e.H, e.start, e.end);
    }
  }
  return splits;
}

/** The best split of node k over the column ranges, scanned in column order (as one scan would); undefined: no split. */
function bestOfRanges(results: Float64Array, k: number, ranges: number, p: GrowthParams): Split | undefined {
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
 * The split nodes' children: leaves at the maximum depth (the parent's histogram returned to the
 * pool), else the next level's nodes, the smaller child's histogram to be built in a new buffer
 * and the larger's subtracted in its parent's.
 */
function makeChildren(g: Growth, t: TreeInProgress, splits: [LevelNode, Split][], mids: number[], depth: number): Level {
  const next: LevelNode[] = [];
  // [built, subtracted, rows built]
  const pairs: [number, number, number][] = [];
  for (let k = 0; k < splits.length; k++) {
    const [e, s] = splits[k]!;
    const mid = mids[k]!;
    const [l, r] = t.builder.split(e.node, s.feature, s.bin, g.edges[s.feature]![s.bin]!, s.defaultLeft);
    const [GL, HL, GR, HR] = [s.GL, s.HL, e.G - s.GL, e.H - s.HL];
    if (depth + 1 >= g.params.maxDepth) {
      g.histograms.release(e.hist);
      makeLeaf(g, t, l, GL, HL, e.start, mid);
      makeLeaf(g, t, r, GR, HR, mid, e.end);
      continue;
    }
    const leftSmaller = mid - e.start <= e.end - mid;
    const small = g.histograms.take();
    const at = next.length;
    next.push(levelNode(l, e.start, mid, GL, HL, leftSmaller ? small : e.hist, mid - e.start >= 2));
    next.push(levelNode(r, mid, e.end, GR, HR, leftSmaller ? e.hist : small, e.end - mid >= 2));
    pairs.push(leftSmaller ? [at, at + 1, mid - e.start] : [at + 1, at, e.end - mid]);
  }
  // The largest groups first, so that the threads' last units are small.
  pairs.sort((a, b) => b[2] - a[2]);
  return { nodes: next, groups: Int32Array.from(pairs.flatMap(([built, subtracted]) => [built, subtracted])) };
}

/**
 * The split nodes' rows partitioned in data.idx; returns each job's first right row. With
 * threads, jobs longer than a share are cut into pieces (the first levels have one or two
 * nodes), each partitioned in place, then a job's pieces joined.
 */
function partitionRows(g: Growth, jobs: PartitionJob[]): number[] {
  const cuts = piecesPerJob(jobs, g.work.threads);
  const pieces = cutIntoPieces(jobs, cuts);
  const lefts = g.answers.lefts(pieces.length / PIECE_WIDTH);
  g.work.partition(pieces, lefts);
  let piece = 0;
  return jobs.map((j, k) => {
    const first = piece;
    piece += cuts[k]!;
    return cuts[k] === 1 ? lefts[first]! : joinPieces(g.data, j, pieces, lefts, first, cuts[k]!);
  });
}

/** Pieces per job: one on one thread; with threads, about a quarter of a thread's share of the level's rows (at least 4096 rows). */
function piecesPerJob(jobs: PartitionJob[], threads: number): number[] {
  const total = jobs.reduce((t, j) => t + j.end - j.start, 0);
  const pieceRows = threads > 1 ? Math.max(4096, Math.ceil(total / (4 * threads))) : Infinity;
  return jobs.map((j) => Math.max(1, Math.ceil((j.end - j.start) / pieceRows)));
}

/** The partition task: [start, end, feature, bin, defaultLeft] per piece (PIECE_WIDTH), a job's pieces in row order. */
function cutIntoPieces(jobs: PartitionJob[], cuts: number[]): Int32Array {
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
  return pieces;
}

/**
 * A job's partitioned pieces joined into one partition (the pieces' left runs in order, then
 * their right runs, so each side keeps ascending rows); returns the first right row.
 */
function joinPieces(d: LevelData, j: PartitionJob, pieces: Int32Array, lefts: Int32Array, first: number, count: number): number {
  const { idx, scratch } = d;
  let at = j.start;
  for (let c = first; c < first + count; c++) {
    const [start, left] = [pieces[c * PIECE_WIDTH]!, lefts[c]!];
    scratch.set(idx.subarray(start, left), at);
    at += left - start;
  }
  const mid = at;
  for (let c = first; c < first + count; c++) {
    const [left, end] = [lefts[c]!, pieces[c * PIECE_WIDTH + 1]!];
    scratch.set(idx.subarray(left, end), at);
    at += end - left;
  }
  idx.set(scratch.subarray(j.start, j.end), j.start);
  return mid;
}
