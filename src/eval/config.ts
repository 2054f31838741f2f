/**
 * What an evaluation is asked to do, and the checks run before any work: the splits, shares,
 * models (from the registry), their hyperparameters (one flat map), the model the others are
 * compared with and the ablation pairs, in-situ and importance settings.
 */
import { SmapfillError } from "../util/errors.js";
import { checkParams, isGapFiller, methodNames, modelEntry } from "../models/registry.js";
import { parseDay } from "../util/dates.js";
import type { ModelName } from "../models/regressor.js";
import type { InsituValue } from "./insitu.js";
import { HELD_OUT_DESIGN } from "./splits.js";
import { WEATHER_SETTINGS, type WeatherSettings } from "../features/weather-rows.js";

export type SplitName = "gaps" | "temporal" | "spatial" | "stations" | "random" | "period";
export const SPLIT_NAMES: readonly SplitName[] = ["gaps", "temporal", "spatial", "stations", "random", "period"];

export const SPLIT_DESCRIPTIONS: Record<SplitName, string> = {
  gaps: "simulated gaps: observed SMAP hidden in swath stripes, blocks and runs of days (test and validation)",
  temporal: "temporal: runs of 10 whole days held out",
  spatial: "spatial blocks: 8 x 8-pixel blocks held out whole (ungauged pixels: no time-series features)",
  stations: "independent stations: every SMAP value of the station pixels held out (validation: simulated gaps elsewhere)",
  random: "random pixel-days (optimistic: never the headline)",
  period: "prolongation: trained before --test-start, tested on every observation from it on (validation: the last 10 % of the training days)",
};

export interface EvaluationConfig {
  cube: string;
  out: string;
  models: ModelName[];
  /** The first is the headline (in-situ and importance use its models); never "random". */
  splits: SplitName[];
  testShare: number;
  validationShare: number;
  /** Share of the training values hidden as gaps to calibrate the uncertainty (as the product model does). */
  calibrationShare: number;
  /** The period split: its first and (optional) last test day, YYYY-MM-DD. */
  testStart?: string;
  testEnd?: string;
  ismn?: string;
  ismnFlags: string[];
  ismnMaxDepth: number;
  insituValue: InsituValue;
  maxTrainSamples: number;
  /** Most validation rows and most calibration rows (a seeded share beyond). */
  maxHeldSamples: number;
  /** Hyperparameters: `model.param` for one model, a bare `param` for every model that has it. */
  params: Record<string, number>;
  /** The model the others are compared with (the relative RMSE reduction), when evaluated. */
  reference: ModelName;
  /** [with, without] pairs: the second leaves a feature group out (TsSMNet / TsSMNet-noTS). */
  ablationPairs: [ModelName, ModelName][];
  importanceModels: ModelName[];
  importanceRows: number;
  importanceRepeats: number;
  nBoot: number;
  seed: number;
  coordinates: boolean;
  /** How the time-series features of training rows are made (MODELS.md): in-sample (the paper) or out-of-fold. */
  tsMode?: "in-sample" | "out-of-fold";
  /** The models' training seed (default: seed); the split, the rows and the features follow seed. */
  trainSeed?: number;
  /** Add the spatial context features (features/spatial.ts). */
  spatial?: boolean;
  /** Add the weather group (features/weather-rows.ts), with its API decay and rain thresholds (defaults: WEATHER_SETTINGS). */
  weather?: boolean;
  weatherApiDecay?: number;
  weatherRainThresholds?: number[];
  /** Also write each split's samples (exactly the rows used) in the interchange format. */
  writeDataset?: boolean;
  /** Models also trained without the time-series group (the ablation for every model). */
  ablationModels?: ModelName[];
}

/** The weather group's settings of an evaluation (undefined: no weather group). */
export function weatherSettings(c: Pick<EvaluationConfig, "weather" | "weatherApiDecay" | "weatherRainThresholds">): WeatherSettings | undefined {
  if (!c.weather) return undefined;
  return { apiDecay: c.weatherApiDecay ?? WEATHER_SETTINGS.apiDecay, rainThresholds: c.weatherRainThresholds ?? WEATHER_SETTINGS.rainThresholds };
}

/** evaluate's defaults (the command line shows and uses these). */
export const EVALUATION_DEFAULTS = {
  splits: ["gaps"] as SplitName[],
  testShare: 0.2,
  validationShare: 0.1,
  calibrationShare: 0.1,
  ismnFlags: ["G"],
  ismnMaxDepth: 0.06,
  insituValue: "daily" as InsituValue,
  maxTrainSamples: 200000,
  maxHeldSamples: 50000,
  reference: "tssmnet",
  ablationPairs: [["tssmnet", "tssmnet_nots"]] as [ModelName, ModelName][],
  importanceModels: ["tssmnet"],
  importanceRows: 5000,
  importanceRepeats: 3,
  nBoot: 1000,
  tsMode: "out-of-fold" as const,
  ablationModels: [] as ModelName[],
  seed: 0,
} satisfies Partial<EvaluationConfig>;

