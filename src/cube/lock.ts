/**
 * One writer per cube or product, and no writer while another run reads it. A lock file beside
 * the store (`STORE.smapfill-lock`, outside it, so the store's files stay the store's) names its
 * holder: pid, host, start time, command, and a lease its holder renews while it runs. A second
 * writer is refused with the holder's name; a stale lock (a dead pid on this host, or a lease
 * expired, e.g. a machine that died) is taken over. Reentrant within a process (ingest takes it,
 * then its SMAP step again). Distributed workers write under the run's lock: they check it names
 * their run, and take none.
 *
 * Taking over: the taker first creates a token named after the stale holder (O_EXCL: one taker per
 * stale lock), reads the lock again under the token and moves it aside only if it is still that
 * stale holder's, then creates its own with O_EXCL. Without the token, a taker that was slow
 * between its staleness check and its rename moved aside the fresh lock another taker had just
 * made, and both ran as the single writer.
 *
 * Readers (reconstruct reading its cube) register a file of the same form in
 * `STORE.smapfill-readers/`: a reader refuses a store with a live writer, a writer refuses a store
 * with a live reader, each checking the other after registering itself, so that two racing
 * processes cannot both go on (at worst both refuse). Readers never exclude each other.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { SmapfillError } from "../util/errors.js";
import { failpointValue, sleepSync } from "../util/failpoints.js";
import { pidAlive } from "../util/atomic-file.js";

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
/** A takeover token older than this belongs to a taker that died mid-takeover. */
const TOKEN_MS = 60_000;
const held = new Map<string, { count: number; holder: LockHolder; timer: NodeJS.Timeout }>();
const reading = new Map<string, { count: number; file: string; timer: NodeJS.Timeout }>();

export function lockFile(store: string): string {
  return `${path.resolve(store).replace(/[\\/]+$/, "")}.smapfill-lock`;
}

export function readLock(store: string): LockHolder | undefined {
  return readHolder(lockFile(store));
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as LockHolder;
  } catch {
    return undefined;
  }
}

/** The folder of a store's reader registrations. */
export function readersFolder(store: string): string {
  return `${path.resolve(store).replace(/[\\/]+$/, "")}.smapfill-readers`;
}

/** Which run a lock is (a renewal changes only its lease). */
function identity(h: LockHolder): string {
  return createHash("sha256")
    .update(JSON.stringify([h.pid, h.host, h.started, h.run]))
    .digest("hex")
    .slice(0, 16);
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
  const holder = newHolder(command, leaseMs, o.run);
  for (let attempt = 0; ; attempt++) {
    try {
      writeHolder(file, holder, "wx");
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (attempt > 40)
        throw new SmapfillError("could not take its writer lock: other runs keep taking it over", { file: store, hint: "Run again in a moment" });
      if (attempt > 0) sleepSync(25);
    }
    const other = readLock(store);
    if (!other) continue; // released meanwhile
    const why = staleness(other);
    if (!why) throw beingWritten(store, other);
    // SMAPFILL_FAILPOINT=lock-takeover-delay:MS: a slow taker, for the test of the race.
    const delay = failpointValue("lock-takeover-delay");
    if (delay) sleepSync(delay);
    if (takeOver(file, other, attempt)) o.log?.(`took over the lock of ${store}: ${why} (${describe(other)})`);
  }
  try {
    refuseLiveReaders(store);
  } catch (e) {
    fs.rmSync(file, { force: true });
    throw e;
  }
  const timer = setInterval(() => {
    holder.lease_until = Date.now() + leaseMs;
    try {
      // Never over another run's lock (ours expired and was taken over: renewing would hide that).
      const now = readHolder(file);
      if (now && identity(now) === identity(holder)) writeHolder(file, holder, "w");
    } catch {
      // The next renewal retries; the lease outlives three missed ones.
    }
  }, leaseMs / 4).unref();
  held.set(file, { count: 1, holder, timer });
  return () => releaseWriterLock(file);
}

/** This process as the holder of a lock (or a reader's registration). */
function newHolder(command: string, leaseMs: number, run?: string): LockHolder {
  return {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    command,
    run: run ?? `${os.hostname()}:${process.pid}:${Date.now()}`,
    lease_until: Date.now() + leaseMs,
  };
}

function beingWritten(store: string, other: LockHolder): SmapfillError {
  return new SmapfillError(`is being written by another smapfill run (${describe(other)})`, {
    file: store,
    hint: `Wait for it to finish, or stop it; a lock left by a dead run is taken over by itself (lease ${Math.round((other.lease_until - Date.now()) / 1000)} s left; lock file ${lockFile(store)})`,
  });
}

