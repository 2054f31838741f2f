import { fileURLToPath } from "node:url";
import path from "node:path";
import fs from "node:fs";
import os from "node:os";

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
