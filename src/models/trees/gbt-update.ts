/**
 * The prediction updates after each boosted tree, shared out over the threads as units that
 * every thread claims from the shared counter (as a level's work): the sampled rows add the
 * value of the leaf the partition put them in, the other training rows and the validation rows
 * walk the tree. Each training row's gradient for the next round is written with its
 * prediction. Every row is updated by exactly one unit, so the result does not depend on who
 * runs which.
 */
import { MISSING_BIN } from "./gbt-histogram.js";
import { treeValue, type Tree } from "./tree.js";

export interface UpdateData {
  n: number;
  f: number;
  /** Training bins, feature-major: bins[j * n + i]. */
  bins: Uint8Array;
  y: Float32Array;
  pred: Float64Array;
  /** Gradients, written for the next round. */
  g: Float64Array;
  /** The sampled rows as the partitions left them: each leaf's rows a contiguous run. */
  idx: Int32Array;
  /** The training rows not sampled this round. */
  others: Int32Array;
  Xva: Float32Array;
  predVa: Float64Array;
  claim: Int32Array;
}

/** Numbers per unit: kind, from, to. */
export const UNIT_WIDTH = 3;
/** Unit kinds: leaves[from..to) (their runs of idx), others[from..to), validation rows from..to-1. */
export const LEAF_RUNS = 0;
export const OTHER_ROWS = 1;
export const VALIDATION_ROWS = 2;
/** Numbers per leaf in UpdateTask.leaves: start, end (a run of idx), value. */
export const LEAF_WIDTH = 3;

export interface UpdateTask {
  tree: Tree;
  leaves: Float64Array;
  units: Int32Array;
}

/** Claims and runs update units until none is left (every thread of the round calls this). */
export function updatePredictions(d: UpdateData, t: UpdateTask): void {
  const count = t.units.length / UNIT_WIDTH;
  for (let u = Atomics.add(d.claim, 0, 1); u < count; u = Atomics.add(d.claim, 0, 1)) {
    const [kind, from, to] = [t.units[u * UNIT_WIDTH]!, t.units[u * UNIT_WIDTH + 1]!, t.units[u * UNIT_WIDTH + 2]!];
    if (kind === LEAF_RUNS) addLeafValues(d, t.leaves, from, to);
    else if (kind === OTHER_ROWS) walkOthers(d, t.tree, from, to);
    else for (let i = from; i < to; i++) d.predVa[i]! += treeValue(t.tree, d.Xva, i * d.f);
  }
}

function addLeafValues(d: UpdateData, leaves: Float64Array, from: number, to: number): void {
  const { idx, pred, g, y } = d;
  for (let k = from; k < to; k++) {
    const value = leaves[k * LEAF_WIDTH + 2]!;
    for (let q = leaves[k * LEAF_WIDTH]!, end = leaves[k * LEAF_WIDTH + 1]!; q < end; q++) {
      const i = idx[q]!;
      const p = pred[i]! + value;
      pred[i] = p;
      g[i] = p - y[i]!;
    }
  }
}

function walkOthers(d: UpdateData, t: Tree, from: number, to: number): void {
  const { others, bins, n, pred, g, y } = d;
  for (let k = from; k < to; k++) {
    const i = others[k]!;
    let node = 0;
    while (t.feature[node]! >= 0) {
      const b = bins[t.feature[node]! * n + i]!;
      node = b === MISSING_BIN ? (t.defaultLeft[node] ? t.left[node]! : t.right[node]!) : b <= t.splitBin[node]! ? t.left[node]! : t.right[node]!;
    }
    const p = pred[i]! + t.value[node]!;
    pred[i] = p;
    g[i] = p - y[i]!;
  }
}