/**
 * Removes the stale lock `other` if it is still the one at `file`; true when this call removed
 * it. One taker per stale lock holds its token; the lock is read again under the token, so a lock
 * another taker made meanwhile is never moved.
 */
function takeOver(file: string, other: LockHolder, attempt: number): boolean {
  const token = `${file}.takeover-${identity(other)}`;
  try {
    fs.writeFileSync(token, String(process.pid), { flag: "wx" });
  } catch {
    // Another taker of this stale lock is at work; a token of a taker that died is cleared.
    try {
      if (Date.now() - fs.statSync(token).mtimeMs > TOKEN_MS) fs.rmSync(token, { force: true });
    } catch {
      // Gone already.
    }
    return false;
  }
  try {
    const now = readHolder(file);
    if (!now || identity(now) !== identity(other) || !staleness(now)) return false;
    const aside = `${file}.stale-${process.pid}-${attempt}`;
    fs.renameSync(file, aside);
    const moved = readHolder(aside);
    if (moved && identity(moved) !== identity(other)) {
      // Its holder released it and another run locked the store in between: give that lock back.
      try {
        fs.linkSync(aside, file);
      } finally {
        fs.rmSync(aside, { force: true });
      }
      return false;
    }
    fs.rmSync(aside, { force: true });
    return true;
  } catch {
    return false; // another process moved it first; look again
  } finally {
    fs.rmSync(token, { force: true });
  }
}

/** The live readers of a store other than this process (stale registrations are removed). */
function liveReaders(store: string): LockHolder[] {
  const dir = readersFolder(store);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const live: LockHolder[] = [];
  for (const name of names) {
    const h = readHolder(path.join(dir, name));
    if (!h) continue;
    if (h.pid === process.pid && h.host === os.hostname()) continue;
    if (staleness(h)) fs.rmSync(path.join(dir, name), { force: true });
    else live.push(h);
  }
  return live;
}

function refuseLiveReaders(store: string): void {
  const readers = liveReaders(store);
  if (readers.length)
    throw new SmapfillError(`is being read by another smapfill run (${readers.map(describe).join("; ")})`, {
      file: store,
      hint: "Wait for it to finish, or stop it: writing now would change the data under it (a reader that died is ignored once its process is gone or its lease expires)",
    });
}

/**
 * Registers this process as a reader of `store` (or counts one more use), or refuses while
 * another run writes it. Returns the release function. A process that holds the store's writer
 * lock reads it without registering.
 */
export function acquireReaderLock(store: string, command: string, o: { leaseMs?: number } = {}): () => void {
  if (/^https?:\/\//.test(store) || held.has(lockFile(store))) return () => {};
  const dir = readersFolder(store);
  const mine = reading.get(dir);
  if (mine) {
    mine.count++;
    return () => releaseReaderLock(dir);
  }
  const leaseMs = o.leaseMs ?? LEASE_MS;
  const holder = newHolder(command, leaseMs);
  const file = path.join(dir, `${holder.host.replace(/[^A-Za-z0-9_.-]/g, "_")}-${holder.pid}-${Date.now()}.json`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    writeHolder(file, holder, "w");
  } catch (e) {
    // A store on a read-only file system: no run can write it either; read it unregistered.
    if (!["EACCES", "EROFS", "EPERM"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
    const writer = readLock(store);
    if (writer && !staleness(writer)) throw beingWritten(store, writer);
    return () => {};
  }
  const writer = readLock(store);
  if (writer && !staleness(writer)) {
    fs.rmSync(file, { force: true });
    throw beingWritten(store, writer);
  }
  const timer = setInterval(() => {
    holder.lease_until = Date.now() + leaseMs;
    try {
      writeHolder(file, holder, "w");
    } catch {
      // The next renewal retries.
    }
  }, leaseMs / 4).unref();
  reading.set(dir, { count: 1, file, timer });
  return () => releaseReaderLock(dir);
}

function releaseReaderLock(dir: string): void {
  const mine = reading.get(dir);
  if (!mine || --mine.count > 0) return;
  clearInterval(mine.timer);
  reading.delete(dir);
  fs.rmSync(mine.file, { force: true });
  try {
    fs.rmdirSync(dir); // the last reader leaves nothing beside the store
  } catch {
    // Other readers remain.
  }
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
  for (const [dir, mine] of reading) {
    mine.count = 1;
    releaseReaderLock(dir);
  }
});
