/**
 * The weather between retrievals (issue 26's feature group `weather`). Soil moisture between two
 * SMAP retrievals jumps with rain and dries down at a rate set by temperature, radiation and soil;
 * these features tell a model, for a pixel-day, what fell and how warm and sunny it was since the
 * previous retrieval and until the next, how long ago it last rained, an antecedent precipitation
 * index, and the previous and next retrievals carried to the day along a drydown.
 *
 * Pure functions of a pixel's daily forcing series and of the retrievals the caller allows them
 * to see (`seen`, a training mask): a retrieval not seen is never read, so a held-out value never
 * feeds its own features. Layout as timeseries.ts: series[p * D + d] over one regular daily axis
 * (d = 0..D-1); a value of NaN is a missing day. Days before d = 0 are unknown: a feature that
 * needs them is NaN, as is one that needs a missing forcing day (except the means, which take the
 * days they have). The group is empty when there is no precipitation (the anchor of every other
 * term); temperature, radiation and PET add their means when the study has them.
 *
 * For a query (pixel p, day d), prev and next are the nearest seen retrievals strictly before and
 * after d; with a gap [g0, g1] around d (the out-of-fold rule of MODELS.md for training rows, as
 * contextFeatures), the nearest seen retrievals before g0 and after g1. Intervals:
 * "since prev" = days prev+1..d, "until next" = days d+1..next (each day's total belongs to the
 * interval that ends with it; together they cover prev+1..next once).
 *
 *   wx_precip_since_prev, wx_precip_until_next       sum of precipitation over the interval (mm)
 *   wx_rain_days_since_prev, wx_rain_days_until_next  days with precipitation >= rainDay (1 mm)
 *   wx_days_since_rain_{x}mm                         d - (last day <= d with precipitation >= x);
 *                                                    0 when it rained x mm on d; NaN when no such
 *                                                    day is known since the start
 *   wx_api                                           antecedent precipitation index
 *                                                    API_d = sum_{n=0}^{N-1} k^n P_{d-n}, decay k
 *                                                    (apiDecay), N the days whose weight k^n >= 0.01
 *   wx_prev_drydown                                  dry + (theta_prev - dry) exp(-(d - prev) / tau)
 *   wx_next_drydown                                  min(wet, dry + (theta_next - dry) exp((next - d) / tau))
 *   wx_dry_mean_before, wx_dry_count_before          the mean of the seen retrievals e of days
 *                                                    d - smoothDays .. prev carried to d along the
 *                                                    drydown (as wx_prev_drydown), over those with
 *                                                    every day e..d known and dry (< rainDay), and
 *                                                    their number: one retrieval's noise averaged
 *                                                    out over a dry spell (NaN: none)
 *   wx_dry_mean_after, wx_dry_count_after            the same after d (next .. d + smoothDays, days
 *                                                    d..e dry), carried backward and capped at wet
 *   wx_temperature_mean_since_prev, wx_radiation_mean_since_prev, wx_pet_mean_since_prev
 *                                                    means over "since prev" (PET: the study's, else
 *                                                    Oudin's from temperature and latitude)
 * The drydown's timescale tau and dry level and the wet level come from fitDrydown (per pixel, on
 * seen retrievals only); the next retrieval carried backward is capped at the pixel's wettest seen
 * value, since the exponential grows without bound backward in time.
 */

import { quantileSorted } from "../util/stats.js";

type Series = Float32Array | Float64Array;

/** The daily forcings of P pixels x D days ([p * D + d], NaN: missing); any may be absent. */
export interface WeatherForcing {
  /** Precipitation, mm per day. */
  precipitation?: Series;
  /** Mean air temperature, degrees Celsius (Oudin's PET needs Celsius). */
  temperature?: Series;
  /** Surface radiation, in the study's units (only averaged). */
  radiation?: Series;
  /** Potential evapotranspiration, mm per day. */
  pet?: Series;
}

