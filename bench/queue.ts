/**
 * `npm run bench -- queue`: the distributed reconstruction's overhead on this machine. The demo
 * world's product (the boosted-trees product model of the reconstruct bench), made in-process
 * and through Redis with 1 worker process (1 job at a time, 2 threads) and 2 worker processes
 * (1 job at a time each, 1 thread each), rounds alternated; the queue's cost per job is the
 * difference to the in-process run divided by the jobs. Two workers on two cores measure the
 * queue, not scaling: the in-process run already uses both cores.
 */
import fs from "node:fs";
import path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { median, startRedis } from "./common.js";

export async function benchQueue(o: { workDir: string; rounds: number }) {
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
  const bin = path.join(repo, "bin", "smapfill.js");
  const dir = path.join(o.workDir, "reconstruct-demo");
  const cube = path.join(dir, "cube.zarr");
  const model = path.join(dir, "model-xgb");
  if (!fs.existsSync(path.join(model, "fit.json"))) throw new Error(`run npm run bench -- reconstruct first (it makes ${model})`);
  const redis = await startRedis();
  const { url, clear } = redis;
  const out = path.join(dir, "queue-product");
  const run = (args: string[], env: Record<string, string> = {}) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
    if (r.status !== 0) throw new Error(r.stderr);
    return { seconds: (performance.now() - t0) / 1000, stdout: r.stdout };
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
      jobs = await redis.jobs();
      process.stderr.write(`round ${round}: ${JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.at(-1)!.toFixed(2)])))}\n`);
    }
  } finally {
    redis.stop();
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
