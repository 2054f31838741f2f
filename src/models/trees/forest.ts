/**
 * Random forest regression as MODELS.md and scikit-learn configure it: 300 trees, each grown on
 * a bootstrap sample (n draws with replacement) to unlimited depth with at least
 * minSamplesLeaf rows per leaf; at each node max(1, floor(F / 3)) features are drawn and the
 * split that most reduces the squared error is taken (as scikit-learn, more features are
 * inspected when none of the drawn ones allows a valid split). Splits are searched over the
 * same quantile bins as the boosted trees (at most 255 per feature) instead of every distinct
 * value, which changes little on continuous data and makes each node O(rows). Leaves predict
 * the mean of their rows; the forest the mean of its trees. Inputs carry no NaN (the model
 * mean-imputes and adds indicator columns first, like the reference).
 */
import { deriveSeed, Rng } from "../../util/random.js";
import { runSyncTasks } from "../../util/sync-workers.js";
import { binEdges, binMatrix } from "./gbt.js";
import { TreeBuilder, type Tree } from "./tree.js";

export interface ForestParams {
  trees: number;
  /** Features drawn per split; default max(1, floor(F / 3)). */
  maxFeatures?: number;
  minSamplesLeaf: number;
  maxBin: number;
  seed: number;
}

export const FOREST_DEFAULTS: ForestParams = { trees: 300, minSamplesLeaf: 5, maxBin: 256, seed: 0 };

export interface ForestModel {
  params: ForestParams;
  nFeatures: number;
  trees: Tree[];
}

/** What every tree needs: the binned inputs (feature-major), targets and bin counts. */
export interface ForestData {
  bins: Uint8Array;
  y: Float32Array;
  n: number;
  f: number;
  edges: Float64Array[];
  params: ForestParams;
  maxFeatures: number;
}

/**
 * Grows tree t. Each tree draws from its own stream (seed, "tree t"), so the forest is the same
 * whatever the number of threads that grow it.
 */
export function growTree(d: ForestData, t: number): Tree {
  const { bins, y, n, f, edges, params: p, maxFeatures } = d;
  const rng = new Rng(deriveSeed(p.seed, `tree ${t}`));
  const idx = new Int32Array(n);
  const scratch = new Int32Array(n);
  const cnt = new Float64Array(256);
  const sum = new Float64Array(256);
  const features = Int32Array.from({ length: f }, (_, j) => j);
  for (let i = 0; i < n; i++) idx[i] = rng.int(n);
  idx.sort();
  const builder = new TreeBuilder();
  const stack: [number, number, number][] = [[builder.node(), 0, n]];
  while (stack.length) {
    const [node, start, end] = stack.pop()!;
    const m = end - start;
    let S = 0;
    let Q = 0;
    for (let k = start; k < end; k++) {
      const v = y[idx[k]!]!;
      S += v;
      Q += v * v;
    }
    builder.setValue(node, S / m);
    if (m < 2 * p.minSamplesLeaf || Q - (S * S) / m <= 1e-12 * Math.max(1, Q)) continue; // too few rows, or pure
    // Draw features in random order; inspect maxFeatures, more if none splits validly.
    for (let k = f - 1; k > 0; k--) {
      const r = rng.int(k + 1);
      const tmp = features[k]!;
      features[k] = features[r]!;
      features[r] = tmp;
    }
    let best = { gain: 0, feature: -1, bin: -1 };
    const parent = (S * S) / m;
    for (let q = 0; q < f && (q < maxFeatures || best.feature < 0); q++) {
      const j = features[q]!;
      const nb = edges[j]!.length + 1;
      if (nb < 2) continue;
      cnt.fill(0, 0, nb);
      sum.fill(0, 0, nb);
      const base = j * n;
      for (let k = start; k < end; k++) {
        const i = idx[k]!;
        const b = bins[base + i]!;
        cnt[b]! += 1;
        sum[b]! += y[i]!;
      }
      let cl = 0;
      let sl = 0;
      for (let b = 0; b < nb - 1; b++) {
        if (cnt[b] === 0) continue;
        cl += cnt[b]!;
        sl += sum[b]!;
        const cr = m - cl;
        if (cl < p.minSamplesLeaf || cr < p.minSamplesLeaf) continue;
        const sr = S - sl;
        const gain = (sl * sl) / cl + (sr * sr) / cr - parent;
        if (gain > best.gain + 1e-12) best = { gain, feature: j, bin: b };
      }
    }
    if (best.feature < 0) continue;
    const base = best.feature * n;
    let lo = start;
    let nRight = 0;
    for (let k = start; k < end; k++) {
      const i = idx[k]!;
      if (bins[base + i]! <= best.bin) idx[lo++] = i;
      else scratch[nRight++] = i;
    }
    idx.set(scratch.subarray(0, nRight), lo);
    const [l, r] = builder.split(node, best.feature, best.bin, edges[best.feature]![best.bin]!, false);
    stack.push([l, start, lo], [r, lo, end]);
  }
  return builder.finish();
}

/** Fits the forest; trees are grown on `threads` worker threads (1: on this thread). */
export function fitForest(
  X: Float32Array,
  y: Float32Array,
  n: number,
  f: number,
  options: Partial<ForestParams> = {},
  onTree?: (t: number) => void,
  threads = 1,
): ForestModel {
  const p: ForestParams = { ...FOREST_DEFAULTS, ...options };
  const maxFeatures = p.maxFeatures ?? Math.max(1, Math.floor(f / 3));
  const edges = binEdges(X, n, f, p.maxBin);
  const data: ForestData = { bins: binMatrix(X, n, f, edges), y, n, f, edges, params: p, maxFeatures };
  const ids = Array.from({ length: p.trees }, (_, t) => t);
  let trees: Tree[];
  if (threads > 1 && p.trees > 1) {
    // Contiguous chunks of trees per task keep the per-worker overhead small.
    const chunk = Math.ceil(p.trees / threads);
    const tasks = Array.from({ length: threads }, (_, w) => ids.slice(w * chunk, (w + 1) * chunk)).filter((c) => c.length);
    const shared = { ...data, bins: toShared(data.bins), y: toShared(y) };
    trees = runSyncTasks<number[], Tree[]>(new URL("./forest-worker.js", import.meta.url), shared, tasks, threads).flat();
    trees.forEach((_, t) => onTree?.(t));
  } else {
    trees = ids.map((t) => {
      const tree = growTree(data, t);
      onTree?.(t);
      return tree;
    });
  }
  return { params: p, nFeatures: f, trees };
}

/** A copy in shared memory (workers read it without copies of their own). */
function toShared<A extends Uint8Array | Float32Array>(a: A): A {
  const out = new (a.constructor as new (b: SharedArrayBuffer) => A)(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

export function predictForest(m: ForestModel, X: Float32Array, n: number): Float32Array {
  const f = m.nFeatures;
  if (X.length !== n * f) throw new Error(`predictForest: ${X.length} values for ${n} rows of ${f} features`);
  const out = new Float64Array(n);
  for (const t of m.trees) {
    for (let i = 0; i < n; i++) {
      let node = 0;
      while (t.feature[node]! >= 0) node = X[i * f + t.feature[node]!]! < t.threshold[node]! ? t.left[node]! : t.right[node]!;
      out[i]! += t.value[node]!;
    }
  }
  return Float32Array.from(out, (v) => v / m.trees.length);
}