export interface WeatherOptions {
  /** Day of year (1..366) of each day; needed with latitude for Oudin's PET. */
  doy?: Int32Array;
  /** Latitude of each pixel, degrees north: with temperature and doy, Oudin's PET when the study has no PET. */
  latitude?: ArrayLike<number>;
  /** Precipitation that makes a rain day, mm (default 1). */
  rainDay?: number;
  /** Thresholds of wx_days_since_rain_{x}mm, mm (default 1, 5, 20). */
  rainThresholds?: readonly number[];
  /** The API's daily decay k, 0 <= k < 1 (default 0.9; to be chosen on validation data). */
  apiDecay?: number;
  /** How far (days) wx_dry_mean_before/after look for retrievals (default 10). */
  smoothDays?: number;
  /** The drydown of every pixel (default: fitDrydown on the same seen retrievals). */
  drydown?: Drydown;
  /** Per query, a run of days [gapStart, gapEnd] around its day whose retrievals are ignored (negative gapStart: none). */
  gapStart?: Int32Array;
  gapEnd?: Int32Array;
}

export const WEATHER_DEFAULTS = { rainDay: 1, rainThresholds: [1, 5, 20] as readonly number[], apiDecay: 0.9, smoothDays: 10 };

/** The weight below which the API's terms are dropped (its window). */
const API_MIN_WEIGHT = 0.01;

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

/** The feature names the forcings given (their presence only) make, in the order weatherFeatures writes them. */
export function weatherFeatureNames(
  forcing: { [K in keyof WeatherForcing]?: unknown },
  o: Pick<WeatherOptions, "rainThresholds" | "latitude" | "doy"> = {},
): string[] {
  if (!forcing.precipitation) return [];
  const names = ["wx_precip_since_prev", "wx_rain_days_since_prev", "wx_precip_until_next", "wx_rain_days_until_next"];
  for (const x of o.rainThresholds ?? WEATHER_DEFAULTS.rainThresholds) names.push(`wx_days_since_rain_${x}mm`);
  names.push("wx_api", "wx_prev_drydown", "wx_next_drydown", "wx_dry_mean_before", "wx_dry_count_before", "wx_dry_mean_after", "wx_dry_count_after");
  if (forcing.temperature) names.push("wx_temperature_mean_since_prev");
  if (forcing.radiation) names.push("wx_radiation_mean_since_prev");
  if (forcing.pet || (forcing.temperature && o.latitude && o.doy)) names.push("wx_pet_mean_since_prev");
  return names;
}

/** Units of weatherFeatureNames' features, given the units of SMAP and of the forcings. */
export function weatherFeatureUnits(names: readonly string[], units: { smap: string; temperature?: string; radiation?: string }): string[] {
  return names.map((n) => {
    if (n.startsWith("wx_precip") || n === "wx_api") return "mm";
    if (n.startsWith("wx_rain_days") || n.startsWith("wx_days_since")) return "days";
    if (n.startsWith("wx_dry_count")) return "1";
    if (n.endsWith("_drydown") || n.startsWith("wx_dry_mean")) return units.smap;
    if (n === "wx_temperature_mean_since_prev") return units.temperature ?? "degC";
    if (n === "wx_radiation_mean_since_prev") return units.radiation ?? "unknown";
    return "mm day-1";
  });
}

/**
 * Extraterrestrial radiation Ra, MJ m-2 day-1 (FAO-56, Allen et al. 1998, eq. 21-25): Ra =
 * (24 60 / pi) Gsc dr (ws sin(phi) sin(delta) + cos(phi) cos(delta) sin(ws)), Gsc = 0.0820
 * MJ m-2 min-1, dr = 1 + 0.033 cos(2 pi J / 365), delta = 0.409 sin(2 pi J / 365 - 1.39), ws =
 * arccos(-tan(phi) tan(delta)) (0 in polar night, pi in polar day).
 */
export function extraterrestrialRadiation(latitudeDeg: number, doy: number): number {
  const phi = (latitudeDeg * Math.PI) / 180;
  const dr = 1 + 0.033 * Math.cos((2 * Math.PI * doy) / 365);
  const delta = 0.409 * Math.sin((2 * Math.PI * doy) / 365 - 1.39);
  const ws = Math.acos(Math.max(-1, Math.min(1, -Math.tan(phi) * Math.tan(delta))));
  return ((24 * 60) / Math.PI) * 0.082 * dr * (ws * Math.sin(phi) * Math.sin(delta) + Math.cos(phi) * Math.cos(delta) * Math.sin(ws));
}

