/**
 * The model registry: one entry per model (name, label, hyperparameters with their defaults and
 * valid ranges, create, load). Experiments, reports and the command line loop over it and never
 * name a model; adding a model is one `registerModel` call in src/models. Cube-level gap fillers
 * (DCT-PLS: a whole window filled at once, no rows, no training) are their own kind with their
 * own contract (`registerGapFiller`): evaluate scores them beside the models on the same test
 * rows; they cannot be trained or saved.
 *
 * The registry checks hyperparameters itself: every model is created through createRegressor,
 * which refuses unknown keys and out-of-range values with the list of valid keys, whoever calls.
 *
 * Hyperparameters travel as one flat map: `model.param` for one model (`transformer.max_epochs`)
 * or a bare `param` for every model that has it (`max_epochs`); the model-specific key wins.
 */
import fs from "node:fs";
import path from "node:path";
import { Role } from "../features/roles.js";
import { SmapfillError } from "../util/errors.js";
import { AnomalyTarget } from "./anomaly-target.js";
import { LinearInterpolation } from "./baselines.js";
import { solveDctPlsPieces } from "./dctpls-pool.js";
import { DctPlsPieceStore } from "./dctpls-store.js";
import { EnsembleRegressor } from "./ensemble-regressor.js";
import { ForestRegressor } from "./forest-regressor.js";
import { GbtRegressor } from "./gbt-regressor.js";
import { GBT_DEFAULTS } from "./trees/gbt.js";
import { NeuralRegressor } from "./neural-regressor.js";
import { SequenceRegressor } from "./sequence-regressor.js";
import type { NetName } from "./nets.js";
import type { ModelName, ModelOptions, Regressor } from "./regressor.js";

export interface ParamSpec {
  /** The default, or null where the model derives it (the forest's features per split: F / 3). */
  default: number | null;
  min: number;
  max: number;
  /** The minimum itself is not allowed (a learning rate > 0). */
  minExclusive?: boolean;
  integer?: boolean;
  doc: string;
}

/** Settings every model takes besides its hyperparameters. */
export interface CommonOptions {
  seed: number;
  /** Threads; default the machine's cores (SMAPFILL_THREADS). */
  threads?: number;
}

export type ParamValues = Record<string, number>;

export interface ModelEntry {
  name: ModelName;
  /** How tables and figures name the model. */
  label: string;
  description: string;
  params: Record<string, ParamSpec>;
  /** Feature groups the model leaves out of its inputs (TsSMNet-noTS: ts). */
  drops?: readonly string[];
  /** Hyperparameters for a quick fit (few epochs, rounds or trees): the conformance suite's, a smoke test's. */
  quick?: ParamValues;
  create(featureNames: string[], groups: string[], params: ParamValues, common: CommonOptions): Regressor;
  /** A model saved by `save`, given its folder and its model.json. */
  load(dir: string, spec: Record<string, unknown>): Regressor;
}

/**
 * A cube-level gap filler: fills a window [T, nrows, ncols] (day-major) from its training values
 * (Role.Train) alone, deterministically; every other value of `smap` is hidden from it.
 */
export interface GapFillerEntry {
  name: string;
  label: string;
  description: string;
  params: Record<string, ParamSpec>;
  quick?: ParamValues;
  fill(
    smap: Float32Array,
    roles: Int8Array,
    dims: [number, number, number],
    params: ParamValues,
    run?: GapFillerRun,
  ): Promise<{ values: Float32Array; info: Record<string, unknown> }>;
}

/** How a gap filler may run: on how many threads, whom to tell how far it is, where it keeps its work to resume. */
export interface GapFillerRun {
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  /** A folder of the filler's own where an interrupted fill's finished work is kept and found again. */
  resumeDir?: string;
}

const registry = new Map<ModelName, ModelEntry>();
const gapFillers = new Map<string, GapFillerEntry>();

const checkName = (kind: string, name: string) => {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`register${kind}: '${name}' is not a lower-case identifier`);
  if (registry.has(name) || gapFillers.has(name)) throw new Error(`register${kind}: '${name}' is registered already`);
};

/** Adds a model (an error if the name is taken). */
export function registerModel(entry: ModelEntry): void {
  checkName("Model", entry.name);
  registry.set(entry.name, entry);
}

/** Adds a cube-level gap filler (an error if the name is taken by a model or a filler). */
export function registerGapFiller(entry: GapFillerEntry): void {
  checkName("GapFiller", entry.name);
  gapFillers.set(entry.name, entry);
}

