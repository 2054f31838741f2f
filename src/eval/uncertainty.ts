/**
 * How well an uncertainty holds: the share of reference values inside the 90 % interval
 * (+-1.645 sigma of the residual model, models/uncertainty.ts), overall and per group (gap kind,
 * distance to the nearest retrieval, ...).
 */
import { Z90 } from "../models/uncertainty.js";

export { DISTANCE_BINS, DISTANCE_LABELS, distanceBins, ResidualModel, type ResidualModelState } from "../models/uncertainty.js";

export interface CoverageRow {
  group: string;
  n: number;
  /** Share of the reference values inside the 90 % interval (+-1.645 sigma). */
  coverage90: number;
  meanSigma: number;
  rmse: number;
}

/** Coverage of the 90 % interval, overall and per group label. */
export function coverageTable(pred: Float32Array, y: Float32Array, sigma: Float32Array, labels: string[] | undefined, all = "all"): CoverageRow[] {
  const groups = new Map<string, { n: number; inside: number; sigma: number; se: number }>();
  const add = (g: string, i: number) => {
    const e = groups.get(g) ?? { n: 0, inside: 0, sigma: 0, se: 0 };
    const r = pred[i]! - y[i]!;
    e.n++;
    e.inside += Math.abs(r) <= Z90 * sigma[i]! ? 1 : 0;
    e.sigma += sigma[i]!;
    e.se += r * r;
    groups.set(g, e);
  };
  for (let i = 0; i < y.length; i++) {
    add(all, i);
    if (labels) add(labels[i]!, i);
  }
  return [...groups].map(([group, e]) => ({ group, n: e.n, coverage90: e.inside / e.n, meanSigma: e.sigma / e.n, rmse: Math.sqrt(e.se / e.n) }));
}
