/**
 * The product against in situ on the days SMAP missed, kept with the product: `insitu.json` (the
 * settings, per-station and aggregated scores) and a section of the product's assessment (so the
 * report's product section and the product folder's report.md show it). Written by
 * `smapfill reconstruct --ismn` and by the demo; `smapfill report` recomputes the same scores
 * with the settings recorded here.
 */
import fs from "node:fs";
import path from "node:path";
import type { Cube } from "../cube/cube.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import { SmapfillError } from "../util/errors.js";
import { addAssessmentSection, type AssessmentRow, type AssessmentSection } from "./assessment.js";
import { writeAssessmentMarkdown } from "./assessment-markdown.js";
import { MIN_STATION_DAYS, productAtStations, type ProductAtStations, type ScoreSummary } from "./product-stations.js";

export const INSITU_FILE = "insitu.json";
export const INSITU_SECTION_ID = "insitu-gap-days";

/** The paper's headline against in situ (Liu et al. 2025, TsSMNet): the mean RMSE over stations. */
export const PAPER_INSITU = { citation: "Liu et al. (2025), TsSMNet", meanRmse: 0.09 } as const;

export interface InsituSettings {
  /** The ISMN download (absolute path). */
  ismn: string;
  flags: string[];
  maxDepth: number;
}

export interface InsituRecord {
  version: 1;
  settings: InsituSettings;
  paper: typeof PAPER_INSITU;
  smap: ProductAtStations["smap"];
  product: ProductAtStations["product"];
  stations: Omit<ProductAtStations["stations"][number], "insitu">[];
}

const row = (label: string, s: ScoreSummary): AssessmentRow => ({ label, n: s.n, rmse: s.rmse, ubrmse: s.ubrmse, bias: s.bias, r: s.r, anomalyR: s.anomalyR });

/** The assessment section of a product's scores against in situ: pooled, mean over stations, then each station. */
export function insituSection(at: ProductAtStations, settings: InsituSettings): AssessmentSection {
  const { smap, product } = at;
  return {
    id: INSITU_SECTION_ID,
    title: "Against in situ: the product on the days SMAP missed, SMAP on the days it observed",
    reference: "in situ",
    countLabel: "station-days",
    description:
      `At the ${at.stations.length} ISMN station sensors inside the product (flags ${settings.flags.join(",")}, sensors down to ${settings.maxDepth} m, daily means, each station in the cell that contains it). ` +
      `Pooled: every station-day counts once. Mean over stations: each metric averaged over the stations with at least ${MIN_STATION_DAYS} days (every station counts once; the paper's headline is such a mean: ${PAPER_INSITU.citation}, mean RMSE ${PAPER_INSITU.meanRmse} m³/m³ against in situ). ` +
      "Anomaly R: Pearson R of each series' departures from its own 35-day moving average. A station measures a point, the product a cell: a part of every error is the station's representativeness.",
    rows: [
      row("the product on gap days, pooled", product.pooled),
      row(`the product on gap days, mean over ${product.stations} stations`, product.stationMean),
      row("SMAP on its observed days, pooled", smap.pooled),
      row(`SMAP on its observed days, mean over ${smap.stations} stations`, smap.stationMean),
      // A sensor without a day in the product's period (e.g. a replicate sensor) has nothing to show.
      ...at.stations
        .filter((s) => s.product.n + s.smap.n > 0)
        .flatMap((s) => [
          row(`  ${s.network} ${s.station}: the product on gap days`, s.product),
          row(`  ${s.network} ${s.station}: SMAP on observed days`, s.smap),
        ]),
    ],
  };
}

/** Scores a product folder's product against in situ, and records the scores and the settings in the folder. */
export async function assessProductInsitu(productDir: string, product: Cube, settings: InsituSettings): Promise<ProductAtStations> {
  const at = await productAtStations(product, settings.ismn, { flags: settings.flags, maxDepth: settings.maxDepth });
  if (!at.stations.length)
    throw new SmapfillError(`no ISMN station with flag ${settings.flags.join(",")} values down to ${settings.maxDepth} m lies inside the product`, {
      file: settings.ismn,
      hint: "Give the download of stations inside the product's window, or a deeper --ismn-max-depth (e.g. 0.17 for COSMOS)",
    });
  const record: InsituRecord = {
    version: 1,
    settings: { ...settings, ismn: path.resolve(settings.ismn) },
    paper: PAPER_INSITU,
    smap: at.smap,
    product: at.product,
    stations: at.stations.map(({ insitu: _, ...s }) => s),
  };
  // JSON has no NaN: a metric without pairs is written null.
  writeFileAtomic(path.join(productDir, INSITU_FILE), `${JSON.stringify(record, null, 2)}\n`);
  addAssessmentSection(productDir, insituSection(at, record.settings));
  writeAssessmentMarkdown(productDir);
  return at;
}

/** The in-situ settings a product folder recorded, or undefined. */
export function readInsituSettings(productDir: string): InsituSettings | undefined {
  const file = path.join(productDir, INSITU_FILE);
  if (!fs.existsSync(file)) return undefined;
  const r = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<InsituRecord>;
  if (r.version !== 1 || !r.settings)
    throw new SmapfillError("not an in-situ record of this smapfill version", { file, hint: "Remove it, or run smapfill reconstruct --ismn again" });
  return r.settings;
}
