/**
 * The product against in situ: the ISMN stations inside a product, SMAP's error on the days it
 * observed and the product's on the days it reconstructed (gap days), per station and over all
 * stations in two ways that differ and are always named: pooled (every station-day counts once,
 * so long records weigh most) and the mean of the per-station RMSEs (every station counts once).
 */
import type { Cube } from "../cube/cube.js";
import { collocate } from "../eval/collocate.js";
import { pointMetrics } from "../eval/metrics.js";
import { readIsmn, selectSeries } from "../io/ismn.js";
import { productPixelSeries } from "./coverage.js";

export interface ScoreSummary {
  n: number;
  rmse: number;
  bias: number;
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

export interface ProductAtStations {
  stations: ProductStation[];
  /** Over every station-day (pooled) and the mean of the per-station RMSEs (stations with >= 10 days). */
  smap: { pooled: ScoreSummary; stationMeanRmse: number; stations: number };
  product: { pooled: ScoreSummary; stationMeanRmse: number; stations: number };
}

const score = (pred: number[], ref: number[]): ScoreSummary => {
  if (!pred.length) return { n: 0, rmse: NaN, bias: NaN };
  const m = pointMetrics(pred, ref);
  return { n: pred.length, rmse: m.rmse, bias: m.bias };
};

/** Scores a product against the stations of an ISMN download (flag G, top 6 cm by default). */
export async function productAtStations(product: Cube, ismn: string, o: { flags?: string[]; maxDepth?: number } = {}): Promise<ProductAtStations> {
  const series = selectSeries(readIsmn(ismn).series, { flags: o.flags ?? ["G"], maxDepth: o.maxDepth ?? 0.06 });
  const { stations } = collocate(series, product.grid, product.window, product.startDay, product.days);
  const out: ProductStation[] = [];
  const pooled = { smap: [[], []] as number[][], product: [[], []] as number[][] };
  for (const st of stations) {
    const s = await productPixelSeries(product, st.pixel);
    const pairs = (observed: boolean) => {
      const pred: number[] = [];
      const ref: number[] = [];
      st.daily.forEach((v, t) => {
        const value = observed ? s.smap[t] : s.smap[t] === null ? s.estimate[t] : null;
        if (Number.isFinite(v) && value !== null && value !== undefined) (pred.push(value), ref.push(v));
      });
      return [pred, ref] as const;
    };
    const [obs, gap] = [pairs(true), pairs(false)];
    pooled.smap[0]!.push(...obs[0]);
    pooled.smap[1]!.push(...obs[1]);
    pooled.product[0]!.push(...gap[0]);
    pooled.product[1]!.push(...gap[1]);
    out.push({
      network: st.network,
      station: st.station,
      lat: st.lat,
      lon: st.lon,
      pixel: st.pixel,
      smap: score(...obs),
      product: score(...gap),
      insitu: Array.from(st.daily, (v) => (Number.isFinite(v) ? v : null)),
    });
  }
  const stationMean = (pick: (s: ProductStation) => ScoreSummary) => {
    const kept = out.map(pick).filter((s) => s.n >= 10);
    return { stationMeanRmse: kept.length ? kept.reduce((a, s) => a + s.rmse, 0) / kept.length : NaN, stations: kept.length };
  };
  return {
    stations: out,
    smap: { pooled: score(pooled.smap[0]!, pooled.smap[1]!), ...stationMean((s) => s.smap) },
    product: { pooled: score(pooled.product[0]!, pooled.product[1]!), ...stationMean((s) => s.product) },
  };
}
