/**
 * Fast prediction for tree ensembles (the boosted trees and the random forest): every tree packed
 * into one node table in shared memory, rows walked in blocks (a block of rows stays in cache
 * while every tree walks it), without data-dependent branches, and large inputs shared out to
 * persistent worker threads, each taking a contiguous range of rows. Thresholds are stored as
 * float32, which is exact: every split threshold is a float32 value (the bin edges), and the
 * inputs are float32. The values equal the one-row-at-a-time walk (treeValue) bit for bit in the
 * same summation order (tested).
 *
 * The walk runs in WebAssembly (wasm/walk.ts, the twin of walkRows: about 1.2-1.3x faster, it
 * skips the bounds check of every typed-array access) on a shared memory that holds the node
 * table and each call's rows, so the workers read them in place; SMAPFILL_KERNELS=typescript, or
 * a module that does not load, walks in TypeScript. Both give the same sums (tested).
 */
import { fileURLToPath } from "node:url";
import { claimBlocks, SyncWorkers } from "../../util/sync-workers.js";
import { growTo, kernelImports, lazyKernelModule, newSharedMemory } from "../../util/wasm-memory.js";
import type { Tree } from "./tree.js";

/**
 * Rows per block: the block's rows stay in the caches (4096 x ~60 features, ~1 MB in L2) while
 * every tree walks them, one tree at a time (its nodes in L1). Measured here: 81k rows/s against
 * 46k with blocks of 1024 and 32k with blocks of 64.
 */
const BLOCK = 4096;
/** Below this many rows the hand-off to threads costs more than it saves. */
const PARALLEL_MIN_ROWS = 4096;

/** The threads that walk n rows: up to `threads`, one per PARALLEL_MIN_ROWS / 2 rows; one below PARALLEL_MIN_ROWS. */
function threadsFor(n: number, threads: number): number {
  return n < PARALLEL_MIN_ROWS ? 1 : Math.max(1, Math.min(threads, Math.floor(n / (PARALLEL_MIN_ROWS / 2))));
}
/** The most input floats one part of a WebAssembly call copies into its memory (64 MiB); larger calls go in parts. */
let WASM_CALL_FLOATS = 1 << 24;
/** Tests: smaller parts, to cover a call in several. */
export function setWasmCallFloats(floats: number): void {
  WASM_CALL_FLOATS = floats;
}

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

/** One level down: left + 1 - goesLeft, goesLeft = x < threshold, or missing and missing goes left. */
function step(nodes: Int32Array, thr: Float32Array, X: Float32Array, row: number, node: number): number {
  const k = node << 2;
  const v = X[row + nodes[k]!]!;
  return nodes[k + 2]! + 1 - (+(v < thr[k + 1]!) | (+(v !== v) & nodes[k + 3]!));
}

