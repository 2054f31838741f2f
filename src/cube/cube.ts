/**
 * The data cube: every variable of a study on one EASE-2 window and one daily time axis,
 * stored as a Zarr v3 group of chunked float32 arrays (zarrita), one array per variable.
 *
 *   <name>.zarr/
 *     zarr.json                 group: CF global attributes, the smapfill description of the
 *                               cube (grid, window, time axis, pass rule, provenance) and
 *                               consolidated metadata of every array
 *     time  (time)              int32 days since 1970-01-01 (CF, decoded by xarray)
 *     y, x  (y), (x)            EASE-2 projected cell centres, metres
 *     lat, lon (y), (x)         cell-centre latitude/longitude (the grid is cylindrical)
 *     crs   ()                  CF grid mapping of EPSG:6933
 *     <dynamic var> (time, y, x) float32, NaN = missing
 *     <static var>  (y, x)       float32
 *
 * One array per variable (not one 4-D array) so that xarray opens the store as a Dataset with
 * named variables, each with its own units, and a variable can be added later without
 * rewriting the others. Appending days grows the time axis in the metadata only: the chunk grid
 * is regular, so existing chunks stay valid.
 *
 * Format version 2: every chunk ends with its CRC-32C (Zarr v3's `crc32c` codec, after gzip) and
 * the store keeps a chunk manifest (manifest.ts), so a chunk that is missing or damaged is an
 * error naming the variable, its days, the file and the fix, never silently "no data".
 */
import fs from "node:fs";
import path from "node:path";
import * as zarr from "zarrita";
import { Ease2Grid, cfGridMapping, type Resolution, type Window } from "../grid/ease2.js";
import { SmapfillError } from "../util/errors.js";
import { formatDay, parseDay } from "../util/dates.js";
import { AtomicFileSystemStore, CheckedStore, openStore, registerCodecs, type CubeLocation, type CubeStore } from "./zarr-store.js";
import { ChunkManifest } from "./manifest.js";
import { pidAlive } from "../util/atomic-file.js";

export type { CubeLocation } from "./zarr-store.js";

registerCodecs();

/** 2: every chunk checksummed (crc32c) and listed in a manifest, inputs recorded by content (cube/manifest.ts, cube/fingerprint.ts), SMAP's soil_moisture_missing_reason beside soil_moisture (cube/missing-reasons.ts). */
export const CUBE_FORMAT_VERSION = 2;
export type VariableKind = "dynamic" | "static";
export type CubeDtype = "float32" | "uint8";

export interface VariableSpec {
  name: string;
  kind: VariableKind;
  units: string;
  long_name: string;
  dtype?: CubeDtype;
  /** Extra CF attributes (standard_name, source, ...). */
  attributes?: Record<string, unknown>;
}

export interface ChunkShape {
  time: number;
  y: number;
  x: number;
}

export interface CubeSpec {
  resolution: Resolution;
  /** The region, in rows/cols of the global grid. */
  window: Window;
  /** First day, YYYY-MM-DD. */
  start: string;
  /** Number of days (may be 0 and grow with appendDays). */
  days: number;
  variables: VariableSpec[];
  chunks?: Partial<ChunkShape>;
  /** Free-form description stored with the cube (title, pass rule, source, ...). */
  attributes?: Record<string, unknown>;
}

export interface CubeDescription {
  format_version: number;
  grid: string;
  resolution: Resolution;
  window: Window;
  start: string;
  days: number;
  chunks: ChunkShape;
  variables: VariableSpec[];
  provenance: ProvenanceEntry[];
}

export interface ProvenanceEntry {
  time: string;
  step: string;
  detail?: Record<string, unknown>;
}

/** A sub-window in cube-local rows/cols (0-based within the cube's window). */
export type LocalWindow = Window;

export const DEFAULT_CHUNKS: ChunkShape = { time: 32, y: 128, x: 128 };
const GZIP_LEVEL = 3;
const VARIABLE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const RESERVED = new Set(["time", "x", "y", "lat", "lon", "crs"]);

type Store = CubeStore;

function codecs() {
  return [{ name: "bytes", configuration: { endian: "little" } }, { name: "gzip", configuration: { level: GZIP_LEVEL } }, { name: "crc32c" }];
}

