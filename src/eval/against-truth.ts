/**
 * A product against a synthetic world's truth: what only a synthetic world can tell (there is no
 * truth on real data). Shared by the demo and the benches.
 */
import { pointMetrics } from "./metrics.js";

type PointMetrics = ReturnType<typeof pointMetrics>;

/**
 * A product against a synthetic world's truth, day-major arrays of the same window: on the
 * pixel-days it reconstructed (SMAP missing, a product value and a truth), with the share of the
 * truth inside its 90 % interval; SMAP's own error on its observed days; and, given the truth's
 * frozen flag, frozen ground apart from the rest (SMAP misses frozen ground, so many gaps are days
 * unlike any the model was trained on). Shared by the demo and the benches.
 */
export function productAgainstTruth(a: { smap: Float32Array; truth: Float32Array; product: Float32Array; uncertainty: Float32Array; frozen?: Float32Array }): {
  reconstructed: { n: number } & PointMetrics;
  inside90: number;
  smapObserved: { n: number } & PointMetrics;
  frozen?: { n: number } & PointMetrics;
  elsewhere?: { n: number } & PointMetrics;
} {
  const { smap, truth, product } = a;
  const against = (ks: number[], values: Float32Array) => ({
    n: ks.length,
    ...pointMetrics(
      ks.map((k) => values[k]!),
      ks.map((k) => truth[k]!),
    ),
  });
  const gap = [...product.keys()].filter((k) => Number.isNaN(smap[k]!) && !Number.isNaN(product[k]!) && !Number.isNaN(truth[k]!));
  const observed = [...smap.keys()].filter((k) => !Number.isNaN(smap[k]!) && !Number.isNaN(truth[k]!));
  const inside90 = gap.filter((k) => Math.abs(product[k]! - truth[k]!) <= 1.645 * a.uncertainty[k]!).length / Math.max(1, gap.length);
  const frozen = a.frozen;
  return {
    reconstructed: against(gap, product),
    inside90,
    smapObserved: against(observed, smap),
    ...(frozen
      ? {
          frozen: against(
            gap.filter((k) => frozen[k]! > 0),
            product,
          ),
          elsewhere: against(
            gap.filter((k) => !(frozen[k]! > 0)),
            product,
          ),
        }
      : {}),
  };
}
