/**
 * The synthetic world: a physically plausible region on the EASE-2 grid, simulated day by day,
 * used by the demo and the tests in place of data that cannot be shipped. Everything a real
 * study has is here, with a known truth behind it:
 *
 *  - static fields: land mask, terrain (elevation, slope), soil texture (sand, clay) and the
 *    hydraulic limits it implies, land cover fractions (forest, cropland, grassland, barren)
 *    and a climate (mean annual precipitation, mean temperature and its seasonal amplitude);
 *  - weather: air temperature with a seasonal cycle and synoptic anomalies, precipitation from
 *    moving Gaussian storms with a summer-monsoon seasonality, snow, clouds;
 *  - land surface: a 5 cm soil-water bucket (infiltration with saturation-excess runoff,
 *    evapotranspiration limited by soil moisture, drainage above field capacity, exchange with
 *    a slow deeper store, freezing), vegetation greenness lagging temperature and moisture
 *    (NDVI), and a land surface temperature that rises as the surface dries;
 *  - SMAP-like retrievals for the 6 am (AM) and 6 pm (PM) passes: truth + per-pixel bias + slow
 *    AR(1) error + noise (larger under forest), missing where SMAP misses: outside the swaths
 *    (about 1000 km wide, an 8-day repeat, so a 2-3 day revisit), on frozen or snow-covered
 *    ground (flag: not attempted), over dense vegetation (kept, flagged not recommended) and
 *    under radio-frequency interference (random and at persistent hot spots), with the
 *    retrieval_qual_flag and surface_flag the real products write for each case;
 *  - ISMN-like stations: pixel truth + a sub-pixel representativeness error (station bias and a
 *    slow anomaly) + sensor noise, hourly, at 5 cm and 20 cm.
 *
 * All randomness comes from one seed; a world is reproduced exactly by its config.
 */
import { Ease2Grid, type BBox, type Resolution, type Window } from "../grid/ease2.js";
import { dayOfYear, formatDay, parseDay } from "../util/dates.js";
import { SmapfillError } from "../util/errors.js";
import { Rng, deriveSeed } from "../util/random.js";
import { clamp, fractalField, logistic, quantile } from "./fields.js";
import type { Pass } from "../io/smap-l3.js";
import { FLAG_FILL_VALUE, FLAG_NOT_ATTEMPTED, FLAG_NOT_RECOMMENDED, FLAG_NOT_SUCCESSFUL, SURFACE_BITS, SURFACE_FLAG_NOT_IN_SWATH } from "../io/smap-flags.js";

export interface WorldConfig {
  seed: number;
  resolution: Extract<Resolution, "9km" | "36km">;
  bbox: BBox;
  /** First day, YYYY-MM-DD. */
  start: string;
  days: number;
  stations: number;
  /** Share of the region that is land (the rest is open water), 0 < f <= 1. */
  landFraction: number;
}

export type WorldPreset = "test" | "demo" | "china";

export const WORLD_PRESETS: Record<WorldPreset, WorldConfig> = {
  // Seconds: a corner of the Loess Plateau, six weeks of spring thaw.
  test: {
    seed: 1,
    resolution: "9km",
    bbox: { south: 36.0, north: 37.2, west: 106.0, east: 107.7 },
    start: "2019-03-01",
    days: 45,
    stations: 4,
    landFraction: 1,
  },
  // The demo: Loess Plateau, a full year with frozen winters and a summer monsoon.
  demo: {
    seed: 1,
    resolution: "9km",
    bbox: { south: 34.5, north: 38.0, west: 105.0, east: 110.0 },
    start: "2019-01-01",
    days: 365,
    stations: 10,
    landFraction: 1,
  },
  // China-sized: about 120 000 land pixels at 9 km, 2016-2022 (the paper's product period).
  china: {
    seed: 1,
    resolution: "9km",
    bbox: { south: 18.0, north: 54.0, west: 73.0, east: 135.0 },
    start: "2016-01-01",
    days: 2557,
    stations: 60,
    landFraction: 0.42,
  },
};

