/**
 * The weather group of the sample layer: weather.ts's features for the rows a FeatureBuilder
 * builds, under the same out-of-fold rule as the ts group (samples.ts):
 *  - a training row (out-of-fold) looks for its previous and next retrievals outside the gap it
 *    was placed in (FeatureBuilder.gapOf, the gap its context terms use), and its drydown is the
 *    one fitted without its fold's days (the fold its statistics leave out), so neither its own
 *    value nor its neighbourhood reaches it;
 *  - every other row (validation, calibration, test, reconstruction) sees every value the view
 *    lets the features see, with the drydown fitted on all of them.
 * The forcings' per-pixel running sums (WeatherIndex) are built once per tile, when the first rows
 * are asked for; the drydowns once per fold.
 */
import { dayOfYear } from "../util/dates.js";
import { FORCING_ROLES, type ForcingRole, type ForcingSeries } from "./forcings.js";
import { fitDrydown, WEATHER_DEFAULTS, WeatherIndex, weatherFeatureNames, weatherFeatureUnits, type Drydown, type WeatherForcing } from "./weather.js";

/** The weather group's settings (chosen on validation gaps: docs/features.md). */
export interface WeatherSettings {
  /** The antecedent precipitation index's daily decay. */
  apiDecay: number;
  /** Thresholds of wx_days_since_rain_{x}mm, mm. */
  rainThresholds: number[];
}

export const WEATHER_SETTINGS: WeatherSettings = { apiDecay: WEATHER_DEFAULTS.apiDecay, rainThresholds: [...WEATHER_DEFAULTS.rainThresholds] };

/** What a model's schema records of its weather group: a model meets only data made alike. */
export interface WeatherSchema {
  /** The predictor behind each forcing the group used. */
  forcings: Partial<Record<ForcingRole, string>>;
  /** Where wx_pet_mean_since_prev comes from: the study's PET, Oudin's from temperature, or none. */
  pet: "study" | "oudin" | "none";
  api_decay: number;
  rain_thresholds: number[];
}

/** What the group needs of a window (samples.ts's SampleArrays has it). */
export interface WeatherWindow {
  P: number;
  T: number;
  startDay: number;
  forcing?: ForcingSeries;
  latitude?: Float32Array;
}

export class WeatherRows {
  readonly names: string[];
  readonly units: string[];
  private readonly forcingNames: Partial<Record<ForcingRole, string>>;
  private index: WeatherIndex | undefined;
  private readonly drydowns = new Map<number, Drydown>();
  private readonly seen: Uint8Array;
  private readonly doy: Int32Array;

  /**
   * `train`: the series the features may see, pixel-major [p * T + t], NaN elsewhere; `outOfFold`:
   * each day's fold (samples.ts) when training rows are out-of-fold.
   */
  constructor(
    private readonly a: WeatherWindow,
    private readonly train: Float32Array,
    private readonly settings: WeatherSettings,
    private readonly outOfFold?: { fold: Int32Array; folds: number },
  ) {
    const f = a.forcing!;
    this.doy = Int32Array.from({ length: a.T }, (_, t) => dayOfYear(a.startDay + t));
    const present = Object.fromEntries(FORCING_ROLES.filter((r) => f.series.has(r)).map((r) => [r, true]));
    const o = { rainThresholds: settings.rainThresholds, ...(a.latitude ? { latitude: a.latitude, doy: this.doy } : {}) };
    this.names = weatherFeatureNames(present, o);
    this.units = weatherFeatureUnits(this.names, {
      smap: "m3 m-3",
      ...(f.units.get("temperature") ? { temperature: f.units.get("temperature")! } : {}),
      ...(f.units.get("radiation") ? { radiation: f.units.get("radiation")! } : {}),
    });
    this.forcingNames = Object.fromEntries(FORCING_ROLES.filter((r) => f.choice[r] && f.series.has(r)).map((r) => [r, f.choice[r]!.variable]));
    this.seen = new Uint8Array(a.P * a.T).fill(1);
  }

  schema(): WeatherSchema {
    const pet = this.forcingNames.pet ? "study" : this.names.includes("wx_pet_mean_since_prev") ? "oudin" : "none";
    return { forcings: this.forcingNames, pet, api_decay: this.settings.apiDecay, rain_thresholds: this.settings.rainThresholds };
  }

  /** The index of the window's forcings (pixel-major copies, made once). */
  private indexOf(): WeatherIndex {
    if (this.index) return this.index;
    const { P, T } = this.a;
    const forcing: WeatherForcing = {};
    for (const [role, series] of this.a.forcing!.series) {
      const byPixel = new Float32Array(P * T);
      for (let t = 0; t < T; t++) for (let p = 0; p < P; p++) byPixel[p * T + t] = series[t * P + p]!;
      forcing[role] = byPixel;
    }
    this.index = new WeatherIndex(forcing, P, T, {
      apiDecay: this.settings.apiDecay,
      rainThresholds: this.settings.rainThresholds,
      ...(this.a.latitude ? { latitude: this.a.latitude, doy: this.doy } : {}),
    });
    return this.index;
  }

  /** The drydown fitted without fold k's days (k = -1: on every value the features see). */
  private drydownOf(k: number): Drydown {
    const known = this.drydowns.get(k);
    if (known) return known;
    const { P, T } = this.a;
    const index = this.indexOf();
    let series = this.train;
    if (k >= 0) {
      series = Float32Array.from(this.train);
      for (let t = 0; t < T; t++) if (this.outOfFold!.fold[t] === k) for (let p = 0; p < P; p++) series[p * T + t] = NaN;
    }
    const d = fitDrydown(series, this.seen, index.forcing.precipitation!, P, T);
    this.drydowns.set(k, d);
    return d;
  }

  /**
   * The weather features of the pixel-days (pixel[i], day[i]) [i * names + f]: `gapOf` gives a
   * training row's gap, `isTrain` says which rows are training rows (out-of-fold ones).
   */
  rows(
    pixel: Int32Array,
    day: Int32Array,
    gapOf: (p: number, t: number) => [number, number] | undefined,
    isTrain: (p: number, t: number) => boolean,
  ): Float64Array {
    const index = this.indexOf();
    const nF = this.names.length;
    const N = pixel.length;
    const out = new Float64Array(N * nF);
    // Rows by the drydown they use: -1 (every value seen) or the fold a training row leaves out.
    const groups = new Map<number, number[]>();
    for (let i = 0; i < N; i++) {
      const k = this.outOfFold && isTrain(pixel[i]!, day[i]!) ? this.outOfFold.fold[day[i]!]! : -1;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(i);
    }
    for (const [k, idx] of groups) {
      const pix = Int32Array.from(idx, (i) => pixel[i]!);
      const days = Int32Array.from(idx, (i) => day[i]!);
      const gapStart = new Int32Array(idx.length).fill(-1);
      const gapEnd = new Int32Array(idx.length).fill(-1);
      if (k >= 0)
        idx.forEach((i, j) => {
          const g = gapOf(pixel[i]!, day[i]!);
          if (g) ((gapStart[j] = Math.max(0, g[0])), (gapEnd[j] = g[1]));
        });
      const values = index.query(this.train, this.seen, pix, days, this.drydownOf(k), k >= 0 ? { gapStart, gapEnd } : {});
      idx.forEach((i, j) => out.set(values.subarray(j * nF, (j + 1) * nF), i * nF));
    }
    return out;
  }
}
