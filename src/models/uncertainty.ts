/**
 * Per-value uncertainty of any model: a residual model fitted on gaps held out inside the
 * training data (never the test rows): SMAP's real missingness masks moved in time (the
 * transplanted calibration gaps of eval/splits.ts) where the cube records why SMAP is missing.
 *
 * sigma = b[distance] x s[season] x s[reason] x s[spread tercile] / 1.645, where
 *  - distance: days to the pixel's nearest retrieval (1, 2, 3, 4-5, 6-9, 10-19, 20+ or none);
 *    b is the 90 % quantile of |residual| in the bin. A bin with fewer than MIN_BIN rows is
 *    pooled with its neighbours (never replaced by all rows: that is what made the earlier
 *    sigma flat, see docs/evaluation.md#uncertainty), and b never falls with distance (pool
 *    adjacent violators: a fill farther from any retrieval is not more certain);
 *  - season (DJF .. SON), the gap's missing reason (the donor mask's reason on calibration
 *    rows, the cube's own on the rows a product fills) and, for a model whose members can
 *    disagree (the ensemble: Regressor.spread), the tercile of that spread: multiplicative
 *    scales, each the 90 % quantile of |residual| / (1.645 sigma) among its rows (1 where a
 *    level has fewer than MIN_BIN rows), fitted with the distance bins in turns (raking), so
 *    that +-1.645 sigma holds about 90 % of the held-out residuals of every bin and level.
 * Fitted on a model's calibration rows when it is trained (models/fit.ts) and saved beside it
 * (uncertainty.json); measured on the test gaps (evaluate): per distance bin, reason and spread
 * tercile the share inside +-1.645 sigma should be 85-95 %, with the interval (Winkler) score.
 *
 * Frozen ground: no retrieval exists on a frozen day, so nothing can calibrate its error. Its
 * sigma (frozenSigma) adds, in quadrature, the pixel's climatological spread (its ts_std
 * feature, the standard deviation of its retrievals; the calibration rows' spread without one)
 * to the sigma its distance and reason give: the error of a value known no better than the
 * pixel's climatology, set from retrievals only, never from a truth.
 *
 * A state without `version` is the earlier model (per distance x season cell, falling back to
 * the distance bin, then to all residuals): models saved before still load and give the same
 * sigma.
 */
import { gapReason } from "../cube/missing-reasons.js";
import { SEASONS, seasonOf } from "../features/calendar.js";
import type { FeatureSchema } from "../features/schema.js";
import { SmapfillError } from "../util/errors.js";
import { quantileSorted } from "../util/stats.js";

/** Upper bounds (inclusive, days) of the distance bins; the last bin is "further, or none". */
export const DISTANCE_BINS = [1, 2, 3, 5, 9, 19] as const;
export const DISTANCE_LABELS = ["1 d", "2 d", "3 d", "4-5 d", "6-9 d", "10-19 d", ">= 20 d or none"] as const;
export { SEASONS, seasonOf };
const MIN_BIN = 30;
/**
 * A distance bin's quantile is trusted when its rows come from at least this many days: held-out
 * gaps come in runs of days over whole regions, so a bin's rows may be thousands of values from
 * one or two runs, as noisy as two values (pooled with the neighbours otherwise).
 */
const MIN_DAYS = 10;
/** The 90 % interval is +-Z90 sigma. */
export const Z90 = 1.6448536269514722;
/** Turns of the raking (distance bins, then each scale); the scales settle within a few. */
const RAKING_ROUNDS = 4;

const METHOD = "residual quantile by distance to the nearest retrieval (pooled, non-decreasing), scaled by season and missing reason";
const SPREAD_METHOD = `${METHOD} and by the ensemble members' spread (terciles)`;
export const FROZEN_METHOD =
  "frozen ground: the sigma of its distance and reason combined in quadrature with the pixel's climatological standard deviation (ts_std): no retrieval exists to calibrate on";

/** The reason level of a row without a missing reason (a simulated gap, or a cube without reasons). */
export const NO_REASON = "none";

