/**
 * Which smapfill made a job and which may run it. The package version does not change between
 * builds, and a worker left running from another build writes other bytes into the same product
 * (seen: one uncertainty chunk differed, silently), so the version is the package's plus a hash
 * of the compiled code this process runs (every file under dist/src and the WebAssembly kernels
 * in dist/wasm). Two installations of the same build agree; any change to the code does not.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { packageVersion } from "../util/run-info.js";

/** dist/src (this file is dist/src/jobs/code-version.js) and dist/wasm beside it. */
const SRC_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WASM_ROOT = path.resolve(SRC_ROOT, "..", "wasm");

let cached: string | undefined;

/** "0.1.0+3f2a9c1b0d4e": the package version and the first 12 hex digits of the code's sha256. */
export function codeVersion(): string {
  if (cached) return cached;
  const hash = createHash("sha256");
  for (const root of [SRC_ROOT, WASM_ROOT]) {
    if (!fs.existsSync(root)) continue;
    const files = fs
      .readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
      .sort();
    for (const file of files) {
      hash.update(path.relative(root, file).split(path.sep).join("/"));
      hash.update("\0");
      hash.update(fs.readFileSync(file));
    }
  }
  cached = `${packageVersion()}+${hash.digest("hex").slice(0, 12)}`;
  return cached;
}
