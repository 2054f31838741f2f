/**
 * Ingestion's unit of work: one block of days of SMAP, or of one dynamic predictor, of a study.
 * It writes whole chunks (the block's days over the whole window: no other unit shares them) and
 * returns its record and the chunk files it wrote; whoever runs it (a distributed job,
 * src/jobs/units.ts) checks the run's lock and the files' checksums. The cube's metadata is
 * written by the coordinator alone.
 */
import { Cube } from "./cube.js";
import { loadStudy } from "../config/study.js";
import { GranuleReaderPool } from "../io/smap-l3.js";
import { blockDays, ingestSmapBlock, planSmapIngest, smapBlockVariables, type BlockRecord } from "./ingest-smap.js";
import { ingestPredictorBlock, planPredictorIngest, predictorBlockVariables } from "./ingest-predictors.js";
import { smapOptionsOf, studyTarget } from "./ingest-study.js";

export interface IngestBlock {
  /** The study file (every machine reads the same). */
  study: string;
  block: number;
  /** A predictor's block; none: SMAP's. */
  predictor?: string;
}

export interface IngestBlockResult {
  record: BlockRecord | { missingDays: string[] };
  /** The cube, and the chunk files the block wrote. */
  root: string;
  written: string[];
}

export async function ingestBlock(d: IngestBlock): Promise<IngestBlockResult> {
  const study = loadStudy(d.study);
  const { output } = studyTarget(study);
  if (d.predictor === undefined) {
    const plan = await planSmapIngest({ ...smapOptionsOf(study, { quiet: true }), threads: 1 }, { create: false });
    const reader = new GranuleReaderPool(1);
    try {
      const record = await ingestSmapBlock(plan, d.block, reader);
      const days = blockDays(plan, d.block);
      return { record, root: output, written: smapBlockVariables(plan).flatMap((v) => plan.cube.chunkFiles(v, undefined, days)) };
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
    return { record, root: output, written: predictorBlockVariables(plan, d.predictor).flatMap((v) => cube.chunkFiles(v, undefined, days)) };
  } finally {
    await plan.cache.closeAll();
  }
}
