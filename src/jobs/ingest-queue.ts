/**
 * Distributed ingestion and features on the queue. The coordinator takes the cube's writer lock
 * for a run (a fresh id per invocation: a rerun redoes what was not recorded, and a job rewrites
 * the same bytes), creates the cube and its variables, enqueues one job per block of days (SMAP,
 * then each dynamic predictor) or per static chunk of tiles (features), checks every chunk file against its job's
 * checksum, and alone writes the metadata: the block records (a rerun resumes after them), the
 * reports, the provenance. Static predictors are read by the coordinator (one field each).
 */
import path from "node:path";
import { randomUUID } from "node:crypto";
import { Cube } from "../cube/cube.js";
import { acquireWriterLock } from "../cube/lock.js";
import type { FeaturesJobData, IngestJobData, IngestJobResult } from "./units.js";
import { finishSmapIngest, planSmapIngest, recordSmapBlock, smapBlocksToDo, type BlockRecord } from "../cube/ingest-smap.js";
import {
  finishPredictorIngest,
  ingestStaticPredictors,
  planPredictorIngest,
  predictorBlocksToDo,
  preflightPredictors,
  recordPredictorBlock,
} from "../cube/ingest-predictors.js";
import { finishMissingReasons, smapOptionsOf, studyTarget, type StudyReport } from "../cube/ingest-study.js";
import { createFeatureCube, finishFeatureCube, type CubeFeatureOptions } from "../features/cube-features.js";
import type { StudyConfig } from "../config/study.js";
import { Ease2Grid } from "../grid/ease2.js";
import { QUEUE_NAME } from "./job-data.js";
import { failedJobsError, runJobs, withQueue, type QueueOptions } from "./run-jobs.js";

const newRun = () => randomUUID().replaceAll("-", "").slice(0, 16);

export async function ingestStudyOnQueue(study: StudyConfig, o: QueueOptions & { redo?: [string, string] }): Promise<StudyReport & { jobs: number }> {
  const log = o.log ?? (() => {});
  const { output, window } = studyTarget(study);
  await preflightPredictors(study, Ease2Grid.of(study.resolution), window);
  const run = newRun();
  const release = acquireWriterLock(output, `smapfill ingest ${study.configFile} --queue`, { run, log });
  try {
    return await withQueue(o, async (queue, link) => {
      const studyFile = path.resolve(study.configFile);
      const plan = await planSmapIngest(smapOptionsOf(study, { quiet: true, ...(o.redo ? { redo: o.redo } : {}) }));
      const { todo, resumed, redone } = smapBlocksToDo(plan, o.redo);
      const smapJobs = todo.map((block) => ({ id: `${run}-smap-b${block}`, name: "ingest-smap" as const, data: { study: studyFile, run, block } }));
      log(`${smapJobs.length} SMAP jobs on ${o.queue} (queue ${QUEUE_NAME}, run ${run}); start workers with: smapfill worker --queue ${o.queue}`);
      const first = await runJobs<IngestJobData, IngestJobResult>(queue, link, output, smapJobs, o);
      for (const j of smapJobs) {
        const r = first.results.get(j.id);
        if (r) await recordSmapBlock(plan, j.data.block, r.record as BlockRecord);
      }
      if (first.failed.length) throw failedJobsError(first.failed, smapJobs.length, output);
      const smap = await finishSmapIngest(plan, resumed, redone);
      const cube = await Cube.open(output);
      await cube.setAttributes({ study: { name: study.name, config: path.basename(study.configFile) } });
      const predictorPlan = await planPredictorIngest(study, cube);
      try {
        await ingestStaticPredictors(predictorPlan);
        const jobs = predictorBlocksToDo(predictorPlan, o.redo).map(({ name, block }) => ({
          id: `${run}-${name}-b${block}`,
          name: "ingest-predictor" as const,
          data: { study: studyFile, run, block, predictor: name },
        }));
        log(`${jobs.length} predictor jobs`);
        const second = await runJobs<IngestJobData, IngestJobResult>(queue, link, output, jobs, o);
        for (const j of jobs) {
          const r = second.results.get(j.id);
          if (r) await recordPredictorBlock(predictorPlan, j.data.predictor!, j.data.block, r.record);
        }
        if (second.failed.length) throw failedJobsError(second.failed, jobs.length, output);
        const predictors = await finishPredictorIngest(predictorPlan);
        await finishMissingReasons(study, cube, smap);
        return { output, smap, predictors, jobs: smapJobs.length + jobs.length };
      } finally {
        await predictorPlan.cache.closeAll();
      }
    });
  } finally {
    release();
  }
}

/** The features cube, one job per static chunk (up to 4 x 4 tiles); written under OUTPUT.partial and renamed when every tile is there. */
export async function featuresOnQueue(
  sourcePath: string,
  output: string,
  o: QueueOptions & Pick<CubeFeatureOptions, "useFrom" | "useTo" | "context">,
): Promise<{ output: string; jobs: number; tiles: number }> {
  const source = await Cube.open(sourcePath);
  const run = newRun();
  const release = acquireWriterLock(output, `smapfill features ${sourcePath} --queue`, { run, ...(o.log ? { log: o.log } : {}) });
  try {
    const target = await createFeatureCube(source, output, o);
    const useFrom = o.useFrom ?? 0;
    const useTo = o.useTo ?? source.days - 1;
    // One job per static chunk (its 4 x 4 tiles): the per-pixel statistics are static layers.
    const jobs = source.staticChunkTiles().map((tiles) => ({
      id: `${run}-features-t${tiles[0]}`,
      name: "features" as const,
      data: { source: path.resolve(sourcePath), output: path.resolve(output), run, tiles, useFrom, useTo, context: Boolean(o.context) },
    }));
    o.log?.(`${jobs.length} feature jobs on ${o.queue} (queue ${QUEUE_NAME}, run ${run})`);
    await withQueue(o, async (queue, link) => {
      const { failed } = await runJobs<FeaturesJobData, { files: Record<string, string> }>(queue, link, target.path, jobs, o);
      if (failed.length) throw failedJobsError(failed, jobs.length, output);
    });
    await finishFeatureCube(source, target, output, o);
    return { output, jobs: jobs.length, tiles: source.tiles().length };
  } finally {
    release();
  }
}