export interface ResidualModelState {
  method: string;
  /** 2: pooled, non-decreasing distance bins with season, reason and spread scales; absent: the earlier per-cell model. */
  version?: 2;
  /** The earlier model: q90 of |residual| per [distance bin][season] (NaN or null: too few residuals there). */
  q90: number[][];
  /** Per distance bin: b, the distance term of sigma (version 2: every bin finite). */
  q90Distance: number[];
  q90All: number;
  /** Calibration rows per [distance bin][season]. */
  counts: number[][];
  /** Version 2: the bins each distance bin's value was pooled over, [first, last] (one bin: [d, d]). */
  pooledBins?: [number, number][];
  /** Version 2: the scale of each season (SEASONS order). */
  seasonScale?: number[];
  /** Version 2: the scale of each missing reason seen on enough calibration rows (others: 1), with its rows. */
  reasonScale?: Record<string, { n: number; scale: number }>;
  /** With a spread: the tercile edges of the held-out rows' spread and each tercile's scale. */
  spreadEdges?: [number, number];
  spreadScale?: [number, number, number];
  /** Version 2: how frozen days' sigma is set, and the calibration rows' standard deviation (used where a row has no ts_std). */
  frozen?: { method: string; climatologySd: number };
}

/** What a row may bring beyond its features: the members' spread, its missing reason (cube code), whether its day is frozen. */
export interface SigmaInputs {
  spread?: Float32Array | undefined;
  /** soil_moisture_missing_reason codes (0: none known). */
  reasons?: Uint8Array | undefined;
  /** 1 for a frozen day (frozenSigma). */
  frozen?: Uint8Array | undefined;
  /** Fitting only: each row's day (its run of days), so that a distance bin needs rows from MIN_DAYS days. */
  days?: ArrayLike<number> | undefined;
}

