/**
 * Engine throughput on the networks of MODELS.md and the LSTM network, beside each peer in its
 * fastest honest setting, measured in the same run: batch 512 gathered from an 8192-row pool of
 * random inputs; a training step is zero-grad, forward, MSE, backward, Adam/AdamW step; an
 * inference step is an eval-mode forward without the graph. Median of repeats, each long enough
 * (>= minRepeatSeconds), after warm-up steps.
 *
 * Peers: PyTorch (bench/python/torch_peers.py: the protocol of reference/bench_torch.py with
 * denormals flushed and on weights trained by a few hundred Adam steps, its best thread setting)
 * for training and inference; ONNX Runtime for Node (inference) on the network PyTorch just
 * trained, exported to ONNX, when bench/peers/install.sh has installed it (it is not one of
 * smapfill's dependencies; without it the results say so).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildNet, type NetName, type NetOptions } from "../src/models/nets.js";
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
  /** Thread counts to measure (ours: data-parallel replicas; PyTorch: intra-op threads; ONNX Runtime: intra-op threads). */
  threads: number[];
  /** Rounds of back-to-back measurements (the summary takes medians). */
  rounds: number;
  /** Networks to measure (labels of NETWORKS; default all). */
  models?: string[];
  /** Adam steps PyTorch takes before anything is timed (its weights trained, as ours are when inference is timed). */
  pretrainSteps: number;
  /** Where bench/peers/install.sh put the optional peers (bench/peers). */
  peersDir: string;
}

/** The LSTM network's shape: 30 days of 8 inputs, a state of 64 (a sequence model of issue 26's size). */
export const LSTM_BENCH_SHAPE = { steps: 30, inputs: 8, hidden: 64 };

interface Network {
  label: string;
  net: NetName;
  nIn: number;
  options: Omit<NetOptions, "seed">;
}

const NETWORKS: Network[] = [
  { label: "tssmnet", net: "tssmnet", nIn: 40, options: {} },
  { label: "tssmnet_nots", net: "tssmnet", nIn: 19, options: {} },
  { label: "autoresnet", net: "autoresnet", nIn: 40, options: {} },
  { label: "transformer", net: "transformer", nIn: 40, options: {} },
  {
    label: "lstm",
    net: "lstm",
    nIn: LSTM_BENCH_SHAPE.steps * LSTM_BENCH_SHAPE.inputs,
    options: { sequence: { steps: LSTM_BENCH_SHAPE.steps, hidden: LSTM_BENCH_SHAPE.hidden } },
  },
];

type Row = Record<string, unknown>;

/** The PyTorch side (run from dist/bench/, the script stays in bench/python/). */
const TORCH_PEERS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "python", "torch_peers.py");

/** Steps per repeat: enough for minRepeatSeconds at the speed of one timed step (at least 3). */
function stepsPerRepeat(oneStepMs: number, o: NnBenchOptions): number {
  return Math.max(3, Math.ceil(o.minRepeatSeconds / Math.max(oneStepMs / 1000, 1e-6)));
}

function measure(step: () => void, batch: number, o: NnBenchOptions): { samplesPerSecond: number; repeats: number[] } {
  for (let i = 0; i < 3; i++) step();
  const t0 = performance.now();
  step();
  const k = stepsPerRepeat(performance.now() - t0, o);
  const repeats: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const start = performance.now();
    for (let i = 0; i < k; i++) step();
    repeats.push((k * batch) / ((performance.now() - start) / 1000));
  }
  return { samplesPerSecond: median(repeats), repeats };
}

