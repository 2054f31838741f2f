/**
 * The `smapfill` command line. Each command is a thin shell over a library function: it parses
 * and checks options, runs, and prints. Errors from bad input (SmapfillError) print one clear
 * line and exit with status 2; anything else is a bug and prints its stack (status 1).
 */
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { ingestSmap, PASS_RULES, type PassRule } from "../cube/ingest-smap.js";
import { ingestStudy } from "../cube/ingest-study.js";
import { loadStudy } from "../config/study.js";
import fs from "node:fs";
import { readDataset, part } from "../io/dataset.js";
import { writeNpy } from "../io/npy.js";
import { createRegressor, loadRegressor, MODEL_NAMES } from "../models/regressor.js";
import { evaluate } from "../eval/metrics.js";
import { packageVersion, runInfo } from "../util/run-info.js";
import { Ease2Grid, type BBox } from "../grid/ease2.js";
import { openHdf5, Group } from "../io/hdf5.js";
import type { QualityPolicy } from "../io/smap-l3.js";
import { WORLD_PRESETS, type WorldPreset } from "../synth/world.js";
import { writeWorld } from "../synth/write-world.js";
import { SmapfillError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { runDemo } from "./demo.js";
import { Cube } from "../cube/cube.js";
import { writeCubeFeatures } from "../features/cube-features.js";
import { runEvaluation, SPLIT_NAMES, type EvaluationConfig, type SplitName } from "../eval/experiment.js";
import { INSITU_VALUES } from "../eval/insitu.js";
import { modelLabel, writeEvaluation } from "../report/evaluation-report.js";

function parseBBox(text: string): BBox {
  const parts = text.split(",").map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((v) => !Number.isFinite(v))) {
    throw new InvalidArgumentError("give the box as SOUTH,NORTH,WEST,EAST in degrees, e.g. 25,28.5,67,73");
  }
  const [south, north, west, east] = parts as [number, number, number, number];
  return { south, north, west, east };
}

function parseWholeNumber(text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError("expected a whole number");
  return v;
}

function choice<T extends string>(values: readonly T[]) {
  return (text: string): T => {
    if (!values.includes(text as T)) throw new InvalidArgumentError(`expected one of ${values.join(", ")}`);
    return text as T;
  };
}

function parseList<T extends string>(values: readonly T[], what: string) {
  return (text: string): T[] => {
    const items = text === "all" ? [...values] : text.split(",").map((x) => x.trim());
    for (const i of items) if (!values.includes(i as T)) throw new InvalidArgumentError(`unknown ${what} '${i}': use ${values.join(", ")}`);
    if (!items.length) throw new InvalidArgumentError(`give at least one ${what}`);
    return items as T[];
  };
}
const parseModels = parseList(MODEL_NAMES, "model");
const parseSplits = parseList(SPLIT_NAMES, "split");

function parseShare(text: string): number {
  const v = Number(text);
  if (!(v > 0 && v < 1)) throw new InvalidArgumentError("expected a share between 0 and 1");
  return v;
}

