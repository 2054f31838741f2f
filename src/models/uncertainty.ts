/**
 * Per-value uncertainty of any model: a residual model fitted on gaps held out inside the
 * training data (never the test rows). The error of a filled value grows with the distance to
 * the pixel's nearest SMAP retrieval (a day inside a long run is harder than a day between two
 * retrievals) and changes with the season (frozen, monsoon), so the residuals are binned by
 * distance (1, 2, 3, 4-5, 6-9, 10-19, 20+ days, or no retrieval at all) and season (DJF, MAM,
 * JJA, SON); in each bin, the 90 % quantile of the absolute residual q90 is kept, and the
 * uncertainty is sigma = q90 / 1.645: one standard deviation where the errors are Gaussian, and
 * in any case a value whose +-1.645 sigma interval holds 90 % of the held-out residuals of its
 * bin. Bins with fewer than MIN_BIN residuals fall back to the distance bin over all seasons,
 * then to all residuals. Fitted on a model's calibration rows when it is trained (models/fit.ts)
 * and saved beside it (uncertainty.json); calibration is measured on the test gaps (evaluate):
 * the share of hidden SMAP values inside +-1.645 sigma should be 85-95 %.
 *
 * A model whose members can disagree (the ensemble: Regressor.spread) adds its spread: the
 * held-out rows are cut in terciles of |member difference|, and in each the binned sigma is
 * scaled so that +-1.645 sigma holds 90 % of that tercile's residuals. On the Pakistan January
 * cube the top tercile's errors are 1.5 times the bottom's and the binned sigma alone covered
 * 82 % there and 93 % in the bottom one.
 */
import { SEASONS, seasonOf } from "../features/calendar.js";
import type { FeatureSchema } from "../features/schema.js";
import { SmapfillError } from "../util/errors.js";
import { quantileSorted } from "../util/stats.js";

/** Upper bounds (inclusive, days) of the distance bins; the last bin is "further, or none". */
export const DISTANCE_BINS = [1, 2, 3, 5, 9, 19] as const;
export const DISTANCE_LABELS = ["1 d", "2 d", "3 d", "4-5 d", "6-9 d", "10-19 d", ">= 20 d or none"] as const;
export { SEASONS, seasonOf };
const MIN_BIN = 30;
/** The 90 % interval is +-Z90 sigma. */
export const Z90 = 1.6448536269514722;

const METHOD = "residual quantile by distance to the nearest retrieval and season";
const SPREAD_METHOD = `${METHOD}, scaled by the ensemble members' spread (terciles)`;

export interface ResidualModelState {
  method: typeof METHOD | typeof SPREAD_METHOD;
  /** q90 of |residual| per [distance bin][season] (NaN: too few residuals there). */
  q90: number[][];
  /** Per distance bin over all seasons. */
  q90Distance: number[];
  q90All: number;
  counts: number[][];
  /** With a spread: the tercile edges of the held-out rows' spread and each tercile's scale. */
  spreadEdges?: [number, number];
  spreadScale?: [number, number, number];
}

/** The columns the residual model reads: the context terms and the calendar terms. */
function columns(schema: Pick<FeatureSchema, "names">): { prev: number; next: number; sin: number; cos: number } {
  const at = (name: string) => schema.names.indexOf(name);
  const c = { prev: at("ts_prev_gap"), next: at("ts_next_gap"), sin: at("doy_sin"), cos: at("doy_cos") };
  if (c.sin < 0 || c.cos < 0) throw new SmapfillError("the features lack doy_sin/doy_cos", { hint: "The residual model needs the calendar terms" });
  return c;
}

/** Distance bin of each row: days to the nearest SMAP retrieval of its pixel (the context terms). */
export function distanceBins(X: Float32Array, n: number, schema: Pick<FeatureSchema, "names">): Uint8Array {
  const f = schema.names.length;
  const { prev, next } = columns(schema);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = prev >= 0 ? X[i * f + prev]! : NaN;
    const b = next >= 0 ? X[i * f + next]! : NaN;
    const d = Math.min(Number.isNaN(a) ? Infinity : a, Number.isNaN(b) ? Infinity : b);
    let bin = DISTANCE_BINS.findIndex((hi) => d <= hi);
    if (bin < 0) bin = DISTANCE_BINS.length;
    out[i] = bin;
  }
  return out;
}