/** measure() for a step that returns a promise (ONNX Runtime's run). */
async function measureAsync(step: () => Promise<unknown>, batch: number, o: NnBenchOptions): Promise<{ samplesPerSecond: number; repeats: number[] }> {
  for (let i = 0; i < 3; i++) await step();
  const t0 = performance.now();
  await step();
  const k = stepsPerRepeat(performance.now() - t0, o);
  const repeats: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const start = performance.now();
    for (let i = 0; i < k; i++) await step();
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

/** Our training and inference throughput on one network at one thread count (inference on the weights the timed training left). */
function measureOurs(n: Network, threads: number, batch: number, o: NnBenchOptions): Row {
  const { nIn } = n;
  const rng = new Rng(0);
  const pool = Float32Array.from({ length: 8192 * nIn }, () => rng.normal());
  const target = Float32Array.from({ length: 8192 }, () => rng.normal());
  const net = buildNet(n.net, nIn, { ...n.options, seed: 0 });
  const opt = n.net === "transformer" ? new AdamW(net.parameters(), 5e-4, [0.9, 0.999], 1e-8, 1e-5) : new Adam(net.parameters(), 1e-3);
  const order = Array.from({ length: 8192 }, (_, i) => i);
  new Rng(1).shuffle(order);
  let at = 0;
  const xb = new Float32Array(batch * nIn);
  const yb = new Float32Array(batch);
  const replicas = threads > 1 ? new NetReplicas(net, n.net, 0, threads, batch, n.options) : null;
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
  try {
    net.train();
    const train = measure(oneStep, batch, o);
    net.eval();
    const x0 = Tensor.from(pool.subarray(0, batch * nIn), [batch, nIn]);
    const infer = measure(() => (replicas ? replicas.predict(x0.data as Float32Array, batch) : noGrad(() => recycling(() => net.forward(x0)))), batch, o);
    return {
      model: n.label,
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
  } finally {
    replicas?.close();
  }
}

/**
 * torch_peers.py on one network at one thread count, in each BLAS setting (1 thread: 1; t > 1
 * threads: OpenBLAS single-threaded, the fast setting here, and t-threaded, the default); the
 * first setting also exports the trained network to `onnx`.
 */
function measureTorch(n: Network, threads: number, batch: number, onnx: string | null, o: NnBenchOptions): { results: Row[] } | { error: string } {
  const configs = threads === 1 ? [1] : [1, threads];
  const results: Row[] = [];
  for (const [k, blas] of configs.entries()) {
    const out = path.join(os.tmpdir(), `smapfill-bench-torch-${process.pid}.json`);
    const seq = n.options.sequence ? ["--steps", String(n.options.sequence.steps), "--hidden", String(n.options.sequence.hidden)] : [];
    const run = spawnSync(
      "/usr/bin/python3",
      [
        TORCH_PEERS,
        ...["--reference", path.join(o.sharedDir, "reference"), "--model", n.label, "--n-in", String(n.nIn), ...seq],
        ...["--batch", String(batch), "--repeats", String(o.repeats), "--min-repeat-s", String(o.minRepeatSeconds)],
        ...["--pretrain-steps", String(o.pretrainSteps), "--out", out],
        ...(k === 0 && onnx ? ["--onnx", onnx] : []),
      ],
      {
        encoding: "utf8",
        maxBuffer: 1 << 26,
        env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(blas) },
      },
    );
    if (run.status !== 0) return { error: run.stderr.slice(-2000) };
    results.push(JSON.parse(fs.readFileSync(out, "utf8")));
    fs.rmSync(out, { force: true });
  }
  return { results };
}

/** The parts of onnxruntime-node the bench uses (it is not a dependency, so no types). */
interface Ort {
  version: string;
  Tensor: new (type: "float32", data: Float32Array, dims: number[]) => unknown;
  InferenceSession: {
    create(file: string, options: Record<string, unknown>): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, { data: Float32Array }>> }>;
  };
}

