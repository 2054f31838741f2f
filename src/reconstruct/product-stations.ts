/**
 * The product against in situ: the ISMN stations inside a product, SMAP's agreement on the days
 * it observed and the product's on the days it reconstructed (gap days), per station and over all
 * stations in two ways that differ and are always named: pooled (every station-day counts once,
 * so long records weigh most) and the mean over stations (every station with at least
 * `MIN_STATION_DAYS` days counts once; the paper's "mean RMSE 0.09 against in situ" is such a
 * mean). Metrics are pytesmo's (eval/metrics.ts) plus the anomaly R (eval/anomaly.ts): each
 * series' anomaly from its own 35-day moving average, the product's from the gap-free series
 * (SMAP and reconstructed values), SMAP's from its observed values alone.
 */
import type { Cube } from "../cube/cube.js";
import { movingAverageAnomaly } from "../eval/anomaly.js";
import { collocate } from "../eval/collocate.js";
import { pointMetrics } from "../eval/metrics.js";
import { readIsmn, selectSeries } from "../io/ismn.js";
import { productPixelSeries } from "./coverage.js";

/** Stations with fewer days than this on a side are left out of that side's mean over stations. */
export const MIN_STATION_DAYS = 10;

export interface ScoreSummary {
  n: number;
  rmse: number;
  ubrmse: number;
  bias: number;
  r: number;
  /** Pearson R of the 35-day moving-average anomalies. */
  anomalyR: number;
}

export interface ProductStation {
  network: string;
  station: string;
  lat: number;
  lon: number;
  pixel: number;
  /** SMAP on the days it observed, and the product on the days it reconstructed. */
  smap: ScoreSummary;
  product: ScoreSummary;
  /** Daily in-situ values on the product's days. */
  insitu: (number | null)[];
}

export interface StationAggregate {
  /** Every station-day once. */
  pooled: ScoreSummary;
  /** Each metric's mean over the stations with at least MIN_STATION_DAYS days (n: their station-days). */
  stationMean: ScoreSummary;
  /** The same mean of the RMSEs (kept for readers of earlier products). */
  stationMeanRmse: number;
  stations: number;
}

export interface ProductAtStations {
  stations: ProductStation[];
  smap: StationAggregate;
  product: StationAggregate;
}

/** Pairs of a prediction and a reference, with each one's anomaly on the same day. */
export interface Pairs {
  pred: number[];
  ref: number[];
  predAnomaly: number[];
  refAnomaly: number[];
}

const emptyPairs = (): Pairs => ({ pred: [], ref: [], predAnomaly: [], refAnomaly: [] });

/** RMSE, ubRMSE, bias and R of the values and R of the anomalies (NaN where undefined: no pairs, no spread). */
export function pairScores(p: Pairs): ScoreSummary {
  const n = p.pred.length;
  if (!n) return { n: 0, rmse: NaN, ubrmse: NaN, bias: NaN, r: NaN, anomalyR: NaN };
  const m = pointMetrics(p.pred, p.ref);
  return { n, rmse: m.rmse, ubrmse: m.ubrmse, bias: m.bias, r: m.r, anomalyR: pointMetrics(p.predAnomaly, p.refAnomaly).r };
}

/**
 * The pairs of a station's days where `estimate` and the station both have a value and `use(t)`
 * holds; anomalies come from the whole series (the estimate's from `anomalyOf`).
 */
export function stationPairs(estimate: ArrayLike<number>, anomalyOf: ArrayLike<number>, insitu: ArrayLike<number>, use: (t: number) => boolean): Pairs {
  const estAnomaly = movingAverageAnomaly(anomalyOf);
  const refAnomaly = movingAverageAnomaly(insitu);
  const out = emptyPairs();
  for (let t = 0; t < insitu.length; t++) {
    const x = estimate[t]!;
    const y = insitu[t]!;
    if (!use(t) || !Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(estAnomaly[t]!)) continue;
    out.pred.push(x);
    out.ref.push(y);
    out.predAnomaly.push(estAnomaly[t]!);
    out.refAnomaly.push(refAnomaly[t]!);
  }
  return out;
}

/** Pooled scores and the mean over stations with at least MIN_STATION_DAYS days. */
export function aggregateStations(perStation: { pairs: Pairs; scores: ScoreSummary }[]): StationAggregate {
  const pooled = emptyPairs();
  for (const { pairs } of perStation) for (const k of ["pred", "ref", "predAnomaly", "refAnomaly"] as const) pooled[k].push(...pairs[k]);
  const kept = perStation.map((s) => s.scores).filter((s) => s.n >= MIN_STATION_DAYS);
  const mean = (k: keyof ScoreSummary) => {
    const v = kept.map((s) => s[k]).filter(Number.isFinite);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
  };
  const stationMean: ScoreSummary = {
    n: kept.reduce((a, s) => a + s.n, 0),
    rmse: mean("rmse"),
    ubrmse: mean("ubrmse"),
    bias: mean("bias"),
    r: mean("r"),
    anomalyR: mean("anomalyR"),
  };
  return { pooled: pairScores(pooled), stationMean, stationMeanRmse: stationMean.rmse, stations: kept.length };
}

export interface StationSelection {
  /** ISMN quality flags kept (default G). */
  flags?: string[];
  /** Deepest sensor bottom (m; default 0.06: SMAP's 0-5 cm). */
  maxDepth?: number;
}

/** Scores a product against the stations of an ISMN download (flag G, top 6 cm by default). */
export async function productAtStations(product: Cube, ismn: string, o: StationSelection = {}): Promise<ProductAtStations> {
  const series = selectSeries(readIsmn(ismn).series, { flags: o.flags ?? ["G"], maxDepth: o.maxDepth ?? 0.06 });
  const { stations } = collocate(series, product.grid, product.window, product.startDay, product.days);
  const out: ProductStation[] = [];
  const sides = { smap: [] as { pairs: Pairs; scores: ScoreSummary }[], product: [] as { pairs: Pairs; scores: ScoreSummary }[] };
  const numbers = (a: (number | null)[]) => Float64Array.from(a, (v) => (v === null ? NaN : v));
  for (const st of stations) {
    const s = await productPixelSeries(product, st.pixel);
    const smap = numbers(s.smap);
    const estimate = numbers(s.estimate);
    const observed = stationPairs(smap, smap, st.daily, () => true);
    const gap = stationPairs(estimate, estimate, st.daily, (t) => s.smap[t] === null);
    const scores = { smap: pairScores(observed), product: pairScores(gap) };
    sides.smap.push({ pairs: observed, scores: scores.smap });
    sides.product.push({ pairs: gap, scores: scores.product });
    out.push({
      network: st.network,
      station: st.station,
      lat: st.lat,
      lon: st.lon,
      pixel: st.pixel,
      ...scores,
      insitu: Array.from(st.daily, (v) => (Number.isFinite(v) ? v : null)),
    });
  }
  return { stations: out, smap: aggregateStations(sides.smap), product: aggregateStations(sides.product) };
}