/**
 * Oudin's potential evapotranspiration (Oudin et al. 2005, J. Hydrol. 303), mm day-1: Ra (T + 5)
 * / (100 lambda rho) with lambda = 2.45 MJ kg-1 and rho = 1000 kg m-3, i.e. Ra (T + 5) / 245
 * for T > -5 degC, else 0. Needs only temperature and latitude, which is why it serves as the
 * PET-like term when a study has no PET.
 */
export function oudinPet(temperatureC: number, latitudeDeg: number, doy: number): number {
  return temperatureC > -5 ? (extraterrestrialRadiation(latitudeDeg, doy) * (temperatureC + 5)) / 245 : 0;
}

/** A drydown per pixel: theta(t) = dry + (theta_0 - dry) exp(-t / tau). */
export interface Drydown {
  /** The e-folding time, days: the pixel's own fit, or pooledTau when it has fewer than minPairs pairs (NaN: none). */
  tau: Float64Array;
  /** The dry level: fitted with tau (at most the pixel's smallest seen retrieval), else that smallest retrieval (NaN: none seen). */
  dry: Float64Array;
  /** The pixel's largest seen retrieval (the cap of a value carried backward). */
  wet: Float64Array;
  /** Pairs of consecutive seen retrievals without rain the pixel's fit used. */
  pairs: Int32Array;
  /** The median tau of the pixels with their own fit (NaN: none had enough pairs). */
  pooledTau: number;
}

export interface DrydownOptions {
  /** Precipitation that breaks a drydown, mm per day (default 1). */
  rainDay?: number;
  /** The longest pair, days (default 10). */
  maxGap?: number;
  /** Pairs a pixel needs for its own tau (default 5). */
  minPairs?: number;
}

/** tau is searched in [TAU_MIN, TAU_MAX] days: shorter is below a day's resolution, longer is no drying seen. */
const TAU_MIN = 0.5;
const TAU_MAX = 200;

/**
 * The drydown of every pixel from its seen retrievals: theta(t) = dry + (theta_0 - dry)
 * exp(-t / tau), the model of McColl et al. (2017, GRL 44, "Global characterization of surface
 * soil moisture drydowns"). Pairs: consecutive seen retrievals (t1, t2), t2 - t1 <= maxGap, with
 * every day of t1..t2 known and below rainDay (daily totals do not say whether a day's rain fell
 * before or after the overpass, so neither end may be wet). tau and dry minimise
 * sum (theta_2 - dry - (theta_1 - dry) exp(-(t2 - t1) / tau))^2 with dry in [0, the smallest
 * seen retrieval]: for each tau the best dry is a weighted mean (clamped to that range), and tau
 * is searched on a grid of 64 log-spaced values in [0.5, 200] days, then refined by golden
 * sections around the best. (Taking the smallest retrieval as the dry level, as McColl et al.
 * do over long records, biases tau short when a record rarely dries out: the soil is still
 * above its dry level at the end of every drydown.) Pairs where the soil wetted without rain
 * (retrieval noise) stay in, so noise does not bias tau short; noise in theta_1 still does a
 * little (regression dilution). A pixel with fewer than minPairs pairs gets the median tau of the
 * pixels with their own fit, and its smallest retrieval as its dry level.
 */
