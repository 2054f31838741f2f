/**
 * `npm run bench [-- NAME ...] [--days N] [--repeats N]`: runs the benchmarks and writes one JSON
 * per benchmark to bench/results/NAME.json, with the machine, versions and commit.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runInfo } from "../src/util/run-info.js";
import { benchSmapReader } from "./smap-reader.js";
import { benchNnEngine } from "./nn-engine.js";
import { benchFeatures } from "./features.js";
import { benchConvergence } from "./convergence.js";
import { benchGbt } from "./gbt.js";
import { benchForest } from "./forest.js";
import { benchModels } from "./models.js";
import { benchCubeFeatures } from "./cube-features.js";
import { modelNames } from "../src/models/registry.js";
import type { ModelName } from "../src/models/regressor.js";
import { benchReconstruct } from "./reconstruct.js";
import { benchQueue } from "./queue.js";
import { benchScale } from "./scale.js";
import { benchAccuracy, benchWeatherAccuracy } from "./accuracy.js";
import { benchMissingReasons } from "./missing-reasons.js";
import { benchUncertainty } from "./uncertainty.js";
import { benchInsitu } from "./insitu.js";
import { benchWithoutPredictors } from "./without-predictors.js";
import { benchSequence } from "./sequence.js";
import { benchDct } from "./dct.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const RESULTS = path.join(REPO, "bench", "results");
const WORK = process.env.SMAPFILL_BENCH_WORK ?? path.join(REPO, "bench", "work");

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function stringOption(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** The demo cube (`--demo`, else smapfill demo --out WORK/demo) and its synthetic world beside it. */
const demoCube = () => stringOption("demo") ?? path.join(WORK, "demo", "cube.zarr");
const demoWorld = () => path.join(path.dirname(demoCube()), "world");

const SHARED = process.env.SMAPFILL_SHARED ?? path.resolve(REPO, "..", "shared");

