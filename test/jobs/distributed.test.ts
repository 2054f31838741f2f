/**
 * Distributed reconstruction on a real redis-server (Debian's, started here on a loopback port):
 * two worker processes, one killed with SIGKILL mid-job; the run completes with the same chunks
 * as a single-process run. The same job run twice changes nothing; a poisoned job (a corrupt
 * input chunk) ends in the failed list with its error while the rest completes.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { acquireWriterLock } from "../../src/cube/lock.js";
import { QUEUE_NAME } from "../../src/jobs/queue.js";
import { reconstructBlockJob } from "../../src/reconstruct/reconstruct.js";
import { REPO_ROOT, fileHashes, tempDir } from "../helpers.js";
import { smallChunkedCube } from "../test-world.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
const REDIS = "/usr/bin/redis-server";
const missing = !fs.existsSync(REDIS);
if (missing && process.env.CI) throw new Error(`${REDIS} is missing: .ci/run installs Debian's redis-server for the distributed tests`);
const skip = missing ? `no ${REDIS} (apt-get install redis-server)` : false;

/** Every file of a product store but the metadata, which holds creation timestamps (zarr.json, .smapfill-root.json). */
function chunkHashes(store: string): Map<string, string> {
  // Metadata apart: the group's zarr.json (timestamps) and the chunk manifest's segments, which
  // list each writing process's chunks (a job run twice lists them again; the main manifest is compared).
  return new Map([...fileHashes(store)].filter(([f]) => !/(^|\/)(zarr\.json|\.smapfill-root\.json)$|^\.smapfill-manifest\.d\//.test(f)));
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let redis: ChildProcess | undefined;
let url = "";
let dir = "";
let cube = "";
let studyFile = "";
const children: ChildProcess[] = [];
before(async () => {
  if (missing) return;
  const port = await freePort();
  redis = spawn(REDIS, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  url = `redis://127.0.0.1:${port}/0`;
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (i > 50) throw new Error("redis-server did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  dir = tempDir();
  // Small chunks: 6 tiles x 3 blocks of days = 18 jobs.
  ({ cube, study: studyFile } = await smallChunkedCube(dir));
  const train = spawnSync(
    process.execPath,
    [BIN, "train", cube, "--model", "xgb", "--out", path.join(dir, "model"), "--xgb-rounds", "40", "--max-train-samples", "3000", "--quiet"],
    {
      encoding: "utf8",
    },
  );
  assert.equal(train.status, 0, train.stderr);
});
after(() => {
  for (const c of children) c.kill("SIGKILL");
  redis?.kill();
});

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** A command with --queue and `workers` worker processes (1 job at a time each), stopped once it ends. */
async function withWorkers(args: string[], workers: number) {
  const coordinator = run([...args, "--queue", url, "--quiet"]);
  const started = Array.from({ length: workers }, () => {
    const w = run(["worker", "--queue", url, "--concurrency", "1", "--lock-ms", "2000"]);
    return { exit: w, process: children.at(-1)! };
  });
  const result = await coordinator;
  for (const w of started) w.process.kill("SIGTERM");
  await Promise.all(started.map((w) => w.exit));
  return result;
}

/** `reconstruct --queue` of a cube with one worker (2 jobs at a time), stopped once the coordinator ends. */
async function reconstructWithOneWorker(cubePath: string, out: string) {
  const coordinator = run(["reconstruct", cubePath, "--model", path.join(dir, "model"), "--out", out, "--queue", url, "--quiet"]);
  const worker = run(["worker", "--queue", url, "--concurrency", "2", "--lock-ms", "2000"]);
  const workerProcess = children.at(-1)!;
  const result = await coordinator;
  workerProcess.kill("SIGTERM");
  await worker;
  return result;
}

async function clearQueue(): Promise<void> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const q = new Queue(QUEUE_NAME, { connection });
  await q.obliterate({ force: true });
  await q.close();
  connection.disconnect();
}

test(
  "a distributed run with two workers, one killed mid-job (SIGKILL), ends with the single-process run's chunks; the same job twice changes nothing",
  { skip, timeout: 180_000 },
  async () => {
    await clearQueue();
    const model = path.join(dir, "model");
    const single = spawnSync(process.execPath, [BIN, "reconstruct", cube, "--model", model, "--out", path.join(dir, "single"), "--quiet"], {
      encoding: "utf8",
    });
    assert.equal(single.status, 0, single.stderr);
    const out = path.join(dir, "distributed");
    const coordinator = run(["reconstruct", cube, "--model", model, "--out", out, "--queue", url]);
    // Worker A dies (itself and its job's process, SIGKILL) at its second job; B picks that job up
    // once its lock (2 s) expires.
    const a = run(["worker", "--queue", url, "--concurrency", "1", "--lock-ms", "2000"], { SMAPFILL_FAILPOINT: "worker-job:2" });
    const b = run(["worker", "--queue", url, "--concurrency", "1", "--lock-ms", "2000"]);
    const c = await coordinator;
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /6 tiles/);
    const ra = await a;
    assert.equal(ra.signal, "SIGKILL", "worker A was killed mid-job");
    children.at(-1)!.kill("SIGTERM");
    await b;
    const store = path.join(out, "product.zarr");
    const want = chunkHashes(path.join(dir, "single", "product.zarr"));
    const got = chunkHashes(store);
    assert.ok(want.size > 18 * 3, `${want.size} chunk files`);
    assert.deepEqual(got, want, "every chunk file's sha256 equal to the single-process run's");
    const status = spawnSync(process.execPath, [BIN, "status", "--queue", url], { encoding: "utf8" });
    assert.match(status.stdout, /18 jobs: 18 completed, 0 active, 0 waiting, 0 delayed \(retry back-off\), 0 failed/);

    // The same job id enqueued again is the same job (BullMQ keeps one per id)...
    const connection = new Redis(url, { maxRetriesPerRequest: null });
    const q = new Queue(QUEUE_NAME, { connection });
    const first = (await q.getJobs(["completed"], 0, 0))[0]!;
    const again = await q.add(first.name, first.data, { jobId: first.id });
    assert.equal(again.id, first.id);
    assert.equal(await q.getJobState(first.id!), "completed");
    assert.equal(await q.count(), 0, "nothing waiting");
    await q.close();
    connection.disconnect();
    // ...and the same job run twice (a duplicate delivery) rewrites the same bytes.
    const release = acquireWriterLock(store, "test", { run: first.data.run });
    try {
      const r1 = await reconstructBlockJob({ ...first.data });
      const r2 = await reconstructBlockJob({ ...first.data });
      assert.deepEqual(r1.files, r2.files);
      assert.deepEqual(r1.files, (first.returnvalue as { files: Record<string, string> }).files);
    } finally {
      release();
    }
    assert.deepEqual(chunkHashes(store), want);
    // A job of a run that does not hold the product's lock is refused.
    await assert.rejects(reconstructBlockJob({ ...first.data }), /not locked by the run this job belongs to/);
  },
);

test(
  "a poisoned job (a corrupt input chunk) ends in the failed list with its error; the other tiles complete and a rerun resumes them",
  { skip, timeout: 180_000 },
  async () => {
    await clearQueue();
    // A copy of the cube with one chunk of SMAP bytes destroyed (tile 0, first days).
    const bad = path.join(dir, "bad.zarr");
    fs.cpSync(cube, bad, { recursive: true });
    fs.writeFileSync(path.join(bad, "soil_moisture", "c", "0", "0", "0"), "not gzip at all");
    const out = path.join(dir, "poisoned");
    const c = await reconstructWithOneWorker(bad, out);
    assert.equal(c.code, 2, c.stdout);
    // Every job of tile 0 reads the tile's whole SMAP series: its 3 jobs fail, the other 15 complete.
    assert.match(c.stderr, /3 of 18 jobs failed:\n {2}\w+-t0-d0: [^\n]*(gzip|header|incorrect|invalid|check)/i);
    const status = spawnSync(process.execPath, [BIN, "status", "--queue", url], { encoding: "utf8" });
    assert.match(status.stdout, /15 completed, 0 active, 0 waiting, 0 delayed \(retry back-off\), 3 failed/);
    assert.match(status.stdout, /failed \w+-t0-d0 after 3 attempts: /);
    const progress = JSON.parse(fs.readFileSync(path.join(out, "product.zarr", "zarr.json"), "utf8")).attributes.reconstruct;
    assert.deepEqual(progress.tiles_done, [1, 2, 3, 4, 5], "the other tiles are recorded as done");
    // The input repaired, the same command again: the failed jobs are retried, the rest kept.
    fs.copyFileSync(path.join(cube, "soil_moisture", "c", "0", "0", "0"), path.join(bad, "soil_moisture", "c", "0", "0", "0"));
    const c2 = await reconstructWithOneWorker(bad, out);
    assert.equal(c2.code, 0, c2.stderr);
    assert.match(c2.stdout, /6 tiles \(5 done before\)/);
    assert.deepEqual(chunkHashes(path.join(out, "product.zarr")), chunkHashes(path.join(dir, "single", "product.zarr")));
  },
);

test(
  "ingest and features through the queue (2 workers: a job per block of days, per static chunk of tiles) write the single-process chunks and block records",
  { skip, timeout: 180_000 },
  async () => {
    await clearQueue();
    // The same study into another cube.
    const queued = path.join(dir, "w", "study-queue.yaml");
    fs.writeFileSync(queued, fs.readFileSync(studyFile, "utf8").replace("output: ../cube.zarr", "output: ../cube-queue.zarr"));
    const ingest = await withWorkers(["ingest", queued], 2);
    assert.equal(ingest.code, 0, ingest.stderr);
    const cubeQueue = path.join(dir, "cube-queue.zarr");
    assert.deepEqual(chunkHashes(cubeQueue), chunkHashes(cube));
    const attributes = (store: string) => JSON.parse(fs.readFileSync(path.join(store, "zarr.json"), "utf8")).attributes;
    for (const key of ["smap_ingest", "predictor_ingest"]) assert.deepEqual(attributes(cubeQueue)[key], attributes(cube)[key], key);
    assert.equal(fs.existsSync(`${cubeQueue}.smapfill-lock`), false, "the run's lock is released");
    // Ingest again: every block is recorded, no job is enqueued.
    const again = await withWorkers(["ingest", queued], 1);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(chunkHashes(cubeQueue), chunkHashes(cube));

    const single = spawnSync(process.execPath, [BIN, "features", cube, "--out", path.join(dir, "features-single.zarr"), "--context", "--quiet"], {
      encoding: "utf8",
    });
    assert.equal(single.status, 0, single.stderr);
    const features = await withWorkers(["features", cube, "--out", path.join(dir, "features-queue.zarr"), "--context"], 2);
    assert.equal(features.code, 0, features.stderr);
    assert.match(features.stdout, /6 tiles in 1 jobs through redis/);
    assert.deepEqual(chunkHashes(path.join(dir, "features-queue.zarr")), chunkHashes(path.join(dir, "features-single.zarr")));
  },
);
