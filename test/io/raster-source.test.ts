import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { NetCDFReader } from "netcdfjs";
import { openRaster } from "../../src/io/raster-source.js";
import { cfTimeConverter } from "../../src/io/cf-time.js";
import { unitConversion, normaliseUnit } from "../../src/io/units.js";
import { debianPython, realFile, runPythonJson } from "../helpers.js";

const ctx = { file: "f.nc", variable: "time" };

test("CF time units as real products write them", () => {
  assert.equal(new Date(cfTimeConverter("hours since 1900-01-01 00:00:0.0", "gregorian", ctx)(1052040)).toISOString(), "2020-01-07T00:00:00.000Z");
  assert.equal(new Date(cfTimeConverter(" minutes since 2000-01-01 03:00:00", undefined, ctx)(0)).toISOString(), "2000-01-01T03:00:00.000Z");
  assert.equal(new Date(cfTimeConverter("seconds since 1970-01-01 00:00:00 UTC", "julian", ctx)(1579374000)).toISOString(), "2020-01-18T19:00:00.000Z");
  assert.equal(new Date(cfTimeConverter("days since 1970-01-01T00:00:00Z", "proleptic_gregorian", ctx)(18262.5)).toISOString(), "2020-01-01T12:00:00.000Z");
  assert.equal(new Date(cfTimeConverter("hours since 2000-01-01 00:00 +05:00", "standard", ctx)(5)).toISOString(), "2000-01-01T00:00:00.000Z");
  assert.throws(() => cfTimeConverter("fortnights since 2000-01-01", undefined, ctx), /time unit 'fortnights' is not known/);
  assert.throws(() => cfTimeConverter("level", undefined, ctx), /f\.nc: time: time units 'level' are not CF/);
  assert.throws(() => cfTimeConverter("days since 2000-01-01", "360_day", ctx), /calendar '360_day' is not supported/);
});

test("units: aliases and conversions; unknown ones name the fix", () => {
  assert.equal(normaliseUnit("m**3 m**-3"), "m3 m-3");
  assert.equal(normaliseUnit("cm**3/cm**3"), "m3 m-3");
  assert.deepEqual(unitConversion("K", "degC", {}), { scale: 1, offset: -273.15 });
  assert.deepEqual(unitConversion("mm/hr", "mm d-1", {}), { scale: 24, offset: 0 });
  assert.deepEqual(unitConversion("percent", "1", {}), { scale: 0.01, offset: 0 });
  assert.deepEqual(unitConversion("m**3 m**-3", "m3 m-3", {}), { scale: 1, offset: 0 });
  assert.throws(
    () => unitConversion("furlong", "m", { file: "a.nc", variable: "v" }),
    /a\.nc: v: cannot convert 'furlong' to 'm'. Known: .*or give scale and offset/,
  );
});

test("real NetCDF-4 products open with their axes, times and fill values", async () => {
  const cci = await openRaster(realFile("predictors", "esa_cci_sm", "ESACCI-SOILMOISTURE-L3S-SSMV-PASSIVE-20161227000000-fv04.2.nc"), { variable: "sm" });
  assert.deepEqual([cci.ys.length, cci.xs.length, cci.ys[0], cci.xs[0]], [720, 1440, 89.875, -179.875]);
  assert.equal(new Date(cci.times![0]!).toISOString(), "2016-12-27T00:00:00.000Z");
  const all = await cci.read(0, 1, 0, 720, 0, 1440);
  const valid = all.filter((v) => !Number.isNaN(v));
  assert.ok(valid.length / all.length > 0.04 && valid.length / all.length < 0.08, "about 5.7 % valid, as the data README says");
  assert.ok(valid.every((v) => v >= 0 && v < 1));
  cci.close();

  const gldas = await openRaster(realFile("predictors", "gldas21", "GLDAS_NOAH025_3H.A20160101.0300.021.nc4"), { variable: "SoilMoi0_10cm_inst" });
  assert.equal(new Date(gldas.times![0]!).toISOString(), "2016-01-01T03:00:00.000Z");
  assert.deepEqual([gldas.ys[0], gldas.ys.length], [-59.875, 600]);
  gldas.close();

  const land = await openRaster(realFile("predictors", "era5", "landmask_0.1_0.1.nc"), { variable: "land" });
  assert.equal(land.times, undefined);
  assert.deepEqual([land.xs[0], land.ys[0], land.ys.length], [0, 90, 1801]);
  land.close();

  const era5land = await openRaster(realFile("pakistan_2020", "era5_land", "ERA5_Pakistan_20200101_20200131.nc"), { variable: "swvl1" });
  assert.equal(era5land.times!.length, 744);
  assert.equal(new Date(era5land.times![743]!).toISOString(), "2020-01-31T23:00:00.000Z");
  assert.equal(era5land.units, "m**3 m**-3");
  era5land.close();
});

