/**
 * `npm run bench -- scale [--days 365] [--rows 2000000] [--rounds 300] [--epochs 2] [--queue-days 64]
 * [--queue-rounds 1]`: the
 * synthetic `china` preset (about 120 000 land pixels at 9 km) through every stage, each a whole
 * `smapfill` command timed by /usr/bin/time (wall seconds and the process's peak RSS):
 *
 *   ingest      the SMAP granules and predictor files into the cube
 *   features    the streamed time-series feature cube
 *   draw + fit  `train --model xgb` on a 2-million-row stratified draw read tile by tile (the
 *               command records the draw's and the fit's time and peak RSS apart), `xgb-rounds`
 *               rounds timed and the 2 000-round cap extrapolated
 *   tssmnet     `train --model tssmnet` on the same draw for a few epochs: time per epoch, the
 *               full fit extrapolated
 *   reconstruct the whole period's product with the boosted trees, in-process
 *   evaluate    `evaluate --models xgb,tssmnet,linear_interp` on the whole cube through the one row
 *               draw (2 million training rows, --memory 4G): the draw, both fits and the test
 *               pass over every test row, tile by tile
 *   evaluate_dctpls  DCT-PLS on its own (a cube-level gap filler reads the window's SMAP whole)
 *   queue       the first `queue-days` days in-process and through Redis with 1 worker process
 *               (2 threads) and 2 (1 thread each), rounds alternated: the queue's overhead per
 *               job; 2 workers on 2 cores measure the queue, not scaling
 *
 * Then the extrapolation to 7 years, to global 9 km and to N machines, arithmetic shown.
 */
import fs from "node:fs";
import path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { writeWorldStudy } from "../src/synth/world-study.js";
import { WORLD_PRESETS } from "../src/synth/world.js";
import { formatDay, parseDay } from "../src/util/dates.js";
import { median, startRedis } from "./common.js";

export interface ScaleOptions {
  workDir: string;
  days: number;
  rows: number;
  epochs: number;
  /** Boosting rounds timed (the 2 000-round cap is extrapolated from them). */
  xgbRounds: number;
  queueDays: number;
  rounds: number;
  /** Keep the stages measured before (stages.json) and run only the rest. */
  resume?: boolean;
  /**
   * Measure only these stages (e.g. evaluate,evaluate_dctpls; the world and the cube are made
   * as needed) and keep every other stage of `previous` (bench/results/scale.json) with the
   * commit it was measured at.
   */
  only?: string[];
  previous?: Record<string, any>;
}

interface Timed {
  seconds: number;
  peak_rss_mb: number;
  stdout: string;
  /** The command's own record of the stage (fit.json's stages, product.json's report). */
  details?: Record<string, unknown>;
}

interface FitDetails {
  stages: { draw: { seconds: number; peak_rss_mb: number }; fit: { seconds: number; peak_rss_mb: number } };
  fit: { rounds_run?: number; epochs_run?: number };
  rows: Record<string, number>;
}

const GIB = 1024;
/** The paper's product: China 2016-2022 (2 557 days); the global 9 km land pixels. */
const SEVEN_YEARS = 2557;
const GLOBAL_LAND_PIXELS = 1.6e6;

