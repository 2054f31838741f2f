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
  /** The drydown of every pixel (default: fitDrydown on the same seen retrievals). */
  drydown?: Drydown;
  /** Per query, a run of days [gapStart, gapEnd] around its day whose retrievals are ignored (negative gapStart: none). */
  gapStart?: Int32Array;
  gapEnd?: Int32Array;
}

export const WEATHER_DEFAULTS = { rainDay: 1, rainThresholds: [1, 5, 20] as readonly number[], apiDecay: 0.9 };

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
  names.push("wx_api", "wx_prev_drydown", "wx_next_drydown");
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
    if (n.endsWith("_drydown")) return units.smap;
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

/** Running sums over one pixel's days: sums[d + 1] = the sum of days 0..d. */
function prefix(D: number, value: (d: number) => number): Float64Array {
  const s = new Float64Array(D + 1);
  for (let d = 0; d < D; d++) s[d + 1] = s[d]! + value(d);
  return s;
}

/** A forcing's running sums of known values and counts, for means over intervals. */
function meanPrefix(series: Series | null, row: number, D: number): { sum: Float64Array; count: Float64Array } | null {
  if (!series) return null;
  const v = (d: number) => series[row + d]!;
  return { sum: prefix(D, (d) => (v(d) === v(d) ? v(d) : 0)), count: prefix(D, (d) => (v(d) === v(d) ? 1 : 0)) };
}

