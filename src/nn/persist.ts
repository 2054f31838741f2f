/**
 * Saving and loading a module's weights as safetensors, with PyTorch's names and shapes
 * (parameters as they are, BatchNorm running statistics 1-D, num_batches_tracked an int64
 * scalar), so `model.load_state_dict` in PyTorch accepts the file's tensors unchanged.
 */
import { SmapfillError } from "../util/errors.js";
import type { Module } from "./module.js";
import { loadSafetensors, saveSafetensors, type NamedArray } from "./safetensors.js";

export function stateShapes(m: Module): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const [n, t] of m.namedParameters()) shapes.set(n, [...t.shape]);
  for (const [n, b] of m.namedBuffers()) shapes.set(n, n.endsWith("num_batches_tracked") ? [] : [b.length]);
  return shapes;
}

export function saveModule(file: string, m: Module, metadata: Record<string, string> = {}): void {
  const shapes = stateShapes(m);
  const tensors = new Map<string, NamedArray>();
  for (const [n, data] of m.stateDict()) tensors.set(n, { data, shape: shapes.get(n)! });
  saveSafetensors(file, tensors, metadata);
}

/** Loads weights into a module built with the same architecture; every name and shape must match. */
export function loadModule(file: string, m: Module): Record<string, string> {
  const { tensors, metadata } = loadSafetensors(file);
  const shapes = stateShapes(m);
  for (const [n, t] of tensors) {
    const expected = shapes.get(n);
    if (!expected)
      throw new SmapfillError("holds a weight the model does not have", { file, variable: n, hint: "Was it saved by another architecture or input width?" });
    if (expected.join(",") !== t.shape.join(",")) {
      throw new SmapfillError(`has shape [${t.shape}], the model expects [${expected}]`, { file, variable: n, hint: "Was it saved with another input width?" });
    }
  }
  for (const n of shapes.keys()) if (!tensors.has(n)) throw new SmapfillError("misses a weight of the model", { file, variable: n });
  m.loadState(new Map([...tensors].map(([n, t]) => [n, t.data])));
  return metadata;
}
