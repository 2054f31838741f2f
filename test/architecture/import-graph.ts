/**
 * The import graph of src/, read from the TypeScript sources: static imports and re-exports
 * (type-only included), dynamic import() and, with `workers`, `new URL("./worker.js",
 * import.meta.url)` (the worker entry points a module starts). Only relative specifiers are followed; packages and node:
 * built-ins are outside the graph.
 */
import fs from "node:fs";
import path from "node:path";

/** The stages of src/ in data-flow order: a module may import only its own stage and earlier ones. */
export const LAYERS = [
  "types",
  "util",
  "grid",
  "io",
  "config",
  "cube",
  "synth",
  "features",
  "nn",
  "models",
  "eval",
  "reconstruct",
  "report",
  "serve",
  "jobs",
  "cli",
];

const IMPORTS = [/\b(?:import|export)\s+(?:type\s+)?[^'"]*?\sfrom\s+["']([^"']+)["']/g, /\bimport\s+["']([^"']+)["']/g, /\bimport\(\s*["']([^"']+)["']\s*\)/g];
/** A worker a module starts: a dependency for the layering, but not an import cycle (a worker may use its parent's helpers). */
const WORKER_URL = /\bnew\s+URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "wasm" ? [] : sourceFiles(full); // AssemblyScript kernels: compiled, not imported
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [full] : [];
  });
}

/** Module (path relative to src, e.g. "eval/experiment.ts") -> the modules it imports. */
export function importGraph(src: string, o: { workers?: boolean } = {}): Map<string, Set<string>> {
  const patterns = o.workers ? [...IMPORTS, WORKER_URL] : IMPORTS;
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(src)) {
    const text = fs
      .readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    const from = path.relative(src, file);
    const deps = new Set<string>();
    for (const pattern of patterns) {
      for (const m of text.matchAll(pattern)) {
        const spec = m[1]!;
        if (!spec.startsWith(".")) continue;
        const target = path.relative(src, path.resolve(path.dirname(file), spec)).replace(/\.js$/, ".ts");
        if (target.endsWith(".wasm") || target.startsWith("..")) continue;
        if (target !== from) deps.add(target);
      }
    }
    graph.set(from, deps);
  }
  return graph;
}

/** The strongly connected components with more than one module (Tarjan), each sorted. */
export function importCycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

/** Imports from a later stage into an earlier one, as readable lines. */
export function layerViolations(graph: Map<string, Set<string>>): string[] {
  const layer = (m: string) => LAYERS.indexOf(m.split(path.sep)[0]!);
  const out: string[] = [];
  for (const [from, deps] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    for (const to of [...deps].sort()) {
      if (layer(to) > layer(from)) out.push(`${from} imports ${to} (${to.split(path.sep)[0]} comes after ${from.split(path.sep)[0]})`);
    }
  }
  return out;
}
