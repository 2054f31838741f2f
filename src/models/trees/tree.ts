/**
 * Regression trees in flat arrays (leaf: feature = -1), the representation the boosted trees
 * and the random forest share: a builder that grows one node by node, and its JSON form.
 */
export interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  /** The split bin: bin <= splitBin goes left. */
  splitBin: Int32Array;
  defaultLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  value: Float32Array;
}

export class TreeBuilder {
  private readonly feature: number[] = [];
  private readonly threshold: number[] = [];
  private readonly splitBin: number[] = [];
  private readonly defaultLeft: number[] = [];
  private readonly left: number[] = [];
  private readonly right: number[] = [];
  private readonly value: number[] = [];

  /** A new leaf with value 0; returns its index. */
  node(): number {
    this.feature.push(-1);
    this.threshold.push(0);
    this.splitBin.push(-1);
    this.defaultLeft.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.value.push(0);
    return this.feature.length - 1;
  }

  setValue(node: number, value: number): void {
    this.value[node] = value;
  }

  /** Turns a node into a split (x < threshold, or bin <= bin, goes left); returns the two new children. */
  split(node: number, feature: number, bin: number, threshold: number, defaultLeft: boolean): [number, number] {
    this.feature[node] = feature;
    this.splitBin[node] = bin;
    this.threshold[node] = threshold;
    this.defaultLeft[node] = defaultLeft ? 1 : 0;
    const l = this.node();
    const r = this.node();
    this.left[node] = l;
    this.right[node] = r;
    return [l, r];
  }

  finish(): Tree {
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      splitBin: Int32Array.from(this.splitBin),
      defaultLeft: Uint8Array.from(this.defaultLeft),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      value: Float32Array.from(this.value),
    };
  }
}

/** The leaf value of the row at x[offset...] (x < threshold goes left, missing the default way, as XGBoost). */
export function treeValue(t: Tree, x: Float32Array, offset: number): number {
  let node = 0;
  while (t.feature[node]! >= 0) {
    const v = x[offset + t.feature[node]!]!;
    node = v !== v ? (t.defaultLeft[node] ? t.left[node]! : t.right[node]!) : v < t.threshold[node]! ? t.left[node]! : t.right[node]!;
  }
  return t.value[node]!;
}

export function treeToJson(t: Tree): Record<string, number[]> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Array.from(v as ArrayLike<number>)]));
}

export function treeFromJson(t: Record<string, number[]>): Tree {
  return {
    feature: Int32Array.from(t.feature!),
    threshold: Float64Array.from(t.threshold!),
    splitBin: Int32Array.from(t.splitBin!),
    defaultLeft: Uint8Array.from(t.defaultLeft!),
    left: Int32Array.from(t.left!),
    right: Int32Array.from(t.right!),
    value: Float32Array.from(t.value!),
  };
}
