/**
 * What a job carries and who may run it. Every job's data name the build of smapfill that made
 * it (`code`, see code-version.ts), a reconstruction job also the fingerprint of its model; a
 * worker of another build, or one that sees other files at the model's path, refuses the job and
 * leaves it on the queue for a worker that matches, instead of mixing its output in.
 */
import os from "node:os";
import { productModelFingerprint, type BlockJob } from "../reconstruct/reconstruct.js";
import { messageOf } from "../util/errors.js";
import { codeVersion } from "./code-version.js";

/**
 * The queue's name carries the job protocol: a worker of an older protocol listens on another
 * queue and never takes (and fails) jobs it does not know. Bump it when a job's data or its
 * processor's contract changes (v3: jobs carry the build that made them, which workers check).
 */
export const QUEUE_NAME = "smapfill-jobs-v3";

export type JobKind = "reconstruct" | "ingest-smap" | "ingest-predictor" | "features";

/** What every job returns: the files it wrote (relative to its output) and their sha256. */
export interface JobResult {
  files: Record<string, string>;
}

/** What the coordinator adds to every job's data. */
export interface JobOrigin {
  /** The build of smapfill that made the job (codeVersion()). */
  code: string;
}

export interface ReconstructJobData {
  cube: string;
  model: string;
  /** The model's fingerprint when the run started: a worker that reads another model refuses the job. */
  modelFingerprint: string;
  out: string;
  run: string;
  job: BlockJob;
  everywhere?: boolean;
  batchRows?: number;
}

export interface ReconstructJobResult extends JobResult {
  clipped: number;
  warnings: string[];
}

/** How long a refused job waits before any worker may take it again (ms). */
export const REFUSAL_DELAY_MS = 2000;

/** Why this process must not run a job, or undefined when it may. */
export function foreignJobReason(kind: JobKind, data: unknown): string | undefined {
  const code = (data as Partial<JobOrigin>).code;
  if (code !== codeVersion()) return `it was made by smapfill ${code ?? "of an unknown build"}, this worker runs ${codeVersion()}`;
  if (kind !== "reconstruct") return undefined;
  const d = data as ReconstructJobData;
  let fingerprint: string;
  try {
    fingerprint = productModelFingerprint(d.model);
  } catch (e) {
    return `this worker cannot read the model ${d.model} (${messageOf(e).split("\n")[0]})`;
  }
  if (fingerprint !== d.modelFingerprint)
    return `the model ${d.model} is another one on this worker (fingerprint ${fingerprint}, the run's ${d.modelFingerprint})`;
  return undefined;
}

/** What a refusing worker tells the coordinator (as the job's progress). */
export interface RefusalNote {
  reason: string;
  /** The refusing worker: host and process id. */
  worker: string;
  code: string;
}

export function refusalNote(reason: string): RefusalNote {
  // This runs in the job's child process: the worker is its parent.
  return { reason, worker: `${os.hostname()} pid ${process.ppid}`, code: codeVersion() };
}

export function isRefusal(progress: unknown): progress is { refused: RefusalNote } {
  return typeof progress === "object" && progress !== null && "refused" in progress;
}
