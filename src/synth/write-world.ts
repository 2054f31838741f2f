/**
 * Writes a synthetic world to disk in the formats real data come in, so the demo and the tests
 * go through the same readers as a real study:
 *
 *   smap/SMAP_L3_SM_P_E_YYYYMMDD_R19240_001.h5       SPL3SMP_E layout, AM and PM
 *   predictors/meteo/SYN_METEO_YYYYMM.nc4            ERA5-like NetCDF-4: daily precipitation
 *                                                    (mm/day) and air temperature (K) on 0.1 deg,
 *                                                    latitude descending as in ERA5
 *   predictors/lst/SYN_LST_YYYYMM.nc4                MODIS-like daytime LST (K) on 0.05 deg,
 *                                                    NaN under clouds
 *   predictors/ndvi/SYN_NDVI_YYYYMMDD.tif            16-day maximum-value NDVI composites
 *                                                    (MOD13-like periods), GeoTIFF 0.05 deg
 *   predictors/static/{dem,sand,clay,landcover}.tif  GeoTIFFs: DEM with sub-pixel relief,
 *                                                    texture fractions, IGBP land cover classes
 *   ismn/SYNTH/<station>/*.stm                       ISMN 'header+values' files, 5 cm and 20 cm
 *   truth.zarr                                       the true soil moisture and static fields
 *   world.json                                       config, files, stations, summary
 */
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../cube/cube.js";
import { writeSmapL3Granule } from "../io/smap-l3-writer.js";
import { writeNetcdf4 } from "../io/netcdf-writer.js";
import { writeGeoTiff } from "../io/geotiff-writer.js";
import { dayOfYear, parseDay } from "../util/dates.js";
import { SmapfillError } from "../util/errors.js";
import { Rng, deriveSeed } from "../util/random.js";
import { fractalField } from "./fields.js";
import { SyntheticWorld, type WorldConfig, type WorldDay, type Station } from "./world.js";

export interface WrittenWorld {
  directory: string;
  config: WorldConfig;
  window: SyntheticWorld["window"];
  smapDirectory: string;
  truthCube: string;
  stations: (Station & { files: string[] })[];
  files: { granules: number; meteo: string[]; lst: string[]; ndvi: string[]; static: string[] };
}

export interface WriteOptions {
  onDay?: (t: number, days: number) => void;
}

/** A regular lat/lon grid over the world's box plus a margin, cell centres, north row first. */
interface LatLonGrid {
  step: number;
  lats: Float64Array; // descending
  lons: Float64Array;
  /** For each cell, the world pixel it samples (nearest EASE-2 cell, clamped into the window). */
  pixel: Int32Array;
}

function latLonGrid(world: SyntheticWorld, step: number, margin: number): LatLonGrid {
  const b = world.grid.windowBBox(world.window);
  const south = Math.floor((b.south - margin) / step) * step;
  const north = Math.ceil((b.north + margin) / step) * step;
  const west = Math.floor((b.west - margin) / step) * step;
  const east = Math.ceil((b.east + margin) / step) * step;
  const nlat = Math.round((north - south) / step);
  const nlon = Math.round((east - west) / step);
  const lats = Float64Array.from({ length: nlat }, (_, i) => +(north - (i + 0.5) * step).toFixed(6));
  const lons = Float64Array.from({ length: nlon }, (_, j) => +(west + (j + 0.5) * step).toFixed(6));
  const { row0, col0, nrows, ncols } = world.window;
  const pixel = new Int32Array(nlat * nlon);
  for (let i = 0; i < nlat; i++) {
    const [rowRaw] = [world.grid.yToRow(latToY(world, lats[i]!))];
    const r = Math.min(nrows - 1, Math.max(0, rowRaw - row0));
    for (let j = 0; j < nlon; j++) {
      const c = Math.min(ncols - 1, Math.max(0, world.grid.xToCol(lonToX(world, lons[j]!)) - col0));
      pixel[i * nlon + j] = r * ncols + c;
    }
  }
  return { step, lats, lons, pixel };
}

function latToY(world: SyntheticWorld, lat: number): number {
  const rc = world.grid.latLonToRowCol(lat, 0);
  return rc ? world.grid.rowToY(rc[0]) : lat > 0 ? 1e12 : -1e12;
}

function lonToX(world: SyntheticWorld, lon: number): number {
  const rc = world.grid.latLonToRowCol(0, lon);
  return rc ? world.grid.colToX(rc[1]) : lon > 0 ? 1e12 : -1e12;
}

function sample(grid: LatLonGrid, values: Float32Array, land?: Uint8Array): Float32Array {
  const out = new Float32Array(grid.pixel.length);
  for (let k = 0; k < out.length; k++) {
    const p = grid.pixel[k]!;
    out[k] = land && !land[p] ? NaN : values[p]!;
  }
  return out;
}

