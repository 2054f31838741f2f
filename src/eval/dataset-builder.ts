/**
 * From a cube and a role per pixel-day to the samples the models learn from, in the
 * interchange format of ../shared/reference/DATASET.md (X.npy, y.npy, split.npy,
 * features.json), so the Python reference can train on the very same data.
 *
 * One sample = one observed pixel-day. Its features, in MODELS.md's order and groups:
 * dynamic predictors of that pixel-day, static predictors of the pixel, calendar terms
 * sin/cos(2 pi doy / 365.25), and the statistical time-series features (group ts): the 30
 * per-pixel statistics and the 5 context terms of the pixel-day.
 *
 * No leakage: the time-series features see the training series only: every validation and
 * test value is set to NaN before they are computed. (Standardisation statistics are computed
 * later, inside each model, from the training rows only.)
 */
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../cube/cube.js";
import { contextFeatures, pixelFeatures, CONTEXT_FEATURE_NAMES, PIXEL_FEATURE_NAMES } from "../features/timeseries.js";
import { dayOfYear } from "../util/dates.js";
import { writeNpy } from "../io/npy.js";
import type { Roles } from "./splits.js";

export interface CubeArrays {
  P: number;
  T: number;
  startDay: number;
  /** SMAP soil moisture, day-major [t * P + p], NaN = no retrieval. */
  smap: Float32Array;
  dynamic: Map<string, Float32Array>;
  static: Map<string, Float32Array>;
}

/**
 * Reads a (regional) cube whole: SMAP and every predictor. With `coordinates`, the latitude and
 * longitude of each cell centre are added as static predictors (MODELS.md lists them).
 */
export async function loadCubeArrays(cube: Cube, options: { coordinates?: boolean } = {}): Promise<CubeArrays> {
  const { nrows, ncols } = cube.window;
  const P = nrows * ncols;
  const T = cube.days;
  const read = async (name: string) => cube.readBlock(name, 0, T);
  const dynamic = new Map<string, Float32Array>();
  const statics = new Map<string, Float32Array>();
  for (const v of cube.variables) {
    if (v.name.startsWith("soil_moisture")) continue;
    if (v.kind === "dynamic") dynamic.set(v.name, await read(v.name));
    else statics.set(v.name, await cube.readStatic(v.name));
  }
  if (options.coordinates) {
    const lat = new Float32Array(P);
    const lon = new Float32Array(P);
    for (let p = 0; p < P; p++) {
      const [la, lo] = cube.grid.rowColToLatLon(cube.window.row0 + Math.floor(p / ncols), cube.window.col0 + (p % ncols));
      lat[p] = la;
      lon[p] = lo;
    }
    statics.set("lat", lat);
    statics.set("lon", lon);
  }
  return { P, T, startDay: cube.startDay, smap: await read("soil_moisture"), dynamic, static: statics };
}

export interface BuiltDataset {
  X: Float32Array;
  y: Float32Array;
  split: Int8Array;
  names: string[];
  groups: string[];
  /** Pixel and day index of every sample. */
  pixel: Int32Array;
  day: Int32Array;
}

/**
 * The model inputs of any pixel-day, given which pixel-days are training (role 0): the
 * time-series features come from the training series only. Used for the training/test samples
 * and for pixel-days without SMAP (reconstruction, in-situ comparison on gap days).
 */
export class FeatureBuilder {
  readonly names: string[];
  readonly groups: string[];
  private readonly train: Float64Array;
  private readonly perPixel: Float64Array;
  private readonly doy: Int32Array;
  private readonly dynamicNames: string[];
  private readonly staticNames: string[];

  constructor(
    private readonly a: CubeArrays,
    roles: Roles,
  ) {
    const { P, T } = a;
    if (roles.length !== P * T || a.smap.length !== P * T)
      throw new Error(`FeatureBuilder: roles/SMAP of ${roles.length}/${a.smap.length} for ${T} days x ${P} pixels`);
    // The training series, pixel-major for the feature functions; everything held out is NaN.
    this.train = new Float64Array(P * T).fill(NaN);
    for (let t = 0; t < T; t++) {
      for (let p = 0; p < P; p++) {
        const k = t * P + p;
        if (roles[k] === 0) this.train[p * T + t] = a.smap[k]!;
      }
    }
    this.doy = Int32Array.from({ length: T }, (_, t) => dayOfYear(a.startDay + t));
    this.perPixel = pixelFeatures(this.train, P, T, { doy: this.doy });
    this.dynamicNames = [...a.dynamic.keys()];
    this.staticNames = [...a.static.keys()];
    this.names = [...this.dynamicNames, ...this.staticNames, "doy_sin", "doy_cos", ...PIXEL_FEATURE_NAMES, ...CONTEXT_FEATURE_NAMES];
    this.groups = [
      ...this.dynamicNames.map(() => "dynamic"),
      ...this.staticNames.map(() => "static"),
      "calendar",
      "calendar",
      ...PIXEL_FEATURE_NAMES.map(() => "ts"),
      ...CONTEXT_FEATURE_NAMES.map(() => "ts"),
    ];
  }

