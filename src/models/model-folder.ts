/**
 * A saved model's folder checked file by file before anything loads it, so that a damaged folder
 * (a copy cut short, an edited file, a file gone) is one error that lists every damaged file, one
 * line each, instead of a stack trace from deep inside a loader. What each file must hold is what
 * the loaders read: the fields of model.json by model kind, the weights of a network, the
 * residual model of a product model (uncertainty.json), an ensemble's member folders.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { TARGET_FILE } from "./anomaly-target.js";

type Field = "string" | "number" | "array" | "object";

/** The model.json fields each kind of model needs (linear interpolation has no kind). */
const FIELDS: Record<string, Record<string, Field>> = {
  common: { name: "string", featureNames: "array", groups: "array" },
  gbt: { params: "object", trees: "array" },
  forest: { preprocessor: "object", params: "object", nFeatures: "number", trees: "array" },
  neural: { net: "string", n_in: "number", preprocessor: "object", yMean: "number" },
  ensemble: { members: "array", weights: "array" },
  none: { maxGap: "number", mean: "number" },
};

/** uncertainty.json of a product model: the residual model's state. */
const UNCERTAINTY: Record<string, Field> = { method: "string", q90: "array", q90Distance: "array", q90All: "number", counts: "array" };

function kindOf(v: unknown): Field | "missing" | "other" {
  if (v === undefined) return "missing";
  if (Array.isArray(v)) return "array";
  if (v === null) return "other";
  return typeof v === "string" || typeof v === "number" || typeof v === "object" ? (typeof v as Field) : "other";
}

/** A JSON file's object, or the problem with it (one line). */
function readJson(file: string, required: boolean): { value?: Record<string, unknown>; problem?: string } {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return { problem: "is not a file" };
    if (st.size === 0) return { problem: "is empty (a copy cut short?)" };
    text = fs.readFileSync(file, "utf8");
  } catch {
    return required ? { problem: "is missing" } : {};
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== "object" || Array.isArray(value)) return { problem: "does not hold a JSON object" };
    return { value: value as Record<string, unknown> };
  } catch (error) {
    const truncated = /Unexpected end|Unterminated|end of JSON/i.test((error as Error).message);
    return { problem: `${truncated ? "is truncated" : "is not valid JSON"} (${text.length} bytes: ${(error as Error).message.split("\n")[0]})` };
  }
}

function missingFields(value: Record<string, unknown>, fields: Record<string, Field>): string[] {
  return Object.entries(fields)
    .filter(([k, kind]) => kindOf(value[k]) !== kind)
    .map(([k, kind]) => `${k} (${kindOf(value[k]) === "missing" ? "missing" : `not ${kind === "array" ? "a list" : `a ${kind}`}`})`);
}

/** Every problem of a model folder, as "relative file: problem" lines (`parsed` receives its model.json). */
export function modelFolderProblems(dir: string, o: { product?: boolean } = {}, prefix = "", parsed?: (model: Record<string, unknown>) => void): string[] {
  const problems: string[] = [];
  const at = (name: string) => path.join(dir, name);
  const note = (name: string, problem: string) => problems.push(`${prefix}${name}: ${problem}`);
  const model = readJson(at("model.json"), true);
  if (model.value) parsed?.(model.value);
  if (model.problem) note("model.json", model.problem);
  if (model.value) {
    const kind = typeof model.value.kind === "string" ? model.value.kind : "none";
    const missing = missingFields(model.value, { ...FIELDS.common, ...(FIELDS[kind] ?? {}) });
    if (missing.length) note("model.json", `lacks ${missing.join(", ")}`);
    if (kind === "neural") {
      const weights = at("weights.safetensors");
      if (!fs.existsSync(weights)) note("weights.safetensors", "is missing");
      else if (fs.statSync(weights).size < 8) note("weights.safetensors", "is empty or truncated");
    }
    if (kind === "ensemble" && Array.isArray(model.value.members))
      for (const m of model.value.members) problems.push(...modelFolderProblems(path.join(dir, "members", String(m)), {}, `${prefix}members/${m}/`));
  }
  for (const name of ["schema.json", "fit.json", TARGET_FILE]) {
    const r = readJson(at(name), false);
    if (r.problem) note(name, r.problem);
  }
  if (o.product) {
    // A folder without one is not a product model at all: the loader says so; a damaged one is listed here.
    const u = readJson(at("uncertainty.json"), false);
    if (u.problem) note("uncertainty.json", u.problem);
    else if (u.value) {
      const missing = missingFields(u.value, UNCERTAINTY);
      if (missing.length) note("uncertainty.json", `lacks ${missing.join(", ")}`);
    }
  }
  return problems;
}

/**
 * Throws one SmapfillError listing every damaged file of a model folder; none: returns its
 * model.json, parsed (a large model is parsed once, not again by its loader).
 */
export function checkModelFolder(dir: string, o: { product?: boolean } = {}): Record<string, unknown> {
  if (!fs.existsSync(dir)) throw new SmapfillError("not found", { file: dir, hint: "Give the folder a model was saved in (smapfill train --out DIR)" });
  if (!fs.statSync(dir).isDirectory())
    throw new SmapfillError("is not a folder", { file: dir, hint: "Give the folder a model was saved in (smapfill train --out DIR)" });
  let model: Record<string, unknown> = {};
  const problems = modelFolderProblems(dir, o, "", (m) => (model = m));
  if (problems.length)
    throw new SmapfillError(`is a damaged model folder (train the model again, or copy the whole folder again):\n  ${problems.join("\n  ")}`, { file: dir });
  return model;
}
