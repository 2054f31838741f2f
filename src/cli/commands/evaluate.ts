/**
 * `smapfill evaluate`: the paper's experiment on a cube. Every option is declared once in the
 * table below with the configuration key it sets; the configuration is read off the table.
 */
import { Command, Option } from "commander";
import { Cube } from "../../cube/cube.js";
import { drawBytes, featureCount } from "../../features/row-draw.js";
import { checkEvaluationConfig, EVALUATION_DEFAULTS, SPLIT_NAMES, runEvaluation, weatherSettings, type EvaluationConfig } from "../../eval/experiment.js";
import { INSITU_VALUES } from "../../eval/insitu.js";
import { methodNames, modelLabel, modelNames } from "../../models/registry.js";
import { writeEvaluation } from "../../report/evaluation-report.js";
import {
  checkMemory,
  checkOutput,
  choice,
  collectParams,
  list,
  memoryOption,
  messageLog,
  modelParamOptions,
  positiveNumber,
  quietOption,
  seedOption,
  share,
  weatherOptions,
  wholeNumber,
} from "../options.js";

type Key = Exclude<keyof EvaluationConfig, "cube" | "params">;

const modelsOrNone = list(modelNames, "model", true);
const methodsParser = list(methodNames, "model");
const pair = (text: string): [string, string][] =>
  text === "none"
    ? []
    : text.split(",").map((p) => {
        const [a, b] = p.split(":").map((x) => x.trim());
        methodsParser(`${a},${b}`);
        return [a!, b!];
      });

