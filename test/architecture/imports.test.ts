/**
 * The folder layout is the data flow: each stage of src/ may import only the stages before it
 * (type-only imports count too), and no set of modules imports itself in a circle. The graph is
 * computed from the TypeScript sources (static imports, re-exports, dynamic import(); worker
 * URLs count for the layering), so a new module is checked the moment it exists.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { importGraph, importCycles, layerViolations, LAYERS } from "./import-graph.js";
import { REPO_ROOT } from "../helpers.js";

const SRC = path.join(REPO_ROOT, "src");

test("every module of src/ lies in a known layer", () => {
  const graph = importGraph(SRC);
  const unknown = [...graph.keys()].filter((m) => !LAYERS.includes(m.split("/")[0]!));
  assert.deepEqual(unknown, []);
  assert.ok(graph.size > 50, `only ${graph.size} modules found`);
});

test("src/ has no import cycle", () => {
  const cycles = importCycles(importGraph(SRC));
  assert.deepEqual(
    cycles.map((c) => c.join(" -> ")),
    [],
  );
});

test("no stage imports a later one (types, util, grid, io, config, cube, synth, features, nn, models, eval, reconstruct, report, serve, jobs, cli)", () => {
  assert.deepEqual(layerViolations(importGraph(SRC, { workers: true })), []);
});

test("the checks catch a cycle and a backward import (they can fail)", () => {
  const graph = new Map<string, Set<string>>([
    ["grid/a.ts", new Set(["io/b.ts"])],
    ["io/b.ts", new Set(["io/c.ts"])],
    ["io/c.ts", new Set(["io/b.ts"])],
  ]);
  assert.deepEqual(importCycles(graph), [["io/b.ts", "io/c.ts"]]);
  assert.deepEqual(layerViolations(graph), ["grid/a.ts imports io/b.ts (io comes after grid)"]);
});
