import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { loadStudy } from "../../src/config/study.js";
import { ingestStudy } from "../../src/cube/ingest-study.js";
import { Cube } from "../../src/cube/cube.js";
import { Ease2Grid } from "../../src/grid/ease2.js";
import { openRaster } from "../../src/io/raster-source.js";
import { SyntheticWorld, WORLD_PRESETS, type WorldConfig } from "../../src/synth/world.js";
import { writeWorld } from "../../src/synth/write-world.js";
import { writeWorldStudy } from "../../src/synth/world-study.js";
import { spawnSync } from "node:child_process";
import { REPO_ROOT, debianPython, realFile, tempDir } from "../helpers.js";

const g9 = Ease2Grid.of("9km");
const EXAMPLE = path.join(REPO_ROOT, "examples", "pakistan-2020-01.yaml");

/** The example config, with its output moved to a temporary folder. */
function pakistanStudy(edit: (config: Record<string, any>) => void = () => {}) {
  const config = YAML.parse(fs.readFileSync(EXAMPLE, "utf8"));
  const dir = tempDir();
  config.output = path.join(dir, "pk.zarr");
  config.smap.granules = path.resolve(path.dirname(EXAMPLE), config.smap.granules);
  for (const p of config.predictors) p.files = path.resolve(path.dirname(EXAMPLE), p.files);
  edit(config);
  const file = path.join(dir, "study.yaml");
  fs.writeFileSync(file, YAML.stringify(config));
  return { file, output: config.output as string };
}

function bilinearAt(values: Float32Array, xs: Float64Array, ys: Float64Array, lat: number, lon: number): number {
  // ys descending (ERA5), xs ascending.
  const j = xs.findIndex((x) => x > lon) - 1;
  const i = ys.findIndex((y) => y < lat) - 1;
  const fx = (lon - xs[j]!) / (xs[j + 1]! - xs[j]!);
  const fy = (ys[i]! - lat) / (ys[i]! - ys[i + 1]!);
  const v = (r: number, c: number) => values[r * xs.length + c]!;
  return (1 - fy) * ((1 - fx) * v(i, j) + fx * v(i, j + 1)) + fy * ((1 - fx) * v(i + 1, j) + fx * v(i + 1, j + 1));
}

test("real Pakistan January 2020: SMAP + ERA5-Land daily mean, 6 am overpass value and land fraction", async () => {
  const { file, output } = pakistanStudy();
  const report = await ingestStudy(loadStudy(file), { quiet: true });
  assert.equal(report.smap.granulesRead, 31);
  const cube = await Cube.open(output);
  assert.deepEqual(
    cube.variables.map((v) => v.name),
    ["soil_moisture", "soil_moisture_pass", "soil_moisture_missing_reason", "era5_swvl1", "era5_swvl1_am", "era5_land_fraction"],
  );
  // An independent computation from the raw hourly file: day 9 (2020-01-10), a few cells.
  const src = await openRaster(path.resolve(path.dirname(EXAMPLE), "../../shared/data/real/pakistan_2020/era5_land/ERA5_Pakistan_20200101_20200131.nc"), {
    variable: "swvl1",
  });
  const hours = await src.read(9 * 24, 10 * 24, 0, src.ys.length, 0, src.xs.length);
  const cells = src.ys.length * src.xs.length;
  const dailyMean = new Float32Array(cells).map((_, k) => {
    let s = 0;
    for (let h = 0; h < 24; h++) s += hours[h * cells + k]!;
    return s / 24;
  });
  const overpassField = new Float32Array(cells);
  src.xs.forEach((lon, c) => {
    const utc = 6 - lon / 15;
    const hour = utc - Math.floor(utc) >= 0.5 ? Math.ceil(utc) : Math.floor(utc);
    for (let r = 0; r < src.ys.length; r++) overpassField[r * src.xs.length + c] = hours[hour * cells + r * src.xs.length + c]!;
  });
  const mean = await cube.readDay("era5_swvl1", 9);
  const am = await cube.readDay("era5_swvl1_am", 9);
  const w = cube.window;
  for (const [i, j] of [
    [3, 5],
    [20, 30],
    [40, 60],
  ] as const) {
    const lat = g9.rowLatitude(w.row0 + i);
    const lon = g9.colLongitude(w.col0 + j);
    const expected = bilinearAt(dailyMean, src.xs, src.ys, lat, lon);
    assert.ok(Math.abs(mean[i * w.ncols + j]! - expected) < 1e-5, `daily mean at (${i},${j}): ${mean[i * w.ncols + j]} vs ${expected}`);
    // Each source column is taken at the hour nearest its own 6 am local solar time (UTC =
    // 6 - lon/15 h; about 01:30 here, ties going to the later hour), then interpolated.
    const atOverpass = bilinearAt(overpassField, src.xs, src.ys, lat, lon);
    assert.ok(Math.abs(am[i * w.ncols + j]! - atOverpass) < 1e-5, `overpass value at (${i},${j}): ${am[i * w.ncols + j]} vs ${atOverpass}`);
  }
  src.close();
  const land = await cube.readStatic("era5_land_fraction");
  assert.ok(land.every((v) => v >= 0 && v <= 1));
  assert.ok(report.predictors.every((p) => Object.values(p.coverage).every((c) => c === 1)));
});

