import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { loadStudy } from "../../src/config/study.js";
import { Cube } from "../../src/cube/cube.js";
import { ingestSmap } from "../../src/cube/ingest-smap.js";
import { ingestStudy } from "../../src/cube/ingest-study.js";
import {
  BELOW_FREEZING,
  gapReason,
  markBelowFreezing,
  MISSING_REASON_VARIABLE,
  missingReasonShares,
  missingReasonVariable,
  readMissingReasons,
  type GapReason,
} from "../../src/cube/missing-reasons.js";
import { acceptedByQuality } from "../../src/io/smap-l3.js";
import { readSampleArrays } from "../../src/features/samples.js";
import { CAUSE, combinePassReasons, passMissingReason, REJECTED_BY_QUALITY } from "../../src/io/smap-flags.js";
import { debianPython, REPO_ROOT, realFile, runPythonJson, SHARED, tempDir } from "../helpers.js";
import { smallChunkedCube } from "../test-world.js";

const HAWAII_EXAMPLE = path.join(REPO_ROOT, "examples", "hawaii-2017-2018.yaml");
const HAWAII_CELLS = realFile("hawaii_2016_2019", "smap_cells");
const PAKISTAN = realFile("pakistan_2020", "SPL3SMP_E");

/** Counts of each reason over a cube's pixel-days (observed and not ingested included). */
async function reasonCounts(cube: Cube): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const code of (await readMissingReasons(cube))!) {
    const key = gapReason(code) ?? (code ? "observed" : "not ingested");
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

test("the example Hawaii study ingests; its gaps are 'unknown' (re-assembled granules) except the retrievals its quality rule rejected; no day is frozen", async (t) => {
  const study = loadStudy(HAWAII_EXAMPLE);
  study.output = path.join(tempDir(), "hawaii.zarr");
  const report = await ingestStudy(study, { quiet: true });
  assert.equal(report.smap.granulesRead, 730);
  assert.equal(report.smap.failures.length, 0);
  const cube = await Cube.open(study.output);
  const [nrows, ncols] = [cube.window.nrows, cube.window.ncols];
  assert.deepEqual([cube.window.row0, cube.window.col0, nrows, ncols], [133, 64, 4, 3]);
  const codes = (await readMissingReasons(cube))!;
  const sm = await cube.readBlock("soil_moisture", 0, cube.days);
  for (let k = 0; k < codes.length; k++) assert.equal(gapReason(codes[k]!) === undefined, !Number.isNaN(sm[k]!), `pixel-day ${k}: reason and value agree`);
  const counts = await reasonCounts(cube);
  assert.deepEqual(Object.keys(counts).sort(), ["observed", "rejected_by_quality_rule", "unknown"]);
  // The soil temperatures (smap.frozen_from) never reach 0 degC on the Big Island's 36 km cells.
  for (const name of ["era5_stl1", "gldas_soilt0_10"]) {
    const temps = (await cube.readBlock(name, 0, cube.days)).filter(Number.isFinite);
    assert.ok(Math.min(...temps) > 0, `${name} min ${Math.min(...temps)}`);
  }
  assert.ok(codes.every((c) => (c & BELOW_FREEZING) === 0));
  const shares = report.smap.missingReasons!;
  assert.deepEqual(shares, cube.attributes.smap_missing_reasons, "stored in the cube for the report and product.json");
  assert.equal(shares.reasons[0]!.reason, "unknown");
  assert.ok(Math.abs(shares.reasons.reduce((s, r) => s + r.share, 0) - 1) < 1e-9);

  // Independently, from the original qa4sm SPL3SMP v8 cells (real flags everywhere, read with netCDF4).
  const python = debianPython("netCDF4", "numpy");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have /usr/bin/python3 with netCDF4 (.ci/run installs python3-netcdf4)");
    t.skip("no Debian python3-netcdf4 here");
    return;
  }
  const cells = runPythonJson(python, "hawaii_cells.py", [HAWAII_CELLS, "133", "4", "64", "3", "2017-01-01", "2018-12-31"]);
  assert.equal(cells.days.length, cube.days);
  let [rejected, bit7, bit7WithFtFailed, frozenFromRealFlags, seenCells] = [0, 0, 0, 0, 0];
  const fromRealFlags: Record<string, number> = {};
  for (const [key, passes] of Object.entries(cells.cells as Record<string, Record<"AM" | "PM", ([number, number, number] | null)[]>>)) {
    const [row, col] = key.split(",").map(Number);
    const p = (row! - 133) * ncols + (col! - 64);
    // The study's rule (quality: uncertain, valid range) on the real values and flags.
    const usable = (x: [number, number, number] | null | undefined) => !!x && x[0] >= 0.02 && x[0] <= 0.5 && acceptedByQuality(x[1], "uncertain");
    const observedCell = [...passes.AM, ...passes.PM].some((x) => x && x[0] !== -9999);
    if (observedCell) seenCells++;
    for (let t = 0; t < cube.days; t++) {
      const code = codes[t * nrows * ncols + p]!;
      const day = (["AM", "PM"] as const).map((pass) => passes[pass][t]);
      const accepted = day.some(usable);
      const retrieved = day.some((x) => x && x[0] !== -9999);
      const expected: GapReason | undefined = accepted ? undefined : retrieved ? "rejected_by_quality_rule" : "unknown";
      assert.equal(gapReason(code), expected, `${key} ${cells.days[t]}`);
      if (expected === "rejected_by_quality_rule") rejected++;
      for (const x of day) {
        if (!x || x[0] === -9999) continue;
        if (x[2] & 128) bit7++;
        if (x[2] & 128 && x[1] & 8) bit7WithFtFailed++;
      }
      // What the original flags would say (had the granules kept them): never frozen.
      const real = day.map((x) => (x ? passMissingReason(x[0] === -9999 ? "fill" : "valid", x[1], x[2]) : CAUSE.no_granule));
      const reason = gapReason(combinePassReasons(real[0]!, real[1]!));
      if (reason === "frozen_ground") frozenFromRealFlags++;
      if (reason && observedCell) fromRealFlags[reason] = (fromRealFlags[reason] ?? 0) + 1;
    }
  }
  assert.equal(rejected, counts.rejected_by_quality_rule);
  assert.equal(seenCells, shares.cells);
  // Every Hawaii retrieval has bit 7 set together with retrieval_qual_flag bit 3: "not determined".
  assert.ok(bit7 > 1000 && bit7WithFtFailed === bit7, `${bit7WithFtFailed} of ${bit7}`);
  assert.equal(frozenFromRealFlags, 0);
  t.diagnostic(`Hawaii 2017-2018 gaps: ${JSON.stringify(shares.reasons)}; rejected by condition ${JSON.stringify(shares.rejectedBy)}`);
  t.diagnostic(`Hawaii 2017-2018, reasons the original flags would give: ${JSON.stringify(fromRealFlags)}`);
});

