/**
 * `smapfill train`: a model trained on a dataset folder, or (a product model) on a cube's observed
 * pixel-days; saved with its feature schema by the one fit-and-save (models/fit.ts), so the
 * hyperparameters are checked and the same files written as by evaluate. A cube and a dataset
 * folder are told apart by their files (zarr.json, features.json).
 */
import fs from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { Cube } from "../../cube/cube.js";
import { part, readDataset } from "../../features/dataset.js";
import { Role } from "../../features/roles.js";
import { drawBytes } from "../../features/row-draw.js";
import { calibrationRecord } from "../../eval/calibration.js";
import { evaluate, type Metrics } from "../../eval/metrics.js";
import { checkModelOut, fitAndSave } from "../../models/fit.js";
import { modelNames, resolveParams } from "../../models/registry.js";
import { writeJson } from "../../models/regressor.js";
import { trainProductModel } from "../../reconstruct/product-model.js";
import { SmapfillError } from "../../util/errors.js";
import { StepProgress } from "../../util/progress.js";
import {
  checkMemory,
  checkOutput,
  choice,
  collectParams,
  memoryOption,
  messageLog,
  modelParamOptions,
  quietOption,
  seedOption,
  share,
  weatherOptions,
  wholeNumber,
} from "../options.js";
import { weatherSettings } from "../../eval/config.js";

const BOOT = 1000;

export function trainCommand(): Command {
  const command = new Command("train")
    .argument("<input>", "a dataset folder (X.npy, y.npy, split.npy, features.json) or a cube (.zarr)")
    .description(
      "train a model on a dataset folder (split 0 trains, 1 validates, 2 tests; role.npy's calibration rows calibrate the uncertainty), or a product model on a cube's observed pixel-days (validation and calibration gaps held out)",
    )
    .addOption(new Option("--model <name>", `one of ${modelNames().join(", ")}`).argParser(choice(modelNames())).makeOptionMandatory())
    .requiredOption("--out <dir>", "the new folder for the model, its schema and metrics");
  for (const o of modelParamOptions()) command.addOption(o);
  return command
    .addOption(new Option("--max-train-samples <n>", "cube: most training rows (stratified by pixel and season)").argParser(wholeNumber(10)).default(200000))
    .addOption(
      new Option("--max-held-samples <n>", "cube: most validation rows and most calibration rows (a seeded share beyond)")
        .argParser(wholeNumber(10))
        .default(200000),
    )
    .addOption(memoryOption())
    .addOption(new Option("--validation-share <x>", "cube: share of observed pixel-days hidden as gaps for early stopping").argParser(share).default(0.1))
    .addOption(new Option("--calibration-share <x>", "cube: share hidden as gaps to calibrate the uncertainty").argParser(share).default(0.1))
    .option("--no-coordinates", "cube: do not add cell latitude/longitude as static predictors")
    .option("--spatial", "cube: add the spatial context features (SMAP around each pixel the same day)")
    .addOption(weatherOptions().weather)
    .addOption(weatherOptions().apiDecay)
    .addOption(weatherOptions().rainThresholds)
    .addOption(
      new Option("--ts-mode <mode>", "cube: time-series features of training rows: out-of-fold (MODELS.md) or in-sample (the paper)")
        .argParser(choice(["in-sample", "out-of-fold"] as const))
        .default("out-of-fold"),
    )
    .addOption(seedOption())
    .addOption(quietOption())
    .action(async (input: string, o) => {
      // Everything that can be refused is refused before the rows are read or a model trained.
      const params = collectParams(o);
      resolveParams(o.model, params);
      checkOutput(o.out, "--out", [input]);
      checkModelOut(o.out);
      const log = messageLog(o.quiet);
      if (fs.existsSync(path.join(input, "zarr.json"))) {
        const cube = await Cube.open(input);
        const weather = weatherSettings({ weather: o.weather, weatherApiDecay: o.weatherApiDecay, weatherRainThresholds: o.weatherRainThresholds });
        checkMemory(
          drawBytes(cube, {
            maxRows: o.maxTrainSamples,
            maxHeldRows: o.maxHeldSamples,
            spatial: Boolean(o.spatial),
            coordinates: o.coordinates,
            ...(weather ? { weather } : {}),
          }),
          o.memory,
          "the training draw",
          {
            file: input,
            hint: "Give a larger --memory, fewer --max-train-samples / --max-held-samples, or build the cube with smaller chunks",
          },
        );
        const r = await trainProductModel(cube, {
          model: o.model,
          out: o.out,
          params,
          seed: o.seed,
          maxSamples: o.maxTrainSamples,
          maxHeldSamples: o.maxHeldSamples,
          quiet: Boolean(o.quiet),
          validationShare: o.validationShare,
          calibrationShare: o.calibrationShare,
          coordinates: o.coordinates,
          tsMode: o.tsMode,
          spatial: Boolean(o.spatial),
          ...(weather ? { weather } : {}),
          log,
        });
        const all = r.coverage.find((c) => c.group === "all")!;
        process.stdout.write(
          `${o.model} on ${input}: ${r.rows.train} training rows; calibration gaps (${r.rows.calibration}): RMSE ${r.calibration.rmse.value.toFixed(5)}, R ${r.calibration.r.value.toFixed(3)}, ` +
            `90 % interval holds ${(100 * all.coverage90).toFixed(1)} %\nsaved to ${o.out}\n`,
        );
        return;
      }
      await trainOnDataset(input, o.model, params, o.seed, o.out, Boolean(o.quiet), log);
    });
}