/** Land cover classes written to the land cover raster (IGBP codes). */
export const LAND_COVER_CLASSES = { forest: 5, grassland: 10, cropland: 12, barren: 16, water: 17 } as const;

export interface StaticFields {
  land: Uint8Array;
  elevation: Float32Array;
  slope: Float32Array;
  sand: Float32Array;
  clay: Float32Array;
  porosity: Float32Array;
  fieldCapacity: Float32Array;
  wiltingPoint: Float32Array;
  forest: Float32Array;
  cropland: Float32Array;
  grassland: Float32Array;
  barren: Float32Array;
  landCover: Uint8Array;
  annualPrecipitation: Float32Array;
  meanTemperature: Float32Array;
}

export interface Station {
  id: string;
  /** Cell-local index of the pixel that contains it. */
  pixel: number;
  lat: number;
  lon: number;
  elevation: number;
  bias: number;
}

export interface SmapPassSimulated {
  values: Float32Array;
  /** retrieval_qual_flag. */
  flags: Uint16Array;
  surface: Uint16Array;
}

const surfaceBit = (name: keyof typeof SURFACE_BITS) => 1 << SURFACE_BITS[name];

export interface WorldDay {
  t: number;
  date: string;
  /** True 0-5 cm soil moisture, m3/m3 (NaN over water). */
  soilMoisture: Float32Array;
  precipitation: Float32Array;
  airTemperature: Float32Array;
  /** Daytime land surface temperature, K; NaN under clouds. */
  lst: Float32Array;
  /** NDVI; NaN under clouds. */
  ndvi: Float32Array;
  frozen: Uint8Array;
  smap: Record<Pass, SmapPassSimulated>;
  /** Hourly station soil moisture [station][hour] at 5 cm and 20 cm, with ISMN flags. */
  stations: { surface: Float32Array; deep: Float32Array; flags: string[] }[];
}

const LAYER_MM = 50; // 0-5 cm
const MEAN_STORM_PEAK_MM = 14;

export class SyntheticWorld {
  readonly config: WorldConfig;
  readonly grid: Ease2Grid;
  readonly window: Window;
  readonly statics: StaticFields;
  readonly stations: Station[];
  private readonly startDay: number;

  constructor(config: WorldConfig) {
    validateConfig(config);
    this.config = { ...config, bbox: { ...config.bbox } };
    this.grid = Ease2Grid.of(config.resolution);
    this.window = this.grid.windowFromBBox(config.bbox);
    this.startDay = parseDay(config.start);
    this.statics = this.buildStatics();
    this.stations = this.placeStations();
  }

  get size(): number {
    return this.window.nrows * this.window.ncols;
  }

  get landPixels(): number {
    return this.statics.land.reduce((n, v) => n + v, 0);
  }

  dates(): string[] {
    return Array.from({ length: this.config.days }, (_, t) => formatDay(this.startDay + t));
  }

  private rng(label: string): Rng {
    return new Rng(deriveSeed(this.config.seed, label));
  }

