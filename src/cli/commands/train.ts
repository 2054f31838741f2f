/**
 * `smapfill train`: a model trained on a dataset folder, or (a product model) on a cube's observed
 * pixel-days; saved with its feature schema. A cube and a dataset folder are told apart by their
 * files (zarr.json, features.json).
 */
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../../cube/cube.js";
import { trainProductModel } from "../../reconstruct/product-model.js";
import { drawBytes } from "../../reconstruct/training-draw.js";
import { Command, Option } from "commander";
import { part, readDataset } from "../../features/dataset.js";
import { featureRanges } from "../../features/schema.js";
import { evaluate, type Metrics } from "../../eval/metrics.js";
import { saveModel } from "../../models/model-store.js";
import { createRegressor, modelEntry, modelNames } from "../../models/registry.js";

/** Models trained on rows (cube-level gap fillers such as DCT-PLS are not). */
const trainable = () => modelNames().filter((m) => !modelEntry(m).fill);
import { SmapfillError } from "../../util/errors.js";
import { runInfo } from "../../util/run-info.js";
import { StepProgress } from "../../util/progress.js";
import { checkMemory, choice, collectParams, memoryOption, modelParamOptions, quietOption, seedOption, share, wholeNumber } from "../options.js";
import { messageLog } from "../options.js";

export function trainCommand(): Command {
  const command = new Command("train")
    .argument("<input>", "a dataset folder (X.npy, y.npy, split.npy, features.json) or a cube (.zarr)")
    .description(
      "train a model on a dataset folder (split 0 trains, 1 validates, 2 tests), or a product model on a cube's observed pixel-days (validation and calibration gaps held out)",
    )
    .addOption(new Option("--model <name>", `one of ${trainable().join(", ")}`).argParser(choice(trainable())).makeOptionMandatory())
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
    .addOption(
      new Option("--ts-mode <mode>", "cube: time-series features of training rows: out-of-fold (MODELS.md) or in-sample (the paper)")
        .argParser(choice(["in-sample", "out-of-fold"] as const))
        .default("out-of-fold"),
    )
    .addOption(seedOption())
    .addOption(quietOption())
    .action(async (dir: string, o) => {
      if (fs.existsSync(path.join(dir, "zarr.json"))) {
        const log = messageLog(o.quiet);
        const cube = await Cube.open(dir);
        checkMemory(
          drawBytes(cube, { maxRows: o.maxTrainSamples, maxHeldRows: o.maxHeldSamples, spatial: Boolean(o.spatial), coordinates: o.coordinates }),
          o.memory,
          "the training draw",
          {
            file: dir,
            hint: "Give a larger --memory, fewer --max-train-samples / --max-held-samples, or build the cube with smaller chunks",
          },
        );
        const r = await trainProductModel(cube, {
          model: o.model,
          out: o.out,
          params: collectParams(o),
          seed: o.seed,
          maxSamples: o.maxTrainSamples,
          maxHeldSamples: o.maxHeldSamples,
          quiet: Boolean(o.quiet),
          validationShare: o.validationShare,
          calibrationShare: o.calibrationShare,
          coordinates: o.coordinates,
          tsMode: o.tsMode,
          spatial: Boolean(o.spatial),
          log,
        });
        const all = r.coverage.find((c) => c.group === "all")!;
        process.stdout.write(
          `${o.model} on ${dir}: ${r.rows.train} training rows; calibration gaps (${r.rows.calibration}): RMSE ${r.calibration.rmse.value.toFixed(5)}, R ${r.calibration.r.value.toFixed(3)}, ` +
            `90 % interval holds ${(100 * all.coverage90).toFixed(1)} %\nsaved to ${o.out}\n`,
        );
        return;
      }
      const data = readDataset(dir);
      const [train, validation, test] = [part(data, 0), part(data, 1), part(data, 2)];
      if (train.n < 2 || validation.n < 2)
        throw new SmapfillError(`has ${train.n} training and ${validation.n} validation rows`, {
          file: path.join(dir, "split.npy"),
          hint: "split.npy needs rows with 0 (training) and 1 (validation, for early stopping)",
        });
      const params = collectParams(o);
      const model = createRegressor(o.model, data.names, data.groups, params, { seed: o.seed });
      const started = Date.now();
      const steps = new StepProgress(`fit ${o.model}`, { quiet: o.quiet });
      model.fit(train, { validation, onProgress: o.quiet ? undefined : (m) => process.stderr.write(`${m}\n`), onStep: steps.onStep });
      steps.finish();
      const m: Metrics | undefined = test.n >= 2 ? evaluate(model.predict(test.X, test.n), test.y, { seed: o.seed }) : undefined;
      const record = {
        run: runInfo(),
        dataset: path.resolve(dir),
        model: o.model,
        params,
        seed: o.seed,
        seconds: (Date.now() - started) / 1000,
        fit: model.info(),
        test: m ?? null,
      };
      const schema = { ...data.schema, ranges: featureRanges(train.X, train.n, data.f) };
      saveModel(o.out, model, schema, record, { files: { "metrics.json": record } });
      if (!m) {
        process.stderr.write(`warning: ${path.join(dir, "split.npy")} has no test rows (split 2): the model is saved without test metrics\n`);
        process.stdout.write(`${o.model} on ${dir}: no test rows\nsaved to ${o.out}\n`);
        return;
      }
      const fmt = (k: "rmse" | "ubrmse" | "bias" | "r" | "mae") =>
        `${k} ${m[k].value.toFixed(5)}${Number.isNaN(m[k].ciLow) ? "" : ` [${m[k].ciLow.toFixed(5)}, ${m[k].ciHigh.toFixed(5)}]`}`;
      process.stdout.write(
        `${o.model} on ${dir}: test n ${m.n}, ${(["rmse", "ubrmse", "bias", "r", "mae"] as const).map(fmt).join(", ")}\nsaved to ${o.out}\n`,
      );
    });
}
