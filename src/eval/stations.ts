/**
 * The stations of an evaluation: ISMN series read and collocated to the cube's pixels, the
 * in-situ scores of SMAP and of every trained model (observed and gap days), and the series of
 * the best-covered stations for the report's time-series figures.
 */
import path from "node:path";
import type { Cube } from "../cube/cube.js";
import type { FeatureBuilder, SampleArrays } from "../features/samples.js";
import { readIsmn, selectSeries } from "../io/ismn.js";
import type { ModelName, Regressor } from "../models/regressor.js";
import { SmapfillError } from "../util/errors.js";
import { collocate } from "./collocate.js";
import { insituComparison, type InsituScores, type InsituValue } from "./insitu.js";

export interface StationData {
  read: ReturnType<typeof readIsmn>;
  series: ReturnType<typeof selectSeries>;
  collocated: ReturnType<typeof collocate>;
}

export interface InsituResult {
  source: string;
  value: InsituValue;
  stationsRead: number;
  stationsInside: number;
  outside: string[];
  failures: { file: string; error: string }[];
  /** Values dropped as impossible (outside [0, 0.8] m3/m3), per station series. */
  implausible: { station: string; file: string; dropped: number }[];
  smap: InsituScores;
  models: { model: ModelName; observed: InsituScores; gap: InsituScores }[];
}

/** A station's series for a figure: in situ, SMAP and one model's estimate, day by day. */
export interface StationSeries {
  network: string;
  station: string;
  lat: number;
  lon: number;
  insitu: Float32Array;
  smap: Float32Array;
  model: ModelName;
  estimate: Float32Array;
  /** One standard deviation of the estimate (the model's residual model), where it has one. */
  sigma?: Float32Array;
}

export interface StationSettings {
  ismn: string;
  ismnFlags: string[];
  ismnMaxDepth: number;
  insituValue: InsituValue;
  nBoot: number;
  seed: number;
}

export function readStations(c: StationSettings, cube: Cube, log: (m: string) => void): StationData {
  const read = readIsmn(c.ismn);
  const series = selectSeries(read.series, { flags: c.ismnFlags, maxDepth: c.ismnMaxDepth });
  const collocated = collocate(series, cube.grid, cube.window, cube.startDay, cube.days);
  log(`in situ: ${series.length} series at <= ${c.ismnMaxDepth} m, ${collocated.stations.length} inside the cube, ${collocated.outside.length} outside`);
  for (const f of read.failures) log(`  warning: ISMN file not read: ${f.error.startsWith(`${f.file}: `) ? f.error : `${f.file}: ${f.error}`}`);
  for (const s of series)
    if (s.implausible)
      log(`  warning: ${s.network}/${s.station} (${s.file}): ${s.implausible} values outside [0, 0.8] m3/m3 dropped (flagged good, but impossible)`);
  if (!collocated.stations.length)
    throw new SmapfillError(`none of the ${series.length} station series lies inside the cube`, {
      file: c.ismn,
      hint: "Check the ISMN download's region, the depth (--ismn-max-depth) and flags (--ismn-flags)",
    });
  return { read, series, collocated };
}

/** Every model's estimate for every day of a pixel, computed once per (model, pixel). */
class PixelEstimates {
  private readonly rows = new Map<number, Float32Array>();
  private readonly estimates = new Map<string, Float32Array>();
  constructor(
    private readonly features: FeatureBuilder,
    private readonly T: number,
  ) {}
  of(name: ModelName, model: Regressor, pixel: number): Float32Array {
    const key = `${name}\u0000${pixel}`;
    if (!this.estimates.has(key)) {
      this.estimates.set(key, model.predict(this.rowsOf(pixel), this.T));
    }
    return this.estimates.get(key)!;
  }
  rowsOf(pixel: number): Float32Array {
    if (!this.rows.has(pixel)) this.rows.set(pixel, this.features.pixelRows(pixel));
    return this.rows.get(pixel)!;
  }
}

/** In-situ scores of SMAP and of each model, and the series of the `figures` best-covered stations for `featured`. */
export function stationResults(
  c: StationSettings,
  st: StationData,
  a: SampleArrays,
  features: FeatureBuilder,
  models: Map<ModelName, Regressor>,
  featured: ModelName,
  /** The featured model's one-sigma uncertainty of a pixel's rows, where it has one. */
  sigmaOf?: (rows: Float32Array, n: number) => Float32Array,
  figures = 3,
): { insitu: InsituResult; series: StationSeries[]; pairs: { model: ModelName; insitu: Float32Array; estimate: Float32Array } } {
  const { read, series } = st;
  const { stations, outside } = st.collocated;
  const T = a.T;
  const estimates = new PixelEstimates(features, T);
  const o = { nBoot: c.nBoot, seed: c.seed };
  const insitu: InsituResult = {
    source: path.resolve(c.ismn),
    value: c.insituValue,
    stationsRead: series.length,
    stationsInside: stations.length,
    outside: outside.map((s) => `${s.network}/${s.station}`),
    failures: read.failures,
    implausible: series.flatMap((s) => (s.implausible ? [{ station: `${s.network}/${s.station}`, file: s.file, dropped: s.implausible }] : [])),
    smap: insituComparison(stations, a.smap, a.P, T, undefined, c.insituValue, o).smap,
    models: [],
  };
  for (const [name, model] of models) {
    const r = insituComparison(stations, a.smap, a.P, T, (pixel) => estimates.of(name, model, pixel), c.insituValue, o);
    insitu.models.push({ model: name, observed: r.observed!, gap: r.gap! });
  }
  const best = [...stations]
    .map((s) => ({ s, n: s.daily.reduce((k, v) => k + (Number.isNaN(v) ? 0 : 1), 0) }))
    .sort((x, y) => y.n - x.n)
    .slice(0, figures);
  const model = models.get(featured)!;
  const figureSeries = best.map(({ s }) => ({
    network: s.network,
    station: s.station,
    lat: s.lat,
    lon: s.lon,
    insitu: s[c.insituValue],
    smap: Float32Array.from({ length: T }, (_, t) => a.smap[t * a.P + s.pixel]!),
    model: featured,
    estimate: estimates.of(featured, model, s.pixel),
    sigma: sigmaOf?.(estimates.rowsOf(s.pixel), T),
  }));
  const ins: number[] = [];
  const est: number[] = [];
  for (const s of stations) {
    const e = estimates.of(featured, model, s.pixel);
    const v = s[c.insituValue];
    for (let t = 0; t < T; t++) if (Number.isFinite(v[t]!) && Number.isFinite(e[t]!)) (ins.push(v[t]!), est.push(e[t]!));
  }
  return { insitu, series: figureSeries, pairs: { model: featured, insitu: Float32Array.from(ins), estimate: Float32Array.from(est) } };
}
