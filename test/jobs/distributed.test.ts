/**
 * Distributed reconstruction on a real redis-server (Debian's, started here on a loopback port):
 * two worker processes, one killed with SIGKILL mid-job; the run completes with the same chunks
 * as a single-process run. The same job run twice changes nothing; a poisoned job (a corrupt
 * input chunk) ends in the failed list with its error while the rest completes.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { acquireWriterLock } from "../../src/cube/lock.js";
import { codeVersion } from "../../src/jobs/code-version.js";
import { foreignJobReason, QUEUE_NAME } from "../../src/jobs/job-data.js";
import { runJobs, withQueue } from "../../src/jobs/run-jobs.js";
import { reconstructJob } from "../../src/jobs/units.js";
import { REPO_ROOT, fileHashes, tempDir } from "../helpers.js";
import { smallChunkedCube } from "../test-world.js";
import { RedisServer, skipWithoutRedis as skip } from "./redis-server.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");

/** Every file of a product store but the metadata, which holds creation timestamps (zarr.json, .smapfill-root.json). */
function chunkHashes(store: string): Map<string, string> {
  // Metadata apart: the group's zarr.json (timestamps) and the chunk manifest's segments, which
  // list each writing process's chunks (a job run twice lists them again; the main manifest is compared).
  return new Map([...fileHashes(store)].filter(([f]) => !/(^|\/)(zarr\.json|\.smapfill-root\.json)$|^\.smapfill-manifest\.d\//.test(f)));
}

let redis: RedisServer | undefined;
let url = "";
let dir = "";
let cube = "";
let studyFile = "";
const children: ChildProcess[] = [];
before(async () => {
  if (skip) return;
  redis = await RedisServer.start();
  url = redis.url;
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
  const single = spawnSync(process.execPath, [BIN, "reconstruct", cube, "--model", path.join(dir, "model"), "--out", path.join(dir, "single"), "--quiet"], {
    encoding: "utf8",
  });
  assert.equal(single.status, 0, single.stderr);
});
after(async () => {
  for (const c of children) c.kill("SIGKILL");
  await redis?.kill("SIGTERM");
});

/** The single-process run's chunks, which every distributed run must reproduce byte for byte. */
const singleChunks = () => chunkHashes(path.join(dir, "single", "product.zarr"));

interface Exit {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** smapfill in a child process: the process, its output so far, and its exit. */
function start(args: string[], env: Record<string, string> = {}, bin = BIN) {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const output = { stdout: "", stderr: "" };
  child.stdout!.on("data", (d) => (output.stdout += d));
  child.stderr!.on("data", (d) => (output.stderr += d));
  const exit = new Promise<Exit>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, ...output })));
  return { process: child, output, exit };
}

function run(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  return start(args, env).exit;
}

/** A worker (`concurrency` jobs at a time, 2 s locks), with its environment. */
function startWorker(concurrency: number, env: Record<string, string> = {}, bin = BIN) {
  return start(["worker", "--queue", url, "--concurrency", String(concurrency), "--lock-ms", "2000"], env, bin);
}

/** Stops workers (SIGTERM: they finish the job in hand) and returns their exits. */
async function stop(...workers: ReturnType<typeof start>[]): Promise<Exit[]> {
  for (const w of workers) w.process.kill("SIGTERM");
  return Promise.all(workers.map((w) => w.exit));
}

/** A command with --queue and `workers` worker processes (1 job at a time each), stopped once it ends. */
async function withWorkers(args: string[], workers: number) {
  const coordinator = run([...args, "--queue", url, "--quiet"]);
  const started = Array.from({ length: workers }, () => startWorker(1));
  const result = await coordinator;
  await stop(...started);
  return result;
}

/** `reconstruct --queue` of a cube with one worker (2 jobs at a time), stopped once the coordinator ends. */
async function reconstructWithOneWorker(cubePath: string, out: string) {
  const coordinator = run(["reconstruct", cubePath, "--model", path.join(dir, "model"), "--out", out, "--queue", url, "--quiet"]);
  const worker = startWorker(2);
  const result = await coordinator;
  await stop(worker);
  return result;
}

