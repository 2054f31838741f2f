import { test } from "node:test";
import assert from "node:assert/strict";
import { permutationImportance } from "../../src/eval/importance.js";
import { createRegressor } from "../../src/models/regressor.js";
import { Rng } from "../../src/util/random.js";

function friedman(n: number, seed: number) {
  const rng = new Rng(seed);
  const X = new Float32Array(n * 10);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 10; j++) X[i * 10 + j] = rng.uniform();
    const x = (j: number) => X[i * 10 + j]!;
    y[i] = 10 * Math.sin(Math.PI * x(0) * x(1)) + 20 * (x(2) - 0.5) ** 2 + 10 * x(3) + 5 * x(4) + rng.normal();
  }
  return { X, y, n };
}

test("permutation importance ranks informative features and groups above noise; seeded", () => {
  const names = Array.from({ length: 10 }, (_, j) => `x${j}`);
  const groups = [...Array(5).fill("dynamic"), ...Array(5).fill("ts")];
  const model = createRegressor("xgb", names, groups, { gbt: { rounds: 200, eta: 0.1, maxDepth: 4, earlyStopping: 20 } });
  model.fit(friedman(3000, 1), { validation: friedman(500, 2) });
  const te = friedman(1000, 3);
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