/** Season of each row (0 DJF .. 3 SON) from its calendar terms. */
export function seasons(X: Float32Array, n: number, schema: Pick<FeatureSchema, "names">): Uint8Array {
  const f = schema.names.length;
  const { sin, cos } = columns(schema);
  return Uint8Array.from({ length: n }, (_, i) => seasonOf(X[i * f + sin]!, X[i * f + cos]!));
}

function quantile90(values: number[]): number {
  return values.length ? quantileSorted(Float64Array.from(values).sort(), 0.9) : NaN;
}

const tercile = (v: number, edges: [number, number]) => (v < edges[0] ? 0 : v < edges[1] ? 1 : 2);

/** Bins without enough residuals are NaN, or null once the state went through JSON. */
const usable = (v: number | null | undefined): v is number => typeof v === "number" && Number.isFinite(v);

export class ResidualModel {
  constructor(readonly state: ResidualModelState) {}

  /** Fits the bins on held-out rows: their predictions, targets and features. */
  static fit(pred: Float32Array, y: Float32Array, X: Float32Array, n: number, schema: Pick<FeatureSchema, "names">, spread?: Float32Array): ResidualModel {
    if (n < MIN_BIN) throw new SmapfillError(`${n} held-out rows are too few to calibrate the uncertainty`, { hint: `Give at least ${MIN_BIN}` });
    const dist = distanceBins(X, n, schema);
    const season = seasons(X, n, schema);
    const nd = DISTANCE_BINS.length + 1;
    const cells: number[][][] = Array.from({ length: nd }, () => SEASONS.map(() => []));
    const all: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = Math.abs(pred[i]! - y[i]!);
      cells[dist[i]!]![season[i]!]!.push(r);
      all.push(r);
    }
    const q90 = cells.map((row) => row.map((c) => (c.length >= MIN_BIN ? quantile90(c) : NaN)));
    const q90Distance = cells.map((row) => {
      const pooled = row.flat();
      return pooled.length >= MIN_BIN ? quantile90(pooled) : NaN;
    });
    const binned = new ResidualModel({
      method: METHOD,
      q90,
      q90Distance,
      q90All: quantile90(all),
      counts: cells.map((row) => row.map((c) => c.length)),
    });
    if (!spread || n < 3 * MIN_BIN) return binned;
    // Each spread tercile's scale: its 90 % quantile of |residual| / (1.645 binned sigma).
    const sigma = binned.sigma(X, n, schema);
    const sortedSpread = Float64Array.from(spread).sort();
    const edges = [quantileSorted(sortedSpread, 1 / 3), quantileSorted(sortedSpread, 2 / 3)] as [number, number];
    const ratios: number[][] = [[], [], []];
    for (let i = 0; i < n; i++) ratios[tercile(spread[i]!, edges)]!.push(Math.abs(pred[i]! - y[i]!) / (Z90 * sigma[i]!));
    const spreadScale = ratios.map((r) => (r.length >= MIN_BIN ? quantile90(r) : 1)) as [number, number, number];
    return new ResidualModel({ ...binned.state, method: SPREAD_METHOD, spreadEdges: edges, spreadScale });
  }

  /** One standard deviation (m3/m3) of each row's estimate; `spread` when the model has one (Regressor.spread). */
  sigma(X: Float32Array, n: number, schema: Pick<FeatureSchema, "names">, spread?: Float32Array): Float32Array {
    const dist = distanceBins(X, n, schema);
    const season = seasons(X, n, schema);
    const s = this.state;
    if (s.spreadEdges && !spread)
      throw new SmapfillError("this uncertainty was calibrated with the ensemble members' spread, and none was given", {
        hint: "Pass the model's spread (Regressor.spread) with the rows",
      });
    return Float32Array.from({ length: n }, (_, i) => {
      const d = dist[i]!;
      const q = s.q90[d]?.[season[i]!];
      const value = usable(q) ? q : usable(s.q90Distance[d]) ? s.q90Distance[d]! : s.q90All;
      const scale = s.spreadEdges && s.spreadScale ? s.spreadScale[tercile(spread![i]!, s.spreadEdges)]! : 1;
      return (scale * value) / Z90;
    });
  }

  toJSON(): ResidualModelState {
    return this.state;
  }
}
