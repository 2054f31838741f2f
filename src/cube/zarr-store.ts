/**
 * Storage plumbing for the Zarr cube: where a cube lives (a folder, an http(s) URL or any
 * zarrita store, e.g. a Map in memory) behind zarrita's small get/set store interface; a
 * file-system store whose writes are atomic (temporary name + rename, so an interrupted run never
 * leaves a torn chunk or metadata file); and a gzip codec for zarrita (it decodes gzip but does
 * not encode it) built on node:zlib.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import * as zarr from "zarrita";
import { FetchStore, FileSystemStore } from "@zarrita/storage";

/** What a cube is read from: zarrita's store interface (get, and set where writable). */
export type CubeStore = zarr.Readable & Partial<zarr.Writable>;

/** A folder path, an http(s) URL, or a store (with a name for messages). */
export type CubeLocation = string | URL | { store: CubeStore; name?: string };

/** The store of a location and the name messages give it. */
export function openStore(location: CubeLocation): { store: CubeStore; where: string } {
  if (typeof location === "object" && !(location instanceof URL)) return { store: location.store, where: location.name ?? "(in-memory cube)" };
  const text = String(location);
  if (/^https?:\/\//.test(text)) return { store: new FetchStore(text.replace(/\/+$/, "")), where: text };
  return { store: new AtomicFileSystemStore(text), where: text };
}

type AbsolutePath = `/${string}`;

export class AtomicFileSystemStore extends FileSystemStore {
  private counter = 0;

  override async set(key: AbsolutePath, value: Uint8Array): Promise<void> {
    const file = path.join(this.root, key.replace(/^\//, ""));
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${this.counter++}.tmp`;
    await fs.promises.writeFile(tmp, value);
    await fs.promises.rename(tmp, file);
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

let registered = false;
/** Makes zarrita use node:zlib for gzip (encode and decode). Idempotent. */
export function registerCodecs(): void {
  if (registered) return;
  const registry = zarr.registry as unknown as Map<string, () => unknown>;
  registry.set("gzip", () => NodeGzipCodec);
  registered = true;
}
