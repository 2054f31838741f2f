/**
 * The feature schema: what a model's inputs are (names, groups, order, units), how the
 * time-series features were made (ts mode) and on which grid. It is saved with every model and
 * checked whenever a model meets a cube or a dataset folder, so a model never silently predicts
 * from a differently named, differently scaled or reordered input. Another window or period is
 * allowed (a model may fill another region or new days); inputs outside the training range are
 * reported as warnings.
 */
import { SmapfillError } from "../util/errors.js";
import type { Resolution, Window } from "../grid/ease2.js";
import type { WeatherSchema } from "./weather-rows.js";

export const FEATURE_SCHEMA_VERSION = 1;

/**
 * Every feature group the sample layer writes: the reference's four (DATASET.md) and ours
 * (spatial context, the weather between retrievals). Dataset folders, predict and train accept
 * any of them.
 */
export const FEATURE_GROUPS = ["dynamic", "static", "calendar", "ts", "spatial", "weather"] as const;

/** How the time-series features of training rows were computed (MODELS.md, last section). */
export type TsMode = "in-sample" | "out-of-fold" | "none";

export interface FeatureSchema {
  format_version: number;
  names: string[];
  groups: string[];
  /** Units of each feature ("" where unknown, e.g. a dataset folder written by other tools). */
  units: string[];
  ts_mode: TsMode;
  /** The weather group's forcings and settings (absent without the group). */
  weather?: WeatherSchema;
  /** The EASE-2 resolution of the cube the features came from (absent when unknown). */
  resolution?: Resolution;
  /** For information: where and when the model was trained. */
  training?: { window?: Window; start?: string; end?: string; source?: string };
  /** Training range of every feature (min, max over the training rows; NaN when all missing). */
  ranges?: { min: number[]; max: number[] };
}

/** Units of the statistical time-series features (SMAP in m3 m-3). */
export function tsFeatureUnits(name: string): string {
  if (/_gap$/.test(name)) return "days";
  if (/^ts_(cv|skew|kurt|acf1|n_valid|frac_valid|count_above_mean|longest_run_above_mean)$/.test(name)) return "1";
  if (name === "ts_harm_phase") return "rad";
  if (name === "ts_trend_per_year") return "m3 m-3 a-1";
  if (name === "ts_mean_abs_change_per_day") return "m3 m-3 d-1";
  if (/^ts_(var|mean_sq|sum_sq)$/.test(name)) return "m6 m-6";
  return "m3 m-3";
}

/** A schema for names and groups alone (a dataset folder from elsewhere): units unknown. */
export function bareSchema(names: string[], groups: string[]): FeatureSchema {
  return { format_version: FEATURE_SCHEMA_VERSION, names, groups, units: names.map(() => ""), ts_mode: groups.includes("ts") ? "in-sample" : "none" };
}

/** Validates a schema read from a file; `where` names the file in errors. */
export function parseSchema(value: unknown, where: string): FeatureSchema {
  const s = value as Partial<FeatureSchema> | undefined;
  if (!s || typeof s !== "object") throw new SmapfillError("has no feature schema", { file: where });
  if (s.format_version !== FEATURE_SCHEMA_VERSION)
    throw new SmapfillError(`has feature schema version ${s.format_version}, this smapfill reads ${FEATURE_SCHEMA_VERSION}`, {
      file: where,
      hint: "Retrain the model with this version of smapfill",
    });
  const n = s.names?.length ?? -1;
  if (!Array.isArray(s.names) || !Array.isArray(s.groups) || !Array.isArray(s.units) || s.groups.length !== n || s.units.length !== n)
    throw new SmapfillError("has a feature schema whose names, groups and units differ in length", { file: where });
  if (!["in-sample", "out-of-fold", "none"].includes(s.ts_mode as string)) throw new SmapfillError(`has an unknown ts mode '${s.ts_mode}'`, { file: where });
  return s as FeatureSchema;
}

/** The training range of every column of the row-major X [n, f]. */
export function featureRanges(X: Float32Array, n: number, f: number): { min: number[]; max: number[] } {
  const min = new Array<number>(f).fill(Infinity);
  const max = new Array<number>(f).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) {
      const v = X[i * f + j]!;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  for (let j = 0; j < f; j++) if (min[j] === Infinity) min[j] = max[j] = NaN;
  return { min, max };
}