test("a rerun skips done work; a changed predictor is refused", async () => {
  const { file, output } = pakistanStudy((c) => (c.chunks = { time: 8 }));
  await ingestStudy(loadStudy(file), { quiet: true });
  const cube = await Cube.open(output);
  const before = await cube.readDay("era5_swvl1", 20);
  const state = cube.attributes.predictor_ingest as Record<string, { blocks?: Record<string, unknown> }>;
  delete state.era5_swvl1!.blocks!["2"]; // as if killed while writing days 16-23
  await cube.setAttributes({ predictor_ingest: state });
  await cube.writeDay("era5_swvl1", 20, new Float32Array(45 * 64).fill(NaN));
  await ingestStudy(loadStudy(file), { quiet: true });
  assert.deepEqual(await (await Cube.open(output)).readDay("era5_swvl1", 20), before);
  const changed = YAML.parse(fs.readFileSync(file, "utf8"));
  changed.predictors[0].resampling = "average";
  fs.writeFileSync(file, YAML.stringify(changed));
  await assert.rejects(() => ingestStudy(loadStudy(file), { quiet: true }), /predictor 'era5_swvl1' was ingested with another config/);
});

test("bad predictors fail before anything is written, naming file and variable", async () => {
  const cases: [(c: Record<string, any>) => void, RegExp][] = [
    [(c) => (c.predictors[0].variable = "t2m"), /ERA5_Pakistan_20200101_20200131\.nc: t2m: dataset not found/],
    [(c) => (c.region.bbox = [28.0, 31.0, 67.0, 73.0]), /swvl1: the grid .* does not cover the region/],
    [(c) => (c.predictors[0].units = { to: "furlongs" }), /swvl1: cannot convert 'm\*\*3 m\*\*-3' to 'furlongs'/],
  ];
  for (const [edit, expected] of cases) {
    const { file, output } = pakistanStudy(edit);
    await assert.rejects(() => ingestStudy(loadStudy(file), { quiet: true }), expected);
    assert.ok(!fs.existsSync(output), "no cube is left behind");
  }
});

test("synthetic world: every predictor kind lands on the grid and matches the world's truth", async () => {
  const config: WorldConfig = { ...WORLD_PRESETS.test, days: 40 };
  const dir = path.join(tempDir(), "world");
  await writeWorld(config, dir);
  const study = loadStudy(writeWorldStudy(dir, config, "../cube.zarr"));
  const report = await ingestStudy(study, { quiet: true });
  const cube = await Cube.open(report.output);
  const world = new SyntheticWorld(config);
  const s = world.statics;
  // Static layers against the world's own fields.
  const elevation = await cube.readStatic("elevation");
  const rmsElevation = Math.sqrt(elevation.reduce((a, v, i) => a + (v - s.elevation[i]!) ** 2, 0) / elevation.length);
  assert.ok(rmsElevation < 120, `elevation RMS error ${rmsElevation} m`);
  const sand = await cube.readStatic("sand");
  assert.ok(correlation(sand, s.sand) > 0.9, "sand");
  const slope = await cube.readStatic("elevation_slope");
  assert.ok(slope.every((v) => v >= 0 && v < 60) && slope.some((v) => v > 0.5));
  const fractions = await Promise.all([5, 10, 12, 16].map((c) => cube.readStatic(`landcover_class${c}`)));
  for (let i = 0; i < elevation.length; i++) assert.ok(Math.abs(fractions.reduce((a, f) => a + f[i]!, 0) - 1) < 1e-5);
  // Dynamic: precipitation and its antecedent sums, temperature in degC.
  const truth = [...world.simulate()];
  const precip = await cube.readBlock("precipitation", 0, 40);
  const n = world.size;
  const total = (arr: ArrayLike<number>) => Array.from(arr).reduce((a, v) => a + v, 0);
  const simulatedTotal = total(truth.flatMap((d) => Array.from(d.precipitation)));
  assert.ok(Math.abs(total(precip) / simulatedTotal - 1) < 0.1, "precipitation totals agree within 10 %");
  const sum3 = await cube.readDay("precipitation_sum3d", 10);
  for (let i = 0; i < n; i += 17) {
    const expected = precip[8 * n + i]! + precip[9 * n + i]! + precip[10 * n + i]!;
    assert.ok(Math.abs(sum3[i]! - expected) < 1e-3 * Math.max(1, expected));
  }
  assert.ok((await cube.readDay("precipitation_sum3d", 1)).every(Number.isNaN), "no sum before enough days");
  const tair = await cube.readDay("air_temperature", 20);
  assert.ok(
    correlation(
      tair,
      Float32Array.from(truth[20]!.airTemperature, (k) => k - 273.15),
    ) > 0.95,
  );
  assert.ok(
    tair.every((v) => v > -40 && v < 45),
    "degrees Celsius",
  );
  const ndvi = await cube.readBlock("ndvi", 0, 40);
  assert.ok(ndvi.every((v) => Number.isNaN(v) || (v > -0.2 && v < 1)));
  assert.equal(report.predictors.length, 8);
});

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

