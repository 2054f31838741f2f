/**
 * The sample layer: from a cube window (rows x cols over a range of days) and a training mask
 * (roles.ts) to the model inputs of any pixel-day. Evaluation, training, the streamed
 * time-series features and reconstruction all go through it, so there is one feature path.
 *
 * One sample = one pixel-day. Its features, in MODELS.md's order and groups: dynamic predictors
 * of that pixel-day, static predictors of the pixel, calendar terms sin/cos(2 pi doy / 365.25),
 * and the statistical time-series features (group ts): the 30 per-pixel statistics and the 5
 * context terms of the pixel-day.
 *
 * No leakage: the time-series features see the training values only (role 0); every other value
 * is NaN to them. (Standardisation statistics are computed later, inside each model, from the
 * training rows only.)
 */
import type { Cube, LocalWindow } from "../cube/cube.js";
import { dayOfYear, formatDay } from "../util/dates.js";
import { hashUniform } from "../util/random.js";
import { SmapfillError } from "../util/errors.js";
import { calendarTerms } from "./calendar.js";
import { Role, type Roles } from "./roles.js";
import { FEATURE_SCHEMA_VERSION, tsFeatureUnits, type FeatureSchema, type TsMode } from "./schema.js";
import { contextFeatures, pixelFeatures, CONTEXT_FEATURE_NAMES, PIXEL_FEATURE_NAMES } from "./timeseries.js";
import { drawHole, holeRadii, neighbourClimatology, spatialFeatures, spatialFeatureUnits, SPATIAL_FEATURE_NAMES, type SpatialSource } from "./spatial.js";
import type { ForcingChoice, ForcingRole, ForcingSeries } from "./forcings.js";
import { WeatherRows, type WeatherSettings } from "./weather-rows.js";

/** Per-pixel statistics proportional to the number of retrievals (scaled for out-of-fold rows). */
const EXTENSIVE = ["ts_n_valid", "ts_frac_valid", "ts_count_above_mean", "ts_sum_abs_change", "ts_sum_sq"] as const;

/** A window of a cube in memory: SMAP and the predictors, day-major [t * P + p]. */
export interface SampleArrays {
  P: number;
  T: number;
  /** Rows and columns of the window (P = nrows * ncols). */
  nrows: number;
  ncols: number;
  /** Day number (days since 1970-01-01) of the first day. */
  startDay: number;
  /** SMAP soil moisture, NaN = no retrieval. */
  smap: Float32Array;
  /** Dynamic predictors, [(t - dynamicStart) * P + p]: all T days, or a block of them. */
  dynamic: Map<string, Float32Array>;
  /** First day (index into the T days) the dynamic arrays hold; default 0. */
  dynamicStart?: number;
  static: Map<string, Float32Array>;
  /** Units of every predictor (dynamic and static). */
  units: Map<string, string>;
  /**
   * The weather group's forcings (forcings.ts), every day of the window [t * P + p], in the
   * roles' units (mm per day, degC), with the predictors they came from; absent without --weather.
   */
  forcing?: ForcingSeries;
  /** Cell-centre latitude of each pixel (Oudin's PET needs it), read with the forcings. */
  latitude?: Float32Array;
  /** Where the arrays came from (for the feature schema). */
  origin?: { resolution: FeatureSchema["resolution"]; window: LocalWindow; source: string };
}

export interface ReadSampleOptions {
  /** Add cell-centre latitude and longitude as static predictors (MODELS.md lists them). */
  coordinates?: boolean;
  /** The cube-local window to read (default the whole cube). */
  window?: LocalWindow;
  /** Days [from, to) of the cube's time axis (default all). */
  days?: [number, number];
  /** Read the predictors too (default true; false reads SMAP only, for the time-series features). */
  predictors?: boolean;
  /**
   * Days [from, to) of `days` whose dynamic predictors are read (default all): a reconstruction
   * reads the whole SMAP series of a tile but the predictors one block of days at a time.
   */
  dynamicDays?: [number, number];
  /** Read these forcings over every day of `days` (the weather group). */
  forcing?: ForcingChoice;
}