test("Hawaii with quality 'recommended': rejected retrievals carry SMAP's condition, never frozen ground", async (t) => {
  const cubePath = path.join(tempDir(), "hawaii-recommended.zarr");
  await ingestSmap({
    granules: realFile("hawaii_2016_2019", "SPL3SMP"),
    cube: cubePath,
    resolution: "36km",
    bbox: { south: 18.9, north: 20.3, west: -156.1, east: -155.0 },
    start: "2017-01-01",
    end: "2017-12-31",
    quality: "recommended",
    quiet: true,
  });
  const shares = (await missingReasonShares(await Cube.open(cubePath)))!;
  const rejected = shares.reasons.find((r) => r.reason === "rejected_by_quality_rule")!;
  assert.equal(shares.cells, 8, "every pixel with a retrieval counts (8 of the 12 cells), though the rule rejects all but one pixel's");
  assert.ok(rejected.count > 500, `${rejected.count} rejected`);
  assert.equal(shares.rejectedBy.frozen_ground, undefined);
  for (const c of ["dense_vegetation", "mountainous_terrain", "open_water"] as const) assert.ok(shares.rejectedBy[c]! > 0, c);
  t.diagnostic(`Hawaii 2017 (recommended): ${JSON.stringify(shares.reasons)}, rejected by ${JSON.stringify(shares.rejectedBy)}`);
});

