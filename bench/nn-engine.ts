/**
 * Engine throughput on the networks of MODELS.md, measured exactly as the reference's
 * bench_torch.py measures PyTorch (and in the same run, for the ratio): batch 512 gathered from
 * an 8192-row pool of random inputs; a training step is zero-grad, forward, MSE, backward,
 * Adam/AdamW step; an inference step is an eval-mode forward without the graph. Median of
 * repeats, each long enough (>= minRepeatSeconds), after warm-up steps.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildNet, type NetName } from "../src/models/nets.js";
import type { Arr } from "../src/nn/kernels/kernels.js";
import { kernels } from "../src/nn/kernels/select.js";
import { Adam, AdamW } from "../src/nn/optim.js";
import { noGrad, recycling, Tensor } from "../src/nn/tensor.js";
import { trainStep } from "../src/models/net-steps.js";
import { NetReplicas } from "../src/models/net-replicas.js";
import { Rng } from "../src/util/random.js";
import { median } from "./common.js";

export interface NnBenchOptions {
  sharedDir: string;
  repeats: number;
  minRepeatSeconds: number;
  torch: boolean;
  /** Thread counts to measure (ours: data-parallel replicas; PyTorch: intra-op threads). */
  threads: number[];
  /** Rounds of back-to-back measurements (the summary takes medians). */
  rounds: number;
}

const MODELS: [string, NetName, number][] = [
  ["tssmnet", "tssmnet", 40],
  ["tssmnet_nots", "tssmnet", 19],
  ["autoresnet", "autoresnet", 40],
  ["transformer", "transformer", 40],
];

function measure(step: () => void, batch: number, o: NnBenchOptions): { samplesPerSecond: number; repeats: number[] } {
  for (let i = 0; i < 3; i++) step();
  const t0 = performance.now();
  step();
  const one = (performance.now() - t0) / 1000;
  const k = Math.max(3, Math.ceil(o.minRepeatSeconds / Math.max(one, 1e-6)));
  const repeats: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const start = performance.now();
    for (let i = 0; i < k; i++) step();
    repeats.push((k * batch) / ((performance.now() - start) / 1000));
  }
  return { samplesPerSecond: median(repeats), repeats };
}

/** GEMM GFLOP/s of the active kernels on a square-ish problem typical of the nets. */
function gemmGflops(M: number, N: number, K: number): number {
  const rng = new Rng(1);
  const A = Float32Array.from({ length: M * K }, () => rng.normal());
  const B = Float32Array.from({ length: K * N }, () => rng.normal());
  const C = new Float32Array(M * N);
  const run = () => kernels().gemm(false, false, M, N, K, A as Arr, B as Arr, C as Arr, false);
  for (let i = 0; i < 3; i++) run();
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) {
    run();
    reps++;
  }
  return (2 * M * N * K * reps) / ((performance.now() - t0) / 1000) / 1e9;
}

/** Our training and inference throughput on one network at one thread count. */
function measureOurs(label: string, name: NetName, nIn: number, threads: number, batch: number, o: NnBenchOptions): Record<string, unknown> {
  const rng = new Rng(0);
  const pool = Float32Array.from({ length: 8192 * nIn }, () => rng.normal());
  const target = Float32Array.from({ length: 8192 }, () => rng.normal());
  const net = buildNet(name, nIn, { seed: 0 });
  const opt = name === "transformer" ? new AdamW(net.parameters(), 5e-4, [0.9, 0.999], 1e-8, 1e-5) : new Adam(net.parameters(), 1e-3);
  const order = Array.from({ length: 8192 }, (_, i) => i);
  new Rng(1).shuffle(order);
  let at = 0;
  const xb = new Float32Array(batch * nIn);
  const yb = new Float32Array(batch);
  const replicas = threads > 1 ? new NetReplicas(net, name, 0, threads, batch) : null;
  const oneStep = () => {
    if (at + batch > 8192) at = 0;
    for (let r = 0; r < batch; r++) {
      const src = order[at + r]!;
      xb.set(pool.subarray(src * nIn, (src + 1) * nIn), r * nIn);
      yb[r] = target[src]!;
    }
    at += batch;
    if (replicas) replicas.trainStep(opt, xb, yb, batch);
    else trainStep(net, opt, xb, yb, batch, nIn);
  };
  net.train();
  const train = measure(oneStep, batch, o);
  net.eval();
  const x0 = Tensor.from(pool.subarray(0, batch * nIn), [batch, nIn]);
  const infer = measure(() => (replicas ? replicas.predict(x0.data as Float32Array, batch) : noGrad(() => recycling(() => net.forward(x0)))), batch, o);
  replicas?.close();
  return {
    model: label,
    n_in: nIn,
    batch,
    threads,
    kernels: kernels().name,
    n_params: net.parameterCount(),
    train_samples_per_s: train.samplesPerSecond,
    train_repeats: train.repeats,
    infer_samples_per_s: infer.samplesPerSecond,
    infer_repeats: infer.repeats,
  };
}