test("a predictor file whose content changed makes its blocks (and a static layer) again; a file only touched does not", async (t) => {
  const python = debianPython("h5py", "numpy");
  if (!python) return t.skip("needs Debian's python3-h5py");
  const dir = tempDir();
  const era5 = path.join(dir, "era5.nc");
  fs.copyFileSync(realFile("pakistan_2020", "era5_land", "ERA5_Pakistan_20200101_20200131.nc"), era5);
  const { file, output } = pakistanStudy((c) => {
    c.predictors = c.predictors.filter((p: { name: string }) => p.name !== "era5_swvl1_am");
    for (const p of c.predictors) p.files = era5;
  });
  const first = await ingestStudy(loadStudy(file), { quiet: true });
  assert.deepEqual(
    first.predictors.map((p) => p.redone),
    [0, 0],
  );
  const before = await (await Cube.open(output)).readBlock("era5_swvl1", 0, 31);
  // Touched: same bytes, a new time. Nothing is made again.
  const now = new Date();
  fs.utimesSync(era5, now, now);
  const touched = await ingestStudy(loadStudy(file), { quiet: true });
  assert.deepEqual(
    touched.predictors.map((p) => p.redone),
    [0, 0],
  );
  // Downloaded again with other values (a new ERA5 version): both blocks of days and the static layer are made again.
  const edit = spawnSync(
    python,
    [
      "-c",
      `import h5py; f = h5py.File(${JSON.stringify(era5)}, "r+"); f["swvl1"][...] = f["swvl1"][...] + 0.05; f["lsm"][...] = f["lsm"][...] * 0.5; f.close()`,
    ],
    { encoding: "utf8" },
  );
  assert.equal(edit.status, 0, edit.stderr);
  const changed = await ingestStudy(loadStudy(file), { quiet: true });
  assert.deepEqual(
    changed.predictors.map((p) => [p.name, p.redone]),
    [
      ["era5_swvl1", 2],
      ["era5_land_fraction", 1],
    ],
  );
  const after = await (await Cube.open(output)).readBlock("era5_swvl1", 0, 31);
  let n = 0;
  for (let i = 0; i < before.length; i++)
    if (!Number.isNaN(before[i]!)) {
      assert.ok(Math.abs(after[i]! - before[i]! - 0.05) < 1e-4, `${after[i]} vs ${before[i]}`);
      n++;
    }
  assert.ok(n > 1000);
});

test("smapfill ingest resolves the study's output relative to the config file, from any working folder", () => {
  const dir = tempDir();
  const { file } = pakistanStudy((c) => {
    c.period = { start: "2020-01-01", end: "2020-01-02" };
    c.output = "../out/pk.zarr";
  });
  const studies = path.join(dir, "studies");
  const out = path.join(dir, "out");
  fs.mkdirSync(studies);
  fs.mkdirSync(out);
  const moved = path.join(studies, "study.yaml");
  fs.copyFileSync(file, moved);
  // Run from a folder where ../out does not exist: the check must not look there.
  const elsewhere = path.join(tempDir(), "somewhere");
  fs.mkdirSync(elsewhere);
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "bin", "smapfill.js"), "ingest", moved, "--quiet"], { cwd: elsewhere, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(out, "pk.zarr", "zarr.json")));
});
