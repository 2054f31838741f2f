/**
 * Storage plumbing for the Zarr cube: where a cube lives (a folder, an http(s) URL or any
 * zarrita store, e.g. a Map in memory) behind zarrita's small get/set store interface; a
 * file-system store whose writes are atomic (temporary name + rename, so an interrupted run never
 * leaves a torn chunk or metadata file); a gzip codec for zarrita (it decodes gzip but does
 * not encode it) built on node:zlib; a `crc32c` codec that writes and checks Zarr v3's chunk
 * checksum (zarrita's only strips it); and a store that checks every chunk it reads against the
 * chunk manifest and its checksum, naming the file, the variable and the days when one is
 * missing or damaged.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import * as zarr from "zarrita";
import { FetchStore, FileSystemStore } from "@zarrita/storage";
import { crc32cSuffixMatches, withCrc32c } from "../util/crc32c.js";
import { writeFailure, writeFileAtomicAsync } from "../util/atomic-file.js";
import { SmapfillError } from "../util/errors.js";
import { chunkOfKey, type ChunkManifest } from "./manifest.js";

/** What a cube is read from: zarrita's store interface (get, and set where writable). */
export type CubeStore = zarr.Readable & Partial<zarr.Writable>;

/** A folder path, an http(s) URL, or a store (with a name for messages). */
export type CubeLocation = string | URL | { store: CubeStore; name?: string };

/** The store of a location, the name messages give it, and its folder when it is one. */
export function openStore(location: CubeLocation): { store: CubeStore; where: string; folder?: string } {
  if (typeof location === "object" && !(location instanceof URL)) return { store: location.store, where: location.name ?? "(in-memory cube)" };
  const text = String(location);
  if (/^https?:\/\//.test(text)) return { store: new FetchStore(text.replace(/\/+$/, "")), where: text };
  return { store: new AtomicFileSystemStore(text), where: text, folder: text };
}

type AbsolutePath = `/${string}`;

export class AtomicFileSystemStore extends FileSystemStore {
  override async set(key: AbsolutePath, value: Uint8Array): Promise<void> {
    const file = path.join(this.root, key.replace(/^\//, ""));
    try {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
    } catch (error) {
      throw writeFailure(error, file, value.length);
    }
    await writeFileAtomicAsync(file, value);
  }
}

/** What a store needs to know to name a damaged chunk: the variable and days it holds, and the fix. */
export interface ChunkDescriber {
  describeChunk(array: string, chunk: string): { variable: string; hint: string };
}

/** What is wrong with a chunk's bytes, or undefined: missing though listed, truncated, or changed. */
export function chunkProblem(bytes: Uint8Array | undefined, listed: boolean, checksummed: boolean): string | undefined {
  if (!bytes) return listed ? "is missing (the chunk manifest lists it)" : undefined;
  if (!checksummed || crc32cSuffixMatches(bytes)) return undefined;
  try {
    zlib.gunzipSync(bytes.subarray(0, Math.max(0, bytes.length - 4)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "Z_BUF_ERROR") return `is truncated (${bytes.length} bytes; its CRC-32C checksum does not match)`;
  }
  return `is damaged: its bytes changed (${bytes.length} bytes; its CRC-32C checksum does not match)`;
}

/**
 * A store that checks every chunk it reads: one the manifest lists must exist, and one of an
 * array with the crc32c codec must match its checksum; otherwise one SmapfillError naming the
 * file, the variable, its days and the fix. Chunks it writes are recorded in the manifest.
 */
export class CheckedStore {
  private readonly checksummed = new Map<string, Promise<boolean>>();
  set?: (key: AbsolutePath, value: Uint8Array) => Promise<void>;
  /**
   * Chunk keys a write under way replaces whole (every valid cell of them): their old bytes are
   * not read, so a missing or damaged one is simply written again.
   */
  overwriting = new Set<string>();

  constructor(
    readonly inner: CubeStore,
    readonly manifest: ChunkManifest,
    private readonly where: string,
    /** The store's folder, when it is one. */
    private readonly folder: string | undefined,
    private readonly describer: ChunkDescriber,
  ) {
    if (typeof inner.set === "function")
      this.set = async (key, value) => {
        await inner.set!(key, value);
        const c = chunkOfKey(key);
        if (c) this.manifest.add(c.array, c.chunk);
      };
  }

  async get(key: AbsolutePath, options?: unknown): Promise<Uint8Array | undefined> {
    if (this.overwriting.has(key)) return undefined;
    const bytes = await (this.inner.get as (k: AbsolutePath, o?: unknown) => Promise<Uint8Array | undefined>)(key, options);
    const c = chunkOfKey(key);
    if (!c) return bytes;
    const problem = chunkProblem(bytes, this.manifest.has(c.array, c.chunk), bytes ? await this.isChecksummed(c.array) : false);
    if (problem) {
      const { variable, hint } = this.describer.describeChunk(c.array, c.chunk);
      throw new SmapfillError(problem, { file: this.fileOf(key), variable, hint });
    }
    return bytes;
  }

  /** The file (or URL) of a key, for messages. */
  fileOf(key: string): string {
    return this.folder ? path.join(this.folder, key) : `${this.where}${key}`;
  }

  /** True when the array's codecs end with crc32c (every array of a format-2 store). */
  isChecksummed(array: string): Promise<boolean> {
    let known = this.checksummed.get(array);
    if (!known) {
      known = Promise.resolve(this.inner.get(`/${array}/zarr.json`)).then((bytes) => {
        try {
          const codecs = (JSON.parse(new TextDecoder().decode(bytes)) as { codecs?: { name: string }[] }).codecs ?? [];
          return codecs[codecs.length - 1]?.name === "crc32c";
        } catch {
          return false;
        }
      });
      this.checksummed.set(array, known);
    }
    return known;
  }
}

/** Zarr v3 `gzip` codec (bytes -> bytes), configuration {level}. */
class NodeGzipCodec {
  readonly kind = "bytes_to_bytes";
  constructor(private readonly level: number) {}

  static fromConfig(config: { level?: number }): NodeGzipCodec {
    return new NodeGzipCodec(config?.level ?? 5);
  }

  encode(bytes: Uint8Array): Uint8Array {
    return new Uint8Array(zlib.gzipSync(bytes, { level: this.level }));
  }

  decode(bytes: Uint8Array): Uint8Array {
    return new Uint8Array(zlib.gunzipSync(bytes));
  }
}

/** Zarr v3 `crc32c` codec (bytes -> bytes): appends the CRC-32C on encode, checks and strips it on decode. */
class Crc32cCodec {
  readonly kind = "bytes_to_bytes";

  static fromConfig(): Crc32cCodec {
    return new Crc32cCodec();
  }

  encode(bytes: Uint8Array): Uint8Array {
    return withCrc32c(bytes);
  }

  decode(bytes: Uint8Array): Uint8Array {
    if (!crc32cSuffixMatches(bytes)) throw new Error("a chunk's CRC-32C checksum does not match its bytes (damaged or truncated)");
    return bytes.subarray(0, bytes.length - 4);
  }

  computeEncodedSize(size: number): number {
    return size + 4;
  }
}

let registered = false;
/** Makes zarrita use node:zlib for gzip (encode and decode) and check crc32c. Idempotent. */
export function registerCodecs(): void {
  if (registered) return;
  const registry = zarr.registry as unknown as Map<string, () => unknown>;
  registry.set("gzip", () => NodeGzipCodec);
  registry.set("crc32c", () => Crc32cCodec);
  registered = true;
}
