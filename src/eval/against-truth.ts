/**
 * A product against a synthetic world's truth: what only a synthetic world can tell (there is no
 * truth on real data). Shared by the demo and the benches.
 */
import { pointMetrics } from "./metrics.js";

type PointMetrics = ReturnType<typeof pointMetrics>;

/**
 * A product against a synthetic world's truth, day-major arrays of the same window: on the
 * pixel-days it reconstructed (SMAP missing, a product value and a truth), with the share of the
 * truth inside its 90 % interval; SMAP's own error on its observed days; and frozen ground apart
 * from the rest (SMAP misses frozen ground, so many gaps are days unlike any the model was
 * trained on): the product's own frozen days where its source flags are given (`frozenFlag`:
 * what the product calls frozen, from SMAP's flags), else the truth's frozen flag.
 */
export function productAgainstTruth(a: {
  smap: Float32Array;
  truth: Float32Array;
  product: Float32Array;
  uncertainty: Float32Array;
  frozen?: Float32Array;
  source?: ArrayLike<number>;
  frozenFlag?: number;
}): {
  reconstructed: Scored;
  inside90: number;
  smapObserved: { n: number } & PointMetrics;
  frozen?: Scored;
  elsewhere?: Scored;
} {
  const { smap, truth, product } = a;
  const inside = (ks: number[]) => ks.filter((k) => Math.abs(product[k]! - truth[k]!) <= 1.645 * a.uncertainty[k]!).length / Math.max(1, ks.length);
  const against = (ks: number[], values: Float32Array) => ({
    n: ks.length,
    ...pointMetrics(
      ks.map((k) => values[k]!),
      ks.map((k) => truth[k]!),
    ),
  });
  const scored = (ks: number[]): Scored => ({ ...against(ks, product), inside90: inside(ks) });
  const gap = [...product.keys()].filter((k) => Number.isNaN(smap[k]!) && !Number.isNaN(product[k]!) && !Number.isNaN(truth[k]!));
  const observed = [...smap.keys()].filter((k) => !Number.isNaN(smap[k]!) && !Number.isNaN(truth[k]!));
  const isFrozen =
    a.source && a.frozenFlag !== undefined ? (k: number) => a.source![k] === a.frozenFlag : a.frozen ? (k: number) => a.frozen![k]! > 0 : undefined;
  return {
    reconstructed: scored(gap),
    inside90: inside(gap),
    smapObserved: against(observed, smap),
    ...(isFrozen ? { frozen: scored(gap.filter(isFrozen)), elsewhere: scored(gap.filter((k) => !isFrozen(k))) } : {}),
  };
}

type Scored = { n: number; inside90: number } & PointMetrics;
