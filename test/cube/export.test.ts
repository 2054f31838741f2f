import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Cube } from "../../src/cube/cube.js";
import { Rng } from "../../src/util/random.js";
import { REPO_ROOT, debianPython, runPythonJson, tempDir } from "../helpers.js";

test("smapfill export: a cube wide enough for COG overviews as valid COGs, NetCDF-4 and Zarr v2 with the same values", async (t) => {
  const dir = tempDir();
  const [nrows, ncols, T] = [20, 600, 35];
  const cube = await Cube.create(path.join(dir, "product.zarr"), {
    resolution: "9km",
    window: { row0: 500, col0: 1000, nrows, ncols },
    start: "2020-01-20",
    days: T,
    variables: [
      { name: "soil_moisture", kind: "dynamic", units: "m3 m-3", long_name: "soil moisture" },
      {
        name: "soil_moisture_source",
        kind: "dynamic",
        units: "1",
        long_name: "flags",
        dtype: "uint8",
        attributes: { flag_values: [1, 2], flag_meanings: "a b" },
      },
      { name: "elevation", kind: "static", units: "m", long_name: "height" },
    ],
    chunks: { time: 16, y: 16, x: 128 },
  });
  const rng = new Rng(4);
  const sm = Float32Array.from({ length: T * nrows * ncols }, () => (rng.uniform() < 0.3 ? NaN : 0.05 + 0.4 * rng.uniform()));
  await cube.writeBlock("soil_moisture", 0, sm);
  await cube.writeBlock(
    "soil_moisture_source",
    0,
    Uint8Array.from(sm, (v) => (Number.isNaN(v) ? 2 : 1)),
  );
  await cube.writeStatic(
    "elevation",
    Float32Array.from({ length: nrows * ncols }, (_, k) => k),
  );
  const out = path.join(dir, "out");
  const run = spawnSync(process.execPath, [path.join(REPO_ROOT, "bin", "smapfill.js"), "export", path.join(dir, "product.zarr"), "--out", out], {
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  const again = spawnSync(
    process.execPath,
    [path.join(REPO_ROOT, "bin", "smapfill.js"), "export", path.join(dir, "product.zarr"), "--out", out, "--format", "netcdf"],
    { encoding: "utf8" },
  );
  assert.equal(again.status, 2, "nothing existing is overwritten");
  assert.match(again.stderr, /product\.nc: already exists/);
  const python = debianPython("netCDF4", "xarray", "zarr", "osgeo");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have python3-netcdf4, python3-xarray, python3-zarr and python3-gdal");
    t.skip("Debian python3-netcdf4/xarray/zarr/gdal not installed");
    return;
  }
  const pixels = [
    [0, 0, 0],
    [11, 7, 300],
    [34, 19, 599],
  ];
  const expected = pixels.map(([d, r, c]) => sm[d! * nrows * ncols + r! * ncols + c!]!);
  const got = runPythonJson(python, "check_product.py", [out, JSON.stringify(pixels), JSON.stringify(cube.dates())]);
  assert.deepEqual(got.warnings, []);
  assert.deepEqual(got.cog.invalid, {});
  assert.equal(got.cog.overviews["soil_moisture_2020-01.tif"], 2, "600 columns: overviews of 300 and 150, down to one 256 tile");
  assert.deepEqual(got.cog.files, [
    "elevation.tif",
    "soil_moisture_2020-01.tif",
    "soil_moisture_2020-02.tif",
    "soil_moisture_source_2020-01.tif",
    "soil_moisture_source_2020-02.tif",
  ]);
  const same = (a: number[]) =>
    a.forEach((v, i) =>
      assert.ok(v === Math.fround(expected[i]!) || (Number.isNaN(expected[i]!) && (v === null || Number.isNaN(v))), `${v} vs ${expected[i]}`),
    );
  same(got.cog.values);
  same(got.netcdf.values);
  same(got.zarr2.values);
  assert.equal(got.netcdf.gdal_epsg, "6933");
});
