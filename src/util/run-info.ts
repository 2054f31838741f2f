/**
 * What every run records about itself: versions, machine and commit, so that a result can be
 * traced to the code and the computer that made it.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")).version as string;
  } catch {
    return "unknown";
  }
}

let commit: { value: string | undefined } | undefined;
/** The checkout's commit, asked of git once per process (a reconstruction records it in every product it makes). */
export function gitCommit(): string | undefined {
  if (!commit) {
    try {
      commit = { value: execFileSync("git", ["rev-parse", "HEAD"], { cwd: PACKAGE_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() };
    } catch {
      commit = { value: undefined };
    }
  }
  return commit.value;
}

export interface RunInfo {
  smapfill: string;
  commit: string | undefined;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  time: string;
}

export function runInfo(): RunInfo {
  const cpus = os.cpus();
  return {
    smapfill: packageVersion(),
    commit: gitCommit(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    time: new Date().toISOString(),
  };
}
