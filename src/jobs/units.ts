/**
 * The stages' units of work as distributed jobs: each stage exposes its unit (a tile and block of
 * days of a product, a block of days of a study, the tiles of a features chunk) as a function of
 * its own; a job wraps it with the run's lock (checked, not taken: the coordinator holds it) and
 * the sha256 of every chunk file it wrote, which the coordinator checks. Retries, resume records
 * and refusals of foreign jobs are the queue's (run-jobs.ts, job-processor.ts).
 */
import { checkRunLock } from "../cube/lock.js";
import { ingestBlock, type IngestBlock, type IngestBlockResult } from "../cube/ingest-block.js";
import { studyTarget } from "../cube/ingest-study.js";
import { loadStudy } from "../config/study.js";
import { writeFeatureTiles, type FeatureTiles } from "../features/cube-features.js";
import { reconstructBlock, type BlockJob, type ReconstructOptions } from "../reconstruct/reconstruct.js";
import { checksums } from "../util/checksum.js";

export type IngestJobData = IngestBlock & { run: string };
export type IngestJobResult = Omit<IngestBlockResult, "root" | "written"> & { files: Record<string, string> };
export type FeaturesJobData = FeatureTiles & { run: string };

/** A unit run under its run's lock; its written files replaced by their checksums. */
async function underLock<T extends { root: string; written: string[] }>(store: string, run: string, unit: () => Promise<T>) {
  checkRunLock(store, run);
  const { root, written, ...rest } = await unit();
  return { ...rest, files: checksums(root, written) };
}

export function reconstructJob(o: ReconstructOptions & { run: string; job: BlockJob }) {
  return underLock(o.out, o.run, () => reconstructBlock(o));
}

export function ingestJob(d: IngestJobData): Promise<IngestJobResult> {
  return underLock(studyTarget(loadStudy(d.study)).output, d.run, () => ingestBlock(d));
}

export function featuresJob(d: FeaturesJobData) {
  return underLock(d.output, d.run, () => writeFeatureTiles(d));
}
