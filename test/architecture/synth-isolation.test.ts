/**
 * The synthetic world's equations are not available to the models (issue 26): no module of
 * src/features or src/models imports src/synth, directly or through any other module, so no
 * constant, formula or generator of the world can reach a feature or a model.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { importGraph } from "./import-graph.js";
import { REPO_ROOT } from "../helpers.js";

/** Modules of `from` stages that reach a module of `to`, each with one import chain that does. */
function reaching(graph: Map<string, Set<string>>, from: string[], to: string): string[] {
  const found: string[] = [];
  for (const start of graph.keys()) {
    if (!from.includes(start.split("/")[0]!)) continue;
    const parent = new Map<string, string>([[start, ""]]);
    const queue = [start];
    while (queue.length) {
      const m = queue.shift()!;
      if (m.split("/")[0] === to) {
        const chain = [m];
        for (let p = parent.get(m)!; p; p = parent.get(p)!) chain.unshift(p);
        found.push(chain.join(" -> "));
        break;
      }
      for (const n of graph.get(m) ?? []) if (!parent.has(n)) (parent.set(n, m), queue.push(n));
    }
  }
  return found;
}

test("no module of src/features or src/models reaches src/synth, directly or indirectly", () => {
  const graph = importGraph(path.join(REPO_ROOT, "src"), { workers: true });
  assert.ok([...graph.keys()].some((m) => m.startsWith("features/")) && [...graph.keys()].some((m) => m.startsWith("models/")));
  assert.deepEqual(reaching(graph, ["features", "models"], "synth"), []);
});

test("the check catches an indirect import of the synthetic world (it can fail)", () => {
  const graph = new Map<string, Set<string>>([
    ["models/a.ts", new Set(["util/b.ts"])],
    ["util/b.ts", new Set(["synth/world.ts"])],
    ["features/c.ts", new Set(["util/d.ts"])],
    ["util/d.ts", new Set()],
  ]);
  assert.deepEqual(reaching(graph, ["features", "models"], "synth"), ["models/a.ts -> util/b.ts -> synth/world.ts"]);
});
