/**
 * `smapfill demo`: synthesise a region, ingest its SMAP granules through the real reader into a
 * cube, and tell the user what the data look like (pixels, days, coverage, why values are
 * missing), with a coverage map and a daily coverage chart. Re-running reuses what is done.
 */
import fs from "node:fs";
import path from "node:path";
import { writeReport } from "../report/html-report.js";
import { loadReportInputs } from "../report/report-inputs.js";
import type { SmapIngestReport } from "../cube/ingest-smap.js";
import { ingestStudy } from "../cube/ingest-study.js";
import type { PredictorReport } from "../cube/ingest-predictors.js";
import { describeMissingReasons } from "../cube/missing-reasons.js";
import { loadStudy } from "../config/study.js";
import { writeWorldStudy } from "../synth/world-study.js";
import { writeSmapCoverageQuicklooks } from "../report/quicklooks.js";
import { WORLD_PRESETS, type WorldConfig, type WorldPreset } from "../synth/world.js";
import { writeWorld } from "../synth/write-world.js";
import { formatDay, parseDay } from "../util/dates.js";
import { SmapfillError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { runInfo } from "../util/run-info.js";
import { demoEvaluationConfig, EVALUATION_DEFAULTS, runEvaluation } from "../eval/experiment.js";
import { productAgainstTruth } from "../eval/against-truth.js";
import { modelLabel } from "../models/registry.js";
import { writeEvaluation } from "../report/evaluation-report.js";
import { Cube } from "../cube/cube.js";
import { writeProductFolder } from "../report/product-folder.js";
import { addAssessmentSection } from "../reconstruct/assessment.js";
import { assessProductInsitu } from "../reconstruct/insitu-assessment.js";
import { DEMO_PRODUCT_MODEL, trainProductModel } from "../reconstruct/product-model.js";
import { reconstruct, SOURCE_FLAGS } from "../reconstruct/reconstruct.js";

export interface DemoOptions {
  out: string;
  preset: WorldPreset;
  days?: number;
  seed?: number;
  quiet?: boolean;
  /** Also run a quick evaluation of the models (default true). */
  evaluate?: boolean;
  /** Also train a product model and write the gap-free product (default true). */
  product?: boolean;
}

export interface DemoResult {
  world: WorldConfig;
  report: SmapIngestReport;
  predictors: PredictorReport[];
  files: string[];
  summary: string;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const preset = WORLD_PRESETS[options.preset];
  if (!preset)
    throw new SmapfillError(`unknown preset '${options.preset}'`, { variable: "--preset", hint: `Use one of ${Object.keys(WORLD_PRESETS).join(", ")}` });
  const world: WorldConfig = { ...preset, ...(options.days ? { days: options.days } : {}), ...(options.seed !== undefined ? { seed: options.seed } : {}) };
  const started = Date.now();
  fs.mkdirSync(options.out, { recursive: true });
  const worldDir = path.join(options.out, "world");
  const manifest = path.join(worldDir, "world.json");
  const log = (s: string) => {
    if (!options.quiet) process.stderr.write(`${s}\n`);
  };

  if (fs.existsSync(manifest) && JSON.stringify(JSON.parse(fs.readFileSync(manifest, "utf8")).config) === JSON.stringify(world)) {
    log(`reusing the synthetic world in ${worldDir}`);
  } else {
    // A world from another config (or an interrupted one) is replaced whole.
    fs.rmSync(worldDir, { recursive: true, force: true });
    fs.rmSync(path.join(options.out, "cube.zarr"), { recursive: true, force: true });
    fs.rmSync(path.join(options.out, "evaluation"), { recursive: true, force: true });
    const progress = new Progress("synthesise world", world.days, { quiet: options.quiet });
    const tmp = `${worldDir}.partial`;
    fs.rmSync(tmp, { recursive: true, force: true });
    const written = await writeWorld(world, tmp, { onDay: () => progress.tick() });
    progress.finish();
    fs.renameSync(tmp, worldDir);
    // Paths inside the manifest pointed at the temporary directory.
    fs.writeFileSync(manifest, fs.readFileSync(manifest, "utf8").replaceAll(tmp, worldDir));
    void written;
  }

  const cubePath = path.join(options.out, "cube.zarr");
  const end = formatDay(parseDay(world.start) + world.days - 1);
  const study = loadStudy(writeWorldStudy(worldDir, world, path.relative(worldDir, cubePath)));
  const { smap: report, predictors } = await ingestStudy(study, { quiet: options.quiet });

  const { nrows, ncols } = report.window;
  const mapFile = path.join(options.out, "coverage_map.png");
  const chartFile = path.join(options.out, "coverage_daily.png");
  const dates = Array.from({ length: report.days }, (_, t) => formatDay(parseDay(world.start) + t));
  const subtitle = `synthetic world, ${world.start} to ${end}, ${nrows} x ${ncols} cells of 9 km`;
  const { grid } = await Cube.open(cubePath);
  await writeSmapCoverageQuicklooks({ mapFile, chartFile, subtitle }, grid, report.window, report.coveragePerCell, report.coveragePerDay, dates);

  let summary = describe(world, report, predictors, options.out);
  const files = [cubePath, mapFile, chartFile];
  if (options.evaluate !== false) {
    const evalOut = path.join(options.out, "evaluation");
    const outcome = await runEvaluation(demoEvaluationConfig(cubePath, evalOut, path.join(worldDir, "ismn")), { log });
    files.push(...(await writeEvaluation(evalOut, outcome)));
    const evaluation = outcome.result;
    const gaps = evaluation.splits[0]!;
    const ablation = gaps.ablations[0]?.rmseReduction ?? NaN;
    summary += [
      "",
      `  evaluate  ${gaps.samples.train} training / ${gaps.samples.test} test samples (simulated gaps), quick settings (10 epochs; the Transformer`,
      `            is left out here; smapfill evaluate runs all six): test RMSE against the hidden SMAP values`,
      ...gaps.models.map((m) => `            ${modelLabel(m.model).padEnd(14)} ${m.test.rmse.value.toFixed(4)}  R ${m.test.r.value.toFixed(3)}`),
      `            time-series features: TsSMNet's RMSE ${ablation >= 0 ? "lower" : "higher"} by ${(100 * Math.abs(ablation)).toFixed(1)} % than without them`,
      ...(evaluation.insitu
        ? [
            `            in situ (${evaluation.insitu.stationsInside} stations), pooled RMSE over station-days: SMAP ${evaluation.insitu.smap.pooled.rmse.value.toFixed(4)}, TsSMNet ${evaluation.insitu.models[0]!.observed.pooled.rmse.value.toFixed(4)} on observed days, ${evaluation.insitu.models[0]!.gap.pooled.rmse.value.toFixed(4)} on gap days`,
          ]
        : []),
      `            tables and pictures: ${path.join(evalOut, "report.md")}`,
    ].join("\n");
  }
  if (options.product !== false) {
    const p = await demoProduct(cubePath, path.join(worldDir, "truth.zarr"), options.out, log);
    files.push(...p.files);
    summary += `\n${p.summary}`;
  }
  // The report over everything above, and the viewer's command: the demo ends with their paths.
  if (options.evaluate !== false || options.product !== false) {
    const reportFile = path.join(options.out, "report.html");
    fs.rmSync(reportFile, { force: true });
    log("writing the HTML report");
    await writeReport(await loadReportInputs([options.out]), reportFile, "smapfill demo: a synthetic year");
    files.push(reportFile);
    if (options.product !== false)
      summary += `\n  viewer    npx smapfill serve ${path.join(options.out, "product")}${options.evaluate !== false ? ` --evaluation ${path.join(options.out, "evaluation")}` : ""}`;
    summary += `\n  report    ${path.resolve(reportFile)}`;
  }
  const summaryFile = path.join(options.out, "demo-summary.json");
  const json = {
    run: runInfo(),
    world,
    seconds: (Date.now() - started) / 1000,
    smap: {
      cells: report.cells,
      observedCells: report.observedCells,
      days: report.days,
      granulesRead: report.granulesRead,
      failures: report.failures,
      missingDays: report.missingDays,
      missingShare: report.missingShare,
      causes: report.causes,
      missingReasons: report.missingReasons,
      coveragePerDay: Array.from(report.coveragePerDay),
    },
    predictors,
  };
  fs.writeFileSync(`${summaryFile}.tmp`, JSON.stringify(json, null, 2));
  fs.renameSync(`${summaryFile}.tmp`, summaryFile);
  return { world, report, predictors, files: [...files, summaryFile], summary };
}

function pct(v: number): string {
  return `${(100 * v).toFixed(1)} %`;
}

function stats(values: ArrayLike<number>) {
  const finite = Array.from(values).filter(Number.isFinite);
  const mean = finite.reduce((s, v) => s + v, 0) / Math.max(1, finite.length);
  return { mean, min: Math.min(...finite), max: Math.max(...finite) };
}

function describe(world: WorldConfig, r: SmapIngestReport, predictors: PredictorReport[], out: string): string {
  const b = world.bbox;
  const day = stats(r.coveragePerDay);
  const cell = stats(r.coveragePerCell);
  const c = r.causes;
  const passCells = c.observed + c.noOverpass + c.retrievalFailed + c.rejected + c.unknown;
  const w = r.window;
  return [
    `smapfill demo: a synthetic region (made by smapfill, not real data), seed ${world.seed}`,
    `  region    EASE2_M09km rows ${w.row0}-${w.row0 + w.nrows - 1}, cols ${w.col0}-${w.col0 + w.ncols - 1}: ${w.nrows} x ${w.ncols} = ${r.cells} cells (${r.observedCells} ever observed), ${b.south}-${b.north} N, ${b.west}-${b.east} E`,
    `  period    ${world.start} + ${r.days} days; ${r.granulesRead} granules read, ${r.failures.length} failed, ${r.missingDays.length} days without a granule`,
    `  SMAP      observed pixel-days ${pct(1 - r.missingShare)}, missing ${pct(r.missingShare)} (AM first, PM fills)`,
    `            per day:   mean ${pct(day.mean)}, min ${pct(day.min)}, max ${pct(day.max)}`,
    `            per pixel: mean ${pct(cell.mean)}, min ${pct(cell.min)}, max ${pct(cell.max)}`,
    `  per pass  of ${passCells} AM+PM pass-cells: ${pct(c.observed / passCells)} retrieved, ${pct(c.noOverpass / passCells)} outside the swath, ${pct(c.retrievalFailed / passCells)} frozen/snow/RFI, ${pct(c.rejected / passCells)} rejected (quality, range)`,
    ...(r.missingReasons ? describeMissingReasons(r.missingReasons) : []),
    `  predictors ${predictors.length} (${predictors.reduce((n, p) => n + p.variables.length, 0)} cube variables), share of cell-days with a value:`,
    ...predictors.map((p) => `            ${p.variables.map((v) => `${v} ${pct(p.coverage[v]!)}`).join(", ")}  [${p.method}]`),
    `  stations  ${world.stations} ISMN-format stations in ${path.join(out, "world", "ismn")}`,
    `  wrote     ${path.join(out, "cube.zarr")}, coverage_map.png, coverage_daily.png, demo-summary.json`,
  ].join("\n");
}

/**
 * The demo's product: a boosted-trees product model (quick settings), the gap-free product in
 * every format, and its accuracy where only a synthetic world can tell: against the truth on the
 * reconstructed pixel-days, beside SMAP's own error on its observed days.
 */
async function demoProduct(cubePath: string, truthPath: string, out: string, log: (s: string) => void): Promise<{ files: string[]; summary: string }> {
  const modelDir = path.join(out, "product-model");
  const productDir = path.join(out, "product");
  const cube = await Cube.open(cubePath);
  if (!fs.existsSync(path.join(modelDir, "fit.json"))) {
    log(`training the product model (${modelLabel(DEMO_PRODUCT_MODEL.model)}, ${DEMO_PRODUCT_MODEL.maxSamples} rows)`);
    await trainProductModel(cube, { ...DEMO_PRODUCT_MODEL, params: { ...DEMO_PRODUCT_MODEL.params }, out: modelDir, seed: 0, log });
  }
  const store = path.join(productDir, "product.zarr");
  // The same folder reconstruct writes (a finished product is resumed in no time and kept).
  log("reconstructing the gap-free product");
  const report = await reconstruct({ cube: cubePath, model: modelDir, out: store, log });
  const product = await Cube.open(store);
  const { coverage } = await writeProductFolder({ out: productDir, product, cube, model: modelDir, formats: ["netcdf", "cog", "zarr2"], report });
  const T = cube.days;
  const truthCube = await Cube.open(truthPath);
  const scores = productAgainstTruth({
    smap: await cube.readBlock("soil_moisture", 0, T),
    truth: await truthCube.readBlock("soil_moisture_true", 0, T),
    frozen: await truthCube.readBlock("frozen", 0, T),
    product: await product.readBlock("soil_moisture", 0, T),
    uncertainty: await product.readBlock("soil_moisture_uncertainty", 0, T),
    // Frozen: the days the product flags so (from SMAP's own flags, as on real data).
    source: await product.readBlock("soil_moisture_source", 0, T),
    frozenFlag: SOURCE_FLAGS.reconstructed_frozen,
  });
  const { reconstructed, smapObserved, frozen, elsewhere } = scores;
  // The report's first section shows these scores (only a synthetic world can give them).
  const row = (label: string, m: { n: number; rmse: number; bias: number; r: number }, inside90?: number) => ({
    label,
    n: m.n,
    rmse: m.rmse,
    bias: m.bias,
    r: m.r,
    inside90,
  });
  addAssessmentSection(productDir, {
    id: "synthetic-truth",
    title: "Against the synthetic truth",
    reference: "synthetic truth",
    description:
      "The demo world knows the soil moisture SMAP did not see: every reconstructed pixel-day is scored against it, on the days the product flags frozen (reconstructed_frozen: SMAP's flags say frozen ground or snow; their uncertainty is set without any truth, as none exists on real data) and elsewhere, beside SMAP's own error on the days it observed.",
    rows: [
      row("reconstructed values", reconstructed, scores.inside90),
      ...(frozen ? [row("  flagged frozen", frozen, frozen.inside90)] : []),
      ...(elsewhere ? [row("  elsewhere", elsewhere, elsewhere.inside90)] : []),
      row("SMAP on its observed days", smapObserved),
    ],
  });
  // The product against the demo world's stations on the days SMAP missed (report.md, insitu.json).
  const insitu = await assessProductInsitu(productDir, product, {
    ismn: path.join(path.dirname(truthPath), "ismn"),
    flags: EVALUATION_DEFAULTS.ismnFlags,
    maxDepth: EVALUATION_DEFAULTS.ismnMaxDepth,
  });
  const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
  return {
    files: [store, path.join(productDir, "product.nc"), path.join(productDir, "product_cog"), path.join(productDir, "product_v2.zarr")],
    summary: [
      `  product   gap-free soil moisture in ${productDir} (Zarr v3, NetCDF-4, COG, Zarr v2): land pixel-days with a value ${pct(coverage.overall.before)} -> ${pct(coverage.overall.after)}`,
      `            made by ${modelLabel(DEMO_PRODUCT_MODEL.model)}: the best on transplanted gaps (SMAP's real masks moved in time) and level with the forest against in situ (docs/product.md#which-product-model)`,
      `            against the synthetic truth: reconstructed values RMSE ${reconstructed.rmse.toFixed(4)} (${reconstructed.n} pixel-days), SMAP's own RMSE ${smapObserved.rmse.toFixed(4)} on its observed days;`,
      `            the truth lies inside the 90 % uncertainty interval on ${pct(scores.inside90)} of the reconstructed pixel-days;`,
      `            on the days flagged frozen (${frozen!.n} of them, where SMAP never retrieves) RMSE ${frozen!.rmse.toFixed(4)}, bias ${frozen!.bias.toFixed(4)}, ${pct(frozen!.inside90)} inside the 90 % interval; elsewhere RMSE ${elsewhere!.rmse.toFixed(4)}, bias ${elsewhere!.bias.toFixed(4)}, ${pct(elsewhere!.inside90)} inside`,
      `            against in situ (${insitu.stations.length} stations): the product on gap days RMSE ${insitu.product.pooled.rmse.toFixed(4)} pooled, ${insitu.product.stationMean.rmse.toFixed(4)} mean over stations; SMAP on its days ${insitu.smap.pooled.rmse.toFixed(4)} pooled, ${insitu.smap.stationMean.rmse.toFixed(4)} mean over stations`,
    ].join("\n"),
  };
}