export function buildProgram(): Command {
  const program = new Command();
  program.name("smapfill").description("Gap-free SMAP surface soil moisture: ingest, features, models, validation, reconstruction").version(packageVersion());
  program
    .option("--threads <n>", "threads for reading, training and prediction (default: the machine's cores; also SMAPFILL_THREADS)", parseWholeNumber)
    .hook("preAction", (command) => {
      const threads = command.opts().threads as number | undefined;
      if (threads !== undefined) {
        if (threads < 1) throw new InvalidArgumentError("--threads must be at least 1");
        process.env.SMAPFILL_THREADS = String(threads);
      }
    });

  program
    .command("demo")
    .description("synthesise a region, build its cube, show the coverage, and evaluate the models on it (quick settings)")
    .option("--out <dir>", "output directory", "smapfill-demo")
    .option("--preset <name>", `world size: ${Object.keys(WORLD_PRESETS).join(", ")}`, choice(Object.keys(WORLD_PRESETS) as WorldPreset[]), "demo")
    .option("--days <n>", "number of days (default: the preset's)", parseWholeNumber)
    .option("--seed <n>", "random seed", parseWholeNumber)
    .option("--no-evaluate", "skip the quick evaluation of the models")
    .option("--quiet", "no progress output")
    .action(async (o) => {
      const result = await runDemo({ out: o.out, preset: o.preset, days: o.days, seed: o.seed, quiet: o.quiet, evaluate: o.evaluate });
      process.stdout.write(`${result.summary}\n`);
    });

  program
    .command("synth")
    .description("write a synthetic world (SMAP granules, predictors, ISMN stations, truth) in the real formats")
    .requiredOption("--out <dir>", "new output directory")
    .option("--preset <name>", `world size: ${Object.keys(WORLD_PRESETS).join(", ")}`, choice(Object.keys(WORLD_PRESETS) as WorldPreset[]), "demo")
    .option("--days <n>", "number of days", parseWholeNumber)
    .option("--seed <n>", "random seed", parseWholeNumber)
    .option("--quiet", "no progress output")
    .action(async (o) => {
      const config = { ...WORLD_PRESETS[o.preset as WorldPreset], ...(o.days ? { days: o.days } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}) };
      const progress = new Progress("synthesise world", config.days, { quiet: o.quiet });
      const w = await writeWorld(config, o.out, { onDay: () => progress.tick() });
      progress.finish();
      process.stdout.write(
        `wrote ${w.files.granules} granules, ${w.files.meteo.length + w.files.lst.length + w.files.ndvi.length + w.files.static.length} predictor files and ${w.stations.length} stations to ${w.directory}\n`,
      );
    });

  program
    .command("ingest-smap <granules>")
    .description("read SMAP L3 granules (a directory) for a region and period into a cube")
    .requiredOption("--cube <path>", "the cube (.zarr) to create or resume")
    .requiredOption("--bbox <S,N,W,E>", "region: cells whose centre is inside the box", parseBBox)
    .requiredOption("--start <YYYY-MM-DD>", "first day")
    .requiredOption("--end <YYYY-MM-DD>", "last day")
    .option("--resolution <res>", "9km (SPL3SMP_E) or 36km (SPL3SMP)", choice(["9km", "36km"] as const), "9km")
    .option("--quality <policy>", "recommended, uncertain or any", choice(["recommended", "uncertain", "any"] as QualityPolicy[]), "recommended")
    .option("--pass-rule <rule>", `daily value from AM/PM: ${PASS_RULES.join(", ")}`, choice(PASS_RULES as PassRule[]), "am-first")
    .option("--keep-passes", "also store the AM and PM values")
    .option("--quiet", "no progress output")
    .action(async (granules: string, o) => {
      const r = await ingestSmap({
        granules,
        cube: o.cube,
        resolution: o.resolution,
        bbox: o.bbox,
        start: o.start,
        end: o.end,
        quality: o.quality,
        passRule: o.passRule,
        keepPasses: o.keepPasses,
        quiet: o.quiet,
      });
      process.stdout.write(
        `${r.cube}: ${r.window.nrows} x ${r.window.ncols} cells (${r.observedCells} observed), ${r.days} days, ${r.granulesRead} granules, ` +
          `${(100 * (1 - r.missingShare)).toFixed(1)} % of observed pixel-days have a value` +
          (r.resumedBlocks ? `, ${r.resumedBlocks} blocks done before` : "") +
          "\n",
      );
      for (const f of r.failures) process.stdout.write(`  failed: ${f.file}: ${f.error}\n`);
      if (r.missingDays.length)
        process.stdout.write(
          `  no granule for ${r.missingDays.length} days: ${r.missingDays.slice(0, 5).join(", ")}${r.missingDays.length > 5 ? ", ..." : ""}\n`,
        );
    });

  program
    .command("ingest <study>")
    .description("build a study's cube: SMAP and every predictor of the config (YAML or JSON), resumable")
    .option("--quiet", "no progress output")
    .action(async (file: string, o) => {
      const study = loadStudy(file);
      const r = await ingestStudy(study, { quiet: o.quiet });
      const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
      const lines = [
        `${study.name}: ${r.output}`,
        `  grid      ${r.smap.window.nrows} x ${r.smap.window.ncols} cells of ${study.resolution}, ${r.smap.days} days from ${study.period.start}`,
        `  SMAP      ${r.smap.granulesRead} granules, ${pct(1 - r.smap.missingShare)} of observed pixel-days have a value, ${r.smap.failures.length} failed`,
        ...r.predictors.flatMap((p) =>
          Object.entries(p.coverage).map(
            ([name, share]) =>
              `  ${name.padEnd(24)} ${pct(share)} with a value (${p.method}${p.missingDays.length ? `, no source data on ${p.missingDays.length} days` : ""})`,
          ),
        ),
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
      for (const f of r.smap.failures) process.stdout.write(`  failed: ${f.file}: ${f.error}\n`);
    });

  program
    .command("train <dataset>")
    .description("train a model on a dataset folder (X.npy, y.npy, split.npy, features.json): split 0 trains, 1 validates, 2 tests")
    .requiredOption("--model <name>", `one of ${MODEL_NAMES.join(", ")}`, choice(MODEL_NAMES))
    .requiredOption("--out <dir>", "where the model, its metrics and run record go")
    .option("--max-epochs <n>", "cap on epochs for the networks (default 200)", parseWholeNumber)
    .option("--seed <n>", "random seed", parseWholeNumber, 0)
    .option("--quiet", "no progress output")
    .action((dir: string, o) => {
      const data = readDataset(dir);
      const model = createRegressor(o.model, data.names, data.groups, { seed: o.seed, ...(o.maxEpochs ? { maxEpochs: o.maxEpochs } : {}) });
      const started = Date.now();
      model.fit(part(data, 0), { validation: part(data, 1), onProgress: o.quiet ? undefined : (m) => process.stderr.write(`${m}\n`) });
      const test = part(data, 2);
      const m = evaluate(model.predict(test.X, test.n), test.y, { seed: o.seed });
      model.save(o.out);
      const record = {
        run: runInfo(),
        dataset: path.resolve(dir),
        model: o.model,
        seed: o.seed,
        seconds: (Date.now() - started) / 1000,
        fit: model.info(),
        test: m,
      };
      fs.writeFileSync(path.join(o.out, "metrics.json"), JSON.stringify(record, null, 2));
      const fmt = (k: "rmse" | "ubrmse" | "bias" | "r" | "mae") =>
        `${k} ${m[k].value.toFixed(5)}${Number.isNaN(m[k].ciLow) ? "" : ` [${m[k].ciLow.toFixed(5)}, ${m[k].ciHigh.toFixed(5)}]`}`;
      process.stdout.write(
        `${o.model} on ${dir}: test n ${m.n}, ${(["rmse", "ubrmse", "bias", "r", "mae"] as const).map(fmt).join(", ")}\nsaved to ${o.out}\n`,
      );
    });

  program
    .command("features <cube>")
    .description("the SMAP time-series features of every pixel of a cube, streamed tile by tile into a features cube")
    .requiredOption("--out <path>", "the features cube (.zarr) to create")
    .option("--from <YYYY-MM-DD>", "first day whose SMAP values are used (the training window; default the cube's first)")
    .option("--to <YYYY-MM-DD>", "last day used (default the cube's last)")
    .option("--context", "also write the 5 temporal-context terms of every pixel-day (dynamic, cube-sized)")
    .option("--quiet", "no progress output")
    .action(async (cubePath: string, o) => {
      const cube = await Cube.open(cubePath);
      const dayOf = (d: string | undefined, fallback: number) => (d === undefined ? fallback : cube.dayIndex(d));
      let progress: Progress | undefined;
      const r = await writeCubeFeatures(cube, o.out, {
        useFrom: dayOf(o.from, 0),
        useTo: dayOf(o.to, cube.days - 1),
        context: o.context,
        onTile: (_done, total) => {
          progress ??= new Progress("features (tiles)", total, { quiet: o.quiet });
          progress.tick();
        },
      });
      progress?.finish();
      process.stdout.write(
        `${r.output}: ${r.pixels} pixels x ${r.days} days in ${r.tiles} tiles, ${r.seconds.toFixed(1)} s ` +
          `(${((r.pixels * r.days) / r.seconds / 1e6).toFixed(2)} M pixel-days/s; read ${r.readSeconds.toFixed(1)} s, compute ${r.computeSeconds.toFixed(1)} s, write ${r.writeSeconds.toFixed(1)} s)\n`,
      );
    });

  program
    .command("evaluate <cube>")
    .description("train the models on the same splits of a cube and write the paper-style tables (held-out SMAP, in situ, importance)")
    .requiredOption("--out <dir>", "where models, tables and report go (a re-run with the same settings resumes)")
    .option("--models <list>", `comma list of ${MODEL_NAMES.join(", ")}, or all`, parseModels, [...MODEL_NAMES])
    .option("--splits <list>", `comma list of ${SPLIT_NAMES.join(", ")}; the first is the headline`, parseSplits, ["gaps"] as SplitName[])
    .option("--test-share <x>", "share of observed pixel-days held out for testing", parseShare, 0.2)
    .option("--validation-share <x>", "share held out for early stopping", parseShare, 0.1)
    .option("--ismn <path>", "ISMN download (folder, zip or file) for the in-situ comparison")
    .option("--ismn-flags <list>", "ISMN quality flags to keep", (t: string) => t.split(",").map((x) => x.trim()), ["G"])
    .option("--ismn-max-depth <m>", "deepest sensor bottom to use (m)", Number, 0.06)
    .option("--insitu-value <kind>", `station value per day: ${INSITU_VALUES.join(", ")}`, choice(INSITU_VALUES), "daily")
    .option("--max-train-samples <n>", "cap on training samples (seeded draw)", parseWholeNumber, 200000)
    .option("--max-validation-samples <n>", "cap on validation samples", parseWholeNumber, 50000)
    .option("--max-epochs <n>", "cap on epochs for the networks (default 200, MODELS.md)", parseWholeNumber)
    .option("--transformer-max-epochs <n>", "the Transformer's own epoch cap (it is the slowest model by far)", parseWholeNumber)
    .option("--rf-trees <n>", "random forest trees (default 300)", parseWholeNumber)
    .option("--xgb-rounds <n>", "boosting rounds cap (default 2000, early stopping 50)", parseWholeNumber)
    .option("--importance <list>", "models whose permutation importance is computed, or none", (t: string) => (t === "none" ? [] : parseModels(t)), ["tssmnet"])
    .option("--importance-rows <n>", "test samples used for importance", parseWholeNumber, 5000)
    .option("--importance-repeats <n>", "shuffles per feature", parseWholeNumber, 3)
    .option("--boot <n>", "bootstrap resamples for the confidence intervals", parseWholeNumber, 1000)
    .option("--no-coordinates", "do not add cell latitude/longitude as static predictors")
    .option(
      "--ablation <list>",
      "models also trained without the time-series group (TsSMNet's ablation is TsSMNet-noTS), or none",
      (t: string) => (t === "none" ? [] : parseModels(t)),
      [],
    )
    .option("--write-dataset", "also write each split's samples (X.npy, y.npy, split.npy, features.json) under OUT/datasets/")
    .option("--seed <n>", "random seed", parseWholeNumber, 0)
    .option("--quiet", "no progress output")
    .action(async (cube: string, o) => {
      const config: EvaluationConfig = {
        cube,
        out: o.out,
        models: o.models,
        splits: o.splits,
        testShare: o.testShare,
        validationShare: o.validationShare,
        ismn: o.ismn,
        ismnFlags: o.ismnFlags,
        ismnMaxDepth: o.ismnMaxDepth,
        insituValue: o.insituValue,
        maxTrainSamples: o.maxTrainSamples,
        maxValidationSamples: o.maxValidationSamples,
        maxEpochs: o.maxEpochs,
        transformerMaxEpochs: o.transformerMaxEpochs,
        rfTrees: o.rfTrees,
        xgbRounds: o.xgbRounds,
        importanceModels: o.importance,
        importanceRows: o.importanceRows,
        importanceRepeats: o.importanceRepeats,
        nBoot: o.boot,
        seed: o.seed,
        coordinates: o.coordinates,
        writeDataset: o.writeDataset,
        ablationModels: o.ablation,
      };
      const result = await runEvaluation(config, { log: o.quiet ? undefined : (m) => process.stderr.write(`${m}\n`) });
      const files = writeEvaluation(o.out, result);
      const headline = result.splits[0]!;
      const lines = headline.models.map(
        (m) =>
          `  ${modelLabel(m.model).padEnd(14)} RMSE ${m.test.rmse.value.toFixed(4)} ubRMSE ${m.test.ubrmse.value.toFixed(4)} R ${m.test.r.value.toFixed(3)}` +
          (m.tssmnetRmseReduction !== undefined && m.model !== "tssmnet"
            ? `  TsSMNet ${(100 * Math.abs(m.tssmnetRmseReduction)).toFixed(1)} % ${m.tssmnetRmseReduction >= 0 ? "lower" : "higher"}`
            : ""),
      );
      process.stdout.write(`${headline.split} split, ${headline.samples.test} test samples:\n${lines.join("\n")}\nwrote ${files.join(", ")}\n`);
    });

  program
    .command("predict <model> <dataset>")
    .description("predict every row of a dataset folder with a saved model; writes float32 .npy")
    .requiredOption("--out <file>", "predictions (.npy)")
    .action((modelDir: string, dir: string, o) => {
      const data = readDataset(dir);
      const model = loadRegressor(modelDir);
      if (model.featureNames.join("\u0000") !== data.names.join("\u0000")) {
        throw new SmapfillError("the dataset's features differ from the model's", { file: dir, hint: `The model expects: ${model.featureNames.join(", ")}` });
      }
      const pred = model.predict(data.X, data.n);
      writeNpy(o.out, pred, [data.n]);
      process.stdout.write(`${data.n} predictions written to ${o.out}\n`);
    });

  program
    .command("inspect <file>")
    .description("list the groups and datasets of an HDF5 / NetCDF-4 file")
    .action((file: string) => {
      const h5 = openHdf5(file);
      const lines: string[] = [];
      const walk = (group: InstanceType<typeof Group>, prefix: string) => {
        for (const key of group.keys()) {
          const entity = group.get(key);
          if (entity instanceof Group) walk(entity, `${prefix}${key}/`);
          else if (entity && "shape" in entity) {
            const shape = (entity as { shape: number[] | null }).shape ?? [];
            const grid = shape.length === 2 ? Ease2Grid.fromShape(shape[0]!, shape[1]!) : undefined;
            lines.push(`${prefix}${key}  [${shape.join(" x ")}] ${(entity as { dtype: unknown }).dtype}${grid ? `  (${grid.name})` : ""}`);
          }
        }
      };
      walk(h5, "/");
      h5.close();
      process.stdout.write(`${path.resolve(file)}\n${lines.join("\n")}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof SmapfillError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
