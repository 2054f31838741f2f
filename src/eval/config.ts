/**
 * What an evaluation is asked to do, and the checks run before any work: the splits, shares,
 * models (from the registry), their hyperparameters (one flat map), the model the others are
 * compared with and the ablation pairs, in-situ and importance settings.
 */
import { SmapfillError } from "../util/errors.js";
import { checkParams, modelEntry } from "../models/registry.js";
import type { ModelName } from "../models/regressor.js";
import type { InsituValue } from "./insitu.js";
import { HELD_OUT_DESIGN } from "./splits.js";

export type SplitName = "gaps" | "temporal" | "spatial" | "stations" | "random";
export const SPLIT_NAMES: readonly SplitName[] = ["gaps", "temporal", "spatial", "stations", "random"];

export const SPLIT_DESCRIPTIONS: Record<SplitName, string> = {
  gaps: "simulated gaps: observed SMAP hidden in swath stripes, blocks and runs of days (test and validation)",
  temporal: "temporal: runs of 10 whole days held out",
  spatial: "spatial blocks: 8 x 8-pixel blocks held out whole (ungauged pixels: no time-series features)",
  stations: "independent stations: every SMAP value of the station pixels held out (validation: simulated gaps elsewhere)",
  random: "random pixel-days (optimistic: never the headline)",
};

export interface EvaluationConfig {
  cube: string;
  out: string;
  models: ModelName[];
  /** The first is the headline (in-situ and importance use its models); never "random". */
  splits: SplitName[];
  testShare: number;
  validationShare: number;
  ismn?: string;
  ismnFlags: string[];
  ismnMaxDepth: number;
  insituValue: InsituValue;
  maxTrainSamples: number;
  maxValidationSamples: number;
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
  /** Also write each split's samples (exactly the rows used) in the interchange format. */
  writeDataset?: boolean;
  /** Models also trained without the time-series group (the ablation for every model). */
  ablationModels?: ModelName[];
}

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
  if (!(c.testShare > 0 && c.validationShare > 0 && c.testShare + c.validationShare < 0.9))
    throw new SmapfillError(`test share ${c.testShare} and validation share ${c.validationShare} do not leave a training set`, {
      variable: "--test-share",
    });
  if (!c.models.length) throw new SmapfillError("no model given", { variable: "--models" });
  for (const m of [...c.models, ...c.importanceModels, ...(c.ablationModels ?? []), c.reference, ...c.ablationPairs.flat()]) modelEntry(m);
  checkParams(c.params);
  for (const [name, value] of [
    ["--max-train-samples", c.maxTrainSamples],
    ["--max-validation-samples", c.maxValidationSamples],
    ["--importance-rows", c.importanceRows],
    ["--importance-repeats", c.importanceRepeats],
  ] as const)
    if (!(Number.isInteger(value) && value >= 1)) throw new SmapfillError(`must be a whole number >= 1, got ${value}`, { variable: name });
  if (!(Number.isInteger(c.nBoot) && c.nBoot >= 0)) throw new SmapfillError(`must be a whole number >= 0, got ${c.nBoot}`, { variable: "--boot" });
}