async function clearQueue(): Promise<void> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const q = new Queue(QUEUE_NAME, { connection });
  await q.obliterate({ force: true });
  await q.close();
  connection.disconnect();
}

/** The processes alive whose environment holds SMAPFILL_TEST_MARK=mark (a worker and the job processes it forked). */
function markedProcesses(mark: string): number[] {
  const pids: number[] = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`SMAPFILL_TEST_MARK=${mark}`)) pids.push(Number(pid));
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return pids;
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  "a distributed run with two workers, one killed mid-job (SIGKILL), ends with the single-process run's chunks and leaves no job process behind; the same job twice changes nothing",
  { skip, timeout: 180_000 },
  async () => {
    await clearQueue();
    const model = path.join(dir, "model");
    const out = path.join(dir, "distributed");
    const coordinator = run(["reconstruct", cube, "--model", model, "--out", out, "--queue", url]);
    // Worker A is killed (SIGKILL, as the OOM killer would) at its second job, while the job's
    // own process runs; B picks that job up once its lock (2 s) expires.
    const mark = randomUUID();
    const a = startWorker(1, { SMAPFILL_FAILPOINT: "worker-job:2", SMAPFILL_TEST_MARK: mark });
    const b = startWorker(1);
    const ra = await a.exit;
    assert.equal(ra.signal, "SIGKILL", "worker A was killed mid-job");
    // Its job process stops with it (before: it finished the job, then spun at 30-40 % CPU on
    // the closed channel to its parent for minutes).
    await waitFor("worker A's job process to end", () => markedProcesses(mark).length === 0, 5000).catch(() => {
      throw new Error(`worker A's job processes outlived it: ${markedProcesses(mark).join(", ")}`);
    });
    const c = await coordinator;
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /6 tiles/);
    await stop(b);
    const store = path.join(out, "product.zarr");
    const want = singleChunks();
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
      const r1 = await reconstructJob({ ...first.data });
      const r2 = await reconstructJob({ ...first.data });
      assert.deepEqual(r1.files, r2.files);
      assert.deepEqual(r1.files, (first.returnvalue as { files: Record<string, string> }).files);
    } finally {
      release();
    }
    assert.deepEqual(chunkHashes(store), want);
    // A job of a run that does not hold the product's lock is refused.
    await assert.rejects(reconstructJob({ ...first.data }), /not locked by the run this job belongs to/);
  },
);

test(
  "the same run again after its output was deleted, or into another --out, enqueues its jobs again (they completed before) and ends with the same chunks",
  { skip, timeout: 180_000 },
  async () => {
    // The queue holds the 18 completed jobs of the run above; its product is deleted.
    const out = path.join(dir, "distributed");
    fs.rmSync(out, { recursive: true });
    const again = await reconstructWithOneWorker(cube, out);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /18 jobs had completed before, but their output is gone or changed \(deleted, moved or replaced\): enqueued again/);
    assert.deepEqual(chunkHashes(path.join(out, "product.zarr")), singleChunks());
    // The same settings into another folder: jobs of their own (their ids name the output).
    const other = path.join(dir, "distributed-other");
    const elsewhere = await reconstructWithOneWorker(cube, other);
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.deepEqual(chunkHashes(path.join(other, "product.zarr")), singleChunks());
    // A product moved: the command on its new place resumes it (every tile was done).
    fs.renameSync(out, `${out}-moved`);
    const moved = await reconstructWithOneWorker(cube, `${out}-moved`);
    assert.equal(moved.code, 0, moved.stderr);
    assert.match(moved.stdout, /6 tiles \(6 done before\)/);
  },
);

