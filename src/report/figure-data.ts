/**
 * The arrays behind an evaluation's figures, saved beside evaluation.json as figure-data.json so
 * `smapfill report` can draw them later from the run folder alone: the featured model's estimates
 * against the hidden SMAP values as a 2-D histogram (a density plot needs counts, not the
 * hundreds of thousands of points), and the best-covered stations' daily series.
 */
import fs from "node:fs";
import path from "node:path";
import type { EvaluationFigureData } from "../eval/experiment.js";
import { SmapfillError } from "../util/errors.js";

export const FIGURE_DATA_FILE = "figure-data.json";
/** Soil moisture axis of the density plots (m3/m3): SMAP's valid range with a margin. */
export const DENSITY_RANGE: [number, number] = [0, 0.6];
export const DENSITY_BINS = 60;

export interface DensityGrid {
  lo: number;
  hi: number;
  bins: number;
  /** counts[i * bins + j]: reference in bin i, estimate in bin j. */
  counts: number[];
  n: number;
}

export interface SavedFigureData {
  version: 1;
  dates: string[];
  scatter?: { model: string; split: string; density: DensityGrid };
  /** The featured model against in situ on every station day. */
  insitu?: { model: string; density: DensityGrid };
  stations: {
    network: string;
    station: string;
    lat: number;
    lon: number;
    model: string;
    insitu: (number | null)[];
    smap: (number | null)[];
    estimate: (number | null)[];
    sigma?: (number | null)[];
  }[];
}

/** Counts of (reference, estimate) pairs on a bins x bins grid over [lo, hi) (values outside are clamped to the edge bins). */
export function densityGrid(
  reference: ArrayLike<number>,
  estimate: ArrayLike<number>,
  lo = DENSITY_RANGE[0],
  hi = DENSITY_RANGE[1],
  bins = DENSITY_BINS,
): DensityGrid {
  const counts = new Array<number>(bins * bins).fill(0);
  const bin = (v: number) => Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)));
  let n = 0;
  for (let k = 0; k < reference.length; k++) {
    const r = reference[k]!;
    const e = estimate[k]!;
    if (!Number.isFinite(r) || !Number.isFinite(e)) continue;
    counts[bin(r) * bins + bin(e)]!++;
    n++;
  }
  return { lo, hi, bins, counts, n };
}

const list = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isFinite(v) ? Math.round(v * 1e5) / 1e5 : null));

export function figureData(f: EvaluationFigureData): SavedFigureData {
  return {
    version: 1,
    dates: f.dates,
    scatter: f.scatter && { model: f.scatter.model, split: f.scatter.split, density: densityGrid(f.scatter.reference, f.scatter.estimate) },
    insitu: f.insituPairs && { model: f.insituPairs.model, density: densityGrid(f.insituPairs.insitu, f.insituPairs.estimate) },
    stations: f.stations.map((s) => ({
      network: s.network,
      station: s.station,
      lat: s.lat,
      lon: s.lon,
      model: s.model,
      insitu: list(s.insitu),
      smap: list(s.smap),
      estimate: list(s.estimate),
      sigma: s.sigma && list(s.sigma),
    })),
  };
}

/** The saved figure data of an evaluation folder, or undefined for a run written before it existed. */
export function readFigureData(dir: string): SavedFigureData | undefined {
  const file = path.join(dir, FIGURE_DATA_FILE);
  if (!fs.existsSync(file)) return undefined;
  const data = JSON.parse(fs.readFileSync(file, "utf8")) as SavedFigureData;
  if (data.version !== 1 || !Array.isArray(data.dates) || !Array.isArray(data.stations))
    throw new SmapfillError("not a figure-data file of this smapfill version", { file, hint: "Run smapfill evaluate again to rewrite it" });
  return data;
}