/** Cell-centre latitudes of a cube window's pixels. */
function windowLatLon(cube: Cube, window: LocalWindow): { lat: Float32Array; lon: Float32Array } {
  const { nrows, ncols } = window;
  const lat = new Float32Array(nrows * ncols);
  const lon = new Float32Array(nrows * ncols);
  for (let p = 0; p < nrows * ncols; p++)
    [lat[p], lon[p]] = cube.grid.rowColToLatLon(cube.window.row0 + window.row0 + Math.floor(p / ncols), cube.window.col0 + window.col0 + (p % ncols));
  return { lat, lon };
}

/** The forcings of a window over days [t0, t1), converted to their roles' units. */
async function readForcing(cube: Cube, choice: ForcingChoice, window: LocalWindow, t0: number, t1: number): Promise<ForcingSeries> {
  const series = new Map<ForcingRole, Float32Array>();
  const units = new Map<ForcingRole, string>();
  for (const [role, v] of Object.entries(choice) as [ForcingRole, NonNullable<ForcingChoice[ForcingRole]>][]) {
    const values = await cube.readBlock(v.variable, t0, t1, window);
    if (v.scale !== 1 || v.offset !== 0) for (let k = 0; k < values.length; k++) values[k] = v.scale * values[k]! + v.offset;
    series.set(role, values);
    units.set(role, role === "precipitation" || role === "pet" ? "mm d-1" : role === "temperature" ? "degC" : v.units);
  }
  return { series, choice, units };
}

/** Reads a window of a cube: SMAP and every predictor. */
export async function readSampleArrays(cube: Cube, o: ReadSampleOptions = {}): Promise<SampleArrays> {
  const window = o.window ?? cube.fullWindow();
  const [t0, t1] = o.days ?? [0, cube.days];
  const [d0, d1] = o.dynamicDays ?? [0, t1 - t0];
  const { nrows, ncols } = window;
  const P = nrows * ncols;
  const dynamic = new Map<string, Float32Array>();
  const statics = new Map<string, Float32Array>();
  const units = new Map<string, string>();
  for (const v of o.predictors === false ? [] : cube.variables) {
    if (v.name.startsWith("soil_moisture")) continue;
    units.set(v.name, v.units);
    if (v.kind === "dynamic") dynamic.set(v.name, d1 > d0 ? await cube.readBlock(v.name, t0 + d0, t0 + d1, window) : new Float32Array(0));
    else statics.set(v.name, await cube.readStatic(v.name, window));
  }
  if (o.coordinates && o.predictors !== false) {
    const { lat, lon } = windowLatLon(cube, window);
    statics.set("lat", lat);
    statics.set("lon", lon);
    units.set("lat", "degrees_north");
    units.set("lon", "degrees_east");
  }
  if (!cube.hasVariable("soil_moisture"))
    throw new SmapfillError("has no soil_moisture variable", { file: cube.path, hint: "Ingest SMAP into the cube first (smapfill ingest)" });
  return {
    P,
    T: t1 - t0,
    nrows,
    ncols,
    startDay: cube.startDay + t0,
    smap: await cube.readBlock("soil_moisture", t0, t1, window),
    dynamic,
    dynamicStart: d0,
    static: statics,
    units,
    ...(o.forcing ? { forcing: await readForcing(cube, o.forcing, window, t0, t1), latitude: windowLatLon(cube, window).lat } : {}),
    origin: {
      resolution: cube.grid.resolution,
      window: { ...window, row0: cube.window.row0 + window.row0, col0: cube.window.col0 + window.col0 },
      source: cube.path,
    },
  };
}

/** The dynamic predictors of days [t0, t1) of a cube window (a block, for FeatureBuilder.withDynamic). */
export async function readDynamicBlock(cube: Cube, window: LocalWindow, t0: number, t1: number): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const v of cube.variables)
    if (v.kind === "dynamic" && !v.name.startsWith("soil_moisture")) out.set(v.name, await cube.readBlock(v.name, t0, t1, window));
  return out;
}