  private buildStatics(): StaticFields {
    const { nrows, ncols } = this.window;
    const n = nrows * ncols;
    const km = this.grid.cellSize / 1000;
    const cells = (lengthKm: number) => Math.max(2, lengthKm / km);
    const lats = this.grid.windowLatitudes(this.window);

    const landNoise = fractalField(this.rng("land"), nrows, ncols, cells(900), 5);
    const cut = this.config.landFraction >= 1 ? -Infinity : quantile(landNoise, 1 - this.config.landFraction);
    const land = Uint8Array.from(landNoise, (v) => (v >= cut ? 1 : 0));

    const relief = fractalField(this.rng("relief"), nrows, ncols, cells(120), 5);
    const ridges = fractalField(this.rng("ridges"), nrows, ncols, cells(60), 3);
    const plateau = fractalField(this.rng("plateau"), nrows, ncols, cells(1200), 2);
    const wetness = fractalField(this.rng("wetness"), nrows, ncols, cells(600), 3);
    const sandNoise = fractalField(this.rng("sand"), nrows, ncols, cells(90), 4);
    const clayNoise = fractalField(this.rng("clay"), nrows, ncols, cells(70), 4);
    const coverNoise = [0, 1, 2].map((k) => fractalField(this.rng(`cover${k}`), nrows, ncols, cells(50), 4));

    const elevation = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      elevation[i] = land[i] ? clamp(1300 + 900 * plateau[i]! + 350 * relief[i]! + 250 * Math.abs(ridges[i]!), 0, 6000) : 0;
    }
    const slope = new Float32Array(n);
    const cellM = this.grid.cellSize;
    for (let r = 0; r < nrows; r++) {
      for (let c = 0; c < ncols; c++) {
        const at = (rr: number, cc: number) => elevation[clamp(rr, 0, nrows - 1) * ncols + clamp(cc, 0, ncols - 1)]!;
        const dzdx = (at(r, c + 1) - at(r, c - 1)) / (2 * cellM);
        const dzdy = (at(r + 1, c) - at(r - 1, c)) / (2 * cellM);
        // 9 km cells smooth the terrain: scale the gradient up to the sub-cell relief a DEM shows.
        slope[r * ncols + c] = land[r * ncols + c] ? (Math.atan(6 * Math.hypot(dzdx, dzdy)) * 180) / Math.PI : 0;
      }
    }