export async function benchScale(o: ScaleOptions) {
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
  const bin = path.join(repo, "bin", "smapfill.js");
  if (!fs.existsSync("/usr/bin/time")) throw new Error("the scale bench measures peak RSS with /usr/bin/time: apt-get install time");
  const unknown = (o.only ?? []).filter((s) => !EVALUATION_STAGES.includes(s));
  if (unknown.length) throw new Error(`--only measures ${EVALUATION_STAGES.join(", ")}; not ${unknown.join(", ")}`);
  const dir = path.join(o.workDir, `scale-china-${o.days}`);
  fs.mkdirSync(dir, { recursive: true });
  const log = (m: string) => process.stderr.write(`[scale] ${m}\n`);

  // Each stage's measurement is kept in stages.json as it completes: with --resume a stage whose
  // measurement is there is not run again (a long bench that stopped, e.g. in its report step,
  // goes on from where it was).
  const stagesFile = path.join(dir, "stages.json");
  const measured: Record<string, Timed> = o.resume && fs.existsSync(stagesFile) ? JSON.parse(fs.readFileSync(stagesFile, "utf8")) : {};
  const stageRun = (key: string, args: string[], env: Record<string, string> = {}): Timed => {
    if (measured[key]) {
      log(`${key}: measured before (${measured[key].seconds} s, peak RSS ${measured[key].peak_rss_mb.toFixed(0)} MB)`);
      return measured[key];
    }
    measured[key] = timed(args, env);
    fs.writeFileSync(stagesFile, JSON.stringify(measured, null, 2));
    return measured[key];
  };

  /** A smapfill command under /usr/bin/time: its wall time and peak RSS; progress shown. */
  const timed = (args: string[], env: Record<string, string> = {}): Timed => {
    const stats = path.join(dir, "time.txt");
    log(`smapfill ${args.join(" ")}`);
    const r = spawnSync("/usr/bin/time", ["-o", stats, "-f", "%e %M", process.execPath, bin, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...env },
      maxBuffer: 64 * 2 ** 20,
    });
    if (r.status !== 0) throw new Error(`smapfill ${args.join(" ")} exited ${r.status}`);
    const [seconds, kb] = fs.readFileSync(stats, "utf8").trim().split(/\s+/).slice(-2).map(Number);
    log(`  ${seconds} s, peak RSS ${(kb! / 1024).toFixed(0)} MB`);
    return { seconds: seconds!, peak_rss_mb: kb! / 1024, stdout: r.stdout };
  };

  // The world (not a stage: the synthetic inputs), kept between runs of the bench.
  const config = { ...WORLD_PRESETS.china, days: o.days };
  const worldDir = path.join(dir, "world");
  const manifest = path.join(worldDir, "world.json");
  if (!fs.existsSync(manifest) || JSON.stringify(JSON.parse(fs.readFileSync(manifest, "utf8")).config) !== JSON.stringify(config)) {
    fs.rmSync(worldDir, { recursive: true, force: true });
    delete measured.synth;
    stageRun("synth", ["synth", "--preset", "china", "--days", String(o.days), "--out", worldDir]);
  }
  const synthSeconds = measured.synth?.seconds ?? null;
  const study = writeWorldStudy(worldDir, config, "../cube.zarr");
  const cube = path.join(dir, "cube.zarr");
  const clean = (...names: string[]) => names.forEach((n) => fs.rmSync(path.join(dir, n), { recursive: true, force: true }));

  if (!o.resume && !o.only) clean("cube.zarr", "features.zarr", "model-xgb", "model-tssmnet", "product", "evaluation", "evaluation-dctpls", "stages.json");
  const ingest = stageRun("ingest", ["ingest", study]);
  if (o.only) {
    // A listed stage is measured now (even with --resume), from an empty output folder.
    for (const key of o.only) {
      delete measured[key];
      clean(EVALUATION_OUT[key]!);
    }
    return onlyStages(o, stageRun, cube, dir);
  }
  const zarr = JSON.parse(fs.readFileSync(path.join(cube, "zarr.json"), "utf8"));
  const { window, chunks } = zarr.attributes.smapfill as { window: { nrows: number; ncols: number }; chunks: { time: number; y: number; x: number } };
  const chunkDays = chunks.time;
  const features = stageRun("features", ["features", cube, "--out", path.join(dir, "features.zarr")]);
  const rows = String(o.rows);
  // The commands' own records (the draw's and the fit's time and RSS, rounds, epochs, pixel-days)
  // are kept with each stage's measurement, so the report never depends on outputs surviving.
  const readJson = (...parts: string[]) => JSON.parse(fs.readFileSync(path.join(dir, ...parts), "utf8"));
  const train = (key: string, model: string, extra: string[]) => {
    const t = stageRun(key, ["train", cube, "--model", model, "--max-train-samples", rows, ...extra, "--out", path.join(dir, `model-${model}`)]);
    t.details ??= (({ stages, fit, rows: drawn }) => ({ stages, fit, rows: drawn }))(readJson(`model-${model}`, "fit.json"));
    fs.writeFileSync(stagesFile, JSON.stringify(measured, null, 2));
    return t as Timed & { details: FitDetails };
  };
  const xgb = train("train_xgb", "xgb", ["--xgb-rounds", String(o.xgbRounds)]);
  const tssmnet = train("train_tssmnet", "tssmnet", ["--max-epochs", String(o.epochs)]);
  const [xgbFit, tsFit] = [xgb.details, tssmnet.details];
  const reconstruct = stageRun("reconstruct", ["reconstruct", cube, "--model", path.join(dir, "model-xgb"), "--out", path.join(dir, "product")]);
  reconstruct.details ??= { report: readJson("product", "product.json").report };
  fs.writeFileSync(stagesFile, JSON.stringify(measured, null, 2));
  const product = reconstruct.details as { report: { pixelDays: { land: number }; seconds: number } };
  const evaluation = evaluationStages(stageRun, cube, dir, o);

  // Through Redis: the first queue-days days (whole chunks of days), against the same in-process.
  const start = config.start;
  const end = formatDay(parseDay(start) + Math.min(o.days, Math.ceil(o.queueDays / chunkDays) * chunkDays) - 1);
  const period = ["--start", start, "--end", end];
  const redis = await startRedis();
  const queueOut = path.join(dir, "queue-product");
  const viaQueue = async (key: string, workers: number, threads: string) => {
    if (measured[key]) return stageRun(key, []);
    await redis.clear();
    fs.rmSync(queueOut, { recursive: true, force: true });
    const started: ChildProcess[] = [];
    for (let w = 0; w < workers; w++)
      started.push(
        spawn(process.execPath, [bin, "worker", "--queue", redis.url, "--concurrency", "1", "--quiet"], {
          stdio: "ignore",
          env: { ...process.env, SMAPFILL_THREADS: threads },
        }),
      );
    await new Promise((r) => setTimeout(r, 1500)); // the workers connect before the clock starts
    try {
      return stageRun(key, ["reconstruct", cube, "--model", path.join(dir, "model-xgb"), "--out", queueOut, ...period, "--queue", redis.url, "--quiet"]);
    } finally {
      for (const w of started) w.kill("SIGTERM");
    }
  };
  const queue: Record<string, Timed[]> = { in_process: [], queue_1_worker: [], queue_2_workers: [] };
  // Jobs: one per tile and chunk of days of the queue period.
  const jobs = Math.ceil(window.nrows / chunks.y) * Math.ceil(window.ncols / chunks.x) * Math.ceil((parseDay(end) - parseDay(start) + 1) / chunkDays);
  try {
    for (let round = 0; round < o.rounds; round++) {
      fs.rmSync(queueOut, { recursive: true, force: true });
      queue.in_process!.push(
        stageRun(`queue_in_process_${round}`, ["reconstruct", cube, "--model", path.join(dir, "model-xgb"), "--out", queueOut, ...period, "--quiet"]),
      );
      queue.queue_1_worker!.push(await viaQueue(`queue_1_worker_${round}`, 1, "2"));
      queue.queue_2_workers!.push(await viaQueue(`queue_2_workers_${round}`, 2, "1"));
    }
  } finally {
    redis.stop();
  }
  const queueSeconds = Object.fromEntries(Object.entries(queue).map(([k, v]) => [k, median(v.map((t) => t.seconds))])) as Record<string, number>;

  // The extrapolations. Land pixels and pixel-days from the product; training is on a fixed-size draw.
  const land = product.report.pixelDays.land as number;
  const landPixels = Math.round(land / o.days);
  const days7 = SEVEN_YEARS / o.days;
  const global = GLOBAL_LAND_PIXELS / landPixels;
  // The fit's time over its epochs (each epoch also predicts the validation rows).
  const epochsRun = tsFit.fit.epochs_run!;
  const perEpoch = tsFit.stages.fit.seconds / epochsRun;
  const fullEpochs = 200; // TsSMNet's max_epochs; early stopping ends most fits sooner
  const stage = (t: Timed, extra: Record<string, unknown> = {}) => ({ seconds: t.seconds, peak_rss_mb: t.peak_rss_mb, ...extra });
  const stages = {
    ingest: stage(ingest),
    features: stage(features),
    draw: { seconds: xgbFit.stages.draw.seconds, peak_rss_mb: xgbFit.stages.draw.peak_rss_mb, rows: xgbFit.rows },
    train_xgb: {
      ...stage(xgb),
      fit_seconds: xgbFit.stages.fit.seconds,
      rounds: xgbFit.fit.rounds_run!,
      seconds_per_round: xgbFit.stages.fit.seconds / xgbFit.fit.rounds_run!,
      full_fit_2000_rounds_s: (xgbFit.stages.fit.seconds / xgbFit.fit.rounds_run!) * 2000,
    },
    train_tssmnet: {
      ...stage(tssmnet),
      draw_seconds: tsFit.stages.draw.seconds,
      fit_seconds: tsFit.stages.fit.seconds,
      epochs: epochsRun,
      seconds_per_epoch: perEpoch,
      full_fit_200_epochs_s: perEpoch * fullEpochs,
    },
    reconstruct: stage(reconstruct, { pixel_days: product.report.pixelDays, pixel_days_per_s: land / product.report.seconds }),
    ...(evaluation as Record<string, { seconds: number; peak_rss_mb: number }>),
  };
  const peak = Math.max(...Object.values(stages).map((s) => s.peak_rss_mb));
  const inProcess = queueSeconds.in_process!;
  const overheadPerJob = (queueSeconds.queue_1_worker! - inProcess) / Math.max(1, jobs);
  const perPixelDay = {
    ingest: ingest.seconds / land,
    features: features.seconds / land,
    draw_roles: xgbFit.stages.draw.seconds / land,
    reconstruct: reconstruct.seconds / land,
  };
  const hours = (s: number) => +(s / 3600).toFixed(2);
  const scaled = (k: number) => ({
    ingest_h: hours(ingest.seconds * k),
    features_h: hours(features.seconds * k),
    draw_h: hours(xgbFit.stages.draw.seconds * k),
    train_xgb_2000_rounds_h: hours((xgbFit.stages.fit.seconds / xgbFit.fit.rounds_run!) * 2000),
    train_tssmnet_200_epochs_h: hours(perEpoch * fullEpochs),
    reconstruct_h: hours(reconstruct.seconds * k),
  });
  const machines = [1, 4, 16, 64].map((n) => {
    // Reconstruction spreads over machines (jobs of tile x chunk of days); ingest, the draw and
    // the fit stay on one machine; each job pays the queue's overhead once.
    const jobs7Global = Math.ceil((landPixels * global) / (128 * 128 * 0.42)) * Math.ceil(SEVEN_YEARS / chunkDays);
    const recon = (reconstruct.seconds * days7 * global) / n + (Math.max(0, overheadPerJob) * jobs7Global) / n;
    return { machines: n, global_7_years_reconstruct_h: hours(recon), jobs: jobs7Global };
  });
  return {
    benchmark: "scale",
    description: `the synthetic china preset (${window.nrows} x ${window.ncols} cells, ${landPixels} land pixels) over ${o.days} days on this machine: every stage a whole smapfill command (wall time and peak RSS by /usr/bin/time); queue rows: the product of ${start}..${end} in-process and through Redis, ${o.rounds} alternated round(s), medians`,
    world: { preset: "china", days: o.days, window, land_pixels: landPixels, land_pixel_days: land, synth_seconds: synthSeconds },
    stages,
    peak_rss_mb_max: peak,
    peak_rss_under_4_gib: peak < 4 * GIB,
    queue: {
      period: [start, end],
      jobs,
      seconds: queueSeconds,
      rounds: Object.fromEntries(Object.entries(queue).map(([k, v]) => [k, v.map((t) => ({ seconds: t.seconds, peak_rss_mb: t.peak_rss_mb }))])),
      overhead_per_job_s: { queue_1_worker: overheadPerJob, queue_2_workers: (queueSeconds.queue_2_workers! - inProcess) / Math.max(1, jobs) },
    },
    extrapolation: {
      arithmetic: [
        `per land pixel-day here: ingest ${perPixelDay.ingest.toExponential(2)} s, features ${perPixelDay.features.toExponential(2)} s, draw ${perPixelDay.draw_roles.toExponential(2)} s, reconstruction ${perPixelDay.reconstruct.toExponential(2)} s`,
        `7 years = ${SEVEN_YEARS} / ${o.days} = ${days7.toFixed(2)} x the pixel-days; global 9 km = ${GLOBAL_LAND_PIXELS} / ${landPixels} = ${global.toFixed(2)} x the pixels`,
        `training is on a fixed draw (${o.rows} rows): its time does not grow with the period or the region`,
        `N machines divide the reconstruction (and its queue overhead of ${overheadPerJob.toFixed(3)} s per job); ingest, the draw and the fit stay on one machine`,
        `the draw holds 1 byte per pixel-day of the window: ${((window.nrows * window.ncols * SEVEN_YEARS) / 2 ** 30).toFixed(2)} GiB for China over 7 years; global needs the region split into training regions`,
      ],
      china_7_years: scaled(days7),
      global_1_year: scaled(global * (365 / o.days)),
      global_7_years: scaled(days7 * global),
      global_7_years_on_n_machines: machines,
    },
  };
}