/**
 * out[i] = start + the sum over trees of the leaf value of row i, for rows [from, to) of the
 * row-major X [., f]: in float64 when out is a Float64Array (the forest's mean), else rounded to
 * float32 at every tree, as XGBoost accumulates. Eight rows walk each tree together.
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
      for (; i + 8 <= b1; i += 8) {
        // Eight rows in flight: their node loads overlap instead of waiting on each other.
        let n0 = root;
        let n1 = root;
        let n2 = root;
        let n3 = root;
        let n4 = root;
        let n5 = root;
        let n6 = root;
        let n7 = root;
        const a0 = i * f;
        for (let k = 0; k < d; k++) {
          const k0 = n0 << 2;
          const k1 = n1 << 2;
          const k2 = n2 << 2;
          const k3 = n3 << 2;
          const k4 = n4 << 2;
          const k5 = n5 << 2;
          const k6 = n6 << 2;
          const k7 = n7 << 2;
          const v0 = X[a0 + nodes[k0]!]!;
          const v1 = X[a0 + 1 * f + nodes[k1]!]!;
          const v2 = X[a0 + 2 * f + nodes[k2]!]!;
          const v3 = X[a0 + 3 * f + nodes[k3]!]!;
          const v4 = X[a0 + 4 * f + nodes[k4]!]!;
          const v5 = X[a0 + 5 * f + nodes[k5]!]!;
          const v6 = X[a0 + 6 * f + nodes[k6]!]!;
          const v7 = X[a0 + 7 * f + nodes[k7]!]!;
          n0 = nodes[k0 + 2]! + 1 - (+(v0 < thr[k0 + 1]!) | (+(v0 !== v0) & nodes[k0 + 3]!));
          n1 = nodes[k1 + 2]! + 1 - (+(v1 < thr[k1 + 1]!) | (+(v1 !== v1) & nodes[k1 + 3]!));
          n2 = nodes[k2 + 2]! + 1 - (+(v2 < thr[k2 + 1]!) | (+(v2 !== v2) & nodes[k2 + 3]!));
          n3 = nodes[k3 + 2]! + 1 - (+(v3 < thr[k3 + 1]!) | (+(v3 !== v3) & nodes[k3 + 3]!));
          n4 = nodes[k4 + 2]! + 1 - (+(v4 < thr[k4 + 1]!) | (+(v4 !== v4) & nodes[k4 + 3]!));
          n5 = nodes[k5 + 2]! + 1 - (+(v5 < thr[k5 + 1]!) | (+(v5 !== v5) & nodes[k5 + 3]!));
          n6 = nodes[k6 + 2]! + 1 - (+(v6 < thr[k6 + 1]!) | (+(v6 !== v6) & nodes[k6 + 3]!));
          n7 = nodes[k7 + 2]! + 1 - (+(v7 < thr[k7 + 1]!) | (+(v7 !== v7) & nodes[k7 + 3]!));
        }
        out[i] += value[n0]!;
        out[i + 1] += value[n1]!;
        out[i + 2] += value[n2]!;
        out[i + 3] += value[n3]!;
        out[i + 4] += value[n4]!;
        out[i + 5] += value[n5]!;
        out[i + 6] += value[n6]!;
        out[i + 7] += value[n7]!;
      }
      for (; i < b1; i++) {
        let node = root;
        for (let k = 0; k < d; k++) node = step(nodes, thr, X, i * f, node);
        out[i] += value[node]!;
      }
    }
  }
}

const compiledWalk = lazyKernelModule(fileURLToPath(new URL("../../../wasm/tree-kernels.wasm", import.meta.url)));

/** Whether the walk runs in WebAssembly: its module loads, and SMAPFILL_KERNELS does not ask for typescript. */
export function useWasmWalk(): boolean {
  return process.env.SMAPFILL_KERNELS !== "typescript" && compiledWalk() !== null;
}

type WasmWalk = (
  nodes: number,
  value: number,
  roots: number,
  depths: number,
  T: number,
  X: number,
  f: number,
  from: number,
  to: number,
  out: number,
  block: number,
  wide: number,
) => void;

/**
 * The WebAssembly walk on a shared memory: the node table at fixed offsets, then one call's rows
 * and sums (one call in flight at a time, as TreePredictor.begin). Worker threads instantiate
 * the module on the same memory (workerWalk).
 */
export interface WalkLayout {
  memory: WebAssembly.Memory;
  /** Byte offsets of the node table's arrays, and of the first free byte after them. */
  nodes: number;
  value: number;
  roots: number;
  depths: number;
  T: number;
  top: number;
}

