/**
 * The study config: one YAML or JSON file that says what to build, validated with zod. Errors
 * name the file, the key (e.g. predictors[1].aggregation) and the fix. Relative paths are
 * relative to the config's folder.
 *
 * ```yaml
 * name: pakistan-2020-01
 * region: { bbox: [25.0, 28.5, 67.0, 73.0] }        # south, north, west, east (or window: {...})
 * period: { start: 2020-01-01, end: 2020-01-31 }
 * resolution: 9km
 * output: pakistan-2020-01.zarr
 * smap: { granules: "data/SPL3SMP_E/*.h5", quality: recommended, pass_rule: am-first }
 * predictors:
 *   - { name: era5_swvl1, files: "era5/*.nc", variable: swvl1, kind: dynamic, aggregation: mean, resampling: bilinear }
 * ```
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { z } from "zod";
import { SmapfillError } from "../util/errors.js";
import { parseDay } from "../util/dates.js";
import { expandGlob } from "./glob.js";
import { duplicateKey } from "./json-keys.js";

/** What decides between files overlapping in time (cube/time-steps.ts applies it). */
export const ON_DUPLICATE = ["first", "last", "newest-file"] as const;

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const isoDate = z
  .union([z.string(), z.date()])
  .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
  .refine((v) => /^\d{4}-\d{2}-\d{2}$/.test(v), "write dates as YYYY-MM-DD");

export const AGGREGATIONS = ["mean", "sum", "min", "max", "overpass_am", "overpass_pm", "latest"] as const;
export const RESAMPLINGS = ["auto", "average", "bilinear", "nearest", "fractions"] as const;

const predictorSchema = z
  .object({
    name: z.string().regex(NAME, "use letters, digits and _, starting with a letter"),
    files: z.union([z.string(), z.array(z.string()).nonempty()]),
    variable: z.string().min(1),
    kind: z.enum(["dynamic", "static"]),
    aggregation: z.enum(AGGREGATIONS).default("mean"),
    resampling: z.enum(RESAMPLINGS).default("auto"),
    /** Class values, for resampling "fractions" (one output variable per class). */
    classes: z.array(z.number()).nonempty().optional(),
    /** Target units; `from` defaults to the file's units attribute. */
    units: z.object({ from: z.string().optional(), to: z.string() }).strict().optional(),
    /** Or a plain linear conversion y = scale * x + offset (applied after `units`). */
    scale: z.number().optional(),
    offset: z.number().optional(),
    /** Antecedent sums over k days including the day (aggregation "sum" only). */
    antecedent: z.array(z.number().int().min(2).max(366)).optional(),
    /** Layers derived from a DEM before regridding. */
    derive: z.array(z.enum(["slope", "aspect"])).optional(),
    band: z.number().int().min(1).optional(),
    /** For series of rasters without a time axis (GeoTIFF composites): date from the file name. */
    date_from_name: z.boolean().default(false),
    /** For aggregation "latest": how old the latest step may be, in days. */
    max_age_days: z.number().int().min(1).default(16),
    /** For average: smallest share of a cell that valid source cells must cover. */
    min_coverage: z.number().min(0).max(1).default(0),
    /** Accept files that cover part of the region (cells outside get no value). */
    partial_coverage: z.boolean().default(false),
    /** Files overlapping in time, or a time repeated in a file: which wins (default: refused). */
    on_duplicate: z.enum(ON_DUPLICATE).optional(),
  })
  .strict();

/** The study config's schema (exported so a test can check that docs/ingestion.md lists every key). */
export const studySchema = z
  .object({
    name: z.string().min(1),
    region: z.union([
      z.object({ bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]) }).strict(),
      z
        .object({
          window: z
            .object({ row0: z.number().int().min(0), col0: z.number().int().min(0), nrows: z.number().int().min(1), ncols: z.number().int().min(1) })
            .strict(),
        })
        .strict(),
    ]),
    period: z.object({ start: isoDate, end: isoDate }).strict(),
    resolution: z.enum(["9km", "36km"]).default("9km"),
    output: z.string().min(1),
    smap: z
      .object({
        granules: z.string().min(1),
        quality: z.enum(["recommended", "uncertain", "any"]).default("recommended"),
        pass_rule: z.enum(["am-first", "pm-first", "mean"]).default("am-first"),
        keep_passes: z.boolean().default(false),
        /** Soil or skin temperature predictors: below 0 degC they mark a gap SMAP gave no cause for as frozen (soil_moisture_missing_reason). */
        frozen_from: z.array(z.string().regex(NAME, "name a predictor of this study")).default([]),
      })
      .strict(),
    chunks: z
      .object({ time: z.number().int().min(1), y: z.number().int().min(1), x: z.number().int().min(1) })
      .partial()
      .strict()
      .optional(),
    threads: z.number().int().min(1).optional(),
    predictors: z.array(predictorSchema).default([]),
  })
  .strict();

export type PredictorConfig = z.infer<typeof predictorSchema>;
export type StudyConfig = z.infer<typeof studySchema> & { configFile: string; baseDir: string };

const HINTS: Record<string, string> = {
  aggregation: `one of ${AGGREGATIONS.join(", ")}`,
  resampling: `one of ${RESAMPLINGS.join(", ")}`,
  kind: "dynamic (has a time axis) or static",
  bbox: "[south, north, west, east] in degrees",
  resolution: "9km (SPL3SMP_E) or 36km (SPL3SMP)",
  on_duplicate: "first, last or newest-file",
};