export class Cube {
  readonly path: string;
  readonly grid: Ease2Grid;
  private description: CubeDescription;
  private readonly store: CheckedStore;
  private readonly root: zarr.Location<Store>;
  private readonly arrays = new Map<string, zarr.Array<zarr.DataType, Store>>();
  private groupAttributes: Record<string, unknown>;

  /**
   * `where` names the cube in messages: its path, URL or a name for an in-memory store; `folder`
   * is its folder when it is one.
   */
  private constructor(
    where: string,
    store: Store,
    manifest: ChunkManifest,
    folder: string | undefined,
    description: CubeDescription,
    groupAttributes: Record<string, unknown>,
  ) {
    this.path = where;
    this.folder = folder;
    this.description = description;
    this.groupAttributes = groupAttributes;
    this.grid = Ease2Grid.of(description.resolution);
    this.store = new CheckedStore(store, manifest, where, folder, this);
    this.root = zarr.root(this.store as Store);
  }

  /** The cube's folder (undefined for HTTP and in-memory cubes). */
  readonly folder: string | undefined;

  /** Creates a new cube. Refuses to overwrite an existing one. */
  static async create(cubePath: string, spec: CubeSpec): Promise<Cube> {
    const grid = Ease2Grid.of(spec.resolution);
    grid.checkWindow(spec.window, "the cube window");
    parseDay(spec.start, "start");
    if (!Number.isInteger(spec.days) || spec.days < 0) {
      throw new SmapfillError(`the number of days must be a whole number >= 0, got ${spec.days}`, { variable: "days" });
    }
    if (fs.existsSync(cubePath)) {
      throw new SmapfillError("already exists", { file: cubePath, hint: "Choose another output path or remove the old cube" });
    }
    validateVariables(spec.variables);
    const chunks: ChunkShape = { ...DEFAULT_CHUNKS, ...spec.chunks };
    for (const [axis, n] of Object.entries(chunks)) {
      if (!Number.isInteger(n) || n < 1) throw new SmapfillError(`chunk size along ${axis} must be a whole number >= 1`, { variable: `chunks.${axis}` });
    }
    const description: CubeDescription = {
      format_version: CUBE_FORMAT_VERSION,
      grid: grid.name,
      resolution: spec.resolution,
      window: { ...spec.window },
      start: spec.start,
      days: spec.days,
      chunks,
      variables: [],
      provenance: [{ time: new Date().toISOString(), step: "create" }],
    };
    // Build in a temporary directory and rename: a half-created cube is never left in place.
    const tmp = `${cubePath}.${process.pid}.creating`;
    fs.rmSync(tmp, { recursive: true, force: true });
    removeAbandoned(cubePath);
    const bbox = grid.windowBBox(spec.window);
    const attributes = {
      Conventions: "CF-1.8",
      title: "smapfill data cube",
      source: "smapfill",
      geospatial_lat_min: bbox.south,
      geospatial_lat_max: bbox.north,
      geospatial_lon_min: bbox.west,
      geospatial_lon_max: bbox.east,
      ...spec.attributes,
    };
    try {
      const store = new AtomicFileSystemStore(tmp);
      const cube = new Cube(tmp, store, await ChunkManifest.load(store, tmp), tmp, description, attributes);
      await cube.writeCoordinates();
      for (const v of spec.variables) await cube.createVariableArray(v);
      await cube.writeGroupMetadata();
      fs.renameSync(tmp, cubePath);
    } catch (error) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw error;
    }
    return Cube.open(cubePath);
  }

  /**
   * Opens an existing cube, checking that it is one: from a folder (read and write), an http(s)
   * URL (read only) or any zarrita store (e.g. a Map in memory), through the same code.
   */
  static async open(location: CubeLocation): Promise<Cube> {
    const { store, where, folder } = openStore(location);
    const bytes = await readKey(store, "/zarr.json", where);
    if (!bytes) {
      throw new SmapfillError("is not a smapfill cube (no zarr.json)", { file: where, hint: "Give the path of a .zarr cube made by smapfill" });
    }
    let group: { attributes?: Record<string, unknown>; zarr_format?: unknown };
    try {
      group = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new SmapfillError("has a damaged zarr.json", { file: `${where}/zarr.json`, cause: error });
    }
    if (typeof group.zarr_format === "string" && group.zarr_format.includes("purl.org/zarr/spec/protocol/core/3.0")) group = await repairRoot(store, where);
    const description = group.attributes?.smapfill as CubeDescription | undefined;
    if (description && description.format_version < CUBE_FORMAT_VERSION) throw olderFormat(where, description.format_version, group.attributes ?? {});
    if (!description || description.format_version !== CUBE_FORMAT_VERSION) {
      throw new SmapfillError("is a Zarr store but not a smapfill cube of a known version", {
        file: where,
        hint: `This smapfill reads format ${CUBE_FORMAT_VERSION}; a newer smapfill made it, or another tool`,
      });
    }
    const { smapfill: _ignored, ...rest } = group.attributes ?? {};
    return new Cube(where, store, await ChunkManifest.load(store, folder), folder, description, rest);
  }

  get window(): Window {
    return { ...this.description.window };
  }
  get days(): number {
    return this.description.days;
  }
  get start(): string {
    return this.description.start;
  }
  get startDay(): number {
    return parseDay(this.description.start);
  }
  get chunks(): ChunkShape {
    return { ...this.description.chunks };
  }
  get variables(): VariableSpec[] {
    return this.description.variables.map((v) => ({ ...v }));
  }
  get provenance(): ProvenanceEntry[] {
    return this.description.provenance.map((p) => ({ ...p }));
  }
  get attributes(): Record<string, unknown> {
    return { ...this.groupAttributes };
  }
  /** YYYY-MM-DD of each day of the time axis. */
  dates(): string[] {
    const s = this.startDay;
    return Array.from({ length: this.days }, (_, t) => formatDay(s + t));
  }
  /** Index of a date on the time axis, or -1. */
  dayIndex(date: string): number {
    const t = parseDay(date) - this.startDay;
    return t >= 0 && t < this.days ? t : -1;
  }
  variable(name: string): VariableSpec {
    const v = this.description.variables.find((x) => x.name === name);
    if (!v) {
      throw new SmapfillError("no such variable in the cube", {
        file: this.path,
        variable: name,
        hint: `The cube has ${this.description.variables.map((x) => x.name).join(", ") || "no variables"}`,
      });
    }
    return v;
  }
  hasVariable(name: string): boolean {
    return this.description.variables.some((x) => x.name === name);
  }

  /** Adds a variable (all missing) to an existing cube. */
  async addVariable(spec: VariableSpec): Promise<void> {
    validateVariables([...this.description.variables, spec]);
    await this.createVariableArray(spec);
    await this.writeGroupMetadata();
  }

  /** Records a processing step in the cube's provenance. */
  async addProvenance(step: string, detail?: Record<string, unknown>): Promise<void> {
    this.description.provenance.push({ time: new Date().toISOString(), step, ...(detail ? { detail } : {}) });
    await this.writeGroupMetadata();
  }

  /** Merges attributes into the group's attributes (e.g. ingest progress). */
  async setAttributes(attributes: Record<string, unknown>): Promise<void> {
    this.groupAttributes = { ...this.groupAttributes, ...attributes };
    await this.writeGroupMetadata();
  }

  /** Grows the time axis by n days (new days are all missing). */
  async appendDays(n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 0) throw new SmapfillError(`cannot append ${n} days`, { file: this.path });
    if (n === 0) return;
    const oldDays = this.description.days;
    const newDays = oldDays + n;
    for (const v of this.description.variables) {
      if (v.kind === "dynamic") await this.resizeArray(v.name, [newDays, this.window.nrows, this.window.ncols]);
    }
    await this.resizeArray("time", [newDays]);
    this.description.days = newDays;
    this.arrays.clear();
    const time = (await this.writableArray("time")) as zarr.Array<"int32", zarr.Mutable>;
    const values = Int32Array.from({ length: n }, (_, k) => this.startDay + oldDays + k);
    await zarr.set(time, [zarr.slice(oldDays, newDays)], { data: values, shape: [n], stride: [1] });
    await this.store.manifest.flush();
    await this.writeGroupMetadata();
  }

  /** Reads days [t0, t1) of a dynamic variable on a local window: Float32Array [t][row][col]. */
  async readBlock(name: string, t0: number, t1: number, window: LocalWindow = this.fullWindow()): Promise<Float32Array> {
    const v = this.expectKind(name, "dynamic");
    this.checkTimeRange(t0, t1);
    this.checkLocalWindow(window);
    const arr = await this.array(v.name);
    const chunk = await zarr.get(arr, [zarr.slice(t0, t1), ...this.spatialSlices(window)]);
    return toFloat32(chunk.data as ArrayLike<number>);
  }

  /** Writes days [t0, t0 + values.length / window size) of a dynamic variable on a local window. */
  async writeBlock(name: string, t0: number, values: Float32Array | Uint8Array, window: LocalWindow = this.fullWindow()): Promise<void> {
    const v = this.expectKind(name, "dynamic");
    this.checkLocalWindow(window);
    const size = window.nrows * window.ncols;
    if (values.length % size !== 0) {
      throw new SmapfillError(`${values.length} values do not fill whole days of a ${window.nrows} x ${window.ncols} window`, {
        file: this.path,
        variable: name,
      });
    }
    const nt = values.length / size;
    this.checkTimeRange(t0, t0 + nt);
    const arr = await this.writableArray(v.name);
    const data = castFor(v, values);
    await this.replacing(name, [t0, window.row0, window.col0], [nt, window.nrows, window.ncols], () =>
      zarr.set(arr, [zarr.slice(t0, t0 + nt), ...this.spatialSlices(window)], {
        data,
        shape: [nt, window.nrows, window.ncols],
        stride: [size, window.ncols, 1],
      } as never),
    );
    await this.store.manifest.flush();
  }

  /** One day of a dynamic variable. */
  async readDay(name: string, t: number, window?: LocalWindow): Promise<Float32Array> {
    return this.readBlock(name, t, t + 1, window);
  }

  async writeDay(name: string, t: number, values: Float32Array | Uint8Array, window?: LocalWindow): Promise<void> {
    return this.writeBlock(name, t, values, window);
  }

  /** A static variable on a local window. */
  async readStatic(name: string, window: LocalWindow = this.fullWindow()): Promise<Float32Array> {
    const v = this.expectKind(name, "static");
    this.checkLocalWindow(window);
    const arr = await this.array(v.name);
    const chunk = await zarr.get(arr, this.spatialSlices(window));
    return toFloat32(chunk.data as ArrayLike<number>);
  }

  async writeStatic(name: string, values: Float32Array | Uint8Array, window: LocalWindow = this.fullWindow()): Promise<void> {
    const v = this.expectKind(name, "static");
    this.checkLocalWindow(window);
    if (values.length !== window.nrows * window.ncols) {
      throw new SmapfillError(`${values.length} values for a ${window.nrows} x ${window.ncols} window`, { file: this.path, variable: name });
    }
    const arr = await this.writableArray(v.name);
    await this.replacing(name, [window.row0, window.col0], [window.nrows, window.ncols], () =>
      zarr.set(arr, this.spatialSlices(window), { data: castFor(v, values), shape: [window.nrows, window.ncols], stride: [window.ncols, 1] } as never),
    );
    await this.store.manifest.flush();
  }

  /**
   * Runs a write of the box [from, from + size) of a variable, telling the store which chunks it
   * replaces whole (every cell of them inside the array): those are not read first, so a chunk
   * that went missing or was damaged is written again instead of stopping the write that repairs
   * it (the last chunk of a time axis that does not fill it is replaced whole by its valid days).
   */
  private async replacing(name: string, from: number[], size: number[], write: () => Promise<void>): Promise<void> {
    const v = this.variable(name);
    const chunk = this.chunkShape(v.kind);
    const shape = v.kind === "dynamic" ? [this.days, this.window.nrows, this.window.ncols] : [this.window.nrows, this.window.ncols];
    const whole = from.map((f, d) => {
      const out: number[] = [];
      for (let i = Math.floor(f / chunk[d]!); i * chunk[d]! < f + size[d]!; i++)
        if (i * chunk[d]! >= f && Math.min((i + 1) * chunk[d]!, shape[d]!) <= f + size[d]!) out.push(i);
      return out;
    });
    const keys = whole.reduce<number[][]>((acc, idx) => acc.flatMap((a) => idx.map((i) => [...a, i])), [[]]).map((idx) => `/${name}/c/${idx.join("/")}`);
    keys.forEach((k) => this.store.overwriting.add(k));
    try {
      await write();
    } finally {
      keys.forEach((k) => this.store.overwriting.delete(k));
    }
  }

  /**
   * The chunk files of a variable over a local window (and, dynamic, days [t0, t1)): the files a
   * distributed job that wrote them checksums for its coordinator. A folder store only.
   */
  chunkFiles(name: string, window: LocalWindow = this.fullWindow(), days?: [number, number]): string[] {
    const v = this.variables.find((x) => x.name === name);
    if (!v) throw new SmapfillError(`has no variable '${name}'`, { file: this.path });
    const [ct, cy, cx] = v.kind === "dynamic" ? this.chunkShape("dynamic") : [0, ...this.chunkShape("static")];
    const span = (from: number, n: number, size: number) =>
      Array.from({ length: Math.ceil((from + n) / size) - Math.floor(from / size) }, (_, i) => Math.floor(from / size) + i);
    const ys = span(window.row0, window.nrows, cy!);
    const xs = span(window.col0, window.ncols, cx!);
    const ts = v.kind === "dynamic" ? span(days?.[0] ?? 0, (days?.[1] ?? this.days) - (days?.[0] ?? 0), ct!) : [undefined];
    return ts.flatMap((t) => ys.flatMap((y) => xs.map((x) => path.join(this.path, name, "c", ...(t === undefined ? [] : [String(t)]), String(y), String(x)))));
  }

  /**
   * The chunk shape of a kind of variable: dynamic ones in the cube's chunks; static ones in 4 x 4
   * tiles (a static layer is small; fewer files). Jobs that write static layers tile by tile must
   * therefore own whole groups of 4 x 4 tiles (staticChunkTiles).
   */
  chunkShape(kind: VariableKind): number[] {
    const { nrows, ncols } = this.window;
    const c = this.description.chunks;
    return kind === "dynamic" ? [c.time, Math.min(c.y, nrows), Math.min(c.x, ncols)] : [Math.min(c.y * 4, nrows), Math.min(c.x * 4, ncols)];
  }

  /** The tiles (indices into tiles()) grouped by the static chunk they fall in: one writer per group. */
  staticChunkTiles(): number[][] {
    const [sy, sx] = this.chunkShape("static");
    const groups = new Map<string, number[]>();
    this.tiles().forEach((t, i) => {
      const key = `${Math.floor(t.row0 / sy!)}/${Math.floor(t.col0 / sx!)}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    return [...groups.values()];
  }

  /** The cube's spatial chunks as local windows, in row-major order: the tiles streamed passes work on. */
  tiles(): LocalWindow[] {
    const { nrows, ncols } = this.window;
    const { y, x } = this.description.chunks;
    const tiles: LocalWindow[] = [];
    for (let r = 0; r < nrows; r += y)
      for (let c = 0; c < ncols; c += x) tiles.push({ row0: r, col0: c, nrows: Math.min(y, nrows - r), ncols: Math.min(x, ncols - c) });
    return tiles;
  }

  fullWindow(): LocalWindow {
    return { row0: 0, col0: 0, nrows: this.window.nrows, ncols: this.window.ncols };
  }

  /** A gap-free product (made by reconstruct), rather than an input cube. */
  get isProduct(): boolean {
    return this.groupAttributes.reconstruct !== undefined;
  }

  /** The store behind the cube, with its chunk manifest and checks (smapfill verify reads through it). */
  get checkedStore(): CheckedStore {
    return this.store;
  }

  /** The variable, days and cells a chunk holds, and how to make it again: the message of a missing or damaged chunk. */
  describeChunk(array: string, chunk: string): { variable: string; hint: string } {
    const idx = chunk.split("/").slice(1).map(Number);
    const v = this.description.variables.find((x) => x.name === array);
    const remake = this.isProduct
      ? "Run the same smapfill reconstruct again: it makes the tiles whose chunks are missing or damaged again (smapfill verify lists them all)"
      : undefined;
    if (!v) return { variable: `${array} (a coordinate)`, hint: remake ?? "The coordinates come with the cube: build the cube again (a new output path)" };
    const range = (i: number, size: number, n: number) => `${i * size}-${Math.min(n, (i + 1) * size) - 1}`;
    const { nrows, ncols } = this.window;
    if (v.kind === "static") {
      const [cy, cx] = this.chunkShape("static");
      return {
        variable: `${array} (static, rows ${range(idx[0]!, cy!, nrows)}, cols ${range(idx[1]!, cx!, ncols)})`,
        hint: remake ?? `Run ${this.ingestCommand()} again: it rebuilds a damaged static layer`,
      };
    }
    const [ct, cy, cx] = this.chunkShape("dynamic");
    const t0 = idx[0]! * ct!;
    const days = `${formatDay(this.startDay + t0)}..${formatDay(this.startDay + Math.min(this.days, t0 + ct!) - 1)}`;
    return {
      variable: `${array} (days ${days}, rows ${range(idx[1]!, cy!, nrows)}, cols ${range(idx[2]!, cx!, ncols)})`,
      hint: remake ?? `Rebuild those days: ${this.ingestCommand()} --redo ${days}`,
    };
  }

  /** The command that builds this cube (for fixes): its study's `smapfill ingest`, else `smapfill ingest-smap`. */
  private ingestCommand(): string {
    const study = (this.groupAttributes.study as { config?: string } | undefined)?.config;
    return study ? `smapfill ingest ${study}` : `smapfill ingest-smap (the command that built ${path.basename(this.path)})`;
  }

  // ---- internals --------------------------------------------------------------------------

  private spatialSlices(w: LocalWindow) {
    return [zarr.slice(w.row0, w.row0 + w.nrows), zarr.slice(w.col0, w.col0 + w.ncols)];
  }

  private expectKind(name: string, kind: VariableKind): VariableSpec {
    const v = this.variable(name);
    if (v.kind !== kind) {
      throw new SmapfillError(`is ${v.kind}, not ${kind}`, {
        file: this.path,
        variable: name,
        hint: kind === "static" ? "Use readBlock/readDay" : "Use readStatic",
      });
    }
    return v;
  }

  private checkTimeRange(t0: number, t1: number): void {
    if (!Number.isInteger(t0) || !Number.isInteger(t1) || t0 < 0 || t1 > this.days || t1 <= t0) {
      throw new SmapfillError(`days ${t0}..${t1 - 1} are outside the time axis (0..${this.days - 1})`, { file: this.path });
    }
  }

  private checkLocalWindow(w: LocalWindow): void {
    const { nrows, ncols } = this.window;
    const ok =
      [w.row0, w.col0, w.nrows, w.ncols].every(Number.isInteger) &&
      w.row0 >= 0 &&
      w.col0 >= 0 &&
      w.nrows >= 1 &&
      w.ncols >= 1 &&
      w.row0 + w.nrows <= nrows &&
      w.col0 + w.ncols <= ncols;
    if (!ok) {
      throw new SmapfillError(
        `the window rows ${w.row0}..${w.row0 + w.nrows - 1}, cols ${w.col0}..${w.col0 + w.ncols - 1} is outside the cube (${nrows} x ${ncols})`,
        { file: this.path },
      );
    }
  }

  private async array(name: string): Promise<zarr.Array<zarr.DataType, Store>> {
    let arr = this.arrays.get(name);
    if (!arr) {
      try {
        arr = await zarr.open.v3(this.root.resolve(name), { kind: "array" });
      } catch (error) {
        throw new SmapfillError("cannot open the array of this variable", { file: this.path, variable: name, hint: "The cube may be damaged", cause: error });
      }
      this.arrays.set(name, arr);
    }
    return arr;
  }

  /** Refuses to write through a read-only store (HTTP), saying so. */
  private assertWritable(): void {
    if (typeof this.store.set !== "function") throw new SmapfillError("is open read-only", { file: this.path, hint: "Write to a cube on disk (or in memory)" });
  }

  /** The root for creating arrays (only cubes being created or on a writable store create arrays). */
  private get writableRoot(): zarr.Location<zarr.Mutable> {
    this.assertWritable();
    return this.root as unknown as zarr.Location<zarr.Mutable>;
  }

  /** An array to write into; a read-only store (HTTP) is refused with a message. */
  private async writableArray(name: string): Promise<zarr.Array<zarr.DataType, zarr.Mutable>> {
    this.assertWritable();
    return (await this.array(name)) as unknown as zarr.Array<zarr.DataType, zarr.Mutable>;
  }

  private async createVariableArray(v: VariableSpec): Promise<void> {
    const { nrows, ncols } = this.window;
    const dynamic = v.kind === "dynamic";
    const dtype = v.dtype ?? "float32";
    await zarr.create(this.writableRoot.resolve(v.name), {
      shape: dynamic ? [this.description.days, nrows, ncols] : [nrows, ncols],
      chunkShape: this.chunkShape(v.kind),
      dtype,
      codecs: codecs(),
      fillValue: dtype === "float32" ? NaN : 0,
      dimensionNames: dynamic ? ["time", "y", "x"] : ["y", "x"],
      attributes: {
        units: v.units,
        long_name: v.long_name,
        grid_mapping: "crs",
        coordinates: "lat lon",
        smapfill_kind: v.kind,
        ...(dtype === "float32" ? {} : { _FillValue: 0 }),
        ...v.attributes,
      },
    } as never);
    this.description.variables.push({ ...v });
  }

  private async writeCoordinates(): Promise<void> {
    const { window } = this.description;
    const grid = this.grid;
    const coordinate = async (name: string, dims: string[], values: Float64Array | Int32Array, attributes: Record<string, unknown>) => {
      const dtype = values instanceof Int32Array ? "int32" : "float64";
      const arr = await zarr.create(this.writableRoot.resolve(name), {
        shape: [values.length],
        chunkShape: [Math.max(1, name === "time" ? 4096 : values.length)],
        dtype,
        codecs: codecs(),
        fillValue: dtype === "int32" ? 0 : NaN,
        dimensionNames: dims,
        attributes,
      } as never);
      if (values.length > 0) await zarr.set(arr as never, null, { data: values, shape: [values.length], stride: [1] } as never);
    };
    const xs = Float64Array.from({ length: window.ncols }, (_, j) => grid.colToX(window.col0 + j));
    const ys = Float64Array.from({ length: window.nrows }, (_, i) => grid.rowToY(window.row0 + i));
    await coordinate("x", ["x"], xs, { standard_name: "projection_x_coordinate", long_name: "x coordinate of cell centre", units: "m", axis: "X" });
    await coordinate("y", ["y"], ys, { standard_name: "projection_y_coordinate", long_name: "y coordinate of cell centre", units: "m", axis: "Y" });
    await coordinate("lat", ["y"], grid.windowLatitudes(window), { standard_name: "latitude", long_name: "latitude of cell centre", units: "degrees_north" });
    await coordinate("lon", ["x"], grid.windowLongitudes(window), { standard_name: "longitude", long_name: "longitude of cell centre", units: "degrees_east" });
    const start = parseDay(this.description.start);
    const times = Int32Array.from({ length: this.description.days }, (_, t) => start + t);
    await coordinate("time", ["time"], times, {
      standard_name: "time",
      long_name: "day of the SMAP L3 daily composite",
      units: "days since 1970-01-01",
      calendar: "proleptic_gregorian",
      axis: "T",
    });
    await zarr.create(this.writableRoot.resolve("crs"), {
      shape: [],
      chunkShape: [],
      dtype: "int32",
      codecs: codecs(),
      fillValue: 0,
      dimensionNames: [],
      attributes: cfGridMapping(),
    } as never);
  }

  private async resizeArray(name: string, shape: number[]): Promise<void> {
    const meta = await this.arrayMetadata(name);
    if (!meta) throw new SmapfillError("has no array metadata", { file: this.path, variable: name, hint: "The cube may be damaged" });
    meta.shape = shape;
    await this.put(`/${name}/zarr.json`, new TextEncoder().encode(JSON.stringify(meta, null, 2)));
  }

  private async arrayMetadata(name: string): Promise<Record<string, unknown> | undefined> {
    const bytes = await readKey(this.store, `/${name}/zarr.json`, this.path);
    return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>) : undefined;
  }

  /** Writes a key; a read-only store (HTTP) is refused with a message. */
  private async put(key: `/${string}`, value: Uint8Array): Promise<void> {
    this.assertWritable();
    await this.store.set!(key, value);
  }

  /**
   * The group zarr.json with attributes and zarr-python 3 style consolidated metadata. Only the
   * store's single writer writes it, so it also folds the chunk manifest's segments.
   */
  private async writeGroupMetadata(): Promise<void> {
    await this.store.manifest.compact();
    const consolidated: Record<string, unknown> = {};
    for (const name of ["time", "y", "x", "lat", "lon", "crs", ...this.description.variables.map((v) => v.name)]) {
      const meta = await this.arrayMetadata(name);
      if (meta) consolidated[name] = meta;
    }
    const group = {
      zarr_format: 3,
      node_type: "group",
      attributes: { ...this.groupAttributes, smapfill: this.description },
      consolidated_metadata: { kind: "inline", must_understand: false, metadata: consolidated },
    };
    const bytes = new TextEncoder().encode(JSON.stringify(group, nanReplacer, 2));
    await this.put("/zarr.json", bytes);
    // A copy other tools leave alone: zarr-python 2's experimental v3 API overwrites zarr.json.
    await this.put(ROOT_BACKUP, bytes);
  }
}

/** Removes the half-created copies (CUBE.PID.creating) that runs stopped mid-creation left (their process is gone). */
function removeAbandoned(cubePath: string): void {
  const dir = path.dirname(path.resolve(cubePath));
  const base = path.basename(cubePath);
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const m = /^(.*)\.(\d+)\.creating$/.exec(name);
    if (m && m[1] === base && !pidAlive(Number(m[2]))) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

/** The error for a store of an older format: what changed and how to make it again. */
function olderFormat(where: string, version: number, attributes: Record<string, unknown>): SmapfillError {
  const product = attributes.reconstruct !== undefined;
  return new SmapfillError(
    `is a smapfill ${product ? "product" : "cube"} of format ${version}; this smapfill reads format ${CUBE_FORMAT_VERSION} (chunks with checksums and a chunk manifest, so that missing or damaged chunks are found; cubes keep why SMAP is missing, per pixel-day)`,
    {
      file: where,
      hint: product
        ? "Make the product again with smapfill reconstruct into a new --out (or remove this one first)"
        : "Ingest it again: smapfill ingest STUDY.yaml with a new output path in the study (or remove this cube first); granules and predictors are read again",
    },
  );
}

/** Where a copy of the root metadata is kept (see repairRoot). */
const ROOT_BACKUP = "/.smapfill-root.json";

/**
 * zarr-python 2.x with ZARR_V3_EXPERIMENTAL_API=1 (its own hint for v3 stores), and xarray's
 * open_zarr(..., zarr_version=3) through it, overwrite a v3 store's root zarr.json with the
 * entry point of the 2021 v3 draft (zarr_format "https://purl.org/zarr/spec/protocol/core/3.0"),
 * losing the group's attributes. smapfill keeps a copy of its root metadata beside it and puts it
 * back (reading over HTTP: uses it without writing), saying what happened.
 */
async function repairRoot(store: Store, where: string): Promise<{ attributes?: Record<string, unknown> }> {
  const backup = await readKey(store, ROOT_BACKUP, where);
  if (!backup)
    throw new SmapfillError(
      "has a root zarr.json that zarr-python 2's experimental Zarr v3 API rewrote (the 2021 draft's entry point), and no copy to restore it from",
      {
        file: where,
        hint: "Rebuild the cube (smapfill ingest; done blocks are redone). To read cubes from Python use zarr-python >= 3, or smapfill export --format zarr2,netcdf",
      },
    );
  process.stderr.write(
    `warning: ${where}: zarr.json had been rewritten by zarr-python 2's experimental Zarr v3 API (ZARR_V3_EXPERIMENTAL_API or xarray zarr_version=3); restored from ${ROOT_BACKUP.slice(1)}. Read cubes with zarr-python >= 3, or export them: smapfill export --format zarr2\n`,
  );
  if (typeof store.set === "function") await store.set("/zarr.json", backup);
  return JSON.parse(new TextDecoder().decode(backup));
}

/** A key of the store, or undefined when it does not exist; a failing store names the cube. */
async function readKey(store: Store, key: `/${string}`, where: string): Promise<Uint8Array | undefined> {
  try {
    return await store.get(key);
  } catch (error) {
    throw new SmapfillError(`cannot read ${key}`, { file: where, cause: error, hint: "Check the path or URL and that the server is up" });
  }
}

function nanReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  return value;
}

function validateVariables(variables: VariableSpec[]): void {
  const seen = new Set<string>();
  for (const v of variables) {
    if (!VARIABLE_NAME.test(v.name) || RESERVED.has(v.name)) {
      throw new SmapfillError(`'${v.name}' cannot name a cube variable`, {
        variable: v.name,
        hint: `Use letters, digits and _ (starting with a letter), not ${[...RESERVED].join("/")}`,
      });
    }
    if (seen.has(v.name)) throw new SmapfillError("is defined twice", { variable: v.name });
    if (v.kind !== "dynamic" && v.kind !== "static") throw new SmapfillError(`kind must be 'dynamic' or 'static', got '${v.kind}'`, { variable: v.name });
    seen.add(v.name);
  }
}

function toFloat32(data: ArrayLike<number>): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

function castFor(v: VariableSpec, values: Float32Array | Uint8Array): Float32Array | Uint8Array {
  if ((v.dtype ?? "float32") === "uint8") return values instanceof Uint8Array ? values : Uint8Array.from(values);
  return values instanceof Float32Array ? values : Float32Array.from(values);
}
