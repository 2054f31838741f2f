/**
 * `smapfill ingest study.yaml`: the whole cube of a study. Every predictor is checked against its
 * files and the region first (nothing is written when one is wrong), then SMAP and the
 * predictors are ingested, each resumable.
 */
import path from "node:path";
import { acquireWriterLock } from "./lock.js";
import { resolveGranules, type StudyConfig } from "../config/study.js";
import { Ease2Grid, type Window } from "../grid/ease2.js";
import { Cube, DEFAULT_CHUNKS } from "./cube.js";
import { ingestPredictors, preflightPredictors, type PredictorReport } from "./ingest-predictors.js";
import { ingestSmap, type SmapIngestOptions, type SmapIngestReport } from "./ingest-smap.js";
import { markBelowFreezing, recordMissingReasonShares } from "./missing-reasons.js";

export interface StudyReport {
  output: string;
  smap: SmapIngestReport;
  predictors: PredictorReport[];
}

/** After the predictors: the study's temperature predictors complete why SMAP is missing (smap.frozen_from), and the shares are stored again. */
export async function finishMissingReasons(study: StudyConfig, cube: Cube, smap: SmapIngestReport): Promise<void> {
  const marked = await markBelowFreezing(cube, study.smap.frozen_from);
  if (study.smap.frozen_from.length) await cube.addProvenance("missing-reasons", { frozen_from: study.smap.frozen_from, below_freezing: marked });
  smap.missingReasons = await recordMissingReasonShares(cube);
}

/** The study's region, its window on the grid, and where its cube goes. */
export function studyTarget(study: StudyConfig): { output: string; window: Window; region: Region } {
  const grid = Ease2Grid.of(study.resolution);
  const region: Region =
    "bbox" in study.region
      ? { bbox: { south: study.region.bbox[0], north: study.region.bbox[1], west: study.region.bbox[2], east: study.region.bbox[3] } }
      : { window: study.region.window };
  const window = "window" in region ? region.window : grid.windowFromBBox(region.bbox);
  return { output: path.resolve(study.baseDir, study.output), window, region };
}

type Region = { bbox: { south: number; north: number; west: number; east: number } } | { window: Window };

/**
 * Bytes an ingestion of the study holds at its peak: one chunk of days of the window per array
 * (SMAP merged, its pass flags, the two passes; a predictor and its antecedent sums) plus the
 * 30 days of history antecedent sums need. Not the cube: ingestion streams by chunk of days.
 */
export function ingestBytes(study: StudyConfig): number {
  const { window } = studyTarget(study);
  const days = study.chunks?.time ?? DEFAULT_CHUNKS.time;
  const sums = Math.max(0, ...study.predictors.map((p) => (p.antecedent ?? []).length));
  const history = Math.max(1, ...study.predictors.flatMap((p) => p.antecedent ?? []));
  return window.nrows * window.ncols * 4 * (days * Math.max(4, 1 + sums) + history);
}

/** The SMAP ingestion the study asks for. */
export function smapOptionsOf(study: StudyConfig, options: { quiet?: boolean; redo?: [string, string] } = {}): SmapIngestOptions {
  const { output, region } = studyTarget(study);
  return {
    granules: resolveGranules(study),
    cube: output,
    resolution: study.resolution,
    ...region,
    start: study.period.start,
    end: study.period.end,
    quality: study.smap.quality,
    passRule: study.smap.pass_rule,
    keepPasses: study.smap.keep_passes,
    ...(study.chunks ? { chunks: study.chunks } : {}),
    ...(study.threads ? { threads: study.threads } : {}),
    quiet: options.quiet,
    ...(options.redo ? { redo: options.redo } : {}),
  };
}

export async function ingestStudy(study: StudyConfig, options: { quiet?: boolean; redo?: [string, string] } = {}): Promise<StudyReport> {
  const grid = Ease2Grid.of(study.resolution);
  const { output, window } = studyTarget(study);
  await preflightPredictors(study, grid, window);
  // One writer per cube: a second ingest into it is refused (its metadata would be lost).
  const release = acquireWriterLock(output, `smapfill ingest ${study.configFile}`, { log: options.quiet ? undefined : (m) => process.stderr.write(`${m}\n`) });
  try {
    const smap = await ingestSmap(smapOptionsOf(study, options));
    const cube = await Cube.open(output);
    await cube.setAttributes({ study: { name: study.name, config: path.basename(study.configFile) } });
    const predictors = await ingestPredictors(study, cube, options);
    await finishMissingReasons(study, cube, smap);
    return { output, smap, predictors };
  } finally {
    release();
  }
}
