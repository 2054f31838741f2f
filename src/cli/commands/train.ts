/** `smapfill train`: a model trained on a dataset folder, saved with its feature schema. */
import path from "node:path";
import { Command, Option } from "commander";
import { part, readDataset } from "../../features/dataset.js";
import { featureRanges } from "../../features/schema.js";
import { evaluate, type Metrics } from "../../eval/metrics.js";
import { saveModel } from "../../models/model-store.js";
import { createRegressor, modelNames } from "../../models/registry.js";
import { SmapfillError } from "../../util/errors.js";
import { runInfo } from "../../util/run-info.js";
import { choice, collectParams, modelParamOptions, quietOption, seedOption } from "../options.js";

export function trainCommand(): Command {
  const command = new Command("train")
    .argument("<dataset>", "a dataset folder (X.npy, y.npy, split.npy, features.json)")
    .description("train a model on a dataset folder (X.npy, y.npy, split.npy, features.json): split 0 trains, 1 validates, 2 tests")
    .addOption(new Option("--model <name>", `one of ${modelNames().join(", ")}`).argParser(choice(modelNames())).makeOptionMandatory())
    .requiredOption("--out <dir>", "the new folder for the model, its schema and metrics");
  for (const o of modelParamOptions()) command.addOption(o);
  return command
    .addOption(seedOption())
    .addOption(quietOption())
    .action((dir: string, o) => {
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
      model.fit(train, { validation, onProgress: o.quiet ? undefined : (m) => process.stderr.write(`${m}\n`) });
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
