/**
 * The stations of an evaluation: ISMN series read and collocated to the cube's pixels, the
 * in-situ scores of SMAP and of every trained model (observed and gap days), and the series of
 * the best-covered stations for the report's time-series figures.
 */
import path from "node:path";
import type { Cube } from "../cube/cube.js";
import { readIsmn, selectSeries } from "../io/ismn.js";
import type { ModelName } from "../models/regressor.js";
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

/**
 * The series an evaluation holds for every station pixel (built in the ship view, as a product
 * fills them): SMAP, each model's estimate and the featured model's one-sigma uncertainty.
 */
export interface StationPixelSeries {
  smap(pixel: number): Float32Array;
  estimate(model: ModelName, pixel: number): Float32Array;
  sigma?(pixel: number): Float32Array | undefined;
}

/** In-situ scores of SMAP and of each model, and the series of the `figures` best-covered stations for `featured`. */
export function stationResults(
  c: StationSettings,
  st: StationData,
  T: number,
  models: ModelName[],
  featured: ModelName,
  series: StationPixelSeries,
  figures = 3,
): { insitu: InsituResult; series: StationSeries[]; pairs: { model: ModelName; insitu: Float32Array; estimate: Float32Array } } {
  const { read } = st;
  const { stations, outside } = st.collocated;
  const o = { nBoot: c.nBoot, seed: c.seed };
  const smapOf = (pixel: number) => series.smap(pixel);
  const insitu: InsituResult = {
    source: path.resolve(c.ismn),
    value: c.insituValue,
    stationsRead: st.series.length,
    stationsInside: stations.length,
    outside: outside.map((s) => `${s.network}/${s.station}`),
    failures: read.failures,
    implausible: st.series.flatMap((s) => (s.implausible ? [{ station: `${s.network}/${s.station}`, file: s.file, dropped: s.implausible }] : [])),
    smap: insituComparison(stations, smapOf, T, undefined, c.insituValue, o).smap,
    models: [],
  };
  for (const name of models) {
    const r = insituComparison(stations, smapOf, T, (pixel) => series.estimate(name, pixel), c.insituValue, o);
    insitu.models.push({ model: name, observed: r.observed!, gap: r.gap! });
  }
  const best = [...stations]
    .map((s) => ({ s, n: s.daily.reduce((k, v) => k + (Number.isNaN(v) ? 0 : 1), 0) }))
    .sort((x, y) => y.n - x.n)
    .slice(0, figures);
  const figureSeries = best.map(({ s }) => {
    const sigma = series.sigma?.(s.pixel);
    return {
      network: s.network,
      station: s.station,
      lat: s.lat,
      lon: s.lon,
      insitu: s[c.insituValue],
      smap: series.smap(s.pixel),
      model: featured,
      estimate: series.estimate(featured, s.pixel),
      ...(sigma ? { sigma } : {}),
    };
  });
  const ins: number[] = [];
  const est: number[] = [];
  for (const s of stations) {
    const e = series.estimate(featured, s.pixel);
    const v = s[c.insituValue];
    for (let t = 0; t < T; t++) if (Number.isFinite(v[t]!) && Number.isFinite(e[t]!)) (ins.push(v[t]!), est.push(e[t]!));
  }
  return { insitu, series: figureSeries, pairs: { model: featured, insitu: Float32Array.from(ins), estimate: Float32Array.from(est) } };
}
