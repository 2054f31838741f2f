import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { REPO_ROOT, realFile, tempDir } from "../helpers.js";
import zlib from "node:zlib";
import { readDataset } from "../../src/features/dataset.js";
import { Role } from "../../src/features/roles.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");

function smapfill(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("smapfill demo (test preset) synthesises, ingests, summarises, draws and evaluates; a rerun reuses the work", () => {
  const out = path.join(tempDir(), "demo");
  const first = smapfill("demo", "--preset", "test", "--out", out);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /smapfill demo: a synthetic region/);
  assert.match(first.stdout, /region\s+EASE2_M09km rows \d+-\d+, cols \d+-\d+: \d+ x \d+ = \d+ cells/);
  assert.match(first.stdout, /SMAP\s+observed pixel-days \d+\.\d %, missing \d+\.\d %/);
  assert.match(first.stdout, /per pass .* outside the swath/);
  assert.match(first.stdout, /evaluate {2}\d+ training \/ \d+ test samples \(simulated gaps\)/);
  assert.match(first.stdout, /TsSMNet-noTS +0\.\d{4} {2}R 0\.\d{3}/);
  assert.match(first.stdout, /in situ \(\d+ stations\), pooled RMSE over station-days: SMAP 0\.\d{4}/);
  assert.ok(fs.existsSync(path.join(out, "evaluation", "report.md")));
  // The demo ends with the HTML report's path, after the viewer's command.
  assert.match(first.stdout, /viewer {4}npx smapfill serve \S+product --evaluation \S+evaluation\n {2}report {4}\/\S+report\.html\n$/);
  const html = fs.readFileSync(path.join(out, "report.html"), "utf8");
  assert.match(html, /<section id="models">/);
  // The report's first section is the product, with the demo's scores against its truth.
  assert.match(html, /^[\s\S]*?<section id="product"><h2>The product<\/h2>[\s\S]*Against the synthetic truth[\s\S]*<section id="study">/);
  // The demo's product folder is the one reconstruct writes.
  for (const f of ["product.json", "README.txt", "stac/collection.json", "assessment.json", "coverage_before.png", "coverage_daily_after.png", "product.nc"])
    assert.ok(fs.existsSync(path.join(out, "product", f)), `product/${f}`);
  for (const f of ["coverage_map.png", "coverage_daily.png", "demo-summary.json", "cube.zarr/zarr.json", "world/world.json"]) {
    assert.ok(fs.existsSync(path.join(out, f)), f);
  }
  assert.deepEqual([...fs.readFileSync(path.join(out, "coverage_map.png")).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "demo-summary.json"), "utf8"));
  assert.equal(summary.world.days, 45);
  assert.equal(summary.smap.granulesRead, 45);
  assert.ok(summary.run.node.startsWith("v"));
  const second = smapfill("demo", "--preset", "test", "--out", out);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /reusing the synthetic world/);
  assert.match(second.stderr, /done before/);
  assert.equal(second.stdout, first.stdout);
});

test("smapfill ingest-smap on the real Pakistan granules, and inspect on a real NASA file", () => {
  const cube = path.join(tempDir(), "pk.zarr");
  const r = smapfill(
    "ingest-smap",
    realFile("pakistan_2020", "SPL3SMP_E"),
    "--cube",
    cube,
    "--bbox",
    "25,28.5,67,73",
    "--start",
    "2020-06-01",
    "--end",
    "2020-06-30",
    "--quiet",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /45 x 64 cells \(\d+ observed\), 30 days, 30 granules/);
  const i = smapfill("inspect", realFile("smap_formats", "SMAP_L4_SM_aup_input.h5"));
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /\/Analysis_Data\/sm_surface_analysis {2}\[508 x 1123\] <f/);
});

