/**
 * One writer per cube or product: a second writer is refused with the holder's name; a stale
 * lock (dead pid here, expired lease elsewhere) is taken over; two `smapfill ingest` runs into one
 * cube no longer both succeed and lose metadata.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { acquireReaderLock, acquireWriterLock, checkRunLock, lockFile, readersFolder, readLock, type LockHolder } from "../../src/cube/lock.js";
import { Cube } from "../../src/cube/cube.js";
import { writeWorld } from "../../src/synth/write-world.js";
import { writeWorldStudy } from "../../src/synth/world-study.js";
import { WORLD_PRESETS } from "../../src/synth/world.js";
import { REPO_ROOT, tempDir } from "../helpers.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");

function plant(store: string, h: Partial<LockHolder>): void {
  const holder: LockHolder = {
    pid: 1,
    host: os.hostname(),
    started: "2026-01-01T00:00:00.000Z",
    command: "smapfill ingest other.yaml",
    run: "r",
    lease_until: Date.now() + 60_000,
    ...h,
  };
  fs.writeFileSync(lockFile(store), JSON.stringify(holder));
}

/** A pid that is surely not running: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

test("the writer lock: refuses a live holder by name, takes over a dead pid or an expired lease, is reentrant, and is released", () => {
  const dir = tempDir();
  const store = path.join(dir, "a.zarr");
  // A live holder (pid 1 on this host is alive; a fresh lease on another host too).
  plant(store, { pid: 1 });
  assert.throws(
    () => acquireWriterLock(store, "test"),
    /a\.zarr: is being written by another smapfill run \(pid 1 on .+, smapfill ingest other\.yaml, since 2026-01-01T00:00:00\.000Z\)/,
  );
  plant(store, { pid: 4242, host: "elsewhere", lease_until: Date.now() + 60_000 });
  assert.throws(() => acquireWriterLock(store, "test"), /pid 4242 on elsewhere/);
  // Stale: a dead pid on this host, an expired lease on another.
  for (const stale of [{ pid: deadPid() }, { pid: 4242, host: "elsewhere", lease_until: Date.now() - 1 }]) {
    plant(store, stale);
    const messages: string[] = [];
    const release = acquireWriterLock(store, "test", { run: "mine", log: (m) => messages.push(m) });
    assert.match(messages.join(), /took over the lock of .*a\.zarr: (its process \d+ on this host is gone|its lease expired)/);
    assert.equal(readLock(store)!.pid, process.pid);
    assert.equal(readLock(store)!.run, "mine");
    // Reentrant: ingest takes the lock, then its SMAP step again.
    const inner = acquireWriterLock(store, "inner");
    inner();
    assert.ok(fs.existsSync(lockFile(store)), "still held after the inner release");
    checkRunLock(store, "mine");
    assert.throws(() => checkRunLock(store, "another"), /is locked by another run/);
    release();
    assert.ok(!fs.existsSync(lockFile(store)), "released");
  }
  assert.throws(() => checkRunLock(store, "mine"), /is not locked by the run this job belongs to/);
  // The lock lives beside the store, not in it.
  assert.equal(path.dirname(lockFile(store)), dir);
});

test("smapfill ingest into a cube another run is writing is refused naming it; once that run is killed, its lock is taken over", async () => {
  const dir = tempDir();
  const config = { ...WORLD_PRESETS.test, days: 30 };
  await writeWorld(config, path.join(dir, "w"));
  const study = writeWorldStudy(path.join(dir, "w"), config, "../cube.zarr");
  const cube = path.join(dir, "cube.zarr");
  // Another writer: a process holding the cube's lock (as a running ingest does) until killed.
  const lockModule = path.join(REPO_ROOT, "dist", "src", "cube", "lock.js");
  const holder = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { acquireWriterLock } from ${JSON.stringify(lockModule)}; acquireWriterLock(${JSON.stringify(cube)}, "smapfill ingest other.yaml"); process.stdout.write("held\\n"); setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise((resolve) => holder.stdout!.once("data", resolve));
  const refused = spawnSync(process.execPath, [BIN, "ingest", study, "--quiet"], { encoding: "utf8" });
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(`cube\\.zarr: is being written by another smapfill run \\(pid ${holder.pid} on ${os.hostname()}, smapfill ingest other\\.yaml, since \\d{4}-`),
  );
  assert.ok(!fs.existsSync(path.join(cube, "zarr.json")), "nothing written");
  holder.kill("SIGKILL");
  await new Promise((resolve) => holder.on("exit", resolve));
  const ok = spawnSync(process.execPath, [BIN, "ingest", study], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /took over the lock of .*cube\.zarr: its process \d+ on this host is gone/);
  assert.ok(!fs.existsSync(lockFile(cube)), "released at the end");
  const c = await Cube.open(cube);
  assert.equal(c.variables.length, 19, c.variables.map((v) => v.name).join(", "));
});

const LOCK_MODULE = path.join(REPO_ROOT, "dist", "src", "cube", "lock.js");

/** A process that takes the writer (or reader) lock of `store`, says "held" or its error, and holds it for `holdMs`. */
function locker(store: string, o: { env?: Record<string, string>; holdMs?: number; kind?: "writer" | "reader" } = {}) {
  const take = o.kind === "reader" ? "acquireReaderLock" : "acquireWriterLock";
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { ${take} } from ${JSON.stringify(LOCK_MODULE)};
       try { ${take}(${JSON.stringify(store)}, "smapfill test"); process.stdout.write("held\\n"); setTimeout(() => {}, ${o.holdMs ?? 1500}); }
       catch (e) { process.stdout.write("refused: " + e.message + "\\n"); }`,
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...o.env } },
  );
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  const done = new Promise<string>((resolve) => child.on("exit", () => resolve(out)));
  return { child, done, said: () => new Promise<void>((resolve) => child.stdout!.once("data", () => resolve())) };
}

test("the takeover race: a taker slow between its staleness check and its rename does not take the lock another taker just made", async () => {
  for (let round = 0; round < 2; round++) {
    const store = path.join(tempDir(), "race.zarr");
    plant(store, { pid: deadPid() });
    // The slow taker judges the lock stale, then waits; the quick one takes it over meanwhile.
    const slow = locker(store, { env: { SMAPFILL_FAILPOINT: "lock-takeover-delay:700" }, holdMs: 2500 });
    await new Promise((r) => setTimeout(r, 250));
    const quick = locker(store, { holdMs: 2500 });
    const outs = await Promise.all([slow.done, quick.done]);
    assert.equal(outs.filter((o) => o.startsWith("held")).length, 1, `exactly one holds the lock: ${JSON.stringify(outs)}`);
    assert.match(
      outs.find((o) => !o.startsWith("held"))!,
      /refused: .*race\.zarr: is being written by another smapfill run \(pid \d+/,
    );
    assert.deepEqual(
      fs.readdirSync(path.dirname(store)).filter((n) => /takeover|stale-/.test(n)),
      [],
      "no takeover token or moved lock is left",
    );
  }
});

test("readers and writers exclude each other: a reader refuses a live writer, a writer refuses a live reader, readers share", async () => {
  const store = path.join(tempDir(), "shared.zarr");
  const reader = locker(store, { kind: "reader", holdMs: 60_000 });
  await reader.said();
  assert.throws(
    () => acquireWriterLock(store, "smapfill ingest s.yaml"),
    /shared\.zarr: is being read by another smapfill run \(pid \d+ on .*, smapfill test, since/,
  );
  assert.ok(!fs.existsSync(lockFile(store)), "the refused writer left no lock");
  const second = acquireReaderLock(store, "another reader");
  second();
  reader.child.kill("SIGKILL");
  await reader.done;
  // A reader that died is ignored (and its registration removed).
  const release = acquireWriterLock(store, "smapfill ingest s.yaml");
  const refused = locker(store, { kind: "reader" });
  assert.match(await refused.done, /refused: .*shared\.zarr: is being written by another smapfill run/);
  release();
  assert.deepEqual(fs.existsSync(readersFolder(store)) ? fs.readdirSync(readersFolder(store)) : [], [], "no reader registration is left");
});
