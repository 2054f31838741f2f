/**
 * Boosted trees as an XGBoost JSON model (the format of Booster.save_model("model.json"),
 * version 1.7): xgboost.Booster().load_model() reads it and predicts what we predict. Only the
 * trees up to the best iteration are written, so XGBoost's default prediction (all trees)
 * equals ours. Leaves carry their value in split_conditions, as XGBoost stores them.
 */
import fs from "node:fs";
import type { GbtModel } from "./gbt.js";

const NO_PARENT = 2147483647;

export function toXgboostJson(m: GbtModel, featureNames: string[] = []): Record<string, unknown> {
  const f = m.nFeatures;
  const trees = m.trees.slice(0, m.bestIteration + 1).map((t, id) => {
    const nodes = t.feature.length;
    const parents = new Array<number>(nodes).fill(NO_PARENT);
    for (let k = 0; k < nodes; k++) {
      if (t.left[k]! >= 0) parents[t.left[k]!] = k;
      if (t.right[k]! >= 0) parents[t.right[k]!] = k;
    }
    const leaf = (k: number) => t.feature[k]! < 0;
    return {
      base_weights: Array.from(t.value, (v, k) => (leaf(k) ? v : 0)),
      categories: [],
      categories_nodes: [],
      categories_segments: [],
      categories_sizes: [],
      default_left: Array.from(t.defaultLeft),
      id,
      left_children: Array.from(t.left),
      loss_changes: new Array(nodes).fill(0),
      parents,
      right_children: Array.from(t.right),
      split_conditions: Array.from({ length: nodes }, (_, k) => (leaf(k) ? t.value[k]! : t.threshold[k]!)),
      split_indices: Array.from(t.feature, (j) => Math.max(0, j)),
      split_type: new Array(nodes).fill(0),
      sum_hessian: new Array(nodes).fill(0),
      tree_param: { num_deleted: "0", num_feature: String(f), num_nodes: String(nodes), size_leaf_vector: "0" },
    };
  });
  return {
    learner: {
      attributes: {},
      feature_names: featureNames,
      feature_types: featureNames.map(() => "float"),
      gradient_booster: {
        model: {
          gbtree_model_param: { num_parallel_tree: "1", num_trees: String(trees.length), size_leaf_vector: "0" },
          tree_info: trees.map(() => 0),
          trees,
        },
        name: "gbtree",
      },
      learner_model_param: { base_score: m.params.baseScore.toExponential(), boost_from_average: "1", num_class: "0", num_feature: String(f), num_target: "1" },
      objective: { name: "reg:squarederror", reg_loss_param: { scale_pos_weight: "1" } },
    },
    version: [1, 7, 4],
  };
}

/** Arrays XGBoost reads as floating-point: every number must be written with a '.' or exponent. */
const FLOAT_ARRAYS = new Set(["base_weights", "loss_changes", "split_conditions", "sum_hessian"]);

function floatText(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`XGBoost JSON cannot hold ${v}`);
  const text = String(v);
  return /[.eE]/.test(text) ? text : `${text}.0`;
}

/** JSON text in which XGBoost's float arrays keep their float type (JSON.stringify writes 0, not 0.0). */
export function xgboostJsonText(model: Record<string, unknown>): string {
  const floats: number[][] = [];
  const text = JSON.stringify(model, (key, value) => {
    if (FLOAT_ARRAYS.has(key) && Array.isArray(value)) {
      floats.push(value as number[]);
      return `__float_array_${floats.length - 1}__`;
    }
    return value;
  });
  return text.replace(/"__float_array_(\d+)__"/g, (_, i) => `[${floats[Number(i)]!.map(floatText).join(",")}]`);
}

export function saveXgboostJson(file: string, m: GbtModel, featureNames: string[] = []): void {
  fs.writeFileSync(`${file}.tmp`, xgboostJsonText(toXgboostJson(m, featureNames)));
  fs.renameSync(`${file}.tmp`, file);
}
