/**
 * The work of one tree level of the gradient-boosted trees, shared out over threads as small
 * units that every thread claims from a shared counter until none is left (a late or slow
 * thread simply takes fewer), and the row partitions of the level's splits, shared the same way.
 *
 * A level unit is one node group (a node whose histogram is built from its rows, and its
 * sibling, whose histogram is the parent's minus it) over one range of the sampled columns
 * ("slots"): build, subtract, then the best split of each node over that range, written to
 * `results`. The caller keeps the best over ranges, scanning ranges in slot order, so the
 * result equals one sequential scan for any cut into ranges and any thread count; a column's
 * histogram sums its rows in ascending order whoever builds it. So the trees do not depend on
 * the threads.
 */

import { MISSING_BIN, type HistogramKernels } from "./gbt-histogram.js";

/** Numbers per (node, range) in `results`: gain, feature, bin, defaultLeft, GL, HL. */
export const RESULT_WIDTH = 6;
/** Numbers per partition piece: start, end, feature, bin, defaultLeft. */
export const PIECE_WIDTH = 5;
/** Numbers per level node: start, end, G, H, histogram id, search (1: search a split; 0: the node becomes a leaf, its histogram is still made). */
export const NODE_WIDTH = 6;

export interface LevelData {
  /** Bins, row-major: rowBins[i * f + j] (a row's bins are read together when histograms are built). */
  rowBins: Uint8Array;
  /** Bins, feature-major: bins[j * n + i] (a split's column, read when its rows are partitioned). */
  bins: Uint8Array;
  /** Partition scratch, as long as idx (a piece uses its own range). */
  scratch: Int32Array;
  n: number;
  f: number;
  /** Gradients of this round. */
  g: Float64Array;
  /** Row indices, each node's rows contiguous and ascending. */
  idx: Int32Array;
  /** claim[0]: the next unclaimed unit of the current task (reset by the caller before each task). */
  claim: Int32Array;
  /**
   * Histogram buffers by id, [slot][bin][g, h] each; every thread holds the same list (new
   * buffers are handed to the workers once, levels name them by id). A node's histogram is
   * written when built, or holds its parent's and is subtracted in place.
   */
  hists: Float64Array[];
}

export interface LevelTask {
  /** Sampled columns of this tree (slot s is column cols[s]) and their bin counts (edges + 1). */
  cols: Int32Array;
  binsOf: Int32Array;
  /** [node][NODE_WIDTH] */
  nodes: Float64Array;
  /** Node groups as [built node, subtracted node or -1] (indices into nodes), the largest first. */
  groups: Int32Array;
  /** Slot ranges per group (unit u: group floor(u / ranges), range u % ranges). */
  ranges: number;
  lambda: number;
  minChildWeight: number;
  /** [node][range][RESULT_WIDTH] */
  results: Float64Array;
}

/** Slot range of one of `ranges` equal parts. */
export function slotRange(slots: number, range: number, ranges: number): [number, number] {
  return [Math.floor((slots * range) / ranges), Math.floor((slots * (range + 1)) / ranges)];
}

/** Claims and runs level units until none is left (every thread of the level calls this, with its own kernels). */
export function processLevel(d: LevelData, t: LevelTask, kernels: HistogramKernels): void {
  const { idx, g, rowBins, f } = d;
  const { cols, binsOf, nodes, lambda, minChildWeight, results } = t;
  const units = (t.groups.length >> 1) * t.ranges;
  for (let u = Atomics.add(d.claim, 0, 1); u < units; u = Atomics.add(d.claim, 0, 1)) {
    const group = Math.floor(u / t.ranges);
    const range = u - group * t.ranges;
    const [s0, s1] = slotRange(cols.length, range, t.ranges);
    const k = t.groups[2 * group]!;
    const at = k * NODE_WIDTH;
    const built = d.hists[nodes[at + 4]!]!;
    kernels.buildHistogram(idx, nodes[at]!, nodes[at + 1]!, g, rowBins, f, cols, binsOf, s0, s1, built);
    if (nodes[at + 5])
      kernels.bestSplit(built, binsOf, cols, s0, s1, nodes[at + 2]!, nodes[at + 3]!, lambda, minChildWeight, results, (k * t.ranges + range) * RESULT_WIDTH);
    const j = t.groups[2 * group + 1]!;
    if (j < 0) continue;
    const subtracted = d.hists[nodes[j * NODE_WIDTH + 4]!]!;
    kernels.subtractHistogram(subtracted, built, binsOf, s0, s1);
    if (nodes[j * NODE_WIDTH + 5])
      kernels.bestSplit(
        subtracted,
        binsOf,
        cols,
        s0,
        s1,
        nodes[j * NODE_WIDTH + 2]!,
        nodes[j * NODE_WIDTH + 3]!,
        lambda,
        minChildWeight,
        results,
        (j * t.ranges + range) * RESULT_WIDTH,
      );
  }
}

/**
 * Claims and runs partition pieces until none is left. A piece is a run of one node's rows,
 * partitioned stably in place (left = bin <= the split's bin, or missing going left);
 * lefts[p] = its first right row. Pieces own disjoint ranges of idx and scratch.
 */
export function partitionPieces(d: LevelData, pieces: Int32Array, lefts: Int32Array): void {
  const count = pieces.length / PIECE_WIDTH;
  for (let p = Atomics.add(d.claim, 0, 1); p < count; p = Atomics.add(d.claim, 0, 1)) {
    const at = p * PIECE_WIDTH;
    lefts[p] = partitionPiece(d, pieces[at]!, pieces[at + 1]!, pieces[at + 2]!, pieces[at + 3]!, pieces[at + 4]!);
  }
}

// Without branches on the bin (a row goes either way at random: a branch would be mispredicted
// half the time): each row is written to both sides and only the side it belongs to advances.
function partitionPiece(d: LevelData, start: number, end: number, feature: number, bin: number, defaultLeft: number): number {
  const { bins, idx, scratch } = d;
  const base = feature * d.n;
  let lo = start;
  let hi = start;
  for (let q = start; q < end; q++) {
    const i = idx[q]!;
    const b = bins[base + i]!;
    // 1 when b <= bin (bin < MISSING_BIN), or b is MISSING_BIN and missing goes left.
    const left = (((bin - b) >>> 31) ^ 1) | ((((b ^ MISSING_BIN) - 1) >>> 31) & defaultLeft);
    idx[lo] = i;
    scratch[hi] = i;
    lo += left;
    hi += 1 - left;
  }
  idx.set(scratch.subarray(start, hi), lo);
  return lo;
}
