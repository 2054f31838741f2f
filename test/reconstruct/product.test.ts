/**
 * The gap-free product end to end on the synthetic test world (cube chunks of 8 x 8 cells and 16
 * days, so 6 tiles and 3 blocks of days): a product model trained on the cube, `reconstruct` in
 * every format, the outputs opened with GDAL, netCDF4, xarray and zarr-python, and an interrupted
 * run (SIGKILL mid-tile) resumed to the same bytes as an uninterrupted one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Cube } from "../../src/cube/cube.js";
import { ingestStudy } from "../../src/cube/ingest-study.js";
import { loadStudy } from "../../src/config/study.js";
import { writeWorld } from "../../src/synth/write-world.js";
import { writeWorldStudy } from "../../src/synth/world-study.js";
import { WORLD_PRESETS } from "../../src/synth/world.js";
import { SOURCE_FLAGS } from "../../src/reconstruct/reconstruct.js";
import { isFrozenGap, MISSING_REASON_VARIABLE } from "../../src/cube/missing-reasons.js";
import { REPO_ROOT, debianPython, fileHashes, runPythonJson, tempDir } from "../helpers.js";
import { smallChunkedCube } from "../test-world.js";
import { checkStacCatalog } from "../stac-check.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
function smapfill(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { code: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

let setup: Promise<{ dir: string; cube: string; model: string }> | undefined;
/** The world, its cube (small chunks: several tiles) and a product model, made once. */
function world() {
  setup ??= (async () => {
    const dir = tempDir();
    // Keep both passes: the product then fills each pass too.
    const { cube } = await smallChunkedCube(dir, { keepPasses: true });
    const model = path.join(dir, "model");
    const train = smapfill(["train", cube, "--model", "xgb", "--out", model, "--xgb-rounds", "60", "--max-train-samples", "4000", "--quiet"]);
    assert.equal(train.code, 0, train.stderr);
    assert.match(train.stdout, /calibration gaps \(\d+\): RMSE 0\.\d{5}/);
    return { dir, cube, model };
  })();
  return setup;
}

