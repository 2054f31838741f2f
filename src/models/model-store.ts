/**
 * A trained model on disk: the model's own files (model.json, weights), its feature schema
 * (schema.json: what inputs it takes, checked whenever it meets a cube or a dataset) and a record
 * of its fit (fit.json: time, rows, what fit learnt, metrics). Written into a temporary folder
 * and renamed when complete, so a folder with fit.json is always a whole model.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { bareSchema, parseSchema, type FeatureSchema } from "../features/schema.js";
import { loadRegressor } from "./registry.js";
import { checkModelFolder } from "./model-folder.js";
import { writeJson, type Regressor } from "./regressor.js";

export interface SavedModel {
  model: Regressor;
  schema: FeatureSchema;
  /** fit.json: what the run that trained it recorded. */
  record: Record<string, unknown>;
}

/**
 * Saves a model with its schema and record (and any `files`, JSON by name); `replace` allows
 * replacing an existing folder.
 */
export function saveModel(
  dir: string,
  model: Regressor,
  schema: FeatureSchema,
  record: Record<string, unknown>,
  o: { replace?: boolean; files?: Record<string, unknown> } = {},
): void {
  if (fs.existsSync(dir) && !o.replace) throw new SmapfillError("already exists", { file: dir, hint: "Choose another --out, or remove the old model" });
  const parent = path.dirname(path.resolve(dir));
  if (!fs.existsSync(parent)) throw new SmapfillError("does not exist", { file: parent, hint: "Create the folder first, or choose another --out" });
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  try {
    model.save(partial);
    writeJson(path.join(partial, "schema.json"), schema);
    for (const [name, value] of Object.entries(o.files ?? {})) writeJson(path.join(partial, name), value);
    writeJson(path.join(partial, "fit.json"), record);
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true }); // a failed save leaves nothing half-made
    throw error;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(partial, dir);
}

/** True when `dir` holds a whole saved model (fit.json is written last). */
export function isSavedModel(dir: string): boolean {
  return fs.existsSync(path.join(dir, "fit.json")) && fs.existsSync(path.join(dir, "model.json"));
}

/** Loads a model with its schema (models saved before schemas existed get one of names and groups). */
export function loadModel(dir: string, o: { product?: boolean } = {}): SavedModel {
  const spec = checkModelFolder(dir, o);
  let model: Regressor;
  try {
    model = loadRegressor(dir, spec);
  } catch (error) {
    if (error instanceof SmapfillError) throw error;
    throw new SmapfillError(`cannot be loaded (${(error as Error).message})`, {
      file: path.join(dir, "model.json"),
      hint: "Train the model again",
      cause: error,
    });
  }
  const schemaFile = path.join(dir, "schema.json");
  const read = (file: string) => {
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    } catch (error) {
      throw new SmapfillError("is not valid JSON", { file, cause: error });
    }
  };
  const schema = fs.existsSync(schemaFile) ? parseSchema(read(schemaFile), schemaFile) : bareSchema(model.featureNames, model.groups);
  const fitFile = path.join(dir, "fit.json");
  const record = fs.existsSync(fitFile) ? (read(fitFile) as Record<string, unknown>) : {};
  return { model, schema, record };
}