test(
  "Redis SIGKILLed and restarted (empty) in the middle of a run: workers and coordinator say so in one line each, reconnect, enqueue the lost jobs again, and end with the single-process chunks",
  { skip, timeout: 180_000 },
  async () => {
    const server = await RedisServer.start();
    const at = server.url;
    const out = path.join(dir, "redis-restart");
    try {
      // Every job waits 400 ms first, so that the run is still going when Redis dies.
      const slow = { SMAPFILL_FAILPOINT: "job-delay:400" };
      const workers = [1, 2].map(() => start(["worker", "--queue", at, "--concurrency", "1", "--lock-ms", "2000"], slow));
      const coordinator = start(["reconstruct", cube, "--model", path.join(dir, "model"), "--out", out, "--queue", at, "--quiet"]);
      const probe = new Redis(at, { maxRetriesPerRequest: null, lazyConnect: true });
      probe.on("error", () => {});
      await waitFor("4 completed jobs", async () => (await probe.zcard(`bull:${QUEUE_NAME}:completed`)) >= 4, 120_000);
      probe.disconnect();
      await server.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(coordinator.process.exitCode, null, "the coordinator waits for Redis");
      await server.restart();
      const c = await coordinator.exit;
      const stopped = await stop(...workers);
      assert.equal(c.code, 0, c.stderr);
      assert.deepEqual(chunkHashes(path.join(out, "product.zarr")), singleChunks());
      const away = new RegExp(
        `Redis at ${at.replace(/[/.]/g, "\\$&")} is unreachable \\((connect ECONNREFUSED|read ECONNRESET)[^)]*\\); trying again every 1 s`,
      );
      assert.match(c.stderr, away);
      assert.match(c.stderr, /is back after \d+ s/);
      assert.match(c.stderr, /jobs were no longer on the queue \(Redis restarted without its data\?\): enqueued again/);
      for (const w of [c, ...stopped]) {
        assert.doesNotMatch(w.stderr, /^\s+at /m, "no stack trace");
        assert.ok(w.stderr.split("\n").filter((l) => / is unreachable /.test(l)).length <= 1, `one line while Redis is away:\n${w.stderr}`);
      }
      for (const w of stopped) {
        assert.match(w.stderr, away);
        assert.match(w.stderr, /is back after \d+ s/);
        assert.equal(w.code, 0, w.stderr);
      }
      // Both workers took jobs after the restart.
      const doneAfter = (w: Exit) => w.stderr.slice(w.stderr.indexOf("is back after")).match(/ done /g)?.length ?? 0;
      assert.ok(
        stopped.every((w) => doneAfter(w) > 0),
        stopped.map((w) => w.stderr).join("\n---\n"),
      );
    } finally {
      await server.kill();
    }
  },
);

test(
  "a worker of another build refuses the run's jobs and leaves them on the queue: the coordinator says so, a worker of its build does them all, the chunks are the single-process ones",
  { skip, timeout: 180_000 },
  async () => {
    await clearQueue();
    // Another build: this installation's compiled code with one file changed.
    const foreign = path.join(dir, "foreign-install");
    fs.mkdirSync(path.join(foreign, "dist"), { recursive: true });
    for (const d of ["bin", "dist/src", "dist/wasm"]) fs.cpSync(path.join(REPO_ROOT, d), path.join(foreign, d), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(foreign, "package.json"));
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(foreign, "node_modules"));
    fs.appendFileSync(path.join(foreign, "dist", "src", "reconstruct", "reconstruct.js"), "\n// another build\n");
    const other = startWorker(1, {}, path.join(foreign, "bin", "smapfill.js"));
    await waitFor("the other build's worker", () => / worker on /.test(other.output.stderr), 60_000);
    assert.doesNotMatch(other.output.stderr, new RegExp(codeVersion().replace(/[+.]/g, "\\$&")), "the other build has another version");
    const out = path.join(dir, "foreign");
    const coordinator = start(["reconstruct", cube, "--model", path.join(dir, "model"), "--out", out, "--queue", url, "--quiet"]);
    await waitFor("a refusal", () => /refused by the worker on /.test(coordinator.output.stderr), 60_000);
    const mine = startWorker(1);
    const c = await coordinator.exit;
    const [o, m] = await stop(other, mine);
    assert.equal(c.code, 0, c.stderr);
    assert.match(
      c.stderr,
      new RegExp(
        `refused by the worker on [^:]+: it was made by smapfill ${codeVersion().replace(/[+.]/g, "\\$&")}, this worker runs [^;]+; it waits for a worker of smapfill`,
      ),
    );
    assert.match(o!.stderr, /refused job \w+-t\d+-d\d+.*: it was made by smapfill .*; left on the queue for a matching worker/);
    assert.doesNotMatch(o!.stderr, / done /, "the other build ran none of the jobs");
    assert.equal(m!.stderr.match(/ done /g)?.length, 18, "this build's worker ran them all");
    assert.deepEqual(chunkHashes(path.join(out, "product.zarr")), singleChunks());
  },
);