test("reconstruct: every land pixel-day filled, SMAP kept where valid, flags, uncertainty, clipping; a product model is refused without its uncertainty", async () => {
  const { dir, cube: cubePath, model } = await world();
  const out = path.join(dir, "p1");
  const r = smapfill(["reconstruct", cubePath, "--model", model, "--out", out, "--format", "zarr,netcdf,cog,zarr2", "--everywhere", "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /land pixel-days \d+: \d+ observed, \d+ reconstructed \(\d+ of them frozen\), 0 not filled/);
  const cube = await Cube.open(cubePath);
  const product = await Cube.open(path.join(out, "product.zarr"));
  const T = cube.days;
  const smap = await cube.readBlock("soil_moisture", 0, T);
  const sm = await product.readBlock("soil_moisture", 0, T);
  const unc = await product.readBlock("soil_moisture_uncertainty", 0, T);
  const src = await product.readBlock("soil_moisture_source", 0, T);
  const model_ = await product.readBlock("soil_moisture_model", 0, T);
  const P = cube.window.nrows * cube.window.ncols;
  const land = new Uint8Array(P);
  smap.forEach((v, k) => {
    if (!Number.isNaN(v)) land[k % P] = 1;
  });
  // Frozen days (SMAP's flags): filled with their own flag under the default --frozen fill.
  const frozen = Array.from(await cube.readBlock(MISSING_REASON_VARIABLE, 0, T), isFrozenGap);
  let reconstructed = 0;
  for (let k = 0; k < T * P; k++) {
    if (!land[k % P]) {
      assert.equal(src[k], SOURCE_FLAGS.not_filled_outside_land);
      assert.ok(Number.isNaN(sm[k]!));
      continue;
    }
    if (!Number.isNaN(smap[k]!)) {
      assert.equal(sm[k], smap[k], "SMAP kept where valid");
      assert.ok([1, 2, 3].includes(src[k]!));
      assert.ok(Number.isNaN(unc[k]!));
    } else {
      reconstructed++;
      assert.equal(src[k], frozen[k] ? SOURCE_FLAGS.reconstructed_frozen : SOURCE_FLAGS.reconstructed);
      assert.ok(sm[k]! >= 0.02 && sm[k]! <= 0.5, `${sm[k]}`);
      assert.ok(unc[k]! > 0 && unc[k]! < 0.2, `${unc[k]}`);
      assert.equal(model_[k], sm[k]);
    }
    assert.ok(model_[k]! >= 0.02 && model_[k]! <= 0.5);
  }
  assert.ok(reconstructed > 1000);
  // Each pass: SMAP's value of that pass where it saw the pixel, the model elsewhere.
  for (const pass of ["am", "pm"]) {
    const observed = await cube.readBlock(`soil_moisture_${pass}`, 0, T);
    const filled = await product.readBlock(`soil_moisture_${pass}`, 0, T);
    const flags = await product.readBlock(`soil_moisture_${pass}_source`, 0, T);
    let own = 0;
    for (let k = 0; k < T * P; k++) {
      if (!land[k % P]) continue;
      if (!Number.isNaN(observed[k]!)) {
        assert.equal(filled[k], observed[k]);
        assert.equal(flags[k], pass === "am" ? SOURCE_FLAGS.observed_am : SOURCE_FLAGS.observed_pm);
        own++;
      } else {
        assert.equal(flags[k], frozen[k] ? SOURCE_FLAGS.reconstructed_frozen : SOURCE_FLAGS.reconstructed);
        assert.equal(filled[k], model_[k], "the model's estimate of that day");
      }
    }
    assert.ok(own > 100, `${pass}: ${own}`);
  }
  // Coverage and maps.
  const summary = JSON.parse(fs.readFileSync(path.join(out, "product.json"), "utf8"));
  assert.ok(summary.coverage.overall.after > 0.999 && summary.coverage.overall.before < 0.9);
  assert.ok(summary.coverage.perClass.length >= 1);
  for (const f of ["coverage_before.png", "coverage_after.png", "uncertainty_mean.png", "coverage_daily_after.png"])
    assert.ok(fs.statSync(path.join(out, f)).size > 500, f);
  // Every product folder says which file opens where, and carries its STAC catalog.
  const readme = fs.readFileSync(path.join(out, "README.txt"), "utf8");
  for (const f of ["product.nc", "product_cog/", "product_v2.zarr/", "product.zarr/", "stac/", "not_filled_missing_predictors"])
    assert.ok(readme.includes(f), f);
  const stac = checkStacCatalog(out);
  assert.equal(stac.items.length, new Set(product.dates().map((d) => d.slice(0, 7))).size, "an item per month");
  assert.ok(Object.keys(stac.collection.assets).includes("netcdf") && Object.keys(stac.collection.assets).includes("zarr2"));
  assert.ok(stac.items[0].assets.soil_moisture.type.includes("cloud-optimized"));
  // The Zarr v3 store is georeferenced by the zarr-conventions proj: and spatial: (v1) attributes.
  const root = JSON.parse(fs.readFileSync(path.join(out, "product.zarr", "zarr.json"), "utf8")).attributes;
  assert.deepEqual(
    root.zarr_conventions.map((c: { name: string; spec_url: string }) => [c.name, c.spec_url.replace(/.*\/blob\//, "")]),
    [
      ["proj:", "v1/README.md"],
      ["spatial:", "v1/README.md"],
    ],
  );
  assert.equal(root["proj:code"], "EPSG:6933");
  assert.deepEqual(root["spatial:dimensions"], ["y", "x"]);
  assert.deepEqual(root["spatial:shape"], [cube.window.nrows, cube.window.ncols]);
  const [a, , left, , e, top] = root["spatial:transform"];
  assert.equal(a, cube.grid.cellSize);
  assert.equal(e, -cube.grid.cellSize);
  assert.ok(Math.abs(left + a / 2 - cube.grid.colToX(cube.window.col0)) < 1e-6 && Math.abs(top + e / 2 - cube.grid.rowToY(cube.window.row0)) < 1e-6);
  assert.deepEqual(root["spatial:bbox"], [left, top + e * cube.window.nrows, left + a * cube.window.ncols, top]);
  // A model without uncertainty (a dataset-folder model) is refused.
  fs.rmSync(path.join(model, "uncertainty.json.bak"), { force: true });
  fs.renameSync(path.join(model, "uncertainty.json"), path.join(model, "uncertainty.json.bak"));
  const refused = smapfill(["reconstruct", cubePath, "--model", model, "--out", path.join(dir, "p-refused"), "--quiet"]);
  fs.renameSync(path.join(model, "uncertainty.json.bak"), path.join(model, "uncertainty.json"));
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /has no uncertainty\.json: it is not a product model/);
  // inspect describes the product, given its store or its folder.
  for (const target of [path.join(out, "product.zarr"), out]) {
    const inspect = smapfill(["inspect", target]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /soil_moisture_source\s+dynamic\s+uint8/);
    assert.match(inspect.stdout, /model\s+xgb/);
    assert.match(inspect.stdout, /reconstruct/);
  }
  assert.match(smapfill(["inspect", out]).stdout, /folder .*README\.txt.*stac/);
  // Without --format: the NetCDF (every tool opens it) beside the Zarr v3 working store.
  const plain = path.join(dir, "p-default");
  assert.equal(smapfill(["reconstruct", cubePath, "--model", model, "--out", plain, "--quiet"]).code, 0);
  assert.ok(fs.existsSync(path.join(plain, "product.nc")) && fs.existsSync(path.join(plain, "product.zarr", "zarr.json")));
  assert.ok(!fs.existsSync(path.join(plain, "product_cog")) && !fs.existsSync(path.join(plain, "product_v2.zarr")));
  const notRun = smapfill(["inspect", path.join(dir, "model")]);
  assert.equal(notRun.code, 2);
  assert.match(notRun.stderr, /is a folder without a cube or product/);
});

test("--frozen: fill gives frozen days their own flag and a wider uncertainty; mask leaves them empty with their own flag and changes nothing else", async () => {
  const { dir, cube: cubePath, model } = await world();
  const run = (policy: string) => {
    const out = path.join(dir, `frozen-${policy}`);
    const r = smapfill(["reconstruct", cubePath, "--model", model, "--out", out, "--format", "zarr", "--frozen", policy, "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    return { out, stdout: r.stdout };
  };
  const fill = run("fill");
  const mask = run("mask");
  assert.match(fill.stdout, /reconstructed \(\d+ of them frozen\)/);
  assert.match(mask.stdout, /not filled \(\d+ of them frozen, masked\)/);
  const cube = await Cube.open(cubePath);
  const T = cube.days;
  const frozen = Array.from(await cube.readBlock(MISSING_REASON_VARIABLE, 0, T), isFrozenGap);
  const read = async (out: string) => {
    const p = await Cube.open(path.join(out, "product.zarr"));
    const get = (v: string) => p.readBlock(v, 0, T);
    return { p, sm: await get("soil_moisture"), unc: await get("soil_moisture_uncertainty"), src: await get("soil_moisture_source") };
  };
  const [f, m] = [await read(fill.out), await read(mask.out)];
  let [nFrozen, sigmaFrozen, nOther, sigmaOther] = [0, 0, 0, 0];
  for (let k = 0; k < f.src.length; k++) {
    if (f.src[k] === SOURCE_FLAGS.reconstructed_frozen) {
      assert.ok(frozen[k], "only frozen days carry the frozen flag");
      ((nFrozen += 1), (sigmaFrozen += f.unc[k]!));
      assert.equal(m.src[k], SOURCE_FLAGS.not_filled_frozen);
      assert.ok(Number.isNaN(m.sm[k]!) && Number.isNaN(m.unc[k]!));
      continue;
    }
    if (f.src[k] === SOURCE_FLAGS.reconstructed) ((nOther += 1), (sigmaOther += f.unc[k]!));
    assert.equal(m.src[k], f.src[k]);
    assert.ok(Object.is(m.sm[k], f.sm[k]) && Object.is(m.unc[k], f.unc[k]), "the rest as under fill");
  }
  assert.ok(nFrozen > 50 && nOther > 1000, `${nFrozen} frozen, ${nOther} other`);
  assert.ok(sigmaFrozen / nFrozen > 1.2 * (sigmaOther / nOther), "frozen days' sigma adds the climatological spread");
  // The policy and how frozen days' sigma was set are in the product's attributes; the CF flags name both frozen flags.
  assert.equal(f.p.attributes.frozen_policy, "fill");
  assert.match(String(f.p.attributes.frozen_uncertainty_method), /climatological/);
  assert.equal(m.p.attributes.frozen_policy, "mask");
  const flags = f.p.variable("soil_moisture_source").attributes!;
  assert.ok(String(flags.flag_meanings).split(" ").includes("reconstructed_frozen") && (flags.flag_values as number[]).includes(7));
  assert.ok(String(flags.flag_meanings).split(" ").includes("not_filled_frozen") && (flags.flag_values as number[]).includes(9));
  const bad = smapfill(["reconstruct", cubePath, "--model", model, "--out", path.join(dir, "frozen-bad"), "--frozen", "thaw", "--quiet"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--frozen.*thaw.*expected one of fill, mask/);
});

test("the product's NetCDF, COG and Zarr v2 open in GDAL, netCDF4, xarray and zarr-python with the same values", async (t) => {
  const python = debianPython("netCDF4", "xarray", "zarr", "osgeo");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have python3-netcdf4, python3-xarray, python3-zarr and python3-gdal");
    t.skip("Debian python3-netcdf4/xarray/zarr/gdal not installed");
    return;
  }
  const { dir, cube: cubePath } = await world();
  const out = path.join(dir, "p1");
  const product = await Cube.open(path.join(out, "product.zarr"));
  const cube = await Cube.open(cubePath);
  const pixels = [
    [0, 0, 0],
    [17, 5, 9],
    [39, cube.window.nrows - 1, cube.window.ncols - 1],
  ] as const;
  const expected = await Promise.all(
    pixels.map(async ([t, r, c]) => (await product.readBlock("soil_moisture", t, t + 1, { row0: r, col0: c, nrows: 1, ncols: 1 }))[0]!),
  );
  const got = runPythonJson(python, "check_product.py", [out, JSON.stringify(pixels), JSON.stringify(product.dates())]);
  assert.deepEqual(got.warnings, [], "xarray and zarr open without warnings");
  const close = (a: number[], b: number[]) =>
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-7 || (Number.isNaN(v) && Number.isNaN(b[i]!)), `${v} vs ${b[i]}`));
  const nc = got.netcdf;
  for (const k of ["values", "xarray_values", "gdal_values"]) close(nc[k], expected);
  assert.ok(Math.abs(Number(nc.gdallocationinfo) - expected[0]!) < 1e-12, nc.gdallocationinfo);
  assert.equal(nc.gdal_epsg, "6933");
  assert.match(nc.gdalsrsinfo, /EPSG:6933/);
  assert.deepEqual(nc.flag_meanings, Object.keys(SOURCE_FLAGS));
  assert.deepEqual(nc.flag_values, Object.values(SOURCE_FLAGS));
  assert.equal(nc.source_dtype, "uint8");
  assert.equal(nc.conventions, "CF-1.9, ACDD-1.3");
  assert.equal(nc.standard_name, "volume_fraction_of_condensed_water_in_soil");
  assert.deepEqual(nc.dims, ["time", "y", "x"]);
  assert.deepEqual(nc.chunking, [16, 8, 8]);
  assert.ok(nc.deflate);
  assert.equal(nc.crs.grid_mapping_name, "lambert_cylindrical_equal_area");
  assert.equal(nc.crs.standard_parallel, 30);
  assert.equal(nc.xarray_time0, product.start);
  pixels.forEach(([, r, c], i) => {
    const [lat, lon] = cube.grid.rowColToLatLon(cube.window.row0 + r, cube.window.col0 + c);
    assert.ok(Math.abs(nc.gdal_lonlat[i][0] - lon) < 1e-6 && Math.abs(nc.gdal_lonlat[i][1] - lat) < 1e-6, `${nc.gdal_lonlat[i]} vs ${lon}, ${lat}`);
  });
  close(got.zarr2.values, expected);
  close(got.zarr2.xarray_values, expected);
  assert.ok(Math.abs(got.zarr2.gdal_value - expected[0]!) < 1e-12);
  assert.deepEqual(got.zarr2.variables, [
    "crs",
    "soil_moisture",
    "soil_moisture_am",
    "soil_moisture_am_source",
    "soil_moisture_model",
    "soil_moisture_pm",
    "soil_moisture_pm_source",
    "soil_moisture_source",
    "soil_moisture_uncertainty",
  ]);
  // Zarr v2: GDAL reads the CRS from _CRS; lat/lon are 2-D auxiliary coordinates as in the NetCDF.
  assert.equal(got.zarr2.gdal_epsg, "6933");
  assert.deepEqual(got.zarr2.lat_dims, ["y", "x"]);
  assert.deepEqual(nc.lat_shape, [cube.window.nrows, cube.window.ncols]);
  assert.ok(
    ["lat", "lon", "time", "x", "y"].every((c) => got.zarr2.coords.includes(c)),
    got.zarr2.coords.join(),
  );
  // CF: ancillary variables, standard names, valid ranges per variable, history with the command, readable provenance.
  const attrs = nc.attributes;
  assert.equal(attrs.soil_moisture.ancillary_variables, "soil_moisture_uncertainty soil_moisture_source");
  assert.equal(attrs.soil_moisture_uncertainty.standard_name, "volume_fraction_of_condensed_water_in_soil standard_error");
  assert.equal(attrs.soil_moisture_source.standard_name, "volume_fraction_of_condensed_water_in_soil status_flag");
  assert.equal(attrs.soil_moisture_uncertainty.ancillary_of, undefined);
  for (const v of Object.keys(attrs)) assert.ok(attrs[v].valid_min !== undefined && attrs[v].valid_max !== undefined, `${v} has valid_min/valid_max`);
  assert.deepEqual(
    [attrs.soil_moisture.valid_min, attrs.soil_moisture_source.valid_min, attrs.soil_moisture_source.valid_max],
    [Math.fround(0.02), 1, Math.max(...Object.values(SOURCE_FLAGS))],
    "in the variable's own type",
  );
  assert.match(nc.history, /reconstruct \(model=.*\n.*smapfill reconstruct \S+ --model \S+ --out \S+ --format zarr,netcdf,cog,zarr2 --everywhere --quiet$/);
  assert.ok(!nc.global_keys.includes("valid_range") && !nc.global_keys.includes("provenance"), nc.global_keys.join());
  assert.deepEqual(nc.json_blobs, [], "no JSON text in the attributes");
  assert.ok(nc.global_keys.includes("model_calibration_metrics_rmse"), "the calibration as readable attributes");
  // The source-flag COG: a colour table and the flags' names (QGIS shows colours, not greys 1-6).
  // GDAL's categories are indexed by value: a value no flag has is an empty name.
  const byValue = Object.fromEntries(Object.entries(SOURCE_FLAGS).map(([k, v]) => [v, k]));
  assert.deepEqual(
    got.cog.flag_categories,
    Array.from({ length: Math.max(...Object.values(SOURCE_FLAGS)) + 1 }, (_, v) => byValue[v] ?? ""),
  );
  assert.deepEqual(got.cog.flag_colors[4], [224, 123, 0, 255], "reconstructed: orange");
  assert.deepEqual(got.cog.flag_colors[0]![3], 0, "nodata transparent");
  assert.deepEqual(got.cog.invalid, {});
  assert.equal(got.cog.epsg, "6933");
  assert.equal(got.cog.nodata, "nan");
  close(got.cog.values, expected);
  assert.ok(got.cog.files.includes("soil_moisture_2019-03.tif") && got.cog.files.includes("soil_moisture_source_2019-04.tif"));
});

test("an interrupted reconstruction (SIGKILL mid-tile) resumes to the same chunks as an uninterrupted run", async () => {
  const { dir, cube, model } = await world();
  const reference = path.join(dir, "p1", "product.zarr");
  const out = path.join(dir, "p2");
  const args = ["reconstruct", cube, "--model", model, "--out", out, "--format", "zarr,netcdf", "--everywhere", "--quiet"];
  const killed = smapfill(args, { SMAPFILL_FAILPOINT: "reconstruct-block:4" });
  assert.equal(killed.signal, "SIGKILL");
  const store = path.join(out, "product.zarr");
  const progress = (await Cube.open(store)).attributes.reconstruct as { tiles_done: number[] };
  assert.ok(progress.tiles_done.length >= 1 && progress.tiles_done.length < 6, `${progress.tiles_done}`);
  // A temporary file as an interrupted write leaves it.
  const leftover = path.join(store, "soil_moisture", "c", "0", "0", "0.99999.0.tmp");
  fs.writeFileSync(leftover, "torn");
  const resumed = smapfill(args);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /\(\d done before\)/);
  assert.ok(!fs.existsSync(leftover));
  const a = fileHashes(reference);
  const b = fileHashes(store);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  // Only the group's metadata differs (zarr.json and the copy kept of it): creation and provenance timestamps.
  const differing = [...a.keys()].filter((k) => a.get(k) !== b.get(k)).sort();
  assert.deepEqual(differing, [".smapfill-root.json", "zarr.json"]);
  // The NetCDF holds the same data variable by variable.
  const python = debianPython("netCDF4", "numpy");
  if (!python) return;
  const run = spawnSync(
    python,
    [
      "-c",
      "import sys, netCDF4, numpy as np; a, b = (netCDF4.Dataset(f) for f in sys.argv[1:]); print(all(np.array_equal(np.ma.filled(a[v][:], -1), np.ma.filled(b[v][:], -1)) for v in a.variables))",
      path.join(dir, "p1", "product.nc"),
      path.join(out, "product.nc"),
    ],
    { encoding: "utf8" },
  );
  assert.equal(run.stdout.trim(), "True", run.stderr);
});

test("a cube whose period grows (a later end) extends by ingestion, and its product by reconstruct: old days kept, new days as a fresh run's", async () => {
  const dir = tempDir();
  const config = { ...WORLD_PRESETS.test, days: 40 };
  await writeWorld(config, path.join(dir, "w"));
  const studyFile = writeWorldStudy(path.join(dir, "w"), config, "../cube.zarr");
  const full = fs.readFileSync(studyFile, "utf8") + "chunks: { time: 16, y: 8, x: 8 }\n";
  const end40 = /end: "?(\d{4}-\d{2}-\d{2})"?/.exec(full)![1]!;
  fs.writeFileSync(studyFile, full.replace(end40, "2019-03-30"));
  const first = await ingestStudy(loadStudy(studyFile), { quiet: true });
  assert.equal((await Cube.open(first.output)).days, 30);
  const model = path.join(dir, "model");
  const trained = smapfill(["train", first.output, "--model", "xgb", "--out", model, "--xgb-rounds", "40", "--max-train-samples", "3000", "--quiet"]);
  assert.equal(trained.code, 0, trained.stderr);
  const out = path.join(dir, "p");
  const run = () => smapfill(["reconstruct", first.output, "--model", model, "--out", out, "--format", "zarr,netcdf", "--quiet"]);
  const made = run();
  assert.equal(made.code, 0, made.stderr);
  const before = await Cube.open(path.join(out, "product.zarr"));
  const oldDays = await before.readBlock("soil_moisture", 0, 30);
  const hashesBefore = fileHashes(path.join(out, "product.zarr"));
  // The period grows by ten days: ingestion extends the cube (SMAP and predictors).
  fs.writeFileSync(studyFile, full);
  const grown = await ingestStudy(loadStudy(studyFile), { quiet: true });
  const cube = await Cube.open(grown.output);
  assert.equal(cube.days, 40);
  // The same values as a cube ingested over the 40 days at once.
  const freshStudy = path.join(dir, "w", "fresh.yaml");
  fs.writeFileSync(freshStudy, full.replace("../cube.zarr", "../fresh.zarr"));
  const fresh = await Cube.open((await ingestStudy(loadStudy(freshStudy), { quiet: true })).output);
  for (const v of cube.variables) {
    const a = v.kind === "dynamic" ? await cube.readBlock(v.name, 0, 40) : await cube.readStatic(v.name);
    const b = v.kind === "dynamic" ? await fresh.readBlock(v.name, 0, 40) : await fresh.readStatic(v.name);
    assert.deepEqual(a, b, v.name);
  }
  // The product grows: the old days keep their values, the new ones are a fresh run's.
  const extended = run();
  assert.equal(extended.code, 0, extended.stderr);
  const product = await Cube.open(path.join(out, "product.zarr"));
  assert.equal(product.days, 40);
  assert.deepEqual(await product.readBlock("soil_moisture", 0, 30), oldDays);
  const hashesAfter = fileHashes(path.join(out, "product.zarr"));
  for (const [file, h] of hashesBefore) if (/\/c\/0\//.test(file)) assert.equal(hashesAfter.get(file), h, `${file}: the first time chunk is not rewritten`);
  const freshProduct = path.join(dir, "fresh-p");
  assert.equal(smapfill(["reconstruct", fresh.path, "--model", model, "--out", freshProduct, "--quiet"]).code, 0);
  const reference = await Cube.open(path.join(freshProduct, "product.zarr"));
  for (const v of ["soil_moisture", "soil_moisture_uncertainty", "soil_moisture_source"])
    assert.deepEqual(await product.readBlock(v, 30, 40), await reference.readBlock(v, 30, 40), v);
  assert.ok(fs.existsSync(path.join(out, "product.nc")), "the NetCDF is written again for the longer product");
});