  /** Feature rows of every day of one pixel (a station's pixel, a reconstruction). */
  pixelRows(pixel: number): Float32Array {
    const T = this.a.T;
    return this.rows(
      new Int32Array(T).fill(pixel),
      Int32Array.from({ length: T }, (_, t) => t),
    );
  }

  /** Feature rows (row-major [i * F + j]) of the pixel-days (pixel[i], day[i]). */
  rows(pixel: Int32Array, day: Int32Array): Float32Array {
    const { P, T } = this.a;
    const N = pixel.length;
    const F = this.names.length;
    const context = contextFeatures(this.train, P, T, pixel, day, { doy: this.doy });
    const X = new Float32Array(N * F);
    const dyn = this.dynamicNames.map((n) => this.a.dynamic.get(n)!);
    const sta = this.staticNames.map((n) => this.a.static.get(n)!);
    const nPix = PIXEL_FEATURE_NAMES.length;
    for (let i = 0; i < N; i++) {
      const p = pixel[i]!;
      const t = day[i]!;
      const k = t * P + p;
      const row = i * F;
      let j = 0;
      for (const d of dyn) X[row + j++] = d[k]!;
      for (const s of sta) X[row + j++] = s[p]!;
      const angle = (2 * Math.PI * this.doy[t]!) / 365.25;
      X[row + j++] = Math.sin(angle);
      X[row + j++] = Math.cos(angle);
      for (let f = 0; f < nPix; f++) X[row + j++] = this.perPixel[p * nPix + f]!;
      for (let c = 0; c < 5; c++) X[row + j++] = context[i * 5 + c]!;
    }
    return X;
  }
}

/** The samples: every observed pixel-day with a role (0, 1, 2), its features and target. */
export function buildDataset(a: CubeArrays, roles: Roles, features: FeatureBuilder = new FeatureBuilder(a, roles)): BuiltDataset {
  const { P, T } = a;
  const samples: number[] = [];
  for (let k = 0; k < P * T; k++) if (roles[k]! >= 0 && !Number.isNaN(a.smap[k]!)) samples.push(k);
  const pixel = Int32Array.from(samples, (k) => k % P);
  const day = Int32Array.from(samples, (k) => Math.floor(k / P));
  const X = features.rows(pixel, day);
  const y = Float32Array.from(samples, (k) => a.smap[k]!);
  const split = Int8Array.from(samples, (k) => roles[k]!);
  return { X, y, split, names: features.names, groups: features.groups, pixel, day };
}

/** The samples at `rows` (in that order). */
export function subsetDataset(d: BuiltDataset, rows: ArrayLike<number>): BuiltDataset {
  const f = d.names.length;
  const n = rows.length;
  const X = new Float32Array(n * f);
  for (let i = 0; i < n; i++) X.set(d.X.subarray(rows[i]! * f, (rows[i]! + 1) * f), i * f);
  const pick = <A extends Float32Array | Int8Array | Int32Array>(a: A): A => {
    const out = new (a.constructor as new (n: number) => A)(n);
    for (let i = 0; i < n; i++) out[i] = a[rows[i]!]!;
    return out;
  };
  return { X, y: pick(d.y), split: pick(d.split), names: d.names, groups: d.groups, pixel: pick(d.pixel), day: pick(d.day) };
}

/** Writes X.npy, y.npy, split.npy, pixel_day.npy and features.json into `directory`. */
export function writeDataset(directory: string, d: BuiltDataset, meta: Record<string, unknown> = {}): void {
  fs.mkdirSync(directory, { recursive: true });
  const N = d.y.length;
  writeNpy(path.join(directory, "X.npy"), d.X, [N, d.names.length]);
  writeNpy(path.join(directory, "y.npy"), d.y, [N]);
  writeNpy(path.join(directory, "split.npy"), d.split, [N]);
  const pd = new Int32Array(N * 2);
  for (let i = 0; i < N; i++) {
    pd[2 * i] = d.pixel[i]!;
    pd[2 * i + 1] = d.day[i]!;
  }
  writeNpy(path.join(directory, "pixel_day.npy"), pd, [N, 2]);
  const json = path.join(directory, "features.json");
  fs.writeFileSync(`${json}.tmp`, JSON.stringify({ names: d.names, groups: d.groups, meta }, null, 2));
  fs.renameSync(`${json}.tmp`, json);
}