/** [configuration key, option]: the options of evaluate, declared once (fresh objects per program). */
export const evaluateOptions = (): [Key, Option][] => [
  ["out", new Option("--out <dir>", "where models, tables and report go (a re-run with the same settings resumes)").makeOptionMandatory()],
  ["models", new Option("--models <list>", "comma list of registered models and gap fillers, or all").argParser(methodsParser).default(methodNames())],
  [
    "splits",
    new Option("--splits <list>", `comma list of ${SPLIT_NAMES.join(", ")}; the first is the headline`)
      .argParser(list(() => SPLIT_NAMES, "split"))
      .default(EVALUATION_DEFAULTS.splits),
  ],
  ["testShare", new Option("--test-share <x>", "share of observed pixel-days held out for testing").argParser(share).default(EVALUATION_DEFAULTS.testShare)],
  ["validationShare", new Option("--validation-share <x>", "share held out for early stopping").argParser(share).default(EVALUATION_DEFAULTS.validationShare)],
  [
    "calibrationShare",
    new Option("--calibration-share <x>", "share of the training values hidden as gaps to calibrate the uncertainty")
      .argParser(share)
      .default(EVALUATION_DEFAULTS.calibrationShare),
  ],
  ["testStart", new Option("--test-start <date>", "the period split: first test day (YYYY-MM-DD); trained on the days before")],
  ["testEnd", new Option("--test-end <date>", "the period split: last test day (default the cube's last day; later days are left out)")],
  ["ismn", new Option("--ismn <path>", "ISMN download (folder, zip or file) for the in-situ comparison")],
  [
    "ismnFlags",
    new Option("--ismn-flags <list>", "ISMN quality flags to keep")
      .argParser((t: string) => t.split(",").map((x) => x.trim()))
      .default(EVALUATION_DEFAULTS.ismnFlags),
  ],
  [
    "ismnMaxDepth",
    new Option("--ismn-max-depth <m>", "deepest sensor bottom to use (m)").argParser(positiveNumber(10)).default(EVALUATION_DEFAULTS.ismnMaxDepth),
  ],
  [
    "insituValue",
    new Option("--insitu-value <kind>", `station value per day: ${INSITU_VALUES.join(", ")}`)
      .argParser(choice(INSITU_VALUES))
      .default(EVALUATION_DEFAULTS.insituValue),
  ],
  [
    "maxTrainSamples",
    new Option("--max-train-samples <n>", "cap on training samples (stratified by pixel and season)")
      .argParser(wholeNumber(10))
      .default(EVALUATION_DEFAULTS.maxTrainSamples),
  ],
  [
    "maxHeldSamples",
    new Option("--max-held-samples <n>", "most validation rows and most calibration rows (a seeded share beyond)")
      .argParser(wholeNumber(2))
      .default(EVALUATION_DEFAULTS.maxHeldSamples),
  ],
  [
    "reference",
    new Option("--reference <model>", "the model the others are compared with (relative RMSE reduction, featured figures)")
      .argParser(choice(methodNames()))
      .default(EVALUATION_DEFAULTS.reference),
  ],
  [
    "ablationPairs",
    new Option("--ablation-pairs <list>", "WITH:WITHOUT model pairs whose RMSE difference is reported, or none")
      .argParser(pair)
      .default(EVALUATION_DEFAULTS.ablationPairs),
  ],
  [
    "importanceModels",
    new Option("--importance <list>", "models whose permutation importance is computed, or none")
      .argParser(modelsOrNone)
      .default(EVALUATION_DEFAULTS.importanceModels),
  ],
  [
    "importanceRows",
    new Option("--importance-rows <n>", "test samples used for importance").argParser(wholeNumber(1)).default(EVALUATION_DEFAULTS.importanceRows),
  ],
  [
    "importanceRepeats",
    new Option("--importance-repeats <n>", "shuffles per feature").argParser(wholeNumber(1)).default(EVALUATION_DEFAULTS.importanceRepeats),
  ],
  [
    "nBoot",
    new Option("--boot <n>", "bootstrap resamples for the confidence intervals (0: none)").argParser(wholeNumber(0)).default(EVALUATION_DEFAULTS.nBoot),
  ],
  ["coordinates", new Option("--no-coordinates", "do not add cell latitude/longitude as static predictors")],
  [
    "tsMode",
    new Option("--ts-mode <mode>", "time-series features of training rows: in-sample (the paper) or out-of-fold (MODELS.md: no self-leakage)")
      .argParser(choice(["in-sample", "out-of-fold"] as const))
      .default(EVALUATION_DEFAULTS.tsMode),
  ],
  ["spatial", new Option("--spatial", "add the spatial context features (group spatial: SMAP around each pixel the same day; ours, not the paper's)")],
  ...(((w) => [
    ["weather", w.weather],
    ["weatherApiDecay", w.apiDecay],
    ["weatherRainThresholds", w.rainThresholds],
  ])(weatherOptions()) as [Key, Option][]),
  [
    "ablationModels",
    new Option("--ablation <list>", "models also trained without the time-series group, or none")
      .argParser(modelsOrNone)
      .default(EVALUATION_DEFAULTS.ablationModels),
  ],
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
  return command
    .addOption(memoryOption())
    .addOption(quietOption())
    .action(async (cube: string, o) => {
      const config = {
        cube,
        params: collectParams(o),
        ...Object.fromEntries(options.map(([key, option]) => [key, o[option.attributeName()]])),
      } as EvaluationConfig;
      checkEvaluationConfig(config);
      checkOutput(o.out, "--out", [cube]);
      const c = await Cube.open(cube);
      checkMemory(evaluationBytes(c, config), o.memory, "the evaluation", {
        file: cube,
        hint: "Give a larger --memory, fewer --max-train-samples / --max-held-samples, or build the cube with smaller chunks",
      });
      const outcome = await runEvaluation(config, { log: messageLog(o.quiet), progress: !o.quiet });
      const files = await writeEvaluation(o.out, outcome);
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

/**
 * Bytes an evaluation holds at its peak: the row draw (roles, a tile, the drawn rows) and, per
 * test row (at most the test share of every pixel-day), its target, day, pixel, kind and each
 * method's estimate and sigma; a gap filler adds the window's SMAP and its filled copy.
 */
export function evaluationBytes(cube: Cube, c: EvaluationConfig): number {
  const weather = weatherSettings(c);
  const settings = { spatial: Boolean(c.spatial), coordinates: c.coordinates, ...(weather ? { weather } : {}) };
  const draw = drawBytes(cube, { maxRows: c.maxTrainSamples, maxHeldRows: c.maxHeldSamples, ...settings });
  const pixelDays = cube.window.nrows * cube.window.ncols * cube.days;
  const methods = c.models.length + (c.ablationModels?.length ?? 0);
  const test = Math.ceil(c.testShare * pixelDays) * (14 + 8 * methods);
  const importance = c.importanceRows * (featureCount(cube, settings) + 3) * 4;
  const fillers = c.models.filter((m) => !modelNames().includes(m)).length ? 8 * pixelDays : 0;
  return draw + test + importance + fillers;
}