export interface FeatureOptions {
  /**
   * How the time-series features of training rows are made (MODELS.md, last section):
   * "in-sample" (the paper: from the whole training series, the row's own value included) or
   * "out-of-fold" (a training row never sees its own value or its neighbourhood: per-pixel
   * statistics from the training days outside its fold, context terms as if it sat inside a gap
   * drawn from the gaps the model must fill). Other rows are the same in both modes.
   */
  tsMode?: Exclude<TsMode, "none">;
  /** Out-of-fold: contiguous runs of the days (default 5). */
  folds?: number;
  seed?: number;
  /**
   * Spatial context features (spatial.ts), group "spatial": true computes them from this
   * window's training values; a SpatialSource gives a larger grid around the window (a
   * reconstruction tile's halo, so tile edges see their neighbours).
   */
  spatial?: boolean | SpatialSource;
  /** The weather group (weather-rows.ts), from the arrays' forcings: empty when they hold no precipitation. */
  weather?: WeatherSettings;
}

/**
 * The model inputs of any pixel-day, given which pixel-days are training (role 0): the
 * time-series features come from the training series only. Used for the training/test samples
 * and for pixel-days without SMAP (reconstruction, in-situ comparison on gap days).
 */
export class FeatureBuilder {
  readonly names: string[];
  readonly groups: string[];
  readonly units: string[];
  /** The 30 per-pixel statistics, [p * 30 + f]. */
  readonly pixelStatistics: Float64Array;
  private readonly train: Float32Array;
  private readonly doy: Int32Array;
  /** sin and cos of each day's angle (the calendar group), [2 * t + c]. */
  private readonly calendar: Float32Array;
  private readonly dynamicNames: string[];
  private readonly staticNames: string[];
  readonly tsMode: Exclude<TsMode, "none">;
  private readonly roles: Roles;
  /** Out-of-fold: the per-pixel statistics without each fold's days, and the gap lengths to draw from. */
  private readonly foldStatistics: Float64Array[] = [];
  /** Out-of-fold: each day's fold (contiguous runs of the days with training values). */
  private readonly fold: Int32Array = new Int32Array(0);
  private readonly gapLengths: Int32Array = new Int32Array(0);
  private readonly seed: number;
  /** The climatology window sums per pixel, kept between calls (and shared by withDynamic copies). */
  private readonly climatology = new Map<number, { wsum: Float64Array; wcnt: Float64Array }>();
  /** Spatial context: the values it sees, their neighbours' climatology, the holes of training rows. */
  private readonly spatial: { src: SpatialSource; climatology: Float32Array; holes: Int32Array } | undefined;
  /** The weather group (absent when off or when the arrays hold no precipitation). */
  private readonly weather: WeatherRows | undefined;

