/**
 * Fast prediction for tree ensembles (the boosted trees and the random forest): every tree packed
 * into one node table in shared memory, rows walked in blocks (a block of rows stays in cache
 * while every tree walks it), without data-dependent branches, and large inputs shared out to
 * persistent worker threads, each taking a contiguous range of rows. Thresholds are stored as
 * float32, which is exact: every split threshold is a float32 value (the bin edges), and the
 * inputs are float32. The values equal the one-row-at-a-time walk (treeValue) bit for bit in the
 * same summation order (tested).
 */
import { SyncWorkers } from "../../util/sync-workers.js";
import type { Tree } from "./tree.js";

/**
 * Rows per block: the block's rows stay in the caches (4096 x ~60 features, ~1 MB in L2) while
 * every tree walks them, one tree at a time (its nodes in L1). Measured here: 81k rows/s against
 * 46k with blocks of 1024 and 32k with blocks of 64.
 */
const BLOCK = 4096;
/** Below this many rows the hand-off to threads costs more than it saves. */
const PARALLEL_MIN_ROWS = 4096;

/**
 * Every tree in one node table, four int32 per node: feature, threshold (float32 bits), left
 * child (the right child is left + 1: trees are renumbered breadth-first), and 1 where a missing
 * value goes left. A leaf points to itself (feature 0, threshold +Inf, missing left), so every
 * row walks exactly the tree's depth and the walk has no data-dependent branch: the child is
 * left + 1 - goesLeft, computed arithmetically (a branch there mispredicts half the time: the
 * branchy walk ran at 53k rows/s, this one at 81k).
 */
export interface PackedTreeArrays {
  nodes: Int32Array;
  /** Leaf values by node (0 for split nodes). */
  value: Float32Array;
  /** Root node and depth of each tree. */
  roots: Int32Array;
  depths: Int32Array;
}

function sharedArray<T extends Int32Array | Float32Array>(Kind: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number): T {
  return new Kind(new SharedArrayBuffer(Math.max(1, n) * Kind.BYTES_PER_ELEMENT));
}

/** The first `nTrees` trees in the shared node table. */
export function packTrees(trees: Tree[], nTrees = trees.length): PackedTreeArrays {
  const used = trees.slice(0, nTrees);
  const total = used.reduce((n, t) => n + t.feature.length, 0);
  const nodes = sharedArray(Int32Array, 4 * total);
  const thresholds = new Float32Array(nodes.buffer);
  const p: PackedTreeArrays = {
    nodes,
    value: sharedArray(Float32Array, total),
    roots: sharedArray(Int32Array, used.length),
    depths: sharedArray(Int32Array, used.length),
  };
  let at = 0;
  used.forEach((t, k) => {
    // Breadth-first ids, children adjacent; the depth is the deepest leaf's.
    const id = new Int32Array(t.feature.length);
    const depth = new Int32Array(t.feature.length);
    const order = [0];
    id[0] = at;
    let next = at + 1;
    let deepest = 0;
    for (let q = 0; q < order.length; q++) {
      const node = order[q]!;
      if (t.feature[node]! < 0) {
        deepest = Math.max(deepest, depth[node]!);
        continue;
      }
      for (const child of [t.left[node]!, t.right[node]!]) {
        id[child] = next++;
        depth[child] = depth[node]! + 1;
        order.push(child);
      }
    }
    for (const node of order) {
      const i = id[node]!;
      const leaf = t.feature[node]! < 0;
      const threshold = t.threshold[node]!;
      if (!leaf && Math.fround(threshold) !== threshold) throw new Error(`packTrees: threshold ${threshold} is not a float32 value`);
      nodes[4 * i] = leaf ? 0 : t.feature[node]!;
      thresholds[4 * i + 1] = leaf ? Infinity : threshold;
      nodes[4 * i + 2] = leaf ? i : id[t.left[node]!]!;
      nodes[4 * i + 3] = leaf ? 1 : t.defaultLeft[node]!;
      p.value[i] = leaf ? t.value[node]! : 0;
    }
    p.roots[k] = at;
    p.depths[k] = deepest;
    at = next;
  });
  return p;
}

/**
 * out[i] = start + the sum over trees of the leaf value of row i, for rows [from, to) of the
 * row-major X [., f]: in float64 when out is a Float64Array (the forest's mean), else rounded to
 * float32 at every tree, as XGBoost accumulates. Four rows walk each tree together.
 */
