import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { fromFile } from "geotiff";
import { Ease2Grid, type BBox } from "../../src/grid/ease2.js";
import { planRegrid, type Resampling } from "../../src/grid/regrid.js";
import { terrain, aspectDegrees } from "../../src/grid/terrain.js";
import { openRaster, type RasterAxes } from "../../src/io/raster-source.js";
import { realFile, tempDir } from "../helpers.js";

const g9 = Ease2Grid.of("9km");

function hasGdal(): boolean {
  return spawnSync("gdalwarp", ["--version"]).status === 0;
}

/** Our regridding and gdalwarp's on the same EASE-2 window: RMSE / range and NaN agreement. */
async function againstGdal(file: string, variable: string, bbox: BBox, method: Resampling, step = 0) {
  const w = g9.windowFromBBox(bbox);
  const src = await openRaster(file, { variable });
  const plan = planRegrid(src, g9, w, method, { file, variable });
  const ours = plan.apply(await src.read(step, step + 1, plan.y0, plan.y1, plan.x0, plan.x1));
  src.close();
  const xmin = g9.colToX(w.col0) - g9.cellSize / 2;
  const xmax = g9.colToX(w.col0 + w.ncols - 1) + g9.cellSize / 2;
  const ymax = g9.rowToY(w.row0) + g9.cellSize / 2;
  const ymin = g9.rowToY(w.row0 + w.nrows - 1) - g9.cellSize / 2;
  const out = path.join(tempDir(), "gdal.tif");
  // GDAL exposes time steps as bands; pick the step into a VRT (gdalwarp 3.6 has no -b).
  const vrt = path.join(path.dirname(out), "step.vrt");
  execFileSync("gdal_translate", ["-q", "-of", "VRT", "-b", String(step + 1), `NETCDF:"${file}":${variable}`, vrt], { stdio: "pipe" });
  const input = vrt;
  execFileSync(
    "gdalwarp",
    [
      "-q",
      "-overwrite",
      "-s_srs",
      "EPSG:4326",
      "-t_srs",
      "EPSG:6933",
      "-te",
      xmin,
      ymin,
      xmax,
      ymax,
      "-ts",
      w.ncols,
      w.nrows,
      "-r",
      method,
      "-dstnodata",
      "nan",
      input,
      out,
    ].map(String),
    { stdio: "pipe" },
  );
  const theirs = (await (await (await fromFile(out)).getImage()).readRasters())[0] as Float32Array;
  let se = 0;
  let n = 0;
  let lo = Infinity;
  let hi = -Infinity;
  let nanMismatch = 0;
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]!;
    const b = theirs[i]!;
    if (Number.isNaN(a) !== Number.isNaN(b)) nanMismatch++;
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    se += (a - b) ** 2;
    n++;
    lo = Math.min(lo, b);
    hi = Math.max(hi, b);
  }
  return { relativeRmse: Math.sqrt(se / n) / (hi - lo), n, nanMismatch, cells: ours.length };
}

const cases: [string, string, string, BBox, Resampling, number][] = [
  [
    "ERA5-Land swvl1 0.1 deg, hourly (step 12), average",
    realFile("pakistan_2020", "era5_land", "ERA5_Pakistan_20200101_20200131.nc"),
    "swvl1",
    { south: 25.2, north: 28.3, west: 67.2, east: 72.8 },
    "average",
    12,
  ],
  [
    "ERA5-Land swvl1 0.1 deg, bilinear",
    realFile("pakistan_2020", "era5_land", "ERA5_Pakistan_20200101_20200131.nc"),
    "swvl1",
    { south: 25.2, north: 28.3, west: 67.2, east: 72.8 },
    "bilinear",
    12,
  ],
  [
    "ERA5 land mask 0.1 deg (longitudes 0..360) across the prime meridian, average",
    realFile("predictors", "era5", "landmask_0.1_0.1.nc"),
    "land",
    { south: 35, north: 45, west: -10, east: 10 },
    "average",
    0,
  ],
  [
    "ESA CCI SM 0.25 deg with gaps, bilinear",
    realFile("predictors", "esa_cci_sm", "ESACCI-SOILMOISTURE-L3S-SSMV-PASSIVE-20161227000000-fv04.2.nc"),
    "sm",
    { south: -35, north: -15, west: 120, east: 145 },
    "bilinear",
    0,
  ],
  [
    "GLDAS-2.1 0.25 deg, bilinear",
    realFile("predictors", "gldas21", "GLDAS_NOAH025_3H.A20160101.0300.021.nc4"),
    "SoilMoi0_10cm_inst",
    { south: 25, north: 45, west: -110, east: -80 },
    "bilinear",
    0,
  ],
  [
    "GLDAS-2.1 0.25 deg, average",
    realFile("predictors", "gldas21", "GLDAS_NOAH025_3H.A20160101.0300.021.nc4"),
    "SoilMoi0_10cm_inst",
    { south: 25, north: 45, west: -110, east: -80 },
    "average",
    0,
  ],
];