async function trainOnDataset(
  dir: string,
  model: string,
  params: Record<string, number>,
  seed: number,
  out: string,
  quiet: boolean,
  log?: (m: string) => void,
) {
  const data = readDataset(dir);
  const [train, validation, calibration, test] = [part(data, Role.Train), part(data, Role.Validation), part(data, Role.Calibration), part(data, Role.Test)];
  if (train.n < 2 || validation.n < 2)
    throw new SmapfillError(`has ${train.n} training and ${validation.n} validation rows`, {
      file: path.join(dir, "split.npy"),
      hint: "split.npy needs rows with 0 (training) and 1 (validation, for early stopping)",
    });
  const steps = new StepProgress(`fit ${model}`, { quiet });
  const fitted = await fitAndSave(
    { name: model, params, seed },
    { train, validation, ...(calibration.n >= 30 ? { calibration } : {}) },
    {
      out,
      schema: data.schema,
      describeCalibration: calibrationRecord(data.schema, seed, BOOT),
      record: () => ({ kind: "dataset model", dataset: path.basename(path.resolve(dir)) }),
      ...(log ? { log } : {}),
      onStep: steps.onStep,
    },
  );
  steps.finish();
  // CIs resample whole days when the folder says which day each row is (pixel_day.npy).
  const m: Metrics | undefined =
    test.n >= 2 ? evaluate(fitted.model.predict(test.X, test.n), test.y, { seed, nBoot: BOOT, ...(test.day ? { clusters: test.day } : {}) }) : undefined;
  writeJson(path.join(out, "metrics.json"), { ...fitted.record, test: m ?? null });
  if (!m) {
    process.stderr.write(`warning: ${path.join(dir, "split.npy")} has no test rows (split 2): the model is saved without test metrics\n`);
    process.stdout.write(`${model} on ${dir}: no test rows\nsaved to ${out}\n`);
    return;
  }
  const fmt = (k: "rmse" | "ubrmse" | "bias" | "r" | "mae") =>
    `${k} ${m[k].value.toFixed(5)}${Number.isNaN(m[k].ciLow) ? "" : ` [${m[k].ciLow.toFixed(5)}, ${m[k].ciHigh.toFixed(5)}]`}`;
  process.stdout.write(
    `${model} on ${dir}: test n ${m.n}, ${(["rmse", "ubrmse", "bias", "r", "mae"] as const).map(fmt).join(", ")}${test.day ? " (95 % CIs over days)" : ""}\nsaved to ${out}\n`,
  );
}
