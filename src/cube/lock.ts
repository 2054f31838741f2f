/**
 * One writer per cube or product. A lock file beside the store (`STORE.smapfill-lock`, outside
 * it, so the store's files stay the store's) names its holder: pid, host, start time, command,
 * and a lease its holder renews while it runs. A second writer is refused with the holder's
 * name; a stale lock (a dead pid on this host, or a lease expired, e.g. a machine that died) is
 * taken over: renamed aside atomically (of two racing takers one wins the rename), then created
 * anew with O_EXCL. Reentrant within a process (ingest takes it, then its SMAP step again).
 * Distributed workers write under the run's lock: they check it names their run, and take none.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  command: string;
  /** The run the lock belongs to (distributed workers check it). */
  run: string;
  /** ms since the epoch until which the lease holds (renewed at a quarter of its length). */
  lease_until: number;
}

const LEASE_MS = 120_000;
const held = new Map<string, { count: number; holder: LockHolder; timer: NodeJS.Timeout }>();

export function lockFile(store: string): string {
  return `${path.resolve(store).replace(/[\\/]+$/, "")}.smapfill-lock`;
}

export function readLock(store: string): LockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(lockFile(store), "utf8")) as LockHolder;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Why a lock may be taken over, or undefined while its holder is alive. */
export function staleness(h: LockHolder, now = Date.now()): string | undefined {
  if (h.host === os.hostname() && !pidAlive(h.pid)) return `its process ${h.pid} on this host is gone`;
  if (now > h.lease_until) return `its lease expired at ${new Date(h.lease_until).toISOString()}`;
  return undefined;
}

function describe(h: LockHolder): string {
  return `pid ${h.pid} on ${h.host}, ${h.command}, since ${h.started}`;
}

function writeHolder(file: string, h: LockHolder, flag: "wx" | "w"): void {
  if (flag === "wx") {
    const fd = fs.openSync(file, "wx");
    try {
      fs.writeSync(fd, JSON.stringify(h));
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  fs.writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(h));
  fs.renameSync(`${file}.${process.pid}.tmp`, file);
}

/**
 * Takes the writer lock of `store` for this process (or counts one more use of it), or refuses
 * with the holder's name. Returns the release function.
 */
export function acquireWriterLock(store: string, command: string, o: { run?: string; leaseMs?: number; log?: (s: string) => void } = {}): () => void {
  const file = lockFile(store);
  const mine = held.get(file);
  if (mine) {
    mine.count++;
    return () => releaseWriterLock(file);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const leaseMs = o.leaseMs ?? LEASE_MS;
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    command,
    run: o.run ?? `${os.hostname()}:${process.pid}:${Date.now()}`,
    lease_until: Date.now() + leaseMs,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      writeHolder(file, holder, "wx");
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 5) throw e;
    }
    const other = readLock(store);
    if (!other) continue; // released meanwhile
    const why = staleness(other);
    if (!why)
      throw new SmapfillError(`is being written by another smapfill run (${describe(other)})`, {
        file: store,
        hint: `Wait for it to finish, or stop it; a lock left by a dead run is taken over by itself (lease ${Math.round((other.lease_until - Date.now()) / 1000)} s left; lock file ${file})`,
      });
    // Aside under a unique name: of several takers only one renames this file.
    const aside = `${file}.stale-${process.pid}-${attempt}`;
    try {
      fs.renameSync(file, aside);
      fs.rmSync(aside, { force: true });
      o.log?.(`took over the lock of ${store}: ${why} (${describe(other)})`);
    } catch {
      // Another process took it first; look again.
    }
  }
  const timer = setInterval(() => {
    holder.lease_until = Date.now() + leaseMs;
    try {
      writeHolder(file, holder, "w");
    } catch {
      // The next renewal retries; the lease outlives three missed ones.
    }
  }, leaseMs / 4).unref();
  held.set(file, { count: 1, holder, timer });
  return () => releaseWriterLock(file);
}

function releaseWriterLock(file: string): void {
  const mine = held.get(file);
  if (!mine || --mine.count > 0) return;
  clearInterval(mine.timer);
  held.delete(file);
  try {
    const now = JSON.parse(fs.readFileSync(file, "utf8")) as LockHolder;
    if (now.pid === mine.holder.pid && now.host === mine.holder.host && now.started === mine.holder.started) fs.rmSync(file, { force: true });
  } catch {
    // Gone already.
  }
}

/** The run's lock must hold for a distributed worker to write (it takes none of its own). */
export function checkRunLock(store: string, run: string): void {
  const h = readLock(store);
  if (!h || h.run !== run)
    throw new SmapfillError(h ? `is locked by another run (${describe(h)})` : "is not locked by the run this job belongs to (it ended or was stopped)", {
      file: store,
      hint: "The job is stale: the coordinator of this run is gone; start the run again",
    });
}

// A process that exits (an error, Ctrl-C handled by Node) releases what it holds.
process.on("exit", () => {
  for (const [file, mine] of held) {
    mine.count = 1;
    releaseWriterLock(file);
  }
});
