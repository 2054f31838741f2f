import { test } from "node:test";
import assert from "node:assert/strict";
import { permutationImportance } from "../../src/eval/importance.js";
import { createRegressor } from "../../src/models/registry.js";
import { friedman1 } from "../helpers.js";

test("permutation importance ranks informative features and groups above noise; seeded", () => {
  const names = Array.from({ length: 10 }, (_, j) => `x${j}`);
  const groups = [...Array(5).fill("dynamic"), ...Array(5).fill("ts")];
  const model = createRegressor("xgb", names, groups, { "xgb.rounds": 200, "xgb.eta": 0.1, "xgb.max_depth": 4, "xgb.early_stopping": 20 });
  model.fit(friedman1(3000, 1), { validation: friedman1(500, 2) });
  const te = friedman1(1000, 3);
  const r = permutationImportance(model, te.X, te.y, te.n, groups, { repeats: 3, seed: 4 });
  const top5 = r.features
    .slice(0, 5)
    .map((f) => f.name)
    .sort();
  assert.deepEqual(top5, ["x0", "x1", "x2", "x3", "x4"]);
  assert.equal(r.features[0]!.name, "x3"); // 10 x4 has the largest linear effect
  for (const f of r.features.slice(5)) assert.ok(Math.abs(f.rmseIncrease) < 0.1, `${f.name} ${f.rmseIncrease}`);
  assert.deepEqual(
    r.groups.map((g) => g.name),
    ["dynamic", "ts"],
  );
  assert.ok(r.groups[0]!.rmseIncrease > 3 && Math.abs(r.groups[1]!.rmseIncrease) < 0.1);
  const again = permutationImportance(model, te.X, te.y, te.n, groups, { repeats: 3, seed: 4 });
  assert.deepEqual(again, r);
});