function walkLayout(p: PackedTreeArrays): WalkLayout {
  const memory = newSharedMemory(1);
  let top = 64; // byte 0 stays unused
  const put = (a: Int32Array | Float32Array) => {
    const at = top;
    top = (at + a.byteLength + 63) & ~63;
    growTo(memory, top, (gib) => `tree predictor: the trees need more than 4 GiB (${gib} GiB)`);
    new Uint8Array(memory.buffer, at, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return at;
  };
  return { memory, nodes: put(p.nodes), value: put(p.value), roots: put(p.roots), depths: put(p.depths), T: p.roots.length, top };
}

/** The walk of rows [from, to) at byte offsets X and out of the layout's memory. */
function wasmWalk(layout: WalkLayout): (X: number, f: number, from: number, to: number, out: number, wide: boolean) => void {
  const walk = new WebAssembly.Instance(compiledWalk()!, kernelImports(layout.memory)).exports.walk as unknown as WasmWalk;
  const { nodes, value, roots, depths, T } = layout;
  return (X, f, from, to, out, wide) => walk(nodes, value, roots, depths, T, X, f, from, to, out, BLOCK, wide ? 1 : 0);
}

export interface TreeWorkerSetup {
  trees: PackedTreeArrays;
  f: number;
  wide: boolean;
  start: number;
  /** The WebAssembly walk's memory and node table (undefined: the TypeScript walk). */
  wasm?: WalkLayout;
}

export interface TreeWorkerMessage {
  /** The rows and sums: SharedArrayBuffers (TypeScript walk), or byte offsets in the wasm memory. */
  X: SharedArrayBuffer | number;
  out: SharedArrayBuffer | number;
  /** Blocks of `chunk` rows are claimed from this counter until n rows are done. */
  counter: SharedArrayBuffer;
  n: number;
  chunk: number;
}

/** Walks claimed blocks of rows until none is left (every thread, the calling one too). */
export function walkClaimed(
  p: PackedTreeArrays,
  X: Float32Array,
  f: number,
  m: { counter: SharedArrayBuffer; n: number; chunk: number },
  out: Float32Array | Float64Array,
  start: number,
): void {
  claimBlocks(m, (from, to) => walkRows(p, X, f, from, to, out, start));
}

/** A worker's walk of one message's claimed blocks (the layout's instance made once per worker). */
export function workerWalk(setup: TreeWorkerSetup): (m: TreeWorkerMessage) => void {
  if (setup.wasm) {
    const walk = wasmWalk(setup.wasm);
    return (m) => claimBlocks(m, (from, to) => walk(m.X as number, setup.f, from, to, m.out as number, setup.wide));
  }
  return (m) => {
    const out = setup.wide ? new Float64Array(m.out as SharedArrayBuffer) : new Float32Array(m.out as SharedArrayBuffer);
    walkClaimed(setup.trees, new Float32Array(m.X as SharedArrayBuffer), setup.f, m, out, setup.start);
  };
}

/**
 * A tree ensemble's predictor: walks rows on the calling thread and, for large inputs, on
 * `threads - 1` persistent workers too (kept between calls, closed after 2 s idle). The values do
 * not depend on the thread count, nor on the kernels.
 */
export class TreePredictor {
  private workers: SyncWorkers<TreeWorkerMessage> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The WebAssembly walk (undefined: TypeScript). */
  private readonly wasm: { layout: WalkLayout; walk: ReturnType<typeof wasmWalk> } | undefined;

  constructor(
    readonly trees: PackedTreeArrays,
    private readonly f: number,
    /** Float64 sums (the forest's mean) or float32 steps (boosting). */
    private readonly wide: boolean,
    /** The starting value of every sum (the boosted trees' base score; 0 for the forest). */
    private readonly start: number,
    kernels: "wasm" | "typescript" = useWasmWalk() ? "wasm" : "typescript",
  ) {
    if (kernels === "wasm") {
      const layout = walkLayout(trees);
      this.wasm = { layout, walk: wasmWalk(layout) };
    }
  }

  /** Which walk this predictor runs. */
  get kernels(): "wasm" | "typescript" {
    return this.wasm ? "wasm" : "typescript";
  }

  /** Sums over the trees for the n rows of X [n, f] (float64 when wide). */
  sums(X: Float32Array, n: number, threads: number): Float32Array | Float64Array {
    return this.begin(X, n, threads)();
  }

  /**
   * Starts the sums on the workers and returns the function that finishes them: the calling
   * thread is free in between (to build the next rows), then joins the walk on the blocks still
   * unclaimed, so no core idles and none is oversubscribed. One call in flight at a time.
   */
  begin(X: Float32Array, n: number, threads: number): () => Float32Array | Float64Array {
    if (this.wasm) return this.beginWasm(X, n, threads);
    const t = threadsFor(n, threads);
    if (t < 2) {
      return () => {
        const out = this.wide ? new Float64Array(n) : new Float32Array(n);
        walkRows(this.trees, X, this.f, 0, n, out, this.start);
        return out;
      };
    }
    const xs = new SharedArrayBuffer(Math.max(4, X.length * 4));
    new Float32Array(xs).set(X.subarray(0, n * this.f));
    const outBuffer = new SharedArrayBuffer(Math.max(8, n * (this.wide ? 8 : 4)));
    const out = this.wide ? new Float64Array(outBuffer) : new Float32Array(outBuffer);
    const shared = new Float32Array(xs);
    const workers = this.pool(t);
    // Blocks claimed from a shared counter: a slower or later thread simply takes fewer.
    const claim = { counter: new SharedArrayBuffer(4), n, chunk: BLOCK };
    for (let w = 1; w < t; w++) workers.post(w - 1, { X: xs, out: outBuffer, ...claim });
    return () => {
      walkClaimed(this.trees, shared, this.f, claim, out, this.start);
      workers.wait();
      return out;
    };
  }

  /**
   * begin() in WebAssembly: the rows copied into the memory after the node table, the sums after
   * them, WASM_CALL_FLOATS input floats at a time (the memory keeps its largest size while the predictor
   * lives, so a call over millions of rows must not make it that large). The first part starts
   * at once; the others run when the call is finished.
   */
  private beginWasm(X: Float32Array, n: number, threads: number): () => Float32Array | Float64Array {
    const part = Math.max(BLOCK, Math.floor(WASM_CALL_FLOATS / this.f / BLOCK) * BLOCK);
    const first = this.startPart(X, 0, Math.min(n, part), threads);
    return () => {
      const out = this.wide ? new Float64Array(n) : new Float32Array(n);
      out.set(first());
      for (let r0 = part; r0 < n; r0 += part) out.set(this.startPart(X, r0, Math.min(n, r0 + part), threads)(), r0);
      return out;
    };
  }

  /** Rows [r0, r1) of X in the WebAssembly memory, started on the workers; the finishing function returns a view of their sums. */
  private startPart(X: Float32Array, r0: number, r1: number, maxThreads: number): () => Float32Array | Float64Array {
    const { layout, walk } = this.wasm!;
    const n = r1 - r0;
    const xAt = layout.top;
    const outAt = xAt + ((n * this.f * 4 + 63) & ~63);
    growTo(layout.memory, outAt + n * 8, (gib) => `tree predictor: ${n} rows need more than 4 GiB (${gib} GiB)`);
    const buffer = layout.memory.buffer as unknown as SharedArrayBuffer;
    new Float32Array(buffer, xAt, n * this.f).set(X.subarray(r0 * this.f, r1 * this.f));
    const out = this.wide ? new Float64Array(buffer, outAt, n) : new Float32Array(buffer, outAt, n);
    out.fill(this.start);
    const threads = threadsFor(n, maxThreads);
    const claim = { counter: new SharedArrayBuffer(4), n, chunk: BLOCK };
    const workers = threads > 1 ? this.pool(threads) : undefined;
    for (let w = 1; w < threads; w++) workers!.post(w - 1, { X: xAt, out: outAt, ...claim });
    return () => {
      claimBlocks(claim, (from, to) => walk(xAt, this.f, from, to, outAt, this.wide));
      workers?.wait();
      return out;
    };
  }

  private pool(threads: number): SyncWorkers<TreeWorkerMessage> {
    if (this.workers && this.workerCount < threads - 1) this.close();
    if (!this.workers) {
      const setup: TreeWorkerSetup = { trees: this.trees, f: this.f, wide: this.wide, start: this.start, wasm: this.wasm?.layout };
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
