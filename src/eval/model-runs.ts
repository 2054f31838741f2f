/**
 * Training inside an evaluation: the rows of each role (a seeded draw when capped), and each
 * model trained once and saved (models/model-store.ts) under OUT/models/SPLIT/MODEL, so a re-run
 * with the same settings reuses it; a saved model whose schema does not match is refused.
 */
import fs from "node:fs";
import path from "node:path";
import { featureRanges, matchSchema, type FeatureSchema } from "../features/schema.js";
import { subsetSamples, type SampleTable } from "../features/samples.js";
import { isSavedModel, loadModel, saveModel } from "../models/model-store.js";
import { createRegressor } from "../models/registry.js";
import type { ModelName, Regressor } from "../models/regressor.js";
import { Rng } from "../util/random.js";

export interface Rows {
  X: Float32Array;
  y: Float32Array;
  n: number;
  /** Their positions in the sample table. */
  index: Int32Array;
}

/** The rows of one role, at most `max` of them (seeded draw without replacement, order kept). */
export function rowsOf(d: SampleTable, role: 0 | 1 | 2, max: number, seed: number): Rows {
  let index = Int32Array.from(Array.from(d.split).flatMap((s, i) => (s === role ? [i] : [])));
  if (index.length > max) {
    const pick = new Rng(seed).shuffle(Array.from(index)).slice(0, max);
    index = Int32Array.from(pick.sort((a, b) => a - b));
  }
  const rows = subsetSamples(d, index);
  return { X: rows.X, y: rows.y, n: index.length, index };
}

/** The schema of the columns `keep` of `schema` (an ablation without a group). */
export function schemaColumns(schema: FeatureSchema, keep: number[]): FeatureSchema {
  const { ranges: _r, ...rest } = schema;
  return {
    ...rest,
    names: keep.map((j) => schema.names[j]!),
    groups: keep.map((j) => schema.groups[j]!),
    units: keep.map((j) => schema.units[j]!),
    ...(keep.some((j) => schema.groups[j] === "ts") ? {} : { ts_mode: "none" as const }),
  };
}

/** Trains a model and saves it, or loads the one a previous run saved with the same settings. */
export function trainOrLoad(
  dir: string,
  name: ModelName,
  schema: FeatureSchema,
  train: { X: Float32Array; y: Float32Array; n: number },
  validation: { X: Float32Array; y: Float32Array; n: number },
  c: { params: Record<string, number>; seed: number; trainSeed?: number },
  log: (m: string) => void,
): { model: Regressor; seconds: number } {
  if (isSavedModel(dir)) {
    log(`  ${name}: reusing the model trained before (${dir})`);
    const saved = loadModel(dir);
    matchSchema(saved.schema, schema, { model: dir, data: "this evaluation's features" });
    return { model: saved.model, seconds: saved.record.seconds as number };
  }
  // The training seed (initial weights, row and column draws) apart from the split's seed, so
  // several trainings can share one split.
  const model = createRegressor(name, schema.names, schema.groups, c.params, { seed: c.trainSeed ?? c.seed });
  const started = performance.now();
  model.fit(train, { validation, onProgress: (m) => log(`    ${m}`) });
  const seconds = (performance.now() - started) / 1000;
  fs.mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  const fitted = { ...schema, ranges: featureRanges(train.X, train.n, schema.names.length) };
  saveModel(path.resolve(dir), model, fitted, { seconds, rows: train.n, info: model.info() }, { replace: true });
  return { model, seconds };
}