/** The columns the residual model reads: the context terms and the calendar terms. */
function columns(schema: Pick<FeatureSchema, "names">): { prev: number; next: number; sin: number; cos: number; std: number } {
  const at = (name: string) => schema.names.indexOf(name);
  const c = { prev: at("ts_prev_gap"), next: at("ts_next_gap"), sin: at("doy_sin"), cos: at("doy_cos"), std: at("ts_std") };
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

/** The reason level of each row: its gap reason's name, or NO_REASON. */
export function reasonLevels(reasons: Uint8Array | undefined, n: number): string[] {
  return Array.from({ length: n }, (_, i) => (reasons ? (gapReason(reasons[i]!) ?? NO_REASON) : NO_REASON));
}

function quantile90(values: ArrayLike<number>): number {
  return values.length ? quantileSorted(Float64Array.from(values).sort(), 0.9) : NaN;
}

/** Spread tercile of a value (0 low, 1 middle, 2 high). */
export const tercile = (v: number, edges: [number, number]) => (v < edges[0] ? 0 : v < edges[1] ? 1 : 2);

/** Bins without enough residuals are NaN, or null once the state went through JSON. */
const usable = (v: number | null | undefined): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * The distance term: q90 of `ratio` (|residual| over the other scales) per distance bin, bins
 * with fewer than MIN_BIN rows pooled with the next (the last with the one before), then pooled
 * adjacent violators so that the values never fall with distance.
 */
function fitDistance(ratio: Float64Array, dist: Uint8Array, days: ArrayLike<number> | undefined): { value: number[]; pooled: [number, number][] } {
  const nd = DISTANCE_BINS.length + 1;
  const byBin: number[][] = Array.from({ length: nd }, () => []);
  const daysOf: Set<number>[] = Array.from({ length: nd }, () => new Set());
  for (let i = 0; i < ratio.length; i++) (byBin[dist[i]!]!.push(ratio[i]!), daysOf[dist[i]!]!.add(days ? days[i]! : i));
  // Blocks of consecutive bins, each with at least MIN_BIN rows from at least MIN_DAYS days.
  let blocks: { first: number; last: number; rows: number[] }[] = [];
  let open: { first: number; last: number; rows: number[]; days: Set<number> } | undefined;
  for (let d = 0; d < nd; d++) {
    open = open
      ? { ...open, last: d, rows: open.rows.concat(byBin[d]!), days: new Set([...open.days, ...daysOf[d]!]) }
      : { first: d, last: d, rows: byBin[d]!.slice(), days: new Set(daysOf[d]!) };
    if (open.rows.length >= MIN_BIN && open.days.size >= MIN_DAYS) (blocks.push(open), (open = undefined));
  }
  if (open) {
    const prev = blocks.pop();
    blocks.push(prev ? { first: prev.first, last: open.last, rows: prev.rows.concat(open.rows) } : open);
  }
  // Pool adjacent violators: merge a block with the next while its quantile is the larger.
  let merged = true;
  while (merged) {
    merged = false;
    const q = blocks.map((b) => quantile90(b.rows));
    for (let i = 0; i + 1 < blocks.length; i++)
      if (q[i]! > q[i + 1]!) {
        const [a, b] = [blocks[i]!, blocks[i + 1]!];
        blocks = [...blocks.slice(0, i), { first: a.first, last: b.last, rows: a.rows.concat(b.rows) }, ...blocks.slice(i + 2)];
        merged = true;
        break;
      }
  }
  const value = new Array<number>(nd).fill(NaN);
  const pooled = new Array<[number, number]>(nd);
  for (const b of blocks) {
    const q = quantile90(b.rows);
    for (let d = b.first; d <= b.last; d++) ((value[d] = q), (pooled[d] = [b.first, b.last]));
  }
  return { value, pooled };
}

/** A scale per level: q90 of `ratio` among the level's rows (1 for levels with fewer than MIN_BIN rows). */
function fitScale(ratio: Float64Array, level: ArrayLike<number | string>): Map<number | string, { n: number; scale: number }> {
  const rows = new Map<number | string, number[]>();
  for (let i = 0; i < ratio.length; i++) {
    const l = level[i]!;
    if (!rows.has(l)) rows.set(l, []);
    rows.get(l)!.push(ratio[i]!);
  }
  return new Map([...rows].map(([l, r]) => [l, { n: r.length, scale: r.length >= MIN_BIN ? quantile90(r) : 1 }]));
}

export class ResidualModel {
  constructor(readonly state: ResidualModelState) {}

  /** Fits the model on held-out rows: their predictions, targets and features, and what else is known of them. */
  static fit(
    pred: Float32Array,
    y: Float32Array,
    X: Float32Array,
    n: number,
    schema: Pick<FeatureSchema, "names">,
    given: SigmaInputs | Float32Array | undefined = {},
  ): ResidualModel {
    const inputs: SigmaInputs = given instanceof Float32Array ? { spread: given } : (given ?? {});
    if (n < MIN_BIN) throw new SmapfillError(`${n} held-out rows are too few to calibrate the uncertainty`, { hint: `Give at least ${MIN_BIN}` });
    const dist = distanceBins(X, n, schema);
    const season = seasons(X, n, schema);
    const reason = reasonLevels(inputs.reasons, n);
    const spread = inputs.spread && n >= 3 * MIN_BIN ? inputs.spread : undefined;
    const abs = Float64Array.from({ length: n }, (_, i) => Math.abs(pred[i]! - y[i]!));
    const counts = Array.from({ length: DISTANCE_BINS.length + 1 }, () => SEASONS.map(() => 0));
    for (let i = 0; i < n; i++) counts[dist[i]!]![season[i]!]!++;
    const edges = spread
      ? (() => {
          const sorted = Float64Array.from(spread).sort();
          return [quantileSorted(sorted, 1 / 3), quantileSorted(sorted, 2 / 3)] as [number, number];
        })()
      : undefined;
    const terc = spread && edges ? Uint8Array.from(spread, (v) => tercile(v, edges)) : undefined;

    // Raking: each term in turn, on |residual| divided by the others.
    let distance = fitDistance(abs, dist, inputs.days);
    let seasonScale = new Map<number | string, { n: number; scale: number }>();
    let reasonScale = new Map<number | string, { n: number; scale: number }>();
    let spreadScale = new Map<number | string, { n: number; scale: number }>();
    const scaleOf = (m: Map<number | string, { scale: number }>, l: number | string) => m.get(l)?.scale ?? 1;
    const ratioWithout = (skip: "distance" | "season" | "reason" | "spread") =>
      Float64Array.from({ length: n }, (_, i) => {
        let denominator = 1;
        if (skip !== "distance") denominator *= distance.value[dist[i]!]!;
        if (skip !== "season") denominator *= scaleOf(seasonScale, season[i]!);
        if (skip !== "reason") denominator *= scaleOf(reasonScale, reason[i]!);
        if (skip !== "spread" && terc) denominator *= scaleOf(spreadScale, terc[i]!);
        return abs[i]! / denominator;
      });
    for (let round = 0; round < RAKING_ROUNDS; round++) {
      seasonScale = fitScale(ratioWithout("season"), season);
      reasonScale = fitScale(ratioWithout("reason"), reason);
      if (terc) spreadScale = fitScale(ratioWithout("spread"), terc);
      distance = fitDistance(ratioWithout("distance"), dist, inputs.days);
    }
    const mean = y.reduce((a, b) => a + b, 0) / n;
    const climatologySd = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    return new ResidualModel({
      method: terc ? SPREAD_METHOD : METHOD,
      version: 2,
      q90: [],
      q90Distance: distance.value,
      q90All: quantile90(abs),
      counts,
      pooledBins: distance.pooled,
      seasonScale: SEASONS.map((_, s) => scaleOf(seasonScale, s)),
      reasonScale: Object.fromEntries([...reasonScale].map(([l, v]) => [String(l), v])),
      ...(terc && edges ? { spreadEdges: edges, spreadScale: [0, 1, 2].map((t) => scaleOf(spreadScale, t)) as [number, number, number] } : {}),
      frozen: { method: FROZEN_METHOD, climatologySd },
    });
  }

  /** One standard deviation (m3/m3) of each row's estimate; `spread` when the model has one (Regressor.spread). */
  sigma(X: Float32Array, n: number, schema: Pick<FeatureSchema, "names">, inputs: SigmaInputs | Float32Array | undefined = {}): Float32Array {
    const o: SigmaInputs = inputs instanceof Float32Array ? { spread: inputs } : (inputs ?? {});
    const s = this.state;
    if (s.spreadEdges && !o.spread)
      throw new SmapfillError("this uncertainty was calibrated with the ensemble members' spread, and none was given", {
        hint: "Pass the model's spread (Regressor.spread) with the rows",
      });
    const dist = distanceBins(X, n, schema);
    const season = seasons(X, n, schema);
    const spreadScale = (i: number) => (s.spreadEdges && s.spreadScale ? s.spreadScale[tercile(o.spread![i]!, s.spreadEdges)]! : 1);
    if (s.version !== 2)
      return Float32Array.from({ length: n }, (_, i) => {
        const d = dist[i]!;
        const q = s.q90[d]?.[season[i]!];
        const value = usable(q) ? q : usable(s.q90Distance[d]) ? s.q90Distance[d]! : s.q90All;
        return (spreadScale(i) * value) / Z90;
      });
    const reason = reasonLevels(o.reasons, n);
    const out = Float32Array.from(
      { length: n },
      (_, i) => (s.q90Distance[dist[i]!]! * (s.seasonScale?.[season[i]!] ?? 1) * (s.reasonScale?.[reason[i]!]?.scale ?? 1) * spreadScale(i)) / Z90,
    );
    if (o.frozen) {
      const f = schema.names.length;
      const { std } = columns(schema);
      const fallback = s.frozen?.climatologySd ?? 0;
      for (let i = 0; i < n; i++) {
        if (!o.frozen[i]) continue;
        const sd = std >= 0 && Number.isFinite(X[i * f + std]!) ? X[i * f + std]! : fallback;
        out[i] = Math.sqrt(out[i]! ** 2 + sd ** 2);
      }
    }
    return out;
  }

  toJSON(): ResidualModelState {
    return this.state;
  }
}