test("smapfill ingest builds a study's cube from a YAML config, and reports bad configs by key", () => {
  const dir = tempDir();
  const example = path.join(REPO_ROOT, "examples", "pakistan-2020-01.yaml");
  const text = fs
    .readFileSync(example, "utf8")
    .replaceAll("../../shared", path.join(REPO_ROOT, "..", "shared"))
    .replace(/^output: .*$/m, `output: ${path.join(dir, "pk.zarr")}`);
  const config = path.join(dir, "study.yaml");
  fs.writeFileSync(config, text);
  const r = smapfill("ingest", config, "--quiet");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pakistan-2020-01: .*pk\.zarr/);
  assert.match(r.stdout, /era5_swvl1\s+100\.0 % with a value \(bilinear\)/);
  assert.match(r.stdout, /era5_land_fraction\s+100\.0 % with a value \(average\)/);
  fs.writeFileSync(config, text.replace("aggregation: overpass_am", "aggregation: sometimes"));
  const bad = smapfill("ingest", config);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /study\.yaml: invalid study config:\n {2}predictors\[1\]\.aggregation: .*expected one of mean, sum/);
});

test("bad input exits with status 2 and one clear line", () => {
  const bbox = smapfill("ingest-smap", "x", "--cube", "c.zarr", "--bbox", "25,28.5,67", "--start", "2020-01-01", "--end", "2020-01-02");
  assert.notEqual(bbox.code, 0);
  assert.match(bbox.stderr, /SOUTH,NORTH,WEST,EAST/);
  const missing = smapfill(
    "ingest-smap",
    "/nonexistent/granules",
    "--cube",
    path.join(tempDir(), "c.zarr"),
    "--bbox",
    "25,28.5,67,73",
    "--start",
    "2020-01-01",
    "--end",
    "2020-01-02",
  );
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr.trim(), "error: /nonexistent/granules: directory not found. Check the SMAP granule path in your config");
  const notHdf = smapfill("inspect", path.join(REPO_ROOT, "package.json"));
  assert.equal(notHdf.code, 2);
  assert.match(notHdf.stderr, /package\.json: not an HDF5\/NetCDF-4 file/);
});

