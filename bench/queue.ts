/**
 * `npm run bench -- queue`: the distributed reconstruction's overhead on this machine. The demo
 * world's product (the boosted-trees product model of the reconstruct bench), made in-process
 * and through Redis with 1 worker process (1 job at a time, 2 threads) and 2 worker processes
 * (1 job at a time each, 1 thread each), rounds alternated; the queue's cost per job is the
 * difference to the in-process run divided by the jobs. Two workers on two cores measure the
 * queue, not scaling: the in-process run already uses both cores.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { QUEUE_NAME } from "../src/jobs/queue.js";

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function benchQueue(o: { workDir: string; rounds: number }) {
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
  const bin = path.join(repo, "bin", "smapfill.js");
  const dir = path.join(o.workDir, "reconstruct-demo");
  const cube = path.join(dir, "cube.zarr");
  const model = path.join(dir, "model-xgb");
  if (!fs.existsSync(path.join(model, "fit.json"))) throw new Error(`run npm run bench -- reconstruct first (it makes ${model})`);
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}/0`;
  const redis = spawn("/usr/bin/redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 500));
  const out = path.join(dir, "queue-product");
  const run = (args: string[], env: Record<string, string> = {}) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
    if (r.status !== 0) throw new Error(r.stderr);
    return { seconds: (performance.now() - t0) / 1000, stdout: r.stdout };
  };
  const clear = async () => {
    const connection = new Redis(url, { maxRetriesPerRequest: null });
    const q = new Queue(QUEUE_NAME, { connection });
    await q.obliterate({ force: true });
    await q.close();
    connection.disconnect();
  };
  const viaQueue = async (workers: number, threads: string) => {
    await clear();
    fs.rmSync(out, { recursive: true, force: true });
    const started: ChildProcess[] = [];
    for (let w = 0; w < workers; w++)
      started.push(
        spawn(process.execPath, [bin, "worker", "--queue", url, "--concurrency", "1", "--quiet"], {
          stdio: "ignore",
          env: { ...process.env, SMAPFILL_THREADS: threads },
        }),
      );
    await new Promise((r) => setTimeout(r, 1500)); // the workers connect before the clock starts
    const r = run(["reconstruct", cube, "--model", model, "--out", out, "--queue", url, "--quiet"], { SMAPFILL_THREADS: "2" });
    for (const w of started) w.kill("SIGTERM");
    return r;
  };
  const times: Record<string, number[]> = { in_process: [], queue_1_worker: [], queue_2_workers: [] };
  let jobs = 0;
  try {
    for (let round = 0; round < o.rounds; round++) {
      fs.rmSync(out, { recursive: true, force: true });
      times.in_process!.push(run(["reconstruct", cube, "--model", model, "--out", out, "--quiet"], { SMAPFILL_THREADS: "2" }).seconds);
      times.queue_1_worker!.push((await viaQueue(1, "2")).seconds);
      times.queue_2_workers!.push((await viaQueue(2, "1")).seconds);
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      jobs = await new Queue(QUEUE_NAME, { connection }).getCompletedCount();
      connection.disconnect();
      process.stderr.write(`round ${round}: ${JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.at(-1)!.toFixed(2)])))}\n`);
    }
  } finally {
    redis.kill();
  }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  return {
    benchmark: "queue",
    description: `the demo world's boosted-trees product (the reconstruct bench's model), whole command (CLI start, reconstruction, coverage maps, product.json), in-process vs through Redis; ${o.rounds} alternated rounds, medians; ${jobs} jobs (tile x chunk of days)`,
    jobs,
    seconds: m,
    rounds: times,
    overhead_per_job_s: { queue_1_worker: (m.queue_1_worker! - m.in_process!) / jobs, queue_2_workers: (m.queue_2_workers! - m.in_process!) / jobs },
  };
}