/** bench_torch.py on one network at one thread count (configs threads:1 and, above 1 thread, threads:threads). */
function measureTorch(o: NnBenchOptions, label: string, threads: number): { results: Record<string, unknown>[] } | { error: string } {
  const out = path.join(os.tmpdir(), `smapfill-bench-torch-${process.pid}.json`);
  const run = spawnSync(
    "/usr/bin/python3",
    [
      path.join(o.sharedDir, "reference", "bench_torch.py"),
      "--models",
      label,
      "--configs",
      threads === 1 ? "1:1" : `${threads}:1,${threads}:${threads}`,
      "--repeats",
      String(o.repeats),
      "--min-repeat-s",
      String(o.minRepeatSeconds),
      "--out",
      out,
    ],
    { encoding: "utf8" },
  );
  const result = run.status === 0 ? JSON.parse(fs.readFileSync(out, "utf8")) : { error: run.stderr.slice(-2000) };
  fs.rmSync(out, { force: true });
  return result;
}

/**
 * Ours and PyTorch measured back to back on each network and thread count, in `rounds` rounds;
 * the ratio of each round is a same-minute comparison (this shared VM's speed drifts by tens of
 * percent over minutes), and the summary takes the median over rounds.
 */
export async function benchNnEngine(o: NnBenchOptions) {
  const batch = 512;
  const rounds: Record<string, unknown>[] = [];
  for (let round = 0; round < o.rounds; round++)
    for (const threads of o.threads)
      for (const [label, name, nIn] of MODELS) {
        const ours = measureOurs(label, name, nIn, threads, batch, o);
        const torch = o.torch ? measureTorch(o, label, threads) : undefined;
        const entry: Record<string, unknown> = { round, model: label, threads, ours, torch };
        if (torch && "results" in torch) {
          // PyTorch's best configuration at this thread count (for 2 threads: 1 or 2 OpenBLAS threads).
          const same = torch.results.filter((x) => x.model === label && x.threads === threads);
          const best = (key: string) => Math.max(...same.map((x) => x[key] as number));
          entry.torch_train_samples_per_s = best("train_samples_per_s");
          entry.torch_infer_samples_per_s = best("infer_samples_per_s");
          entry.train_ratio = (ours.train_samples_per_s as number) / best("train_samples_per_s");
          entry.infer_ratio = (ours.infer_samples_per_s as number) / best("infer_samples_per_s");
        }
        rounds.push(entry);
        process.stderr.write(
          `round ${round + 1}/${o.rounds} ${label.padEnd(13)} threads=${threads}: train ${(ours.train_samples_per_s as number).toFixed(0)} / ${((entry.torch_train_samples_per_s as number) ?? NaN).toFixed(0)} samples/s, infer ${(ours.infer_samples_per_s as number).toFixed(0)} / ${((entry.torch_infer_samples_per_s as number) ?? NaN).toFixed(0)} (ours / PyTorch)\n`,
        );
      }
  const gemm = { shape: "512x128x128 NN", gflops: gemmGflops(512, 128, 128) };
  const summary: Record<string, unknown>[] = [];
  for (const threads of o.threads)
    for (const [label] of MODELS) {
      const mine = rounds.filter((r) => r.model === label && r.threads === threads);
      const med = (pick: (r: Record<string, unknown>) => unknown) => {
        const xs = mine.map(pick).filter((x): x is number => typeof x === "number");
        return xs.length ? median(xs) : undefined;
      };
      summary.push({
        model: label,
        threads,
        rounds: mine.length,
        train_samples_per_s: med((r) => (r.ours as Record<string, unknown>).train_samples_per_s),
        torch_train_samples_per_s: med((r) => r.torch_train_samples_per_s),
        train_ratio: med((r) => r.train_ratio),
        train_ratio_range: [Math.min(...mine.map((r) => r.train_ratio as number)), Math.max(...mine.map((r) => r.train_ratio as number))],
        infer_samples_per_s: med((r) => (r.ours as Record<string, unknown>).infer_samples_per_s),
        torch_infer_samples_per_s: med((r) => r.torch_infer_samples_per_s),
        infer_ratio: med((r) => r.infer_ratio),
        infer_ratio_range: [Math.min(...mine.map((r) => r.infer_ratio as number)), Math.max(...mine.map((r) => r.infer_ratio as number))],
      });
    }
  return {
    benchmark: "nn-engine",
    description: `training and inference samples/s at batch 512, same protocol as reference/bench_torch.py; ours and PyTorch back to back per network and thread count, ${o.rounds} rounds; ratios are medians over rounds`,
    gemm,
    summary,
    rounds,
  };
}