test("smapfill evaluate: models on simulated gaps, in situ, importance, tables; a re-run resumes; bad settings are refused", () => {
  const dir = tempDir();
  const demo = smapfill("demo", "--preset", "test", "--out", dir, "--quiet", "--no-evaluate");
  assert.equal(demo.code, 0, demo.stderr);
  const out = path.join(dir, "eval");
  const args = [
    "evaluate",
    path.join(dir, "cube.zarr"),
    "--out",
    out,
    "--models",
    "tssmnet,tssmnet_nots,rf,xgb",
    "--ismn",
    path.join(dir, "world", "ismn"),
    "--write-dataset",
    "--ablation",
    "xgb",
  ];
  args.push(
    "--max-epochs",
    "2",
    "--max-train-samples",
    "1500",
    "--rf-trees",
    "10",
    "--xgb-rounds",
    "30",
    "--boot",
    "100",
    "--importance-rows",
    "300",
    "--importance-repeats",
    "1",
  );
  const first = smapfill(...args);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /gaps split, \d+ test samples:/);
  assert.match(first.stdout, /TsSMNet-noTS +RMSE 0\.\d{4} ubRMSE 0\.\d{4} R /);
  for (const f of [
    "evaluation.json",
    "metrics.csv",
    "insitu.csv",
    "insitu_stations.csv",
    "importance.csv",
    "report.md",
    "figures/rmse_gaps.png",
    "figures/scatter_tssmnet_gaps.png",
  ])
    assert.ok(fs.existsSync(path.join(out, f)), f);
  assert.equal(fs.readdirSync(path.join(out, "figures")).filter((f) => f.startsWith("station_")).length, 3);
  const result = JSON.parse(fs.readFileSync(path.join(out, "evaluation.json"), "utf8"));
  const gaps = result.splits[0];
  assert.equal(gaps.split, "gaps");
  assert.deepEqual(
    gaps.models.map((m: { model: string }) => m.model),
    ["tssmnet", "tssmnet_nots", "rf", "xgb"],
  );
  assert.equal(gaps.samples.train, 1500);
  for (const m of gaps.models) {
    assert.equal(m.test.n, gaps.samples.test);
    assert.ok(m.test.rmse.value > 0 && m.test.rmse.value < 0.2, `${m.model} ${m.test.rmse.value}`);
    assert.ok(m.test.rmse.ciLow <= m.test.rmse.value && m.test.rmse.value <= m.test.rmse.ciHigh);
  }
  assert.equal(gaps.reference, "tssmnet");
  assert.deepEqual([gaps.ablations[0].with, gaps.ablations[0].without], ["tssmnet", "tssmnet_nots"]);
  assert.ok(Math.abs(gaps.ablations[0].rmseReduction - gaps.models[1].referenceRmseReduction) < 1e-12);
  assert.equal(gaps.withoutTs.length, 1);
  const xgbWith = gaps.models.find((m: { model: string }) => m.model === "xgb").test.rmse.value;
  const xgbWithout = gaps.withoutTs[0].test.rmse.value;
  assert.ok(Math.abs(gaps.withoutTs[0].tsRmseReduction - (xgbWithout - xgbWith) / xgbWithout) < 1e-12);
  assert.equal(result.insitu.stationsInside, 4);
  assert.equal(result.insitu.models.length, 4);
  assert.ok(result.insitu.smap.pooled.n > 0);
  assert.equal(result.importance[0].model, "tssmnet");
  assert.deepEqual([...result.importance[0].result.groups.map((g: { name: string }) => g.name)].sort(), ["calendar", "dynamic", "static", "ts"]);
  const csvLines = fs.readFileSync(path.join(out, "metrics.csv"), "utf8").trim().split("\n");
  assert.equal(csvLines.length, 6);
  assert.match(csvLines[0]!, /^split,model,n,rmse,rmse_ci_low,rmse_ci_high,/);
  const report = fs.readFileSync(path.join(out, "report.md"), "utf8");
  assert.match(report, /## In situ \(daily values\)/);
  // The RMSE by gap kind, one row per model.
  assert.match(
    report,
    /Test RMSE by gap kind \(m3\/m3\):\n\n\| model( \| (block|run|swath|transplanted) RMSE){4} \|\n(\|---){5}\|\n\| TsSMNet( \| (0\.\d{4}|-)){4} \|/,
  );
  // Real gaps moved in time, by why SMAP missed the donor day (spring thaw: frozen ground among them).
  assert.match(
    report,
    /Transplanted gaps \(SMAP's own masks of other days laid over observed days\) by why SMAP missed the donor day.*\n\n\| model \| transplanted \(\d+\) \|.*frozen_ground \(\d+\)/,
  );
  // The samples used, in the interchange format: exactly the training, validation, calibration and test rows.
  const written = readDataset(path.join(out, "datasets", "gaps"));
  assert.deepEqual(
    [Role.Train, Role.Validation, Role.Calibration, Role.Test].map((k) => written.role.filter((s) => s === k).length),
    [gaps.samples.train, gaps.samples.validation, gaps.samples.calibration, gaps.samples.test],
  );
  // Every test row's estimates, per model, as they were scored.
  const lines = zlib
    .gunzipSync(fs.readFileSync(path.join(out, gaps.predictions)))
    .toString()
    .trim()
    .split("\n");
  assert.equal(
    lines[0],
    "row,col,date,smap,gap_kind,tssmnet,tssmnet_sigma,tssmnet_nots,tssmnet_nots_sigma,rf,rf_sigma,xgb,xgb_sigma,xgb-without-ts,xgb-without-ts_sigma",
  );
  assert.equal(lines.length - 1, gaps.samples.test);
  // Each model folder is a product model (reconstruct takes it): its uncertainty was calibrated on the calibration gaps.
  for (const m of ["tssmnet", "xgb"]) assert.ok(fs.existsSync(path.join(out, "models", "gaps", m, "uncertainty.json")), m);

  const again = smapfill(...args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((again.stderr.match(/reusing the model trained before/g) ?? []).length, 5);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, "evaluation.json"), "utf8")).splits[0].models[0].test.rmse.value, gaps.models[0].test.rmse.value);

  const changed = smapfill(...args, "--seed", "3");
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /holds an evaluation made with other settings/);
  const random = smapfill("evaluate", path.join(dir, "cube.zarr"), "--out", path.join(dir, "r"), "--splits", "random,gaps");
  assert.equal(random.code, 2);
  assert.match(random.stderr, /random pixel-day split cannot be the headline/);
  const badModel = smapfill("evaluate", path.join(dir, "cube.zarr"), "--out", path.join(dir, "r"), "--models", "tssmnet,svm");
  assert.notEqual(badModel.code, 0);
  assert.match(badModel.stderr, /unknown model 'svm'/);
});