test("real Pakistan (re-assembled SPL3SMP_E): missing cells are 'unknown', never outside the swath; days without a granule say so", async (t) => {
  const cubePath = path.join(tempDir(), "pk.zarr");
  const report = await ingestSmap({
    granules: PAKISTAN,
    cube: cubePath,
    resolution: "9km",
    bbox: { south: 25.0, north: 28.5, west: 67.0, east: 73.0 },
    start: "2020-01-25",
    end: "2020-02-03",
    quiet: true,
    chunks: { time: 4 },
  });
  assert.deepEqual(report.missingDays, ["2020-02-01", "2020-02-02", "2020-02-03"]);
  const cube = await Cube.open(cubePath);
  const counts = await reasonCounts(cube);
  assert.deepEqual(Object.keys(counts).sort(), ["no_granule", "observed", "unknown"]);
  assert.equal(counts.no_granule, 3 * 45 * 64);
  assert.equal(report.causes.noOverpass, 0);
  const shares = report.missingReasons!;
  assert.deepEqual(shares.reasons.map((r) => r.reason).sort(), ["no_granule", "unknown"]);
  assert.equal(shares.gaps, counts.unknown! + counts.no_granule!, "every cell is observed at least once in the box");
  // A diagnostic, never a predictor: the models would learn from whether SMAP saw the day.
  assert.ok(!(await readSampleArrays(cube)).dynamic.has(MISSING_REASON_VARIABLE));
  t.diagnostic(`Pakistan 2020-01-25..02-03: ${JSON.stringify(shares.reasons)}`);
});

test("the synthetic world's frozen days are recognised as frozen from its granules' flags", async (t) => {
  const dir = tempDir();
  const { cube: cubePath } = await smallChunkedCube(dir);
  const cube = await Cube.open(cubePath);
  const truth = await Cube.open(path.join(dir, "w", "truth.zarr"));
  const codes = (await readMissingReasons(cube))!;
  const frozen = await truth.readBlock("frozen", 0, cube.days);
  const tally: Record<string, number> = {};
  for (let k = 0; k < codes.length; k++) {
    const reason = gapReason(codes[k]!) ?? "observed";
    tally[`${reason}${frozen[k] ? " (frozen)" : ""}`] = (tally[`${reason}${frozen[k] ? " (frozen)" : ""}`] ?? 0) + 1;
    // Frozen or snow-covered ground is never retrieved; seen by a swath, it is flagged so.
    if (frozen[k]) assert.ok(["frozen_ground", "snow_or_ice", "not_in_swath"].includes(reason), `pixel-day ${k}: ${reason}`);
  }
  assert.ok((tally["frozen_ground (frozen)"] ?? 0) > 1000, JSON.stringify(tally));
  // Flagged frozen without frozen truth: SMAP's pass-time soil temperature crossed 0 degC (it sees 6 am and 6 pm, the truth a daily state).
  assert.ok((tally["frozen_ground"] ?? 0) < 0.15 * tally["frozen_ground (frozen)"]!, JSON.stringify(tally));
  t.diagnostic(JSON.stringify(tally));
});