  constructor(
    private readonly a: SampleArrays,
    roles: Roles,
    o: FeatureOptions = {},
  ) {
    const { P, T } = a;
    if (roles.length !== P * T || a.smap.length !== P * T)
      throw new Error(`FeatureBuilder: roles/SMAP of ${roles.length}/${a.smap.length} for ${T} days x ${P} pixels`);
    // The training series, pixel-major for the feature functions; everything held out is NaN.
    // Float32 like the cube: the values are exact, at half the memory of float64.
    this.train = new Float32Array(P * T).fill(NaN);
    for (let t = 0; t < T; t++) {
      for (let p = 0; p < P; p++) {
        const k = t * P + p;
        if (roles[k] === Role.Train) this.train[p * T + t] = a.smap[k]!;
      }
    }
    this.doy = Int32Array.from({ length: T }, (_, t) => dayOfYear(a.startDay + t));
    this.calendar = new Float32Array(2 * T);
    for (let t = 0; t < T; t++) [this.calendar[2 * t], this.calendar[2 * t + 1]] = calendarTerms(a.startDay + t);
    this.pixelStatistics = pixelFeatures(this.train, P, T, { doy: this.doy });
    this.tsMode = o.tsMode ?? "in-sample";
    this.roles = roles;
    this.seed = o.seed ?? 0;
    if (this.tsMode === "out-of-fold") {
      const K = Math.max(2, Math.min(o.folds ?? 5, T));
      // Folds are contiguous runs of the days that hold training values, not of calendar days: a
      // period with empty months (January and June of one year) must not put a whole month in
      // one fold, or a training row's statistics would come from the other season alone.
      const withData = new Uint8Array(T);
      for (let t = 0; t < T; t++) for (let p = 0; p < P && !withData[t]; p++) if (roles[t * P + p] === Role.Train) withData[t] = 1;
      const D = Math.max(
        1,
        withData.reduce((a, b) => a + b, 0),
      );
      this.fold = new Int32Array(T);
      for (let t = 0, r = 0; t < T; t++) {
        this.fold[t] = Math.min(K - 1, Math.floor((r * K) / D));
        r += withData[t]!;
      }
      // Statistics that grow with the number of days seen (counts, sums) are scaled back to the
      // whole period: without its fold a pixel shows about (K-1)/K of its retrievals, and a
      // training row must not look "rarer" than the rows it will fill.
      const extensive = EXTENSIVE.map((n) => PIXEL_FEATURE_NAMES.indexOf(n));
      const nF = PIXEL_FEATURE_NAMES.length;
      for (let k = 0; k < K; k++) {
        const masked = Float32Array.from(this.train);
        let foldDays = 0;
        for (let t = 0; t < T; t++) if (this.fold[t] === k && withData[t]) foldDays++;
        for (let p = 0; p < P; p++) for (let t = 0; t < T; t++) if (this.fold[t] === k) masked[p * T + t] = NaN;
        const stats = pixelFeatures(masked, P, T, { doy: this.doy });
        const scale = D / Math.max(1, D - foldDays);
        for (let p = 0; p < P; p++) for (const j of extensive) stats[p * nF + j]! *= scale;
        this.foldStatistics.push(stats);
      }
      this.gapLengths = gapLengths(roles, a.smap, P, T);
    }
    if (o.spatial) {
      const src: SpatialSource =
        o.spatial === true
          ? { values: Float32Array.from(a.smap, (v, k) => (roles[k] === Role.Train ? v : NaN)), nrows: a.nrows, ncols: a.ncols, T, rowOffset: 0, colOffset: 0 }
          : o.spatial;
      if (src.T !== T) throw new Error(`FeatureBuilder: spatial source of ${src.T} days for ${T}`);
      const climatology = neighbourClimatology(src.values, src.nrows * src.ncols, T);
      let holes: Int32Array = new Int32Array(0);
      if (this.tsMode === "out-of-fold") {
        if (o.spatial !== true) throw new Error("FeatureBuilder: out-of-fold spatial features come from the window itself");
        const imitated = imitatedGaps(roles, a.smap, P);
        holes = holeRadii(src.values, a.nrows, a.ncols, T, imitated);
      }
      this.spatial = { src, climatology, holes };
    }
    const spatialNames = this.spatial ? SPATIAL_FEATURE_NAMES : [];
    if (o.weather && a.forcing?.series.has("precipitation"))
      this.weather = new WeatherRows(
        a,
        this.train,
        o.weather,
        this.tsMode === "out-of-fold" ? { fold: this.fold, folds: this.foldStatistics.length } : undefined,
      );
    const weatherNames = this.weather?.names ?? [];
    this.dynamicNames = [...a.dynamic.keys()];
    this.staticNames = [...a.static.keys()];
    this.names = [
      ...this.dynamicNames,
      ...this.staticNames,
      "doy_sin",
      "doy_cos",
      ...PIXEL_FEATURE_NAMES,
      ...CONTEXT_FEATURE_NAMES,
      ...spatialNames,
      ...weatherNames,
    ];
    this.groups = [
      ...this.dynamicNames.map(() => "dynamic"),
      ...this.staticNames.map(() => "static"),
      "calendar",
      "calendar",
      ...PIXEL_FEATURE_NAMES.map(() => "ts"),
      ...CONTEXT_FEATURE_NAMES.map(() => "ts"),
      ...spatialNames.map(() => "spatial"),
      ...weatherNames.map(() => "weather"),
    ];
    const predictorUnits = (n: string) => a.units.get(n) ?? "";
    this.units = [
      ...this.dynamicNames.map(predictorUnits),
      ...this.staticNames.map(predictorUnits),
      "1",
      "1",
      ...[...PIXEL_FEATURE_NAMES, ...CONTEXT_FEATURE_NAMES].map(tsFeatureUnits),
      ...spatialNames.map(spatialFeatureUnits),
      ...(this.weather?.units ?? []),
    ];
  }

