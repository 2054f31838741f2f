/**
 * Agreement metrics, pytesmo's pairwise definitions, in float64 (x = prediction, y = reference):
 *   n       number of pairs
 *   rmse    sqrt(mean((x - y)^2))                                    (pytesmo rmsd, ddof 0)
 *   ubrmse  sqrt(mean(((x - mean x) - (y - mean y))^2))              (pytesmo ubrmsd)
 *   bias    mean(x) - mean(y)
 *   r       sum(dx dy) / sqrt(sum(dx^2) sum(dy^2))                   (Pearson)
 *   mae     mean(|x - y|)                                            (pytesmo aad)
 * 95 % percentile-bootstrap confidence intervals: B resamples of the n pairs with replacement
 * (all metrics of a resample share its indices), type-7 quantiles alpha/2 and 1 - alpha/2; no
 * CI below 100 pairs, as pytesmo. Seeded, so a run reproduces its CIs exactly; another
 * implementation agrees to Monte-Carlo error only.
 *
 * With `clusters` (e.g. each pair's day) the bootstrap resamples whole clusters instead (a
 * cluster bootstrap): the errors of one day's hidden pixels share that day's weather and gaps, and
 * on a real cube of 60 days three days held half of a model's squared test error, so resampling
 * pairs as if independent gave CIs several times too narrow. With one pair per cluster it is the
 * pair bootstrap exactly (same draws).
 */
import { Rng } from "../util/random.js";
import { quantileSorted } from "../util/stats.js";

export const METRIC_NAMES = ["rmse", "ubrmse", "bias", "r", "mae"] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface MetricValue {
  value: number;
  ciLow: number;
  ciHigh: number;
}

export type Metrics = { n: number } & Record<MetricName, MetricValue>;

type Values = ArrayLike<number>;

/** All five metrics of pairs (pred[i], ref[i]) selected by `index` (default: all). */
export function pointMetrics(pred: Values, ref: Values, index?: ArrayLike<number>): Record<MetricName, number> {
  const n = index ? index.length : pred.length;
  let sx = 0;
  let sy = 0;
  for (let k = 0; k < n; k++) {
    const i = index ? index[k]! : k;
    sx += pred[i]!;
    sy += ref[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let sd2 = 0;
  let sad = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  let sub = 0;
  for (let k = 0; k < n; k++) {
    const i = index ? index[k]! : k;
    const x = pred[i]!;
    const y = ref[i]!;
    const d = x - y;
    sd2 += d * d;
    sad += Math.abs(d);
    const ax = x - mx;
    const ay = y - my;
    sxx += ax * ax;
    syy += ay * ay;
    sxy += ax * ay;
    sub += (ax - ay) ** 2;
  }
  const den = Math.sqrt(sxx * syy);
  return { rmse: Math.sqrt(sd2 / n), ubrmse: Math.sqrt(sub / n), bias: mx - my, r: den > 0 ? sxy / den : NaN, mae: sad / n };
}

export interface EvaluateOptions {
  nBoot?: number;
  alpha?: number;
  seed?: number;
  minN?: number;
  /** A cluster label per pair (e.g. its day): resample whole clusters. */
  clusters?: ArrayLike<number>;
}

/**
 * A bootstrap resampler: each call fills and returns the row indices of one resample (pairs
 * drawn with replacement, or whole clusters drawn with replacement, in their first-seen order).
 */
export function resampler(n: number, rng: Rng, clusters?: ArrayLike<number>): () => Int32Array {
  if (!clusters) {
    const index = new Int32Array(n);
    return () => {
      for (let k = 0; k < n; k++) index[k] = rng.int(n);
      return index;
    };
  }
  if (clusters.length !== n) throw new Error(`resampler: ${clusters.length} cluster labels for ${n} pairs`);
  const order = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = clusters[i]!;
    const rows = order.get(c);
    if (rows) rows.push(i);
    else order.set(c, [i]);
  }
  const members = [...order.values()];
  return () => {
    const out: number[] = [];
    for (let c = 0; c < members.length; c++) for (const i of members[rng.int(members.length)]!) out.push(i);
    return Int32Array.from(out);
  };
}

/** Metrics with percentile-bootstrap CIs. */
export function evaluate(pred: Values, ref: Values, o: EvaluateOptions = {}): Metrics {
  if (pred.length !== ref.length) throw new Error(`evaluate: ${pred.length} predictions, ${ref.length} references`);
  const n = pred.length;
  const point = pointMetrics(pred, ref);
  const out = { n } as Metrics;
  for (const k of METRIC_NAMES) out[k] = { value: point[k], ciLow: NaN, ciHigh: NaN };
  const nBoot = o.nBoot ?? 1000;
  if (n < (o.minN ?? 100) || nBoot <= 0) return out;
  const draw = resampler(n, new Rng(o.seed ?? 0), o.clusters);
  const samples = Object.fromEntries(METRIC_NAMES.map((k) => [k, new Float64Array(nBoot)])) as Record<MetricName, Float64Array>;
  for (let b = 0; b < nBoot; b++) {
    const m = pointMetrics(pred, ref, draw());
    for (const k of METRIC_NAMES) samples[k][b] = m[k];
  }
  const alpha = o.alpha ?? 0.05;
  for (const k of METRIC_NAMES) {
    const sorted = samples[k].sort();
    out[k].ciLow = quantileSorted(sorted, alpha / 2);
    out[k].ciHigh = quantileSorted(sorted, 1 - alpha / 2);
  }
  return out;
}