export function fitDrydown(smap: Series, seen: Uint8Array, precipitation: Series, P: number, D: number, o: DrydownOptions = {}): Drydown {
  check(
    smap.length === P * D && seen.length === P * D && precipitation.length === P * D,
    `fitDrydown: series of ${smap.length}, ${seen.length}, ${precipitation.length} values for ${P} x ${D}`,
  );
  const rainDay = o.rainDay ?? WEATHER_DEFAULTS.rainDay;
  const maxGap = o.maxGap ?? 10;
  const minPairs = o.minPairs ?? 5;
  const tau = new Float64Array(P).fill(NaN);
  const dry = new Float64Array(P).fill(NaN);
  const wet = new Float64Array(P).fill(NaN);
  const pairs = new Int32Array(P);
  const x = new Float64Array(D);
  const y = new Float64Array(D);
  const gap = new Float64Array(D);
  for (let p = 0; p < P; p++) {
    const row = p * D;
    let lo = Infinity;
    let hi = -Infinity;
    for (let d = 0; d < D; d++) {
      const v = smap[row + d]!;
      if (seen[row + d] !== 0 && v === v) ((lo = Math.min(lo, v)), (hi = Math.max(hi, v)));
    }
    if (lo > hi) continue;
    dry[p] = lo;
    wet[p] = hi;
    let n = 0;
    let previous = -1;
    for (let d = 0; d < D; d++) {
      const v = smap[row + d]!;
      if (seen[row + d] === 0 || v !== v) continue;
      if (previous >= 0 && d - previous <= maxGap) {
        let dryDays = true;
        for (let e = previous; e <= d && dryDays; e++) {
          const r = precipitation[row + e]!;
          dryDays = r === r && r < rainDay;
        }
        if (dryDays) ((x[n] = smap[row + previous]!), (y[n] = v), (gap[n] = d - previous), n++);
      }
      previous = d;
    }
    pairs[p] = n;
    if (n >= minPairs) [tau[p], dry[p]] = fitTauAndDry(x, y, gap, n, Math.max(0, lo));
  }
  const own = Array.from(tau)
    .filter((t) => t === t)
    .sort((a, b) => a - b);
  const pooledTau = own.length ? quantileSorted(own, 0.5) : NaN;
  for (let p = 0; p < P; p++) if (pairs[p]! < minPairs && dry[p] === dry[p]) tau[p] = pooledTau;
  return { tau, dry, wet, pairs, pooledTau };
}

/** argmin over (tau, dry in [0, dryMax]) of sum (y - dry - (x - dry) exp(-gap / tau))^2 (see fitDrydown). */
function fitTauAndDry(x: Float64Array, y: Float64Array, gap: Float64Array, n: number, dryMax: number): [number, number] {
  // For a given tau, with u = exp(-gap / tau): the residual is (y - x u) - dry (1 - u), least squares in dry.
  const best = (logTau: number): [number, number] => {
    const tau = Math.exp(logTau);
    let ab = 0;
    let bb = 0;
    for (let i = 0; i < n; i++) {
      const u = Math.exp(-gap[i]! / tau);
      ab += (y[i]! - x[i]! * u) * (1 - u);
      bb += (1 - u) * (1 - u);
    }
    const dry = Math.min(dryMax, Math.max(0, bb > 0 ? ab / bb : dryMax));
    let s = 0;
    for (let i = 0; i < n; i++) {
      const u = Math.exp(-gap[i]! / tau);
      s += (y[i]! - x[i]! * u - dry * (1 - u)) ** 2;
    }
    return [s, dry];
  };
  const loss = (logTau: number) => best(logTau)[0];
  const [a, b] = [Math.log(TAU_MIN), Math.log(TAU_MAX)];
  const steps = 63;
  let k0 = 0;
  let bestLoss = Infinity;
  for (let k = 0; k <= steps; k++) {
    const l = loss(a + ((b - a) * k) / steps);
    if (l < bestLoss) ((bestLoss = l), (k0 = k));
  }
  let lo = a + ((b - a) * Math.max(0, k0 - 1)) / steps;
  let hi = a + ((b - a) * Math.min(steps, k0 + 1)) / steps;
  const g = (Math.sqrt(5) - 1) / 2;
  let c = hi - g * (hi - lo);
  let e = lo + g * (hi - lo);
  let fc = loss(c);
  let fe = loss(e);
  for (let it = 0; it < 40; it++) {
    if (fc <= fe) ((hi = e), (e = c), (fe = fc), (c = hi - g * (hi - lo)), (fc = loss(c)));
    else ((lo = c), (c = e), (fc = fe), (e = lo + g * (hi - lo)), (fe = loss(e)));
  }
  const logTau = (lo + hi) / 2;
  return [Math.exp(logTau), best(logTau)[1]];
}