for (const [name, file, variable, bbox, method, step] of cases) {
  test(`golden: ${name} agrees with gdalwarp -t_srs EPSG:6933 within 1 % RMSE of the range`, async (t) => {
    if (!hasGdal()) {
      if (process.env.CI) assert.fail("CI must have gdal-bin (.ci/run installs it)");
      t.skip("gdal-bin not installed");
      return;
    }
    const r = await againstGdal(file, variable, bbox, method, step);
    assert.ok(r.n > 1000, `only ${r.n} cells compared`);
    assert.ok(r.relativeRmse < 0.01, `relative RMSE ${r.relativeRmse}`);
    assert.ok(r.nanMismatch <= 0.001 * r.cells, `${r.nanMismatch} cells missing on one side only`);
  });
}

/** A synthetic lat/lon source. */
function source(lon0: number, lon1: number, lat0: number, lat1: number, step: number, f: (lat: number, lon: number) => number) {
  const xs = Float64Array.from({ length: Math.round((lon1 - lon0) / step) }, (_, j) => lon0 + (j + 0.5) * step);
  const ys = Float64Array.from({ length: Math.round((lat1 - lat0) / step) }, (_, i) => lat1 - (i + 0.5) * step);
  const data = new Float32Array(xs.length * ys.length);
  ys.forEach((lat, i) => xs.forEach((lon, j) => (data[i * xs.length + j] = f(lat, lon))));
  return { axes: { crs: "EPSG:4326", xs, ys } as RasterAxes, data };
}

test("property: a constant field stays constant under every method", () => {
  const s = source(100, 104, 30, 34, 0.05, () => 0.25);
  const w = g9.windowFromBBox({ south: 31, north: 33, west: 101, east: 103 });
  for (const method of ["average", "bilinear", "nearest"] as Resampling[]) {
    const plan = planRegrid(s.axes, g9, w, method);
    const sub = cut(s, plan);
    assert.ok(
      plan.apply(sub).every((v) => Math.abs(v - 0.25) < 1e-6),
      method,
    );
  }
});

test("property: bilinear reproduces a field linear in lat and lon at the cell centres", () => {
  const f = (lat: number, lon: number) => 2 * lat - 0.5 * lon;
  const s = source(100, 104, 30, 34, 0.25, f);
  const w = g9.windowFromBBox({ south: 31, north: 33, west: 101, east: 103 });
  const plan = planRegrid(s.axes, g9, w, "bilinear");
  const out = plan.apply(cut(s, plan));
  for (let i = 0; i < w.nrows; i++) {
    for (let j = 0; j < w.ncols; j++) {
      const expected = f(g9.rowLatitude(w.row0 + i), g9.colLongitude(w.col0 + j));
      assert.ok(Math.abs(out[i * w.ncols + j]! - expected) < 1e-4);
    }
  }
});

