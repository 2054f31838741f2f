/**
 * The histogram work of one tree level of the gradient-boosted trees, for a range of the sampled
 * columns ("slots"). The calling thread and the workers each take a slot range, so histograms
 * and split searches of all nodes of a level are shared out without any reduction: a column's
 * histogram depends only on that column. Per node: build the histogram (the smaller child) or
 * subtract the sibling's from the parent's in place (the larger child), then the best split of
 * each slot range is written to `results` and the caller keeps the best over ranges, scanning
 * ranges in slot order so the result equals one sequential scan for any thread count.
 */

export const MISSING_BIN = 255;
/** Bins per histogram slot (g and h interleaved: 2 floats per bin). */
export const HB = 256;
/** Numbers per (node, range) in `results`: gain, feature, bin, defaultLeft, GL, HL. */
export const RESULT_WIDTH = 6;

export interface LevelData {
  /** Bins, row-major: rowBins[i * f + j] (a row's bins are read together when histograms are built). */
  rowBins: Uint8Array;
  /** Bins, feature-major: bins[j * n + i] (a split's column, read when its rows are partitioned). */
  bins: Uint8Array;
  /** Partition scratch, as long as idx (a node uses its own range). */
  scratch: Int32Array;
  n: number;
  f: number;
  /** Gradients of this round. */
  g: Float64Array;
  /** Row indices, each node's rows contiguous and ascending. */
  idx: Int32Array;
}

export interface LevelNode {
  start: number;
  end: number;
  G: number;
  H: number;
  /** This node's histogram (written here when build, else holding the parent's, subtracted in place). */
  hist: Float64Array;
  /** The sibling whose histogram is subtracted from `hist` (null: build from the rows). */
  sibling: Float64Array | null;
  /** Whether to search a split (false: the node becomes a leaf; its histogram is still made). */
  search: boolean;
}

export interface LevelTask {
  /** Sampled columns of this tree (slot s is column cols[s]) and their bin counts (edges + 1). */
  cols: Int32Array;
  binsOf: Int32Array;
  nodes: LevelNode[];
  lambda: number;
  minChildWeight: number;
  /** [node][range][RESULT_WIDTH] */
  results: Float64Array;
  ranges: number;
}

/** Numbers per partition job: start, end, feature, bin, defaultLeft. */
export const JOB_WIDTH = 5;

/**
 * Stable partition of the rows of jobs from..to-1 (rows stay ascending, so histograms read each
 * column's bins front to back): left = bin <= the split's bin, or missing going left. Nodes own
 * disjoint ranges of idx and scratch, so the jobs can be shared out. mids[j] = the first right row.
 */
export function partitionRows(d: LevelData, jobs: Int32Array, from: number, to: number, mids: Int32Array): void {
  const { bins, n, idx, scratch } = d;
  for (let j = from; j < to; j++) {
    const at = j * JOB_WIDTH;
    const [start, end, base, bin, defaultLeft] = [jobs[at]!, jobs[at + 1]!, jobs[at + 2]! * n, jobs[at + 3]!, jobs[at + 4] === 1];
    let lo = start;
    let hi = start;
    for (let q = start; q < end; q++) {
      const i = idx[q]!;
      const b = bins[base + i]!;
      if (b === MISSING_BIN ? defaultLeft : b <= bin) idx[lo++] = i;
      else scratch[hi++] = i;
    }
    idx.set(scratch.subarray(start, hi), lo);
    mids[j] = lo;
  }
}

/** Slot range of one of `ranges` equal parts. */
export function slotRange(slots: number, range: number, ranges: number): [number, number] {
  return [Math.floor((slots * range) / ranges), Math.floor((slots * (range + 1)) / ranges)];
}

export function processLevel(d: LevelData, t: LevelTask, range: number): void {
  const [s0, s1] = slotRange(t.cols.length, range, t.ranges);
  // Builds first: a subtraction needs its sibling's histogram.
  for (const node of t.nodes) if (!node.sibling) buildHistogram(d, t, node, s0, s1);
  for (const node of t.nodes) if (node.sibling) subtractHistogram(t, node.hist, node.sibling, s0, s1);
  t.nodes.forEach((node, k) => {
    if (node.search) bestSplit(t, node, s0, s1, t.results, (k * t.ranges + range) * RESULT_WIDTH);
  });
}

// Row by row (as XGBoost does): a row's gradient and bins are loaded once for all its columns.
// Each (column, bin) still sums its rows in ascending order, so the sums do not depend on the
// column ranges.
function buildHistogram(d: LevelData, t: LevelTask, node: LevelNode, s0: number, s1: number): void {
  const { hist } = node;
  const { rowBins, f, g, idx } = d;
  const cols = t.cols;
  for (let slot = s0; slot < s1; slot++) {
    const o = slot * HB * 2;
    hist.fill(0, o, o + 2 * t.binsOf[slot]!);
    hist[o + 2 * MISSING_BIN] = 0;
    hist[o + 2 * MISSING_BIN + 1] = 0;
  }
  for (let k = node.start; k < node.end; k++) {
    const i = idx[k]!;
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
function bestSplit(t: LevelTask, node: LevelNode, s0: number, s1: number, out: Float64Array, at: number): void {
  const { hist, G, H } = node;
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