/** The settings that change results: a saved run with other values is not reused. */
export function settingsKey(c: EvaluationConfig): string {
  const {
    out: _out,
    models: _models,
    splits: _splits,
    importanceModels: _i,
    ismn: _s,
    writeDataset: _w,
    ablationModels: _a,
    reference: _r,
    ablationPairs: _p,
    ...rest
  } = c;
  // A run saved under another design of held-out gaps trained its models on other rows.
  return JSON.stringify({ ...rest, heldOutDesign: HELD_OUT_DESIGN });
}

/** Refuses a configuration that cannot run, naming the option and the fix. */
export function checkEvaluationConfig(c: EvaluationConfig): void {
  if (!c.splits.length) throw new SmapfillError("no split given", { variable: "--splits", hint: `Use some of ${SPLIT_NAMES.join(", ")}` });
  for (const s of c.splits)
    if (!SPLIT_NAMES.includes(s)) throw new SmapfillError(`unknown split '${s}'`, { variable: "--splits", hint: `Use some of ${SPLIT_NAMES.join(", ")}` });
  if (c.splits[0] === "random")
    throw new SmapfillError("the random pixel-day split cannot be the headline: it is optimistic", {
      variable: "--splits",
      hint: "Put gaps, temporal or spatial first",
    });
  const calibration = c.calibrationShare ?? 0;
  if (!(c.testShare > 0 && c.validationShare > 0 && calibration >= 0 && c.testShare + c.validationShare + calibration < 0.9))
    throw new SmapfillError(
      `test share ${c.testShare}, validation share ${c.validationShare} and calibration share ${calibration} do not leave a training set`,
      { variable: "--test-share" },
    );
  if (c.splits.includes("period") && !c.testStart)
    throw new SmapfillError("the period split needs its first test day", { variable: "--test-start", hint: "Give --test-start YYYY-MM-DD" });
  if (c.testStart) parseDay(c.testStart, "--test-start");
  if (c.testEnd) parseDay(c.testEnd, "--test-end");
  if (c.testStart && c.testEnd && parseDay(c.testEnd, "--test-end") < parseDay(c.testStart, "--test-start"))
    throw new SmapfillError(`--test-end ${c.testEnd} is before --test-start ${c.testStart}`, { variable: "--test-end" });
  if (!c.models.length) throw new SmapfillError("no model given", { variable: "--models" });
  for (const m of c.models)
    if (!methodNames().includes(m)) throw new SmapfillError(`unknown model '${m}'`, { variable: "--models", hint: `Use some of ${methodNames().join(", ")}` });
  // Importance, ablations and the reference need a model trained on rows.
  for (const m of [...c.importanceModels, ...(c.ablationModels ?? [])]) modelEntry(m);
  for (const m of [c.reference, ...c.ablationPairs.flat()]) if (!isGapFiller(m)) modelEntry(m);
  checkParams(c.params);
  for (const [name, value] of [
    ["--max-train-samples", c.maxTrainSamples],
    ["--max-held-samples", c.maxHeldSamples],
    ["--importance-rows", c.importanceRows],
    ["--importance-repeats", c.importanceRepeats],
  ] as const)
    if (!(Number.isInteger(value) && value >= 1)) throw new SmapfillError(`must be a whole number >= 1, got ${value}`, { variable: name });
  if (!(Number.isInteger(c.nBoot) && c.nBoot >= 0)) throw new SmapfillError(`must be a whole number >= 0, got ${c.nBoot}`, { variable: "--boot" });
}

/**
 * The demo's evaluation: smapfill evaluate with settings that finish in a few minutes (fewer
 * samples and epochs; the Transformer, by far the slowest model, left out). `smapfill evaluate`
 * runs all six with MODELS.md's settings.
 */
export function demoEvaluationConfig(cube: string, out: string, ismn: string): EvaluationConfig {
  return {
    cube,
    out,
    models: ["tssmnet", "tssmnet_nots", "autoresnet", "rf", "xgb", "linear_interp"],
    splits: ["gaps"],
    testShare: 0.2,
    validationShare: 0.1,
    ismn,
    ismnFlags: ["G"],
    ismnMaxDepth: 0.06,
    insituValue: "daily",
    maxTrainSamples: 20000,
    maxHeldSamples: 10000,
    calibrationShare: 0.1,
    params: { max_epochs: 10, "rf.trees": 100, "xgb.rounds": 500 },
    reference: "tssmnet",
    tsMode: "out-of-fold",
    ablationPairs: [["tssmnet", "tssmnet_nots"]],
    importanceModels: ["xgb", "tssmnet"],
    importanceRows: 2000,
    importanceRepeats: 2,
    nBoot: 200,
    seed: 0,
    coordinates: true,
  };
}