  /** The schema of these features (with the ts mode of the training rows). */
  schema(): FeatureSchema {
    const o = this.a.origin;
    return {
      format_version: FEATURE_SCHEMA_VERSION,
      names: this.names,
      groups: this.groups,
      units: this.units,
      ts_mode: this.tsMode,
      ...(this.weather ? { weather: this.weather.schema() } : {}),
      ...(o?.resolution ? { resolution: o.resolution } : {}),
      training: {
        ...(o ? { window: o.window, source: o.source } : {}),
        start: formatDay(this.a.startDay),
        end: formatDay(this.a.startDay + this.a.T - 1),
      },
    };
  }

  /** Out-of-fold: the gap [start, end] a training row is placed in (seeded by the row, not the query order); else none. */
  gapOf(p: number, t: number): [number, number] | undefined {
    const k = t * this.a.P + p;
    if (this.tsMode !== "out-of-fold" || this.roles[k] !== Role.Train) return undefined;
    const n = this.gapLengths.length;
    const L = n ? this.gapLengths[Math.floor(hashUniform(this.seed, 2 * k) * n)]! : 1;
    const start = t - Math.floor(hashUniform(this.seed, 2 * k + 1) * L);
    return [start, start + L - 1];
  }

  /** The 5 context terms of the pixel-days (pixel[i], day[i]), [i * 5 + c]. */
  context(pixel: Int32Array, day: Int32Array): Float64Array {
    const climatology = this.climatology;
    if (this.tsMode !== "out-of-fold") return contextFeatures(this.train, this.a.P, this.a.T, pixel, day, { doy: this.doy, climatology });
    const gapStart = new Int32Array(pixel.length).fill(-1);
    const gapEnd = new Int32Array(pixel.length).fill(-1);
    for (let i = 0; i < pixel.length; i++) {
      const g = this.gapOf(pixel[i]!, day[i]!);
      if (g) ((gapStart[i] = Math.max(0, g[0])), (gapEnd[i] = g[1]));
    }
    return contextFeatures(this.train, this.a.P, this.a.T, pixel, day, { doy: this.doy, gapStart, gapEnd, climatology });
  }

