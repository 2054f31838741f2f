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
import { TreeBuilder, type Tree } from "./tree.js";

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

const MISSING_BIN = 255;

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

/** Bins, feature-major: bins[j * n + i]; bin = number of edges <= x; missing = 255. */
export function binMatrix(X: Float32Array, n: number, f: number, edges: Float64Array[]): Uint8Array {
  const bins = new Uint8Array(n * f);
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

function predictTree(t: Tree, x: Float32Array, offset: number): number {
  let node = 0;
  while (t.feature[node]! >= 0) {
    const v = x[offset + t.feature[node]!]!;
    node = v !== v ? (t.defaultLeft[node] ? t.left[node]! : t.right[node]!) : v < t.threshold[node]! ? t.left[node]! : t.right[node]!;
  }
  return t.value[node]!;
}

/** Predictions of the first `nTrees` trees (default: up to the best iteration). */
export function predictGbt(m: GbtModel, X: Float32Array, n: number, nTrees = m.bestIteration + 1): Float32Array {
  const f = m.nFeatures;
  if (X.length !== n * f) throw new Error(`predictGbt: ${X.length} values for ${n} rows of ${f} features`);
  const out = new Float32Array(n).fill(m.params.baseScore);
  for (let t = 0; t < Math.min(nTrees, m.trees.length); t++) for (let i = 0; i < n; i++) out[i]! += predictTree(m.trees[t]!, X, i * f);
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
): GbtModel {
  const p: GbtParams = { ...GBT_DEFAULTS, ...options };
  if (y.length !== n || X.length !== n * f) throw new Error("fitGbt: X and y do not match");
  const edges = binEdges(X, n, f, p.maxBin);
  const bins = binMatrix(X, n, f, edges);
  const rng = new Rng(p.seed);
  const pred = new Float64Array(n).fill(p.baseScore);
  const predVa = new Float64Array(nva).fill(p.baseScore);
  const g = new Float64Array(n);
  const rows = new Int32Array(n);
  const scratch = new Int32Array(n);
  const HB = 256;
  const pool: Float64Array[] = [];
  const trees: Tree[] = [];
  const history: number[] = [];
  let best = Infinity;
  let bestIteration = -1;
  const nCols = Math.max(1, Math.floor(p.colsampleByTree * f));

  for (let round = 0; round < p.rounds; round++) {
    for (let i = 0; i < n; i++) g[i] = pred[i]! - y[i]!;
    let m = 0;
    for (let i = 0; i < n; i++) if (p.subsample >= 1 || rng.uniform() < p.subsample) rows[m++] = i;
    const cols = rng
      .shuffle(Array.from({ length: f }, (_, j) => j))
      .slice(0, nCols)
      .sort((a, b) => a - b);
    const tree = growTree(rows, m);
    trees.push(tree);
    for (let i = 0; i < n; i++) pred[i]! += predictTreeBins(tree, i);
    for (let i = 0; i < nva; i++) predVa[i]! += predictTree(tree, Xva, i * f);
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
      const builder = new TreeBuilder();
      // Histograms [feature][bin] of g and count (h = 1 for squared error).
      // Histograms hold only the sampled columns: slot s is column cols[s].
      // Histogram buffers are recycled: a node owns its buffer and either hands it to a child
      // (histogram subtraction) or returns it to the pool; only the used bins are touched.
      const binsOf = cols.map((j) => edges[j]!.length + 1);
      const take = (): Float64Array => pool.pop() ?? new Float64Array(cols.length * HB * 2);
      const histogram = (start: number, end: number): Float64Array => {
        const hist = take();
        for (let slot = 0; slot < cols.length; slot++) {
          const base = cols[slot]! * n;
          const o = slot * HB * 2;
          hist.fill(0, o, o + 2 * binsOf[slot]!);
          hist[o + 2 * MISSING_BIN] = 0;
          hist[o + 2 * MISSING_BIN + 1] = 0;
          for (let k = start; k < end; k++) {
            const i = idx[k]!;
            const b = bins[base + i]!;
            hist[o + 2 * b]! += g[i]!;
            hist[o + 2 * b + 1]! += 1;
          }
        }
        return hist;
      };
      const bestSplit = (hist: Float64Array, G: number, H: number): Split | undefined => {
        let found: Split | undefined;
        const parent = (G * G) / (H + p.lambda);
        for (let slot = 0; slot < cols.length; slot++) {
          const j = cols[slot]!;
          const o = slot * HB * 2;
          const nb = edges[j]!.length + 1;
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
            if (HL >= p.minChildWeight && hr >= p.minChildWeight) {
              const gr = G - GL;
              const gain = (GL * GL) / (HL + p.lambda) + (gr * gr) / (hr + p.lambda) - parent;
              if (!found || gain > found.gain) found = { gain, feature: j, bin: b, defaultLeft: false, GL, HL };
            }
            // ... or to the left.
            if (tryMissingLeft) {
              const gl = GL + GM;
              const hl = HL + HM;
              hr = H - hl;
              if (hl >= p.minChildWeight && hr >= p.minChildWeight) {
                const gr = G - gl;
                const gain = (gl * gl) / (hl + p.lambda) + (gr * gr) / (hr + p.lambda) - parent;
                if (!found || gain > found.gain) found = { gain, feature: j, bin: b, defaultLeft: true, GL: gl, HL: hl };
              }
            }
          }
        }
        return found && found.gain > 1e-6 && found.gain >= p.gamma ? found : undefined;
      };
      const build = (node: number, start: number, end: number, G: number, H: number, depth: number, hist: Float64Array | null) => {
        const leaf = () => {
          builder.setValue(node, (p.eta * -G) / (H + p.lambda));
        };
        if (depth >= p.maxDepth || end - start < 2) {
          if (hist) pool.push(hist);
          return leaf();
        }
        const h = hist ?? histogram(start, end);
        const s = bestSplit(h, G, H);
        if (!s) {
          pool.push(h);
          return leaf();
        }
        // Stable partition (rows stay in ascending order, so histograms read each column's
        // bins front to back): left = bin <= s.bin, or missing going left.
        const base = s.feature * n;
        let lo = start;
        let nRight = 0;
        for (let k = start; k < end; k++) {
          const i = idx[k]!;
          const b = bins[base + i]!;
          if (b === MISSING_BIN ? s.defaultLeft : b <= s.bin) idx[lo++] = i;
          else scratch[nRight++] = i;
        }
        idx.set(scratch.subarray(0, nRight), lo);
        const mid = lo;
        const [l, r] = builder.split(node, s.feature, s.bin, edges[s.feature]![s.bin]!, s.defaultLeft);
        // The smaller child's histogram is built, the larger one's is parent minus it.
        const leftSmaller = mid - start <= end - mid;
        let hl: Float64Array | null = null;
        let hr: Float64Array | null = null;
        if (depth + 1 < p.maxDepth) {
          const small = leftSmaller ? histogram(start, mid) : histogram(mid, end);
          // The parent's histogram is not needed any more: it becomes the larger child's.
          for (let slot = 0; slot < cols.length; slot++) {
            const o = slot * HB * 2;
            const e = o + 2 * binsOf[slot]!;
            for (let k = o; k < e; k++) h[k]! -= small[k]!;
            h[o + 2 * MISSING_BIN]! -= small[o + 2 * MISSING_BIN]!;
            h[o + 2 * MISSING_BIN + 1]! -= small[o + 2 * MISSING_BIN + 1]!;
          }
          [hl, hr] = leftSmaller ? [small, h] : [h, small];
        } else pool.push(h);
        build(l, start, mid, s.GL, s.HL, depth + 1, hl);
        build(r, mid, end, G - s.GL, H - s.HL, depth + 1, hr);
      };
      const root = builder.node();
      let G = 0;
      for (let k = 0; k < count; k++) G += g[idx[k]!]!;
      build(root, 0, count, G, count, 0, null);
      return builder.finish();
    }

    function predictTreeBins(t: Tree, i: number): number {
      let node = 0;
      while (t.feature[node]! >= 0) {
        const b = bins[t.feature[node]! * n + i]!;
        node = b === MISSING_BIN ? (t.defaultLeft[node] ? t.left[node]! : t.right[node]!) : b <= t.splitBin[node]! ? t.left[node]! : t.right[node]!;
      }
      return t.value[node]!;
    }
  }
  return { params: p, nFeatures: f, trees, bestIteration, bestValRmse: best, history };
}
