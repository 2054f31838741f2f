/** Checksums of the files a distributed job wrote, as the job saw them and as its coordinator checks them. */
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";

/** The sha256 of a file, or "missing". */
export function fileSha256(file: string): string {
  if (!fs.existsSync(file)) return "missing";
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** { path relative to root: sha256 } of the files. */
export function checksums(root: string, files: string[]): Record<string, string> {
  return Object.fromEntries(files.map((f) => [path.relative(root, f), fileSha256(f)]));
}
