/**
 * `smapfill ingest study.yaml`: the whole cube of a study. Every predictor is checked against its
 * files and the region first (nothing is written when one is wrong), then SMAP and the
 * predictors are ingested, each resumable.
 */
import path from "node:path";
import { acquireWriterLock } from "./lock.js";
import { resolveGranules, type StudyConfig } from "../config/study.js";
import { Ease2Grid, type Window } from "../grid/ease2.js";
import { Cube } from "./cube.js";
import { ingestPredictors, preflightPredictors, type PredictorReport } from "./ingest-predictors.js";
import { ingestSmap, type SmapIngestReport } from "./ingest-smap.js";

export interface StudyReport {
  output: string;
  smap: SmapIngestReport;
  predictors: PredictorReport[];
}

export async function ingestStudy(study: StudyConfig, options: { quiet?: boolean; redo?: [string, string] } = {}): Promise<StudyReport> {
  const grid = Ease2Grid.of(study.resolution);
  const region =
    "bbox" in study.region
      ? { bbox: { south: study.region.bbox[0], north: study.region.bbox[1], west: study.region.bbox[2], east: study.region.bbox[3] } }
      : { window: study.region.window };
  const window = region.window ?? grid.windowFromBBox(region.bbox!);
  await preflightPredictors(study, grid, window);
  const output = path.resolve(study.baseDir, study.output);
  // One writer per cube: a second ingest into it is refused (its metadata would be lost).
  const release = acquireWriterLock(output, `smapfill ingest ${study.configFile}`, { log: options.quiet ? undefined : (m) => process.stderr.write(`${m}\n`) });
  try {
    return await ingestLocked(study, output, region, options);
  } finally {
    release();
  }
}

async function ingestLocked(
  study: StudyConfig,
  output: string,
  region: { bbox: { south: number; north: number; west: number; east: number } } | { window: Window },
  options: { quiet?: boolean; redo?: [string, string] },
): Promise<StudyReport> {
  const smap = await ingestSmap({
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
  });
  const cube = await Cube.open(output);
  await cube.setAttributes({ study: { name: study.name, config: path.basename(study.configFile) } });
  const predictors = await ingestPredictors(study, cube, options);
  return { output, smap, predictors };
}
