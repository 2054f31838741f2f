/**
 * Ingestion as distributed jobs (smapfill ingest --queue): one job per block of days of SMAP, one
 * per (dynamic predictor, block of days). A job writes whole chunks (the block's days over the
 * whole window: no other job shares them) under the coordinator's lock, and returns its record
 * and the sha256 of every chunk file; the coordinator alone writes the cube's metadata.
 */
import { checkRunLock } from "./lock.js";
import { Cube } from "./cube.js";
import { loadStudy } from "../config/study.js";
import { GranuleReaderPool } from "../io/smap-l3.js";
import { blockDays, ingestSmapBlock, planSmapIngest, smapBlockVariables, type BlockRecord } from "./ingest-smap.js";
import { ingestPredictorBlock, planPredictorIngest, predictorBlockVariables } from "./ingest-predictors.js";
import { smapOptionsOf, studyTarget } from "./ingest-study.js";
import { checksums } from "../util/checksum.js";

export interface IngestJobData {
  /** The study file (every machine reads the same). */
  study: string;
  run: string;
  block: number;
  /** A predictor's block; none: SMAP's. */
  predictor?: string;
}

export interface IngestJobResult {
  record: BlockRecord | { missingDays: string[] };
  files: Record<string, string>;
}

export async function ingestBlockJob(d: IngestJobData): Promise<IngestJobResult> {
  const study = loadStudy(d.study);
  const { output } = studyTarget(study);
  checkRunLock(output, d.run);
  if (d.predictor === undefined) {
    const plan = await planSmapIngest({ ...smapOptionsOf(study, { quiet: true }), threads: 1 }, { create: false });
    const reader = new GranuleReaderPool(1);
    try {
      const record = await ingestSmapBlock(plan, d.block, reader);
      const days = blockDays(plan, d.block);
      return {
        record,
        files: checksums(
          output,
          smapBlockVariables(plan).flatMap((v) => plan.cube.chunkFiles(v, undefined, days)),
        ),
      };
    } finally {
      await reader.close();
    }
  }
  const cube = await Cube.open(output);
  const plan = await planPredictorIngest(study, cube, { only: d.predictor });
  try {
    const record = await ingestPredictorBlock(plan, d.predictor, d.block);
    const t0 = d.block * cube.chunks.time;
    const days: [number, number] = [t0, Math.min(cube.days, t0 + cube.chunks.time)];
    return {
      record,
      files: checksums(
        output,
        predictorBlockVariables(plan, d.predictor).flatMap((v) => cube.chunkFiles(v, undefined, days)),
      ),
    };
  } finally {
    await plan.cache.closeAll();
  }
}