    const sand = new Float32Array(n);
    const clay = new Float32Array(n);
    const porosity = new Float32Array(n);
    const fieldCapacity = new Float32Array(n);
    const wiltingPoint = new Float32Array(n);
    const forest = new Float32Array(n);
    const cropland = new Float32Array(n);
    const grassland = new Float32Array(n);
    const barren = new Float32Array(n);
    const landCover = new Uint8Array(n);
    const annualPrecipitation = new Float32Array(n);
    const meanTemperature = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const lat = lats[Math.floor(i / ncols)]!;
      // Wetter to the south and east (monsoon), drier on high plateaus.
      const w = wetness[i]! - 0.04 * (lat - 32) - 0.0003 * (elevation[i]! - 1300);
      annualPrecipitation[i] = 250 + 900 * logistic(1.6 * w);
      meanTemperature[i] = 288.15 - 0.55 * (lat - 32) - 0.0065 * (elevation[i]! - 1000);
      if (!land[i]) {
        landCover[i] = LAND_COVER_CLASSES.water;
        continue;
      }
      sand[i] = clamp(0.15 + 0.55 * logistic(1.3 * sandNoise[i]! - 0.9 * w), 0.05, 0.92);
      clay[i] = clamp((1 - sand[i]!) * (0.15 + 0.45 * logistic(clayNoise[i]! + 0.5 * w)), 0.03, 0.6);
      porosity[i] = 0.5 - 0.13 * sand[i]! + 0.05 * clay[i]!;
      wiltingPoint[i] = 0.03 + 0.3 * clay[i]!;
      fieldCapacity[i] = Math.min(porosity[i]! - 0.06, wiltingPoint[i]! + 0.1 + 0.12 * (1 - sand[i]!));
      const f = logistic(2.2 * w + 0.8 * coverNoise[0]![i]! - 1.2 - 0.0015 * Math.max(0, elevation[i]! - 2800));
      const cr = (1 - f) * logistic(1.4 * w + 0.8 * coverNoise[1]![i]! - 0.15 * slope[i]! + 0.2);
      const ba = (1 - f - cr) * logistic(-2.4 * w + 0.8 * coverNoise[2]![i]! - 1.4);
      forest[i] = f;
      cropland[i] = cr;
      barren[i] = ba;
      grassland[i] = Math.max(0, 1 - f - cr - ba);
      const classes: [number, number][] = [
        [f, LAND_COVER_CLASSES.forest],
        [cr, LAND_COVER_CLASSES.cropland],
        [grassland[i]!, LAND_COVER_CLASSES.grassland],
        [ba, LAND_COVER_CLASSES.barren],
      ];
      landCover[i] = classes.reduce((best, c) => (c[0] > best[0] ? c : best))[1];
    }
    return {
      land,
      elevation,
      slope,
      sand,
      clay,
      porosity,
      fieldCapacity,
      wiltingPoint,
      forest,
      cropland,
      grassland,
      barren,
      landCover,
      annualPrecipitation,
      meanTemperature,
    };
  }

  private placeStations(): Station[] {
    const rng = this.rng("stations");
    const candidates: number[] = [];
    for (let i = 0; i < this.size; i++) if (this.statics.land[i] && this.statics.barren[i]! < 0.5) candidates.push(i);
    rng.shuffle(candidates);
    return candidates.slice(0, this.config.stations).map((pixel, k) => {
      const r = Math.floor(pixel / this.window.ncols);
      const c = pixel % this.window.ncols;
      const b = this.grid.cellBounds(this.window.row0 + r, this.window.col0 + c);
      // A random point inside the cell: stations are not at pixel centres.
      const lat = b.south + (b.north - b.south) * rng.between(0.1, 0.9);
      const lon = b.west + (b.east - b.west) * rng.between(0.1, 0.9);
      return {
        id: `S${String(k + 1).padStart(3, "0")}`,
        pixel,
        lat,
        lon,
        elevation: this.statics.elevation[pixel]! + 40 * rng.normal(),
        bias: 0.035 * rng.normal(),
      };
    });
  }

  /** Simulates the world day by day; each yielded day is fresh arrays the caller may keep. */
  *simulate(): Generator<WorldDay> {
    const { nrows, ncols } = this.window;
    const n = this.size;
    const s = this.statics;
    const cfg = this.config;
    const lats = this.grid.windowLatitudes(this.window);
    const lons = this.grid.windowLongitudes(this.window);
    const km = this.grid.cellSize / 1000;

    const weather = this.rng("weather");
    const retrieval = this.rng("retrieval");
    const stationRng = this.rng("station-noise");

    // State.
    const theta = new Float32Array(n);
    const thetaDeep = new Float32Array(n);
    const snow = new Float32Array(n);
    const green = new Float32Array(n);
    const t30 = new Float32Array(n);
    const soilTemp = new Float32Array(n);
    const smapError = new Float32Array(n);
    const smapBias = new Float32Array(n);
    const rfiHotspot = new Uint8Array(n);
    const biasField = fractalField(this.rng("smap-bias"), nrows, ncols, Math.max(2, 40 / km), 3);
    for (let i = 0; i < n; i++) {
      theta[i] = s.land[i] ? 0.5 * (s.fieldCapacity[i]! + s.wiltingPoint[i]!) + 0.05 : NaN;
      thetaDeep[i] = theta[i]!;
      t30[i] = s.meanTemperature[i]!;
      soilTemp[i] = s.meanTemperature[i]!;
      green[i] = 0.3;
      smapBias[i] = 0.018 * biasField[i]! + 0.01 * retrieval.normal() + 0.015 * s.forest[i]!;
      rfiHotspot[i] = retrieval.uniform() < 0.01 ? 1 : 0;
    }
    const stationAnomaly = new Float64Array(this.stations.length);

    // Storm density (per cell per day) that yields the mean annual precipitation on average.
    const meanRadiusCells = 35 / km;
    const meanSeason = 0.4 + 1.3 * Math.sqrt(Math.PI) * (55 / 365); // mean of the seasonality below over a year
    const stormsPerCellDay = 600 / (365 * MEAN_STORM_PEAK_MM * 2 * Math.PI * 2 * meanRadiusCells * meanRadiusCells * meanSeason);
    const wetScale = new Float32Array(n);
    for (let i = 0; i < n; i++) wetScale[i] = s.annualPrecipitation[i]!;
    const previousDayTheta = new Float32Array(theta);

    for (let t = 0; t < cfg.days; t++) {
      const day = this.startDay + t;
      const doy = dayOfYear(day);
      const season = 0.4 + 1.3 * Math.exp(-(((doy - 205) / 55) ** 2));
      const warm = Math.cos((2 * Math.PI * (doy - 200)) / 365.25);

      // Weather: synoptic temperature anomaly, storms, clouds.
      const anomaly = fractalField(weather, nrows, ncols, Math.max(2, 700 / km), 2);
      const cloudField = fractalField(weather, nrows, ncols, Math.max(2, 150 / km), 3);
      const precipitation = new Float32Array(n);
      const storms = weather.poisson(stormsPerCellDay * season * (nrows + 10) * (ncols + 10));
      for (let k = 0; k < storms; k++) {
        const cr = weather.between(-5, nrows + 5);
        const cc = weather.between(-5, ncols + 5);
        const radius = Math.max(1, weather.exponential(meanRadiusCells));
        const peak = weather.exponential(MEAN_STORM_PEAK_MM);
        const reach = Math.ceil(3 * radius);
        for (let r = Math.max(0, Math.floor(cr - reach)); r < Math.min(nrows, Math.ceil(cr + reach)); r++) {
          for (let c = Math.max(0, Math.floor(cc - reach)); c < Math.min(ncols, Math.ceil(cc + reach)); c++) {
            const d2 = (r - cr) ** 2 + (c - cc) ** 2;
            precipitation[r * ncols + c]! += peak * Math.exp(-d2 / (2 * radius * radius));
          }
        }
      }
      const airTemperature = new Float32Array(n);
      const lst = new Float32Array(n);
      const ndvi = new Float32Array(n);
      const frozen = new Uint8Array(n);
      const soilMoisture = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const lat = lats[Math.floor(i / ncols)]!;
        const amplitude = 9 + 0.35 * Math.max(0, lat - 20);
        precipitation[i] = precipitation[i]! * (wetScale[i]! / 600);
        const tair = s.meanTemperature[i]! + amplitude * warm + 3.5 * anomaly[i]!;
        airTemperature[i] = tair;
        if (!s.land[i]) {
          soilMoisture[i] = NaN;
          lst[i] = NaN;
          ndvi[i] = NaN;
          continue;
        }
        // Snow and freezing.
        let liquid = precipitation[i]!;
        if (tair < 273.15) {
          snow[i]! += liquid;
          liquid = 0;
        } else if (snow[i]! > 0) {
          const melt = Math.min(snow[i]!, 4 * (tair - 273.15));
          snow[i]! -= melt;
          liquid += melt;
        }
        soilTemp[i] = 0.75 * soilTemp[i]! + 0.25 * tair;
        const isFrozen = soilTemp[i]! < 272.65 || snow[i]! > 5;
        frozen[i] = isFrozen ? 1 : 0;
        t30[i] = t30[i]! + (tair - t30[i]!) / 30;

        // Soil water bucket.
        const th = theta[i]!;
        const fc = s.fieldCapacity[i]!;
        const wp = s.wiltingPoint[i]!;
        const sat = s.porosity[i]!;
        const beta = clamp((th - wp) / (fc - wp), 0, 1);
        let next = th;
        if (soilTemp[i]! >= 272.65) {
          const runoff = clamp((th / sat) ** 4 + 0.01 * s.slope[i]!, 0, 0.95);
          const infiltration = Math.min(liquid * (1 - runoff), (sat - th) * LAYER_MM);
          const tc = tair - 273.15;
          const cloudy = precipitation[i]! > 1 ? 0.55 : 1;
          const pet = Math.max(0, 0.17 * (tc + 5)) * (1 + 0.3 * Math.cos((2 * Math.PI * (doy - 172)) / 365.25)) * cloudy;
          const et = pet * beta * (0.35 + 0.65 * green[i]!);
          const drainage = th > fc ? (0.25 + 0.5 * s.sand[i]!) * (th - fc) * LAYER_MM : 0;
          next = th + (infiltration - et - drainage) / LAYER_MM + 0.04 * (thetaDeep[i]! - th);
        }
        next = clamp(next, 0.015, sat);
        theta[i] = next;
        thetaDeep[i] = thetaDeep[i]! + (next - thetaDeep[i]!) / 45;
        soilMoisture[i] = next;

        // Vegetation greenness lags temperature and moisture.
        const moist = clamp((thetaDeep[i]! - wp) / (fc - wp) + 0.25, 0, 1);
        const target = logistic((t30[i]! - 282) / 3) * moist;
        green[i] = green[i]! + (target - green[i]!) / 18;
        const ndviMax = 0.88 * s.forest[i]! + 0.8 * s.cropland[i]! + 0.62 * s.grassland[i]! + 0.2 * s.barren[i]!;
        const ndviMin = 0.08 + 0.25 * s.forest[i]!;
        const cloudy = precipitation[i]! > 2 || cloudField[i]! > 0.9 - 0.5 * (season - 0.4);
        const snowy = snow[i]! > 5;
        ndvi[i] = cloudy ? NaN : snowy ? 0.02 + 0.05 * weather.uniform() : ndviMin + (ndviMax - ndviMin) * green[i]! + 0.02 * weather.normal();
        const dryness = 1 - beta;
        const surfaceLst = tair + 1.5 + 11 * dryness * (1 - 0.6 * green[i]!) + 2.5 * s.barren[i]! + 0.8 * weather.normal();
        lst[i] = cloudy ? NaN : snowy ? Math.min(tair, 273.15) : surfaceLst;
      }

      // SMAP retrievals, AM (6 am, descending) and PM (6 pm, ascending).
      const smap = {} as Record<Pass, SmapPassSimulated>;
      for (const pass of ["AM", "PM"] as Pass[]) {
        const values = new Float32Array(n).fill(NaN);
        const flags = new Uint16Array(n).fill(FLAG_FILL_VALUE);
        const surface = new Uint16Array(n).fill(FLAG_FILL_VALUE);
        const phase = ((((t * 3) / 8 + (pass === "PM" ? 0.43 : 0)) % 1) + 1) % 1;
        for (let i = 0; i < n; i++) {
          const lat = lats[Math.floor(i / ncols)]!;
          const lon = lons[i % ncols]!;
          // Swaths: ~1000 km wide, adjacent orbits ~24.7 deg of longitude apart, tilted tracks.
          const swathDeg = 1000 / (111.32 * Math.cos((lat * Math.PI) / 180));
          // Descending (AM) and ascending (PM) tracks cross the region at opposite tilts.
          const tilt = pass === "AM" ? 0.35 : -0.35;
          const position = ((((lon + tilt * lat) / 24.66 + phase) % 1) + 1) % 1;
          // The flags as the product writes them (io/smap-flags.ts): outside the swath 7 / 2047,
          // open water skipped, frozen ground and snow skipped, RFI failed without a surface
          // condition, dense vegetation retrieved but not recommended.
          if (position > swathDeg / 24.66) {
            flags[i] = FLAG_NOT_RECOMMENDED | FLAG_NOT_ATTEMPTED | FLAG_NOT_SUCCESSFUL;
            surface[i] = SURFACE_FLAG_NOT_IN_SWATH;
            continue;
          }
          if (!s.land[i]) {
            flags[i] = FLAG_NOT_RECOMMENDED | FLAG_NOT_ATTEMPTED | FLAG_NOT_SUCCESSFUL;
            surface[i] = surfaceBit("static_water_body") | surfaceBit("radar_water_body_detection");
            continue;
          }
          const passTemp = soilTemp[i]! + (pass === "PM" ? 2 : -1);
          if (frozen[i] || passTemp < 273.15) {
            flags[i] = FLAG_NOT_RECOMMENDED | FLAG_NOT_ATTEMPTED | FLAG_NOT_SUCCESSFUL;
            surface[i] = (soilTemp[i]! < 272.65 || passTemp < 273.15 ? surfaceBit("frozen_ground") : 0) | (snow[i]! > 5 ? surfaceBit("snow_or_ice") : 0);
            continue;
          }
          const rfi = rfiHotspot[i] ? 0.4 : 0.015;
          if (retrieval.uniform() < rfi) {
            flags[i] = FLAG_NOT_RECOMMENDED | FLAG_NOT_SUCCESSFUL;
            surface[i] = 0;
            continue;
          }
          const vwc = 9 * s.forest[i]! * green[i]! + 3 * s.cropland[i]! * green[i]!;
          const dense = vwc > 4.5;
          const noise = smapRandomErrorStd(s.forest[i]!, dense);
          const truth = pass === "PM" ? Math.max(0.015, soilMoisture[i]! - 0.004) : 0.5 * (soilMoisture[i]! + previousDayTheta[i]!);
          values[i] = clamp(truth + smapBias[i]! + smapError[i]! + noise * retrieval.normal(), 0.02, 0.6);
          flags[i] = dense ? FLAG_NOT_RECOMMENDED : 0;
          surface[i] = dense ? surfaceBit("dense_vegetation") : 0;
        }
        smap[pass] = { values, flags, surface };
      }
      for (let i = 0; i < n; i++) smapError[i] = 0.95 * smapError[i]! + 0.015 * Math.sqrt(1 - 0.95 * 0.95) * retrieval.normal();
      previousDayTheta.set(theta);

      // Stations: hourly values interpolated through the day, with their own errors.
      const stationDays = this.stations.map((st, k) => {
        const surface = new Float32Array(24);
        const deep = new Float32Array(24);
        const flagsOut: string[] = [];
        stationAnomaly[k] = 0.96 * stationAnomaly[k]! + 0.025 * Math.sqrt(1 - 0.96 * 0.96) * stationRng.normal();
        const start = soilMoisture[st.pixel]!;
        for (let h = 0; h < 24; h++) {
          const v = start + st.bias + stationAnomaly[k]! + 0.008 * stationRng.normal() - 0.004 * Math.cos((2 * Math.PI * (h - 3)) / 24);
          surface[h] = Math.max(0.01, v);
          deep[h] = Math.max(0.01, thetaDeep[st.pixel]! + 0.8 * st.bias + 0.004 * stationRng.normal());
          flagsOut.push(frozen[st.pixel] ? "D02" : surface[h]! > s.porosity[st.pixel]! ? "C03" : "G");
        }
        return { surface, deep, flags: flagsOut };
      });

      yield { t, date: formatDay(day), soilMoisture, precipitation, airTemperature, lst, ndvi, frozen, smap, stations: stationDays };
    }
  }
}

function validateConfig(c: WorldConfig): void {
  const bad = (key: string, why: string) => new SmapfillError(why, { variable: key });
  if (!Number.isInteger(c.seed)) throw bad("seed", "must be a whole number");
  if (c.resolution !== "9km" && c.resolution !== "36km") throw bad("resolution", "must be 9km or 36km");
  if (!Number.isInteger(c.days) || c.days < 1) throw bad("days", "must be a whole number >= 1");
  if (!Number.isInteger(c.stations) || c.stations < 0) throw bad("stations", "must be a whole number >= 0");
  if (!(c.landFraction > 0 && c.landFraction <= 1)) throw bad("landFraction", "must be in (0, 1]");
  parseDay(c.start, "start");
}

/**
 * The standard deviation of a SMAP retrieval's white noise (the part no model can predict: the
 * per-pixel bias and the slow AR(1) error are learnable). Dense vegetation retrievals are flagged
 * not recommended, so a cube of recommended retrievals sees only the first case. Exported so the
 * accuracy bench can state the floor below which no gap filler's RMSE against SMAP can go.
 */
export function smapRandomErrorStd(forest: number, dense = false): number {
  return (0.016 + 0.03 * forest) * (dense ? 1.8 : 1);
}
