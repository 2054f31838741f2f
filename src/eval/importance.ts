/**
 * Permutation importance (Breiman 2001; scikit-learn's permutation_importance): the increase of
 * the test RMSE when one feature's values (or a whole group's, permuted with one shared row
 * order so that the group's internal structure is kept) are shuffled across the test rows,
 * averaged over `repeats` seeded shuffles. Works with any Regressor: the model is only asked to
 * predict.
 */
import type { Regressor, RowOrigin } from "../models/regressor.js";
import { Rng } from "../util/random.js";
import { pointMetrics } from "./metrics.js";

export interface Importance {
  name: string;
  /** Mean increase of RMSE (m3/m3) over the repeats, and its standard deviation. */
  rmseIncrease: number;
  sd: number;
}

export interface ImportanceResult {
  baselineRmse: number;
  features: Importance[];
  groups: Importance[];
}

export function permutationImportance(
  model: Regressor,
  X: Float32Array,
  y: Float32Array,
  n: number,
  groups: string[],
  options: { repeats?: number; seed?: number; origin?: RowOrigin } = {},
): ImportanceResult {
  // The rows' origin (prepared: a sequence model's history) stays with them: only features are shuffled.
  const origin = options.origin;
  const f = model.featureNames.length;
  const repeats = options.repeats ?? 5;
  const rng = new Rng(options.seed ?? 0);
  const baseline = pointMetrics(model.predict(X, n, origin), y).rmse;
  const shuffled = X.slice();
  const score = (columns: number[]): Importance & { name: string } => {
    const increases: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      for (const j of columns) for (let i = 0; i < n; i++) shuffled[i * f + j] = X[order[i]! * f + j]!;
      increases.push(pointMetrics(model.predict(shuffled, n, origin), y).rmse - baseline);
      for (const j of columns) for (let i = 0; i < n; i++) shuffled[i * f + j] = X[i * f + j]!;
    }
    const mean = increases.reduce((a, b) => a + b, 0) / repeats;
    const sd = Math.sqrt(increases.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, repeats - 1));
    return { name: "", rmseIncrease: mean, sd };
  };
  const features = model.featureNames.map((name, j) => ({ ...score([j]), name }));
  const groupNames = [...new Set(groups)];
  const groupScores = groupNames.map((g) => ({ ...score(groups.flatMap((x, j) => (x === g ? [j] : []))), name: g }));
  const byImportance = (a: Importance, b: Importance) => b.rmseIncrease - a.rmseIncrease;
  return { baselineRmse: baseline, features: features.sort(byImportance), groups: groupScores.sort(byImportance) };
}