/** A forcing's running sums of known values and counts over one pixel's days, for means over intervals. */
interface MeanPrefix {
  sum: Float64Array;
  count: Int32Array;
}

/**
 * What the weather features need of each pixel's forcings, computed once per pixel and day:
 * running sums (precipitation, rain days, missing days, and each averaged forcing's known values
 * and counts), the last day with rain above each threshold and the last missing day, and the API.
 * A query then costs the length of its gap (finding its previous and next seen retrievals), not
 * the length of the record: the sample layer builds one index per tile and asks it for every
 * block of rows. Memory: about 40 bytes per pixel-day, plus 12 per averaged forcing.
 */
export class WeatherIndex {
  readonly names: string[];
  private readonly slot: Int32Array;
  private readonly sumP: Float64Array;
  private readonly rainDays: Int32Array;
  private readonly missing: Int32Array;
  private readonly lastRain: Int32Array[];
  private readonly lastMissing: Int32Array;
  private readonly api: Float64Array;
  private readonly means: { name: string; m: MeanPrefix }[] = [];
  private readonly thresholds: readonly number[];
  private readonly smoothDays: number;

  /**
   * The index of the pixels `pixels` (default all P) of forcings [p * D + d]; the group is empty
   * (names []) without precipitation.
   */
  constructor(
    readonly forcing: WeatherForcing,
    readonly P: number,
    readonly D: number,
    o: Omit<WeatherOptions, "drydown" | "gapStart" | "gapEnd"> = {},
    pixels?: Int32Array,
  ) {
    for (const [name, s] of Object.entries(forcing)) if (s) check(s.length === P * D, `weatherFeatures: ${name} has ${s.length} values for ${P} x ${D}`);
    this.names = weatherFeatureNames(forcing, o);
    this.thresholds = o.rainThresholds ?? WEATHER_DEFAULTS.rainThresholds;
    const k = o.apiDecay ?? WEATHER_DEFAULTS.apiDecay;
    check(k >= 0 && k < 1, `weatherFeatures: the API decay ${k} is outside [0, 1)`);
    const rainDay = o.rainDay ?? WEATHER_DEFAULTS.rainDay;
    this.smoothDays = o.smoothDays ?? WEATHER_DEFAULTS.smoothDays;
    this.slot = new Int32Array(P).fill(-1);
    const list = pixels ? [...new Set(pixels)].sort((a, b) => a - b) : [...Array(P).keys()];
    for (const [i, p] of list.entries()) {
      check(p >= 0 && p < P, `weatherFeatures: pixel ${p} outside 0..${P - 1}`);
      this.slot[p] = i;
    }
    const U = list.length;
    const precipitation = forcing.precipitation;
    const n = precipitation ? U * (D + 1) : 0;
    this.sumP = new Float64Array(n);
    this.rainDays = new Int32Array(n);
    this.missing = new Int32Array(n);
    this.lastRain = this.thresholds.map(() => new Int32Array(precipitation ? U * D : 0));
    this.lastMissing = new Int32Array(precipitation ? U * D : 0);
    this.api = new Float64Array(precipitation ? U * D : 0);
    if (!precipitation) return;
    const window = k > 0 ? Math.max(1, Math.floor(Math.log(API_MIN_WEIGHT) / Math.log(k)) + 1) : 1;
    const weights = Float64Array.from({ length: window }, (_, w) => k ** w);
    const petFromTemperature = !forcing.pet && forcing.temperature && o.latitude && o.doy;
    const averaged: [string, Series | null, ((p: number, d: number) => number) | null][] = [
      ["temperature", forcing.temperature ?? null, null],
      ["radiation", forcing.radiation ?? null, null],
      [
        "pet",
        forcing.pet ?? null,
        petFromTemperature
          ? (p, d) => {
              const t = forcing.temperature![p * D + d]!;
              return t === t ? oudinPet(t, Number(o.latitude![p]), o.doy![d]!) : NaN;
            }
          : null,
      ],
    ];
    for (const [name, series, derived] of averaged)
      if (series || derived) this.means.push({ name, m: { sum: new Float64Array(U * (D + 1)), count: new Int32Array(U * (D + 1)) } });
    for (const [u, p] of list.entries()) {
      const row = p * D;
      const at = u * (D + 1);
      const rain = (d: number) => precipitation[row + d]!;
      const known = (d: number) => rain(d) === rain(d);
      for (let d = 0; d < D; d++) {
        const r = rain(d);
        this.sumP[at + d + 1] = this.sumP[at + d]! + (known(d) ? r : 0);
        this.missing[at + d + 1] = this.missing[at + d]! + (known(d) ? 0 : 1);
        this.rainDays[at + d + 1] = this.rainDays[at + d]! + (known(d) && r >= rainDay ? 1 : 0);
      }
      this.thresholds.forEach((x, t) => {
        const last = this.lastRain[t]!;
        for (let d = 0, seen = -1; d < D; d++) last[u * D + d] = seen = known(d) && rain(d) >= x ? d : seen;
      });
      for (let d = 0, seen = -1; d < D; d++) this.lastMissing[u * D + d] = seen = known(d) ? seen : d;
      for (let d = 0; d < D; d++) {
        let api = NaN;
        if (d - window + 1 >= 0 && this.missing[at + d + 1]! - this.missing[at + d - window + 1]! === 0) {
          api = 0;
          for (let w = 0; w < window; w++) api += weights[w]! * rain(d - w);
        }
        this.api[u * D + d] = api;
      }
      let j = 0;
      for (const [, series, derived] of averaged) {
        if (!series && !derived) continue;
        const { sum, count } = this.means[j++]!.m;
        for (let d = 0; d < D; d++) {
          const v = series ? series[row + d]! : derived!(p, d);
          sum[at + d + 1] = sum[at + d]! + (v === v ? v : 0);
          count[at + d + 1] = count[at + d]! + (v === v ? 1 : 0);
        }
      }
    }
  }