export interface SchemaMatch {
  /** For each of the model's features, its column in the data. */
  columns: number[];
  /** True when the data's columns are exactly the model's, in order. */
  identity: boolean;
}

/**
 * Checks that data with schema `data` can feed a model with schema `model`; throws a
 * SmapfillError naming the first problem. Extra columns in the data are allowed (the model's are
 * picked by name); a missing one, another unit, resolution or ts mode is refused.
 */
export function matchSchema(model: FeatureSchema, data: FeatureSchema, where: { model: string; data: string }): SchemaMatch {
  const refuse = (what: string, hint: string) => {
    throw new SmapfillError(`the model ${where.model} does not fit ${where.data}: ${what}`, { hint });
  };
  if (model.resolution && data.resolution && model.resolution !== data.resolution)
    refuse(`it was trained at ${model.resolution}, the data are at ${data.resolution}`, "Use a model trained on a cube of the same resolution");
  if (model.ts_mode !== "none" && data.ts_mode !== model.ts_mode)
    refuse(`its time-series features are '${model.ts_mode}', the data's '${data.ts_mode}'`, "Build the features in the model's ts mode, or retrain");
  if (model.weather && model.groups.includes("weather")) {
    const [m, d] = [JSON.stringify(model.weather), JSON.stringify(data.weather ?? null)];
    if (!data.weather)
      refuse("its weather features need the forcings, the data have no weather group", "Build the features with --weather (and the predictors it names)");
    if (m !== d) refuse(`its weather features were made from ${m}, the data's from ${d}`, "Build the features with the model's weather settings, or retrain");
  }
  const index = new Map(data.names.map((n, j) => [n, j]));
  const columns: number[] = [];
  for (const [i, name] of model.names.entries()) {
    const j = index.get(name);
    if (j === undefined) refuse(`it needs the feature '${name}', which the data lack`, `Add the predictor '${name}' to the study, or retrain without it`);
    const [mu, du] = [model.units[i] ?? "", data.units[j!] ?? ""];
    if (mu && du && mu !== du)
      refuse(`'${name}' is in ${du}, the model was trained on ${mu}`, `Convert '${name}' to ${mu} (units: in the study config), or retrain`);
    if (model.groups[i] !== data.groups[j!]) refuse(`'${name}' is in group ${data.groups[j!]}, the model's is ${model.groups[i]}`, "Retrain on these features");
    columns.push(j!);
  }
  return { columns, identity: columns.length === data.names.length && columns.every((j, i) => j === i) };
}

/**
 * Warnings for inputs outside the model's training range: per feature, the share of the rows
 * that lie beyond it (only features where more than `share` of the rows do).
 */
/** What to do when rows lie outside a feature's training range. */
function rangeAdvice(name: string): string {
  if (name.startsWith("doy_") || name === "month")
    return "the model was trained on other days of the year (a January model filling June extrapolates); train it on a period covering these days";
  return "the model extrapolates there; train it on a period or region whose values cover these (or check the predictor's units)";
}

export function rangeWarnings(model: FeatureSchema, X: Float32Array, n: number, share = 0.01): string[] {
  if (!model.ranges || n === 0) return [];
  const f = model.names.length;
  // A feature never seen in training has no range (NaN, written as null in schema.json): no check.
  const [min, max] = [model.ranges.min, model.ranges.max].map((r) => Float64Array.from(r, (v) => (typeof v === "number" ? v : NaN)));
  // Row by row (X is row-major): one pass over the rows' memory in order.
  const outside = new Int32Array(f);
  for (let i = 0; i < n; i++) {
    const row = i * f;
    for (let j = 0; j < f; j++) {
      const v = X[row + j]!;
      if (v < min[j]! || v > max[j]!) outside[j]!++;
    }
  }
  const out: string[] = [];
  for (let j = 0; j < f; j++) {
    const [lo, hi] = [min[j]!, max[j]!];
    if (Number.isNaN(lo) || !(outside[j]! > share * n)) continue;
    out.push(
      `${model.names[j]}: ${((100 * outside[j]!) / n).toFixed(1)} % of the rows lie outside the training range [${lo.toPrecision(4)}, ${hi.toPrecision(4)}]: ${rangeAdvice(model.names[j]!)}`,
    );
  }
  return out;
}
