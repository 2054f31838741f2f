/**
 * The chunk manifest of a cube or product: which chunk files exist, per array, as paths relative
 * to the array's folder ("c/3/0/1"), so that a copied or synced store still verifies. zarrita
 * writes every chunk a write touches, all-fill ones included, so a chunk the manifest lists must
 * be a file: a listed chunk that is gone (an interrupted rsync, an object-store sync that lost
 * it) is damage, not "no data". Each chunk carries its own CRC-32C (Zarr v3's `crc32c` codec), so
 * the manifest holds no checksums and never goes stale when a chunk is rewritten.
 *
 * Who writes it. A chunk is listed right after its own atomic rename, by the process that wrote
 * it, in that process's segment (`.smapfill-manifest.d/ID.json`, rewritten whole): distributed
 * workers write chunks of one store at the same time and each owns only its segment. The store's
 * single writer (the holder of its writer lock, when it writes the group metadata) folds every
 * segment into `.smapfill-manifest.json`: a segment is renamed aside before it is read, so a
 * worker that rewrites its segment meanwhile only creates a new one, folded next time. Entries are
 * only ever added (a chunk once written stays a file), which is what makes the union safe.
 * Readers load the main file and every segment.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type * as zarr from "zarrita";

/** The store the manifest lives in (zarrita's get, and set where writable). */
type ManifestStore = zarr.Readable & Partial<zarr.Writable>;

export const MANIFEST_KEY = "/.smapfill-manifest.json";
export const SEGMENT_FOLDER = ".smapfill-manifest.d";
const FORMAT = 1;

interface ManifestJson {
  smapfill_chunk_manifest: number;
  /** array -> chunk paths relative to the array's folder, sorted. */
  chunks: Record<string, string[]>;
}

/** The array and chunk path of a store key ("/soil_moisture/c/0/1/2"), or undefined for metadata and other keys. */
export function chunkOfKey(key: string): { array: string; chunk: string } | undefined {
  const m = /^\/?([A-Za-z][A-Za-z0-9_]*)\/(c(?:\/\d+)*)$/.exec(key);
  return m ? { array: m[1]!, chunk: m[2]! } : undefined;
}

let instances = 0;

export class ChunkManifest {
  /** Every chunk known to exist: the main file, the segments read, and this process's writes. */
  private readonly listed = new Map<string, Set<string>>();
  /** This instance's writes not yet folded into the main file. */
  private readonly pending = new Map<string, Set<string>>();
  private readonly segment: string;
  private dirty = false;
  /** Writes are serialised: a segment is rewritten whole, never by two calls at once. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: ManifestStore,
    /** The store's folder (segments need one); undefined for HTTP and in-memory stores. */
    private readonly folder: string | undefined,
  ) {
    this.segment = `${os.hostname().replace(/[^A-Za-z0-9_.-]/g, "_")}-${process.pid}-${Date.now()}-${instances++}.json`;
  }

  static async load(store: ManifestStore, folder?: string): Promise<ChunkManifest> {
    const m = new ChunkManifest(store, folder);
    m.merge(m.listed, parse(await store.get(MANIFEST_KEY)));
    if (folder) for (const file of segmentFiles(folder)) m.merge(m.listed, parse(readOrUndefined(file)));
    return m;
  }

  /** True when the manifest says the chunk was written. */
  has(array: string, chunk: string): boolean {
    return this.listed.get(array)?.has(chunk) ?? false;
  }

  /** True when the store has a manifest at all (stores of format 1 have none). */
  get empty(): boolean {
    return this.listed.size === 0;
  }

  /** Every listed chunk: array -> chunk paths. */
  entries(): Map<string, Set<string>> {
    return new Map([...this.listed].map(([a, s]) => [a, new Set(s)]));
  }

  /** Records a chunk this process wrote (after its rename); one listed already needs no new entry. */
  add(array: string, chunk: string): void {
    if (this.has(array, chunk)) return;
    for (const map of [this.listed, this.pending]) {
      let set = map.get(array);
      if (!set) map.set(array, (set = new Set()));
      set.add(chunk);
    }
    this.dirty = true;
  }

  /** Writes this instance's new entries: its segment (a folder store) or the main file (others). */
  flush(): Promise<void> {
    return this.serial(async () => {
      if (!this.dirty || typeof this.store.set !== "function") return;
      this.dirty = false;
      if (!this.folder) return this.store.set!(MANIFEST_KEY, encode(this.listed));
      await this.store.set!(`/${SEGMENT_FOLDER}/${this.segment}`, encode(this.pending));
    });
  }

  /**
   * Folds every segment and this instance's entries into the main file (the store's single
   * writer only). A segment is renamed aside first, so that a concurrent rewrite of it survives.
   */
  compact(): Promise<void> {
    return this.serial(async () => {
      if (typeof this.store.set !== "function") return;
      if (!this.folder) {
        if (this.dirty) await this.store.set(MANIFEST_KEY, encode(this.listed));
        this.dirty = false;
        return;
      }
      const taken: string[] = [];
      for (const file of segmentFiles(this.folder)) {
        const aside = file.endsWith(".merging") ? file : `${file}.${process.pid}.merging`;
        try {
          if (aside !== file) fs.renameSync(file, aside);
        } catch {
          continue; // folded by another call meanwhile
        }
        this.merge(this.listed, parse(readOrUndefined(aside)));
        taken.push(aside);
      }
      if (!taken.length && !this.pending.size) return;
      await this.store.set(MANIFEST_KEY, encode(this.listed));
      for (const file of taken) fs.rmSync(file, { force: true });
      this.pending.clear();
      this.dirty = false;
    });
  }

  private merge(into: Map<string, Set<string>>, json: ManifestJson | undefined): void {
    for (const [array, chunks] of Object.entries(json?.chunks ?? {})) {
      let set = into.get(array);
      if (!set) into.set(array, (set = new Set()));
      for (const c of chunks) set.add(c);
    }
  }

  private serial(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => {});
    return next;
  }
}

function encode(map: Map<string, Set<string>>): Uint8Array {
  const chunks = Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)).map(([a, s]) => [a, [...s].sort(byChunkIndex)]));
  return new TextEncoder().encode(JSON.stringify({ smapfill_chunk_manifest: FORMAT, chunks } satisfies ManifestJson));
}

function byChunkIndex(a: string, b: string): number {
  const x = a.split("/").slice(1).map(Number);
  const y = b.split("/").slice(1).map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function parse(bytes: Uint8Array | undefined): ManifestJson | undefined {
  if (!bytes) return undefined;
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as ManifestJson;
    return json && typeof json.chunks === "object" ? json : undefined;
  } catch {
    return undefined; // a torn segment cannot exist (atomic writes); a damaged one lists nothing: verify names it
  }
}

function segmentFiles(folder: string): string[] {
  const dir = path.join(folder, SEGMENT_FOLDER);
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => n.endsWith(".json") || n.endsWith(".merging"))
      .map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

function readOrUndefined(file: string): Uint8Array | undefined {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}