/** Removes a model or gap filler (tests register toy ones and remove them). */
export function unregisterModel(name: ModelName): void {
  registry.delete(name);
  gapFillers.delete(name);
}

/** The models trained on rows. */
export function modelNames(): ModelName[] {
  return [...registry.keys()];
}

export function gapFillerNames(): string[] {
  return [...gapFillers.keys()];
}

/** Everything evaluate can score: the models, then the gap fillers. */
export function methodNames(): string[] {
  return [...modelNames(), ...gapFillerNames()];
}

export function isGapFiller(name: string): boolean {
  return gapFillers.has(name);
}

export function modelEntry(name: ModelName): ModelEntry {
  const e = registry.get(name);
  if (!e)
    throw new SmapfillError(
      gapFillers.has(name) ? `${name} fills a whole cube window and is not trained on rows` : `unknown model '${name}'`,
      gapFillers.has(name)
        ? { variable: "--model", hint: `Score it in smapfill evaluate (--models ...,${name}); train a model with one of ${modelNames().join(", ")}` }
        : { variable: "--models", hint: `Use one of ${modelNames().join(", ")}` },
    );
  return e;
}

export function gapFillerEntry(name: string): GapFillerEntry {
  const e = gapFillers.get(name);
  if (!e) throw new SmapfillError(`unknown gap filler '${name}'`, { variable: "--models", hint: `Use one of ${gapFillerNames().join(", ")}` });
  return e;
}

/** A model's or gap filler's entry, for what both have (name, label, parameters). */
function anyEntry(name: string): ModelEntry | GapFillerEntry {
  const e = registry.get(name) ?? gapFillers.get(name);
  if (!e) throw new SmapfillError(`unknown model '${name}'`, { variable: "--models", hint: `Use one of ${methodNames().join(", ")}` });
  return e;
}

export function modelLabel(name: ModelName): string {
  return (registry.get(name) ?? gapFillers.get(name))?.label ?? name;
}

/** The value of `param` for model or gap filler `name` from a flat map (model-specific key first), checked. */
export function resolveParams(name: ModelName, given: Record<string, number> = {}): ParamValues {
  checkParams(given);
  const entry = anyEntry(name);
  const out: ParamValues = {};
  for (const [param, spec] of Object.entries(entry.params)) {
    const key = given[`${name}.${param}`] !== undefined ? `${name}.${param}` : param;
    const v = given[key];
    if (v === undefined) {
      if (spec.default !== null) out[param] = spec.default;
      continue;
    }
    checkParam(key, v, spec);
    out[param] = v;
  }
  return out;
}

function checkParam(key: string, v: number, spec: ParamSpec): void {
  const low = spec.minExclusive ? v <= spec.min : v < spec.min;
  if (!Number.isFinite(v) || low || v > spec.max || (spec.integer && !Number.isInteger(v)))
    throw new SmapfillError(
      `${key} = ${v} is out of range: expected ${spec.integer ? "a whole number" : "a number"} ${spec.minExclusive ? ">" : ">="} ${spec.min} and <= ${spec.max}`,
      { variable: `--param ${key}`, hint: spec.doc },
    );
}

/**
 * Checks a flat parameter map against the registry: every `model.param` names a registered
 * model and one of its parameters, every bare `param` a parameter of at least one model, and
 * every value lies in range.
 */
export function checkParams(given: Record<string, number>): void {
  for (const [key, v] of Object.entries(given)) {
    const dot = key.indexOf(".");
    if (dot >= 0) {
      const [name, param] = [key.slice(0, dot), key.slice(dot + 1)];
      if (!registry.has(name) && !gapFillers.has(name))
        throw new SmapfillError(`no model is named '${name}'`, { variable: `--param ${key}`, hint: `Models: ${methodNames().join(", ")}` });
      const entry = anyEntry(name);
      const spec = entry.params[param];
      if (!spec)
        throw new SmapfillError(`${name} has no parameter '${param}'`, {
          variable: `--param ${key}`,
          hint: `${name} takes ${Object.keys(entry.params).join(", ") || "none"}`,
        });
      checkParam(key, v, spec);
    } else {
      const entries = [...registry.values(), ...gapFillers.values()];
      const specs = entries.flatMap((e) => (e.params[key] ? [e.params[key]!] : []));
      if (!specs.length)
        throw new SmapfillError(`no model has a parameter '${key}'`, {
          variable: `--param ${key}`,
          hint: `Write MODEL.PARAM with one of: ${entries.map((e) => `${e.name} (${Object.keys(e.params).join(", ") || "none"})`).join("; ")}`,
        });
      for (const spec of specs) checkParam(key, v, spec);
    }
  }
}