  /**
   * The same features with the dynamic predictors of another block of days, [start, start + n)
   * (the per-pixel statistics are shared, not recomputed). The predictors must be the same.
   */
  withDynamic(dynamic: Map<string, Float32Array>, start: number): FeatureBuilder {
    const names = [...dynamic.keys()];
    if (names.join("\u0000") !== this.dynamicNames.join("\u0000"))
      throw new Error(`withDynamic: predictors ${names.join(", ")} differ from ${this.dynamicNames.join(", ")}`);
    const copy = Object.create(FeatureBuilder.prototype) as FeatureBuilder;
    Object.assign(copy, this, { a: { ...this.a, dynamic, dynamicStart: start } });
    return copy;
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
    const { P } = this.a;
    const N = pixel.length;
    const F = this.names.length;
    const context = this.context(pixel, day);
    const spatial = this.spatialOf(pixel, day);
    const weather = this.weather?.rows(
      pixel,
      day,
      (p, t) => this.gapOf(p, t),
      (p, t) => this.roles[t * P + p] === Role.Train,
    );
    const nWx = this.weather?.names.length ?? 0;
    const nSp = SPATIAL_FEATURE_NAMES.length;
    const X = new Float32Array(N * F);
    const dyn = this.dynamicNames.map((n) => this.a.dynamic.get(n)!);
    const sta = this.staticNames.map((n) => this.a.static.get(n)!);
    const nPix = PIXEL_FEATURE_NAMES.length;
    const start = this.a.dynamicStart ?? 0;
    const held = dyn.length ? dyn[0]!.length / P : Infinity;
    for (let i = 0; i < N; i++) {
      const p = pixel[i]!;
      const t = day[i]!;
      if (dyn.length && (t < start || t >= start + held))
        throw new Error(`FeatureBuilder.rows: day ${t} is outside the predictors' days ${start}..${start + held - 1}`);
      const k = (t - start) * P + p;
      const row = i * F;
      let j = 0;
      for (const d of dyn) X[row + j++] = d[k]!;
      for (const s of sta) X[row + j++] = s[p]!;
      X[row + j++] = this.calendar[2 * t]!;
      X[row + j++] = this.calendar[2 * t + 1]!;
      const stats = this.foldStatistics.length && this.roles[t * P + p] === Role.Train ? this.foldStatistics[this.fold[t]!]! : this.pixelStatistics;
      for (let f = 0; f < nPix; f++) X[row + j++] = stats[p * nPix + f]!;
      for (let c = 0; c < 5; c++) X[row + j++] = context[i * 5 + c]!;
      if (spatial) for (let f = 0; f < nSp; f++) X[row + j++] = spatial[i * nSp + f]!;
      if (weather) for (let f = 0; f < nWx; f++) X[row + j++] = weather[i * nWx + f]!;
    }
    return X;
  }

  /** Out-of-fold: the hole radius of a training row (its neighbours closer than this are ignored); else 1 (only the pixel itself). */
  holeOf(p: number, t: number): number {
    const k = t * this.a.P + p;
    return this.spatial && this.tsMode === "out-of-fold" && this.roles[k] === Role.Train ? drawHole(this.spatial.holes, this.seed, k) : 1;
  }

  /** The spatial features of the pixel-days (a training row out-of-fold with its drawn hole). */
  private spatialOf(pixel: Int32Array, day: Int32Array): Float64Array | undefined {
    const sp = this.spatial;
    if (!sp) return undefined;
    const { ncols } = this.a;
    const hole = Int32Array.from(pixel, (p, i) => this.holeOf(p, day[i]!));
    return spatialFeatures(
      sp.src,
      sp.climatology,
      Int32Array.from(pixel, (p) => Math.floor(p / ncols)),
      Int32Array.from(pixel, (p) => p % ncols),
      day,
      hole,
    );
  }
}

/**
 * The pixel-days whose gaps out-of-fold training rows imitate (the one rule for every run): the
 * days SMAP missed at pixels it saw (the gaps a product fills) and the validation and calibration
 * gaps (simulated shapes); never the test rows, whose shapes a model must not learn.
 */
function imitatedGaps(roles: Roles, smap: Float32Array, P: number): (k: number) => boolean {
  const seen = new Uint8Array(P);
  for (let k = 0; k < smap.length; k++) if (!Number.isNaN(smap[k]!)) seen[k % P] = 1;
  return (k) => {
    const r = roles[k]!;
    return r === Role.Validation || r === Role.Calibration || (r === Role.Unobserved && seen[k % P] === 1);
  };
}

/**
 * The lengths of the gaps rows must be filled across, one per imitated gap day (so a draw is
 * length-biased, as the rows are): the run of days around it without a training value. At most
 * 100 000 kept.
 */
function gapLengths(roles: Roles, smap: Float32Array, P: number, T: number): Int32Array {
  const out: number[] = [];
  const imitated = imitatedGaps(roles, smap, P);
  for (let p = 0; p < P && out.length < 100000; p++) {
    let prev = -1;
    for (let t = 0; t <= T; t++) {
      if (t < T && roles[t * P + p] !== Role.Train) continue;
      // Days prev+1 .. t-1 hold no training value: one gap of length t - prev - 1.
      const L = t - prev - 1;
      for (let e = prev + 1; e < t; e++) if (imitated(e * P + p)) out.push(L);
      prev = t;
    }
  }
  return Int32Array.from(out.slice(0, 100000));
}