const latAttrs = { units: "degrees_north", standard_name: "latitude", long_name: "latitude", axis: "Y" };
const lonAttrs = { units: "degrees_east", standard_name: "longitude", long_name: "longitude", axis: "X" };
const timeAttrs = { units: "days since 1970-01-01", standard_name: "time", calendar: "proleptic_gregorian", axis: "T" };

/** Buffers a month of daily fields and writes it as one NetCDF-4 file. */
class MonthlyNetcdf {
  private month = "";
  private days: number[] = [];
  private fields = new Map<string, Float32Array[]>();
  readonly written: string[] = [];

  constructor(
    private readonly directory: string,
    private readonly prefix: string,
    private readonly grid: LatLonGrid,
    private readonly variables: Record<string, Record<string, string | number>>,
    private readonly title: string,
  ) {
    fs.mkdirSync(directory, { recursive: true });
  }

  add(date: string, values: Record<string, Float32Array>): void {
    const month = date.slice(0, 7);
    if (month !== this.month) this.flush();
    this.month = month;
    this.days.push(parseDay(date));
    for (const [name, v] of Object.entries(values)) this.fields.set(name, [...(this.fields.get(name) ?? []), v]);
  }

  flush(): void {
    if (this.days.length === 0) return;
    const file = path.join(this.directory, `${this.prefix}_${this.month.replace("-", "")}.nc4`);
    const size = this.grid.lats.length * this.grid.lons.length;
    writeNetcdf4(file, {
      dimensions: [
        { name: "time", values: Int32Array.from(this.days), attributes: timeAttrs },
        { name: "latitude", values: this.grid.lats, attributes: latAttrs },
        { name: "longitude", values: this.grid.lons, attributes: lonAttrs },
      ],
      variables: Object.entries(this.variables).map(([name, attributes]) => {
        const data = new Float32Array(this.days.length * size);
        this.fields.get(name)!.forEach((day, t) => data.set(day, t * size));
        return { name, dims: ["time", "latitude", "longitude"], data, attributes: { ...attributes, _FillValue: NaN } };
      }),
      attributes: { Conventions: "CF-1.8", title: this.title, source: "smapfill synthetic world (not real data)" },
    });
    this.written.push(file);
    this.days = [];
    this.fields.clear();
  }
}

/** MOD13-style 16-day maximum-value composites (periods start on day of year 1, 17, 33, ...). */
class NdviComposites {
  private periodStart = -1;
  private maximum: Float32Array | undefined;
  readonly written: string[] = [];

  constructor(
    private readonly directory: string,
    private readonly grid: LatLonGrid,
  ) {
    fs.mkdirSync(directory, { recursive: true });
  }

  add(date: string, ndvi: Float32Array): void {
    const day = parseDay(date);
    const start = day - ((dayOfYear(day) - 1) % 16);
    if (start !== this.periodStart) this.flush();
    this.periodStart = start;
    this.maximum ??= new Float32Array(ndvi.length).fill(NaN);
    for (let k = 0; k < ndvi.length; k++) {
      const v = ndvi[k]!;
      if (Number.isFinite(v) && !(this.maximum[k]! >= v)) this.maximum[k] = v;
    }
  }

  flush(): void {
    if (!this.maximum) return;
    const date = new Date(this.periodStart * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "");
    const file = path.join(this.directory, `SYN_NDVI_${date}.tif`);
    const data = Float32Array.from(this.maximum, (v) => (Number.isFinite(v) ? v : -3000));
    writeGeoTiff(file, rasterOn(this.grid, data, -3000));
    this.written.push(file);
    this.maximum = undefined;
  }
}

function rasterOn(grid: LatLonGrid, data: Float32Array | Uint8Array, nodata?: number) {
  return {
    width: grid.lons.length,
    height: grid.lats.length,
    data,
    originX: grid.lons[0]! - grid.step / 2,
    originY: grid.lats[0]! + grid.step / 2,
    pixelWidth: grid.step,
    pixelHeight: grid.step,
    epsg: 4326 as const,
    ...(nodata === undefined ? {} : { nodata }),
  };
}

/** ISMN 'header+values' writer: one file per station and depth, appended day by day. */
class IsmnWriter {
  private readonly fds: number[][] = [];
  private readonly finals: string[][] = [];