const BENCHMARKS: Record<string, () => Promise<Record<string, unknown>>> = {
  "smap-reader": () => benchSmapReader({ workDir: WORK, days: option("days", 365), repeats: option("repeats", 3) }),
  convergence: () =>
    benchConvergence({ sharedDir: SHARED, n: option("n", 50000), epochs: option("epochs", 10), models: ["autoresnet", "tssmnet"], seeds: option("seeds", 8) }),
  forest: () =>
    benchForest({ sharedDir: SHARED, n: option("n", 50000), trees: option("trees", 100), threads: (stringOption("threads") ?? "1,2").split(",").map(Number) }),
  gbt: () => benchGbt({ sharedDir: SHARED, n: option("n", 50000), threads: (stringOption("threads") ?? "1,2").split(",").map(Number) }),
  features: () => benchFeatures({ sharedDir: SHARED, pixels: option("pixels", 5000), days: option("days", 730) }),
  "cube-features": () =>
    benchCubeFeatures({ rows: option("rows", 300), cols: option("cols", 400), days: option("days", 730), context: process.argv.includes("--context") }),
  models: () =>
    benchModels({
      sharedDir: SHARED,
      n: option("n", 50000),
      epochs: option("epochs", 30),
      transformerEpochs: option("transformer-epochs", 3),
      rfTrees: option("trees", 300),
      xgbRounds: option("rounds", 2000),
      models: (
        stringOption("models") ??
        // The paper's six (the Python reference has them): no baselines, fillers or ensembles.
        modelNames().slice(0, 6).join(",")
      ).split(",") as ModelName[],
      dataset: stringOption("dataset"),
      seeds: (stringOption("seeds") ?? "0").split(",").map(Number),
      threads: option("threads", 1),
    }),
  queue: () => benchQueue({ workDir: WORK, rounds: option("rounds", 2) }),
  dct: () => benchDct({ repo: REPO, rounds: option("rounds", 5), repeats: option("repeats", 10) }),
  scale: () =>
    benchScale({
      workDir: WORK,
      days: option("days", 365),
      rows: option("rows", 2000000),
      epochs: option("epochs", 2),
      xgbRounds: option("rounds", 300),
      queueDays: option("queue-days", 64),
      rounds: option("queue-rounds", 1),
      resume: process.argv.includes("--resume"),
      ...(stringOption("only")
        ? { only: stringOption("only")!.split(","), previous: JSON.parse(fs.readFileSync(path.join(RESULTS, "scale.json"), "utf8")) as Record<string, unknown> }
        : {}),
    }),
  accuracy: () =>
    benchAccuracy({
      repo: REPO,
      workDir: WORK,
      products: !process.argv.includes("--no-products"),
      cubes: [
        // The demo cube (smapfill demo --out DIR) and the examples/ cubes (smapfill ingest examples/*.yaml).
        {
          label: "demo world (synthetic, 2019)",
          key: "demo",
          path: demoCube(),
          seeds: [0, 1, 2],
          demoWorld: demoWorld(),
        },
        {
          label: "Pakistan January 2020 (real SMAP, ERA5-Land)",
          key: "pk",
          path: stringOption("pakistan-jan") ?? path.join(REPO, "pakistan-2020-01.zarr"),
          // --real-seeds 0: seed 0 only on the real cubes (the demo world keeps 0-2).
          seeds: (stringOption("real-seeds") ?? "0,1,2").split(",").map(Number),
        },
        {
          label: "Pakistan January-June 2020 (real SMAP, ERA5-Land)",
          key: "pk6",
          path: stringOption("pakistan") ?? path.join(REPO, "pakistan-2020.zarr"),
          seeds: [0],
        },
      ],
    }),
  "missing-reasons": () =>
    benchMissingReasons({
      cubes: [
        // The demo cube (smapfill demo --out DIR) and the examples/ cubes (smapfill ingest examples/*.yaml).
        {
          label: "demo world (synthetic, 2019)",
          path: demoCube(),
          demoWorld: demoWorld(),
        },
        { label: "Pakistan January 2020 (real, re-assembled SPL3SMP_E)", path: stringOption("pakistan-jan") ?? path.join(REPO, "pakistan-2020-01.zarr") },
        { label: "Pakistan January-June 2020 (real, re-assembled SPL3SMP_E)", path: stringOption("pakistan") ?? path.join(REPO, "pakistan-2020.zarr") },
        { label: "Hawaii 2017-2018 (real, re-assembled SPL3SMP)", path: stringOption("hawaii") ?? path.join(REPO, "hawaii-2017-2018.zarr") },
      ],
    }),
  uncertainty: () =>
    benchUncertainty({
      repo: REPO,
      workDir: WORK,
      cubes: [
        // The demo cube (smapfill demo --out DIR, its world/ beside it) and the examples' cubes (smapfill ingest examples/*.yaml).
        {
          label: "demo world (synthetic, 2019)",
          key: "demo",
          path: demoCube(),
          demoWorld: demoWorld(),
        },
        {
          label: "demo world (synthetic, 2019), another draw of the held-out gaps",
          key: "demo-seed1",
          path: demoCube(),
          seed: 1,
        },
        { label: "Pakistan January 2020 (real SMAP, ERA5-Land)", key: "pk", path: stringOption("pakistan-jan") ?? path.join(REPO, "pakistan-2020-01.zarr") },
        { label: "Hawaii 2017-2018 (real SMAP, ERA5-Land, GLDAS)", key: "hawaii", path: stringOption("hawaii") ?? path.join(REPO, "hawaii-2017-2018.zarr") },
        { label: "Pakistan January-June 2020 (real SMAP, ERA5-Land)", key: "pk6", path: stringOption("pakistan") ?? path.join(REPO, "pakistan-2020.zarr") },
      ],
    }),
  // The product against in situ on gap days; the result file names Hawaii, its real-data study.
  "insitu-hawaii-2017-2018": () =>
    benchInsitu({
      workDir: WORK,
      models: (stringOption("models") ?? "xgb,rf,tssmnet").split(","),
      cubes: [
        {
          label: "Hawaii 2017-2018 (real SPL3SMP 36 km, ISMN SCAN 5 cm and COSMOS 0-0.17 m)",
          cube: stringOption("hawaii") ?? path.join(REPO, "hawaii-2017-2018.zarr"),
          ismn: path.join(SHARED, "data", "real", "hawaii_2016_2019", "ismn", "ISMN_V20250617"),
          depths: [0.06, 0.17],
          evaluation: stringOption("hawaii-eval"),
          evaluationCommand:
            "smapfill evaluate hawaii-2017-2018.zarr --models xgb,rf,tssmnet,linear_interp --ismn ISMN --ismn-max-depth 0.17 --max-epochs 30 --importance none --ablation-pairs none --reference xgb --boot 200",
        },
        {
          label: "demo world (synthetic, 2019)",
          cube: demoCube(),
          ismn: path.join(path.dirname(demoCube()), "world", "ismn"),
          depths: [0.06],
          demoWorld: demoWorld(),
          evaluation: stringOption("demo-eval"),
          evaluationCommand: "smapfill demo (its evaluation: demoEvaluationConfig, 20 000 training rows, 10 epochs, 100 trees, 500 rounds)",
          // The demo's quick settings (DEMO_PRODUCT_MODEL, demoEvaluationConfig).
          maxSamples: 20000,
          params: { "xgb.rounds": 500, "rf.trees": 100, max_epochs: 10 },
        },
        {
          label: "Pakistan January 2020 (real SPL3SMP_E 9 km, no stations): evaluation only",
          cube: stringOption("pakistan-jan") ?? path.join(REPO, "work", "pakistan-2020-01.zarr"),
          ismn: "",
          depths: [],
          evaluation: stringOption("pakistan-jan-eval"),
          evaluationCommand:
            "smapfill evaluate pakistan-2020-01.zarr --models xgb,rf,tssmnet,linear_interp --max-train-samples 20000 --max-epochs 20 --importance none --ablation-pairs none --reference xgb --boot 200",
        },
      ],
    }),
  "without-predictors": () =>
    benchWithoutPredictors({
      repo: REPO,
      workDir: WORK,
      pakistan: stringOption("pakistan") ?? path.join(REPO, "pakistan-2020.zarr"),
      pakistanJanuary: stringOption("pakistan-jan") ?? path.join(REPO, "work", "pakistan-2020-01.zarr"),
      blank: [10, 20],
      maxSamples: option("rows", 20000),
    }),
  "accuracy-weather": () =>
    benchWeatherAccuracy({
      repo: REPO,
      workDir: WORK,
      cube: demoCube(),
      seeds: (stringOption("seeds") ?? "0,1,2").split(",").map(Number),
      rows: option("rows", 40000),
      lstmEpochs: option("lstm-epochs", 200),
      testStart: stringOption("test-start") ?? "2019-07-01",
      apiDecays: (stringOption("api-decays") ?? "0.8,0.9,0.95").split(",").map(Number),
      windows: (stringOption("windows") ?? "7,14,30,60").split(",").map(Number),
      transformerEpochs: option("transformer-epochs", 10),
      real: [
        { label: "Pakistan January 2020 (real SMAP, ERA5-Land)", key: "pk", path: stringOption("pakistan-jan") ?? path.join(REPO, "pakistan-2020-01.zarr") },
        {
          label: "Hawaii 2017-2018 (real SPL3SMP 36 km, ERA5-Land, GLDAS-2.1)",
          key: "hi",
          path: stringOption("hawaii") ?? path.join(REPO, "hawaii-2017-2018.zarr"),
        },
      ],
    }),
  sequence: () =>
    benchSequence({
      repo: REPO,
      cube: stringOption("cube") ?? path.join(WORK, "demo", "cube.zarr"),
      workDir: WORK,
      rows: option("rows", 40000),
      seeds: (stringOption("seeds") ?? "0,1,2").split(",").map(Number),
      params: Object.fromEntries(
        (stringOption("params") ?? "")
          .split(",")
          .filter(Boolean)
          .map((kv) => [kv.split("=")[0]!, Number(kv.split("=")[1])]),
      ),
      threads: option("threads", 2),
      weather: process.argv.includes("--weather"),
    }),
  reconstruct: () =>
    benchReconstruct({ sharedDir: SHARED, workDir: WORK, rounds: option("rounds", 3), threads: option("threads", 2), tssmnetEpochs: option("epochs", 20) }),
  "nn-engine": () =>
    benchNnEngine({
      sharedDir: SHARED,
      repeats: option("repeats", 3),
      minRepeatSeconds: option("min-repeat-s", 1.5),
      torch: !process.argv.includes("--no-torch"),
      threads: (stringOption("threads") ?? "1,2").split(",").map(Number),
      rounds: option("rounds", 3),
      models: stringOption("models")?.split(","),
      pretrainSteps: option("pretrain-steps", 50),
      peersDir: path.join(REPO, "bench", "peers"),
    }),
};

async function main() {
  const names = process.argv.slice(2).filter((a, i, all) => !a.startsWith("--") && !all[i - 1]?.startsWith("--"));
  const selected = names.length ? names : Object.keys(BENCHMARKS);
  fs.mkdirSync(RESULTS, { recursive: true });
  for (const name of selected) {
    const bench = BENCHMARKS[name];
    if (!bench) throw new Error(`unknown benchmark '${name}'; known: ${Object.keys(BENCHMARKS).join(", ")}`);
    const result = { ...(await bench()), machine: runInfo() };
    const file = path.join(RESULTS, `${stringOption("result-name") ?? name}.json`);
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${name}: ${file}\n${JSON.stringify(result, null, 2)}\n`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
