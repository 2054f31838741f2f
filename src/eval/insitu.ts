/**
 * In-situ validation as the paper does it: the station series (collocated to their cells) against
 *  - the original SMAP retrievals (days with a retrieval),
 *  - the reconstruction on the same observed days,
 *  - the reconstruction on gap days (no SMAP retrieval in the cube),
 * pooled over all stations, and per station (the mean of per-station RMSEs is the figure most
 * papers quote). Stations without any pair are listed with n = 0. The pooled scores' CIs resample
 * whole days (metrics.ts): the stations of one day share its weather.
 */
import type { CollocatedStation } from "./collocate.js";
import { evaluate, pointMetrics, type EvaluateOptions, type Metrics } from "./metrics.js";

export type InsituValue = "daily" | "am" | "pm";
export const INSITU_VALUES: readonly InsituValue[] = ["daily", "am", "pm"];

export interface StationScore {
  network: string;
  station: string;
  /** The station's own coordinates (degrees). */
  lat: number;
  lon: number;
  pixel: number;
  n: number;
  rmse: number;
  ubrmse: number;
  r: number;
}

export interface InsituScores {
  pooled: Metrics;
  /** Mean over stations with at least `minPairs` pairs of the per-station RMSE / ubRMSE / R. */
  stationMean: { stations: number; rmse: number; ubrmse: number; r: number };
  perStation: StationScore[];
}

interface Pairs {
  pred: number[];
  ref: number[];
  day: number[];
}

function score(pairs: Map<CollocatedStation, Pairs>, o: EvaluateOptions, minPairs: number): InsituScores {
  const all: Pairs = { pred: [], ref: [], day: [] };
  const perStation: StationScore[] = [];
  for (const [s, p] of pairs) {
    all.pred.push(...p.pred);
    all.ref.push(...p.ref);
    all.day.push(...p.day);
    const m = p.pred.length ? pointMetrics(p.pred, p.ref) : { rmse: NaN, ubrmse: NaN, r: NaN };
    perStation.push({
      network: s.network,
      station: s.station,
      lat: s.lat,
      lon: s.lon,
      pixel: s.pixel,
      n: p.pred.length,
      rmse: m.rmse,
      ubrmse: m.ubrmse,
      r: m.r,
    });
  }
  const counted = perStation.filter((s) => s.n >= minPairs);
  const mean = (k: "rmse" | "ubrmse" | "r") => counted.reduce((a, s) => a + s[k], 0) / Math.max(1, counted.length) || NaN;
  return {
    pooled: evaluate(all.pred, all.ref, { ...o, clusters: all.day }),
    stationMean: { stations: counted.length, rmse: mean("rmse"), ubrmse: mean("ubrmse"), r: mean("r") },
    perStation,
  };
}

/**
 * `smapOf(pixel)`: the cube's SMAP for every day of that pixel; `reconstruction(pixel)`: a
 * model's estimate for every day of that pixel.
 */
export function insituComparison(
  stations: CollocatedStation[],
  smapOf: (pixel: number) => ArrayLike<number>,
  T: number,
  reconstruction: ((pixel: number) => Float32Array) | undefined,
  value: InsituValue,
  o: EvaluateOptions & { minPairs?: number } = {},
): { smap: InsituScores; observed?: InsituScores; gap?: InsituScores } {
  const original = new Map<CollocatedStation, Pairs>();
  const observed = new Map<CollocatedStation, Pairs>();
  const gap = new Map<CollocatedStation, Pairs>();
  for (const s of stations) {
    const insitu = s[value];
    const est = reconstruction?.(s.pixel);
    const smap = smapOf(s.pixel);
    const pairs = {
      smap: { pred: [] as number[], ref: [] as number[], day: [] as number[] },
      observed: { pred: [] as number[], ref: [] as number[], day: [] as number[] },
      gap: { pred: [] as number[], ref: [] as number[], day: [] as number[] },
    };
    for (let t = 0; t < T; t++) {
      const ref = insitu[t]!;
      if (Number.isNaN(ref)) continue;
      const sm = smap[t]!;
      if (!Number.isNaN(sm)) {
        pairs.smap.pred.push(sm);
        pairs.smap.ref.push(ref);
        pairs.smap.day.push(t);
      }
      if (est && Number.isFinite(est[t]!)) {
        const into = Number.isNaN(sm) ? pairs.gap : pairs.observed;
        into.pred.push(est[t]!);
        into.ref.push(ref);
        into.day.push(t);
      }
    }
    original.set(s, pairs.smap);
    observed.set(s, pairs.observed);
    gap.set(s, pairs.gap);
  }
  const minPairs = o.minPairs ?? 10;
  return {
    smap: score(original, o, minPairs),
    ...(reconstruction ? { observed: score(observed, o, minPairs), gap: score(gap, o, minPairs) } : {}),
  };
}