/** Parses `model.param=value` (or `param=value`) assignments into a flat map. */
export function parseParamAssignment(text: string, into: Record<string, number> = {}): Record<string, number> {
  const m = /^\s*([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\s*=\s*(\S+)\s*$/.exec(text);
  if (!m)
    throw new SmapfillError(`'${text}' is not a parameter assignment`, { variable: "--param", hint: "Write MODEL.PARAM=VALUE, e.g. transformer.max_epochs=4" });
  const v = Number(m[2]);
  if (!Number.isFinite(v)) throw new SmapfillError(`'${m[2]}' is not a number`, { variable: `--param ${m[1]}` });
  return { ...into, [m[1]!]: v };
}

export function createRegressor(
  name: ModelName,
  featureNames: string[],
  groups: string[],
  params: Record<string, number> = {},
  common: CommonOptions = { seed: 0 },
): Regressor {
  if (featureNames.length !== groups.length) throw new SmapfillError(`${featureNames.length} feature names but ${groups.length} groups`);
  const entry = modelEntry(name);
  // resolveParams checks the whole map first: a key no model takes is refused, not ignored.
  const p = resolveParams(name, params);
  const model = entry.create(featureNames, groups, p, common);
  return p.anomaly === 1 ? new AnomalyTarget(model) : model;
}

/** A model saved by Regressor.save (its folder holds model.json; `parsed`: that file, already read and parsed). */
export function loadRegressor(dir: string, parsed?: Record<string, unknown>): Regressor {
  const file = path.join(dir, "model.json");
  let spec: Record<string, unknown>;
  if (parsed) spec = parsed;
  else {
    if (!fs.existsSync(file)) throw new SmapfillError("is not a saved model (no model.json)", { file: dir });
    try {
      spec = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch (error) {
      throw new SmapfillError("is not valid JSON", { file, cause: error });
    }
  }
  const entry = registry.get(spec.name as string);
  if (!entry) throw new SmapfillError(`holds a model '${spec.name}' this smapfill does not know`, { file, hint: `Known models: ${modelNames().join(", ")}` });
  return AnomalyTarget.restoreIfSaved(dir, entry.load(dir, spec));
}

// ---- the built-in models (MODELS.md) ----------------------------------------------------------

const common = (c: CommonOptions): ModelOptions => ({ seed: c.seed, ...(c.threads !== undefined ? { threads: c.threads } : {}) });

/** Every trained model can learn departures from the pixel's climatology (anomaly-target.ts). */
const anomalyParam = (def: 0 | 1): ParamSpec => ({
  default: def,
  min: 0,
  max: 1,
  integer: true,
  doc: "1: learn the departure from the pixel's day-of-year climatology (ts_clim_doy) and add it back; 0: the value itself",
});

const NETWORK_PARAMS: Record<string, ParamSpec> = {
  max_epochs: { default: 200, min: 1, max: 100000, integer: true, doc: "Cap on training epochs (early stopping usually ends sooner)" },
  batch_size: { default: 512, min: 2, max: 65536, integer: true, doc: "Rows per optimisation step" },
  lr_patience: { default: 5, min: 1, max: 1000, integer: true, doc: "Epochs without validation improvement before the learning rate is halved" },
  stop_patience: { default: 12, min: 1, max: 1000, integer: true, doc: "Epochs without validation improvement before training stops" },
  anomaly: anomalyParam(0),
};

function networkEntry(
  name: ModelName,
  net: NetName,
  label: string,
  description: string,
  drops: string[] = [],
  quick: ParamValues = { max_epochs: 3, batch_size: 256 },
): ModelEntry {
  return {
    name,
    label,
    description,
    params: NETWORK_PARAMS,
    drops,
    quick,
    create: (names, groups, p, c) =>
      new NeuralRegressor(
        name,
        net,
        names,
        groups,
        { ...common(c), maxEpochs: p.max_epochs!, batch: p.batch_size!, lrPatience: p.lr_patience!, stopPatience: p.stop_patience! },
        drops,
      ),
    load: (dir, spec) => NeuralRegressor.load(dir, spec, drops),
  };
}

registerModel(networkEntry("tssmnet", "tssmnet", "TsSMNet", "Residual autoencoder with 1-D convolutional feature extraction (Liu et al. 2025)"));
registerModel(networkEntry("tssmnet_nots", "tssmnet", "TsSMNet-noTS", "TsSMNet without the time-series feature group (the paper's ablation)", ["ts"]));
registerModel(networkEntry("autoresnet", "autoresnet", "AutoResNet", "Residual autoencoder on the raw standardised inputs (Li et al.)"));
// The Transformer is by far the slowest network per epoch.
registerModel(networkEntry("transformer", "transformer", "Transformer", "FT-Transformer-style tabular transformer", [], { max_epochs: 1, batch_size: 256 }));

const fraction = (def: number | null, doc: string): ParamSpec => ({ default: def, min: 0, max: 1, minExclusive: true, doc });

registerModel({
  name: "rf",
  label: "Random forest",
  description: "Random forest: bootstrap, a third of the features per split",
  params: {
    trees: { default: 300, min: 1, max: 100000, integer: true, doc: "Number of trees" },
    min_samples_leaf: { default: 5, min: 1, max: 1e9, integer: true, doc: "Fewest training rows in a leaf" },
    max_features: fraction(null, "Share of the features drawn per split (default: floor(F / 3) features)"),
    max_bin: { default: 256, min: 2, max: 256, integer: true, doc: "Histogram bins per feature" },
    anomaly: anomalyParam(0),
  },
  quick: { trees: 20 },
  create: (names, groups, p, c) =>
    new ForestRegressor(names, groups, {
      ...common(c),
      forest: {
        trees: p.trees!,
        minSamplesLeaf: p.min_samples_leaf!,
        maxBin: p.max_bin!,
        ...(p.max_features !== undefined ? { maxFeatures: Math.max(1, Math.floor(p.max_features * names.length)) } : {}),
      },
    }),
  load: (_dir, spec) => ForestRegressor.load(spec),
});

registerModel({
  name: "xgb",
  label: "XGBoost (GBT)",
  description: "Gradient-boosted trees, XGBoost's histogram method",
  params: {
    rounds: { default: 2000, min: 1, max: 1e6, integer: true, doc: "Cap on boosting rounds (early stopping usually ends sooner)" },
    early_stopping: { default: 50, min: 1, max: 1e6, integer: true, doc: "Rounds without validation improvement before boosting stops" },
    max_depth: { default: 8, min: 1, max: 20, integer: true, doc: "Depth of each tree" },
    eta: fraction(0.05, "Learning rate"),
    subsample: fraction(0.8, "Share of the rows drawn per round"),
    colsample_bytree: fraction(0.8, "Share of the features drawn per tree"),
    lambda: { default: 1, min: 0, max: 1e6, doc: "L2 penalty on leaf values" },
    gamma: { default: 0, min: 0, max: 1e6, doc: "Least loss reduction for a split" },
    min_child_weight: { default: 1, min: 0, max: 1e9, doc: "Least hessian sum in a child" },
    max_bin: { default: 256, min: 2, max: 256, integer: true, doc: "Histogram bins per feature" },
    anomaly: anomalyParam(0),
  },
  quick: { rounds: 30, early_stopping: 10 },
  create: (names, groups, p, c) =>
    new GbtRegressor(names, groups, {
      ...common(c),
      gbt: {
        rounds: p.rounds!,
        earlyStopping: p.early_stopping!,
        maxDepth: p.max_depth!,
        eta: p.eta!,
        subsample: p.subsample!,
        colsampleByTree: p.colsample_bytree!,
        lambda: p.lambda!,
        gamma: p.gamma!,
        minChildWeight: p.min_child_weight!,
        maxBin: p.max_bin!,
        // Departures from the climatology centre on 0; XGBoost's 0.5 would cost the first rounds.
        baseScore: p.anomaly === 1 ? 0 : GBT_DEFAULTS.baseScore,
      },
    }),
  load: (_dir, spec) => GbtRegressor.load(spec),
});

/** The sequence model's window (days): its default chosen on the demo world's validation gaps among 7, 14, 30 and 60 (bench/results/accuracy-weather.json, window_choice); the same bounds wherever it is set. */
const lstmWindowParam = (doc: string) => ({ default: 30, min: 7, max: 365, integer: true, doc });

registerModel({
  name: "lstm",
  label: "LSTM (weather memory)",
  description:
    "An LSTM over the past days of the pixel's dynamic predictors and the retrievals its features may see, beside the row's features (ours, after Fang et al. 2017)",
  params: {
    ...NETWORK_PARAMS,
    window: lstmWindowParam("Days of history per row (the row's day last; days before the cube's start are masked)"),
    hidden: { default: 32, min: 2, max: 1024, integer: true, doc: "Width of the LSTM's state" },
    max_history_mb: {
      default: 2048,
      min: 1,
      max: 1e7,
      integer: true,
      doc: "Most history held for the rows' pixels (MiB): every dynamic predictor and SMAP, per pixel and day",
    },
  },
  quick: { max_epochs: 3, batch_size: 256, window: 7, hidden: 8 },
  create: (names, groups, p, c) =>
    new SequenceRegressor("lstm", names, groups, {
      ...common(c),
      maxEpochs: p.max_epochs!,
      batch: p.batch_size!,
      lrPatience: p.lr_patience!,
      stopPatience: p.stop_patience!,
      window: p.window!,
      hidden: p.hidden!,
      maxHistoryBytes: p.max_history_mb! * 2 ** 20,
    }),
  load: (dir, spec) => SequenceRegressor.load(dir, spec),
});

registerModel({
  name: "linear_interp",
  label: "Linear interp.",
  description: "Linear interpolation in time between the previous and next retrieval, climatology beyond max_gap (a baseline; no learning)",
  params: { max_gap: { default: 30, min: 1, max: 10000, integer: true, doc: "Longest distance (days) to a retrieval used for interpolation" } },
  create: (names, groups, p) => new LinearInterpolation(names, groups, p.max_gap!),
  load: (_dir, spec) => LinearInterpolation.load(spec),
});

registerModel({
  name: "ensemble",
  label: "Ensemble (GBT + TsSMNet)",
  description:
    "The boosted trees and TsSMNet trained on the same rows on departures from each pixel's climatology, averaged with weights chosen on the validation gaps (ours)",
  params: {
    rounds: { default: 2000, min: 1, max: 1e6, integer: true, doc: "The boosted trees' cap on rounds" },
    max_epochs: NETWORK_PARAMS.max_epochs!,
    // Ours, chosen on the validation gaps of the demo world and both Pakistan cubes (docs/evaluation.md).
    anomaly: anomalyParam(1),
    tssmnet: { default: 1, min: 0, max: 1, integer: true, doc: "1: TsSMNet is a member" },
    lstm: { default: 0, min: 0, max: 1, integer: true, doc: "1: the sequence model (lstm, its registry defaults but the window) is a member" },
    lstm_window: lstmWindowParam("The sequence model's window (days) when it is a member"),
  },
  quick: { rounds: 30, max_epochs: 3 },
  create: (names, groups, p, c) =>
    new EnsembleRegressor(names, groups, [
      // The ensemble learns anomalies as a whole (createRegressor wraps it); its trees start at 0 then.
      modelEntry("xgb").create(names, groups, { ...resolveParams("xgb"), rounds: p.rounds!, anomaly: p.anomaly! }, c),
      ...(p.tssmnet ? [modelEntry("tssmnet").create(names, groups, { ...resolveParams("tssmnet"), max_epochs: p.max_epochs! }, c)] : []),
      ...(p.lstm ? [modelEntry("lstm").create(names, groups, { ...resolveParams("lstm"), max_epochs: p.max_epochs!, window: p.lstm_window! }, c)] : []),
    ]),
  load: (dir, spec) =>
    EnsembleRegressor.restore(
      spec,
      (spec.members as string[]).map((m) => loadRegressor(path.join(dir, "members", m))),
    ),
});

registerGapFiller({
  name: "dctpls",
  label: "DCT-PLS",
  description:
    "Garcia's penalised least squares with the DCT over (t, y, x), robust, smoothing by GCV: ESA CCI SM GAPFILLED's method (a baseline; no learning)",
  params: {
    time_weight: { default: 1, min: 0, max: 1e6, doc: "Sampling weight of the time axis in the smoothness penalty (1: a day counts as much as a cell)" },
    robust: { default: 1, min: 0, max: 1, integer: true, doc: "1: three rounds of bisquare robust weights; 0: none" },
  },
  fill: async (smap, roles, dims, p, run = {}) => {
    // A loop, not Float32Array.from(smap, f): that collects every value in a list first
    // (gigabytes for a continent's year; docs/performance.md).
    const training = new Float32Array(smap.length);
    for (let k = 0; k < smap.length; k++) training[k] = roles[k] === Role.Train ? smap[k]! : NaN;
    const options = { timeWeight: p.time_weight!, robust: p.robust === 1 };
    const store = run.resumeDir ? DctPlsPieceStore.open(run.resumeDir, { training, dims, options }) : undefined;
    const r = await solveDctPlsPieces(training, dims, options, { ...run, store });
    return {
      values: r.values,
      info: {
        s: r.s,
        iterations: r.iterations,
        pieces: r.pieces,
        widened_pieces: r.widenedPieces,
        empty_pieces: r.emptyPieces,
        resumed_pieces: r.storedPieces,
      },
    };
  },
});
