import { test } from "node:test";
import assert from "node:assert/strict";
import { Linear } from "../../src/nn/layers.js";
import * as ops from "../../src/nn/ops.js";
import { recycling, Tensor } from "../../src/nn/tensor.js";
import { Rng } from "../../src/util/random.js";

test("clearGrad drops a parameter's gradient and the next backward reuses its buffer, holding only the new gradient", () => {
  const layer = new Linear(5, 3, { rng: new Rng(1) });
  const rng = new Rng(2);
  const batch = (n: number) =>
    Tensor.from(
      Float32Array.from({ length: n * 5 }, () => rng.normal()),
      [n, 5],
    );
  const step = (x: Tensor) =>
    recycling(() => ops.mseLoss(ops.reshape(ops.linear(x, layer.weight, layer.bias), [x.shape[0]! * 3]), new Float32Array(x.shape[0]! * 3)).backward());
  const [x1, x2] = [batch(4), batch(6)];
  step(x2);
  const alone = Array.from(layer.weight.grad!); // x2's gradient from no gradient at all
  layer.weight.clearGrad();
  step(x1);
  const buffer = layer.weight.grad!;
  layer.weight.clearGrad();
  assert.equal(layer.weight.grad, null);
  step(x2);
  assert.equal(layer.weight.grad, buffer, "the kept buffer serves the next gradient");
  assert.deepEqual(Array.from(layer.weight.grad!), alone, "and holds x2's gradient alone, not x1's added");
});
