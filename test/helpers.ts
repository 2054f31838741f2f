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
