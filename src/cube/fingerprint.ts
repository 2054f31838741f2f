/**
 * Content identity of a cube's inputs. Every input file a block of the cube was made from is
 * recorded with its size, modification time and a hash of its content ("size:mtime:sha256"),
 * under its path relative to the cube's folder. A rerun re-hashes only a file whose size or time
 * changed, so a granule downloaded again with the same bytes is the same input (nothing is read
 * again) and one with other bytes is not, whatever its time says. Each block also records a
 * `content` hash of everything it was made from, and a product records, per tile, the inputs of
 * the cube it was made from (cubeInputs), so that it can tell which tiles a changed cube makes
 * stale.
 */
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";

/** "size:mtime:sha256" of a file (sha256: its first 32 hex digits). */
export type FileFingerprint = string;

const HASH_CHARS = 32;

/** The sha256 of a file's bytes (first 32 hex digits), read in 4 MiB pieces. */
export function contentHash(file: string): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex").slice(0, HASH_CHARS);
}

/** The hash part of a fingerprint. */
export function hashOf(f: FileFingerprint): string {
  return f.split(":")[2] ?? "";
}

/**
 * Fingerprints of files, computed at most once per run and file state: a known fingerprint whose
 * size and time still hold is trusted without reading the file.
 */
export class FingerprintCache {
  private readonly known = new Map<string, FileFingerprint>();

  /** `base`: the folder paths are recorded relative to (the cube's parent folder). */
  constructor(readonly base: string) {}

  /** The recorded (relative) path of a file. */
  relative(file: string): string {
    return path.relative(this.base, path.resolve(file)) || ".";
  }

  /** The fingerprint of a file now ("missing" when it is gone); `recorded`: a fingerprint to trust when size and time match. */
  of(file: string, recorded?: FileFingerprint): FileFingerprint {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return "missing";
    }
    const quick = `${st.size}:${Math.round(st.mtimeMs)}`;
    if (recorded?.startsWith(`${quick}:`)) return recorded;
    const cached = this.known.get(path.resolve(file));
    if (cached?.startsWith(`${quick}:`)) return cached;
    const f = `${quick}:${contentHash(file)}`;
    this.known.set(path.resolve(file), f);
    return f;
  }

  /** Fingerprints of files as a record { relative path: fingerprint }. */
  record(files: string[], recorded: Record<string, FileFingerprint> = {}): Record<string, FileFingerprint> {
    return Object.fromEntries(files.map((f) => [this.relative(f), this.of(f, recorded[this.relative(f)])]));
  }
}

/**
 * True when the files now hold the content recorded: the same hashes (each as often), wherever
 * the files now lie and whatever their times say.
 */
export function sameContent(recorded: Record<string, FileFingerprint>, now: Record<string, FileFingerprint>): boolean {
  const hashes = (r: Record<string, FileFingerprint>) => Object.values(r).map(hashOf).sort().join(",");
  return hashes(recorded) === hashes(now);
}

/** A short hash of a JSON-able value (keys sorted, so equal content gives equal hashes). */
export function digest(value: unknown): string {
  return createHash("sha256").update(stableJson(value)).digest("hex").slice(0, HASH_CHARS);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

/** What a cube's attributes record of its blocks (the parts content identity reads). */
interface Recorded {
  smap_ingest?: { settings?: unknown; blocks?: Record<string, { fingerprints?: Record<string, FileFingerprint>; missingDays?: string[] }> };
  predictor_ingest?: Record<
    string,
    {
      config?: string;
      done?: boolean;
      fingerprints?: Record<string, FileFingerprint>;
      blocks?: Record<string, { fingerprints?: Record<string, FileFingerprint> }>;
    }
  >;
}

/**
 * A cube's inputs as { key: value }: `smap/DAY` -> the hash of that day's granule ("none"
 * without one), `PREDICTOR/HASH` -> the file's path, for every file any block of the predictor
 * was made from, and each source's settings. Two cubes with equal inputs hold the same data.
 */
export function cubeInputs(attributes: Record<string, unknown>, dayOf: (file: string) => string | undefined): Record<string, string> {
  const a = attributes as Recorded;
  const out: Record<string, string> = {};
  if (a.smap_ingest) {
    out["smap/settings"] = digest({ ...(a.smap_ingest.settings as object), end: undefined });
    for (const block of Object.values(a.smap_ingest.blocks ?? {})) {
      for (const day of block.missingDays ?? []) out[`smap/${day}`] = "none";
      for (const [file, f] of Object.entries(block.fingerprints ?? {})) out[`smap/${dayOf(file) ?? file}`] = hashOf(f);
    }
  }
  for (const [name, p] of Object.entries(a.predictor_ingest ?? {})) {
    out[`${name}/config`] = digest(p.config ?? "");
    const files = [p.fingerprints ?? {}, ...Object.values(p.blocks ?? {}).map((b) => b.fingerprints ?? {})];
    for (const record of files) for (const [file, f] of Object.entries(record)) out[`${name}/${hashOf(f)}`] = file;
  }
  return out;
}

/** How `now` differs from `before`: keys changed or gone (stale), and keys added (a cube that grew). */
export function inputChanges(before: Record<string, string>, now: Record<string, string>): { changed: string[]; added: string[] } {
  const changed = Object.keys(before).filter((k) => now[k] !== before[k]);
  const added = Object.keys(now).filter((k) => !(k in before));
  return { changed, added };
}

/** The changed inputs in a line: "SMAP on 2020-01-04, 2020-01-09; era5_t2m (ERA5_2020_01.nc)". */
export function describeChanges(before: Record<string, string>, changed: string[]): string {
  const days = changed.filter((k) => /^smap\/\d{4}-\d{2}-\d{2}$/.test(k)).map((k) => k.slice(5));
  const parts: string[] = [];
  if (days.length) parts.push(`SMAP on ${days.slice(0, 5).join(", ")}${days.length > 5 ? ` and ${days.length - 5} more days` : ""}`);
  if (changed.includes("smap/settings")) parts.push("the SMAP settings");
  const predictors = new Map<string, string[]>();
  for (const k of changed.filter((k) => !k.startsWith("smap/"))) {
    const [name, rest] = [k.slice(0, k.indexOf("/")), k.slice(k.indexOf("/") + 1)];
    predictors.set(name, [...(predictors.get(name) ?? []), rest === "config" ? "its config" : path.basename(before[k] ?? rest)]);
  }
  for (const [name, files] of predictors) parts.push(`${name} (${files.slice(0, 3).join(", ")}${files.length > 3 ? ", ..." : ""})`);
  return parts.join("; ");
}
