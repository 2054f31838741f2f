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

export const MISSING_BIN = 255;
/** Bins per histogram slot (g and h interleaved: 2 floats per bin). */
export const HB = 256;
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

/** Claims and runs level units until none is left (every thread of the level calls this). */
export function processLevel(d: LevelData, t: LevelTask): void {
  const units = (t.groups.length >> 1) * t.ranges;
  for (let u = Atomics.add(d.claim, 0, 1); u < units; u = Atomics.add(d.claim, 0, 1)) {
    const group = Math.floor(u / t.ranges);
    const range = u - group * t.ranges;
    const [s0, s1] = slotRange(t.cols.length, range, t.ranges);
    const k = t.groups[2 * group]!;
    const built = d.hists[t.nodes[k * NODE_WIDTH + 4]!]!;
    buildHistogram(d, t, built, k, s0, s1);
    if (t.nodes[k * NODE_WIDTH + 5]) bestSplit(t, built, k, s0, s1, t.results, (k * t.ranges + range) * RESULT_WIDTH);
    const j = t.groups[2 * group + 1]!;
    if (j < 0) continue;
    const subtracted = d.hists[t.nodes[j * NODE_WIDTH + 4]!]!;
    subtractHistogram(t, subtracted, built, s0, s1);
    if (t.nodes[j * NODE_WIDTH + 5]) bestSplit(t, subtracted, j, s0, s1, t.results, (j * t.ranges + range) * RESULT_WIDTH);
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

// Row by row (as XGBoost does): a row's gradient and bins are loaded once for all its columns.
// Each (column, bin) still sums its rows in ascending order, so the sums do not depend on the
// column ranges.
function buildHistogram(d: LevelData, t: LevelTask, hist: Float64Array, k: number, s0: number, s1: number): void {
  const { rowBins, f, g, idx } = d;
  const cols = t.cols;
  for (let slot = s0; slot < s1; slot++) {
    const o = slot * HB * 2;
    hist.fill(0, o, o + 2 * t.binsOf[slot]!);
    hist[o + 2 * MISSING_BIN] = 0;
    hist[o + 2 * MISSING_BIN + 1] = 0;
  }
  for (let q = t.nodes[k * NODE_WIDTH]!, end = t.nodes[k * NODE_WIDTH + 1]!; q < end; q++) {
    const i = idx[q]!;
    const gi = g[i]!;
    const row = i * f;
    for (let slot = s0, o = s0 * HB * 2; slot < s1; slot++, o += HB * 2) {
      const at = o + 2 * rowBins[row + cols[slot]!]!;
      hist[at]! += gi;
      hist[at + 1]! += 1;
    }
  }
}

function subtractHistogram(t: LevelTask, h: Float64Array, small: Float64Array, s0: number, s1: number): void {
  for (let slot = s0; slot < s1; slot++) {
    const o = slot * HB * 2;
    const e = o + 2 * t.binsOf[slot]!;
    for (let k = o; k < e; k++) h[k]! -= small[k]!;
    h[o + 2 * MISSING_BIN]! -= small[o + 2 * MISSING_BIN]!;
    h[o + 2 * MISSING_BIN + 1]! -= small[o + 2 * MISSING_BIN + 1]!;
  }
}

/** XGBoost's loss change over the slots s0..s1-1, missing values tried on both sides; gain -Infinity: none. */
function bestSplit(t: LevelTask, hist: Float64Array, k: number, s0: number, s1: number, out: Float64Array, at: number): void {
  const G = t.nodes[k * NODE_WIDTH + 2]!;
  const H = t.nodes[k * NODE_WIDTH + 3]!;
  const { lambda, minChildWeight } = t;
  const parent = (G * G) / (H + lambda);
  let bestGain = -Infinity;
  let bestFeature = -1;
  let bestBin = -1;
  let bestLeft = 0;
  let bestGL = 0;
  let bestHL = 0;
  for (let slot = s0; slot < s1; slot++) {
    const o = slot * HB * 2;
    const nb = t.binsOf[slot]!;
    const GM = hist[o + 2 * MISSING_BIN]!;
    const HM = hist[o + 2 * MISSING_BIN + 1]!;
    let GL = 0;
    let HL = 0;
    const tryMissingLeft = HM > 0; // without missing values both directions are the same split
    for (let b = 0; b < nb - 1; b++) {
      if (hist[o + 2 * b + 1] === 0) continue; // an empty bin moves no row: same split as before
      GL += hist[o + 2 * b]!;
      HL += hist[o + 2 * b + 1]!;
      // Missing values to the right...
      let hr = H - HL;
      if (HL >= minChildWeight && hr >= minChildWeight) {
        const gr = G - GL;
        const gain = (GL * GL) / (HL + lambda) + (gr * gr) / (hr + lambda) - parent;
        if (bestFeature < 0 || gain > bestGain) {
          bestGain = gain;
          bestFeature = t.cols[slot]!;
          bestBin = b;
          bestLeft = 0;
          bestGL = GL;
          bestHL = HL;
        }
      }
      // ... or to the left.
      if (tryMissingLeft) {
        const gl = GL + GM;
        const hl = HL + HM;
        hr = H - hl;
        if (hl >= minChildWeight && hr >= minChildWeight) {
          const gr = G - gl;
          const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent;
          if (bestFeature < 0 || gain > bestGain) {
            bestGain = gain;
            bestFeature = t.cols[slot]!;
            bestBin = b;
            bestLeft = 1;
            bestGL = gl;
            bestHL = hl;
          }
        }
      }
    }
  }
  out[at] = bestFeature < 0 ? -Infinity : bestGain;
  out[at + 1] = bestFeature;
  out[at + 2] = bestBin;
  out[at + 3] = bestLeft;
  out[at + 4] = bestGL;
  out[at + 5] = bestHL;
}