test("a reconstruction job is foreign to a worker that sees another model at its path, or another build's job", { skip }, () => {
  const model = path.join(dir, "model-copy");
  fs.cpSync(path.join(dir, "model"), model, { recursive: true });
  const job = (fingerprint: string, code = codeVersion()) => ({
    cube,
    model,
    modelFingerprint: fingerprint,
    out: path.join(dir, "nowhere"),
    run: "r",
    job: { tile: 0, b0: 0, b1: 16 },
    code,
  });
  const fingerprint = JSON.parse(fs.readFileSync(path.join(dir, "single", "product.zarr", "zarr.json"), "utf8")).attributes.model_fingerprint as string;
  assert.equal(foreignJobReason("reconstruct", job(fingerprint)), undefined);
  assert.match(foreignJobReason("reconstruct", job(fingerprint, "0.0.1+000000000000"))!, /made by smapfill 0\.0\.1\+000000000000, this worker runs /);
  assert.match(foreignJobReason("ingest-smap", { study: "s.yaml", run: "r", block: 0 })!, /made by smapfill of an unknown build/);
  const uncertainty = path.join(model, "uncertainty.json");
  fs.writeFileSync(uncertainty, fs.readFileSync(uncertainty, "utf8").replace(/\}\s*$/, ', "retrained": true }'));
  assert.match(
    foreignJobReason("reconstruct", job(fingerprint))!,
    new RegExp(`the model .* is another one on this worker \\(fingerprint \\w+, the run's ${fingerprint}\\)`),
  );
  fs.rmSync(model, { recursive: true });
  assert.match(foreignJobReason("reconstruct", job(fingerprint))!, /this worker cannot read the model .*model-copy/);
});

test(
  "a coordinator whose Redis stays away gives up after redisWaitMs with one line; with no worker it says none listens",
  { skip, timeout: 60_000 },
  async () => {
    const server = await RedisServer.start();
    const warnings: string[] = [];
    const job = { id: `lonely-${randomUUID().slice(0, 8)}`, name: "features" as const, data: { nothing: true } };
    const started = Date.now();
    await assert.rejects(
      withQueue({ queue: server.url, warn: (m) => warnings.push(m) }, (queue, link) =>
        runJobs(queue, link, dir, [job], {
          recheckMs: 200,
          redisWaitMs: 1500,
          warn: (m) => {
            warnings.push(m);
            // Redis dies once the coordinator has said that no worker listens.
            if (/no worker listens/.test(m)) void server.kill();
          },
        }),
      ),
      new RegExp(`--queue: Redis at ${server.url.replace(/[/.]/g, "\\$&")} has been unreachable for 2 s\\. Start it again and run the same command`),
    );
    assert.ok(Date.now() - started < 20_000, "gave up in time");
    assert.match(
      warnings.join("\n"),
      /no worker listens on redis:\/\/127\.0\.0\.1:\d+\/0 \(queue smapfill-jobs-v3\): start one with: smapfill worker --queue /,
    );
    assert.equal(warnings.filter((w) => / is unreachable /.test(w)).length, 1, warnings.join("\n"));
  },
);

test("a worker stopped (SIGTERM) while Redis is away exits at once", { skip, timeout: 60_000 }, async () => {
  const server = await RedisServer.start();
  try {
    const worker = start(["worker", "--queue", server.url, "--concurrency", "1", "--lock-ms", "2000"]);
    await waitFor("the worker", () => / worker on /.test(worker.output.stderr), 30_000);
    await server.kill();
    await waitFor("the worker to see Redis gone", () => / is unreachable /.test(worker.output.stderr), 10_000);
    const stopped = Date.now();
    worker.process.kill("SIGTERM");
    const exit = await worker.exit;
    // Before: closing waited for Redis to hand the jobs back, forever.
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(Date.now() - stopped < 5000, `${Date.now() - stopped} ms`);
  } finally {
    await server.kill();
  }
});

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
    assert.deepEqual(chunkHashes(path.join(out, "product.zarr")), singleChunks());
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
