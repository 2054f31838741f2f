/**
 * A whole-store check of a cube or product, like a file-system check: every array's metadata
 * parses, every chunk the manifest lists is a file, and every chunk file matches its CRC-32C.
 * Chunk files the manifest does not list (a write interrupted before it was recorded: the next
 * run rewrites them) and temporary files left by an interrupted run are counted, not damage.
 */
import fs from "node:fs";
import path from "node:path";
import { isTemporaryName } from "../util/atomic-file.js";
import type { Cube } from "./cube.js";
import { SEGMENT_FOLDER } from "./manifest.js";
import { chunkProblem } from "./zarr-store.js";

export interface ChunkDamage {
  array: string;
  /** The chunk's path relative to its array's folder ("c/0/1/2"). */
  chunk: string;
  file: string;
  problem: string;
  /** The variable, its days and cells. */
  variable: string;
  /** How to make it again. */
  hint: string;
}

export interface StoreCheck {
  store: string;
  kind: "cube" | "product";
  arrays: number;
  /** Chunk files read and checked. */
  chunks: number;
  bytes: number;
  damaged: ChunkDamage[];
  /** Arrays whose metadata (zarr.json) is missing or does not parse. */
  metadata: { file: string; problem: string }[];
  /** Chunk files the manifest does not list. */
  unlisted: number;
  /** Temporary files an interrupted run left. */
  temporary: string[];
}

const COORDINATES = ["time", "y", "x", "lat", "lon", "crs"];

/** Checks every array and chunk of a cube or product. */
export async function verifyStore(cube: Cube, o: { onArray?: (name: string) => void } = {}): Promise<StoreCheck> {
  const checked = cube.checkedStore;
  const report: StoreCheck = {
    store: cube.path,
    kind: cube.isProduct ? "product" : "cube",
    arrays: 0,
    chunks: 0,
    bytes: 0,
    damaged: [],
    metadata: [],
    unlisted: 0,
    temporary: cube.folder ? temporaryFiles(cube.folder) : [],
  };
  for (const array of [...COORDINATES, ...cube.variables.map((v) => v.name)]) {
    o.onArray?.(array);
    report.arrays++;
    const meta = await checked.inner.get(`/${array}/zarr.json`);
    const metaFile = checked.fileOf(`/${array}/zarr.json`);
    if (!meta) {
      report.metadata.push({ file: metaFile, problem: "is missing" });
      continue;
    }
    try {
      JSON.parse(new TextDecoder().decode(meta));
    } catch {
      report.metadata.push({ file: metaFile, problem: "is not valid JSON" });
      continue;
    }
    const r = await checkArray(cube, array);
    report.damaged.push(...r.damaged);
    report.chunks += r.chunks;
    report.bytes += r.bytes;
    report.unlisted += r.unlisted;
  }
  return report;
}

/** The missing or damaged chunks of one array (every chunk listed, and every chunk file). */
export async function damagedChunksOf(cube: Cube, array: string): Promise<ChunkDamage[]> {
  return (await checkArray(cube, array)).damaged;
}

async function checkArray(cube: Cube, array: string): Promise<{ damaged: ChunkDamage[]; chunks: number; bytes: number; unlisted: number }> {
  const checked = cube.checkedStore;
  const listed = checked.manifest.entries().get(array) ?? new Set<string>();
  const onDisk = cube.folder ? chunkFilesOf(path.join(cube.folder, array)) : [];
  const checksummed = await checked.isChecksummed(array);
  const r = { damaged: [] as ChunkDamage[], chunks: 0, bytes: 0, unlisted: onDisk.filter((c) => !listed.has(c)).length };
  for (const chunk of new Set([...listed, ...onDisk])) {
    const key = `/${array}/${chunk}` as const;
    const bytes = await checked.inner.get(key);
    if (bytes) {
      r.chunks++;
      r.bytes += bytes.length;
    }
    const problem = chunkProblem(bytes, listed.has(chunk), checksummed);
    if (problem) r.damaged.push({ array, chunk, file: checked.fileOf(key), problem, ...cube.describeChunk(array, chunk) });
  }
  return r;
}

/** Chunk paths ("c/0/1/2") under an array's folder. */
function chunkFilesOf(arrayDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!/^\d+$/.test(e.name)) continue;
      if (e.isDirectory()) walk(path.join(dir, e.name), `${rel}/${e.name}`);
      else out.push(`${rel}/${e.name}`);
    }
  };
  const c = path.join(arrayDir, "c");
  if (fs.existsSync(c) && fs.statSync(c).isFile()) return ["c"];
  walk(c, "c");
  return out;
}

/** Temporary files (NAME.PID.N.tmp) and half-merged manifest segments under a store's folder. */
function temporaryFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (isTemporaryName(e.name) || (path.basename(dir) === SEGMENT_FOLDER && e.name.endsWith(".merging"))) out.push(full);
    }
  };
  walk(folder);
  return out;
}
