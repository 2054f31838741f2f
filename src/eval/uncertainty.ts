/**
 * How well an uncertainty holds: the share of reference values inside the 90 % interval
 * (+-1.645 sigma of the residual model, models/uncertainty.ts), overall and per group (gap kind,
 * distance to the nearest retrieval, ...), and the interval (Winkler) score, which also charges
 * the interval's width, so that a calibrated but needlessly wide sigma is not rewarded.
 */
import { Z90 } from "../models/uncertainty.js";

export { DISTANCE_BINS, DISTANCE_LABELS, distanceBins, ResidualModel, tercile, type ResidualModelState } from "../models/uncertainty.js";

export interface CoverageRow {
  group: string;
  n: number;
  /** Share of the reference values inside the 90 % interval (+-1.645 sigma). */
  coverage90: number;
  meanSigma: number;
  rmse: number;
  /**
   * Mean interval (Winkler) score of the 90 % interval [l, u] = est -+ 1.645 sigma, m3/m3:
   * (u - l) + (2 / 0.1) (l - y) where y < l, + (2 / 0.1) (y - u) where y > u (Gneiting and
   * Raftery 2007); lower is better, the width alone where every value is inside.
   */
  winkler90: number;
}

/** The interval score of one value against est -+ 1.645 sigma (alpha 0.1). */
export function winkler90(est: number, y: number, sigma: number): number {
  const half = Z90 * sigma;
  const [lo, hi] = [est - half, est + half];
  return hi - lo + (y < lo ? 20 * (lo - y) : 0) + (y > hi ? 20 * (y - hi) : 0);
}

/** Coverage of the 90 % interval, overall and per group label. */
export function coverageTable(pred: Float32Array, y: Float32Array, sigma: Float32Array, labels: string[] | undefined, all = "all"): CoverageRow[] {
  const groups = new Map<string, { n: number; inside: number; sigma: number; se: number; winkler: number }>();
  const add = (g: string, i: number) => {
    const e = groups.get(g) ?? { n: 0, inside: 0, sigma: 0, se: 0, winkler: 0 };
    const r = pred[i]! - y[i]!;
    e.n++;
    e.inside += Math.abs(r) <= Z90 * sigma[i]! ? 1 : 0;
    e.sigma += sigma[i]!;
    e.se += r * r;
    e.winkler += winkler90(pred[i]!, y[i]!, sigma[i]!);
    groups.set(g, e);
  };
  for (let i = 0; i < y.length; i++) {
    add(all, i);
    if (labels) add(labels[i]!, i);
  }
  return [...groups].map(([group, e]) => ({
    group,
    n: e.n,
    coverage90: e.inside / e.n,
    meanSigma: e.sigma / e.n,
    rmse: Math.sqrt(e.se / e.n),
    winkler90: e.winkler / e.n,
  }));
}