/** onnxruntime-node from bench/peers, or why it is absent. */
async function loadOrt(peersDir: string): Promise<Ort | { absent: string }> {
  try {
    const require = createRequire(path.join(peersDir, "package.json"));
    const entry = require.resolve("onnxruntime-node");
    const ort = (await import(pathToFileURL(entry).href)) as { default?: Ort } & Ort;
    const version = JSON.parse(fs.readFileSync(require.resolve("onnxruntime-node/package.json"), "utf8")).version as string;
    return { ...(ort.default ?? ort), version };
  } catch (error) {
    return {
      absent: `onnxruntime-node is not installed in ${peersDir} (run bench/peers/install.sh; it is the benchmark's peer, not a dependency of smapfill): ${String(error).split("\n")[0]}`,
    };
  }
}

/**
 * ONNX Runtime's inference throughput on the exported network, on the batch PyTorch timed, with
 * `threads` intra-op threads; first its outputs are checked against PyTorch's on that batch.
 */
async function measureOrt(
  ort: Ort,
  file: string,
  check: { x: number[]; y: number[] },
  nIn: number,
  threads: number,
  batch: number,
  o: NnBenchOptions,
): Promise<Row> {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const x = new ort.Tensor("float32", Float32Array.from(check.x), [batch, nIn]);
  const y = (await session.run({ x })).y!.data;
  let worst = 0;
  for (let i = 0; i < batch; i++) worst = Math.max(worst, Math.abs(y[i]! - check.y[i]!) / Math.max(1, Math.abs(check.y[i]!)));
  if (!(worst <= 1e-4)) throw new Error(`ONNX Runtime's outputs differ from PyTorch's by ${worst} on ${file}`);
  const infer = await measureAsync(() => session.run({ x }), batch, o);
  return { threads, infer_samples_per_s: infer.samplesPerSecond, infer_repeats: infer.repeats, max_difference_from_torch: worst };
}

/**
 * Ours and the peers measured back to back on each network and thread count, in `rounds`
 * rounds; the ratio of each round is a same-minute comparison (this shared VM's speed drifts by
 * tens of percent over minutes), and the summary takes the median over rounds.
 */
