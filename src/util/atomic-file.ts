/**
 * Files written whole or not at all: under a temporary name beside the target (NAME.PID.N.tmp),
 * renamed when complete, the temporary removed on any failure. A full disk (ENOSPC, or a quota:
 * EDQUOT) becomes one line naming the file, the space it needed and what is free, and saying that
 * a rerun resumes: every long command keeps what it finished.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "./errors.js";
import { failpointFires, failpointText } from "./failpoints.js";

let counter = 0;
/** What the current run's outputs need on disk, when the command knows (expectWrites). */
let expected: number | undefined;

/** Tells a full disk's message what the current run's outputs need in all (bytes). */
export function expectWrites(bytes: number): void {
  expected = bytes;
}

/**
 * An output folder that does not exist yet is removed at exit if the run leaves it empty (a run
 * that failed before writing anything leaves no empty --out behind).
 */
export function removeIfLeftEmpty(dir: string): void {
  if (fs.existsSync(dir)) return;
  process.on("exit", () => {
    try {
      if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
    } catch {
      // Never made, or not ours to remove.
    }
  });
}

/** A disk (or quota) that filled up while writing `file`. */
export class DiskFullError extends SmapfillError {
  constructor(
    readonly target: string,
    readonly bytes: number,
    /** What the whole run still needs, when the caller knows (bytes). */
    readonly runNeeds: number | undefined = expected,
    cause?: unknown,
  ) {
    const free = freeBytes(path.dirname(target));
    super(`no space left on the device: writing ${formatBytes(bytes)} failed${Number.isFinite(free) ? ` (${formatBytes(free)} free)` : ""}`, {
      file: target,
      hint: `Free at least ${formatBytes(Math.max(bytes, runNeeds ?? 0))}${runNeeds ? " (about what this run's outputs need in all)" : ""} or write elsewhere, and rerun: it resumes`,
      cause,
    });
  }

  /** The same failure, with what the whole run needs (a command that knows its estimate says so). */
  withRunNeeds(bytes: number): DiskFullError {
    return new DiskFullError(this.target, this.bytes, bytes, this.cause);
  }
}

export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT" || error instanceof DiskFullError;
}

/** Free bytes for an unprivileged writer on the file system of `dir` (Infinity when unknown). */
export function freeBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Infinity;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** A temporary name beside `file`, unique in this process. */
export function temporaryName(file: string): string {
  return `${file}.${process.pid}.${counter++}.tmp`;
}

/** The error to throw for a failed write of `file`: a DiskFullError when the disk is full, else the error itself. */
export function writeFailure(error: unknown, file: string, bytes: number): unknown {
  return isDiskFull(error) && !(error instanceof DiskFullError) ? new DiskFullError(file, bytes, undefined, error) : error;
}

/**
 * A full disk on purpose, for the tests of what it leaves behind: SMAPFILL_FAILPOINT=enospc:N
 * fails the N-th write of this process, enospc-at:TEXT every write of a file whose path holds TEXT
 * (after part of its temporary is written, as a real full disk does).
 */
export function simulatedDiskFull(file: string, tmp?: string, data?: Uint8Array | string): void {
  const at = failpointText("enospc-at");
  if (!(at !== undefined ? file.includes(at) : failpointFires("enospc"))) return;
  if (tmp && data) fs.writeFileSync(tmp, typeof data === "string" ? data.slice(0, data.length >> 1) : data.subarray(0, data.length >> 1));
  throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
}

/** Writes `file` atomically (synchronous). */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = temporaryName(file);
  try {
    simulatedDiskFull(file, tmp, data);
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw writeFailure(error, file, typeof data === "string" ? Buffer.byteLength(data) : data.length);
  }
}

/** Writes `file` atomically (asynchronous). */
export async function writeFileAtomicAsync(file: string, data: Uint8Array): Promise<void> {
  const tmp = temporaryName(file);
  try {
    simulatedDiskFull(file, tmp, data);
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (error) {
    await fs.promises.rm(tmp, { force: true });
    throw writeFailure(error, file, data.length);
  }
}

/** Temporary files a writer of this module (or an interrupted run) left under `dir`: NAME.PID.N.tmp. */
export function isTemporaryName(name: string): boolean {
  return /\.\d+\.\d+\.tmp$/.test(name);
}

/** True while a process of this host runs (or exists without our permission to signal it). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the temporary files (NAME.PID.N.tmp) directly in `dir` whose writing process is gone; returns how many. */
export function removeStaleTemporaries(dir: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = /\.(\d+)\.\d+\.tmp$/.exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      fs.rmSync(path.join(dir, name), { force: true });
      removed++;
    }
  }
  return removed;
}