  /**
   * The features (this.names' order) of queries (pix[q], day[q]) from the retrievals `seen`
   * allows ([p * D + d], non-zero: may be seen) and a drydown; [Q * names] float64.
   */
  query(smap: Series, seen: Uint8Array, pix: Int32Array, day: Int32Array, drydown: Drydown, o: Pick<WeatherOptions, "gapStart" | "gapEnd"> = {}): Float64Array {
    const { P, D } = this;
    check(smap.length === P * D && seen.length === P * D, `weatherFeatures: SMAP of ${smap.length} and a mask of ${seen.length} values for ${P} x ${D}`);
    check(pix.length === day.length, `weatherFeatures: ${pix.length} pixels for ${day.length} days`);
    const nF = this.names.length;
    const Q = pix.length;
    const out = new Float64Array(Q * nF).fill(NaN);
    if (!nF) return out;
    const col = Object.fromEntries(this.names.map((n, i) => [n, i]));
    const meanCols = this.means.map(({ name }) => col[`wx_${name}_mean_since_prev`]!);
    const sinceRainCols = this.thresholds.map((x) => col[`wx_days_since_rain_${x}mm`]!);
    for (let q = 0; q < Q; q++) {
      const p = pix[q]!;
      const d = day[q]!;
      check(p >= 0 && p < P && this.slot[p]! >= 0, `weatherFeatures: pixel ${p} outside 0..${P - 1} or not indexed`);
      check(d >= 0 && d < D, `weatherFeatures: day ${d} outside 0..${D - 1}`);
      const u = this.slot[p]!;
      const at = u * (D + 1);
      const row = p * D;
      const isSeen = (e: number) => seen[row + e] !== 0 && smap[row + e] === smap[row + e];
      const g0 = o.gapStart ? o.gapStart[q]! : -1;
      const [before, after] = g0 >= 0 ? [g0, o.gapEnd![q]!] : [d, d];
      // The nearest seen retrievals before and after (the gap): found by scanning out.
      let prev = Math.min(D, before) - 1;
      while (prev >= 0 && !isSeen(prev)) prev--;
      let next = Math.max(-1, after) + 1;
      while (next < D && !isSeen(next)) next++;
      const f = q * nF;
      // Interval sums over days a+1..b, NaN when one of them is missing.
      const over = (s: Float64Array | Int32Array, a: number, b: number) =>
        this.missing[at + b + 1]! - this.missing[at + a + 1]! > 0 ? NaN : s[at + b + 1]! - s[at + a + 1]!;
      const [tau, dry, wet] = [drydown.tau[p]!, drydown.dry[p]!, drydown.wet[p]!];
      if (prev >= 0) {
        out[f + col.wx_precip_since_prev!] = over(this.sumP, prev, d);
        out[f + col.wx_rain_days_since_prev!] = over(this.rainDays, prev, d);
        if (tau === tau) out[f + col.wx_prev_drydown!] = dry + (smap[row + prev]! - dry) * Math.exp(-(d - prev) / tau);
        this.means.forEach(({ m }, j) => {
          const n = m.count[at + d + 1]! - m.count[at + prev + 1]!;
          if (n > 0) out[f + meanCols[j]!] = (m.sum[at + d + 1]! - m.sum[at + prev + 1]!) / n;
        });
      }
      if (next < D) {
        out[f + col.wx_precip_until_next!] = over(this.sumP, d, next);
        out[f + col.wx_rain_days_until_next!] = over(this.rainDays, d, next);
        if (tau === tau) out[f + col.wx_next_drydown!] = Math.min(wet, dry + (smap[row + next]! - dry) * Math.exp((next - d) / tau));
      }
      if (tau === tau) {
        // Days a..b (inclusive) all known and dry.
        const dryDays = (a: number, b: number) =>
          this.missing[at + b + 1]! - this.missing[at + a]! === 0 && this.rainDays[at + b + 1]! - this.rainDays[at + a]! === 0;
        let [sum, n] = [0, 0];
        for (let e = prev; e >= 0 && e >= d - this.smoothDays && dryDays(e, d); e--)
          if (isSeen(e)) ((sum += dry + (smap[row + e]! - dry) * Math.exp(-(d - e) / tau)), n++);
        out[f + col.wx_dry_count_before!] = n;
        if (n) out[f + col.wx_dry_mean_before!] = sum / n;
        [sum, n] = [0, 0];
        for (let e = next; e < D && e <= d + this.smoothDays && dryDays(d, e); e++)
          if (isSeen(e)) ((sum += Math.min(wet, dry + (smap[row + e]! - dry) * Math.exp((e - d) / tau))), n++);
        out[f + col.wx_dry_count_after!] = n;
        if (n) out[f + col.wx_dry_mean_after!] = sum / n;
      }
      const lastMissing = this.lastMissing[u * D + d]!;
      this.thresholds.forEach((_, t) => {
        const r = this.lastRain[t]![u * D + d]!;
        if (r >= 0 && r > lastMissing) out[f + sinceRainCols[t]!] = d - r;
      });
      out[f + col.wx_api!] = this.api[u * D + d]!;
    }
    return out;
  }
}