test("soil or skin temperatures below 0 degC mark gaps (smap.frozen_from), idempotently; other variables are refused", async () => {
  const file = path.join(tempDir(), "c.zarr");
  const cube = await Cube.create(file, {
    resolution: "36km",
    window: { row0: 100, col0: 100, nrows: 1, ncols: 4 },
    start: "2020-01-01",
    days: 3,
    chunks: { time: 2 },
    variables: [
      missingReasonVariable("recommended"),
      { name: "stl_k", kind: "dynamic", units: "K", long_name: "soil temperature" },
      { name: "skin_c", kind: "dynamic", units: "degC", long_name: "skin temperature" },
      { name: "swvl1", kind: "dynamic", units: "m3 m-3", long_name: "soil water" },
    ],
  });
  const reasons = Uint8Array.from([
    ...[CAUSE.observed, CAUSE.unknown, CAUSE.not_in_swath, CAUSE.retrieval_failed_other],
    ...[CAUSE.unknown, CAUSE.unknown, REJECTED_BY_QUALITY | CAUSE.dense_vegetation, CAUSE.frozen_ground],
    ...[CAUSE.unknown, CAUSE.unknown, CAUSE.unknown, CAUSE.unknown],
  ]);
  await cube.writeBlock(MISSING_REASON_VARIABLE, 0, reasons);
  await cube.writeBlock("stl_k", 0, Float32Array.from([270, 270, 270, 272, 280, 280, 280, 280, 280, 280, 280, NaN]));
  await cube.writeBlock("skin_c", 0, Float32Array.from([5, 5, 5, 5, -1, 3, -2, 5, 5, 5, 5, 5]));
  assert.equal(await markBelowFreezing(cube, ["stl_k", "skin_c"]), 5);
  const marked = Uint8Array.from(await cube.readBlock(MISSING_REASON_VARIABLE, 0, 3));
  assert.deepEqual(
    Array.from(marked, (c) => (c & BELOW_FREEZING ? 1 : 0)),
    [0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0],
  );
  assert.deepEqual(Array.from(marked, (c) => gapReason(c) ?? "observed").slice(0, 4), [
    "observed",
    "temperature_below_freezing",
    "not_in_swath",
    "temperature_below_freezing",
  ]);
  assert.equal(await markBelowFreezing(cube, ["stl_k", "skin_c"]), 5, "idempotent");
  assert.equal(await markBelowFreezing(cube, []), 0);
  assert.deepEqual(Uint8Array.from(await cube.readBlock(MISSING_REASON_VARIABLE, 0, 3)), reasons, "an empty list clears every mark");
  await assert.rejects(() => markBelowFreezing(cube, ["swvl1"]), /smap\.frozen_from names 'swvl1'.*not a daily temperature in K or degC/);
});

test("smap.frozen_from must name dynamic predictors of the study", () => {
  const dir = tempDir();
  const text = fs.readFileSync(HAWAII_EXAMPLE, "utf8").replaceAll("../../shared", SHARED);
  const file = path.join(dir, "study.yaml");
  fs.writeFileSync(file, text.replace("frozen_from: [era5_stl1, gldas_soilt0_10]", "frozen_from: [era5_stl1, soil_temp]"));
  assert.throws(() => loadStudy(file), /smap\.frozen_from\[1\]: 'soil_temp' is not a dynamic predictor of this study/);
});

test("a cube of format 1 (before the missing reasons) is refused with what to do", async () => {
  const file = path.join(tempDir(), "old.zarr");
  await Cube.create(file, { resolution: "36km", window: { row0: 100, col0: 100, nrows: 2, ncols: 2 }, start: "2020-01-01", days: 2, variables: [] });
  const meta = JSON.parse(fs.readFileSync(path.join(file, "zarr.json"), "utf8"));
  meta.attributes.smapfill.format_version = 1;
  fs.writeFileSync(path.join(file, "zarr.json"), JSON.stringify(meta));
  await assert.rejects(
    () => Cube.open(file),
    /old\.zarr: is a smapfill cube of format 1; this smapfill reads format 2 .*cubes keep why SMAP is missing, per pixel-day.*Ingest it again/s,
  );
});

test("smapfill inspect shows the share of gaps per reason, and --json gives them to other tools", async () => {
  const cubePath = path.join(tempDir(), "pk.zarr");
  await ingestSmap({
    granules: PAKISTAN,
    cube: cubePath,
    resolution: "9km",
    bbox: { south: 25.0, north: 28.5, west: 67.0, east: 73.0 },
    start: "2020-01-01",
    end: "2020-01-04",
    quiet: true,
  });
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(REPO_ROOT, "bin", "smapfill.js"), "inspect", cubePath, ...args], { encoding: "utf8" });
  const text = run();
  assert.equal(text.status, 0, text.stderr);
  assert.match(
    text.stdout,
    /gaps {7}\d+ of \d+ pixel-days of the \d+ cells SMAP retrieves \(soil_moisture_missing_reason\), by reason:\n {4}unknown +100\.0 %/,
  );
  assert.match(text.stdout, /soil_moisture_missing_reason +dynamic +uint8/);
  const json = JSON.parse(run("--json").stdout);
  assert.equal(json.missing_reasons.reasons[0].reason, "unknown");
  assert.deepEqual(json.missing_reasons, (await Cube.open(cubePath)).attributes.smap_missing_reasons);
});
