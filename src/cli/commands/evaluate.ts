/**
 * `smapfill evaluate`: the paper's experiment on a cube. Every option is declared once in the
 * table below with the configuration key it sets; the configuration is read off the table.
 */
import { Command, Option } from "commander";
import { SPLIT_NAMES, runEvaluation, type EvaluationConfig, type SplitName } from "../../eval/experiment.js";
import { INSITU_VALUES } from "../../eval/insitu.js";
import { modelLabel, modelNames } from "../../models/registry.js";
import { writeEvaluation } from "../../report/evaluation-report.js";
import { choice, collectParams, list, modelParamOptions, modelsParser, positiveNumber, quietOption, seedOption, share, wholeNumber } from "../options.js";
import { messageLog } from "../options.js";

type Key = Exclude<keyof EvaluationConfig, "cube" | "params">;

const modelsOrNone = list(modelNames, "model", true);
const pair = (text: string): [string, string][] =>
  text === "none"
    ? []
    : text.split(",").map((p) => {
        const [a, b] = p.split(":").map((x) => x.trim());
        modelsParser(`${a},${b}`);
        return [a!, b!];
      });

/** [configuration key, option]: the options of evaluate, declared once (fresh objects per program). */
export const evaluateOptions = (): [Key, Option][] => [
  ["out", new Option("--out <dir>", "where models, tables and report go (a re-run with the same settings resumes)").makeOptionMandatory()],
  ["models", new Option("--models <list>", "comma list of registered models, or all").argParser(modelsParser).default(modelNames())],
  [
    "splits",
    new Option("--splits <list>", `comma list of ${SPLIT_NAMES.join(", ")}; the first is the headline`)
      .argParser(list(() => SPLIT_NAMES, "split"))
      .default(["gaps"] as SplitName[]),
  ],
  ["testShare", new Option("--test-share <x>", "share of observed pixel-days held out for testing").argParser(share).default(0.2)],
  ["validationShare", new Option("--validation-share <x>", "share held out for early stopping").argParser(share).default(0.1)],
  ["ismn", new Option("--ismn <path>", "ISMN download (folder, zip or file) for the in-situ comparison")],
  ["ismnFlags", new Option("--ismn-flags <list>", "ISMN quality flags to keep").argParser((t: string) => t.split(",").map((x) => x.trim())).default(["G"])],
  ["ismnMaxDepth", new Option("--ismn-max-depth <m>", "deepest sensor bottom to use (m)").argParser(positiveNumber(10)).default(0.06)],
  ["insituValue", new Option("--insitu-value <kind>", `station value per day: ${INSITU_VALUES.join(", ")}`).argParser(choice(INSITU_VALUES)).default("daily")],
  ["maxTrainSamples", new Option("--max-train-samples <n>", "cap on training samples (seeded draw)").argParser(wholeNumber(10)).default(200000)],
  ["maxValidationSamples", new Option("--max-validation-samples <n>", "cap on validation samples").argParser(wholeNumber(2)).default(50000)],
  [
    "reference",
    new Option("--reference <model>", "the model the others are compared with (relative RMSE reduction, featured figures)")
      .argParser(choice(modelNames()))
      .default("tssmnet"),
  ],
  [
    "ablationPairs",
    new Option("--ablation-pairs <list>", "WITH:WITHOUT model pairs whose RMSE difference is reported, or none")
      .argParser(pair)
      .default([["tssmnet", "tssmnet_nots"]]),
  ],
  [
    "importanceModels",
    new Option("--importance <list>", "models whose permutation importance is computed, or none").argParser(modelsOrNone).default(["tssmnet"]),
  ],
  ["importanceRows", new Option("--importance-rows <n>", "test samples used for importance").argParser(wholeNumber(1)).default(5000)],
  ["importanceRepeats", new Option("--importance-repeats <n>", "shuffles per feature").argParser(wholeNumber(1)).default(3)],
  ["nBoot", new Option("--boot <n>", "bootstrap resamples for the confidence intervals (0: none)").argParser(wholeNumber(0)).default(1000)],
  ["coordinates", new Option("--no-coordinates", "do not add cell latitude/longitude as static predictors")],
  [
    "tsMode",
    new Option("--ts-mode <mode>", "time-series features of training rows: in-sample (the paper) or out-of-fold (MODELS.md: no self-leakage)")
      .argParser(choice(["in-sample", "out-of-fold"] as const))
      .default("out-of-fold"),
  ],
  ["spatial", new Option("--spatial", "add the spatial context features (group spatial: SMAP around each pixel the same day; ours, not the paper's)")],
  ["ablationModels", new Option("--ablation <list>", "models also trained without the time-series group, or none").argParser(modelsOrNone).default([])],
  ["writeDataset", new Option("--write-dataset", "also write each split's samples (X.npy, y.npy, split.npy, features.json) under OUT/datasets/")],
  ["seed", seedOption()],
  ["trainSeed", new Option("--train-seed <n>", "the models' training seed (default: --seed): several trainings on one split").argParser(wholeNumber(0))],
];

export function evaluateCommand(): Command {
  const command = new Command("evaluate")
    .argument("<cube>", "a cube (.zarr) made by smapfill ingest")
    .description("train the models on the same splits of a cube and write the paper-style tables (held-out SMAP, in situ, importance)");
  const options = evaluateOptions();
  for (const [, option] of options) command.addOption(option);
  for (const option of modelParamOptions()) command.addOption(option);
  return command.addOption(quietOption()).action(async (cube: string, o) => {
    const config = {
      cube,
      params: collectParams(o),
      ...Object.fromEntries(options.map(([key, option]) => [key, o[option.attributeName()]])),
    } as EvaluationConfig;
    const outcome = await runEvaluation(config, { log: messageLog(o.quiet) });
    const files = writeEvaluation(o.out, outcome);
    const headline = outcome.result.splits[0]!;
    const ref = headline.reference;
    const lines = headline.models.map(
      (m) =>
        `  ${modelLabel(m.model).padEnd(14)} RMSE ${m.test.rmse.value.toFixed(4)} ubRMSE ${m.test.ubrmse.value.toFixed(4)} R ${m.test.r.value.toFixed(3)}` +
        (ref && m.referenceRmseReduction !== undefined && m.model !== ref
          ? `  ${modelLabel(ref)} ${(100 * Math.abs(m.referenceRmseReduction)).toFixed(1)} % ${m.referenceRmseReduction >= 0 ? "lower" : "higher"}`
          : ""),
    );
    process.stdout.write(`${headline.split} split, ${headline.samples.test} test samples:\n${lines.join("\n")}\nwrote ${files.join(", ")}\n`);
  });
}