test("out-of-range options are refused with their range, never replaced by a default; no stack traces", () => {
  const dir = tempDir();
  const cases: [string[], RegExp][] = [
    [["--threads", "0", "inspect", "x.h5"], /--threads <n>' argument '0' is invalid\. expected a whole number >= 1, got 0/],
    [["evaluate", "c.zarr", "--out", dir, "--max-epochs", "0"], /--max-epochs <n>' argument '0' is invalid\. expected a whole number >= 1, got 0/],
    [["evaluate", "c.zarr", "--out", dir, "--xgb-rounds", "-5"], /expected a whole number >= 1, got -5/],
    [["evaluate", "c.zarr", "--out", dir, "--param", "xgb.eta"], /'xgb\.eta' is not a parameter assignment/],
    [["synth", "--out", path.join(dir, "w"), "--days", "0"], /--days <n>' argument '0' is invalid/],
    [["evaluate", "c.zarr", "--out", dir, "--test-share", "1.5"], /expected a share between 0 and 1, got '1\.5'/],
  ];
  for (const [args, message] of cases) {
    const r = smapfill(...args);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.ok(!fs.existsSync(path.join(dir, "w")));
  const granule = realFile("smap_formats", "SMAP_L4_SM_aup_input.h5");
  const file = smapfill("ingest-smap", granule, "--cube", path.join(dir, "c.zarr"), "--bbox", "25,28.5,67,73", "--start", "2020-01-01", "--end", "2020-01-02");
  assert.equal(file.code, 2);
  assert.match(file.stderr, /SMAP_L4_SM_aup_input\.h5: is a file, but a directory of granules is expected\. Give the folder/);
  const bad = smapfill("evaluate", path.join(dir, "none.zarr"), "--out", path.join(dir, "e"), "--param", "xgb.trees=5");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /xgb has no parameter 'trees'/);
});

test("docs/cli.md is the reference generated from the option declarations (npm run docs:cli)", async () => {
  const { cliReference } = await import("../../src/cli/reference.js");
  const expected = cliReference();
  const actual = fs.readFileSync(path.join(REPO_ROOT, "docs", "cli.md"), "utf8");
  assert.equal(actual, expected, "docs/cli.md is stale: run npm run docs:cli");
  for (const flag of ["--threads", "--param", "--reference", "--ablation-pairs", "--transformer-max-epochs", "--keep-passes"])
    assert.ok(actual.includes(flag), flag);
});

test("--help shows defaults as typed and marks required options", () => {
  const r = spawnSync(process.execPath, [BIN, "reconstruct", "--help"], { encoding: "utf8" });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--format <list>[\s\S]*\(default: netcdf\)/);
  assert.match(r.stdout, /--model <dir>[\s\S]*?\(required\)/);
  assert.doesNotMatch(r.stdout, /default: \[/, "no JSON arrays");
  const e = spawnSync(process.execPath, [BIN, "export", "--help"], { encoding: "utf8" });
  assert.match(e.stdout, /\(default: netcdf,cog,zarr2\)/);
});