test("GPM IMERG (time, lon, lat order) is transposed to [y][x]; h5py agrees value by value", async (t) => {
  const file = realFile("predictors", "gpm_imerg", "hoss_bounds_reference.nc4");
  const imerg = await openRaster(file, { variable: "Grid/precipitationCal" });
  assert.equal(new Date(imerg.times![0]!).toISOString(), "2020-01-18T19:00:00.000Z");
  const grid = await imerg.read(0, 1, 0, imerg.ys.length, 0, imerg.xs.length);
  const python = debianPython("h5py", "numpy");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have python3-h5py");
    t.skip("no Debian python3-h5py");
    return;
  }
  const out = runPythonJson(python, "h5py_read.py", [file, "Grid/precipitationCal"]);
  const raw = out["Grid/precipitationCal"];
  assert.deepEqual(raw.shape, [1, imerg.xs.length, imerg.ys.length]);
  for (let y = 0; y < imerg.ys.length; y += 7) {
    for (let x = 0; x < imerg.xs.length; x += 11) {
      const v = raw.values[x * imerg.ys.length + y];
      const ours = grid[y * imerg.xs.length + x]!;
      if (v === null || v < -9999) assert.ok(Number.isNaN(ours));
      else assert.ok(Math.abs(ours - v) < 1e-6, `(${y}, ${x}) ${ours} vs ${v}`);
    }
  }
});

test("classic NetCDF-3 ERA5 with int16 packing unpacks as value * scale_factor + add_offset", async () => {
  const file = realFile("predictors", "era5", "example_downloaded_raw.nc");
  const era5 = await openRaster(file, { variable: "swvl1" });
  assert.equal(era5.times!.length, 4);
  assert.equal(new Date(era5.times![2]!).toISOString(), "2010-01-01T12:00:00.000Z");
  const ours = await era5.read(1, 2, 0, 37, 0, 72);
  const reader = new NetCDFReader(fs.readFileSync(file));
  const raw = (reader.getDataVariable("swvl1") as number[][]).flat();
  const v = reader.variables.find((x) => x.name === "swvl1")! as unknown as { attributes: { name: string; value: unknown }[] };
  const attr = (n: string) => Number(v.attributes.find((a) => a.name === n)!.value);
  for (let k = 0; k < 37 * 72; k += 13) {
    const packed = raw[37 * 72 + k]!;
    const expected = packed === -32767 ? NaN : packed * attr("scale_factor") + attr("add_offset");
    assert.ok(Object.is(ours[k], Math.fround(expected)) || Math.abs(ours[k]! - expected) < 1e-6);
  }
  const valid = ours.filter((x) => !Number.isNaN(x));
  // int16 packing leaves small negative values over water (-0.003): real ERA5 behaviour.
  assert.ok(valid.length > 100 && valid.every((x) => x > -0.01 && x < 0.8));
});

test("unreadable predictors: HDF4, missing variable, missing file", async () => {
  await assert.rejects(() => openRaster(realFile("predictors", "modis", "mod11a1.hdf"), { variable: "LST_Day_1km" }), /mod11a1\.hdf: is HDF4.*gdal_translate/);
  await assert.rejects(
    () => openRaster(realFile("pakistan_2020", "era5_land", "ERA5_Pakistan_20200101_20200131.nc"), { variable: "t2m" }),
    /ERA5_Pakistan_20200101_20200131\.nc: t2m: dataset not found. The file has: .*swvl1/,
  );
  await assert.rejects(
    () => openRaster(realFile("predictors", "era5", "example_downloaded_raw.nc"), { variable: "t2m" }),
    /example_downloaded_raw\.nc: t2m: variable not found. The file has: longitude, latitude, time, swvl1, lsm/,
  );
  await assert.rejects(() => openRaster("/nonexistent.nc", { variable: "x" }), /\/nonexistent\.nc: file not found/);
});