  constructor(directory: string, stations: Station[], start: string, end: string) {
    const compact = (d: string) => d.replaceAll("-", "");
    for (const st of stations) {
      const dir = path.join(directory, "SYNTH", st.id);
      fs.mkdirSync(dir, { recursive: true });
      const fds: number[] = [];
      const finals: string[] = [];
      for (const [from, to] of [
        [0, 0.05],
        [0.2, 0.2],
      ] as const) {
        const name = `SYNTH_SYNTH_${st.id}_sm_${from.toFixed(6)}_${to.toFixed(6)}_SynthProbe_${compact(start)}_${compact(end)}.stm`;
        const final = path.join(dir, name);
        const fd = fs.openSync(`${final}.tmp`, "w");
        const header = `${"SYNTH".padEnd(10)} ${"SYNTH".padEnd(15)} ${st.id.padEnd(15)} ${st.lat.toFixed(5).padStart(10)} ${st.lon.toFixed(5).padStart(11)} ${st.elevation.toFixed(2).padStart(8)} ${from.toFixed(2).padStart(7)} ${to.toFixed(2).padStart(7)} SynthProbe\n`;
        fs.writeSync(fd, header);
        fds.push(fd);
        finals.push(final);
      }
      this.fds.push(fds);
      this.finals.push(finals);
    }
  }

  add(date: string, day: WorldDay, outage: boolean[]): void {
    const d = date.replaceAll("-", "/");
    day.stations.forEach((st, k) => {
      if (outage[k]) return;
      for (const [depth, series] of [st.surface, st.deep].entries()) {
        let text = "";
        for (let h = 0; h < 24; h++) {
          text += `${d} ${String(h).padStart(2, "0")}:00 ${series[h]!.toFixed(4).padStart(8)} ${st.flags[h]} M\n`;
        }
        fs.writeSync(this.fds[k]![depth]!, text);
      }
    });
  }

  close(): string[][] {
    this.fds.forEach((fds, k) =>
      fds.forEach((fd, depth) => {
        fs.closeSync(fd);
        fs.renameSync(`${this.finals[k]![depth]!}.tmp`, this.finals[k]![depth]!);
      }),
    );
    return this.finals;
  }
}

/** Simulates the world and writes everything into `directory` (which must not exist or be empty). */
export async function writeWorld(config: WorldConfig, directory: string, options: WriteOptions = {}): Promise<WrittenWorld> {
  if (fs.existsSync(directory) && fs.readdirSync(directory).length > 0) {
    throw new SmapfillError("exists and is not empty", { file: directory, hint: "Give a new directory for the synthetic world" });
  }
  const world = new SyntheticWorld(config);
  const dates = world.dates();
  const s = world.statics;
  const smapDirectory = path.join(directory, "smap");
  const predictors = path.join(directory, "predictors");
  fs.mkdirSync(smapDirectory, { recursive: true });

  const meteoGrid = latLonGrid(world, 0.1, 0.3);
  const modisGrid = latLonGrid(world, 0.05, 0.3);
  const meteo = new MonthlyNetcdf(
    path.join(predictors, "meteo"),
    "SYN_METEO",
    meteoGrid,
    {
      precipitation: { units: "mm d-1", long_name: "daily total precipitation", standard_name: "precipitation_amount" },
      air_temperature: { units: "K", long_name: "daily mean 2 m air temperature", standard_name: "air_temperature" },
    },
    "synthetic ERA5-like daily meteorology",
  );
  const lst = new MonthlyNetcdf(
    path.join(predictors, "lst"),
    "SYN_LST",
    modisGrid,
    {
      lst_day: { units: "K", long_name: "daytime land surface temperature (MODIS-like, clear sky only)", standard_name: "surface_temperature" },
    },
    "synthetic MODIS-like daytime land surface temperature",
  );
  const ndvi = new NdviComposites(path.join(predictors, "ndvi"), modisGrid);
  const staticFiles = writeStatics(world, path.join(predictors, "static"));

  const ismn = new IsmnWriter(path.join(directory, "ismn"), world.stations, dates[0]!, dates.at(-1)!);
  const outageRng = new Rng(deriveSeed(config.seed, "station-outages"));
  const outageLeft = world.stations.map(() => 0);

  const truthCube = path.join(directory, "truth.zarr");
  const truth = await Cube.create(truthCube, {
    resolution: config.resolution,
    window: world.window,
    start: config.start,
    days: config.days,
    variables: [
      { name: "soil_moisture_true", kind: "dynamic", units: "m3 m-3", long_name: "true 0-5 cm soil moisture of the synthetic world" },
      { name: "frozen", kind: "dynamic", units: "1", long_name: "soil frozen or snow covered", dtype: "uint8" },
      ...(
        ["land", "elevation", "slope", "sand", "clay", "porosity", "fieldCapacity", "wiltingPoint", "forest", "cropland", "grassland", "barren"] as const
      ).map((name) => ({
        name,
        kind: "static" as const,
        units: { land: "1", elevation: "m", slope: "degree" }[name as string] ?? "1",
        long_name: `synthetic ${name}`,
      })),
    ],
    attributes: { title: "smapfill synthetic world: truth", world: config },
  });
  for (const name of [
    "land",
    "elevation",
    "slope",
    "sand",
    "clay",
    "porosity",
    "fieldCapacity",
    "wiltingPoint",
    "forest",
    "cropland",
    "grassland",
    "barren",
  ] as const) {
    const v = s[name];
    await truth.writeStatic(name, v instanceof Uint8Array ? Float32Array.from(v) : v);
  }
  const block = truth.chunks.time;
  const n = world.size;
  let truthBlock = new Float32Array(block * n);
  let frozenBlock = new Uint8Array(block * n);
  let blockStart = 0;
  let granules = 0;

  for (const day of world.simulate()) {
    const { t, date } = day;
    writeSmapL3Granule(smapDirectory, {
      grid: world.grid,
      date,
      window: world.window,
      AM: day.smap.AM,
      PM: day.smap.PM,
      attributes: { history: "smapfill synthetic world: NOT a NASA granule", title: "synthetic SPL3SMP_E-layout granule" },
    });
    granules++;
    meteo.add(date, { precipitation: sample(meteoGrid, day.precipitation), air_temperature: sample(meteoGrid, day.airTemperature) });
    lst.add(date, { lst_day: sample(modisGrid, day.lst, s.land) });
    ndvi.add(date, sample(modisGrid, day.ndvi, s.land));
    const outage = world.stations.map((_, k) => {
      if (outageLeft[k]! > 0) {
        outageLeft[k]!--;
        return true;
      }
      if (outageRng.uniform() < 0.01) outageLeft[k] = 2 + outageRng.int(18);
      return false;
    });
    ismn.add(date, day, outage);
    truthBlock.set(day.soilMoisture, (t - blockStart) * n);
    frozenBlock.set(day.frozen, (t - blockStart) * n);
    if (t - blockStart + 1 === block || t === config.days - 1) {
      const len = (t - blockStart + 1) * n;
      await truth.writeBlock("soil_moisture_true", blockStart, truthBlock.subarray(0, len));
      await truth.writeBlock("frozen", blockStart, frozenBlock.subarray(0, len));
      blockStart = t + 1;
      truthBlock = new Float32Array(block * n);
      frozenBlock = new Uint8Array(block * n);
    }
    options.onDay?.(t, config.days);
  }
  meteo.flush();
  lst.flush();
  ndvi.flush();
  const stationFiles = ismn.close();
  await truth.addProvenance("synthesise", { seed: config.seed });

  const written: WrittenWorld = {
    directory,
    config,
    window: world.window,
    smapDirectory,
    truthCube,
    stations: world.stations.map((st, k) => ({ ...st, files: stationFiles[k]! })),
    files: { granules, meteo: meteo.written, lst: lst.written, ndvi: ndvi.written, static: staticFiles },
  };
  const manifest = path.join(directory, "world.json");
  fs.writeFileSync(
    `${manifest}.tmp`,
    JSON.stringify({ ...written, landPixels: world.landPixels, note: "Synthetic data made by smapfill; not real observations." }, null, 2),
  );
  fs.renameSync(`${manifest}.tmp`, manifest);
  return written;
}