/**
 * The weather features (weatherFeatureNames' order) of queries (pix[q], day[q]) from the
 * retrievals `seen` allows ([p * D + d], non-zero: may be seen) and the forcings; [Q * names] float64.
 */
export function weatherFeatures(
  smap: Series,
  seen: Uint8Array,
  P: number,
  D: number,
  forcing: WeatherForcing,
  pix: Int32Array,
  day: Int32Array,
  o: WeatherOptions = {},
): Float64Array {
  check(smap.length === P * D && seen.length === P * D, `weatherFeatures: SMAP of ${smap.length} and a mask of ${seen.length} values for ${P} x ${D}`);
  check(pix.length === day.length, `weatherFeatures: ${pix.length} pixels for ${day.length} days`);
  if (!forcing.precipitation) {
    for (const [name, s] of Object.entries(forcing)) if (s) check(s.length === P * D, `weatherFeatures: ${name} has ${s.length} values for ${P} x ${D}`);
    return new Float64Array(0);
  }
  const index = new WeatherIndex(forcing, P, D, o, pix);
  const drydown = o.drydown ?? fitDrydown(smap, seen, forcing.precipitation, P, D, { rainDay: o.rainDay ?? WEATHER_DEFAULTS.rainDay });
  return index.query(smap, seen, pix, day, drydown, o);
}