/** The mean of the known values of days a+1..b (NaN: none). */
function meanOver(m: { sum: Float64Array; count: Float64Array }, a: number, b: number): number {
  const n = m.count[b + 1]! - m.count[a + 1]!;
  return n > 0 ? (m.sum[b + 1]! - m.sum[a + 1]!) / n : NaN;
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
  for (const [name, s] of Object.entries(forcing)) if (s) check(s.length === P * D, `weatherFeatures: ${name} has ${s.length} values for ${P} x ${D}`);
  check(pix.length === day.length, `weatherFeatures: ${pix.length} pixels for ${day.length} days`);
  const names = weatherFeatureNames(forcing, o);
  const nF = names.length;
  const Q = pix.length;
  const out = new Float64Array(Q * nF).fill(NaN);
  const precipitation = forcing.precipitation;
  if (!precipitation) return out;
  const k = o.apiDecay ?? WEATHER_DEFAULTS.apiDecay;
  check(k >= 0 && k < 1, `weatherFeatures: the API decay ${k} is outside [0, 1)`);
  const rainDay = o.rainDay ?? WEATHER_DEFAULTS.rainDay;
  const thresholds = o.rainThresholds ?? WEATHER_DEFAULTS.rainThresholds;
  const window = k > 0 ? Math.max(1, Math.floor(Math.log(API_MIN_WEIGHT) / Math.log(k)) + 1) : 1;
  const weights = Float64Array.from({ length: window }, (_, n) => k ** n);
  const drydown = o.drydown ?? fitDrydown(smap, seen, precipitation, P, D, { rainDay });
  const petFromTemperature = !forcing.pet && forcing.temperature && o.latitude && o.doy;
  const col = Object.fromEntries(names.map((n, i) => [n, i]));

  // Queries pixel by pixel: one pixel's running sums in memory at a time.
  const order = Array.from({ length: Q }, (_, q) => q).sort((a, b) => pix[a]! - pix[b]! || a - b);
  for (let start = 0; start < Q;) {
    const p = pix[order[start]!]!;
    check(p >= 0 && p < P, `weatherFeatures: pixel ${p} outside 0..${P - 1}`);
    let end = start;
    while (end < Q && pix[order[end]!] === p) end++;
    const row = p * D;
    const rain = (d: number) => precipitation[row + d]!;
    const known = (d: number) => rain(d) === rain(d);
    const sumP = prefix(D, (d) => (known(d) ? rain(d) : 0));
    const missing = prefix(D, (d) => (known(d) ? 0 : 1));
    const rainDays = prefix(D, (d) => (known(d) && rain(d) >= rainDay ? 1 : 0));
    // Per threshold: the last day <= d with at least that much rain; and the last missing day.
    const lastRain = thresholds.map((x) => {
      const last = new Int32Array(D);
      for (let d = 0, at = -1; d < D; d++) last[d] = at = known(d) && rain(d) >= x ? d : at;
      return last;
    });
    const lastMissing = new Int32Array(D);
    for (let d = 0, at = -1; d < D; d++) lastMissing[d] = at = known(d) ? at : d;
    // Seen retrievals: the last at or before d, the first at or after d.
    const value = (d: number) => smap[row + d]!;
    const isSeen = (d: number) => seen[row + d] !== 0 && value(d) === value(d);
    const last = new Int32Array(D);
    for (let d = 0, at = -1; d < D; d++) last[d] = at = isSeen(d) ? d : at;
    const first = new Int32Array(D);
    for (let d = D - 1, at = D; d >= 0; d--) first[d] = at = isSeen(d) ? d : at;
    const means = {
      temperature: meanPrefix(forcing.temperature ?? null, row, D),
      radiation: meanPrefix(forcing.radiation ?? null, row, D),
      pet: forcing.pet
        ? meanPrefix(forcing.pet, row, D)
        : petFromTemperature
          ? meanPrefix(
              Float64Array.from({ length: D }, (_, d) => {
                const t = forcing.temperature![row + d]!;
                return t === t ? oudinPet(t, Number(o.latitude![p]), o.doy![d]!) : NaN;
              }),
              0,
              D,
            )
          : null,
    };
    const [tau, dry, wet] = [drydown.tau[p]!, drydown.dry[p]!, drydown.wet[p]!];

    for (let i = start; i < end; i++) {
      const q = order[i]!;
      const d = day[q]!;
      check(d >= 0 && d < D, `weatherFeatures: day ${d} outside 0..${D - 1}`);
      const g0 = o.gapStart ? o.gapStart[q]! : -1;
      const [before, after] = g0 >= 0 ? [g0, o.gapEnd![q]!] : [d, d];
      const prev = before > 0 ? last[Math.min(D, before) - 1]! : -1;
      const next = after < D - 1 ? first[Math.max(-1, after) + 1]! : D;
      const f = q * nF;
      // Interval sums over days a+1..b, NaN when one of them is missing.
      const over = (s: Float64Array, a: number, b: number) => (missing[b + 1]! - missing[a + 1]! > 0 ? NaN : s[b + 1]! - s[a + 1]!);
      if (prev >= 0) {
        out[f + col.wx_precip_since_prev!] = over(sumP, prev, d);
        out[f + col.wx_rain_days_since_prev!] = over(rainDays, prev, d);
        if (tau === tau) out[f + col.wx_prev_drydown!] = dry + (value(prev) - dry) * Math.exp(-(d - prev) / tau);
        for (const [name, m] of Object.entries(means)) if (m) out[f + col[`wx_${name}_mean_since_prev`]!] = meanOver(m, prev, d);
      }
      if (next < D) {
        out[f + col.wx_precip_until_next!] = over(sumP, d, next);
        out[f + col.wx_rain_days_until_next!] = over(rainDays, d, next);
        if (tau === tau) out[f + col.wx_next_drydown!] = Math.min(wet, dry + (value(next) - dry) * Math.exp((next - d) / tau));
      }
      thresholds.forEach((x, t) => {
        const r = lastRain[t]![d]!;
        if (r >= 0 && r > lastMissing[d]!) out[f + col[`wx_days_since_rain_${x}mm`]!] = d - r;
      });
      if (d - window + 1 >= 0 && missing[d + 1]! - missing[d - window + 1]! === 0) {
        let api = 0;
        for (let n = 0; n < window; n++) api += weights[n]! * rain(d - n);
        out[f + col.wx_api!] = api;
      }
    }
    start = end;
  }
  return out;
}