export function walkRows(p: PackedTreeArrays, X: Float32Array, f: number, from: number, to: number, out: Float32Array | Float64Array, start: number): void {
  const { nodes, value, roots, depths } = p;
  const thr = new Float32Array(nodes.buffer, nodes.byteOffset, nodes.length);
  out.fill(start, from, to);
  for (let b0 = from; b0 < to; b0 += BLOCK) {
    const b1 = Math.min(to, b0 + BLOCK);
    for (let t = 0; t < roots.length; t++) {
      const root = roots[t]!;
      const d = depths[t]!;
      let i = b0;
      for (; i + 4 <= b1; i += 4) {
        let n0 = root;
        let n1 = root;
        let n2 = root;
        let n3 = root;
        const a0 = i * f;
        const a1 = a0 + f;
        const a2 = a1 + f;
        const a3 = a2 + f;
        for (let k = 0; k < d; k++) {
          const k0 = n0 << 2;
          const k1 = n1 << 2;
          const k2 = n2 << 2;
          const k3 = n3 << 2;
          const v0 = X[a0 + nodes[k0]!]!;
          const v1 = X[a1 + nodes[k1]!]!;
          const v2 = X[a2 + nodes[k2]!]!;
          const v3 = X[a3 + nodes[k3]!]!;
          n0 = nodes[k0 + 2]! + 1 - (+(v0 < thr[k0 + 1]!) | (+(v0 !== v0) & nodes[k0 + 3]!));
          n1 = nodes[k1 + 2]! + 1 - (+(v1 < thr[k1 + 1]!) | (+(v1 !== v1) & nodes[k1 + 3]!));
          n2 = nodes[k2 + 2]! + 1 - (+(v2 < thr[k2 + 1]!) | (+(v2 !== v2) & nodes[k2 + 3]!));
          n3 = nodes[k3 + 2]! + 1 - (+(v3 < thr[k3 + 1]!) | (+(v3 !== v3) & nodes[k3 + 3]!));
        }
        out[i] += value[n0]!;
        out[i + 1] += value[n1]!;
        out[i + 2] += value[n2]!;
        out[i + 3] += value[n3]!;
      }
      for (; i < b1; i++) {
        let node = root;
        const a = i * f;
        for (let k = 0; k < d; k++) {
          const kk = node << 2;
          const v = X[a + nodes[kk]!]!;
          node = nodes[kk + 2]! + 1 - (+(v < thr[kk + 1]!) | (+(v !== v) & nodes[kk + 3]!));
        }
        out[i] += value[node]!;
      }
    }
  }
}

export interface TreeWorkerSetup {
  trees: PackedTreeArrays;
  f: number;
  wide: boolean;
  start: number;
}

export interface TreeWorkerMessage {
  X: SharedArrayBuffer;
  out: SharedArrayBuffer;
  from: number;
  to: number;
}

/**
 * A tree ensemble's predictor: walks rows on the calling thread and, for large inputs, on
 * `threads - 1` persistent workers too (kept between calls, closed after 2 s idle). The values do
 * not depend on the thread count.
 */
export class TreePredictor {
  private workers: SyncWorkers<TreeWorkerMessage> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly trees: PackedTreeArrays,
    private readonly f: number,
    /** Float64 sums (the forest's mean) or float32 steps (boosting). */
    private readonly wide: boolean,
    /** The starting value of every sum (the boosted trees' base score; 0 for the forest). */
    private readonly start: number,
  ) {}

  /** Sums over the trees for the n rows of X [n, f] (float64 when wide). */
  sums(X: Float32Array, n: number, threads: number): Float32Array | Float64Array {
    const t = Math.max(1, Math.min(threads, Math.floor(n / (PARALLEL_MIN_ROWS / 2))));
    if (t < 2 || n < PARALLEL_MIN_ROWS) {
      const out = this.wide ? new Float64Array(n) : new Float32Array(n);
      walkRows(this.trees, X, this.f, 0, n, out, this.start);
      return out;
    }
    const xs = new SharedArrayBuffer(Math.max(4, X.length * 4));
    new Float32Array(xs).set(X.subarray(0, n * this.f));
    const outBuffer = new SharedArrayBuffer(Math.max(8, n * (this.wide ? 8 : 4)));
    const out = this.wide ? new Float64Array(outBuffer) : new Float32Array(outBuffer);
    const shared = new Float32Array(xs);
    const workers = this.pool(t);
    // Contiguous ranges; the calling thread takes the first.
    const edges = Array.from({ length: t + 1 }, (_, k) => Math.round((k * n) / t));
    for (let w = 1; w < t; w++) workers.post(w - 1, { X: xs, out: outBuffer, from: edges[w]!, to: edges[w + 1]! });
    walkRows(this.trees, shared, this.f, 0, edges[1]!, out, this.start);
    workers.wait();
    return out;
  }

  private pool(threads: number): SyncWorkers<TreeWorkerMessage> {
    if (this.workers && this.workerCount < threads - 1) this.close();
    if (!this.workers) {
      const setup: TreeWorkerSetup = { trees: this.trees, f: this.f, wide: this.wide, start: this.start };
      this.workers = new SyncWorkers(
        new URL("./packed-trees-worker.js", import.meta.url),
        Array.from({ length: threads - 1 }, () => setup),
      );
      this.workerCount = threads - 1;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.close(), 2000).unref();
    return this.workers;
  }

  private workerCount = 0;

  close(): void {
    clearTimeout(this.timer);
    this.workers?.close();
    this.workers = undefined;
    this.workerCount = 0;
  }
}