export async function benchNnEngine(o: NnBenchOptions) {
  const batch = 512;
  const networks = o.models ? NETWORKS.filter((n) => o.models!.includes(n.label)) : NETWORKS;
  if (o.models)
    for (const m of o.models)
      if (!networks.some((n) => n.label === m)) throw new Error(`nn-engine: unknown network '${m}'; known: ${NETWORKS.map((n) => n.label).join(", ")}`);
  const ort = o.torch ? await loadOrt(o.peersDir) : { absent: "--no-torch: no network is exported to ONNX" };
  if ("absent" in ort) process.stderr.write(`ONNX Runtime: absent. ${ort.absent}\n`);
  const onnxDir = fs.mkdtempSync(path.join(os.tmpdir(), "smapfill-bench-onnx-"));
  const rounds: Row[] = [];
  try {
    for (let round = 0; round < o.rounds; round++)
      for (const threads of o.threads)
        for (const n of networks) {
          const ours = measureOurs(n, threads, batch, o);
          const onnx = "absent" in ort ? null : path.join(onnxDir, `${n.label}.onnx`);
          const torch = o.torch ? measureTorch(n, threads, batch, onnx, o) : undefined;
          const entry: Row = { round, model: n.label, threads, ours, torch };
          if (torch && "results" in torch) {
            // PyTorch's best setting at this thread count (for 2 threads: 1 or 2 OpenBLAS threads).
            const best = (key: string) => Math.max(...torch.results.map((x) => x[key] as number));
            entry.torch_train_samples_per_s = best("train_samples_per_s");
            entry.torch_infer_samples_per_s = best("infer_samples_per_s");
            entry.train_ratio = (ours.train_samples_per_s as number) / best("train_samples_per_s");
            entry.infer_ratio_torch = (ours.infer_samples_per_s as number) / best("infer_samples_per_s");
            const check = torch.results[0]!.onnx_batch as { x: number[]; y: number[] } | undefined;
            delete torch.results[0]!.onnx_batch;
            if (onnx && check && !("absent" in ort)) {
              const ortRow = await measureOrt(ort, onnx, check, n.nIn, threads, batch, o);
              entry.onnxruntime = ortRow;
              entry.ort_infer_samples_per_s = ortRow.infer_samples_per_s;
              entry.infer_ratio_ort = (ours.infer_samples_per_s as number) / (ortRow.infer_samples_per_s as number);
            }
            const bestPeer = Math.max(entry.torch_infer_samples_per_s as number, (entry.ort_infer_samples_per_s as number) ?? 0);
            entry.infer_ratio = (ours.infer_samples_per_s as number) / bestPeer;
          }
          rounds.push(entry);
          const f = (v: unknown) => (typeof v === "number" ? v.toFixed(0) : "-");
          process.stderr.write(
            `round ${round + 1}/${o.rounds} ${n.label.padEnd(13)} threads=${threads}: train ${f(ours.train_samples_per_s)} / ${f(entry.torch_train_samples_per_s)} samples/s, infer ${f(ours.infer_samples_per_s)} / ${f(entry.torch_infer_samples_per_s)} / ${f(entry.ort_infer_samples_per_s)} (ours / PyTorch / ONNX Runtime)\n`,
          );
        }
  } finally {
    fs.rmSync(onnxDir, { recursive: true, force: true });
  }
  const gemm = { shape: "512x128x128 NN", gflops: gemmGflops(512, 128, 128) };
  const summary: Row[] = [];
  for (const threads of o.threads)
    for (const n of networks) {
      const mine = rounds.filter((r) => r.model === n.label && r.threads === threads);
      const values = (pick: (r: Row) => unknown) => mine.map(pick).filter((x): x is number => typeof x === "number");
      const med = (pick: (r: Row) => unknown) => {
        const xs = values(pick);
        return xs.length ? median(xs) : undefined;
      };
      const range = (pick: (r: Row) => unknown) => {
        const xs = values(pick);
        return xs.length ? [Math.min(...xs), Math.max(...xs)] : undefined;
      };
      summary.push({
        model: n.label,
        threads,
        rounds: mine.length,
        train_samples_per_s: med((r) => (r.ours as Row).train_samples_per_s),
        torch_train_samples_per_s: med((r) => r.torch_train_samples_per_s),
        train_ratio: med((r) => r.train_ratio),
        train_ratio_range: range((r) => r.train_ratio),
        infer_samples_per_s: med((r) => (r.ours as Row).infer_samples_per_s),
        torch_infer_samples_per_s: med((r) => r.torch_infer_samples_per_s),
        ort_infer_samples_per_s: med((r) => r.ort_infer_samples_per_s),
        infer_ratio_torch: med((r) => r.infer_ratio_torch),
        infer_ratio_ort: med((r) => r.infer_ratio_ort),
        infer_ratio: med((r) => r.infer_ratio),
        infer_ratio_range: range((r) => r.infer_ratio),
      });
    }
  return {
    benchmark: "nn-engine",
    description:
      `training and inference samples/s at batch 512, the protocol of reference/bench_torch.py; ours and the peers back to back per network and thread count, ${o.rounds} rounds; ratios are medians over rounds. ` +
      `PyTorch: denormals flushed, ${o.pretrainSteps} Adam steps before timing, its best BLAS thread setting; ONNX Runtime: inference on the network PyTorch trained, exported to ONNX (opset 14), intra-op threads = threads; infer_ratio is against the faster peer. ` +
      `lstm: ${LSTM_BENCH_SHAPE.steps} days x ${LSTM_BENCH_SHAPE.inputs} inputs, LSTM state ${LSTM_BENCH_SHAPE.hidden}, linear head on the last state`,
    peers: { onnxruntime: "absent" in ort ? { absent: ort.absent } : { version: ort.version } },
    gemm,
    summary,
    rounds,
  };
}