test("property: area-weighted averaging conserves the area integral; fractions sum to one", () => {
  const s = source(100, 104, 30, 34, 0.01, (lat, lon) => Math.sin(lat * 7) + Math.cos(lon * 5));
  const w = g9.windowFromBBox({ south: 31, north: 33, west: 101, east: 103 });
  const plan = planRegrid(s.axes, g9, w, "average");
  const out = plan.apply(cut(s, plan));
  // Integral over the window: sum of target means x cell areas = integral of the source.
  const b = g9.windowBBox(w);
  let sourceIntegral = 0;
  let sourceArea = 0;
  s.axes.ys.forEach((lat, i) =>
    s.axes.xs.forEach((lon, j) => {
      if (lat < b.south || lat > b.north || lon < b.west || lon > b.east) return;
      const area = Math.cos((lat * Math.PI) / 180);
      sourceIntegral += area * s.data[i * s.axes.xs.length + j]!;
      sourceArea += area;
    }),
  );
  const targetMean = out.reduce((a, v) => a + v, 0) / out.length; // EASE-2 cells have equal areas
  // Equal up to the source cells that straddle the window's edge (counted whole on the source side).
  assert.ok(Math.abs(targetMean - sourceIntegral / sourceArea) < 5e-3, `${targetMean} vs ${sourceIntegral / sourceArea}`);

  const classes = source(100, 104, 30, 34, 0.01, (lat, lon) => (lat + lon > 134 ? 12 : lat > 32 ? 5 : 10));
  const cplan = planRegrid(classes.axes, g9, w, "fractions");
  const fr = cplan.applyFractions(cut(classes, cplan), [5, 10, 12]);
  for (let k = 0; k < cplan.size; k++) assert.ok(Math.abs(fr[0]![k]! + fr[1]![k]! + fr[2]![k]! - 1) < 1e-6); // float32 outputs
  assert.ok(
    fr[2]!.some((v) => v > 0 && v < 1),
    "cells on a class boundary get partial fractions",
  );
});

test("a grid that does not cover the region is an error naming the file and both extents", async () => {
  const file = realFile("pakistan_2020", "era5_land", "ERA5_Pakistan_20200101_20200131.nc");
  const src = await openRaster(file, { variable: "swvl1" });
  const w = g9.windowFromBBox({ south: 30, north: 32, west: 67, east: 73 });
  assert.throws(
    () => planRegrid(src, g9, w, "bilinear", { file, variable: "swvl1" }),
    /ERA5_Pakistan_20200101_20200131\.nc: swvl1: the grid \(lat 24\.95\.\.28\.55 deg, lon 66\.95\.\.73\.05 deg\) does not cover the region/,
  );
  src.close();
});

test("slope and aspect (Horn) on a tilted plane, and circular aspect averaging", () => {
  // A plane rising 100 m per km towards the east on a metric grid: slope atan(0.1), facing west.
  const xs = Float64Array.from({ length: 5 }, (_, j) => j * 1000);
  const ys = Float64Array.from({ length: 5 }, (_, i) => 4000 - i * 1000);
  const dem = Float32Array.from({ length: 25 }, (_, k) => (k % 5) * 100);
  const t = terrain(dem, xs, ys, false);
  assert.ok(Math.abs(t.slope[12]! - (Math.atan(0.1) * 180) / Math.PI) < 1e-4);
  assert.ok(Math.abs(aspectDegrees(t.aspectSin[12]!, t.aspectCos[12]!) - 270) < 1e-6);
  // Rising towards the south: faces north (0 deg); the mean of 350 and 10 deg is 0, not 180.
  const north = terrain(
    Float32Array.from({ length: 25 }, (_, k) => Math.floor(k / 5) * 100),
    xs,
    ys,
    false,
  );
  assert.ok(Math.abs(aspectDegrees(north.aspectSin[12]!, north.aspectCos[12]!)) < 1e-6);
  const s = Math.sin((350 * Math.PI) / 180) + Math.sin((10 * Math.PI) / 180);
  const c = Math.cos((350 * Math.PI) / 180) + Math.cos((10 * Math.PI) / 180);
  assert.ok(Math.abs(aspectDegrees(s, c)) < 1e-9 || Math.abs(aspectDegrees(s, c) - 360) < 1e-9);
});

function cut(s: { axes: RasterAxes; data: Float32Array }, plan: { y0: number; y1: number; x0: number; x1: number }): Float32Array {
  const nx = s.axes.xs.length;
  const out = new Float32Array((plan.y1 - plan.y0) * (plan.x1 - plan.x0));
  let k = 0;
  for (let i = plan.y0; i < plan.y1; i++) for (let j = plan.x0; j < plan.x1; j++) out[k++] = s.data[i * nx + j]!;
  return out;
}
