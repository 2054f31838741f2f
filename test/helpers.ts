import { fileURLToPath } from "node:url";
import path from "node:path";
import fs from "node:fs";
import os from "node:os";
import { createHash } from "node:crypto";

/** The repository root (tests run from dist/test/...). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The shared folder beside the repository, as CI and developers have it. */
export const SHARED = process.env.SMAPFILL_SHARED ?? path.resolve(REPO_ROOT, "..", "shared");
export const REAL = path.join(SHARED, "data", "real");

export function realFile(...parts: string[]): string {
  return path.join(REAL, ...parts);
}

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(prefix = "smapfill-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

import { spawnSync } from "node:child_process";

/** Debian's Python (where python3-numpy/h5py live), if it has the modules; else undefined. */
export function debianPython(...modules: string[]): string | undefined {
  const python = "/usr/bin/python3";
  if (!fs.existsSync(python)) return undefined;
  const probe = spawnSync(python, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8" });
  return probe.status === 0 ? python : undefined;
}

/** Runs a script of test/python with Debian's Python and parses its JSON output. */
export function runPythonJson(python: string, script: string, args: string[]): any {
  const file = path.join(REPO_ROOT, "test", "python", script);
  const run = spawnSync(python, [file, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`${script} failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

import { Rng } from "../src/util/random.js";

/**
 * Friedman #1: y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + N(0, 1), ten U(0, 1)
 * columns (x5..x9 pure noise). With missingShare > 0, column `missingColumn` is set missing
 * with that probability (one extra draw per row, after y).
 */
export function friedman1(n: number, seed: number, missingShare = 0, missingColumn = 3): { X: Float32Array; y: Float32Array; n: number; f: number } {
  const rng = new Rng(seed);
  const f = 10;
  const X = new Float32Array(n * f);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) X[i * f + j] = rng.uniform();
    const x = (j: number) => X[i * f + j]!;
    y[i] = 10 * Math.sin(Math.PI * x(0) * x(1)) + 20 * (x(2) - 0.5) ** 2 + 10 * x(3) + 5 * x(4) + rng.normal();
    if (missingShare > 0 && rng.uniform() < missingShare) X[i * f + missingColumn] = NaN;
  }
  return { X, y, n, f };
}

/** sha256 of every file below `dir`, keyed by the path relative to it (symbolic links are not followed). */
export function fileHashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) out.set(path.relative(dir, full), createHash("sha256").update(fs.readFileSync(full)).digest("hex"));
    }
  };
  walk(dir);
  return out;
}