/** The evaluation stages and their output folders. */
const EVALUATION_OUT: Record<string, string> = { evaluate: "evaluation", evaluate_dctpls: "evaluation-dctpls" };
const EVALUATION_STAGES = Object.keys(EVALUATION_OUT);

/**
 * The evaluation stages: the one row draw and fit-and-save at the scale of a product (2 million
 * training rows, xgb and TsSMNet with the fewest rounds and epochs that exercise them, linear
 * interpolation) under a 4 GiB budget, and DCT-PLS on its own.
 */
function evaluationStages(
  stageRun: (key: string, args: string[]) => Timed,
  cube: string,
  dir: string,
  o: ScaleOptions,
): Record<string, Record<string, unknown>> {
  const common = ["--importance", "none", "--ablation-pairs", "none", "--boot", "200", "--memory", "4G", "--quiet"];
  // With --only, the stages not listed are not run (each costs up to hours at this scale).
  const want = (key: string) => !o.only || o.only.includes(key);
  const evaluate =
    want("evaluate") &&
    stageRun("evaluate", [
      "evaluate",
      cube,
      "--out",
      path.join(dir, "evaluation"),
      "--models",
      "xgb,tssmnet,linear_interp",
      "--reference",
      "xgb",
      "--xgb-rounds",
      String(o.xgbRounds),
      "--max-epochs",
      String(o.epochs),
      "--max-train-samples",
      String(o.rows),
      ...common,
    ]);
  const dctpls =
    want("evaluate_dctpls") &&
    stageRun("evaluate_dctpls", ["evaluate", cube, "--out", path.join(dir, "evaluation-dctpls"), "--models", "dctpls", "--reference", "dctpls", ...common]);
  const summary = (t: Timed, out: string) => {
    const e = JSON.parse(fs.readFileSync(path.join(dir, out, "evaluation.json"), "utf8"));
    const split = e.splits[0];
    return {
      seconds: t.seconds,
      peak_rss_mb: t.peak_rss_mb,
      peak_rss_under_4_gib: t.peak_rss_mb < 4 * GIB,
      samples: split.samples,
      models: split.models.map((m: Record<string, any>) => ({ model: m.model, test_rmse: m.test.rmse.value, train_seconds: m.trainSeconds })),
    };
  };
  return {
    ...(evaluate ? { evaluate: summary(evaluate, "evaluation") } : {}),
    ...(dctpls ? { evaluate_dctpls: summary(dctpls, "evaluation-dctpls") } : {}),
  };
}

/** `--only`: the listed stages measured now, every other stage kept from the previous result with its commit. */
function onlyStages(o: ScaleOptions, stageRun: (key: string, args: string[]) => Timed, cube: string, dir: string): Record<string, unknown> {
  const fresh = evaluationStages(stageRun, cube, dir, o);
  const prev = o.previous ?? {};
  const commit = prev.machine?.commit ?? "unknown";
  const stages = { ...(prev.stages ?? {}) } as Record<string, unknown>;
  const measuredAt: Record<string, string> = { ...(prev.stage_commits ?? Object.fromEntries(Object.keys(stages).map((k) => [k, commit]))) };
  for (const key of o.only!) {
    stages[key] = fresh[key];
    measuredAt[key] = "this run (see machine.commit)";
  }
  const peak = Math.max(...Object.values(stages).map((s) => (s as { peak_rss_mb?: number }).peak_rss_mb ?? 0));
  return { ...prev, machine: undefined, stages, stage_commits: measuredAt, peak_rss_mb_max: peak, peak_rss_under_4_gib: peak < 4 * GIB };
}