function writeStatics(world: SyntheticWorld, directory: string): string[] {
  fs.mkdirSync(directory, { recursive: true });
  const s = world.statics;
  const size = world.window.nrows * world.window.ncols;
  // A 1 km DEM for regional worlds (coarser for continental ones, to keep files small).
  const demStep = size < 20_000 ? 0.01 : 0.05;
  const demGrid = latLonGrid(world, demStep, 0.3);
  const relief = fractalField(new Rng(deriveSeed(world.config.seed, "dem-detail")), demGrid.lats.length, demGrid.lons.length, 12, 4);
  const dem = new Float32Array(demGrid.pixel.length);
  for (let k = 0; k < dem.length; k++) {
    const p = demGrid.pixel[k]!;
    dem[k] = s.land[p] ? Math.max(0, s.elevation[p]! + 120 * relief[k]!) : -32768;
  }
  const textureGrid = latLonGrid(world, 0.05, 0.3);
  const files = [
    ["dem.tif", rasterOn(demGrid, dem, -32768)],
    [
      "sand.tif",
      rasterOn(
        textureGrid,
        sample(textureGrid, s.sand, s.land).map((v) => (Number.isFinite(v) ? v : -1)),
        -1,
      ),
    ],
    [
      "clay.tif",
      rasterOn(
        textureGrid,
        sample(textureGrid, s.clay, s.land).map((v) => (Number.isFinite(v) ? v : -1)),
        -1,
      ),
    ],
    [
      "landcover.tif",
      rasterOn(
        demGrid,
        Uint8Array.from(demGrid.pixel, (p) => s.landCover[p]!),
        255,
      ),
    ],
  ] as const;
  return files.map(([name, raster]) => {
    const file = path.join(directory, name);
    writeGeoTiff(file, raster);
    return file;
  });
}