function formatIssue(issue: z.ZodIssue): string {
  const key = issue.path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : String(p)), "");
  let message = issue.message;
  if (issue.code === "unrecognized_keys") message = `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(", ")}: check the spelling`;
  if (issue.code === "invalid_type" && issue.received === "undefined") message = "is required";
  if (issue.code === "invalid_union" && key === "region")
    message =
      "expected either { bbox: [south, north, west, east] } in degrees, e.g. bbox: [25.0, 28.5, 67.0, 73.0], or { window: { row0, col0, nrows, ncols } } in cells of the global grid";
  const last = issue.path[issue.path.length - 1];
  const hint = typeof last === "string" && HINTS[last] ? ` (expected ${HINTS[last]})` : "";
  return `${key || "(top level)"}: ${message}${hint}`;
}

/** Reads, validates and resolves a study config; throws one error listing every problem. */
export function loadStudy(configFile: string): StudyConfig {
  if (!fs.existsSync(configFile)) throw new SmapfillError("config file not found", { file: configFile });
  let raw: unknown;
  let text = "";
  try {
    text = fs.readFileSync(configFile, "utf8");
    raw = /\.json$/i.test(configFile) ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new SmapfillError(`cannot parse (${(error as Error).message.split("\n")[0]})`, { file: configFile, hint: "Check the YAML/JSON syntax" });
  }
  // YAML refuses a repeated key itself; JSON.parse keeps the last one silently.
  const repeated = /\.json$/i.test(configFile) ? duplicateKey(text) : undefined;
  if (repeated)
    throw new SmapfillError(`the key '${repeated.key}' is written twice (line ${repeated.line}); JSON would keep only the last value`, {
      file: configFile,
      hint: "Remove one of them",
    });
  const parsed = studySchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(formatIssue);
    throw new SmapfillError(`invalid study config:\n  ${lines.join("\n  ")}`, { file: configFile });
  }
  const study: StudyConfig = { ...parsed.data, configFile: path.resolve(configFile), baseDir: path.dirname(path.resolve(configFile)) };
  checkSemantics(study);
  return study;
}

function checkSemantics(study: StudyConfig): void {
  const problems: string[] = [];
  const start = safeDay(study.period.start, "period.start", problems);
  const end = safeDay(study.period.end, "period.end", problems);
  if (start !== undefined && end !== undefined && end < start) problems.push(`period: end ${study.period.end} is before start ${study.period.start}`);
  if ("bbox" in study.region) {
    const [s, n, w, e] = study.region.bbox;
    if (!(s < n) || s < -90 || n > 90) problems.push("region.bbox: south must be < north, within -90..90");
    if (!(w < e) || w < -180 || e > 180) problems.push("region.bbox: west must be < east, within -180..180");
  }
  const names = new Set<string>();
  study.predictors.forEach((p, i) => {
    const key = `predictors[${i}]`;
    if (names.has(p.name)) problems.push(`${key}.name: '${p.name}' is used twice`);
    if (/^soil_moisture/.test(p.name) || ["time", "x", "y", "lat", "lon", "crs"].includes(p.name)) problems.push(`${key}.name: '${p.name}' is reserved`);
    names.add(p.name);
    if (p.antecedent && p.aggregation !== "sum") problems.push(`${key}.antecedent: antecedent sums need aggregation: sum`);
    if (p.resampling === "fractions" && !p.classes) problems.push(`${key}.classes: resampling 'fractions' needs the list of class values`);
    if (p.derive && p.kind !== "static") problems.push(`${key}.derive: slope/aspect are derived from a static DEM`);
    if (resolveFiles(study, p).length === 0) problems.push(`${key}.files: no file matches ${JSON.stringify(p.files)} (relative to ${study.baseDir})`);
  });
  study.smap.frozen_from.forEach((name, i) => {
    const p = study.predictors.find((x) => x.name === name);
    if (!p || p.kind !== "dynamic")
      problems.push(`smap.frozen_from[${i}]: '${name}' is not a dynamic predictor of this study (name a soil or skin temperature predictor)`);
  });
  if (problems.length) throw new SmapfillError(`invalid study config:\n  ${problems.join("\n  ")}`, { file: study.configFile });
}

function safeDay(text: string, key: string, problems: string[]): number | undefined {
  try {
    return parseDay(text, key);
  } catch {
    problems.push(`${key}: '${text}' is not a calendar date`);
    return undefined;
  }
}

/** The predictor's files, sorted. */
export function resolveFiles(study: StudyConfig, p: PredictorConfig): string[] {
  const patterns = Array.isArray(p.files) ? p.files : [p.files];
  return [...new Set(patterns.flatMap((g) => expandGlob(g, study.baseDir)))].sort();
}

/** The SMAP granule files or directory. */
export function resolveGranules(study: StudyConfig): string[] {
  const g = study.smap.granules;
  const abs = path.resolve(study.baseDir, g);
  if (!/[*?]/.test(g) && fs.existsSync(abs) && fs.statSync(abs).isDirectory()) {
    return fs.readdirSync(abs).map((f) => path.join(abs, f));
  }
  return expandGlob(g, study.baseDir);
}
