/**
 * The experiment of the paper, on any cube: the models trained on the same splits, scored on
 * held-out SMAP (simulated gaps by default: real retrievals hidden in swath, block and run
 * shapes, unseen by the models and by the time-series features), against in-situ stations
 * (original SMAP, reconstruction on observed days, reconstruction on gap days), with the
 * relative RMSE reduction of the reference model against each, the ablation pairs and
 * permutation feature importance.
 *
 * It returns results and the arrays the figures need; drawing and writing them is report/'s job.
 * Resumable: every trained model is saved under out/models/SPLIT/MODEL and reused by a re-run
 * with the same settings; a re-run with other settings is refused rather than mixing results.
 */
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../cube/cube.js";
import { writeDataset } from "../features/dataset.js";
import { roleCounts } from "../features/roles.js";
import { buildSamples, FeatureBuilder, readSampleArrays, subsetSamples, type SampleTable } from "../features/samples.js";
import { modelEntry, resolveParams } from "../models/registry.js";
import { Rng } from "../util/random.js";
import { columnsWithout, selectColumns, type ModelName, type Regressor } from "../models/regressor.js";
import { SmapfillError } from "../util/errors.js";
import { runInfo } from "../util/run-info.js";
import { checkEvaluationConfig, settingsKey, SPLIT_DESCRIPTIONS, type EvaluationConfig, type SplitName } from "./config.js";
import { permutationImportance, type ImportanceResult } from "./importance.js";
import { evaluate, pointMetrics, resampler, type Metrics } from "./metrics.js";
import { rowsOf, schemaColumns, trainOrLoad, type Rows } from "./model-runs.js";
import { GAP_KINDS, splitRoles } from "./splits.js";
import { gapReason, readMissingReasons } from "../cube/missing-reasons.js";
import { coverageTable, DISTANCE_LABELS, distanceBins, ResidualModel, type CoverageRow } from "./uncertainty.js";
import { readStations, stationResults, type InsituResult, type StationData, type StationSeries } from "./stations.js";

export * from "./config.js";
export type { InsituResult } from "./stations.js";

export interface ModelScore {
  model: ModelName;
  test: Metrics;
  trainSeconds: number;
  trainRows: number;
  fit: Record<string, unknown>;
  /** (RMSE of this model - RMSE of the reference) / RMSE of this model; positive = the reference is better. */
  referenceRmseReduction?: number;
  /** Calibration of the uncertainty (residual model fitted on the validation gaps) on the test rows; byReason: the transplanted test gaps by their donor mask's missing reason. */
  uncertainty?: { byKind: CoverageRow[]; byDistance: CoverageRow[]; byReason?: CoverageRow[] };
  /** RMSE on the validation rows (early stopping, weights, the uncertainty's calibration). */
  validationRmse?: number;
}

export interface AblationScore {
  with: ModelName;
  without: ModelName;
  /** (RMSE without - RMSE with) / RMSE without: what the left-out group brings. */
  rmseReduction: number;
  /** RMSE with - RMSE without on the same test rows, with a paired bootstrap 95 % CI. */
  rmseDifference?: { value: number; ciLow: number; ciHigh: number };
}

export interface SplitResult {
  split: SplitName;
  description: string;
  roles: ReturnType<typeof roleCounts>;
  samples: { train: number; validation: number; test: number };
  models: ModelScore[];
  /** The model the others are compared with, when it was evaluated. */
  reference?: ModelName;
  ablations: AblationScore[];
  /** Models trained again without the ts group: (RMSE without - RMSE with) / RMSE without. */
  withoutTs: { model: ModelName; test: Metrics; trainSeconds: number; tsRmseReduction: number }[];
}

export interface EvaluationResult {
  run: ReturnType<typeof runInfo>;
  config: EvaluationConfig;
  cube: { path: string; start: string; days: number; window: Cube["window"]; features: string[]; groups: string[] };
  splits: SplitResult[];
  insitu?: InsituResult;
  importance: { model: ModelName; rows: number; result: ImportanceResult }[];
  /** Problems worth a look (predictors with many missing values, ...), also logged. */
  warnings: string[];
  /** Figure files, filled in by the report that draws them. */
  figures: string[];
  seconds: number;
}

/** What the figures show beyond the result's numbers (arrays too large for evaluation.json). */
export interface EvaluationFigureData {
  /** The featured model's estimates against the hidden SMAP values of the headline split. */
  scatter?: { model: ModelName; split: SplitName; reference: Float32Array; estimate: Float32Array };
  /** Time series of the best-covered stations. */
  stations: StationSeries[];
  /** The featured model's estimates and the in-situ values on every station day with both. */
  insituPairs?: { model: ModelName; insitu: Float32Array; estimate: Float32Array };
  /** The cube's dates (the stations' time axis). */
  dates: string[];
}

export interface EvaluationOutcome {
  result: EvaluationResult;
  figures: EvaluationFigureData;
}

export interface EvaluationHooks {
  log?: (message: string) => void;
}

function writeJsonAtomic(file: string, value: unknown): void {
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** Refuses an output folder that holds an evaluation made with other settings; records ours. */
function claimOutput(c: EvaluationConfig): void {
  fs.mkdirSync(c.out, { recursive: true });
  const settingsFile = path.join(c.out, "settings.json");
  if (fs.existsSync(settingsFile)) {
    const before = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
    if (before.key !== settingsKey(c))
      throw new SmapfillError("holds an evaluation made with other settings", {
        file: c.out,
        hint: "Use another --out, or delete the folder to start again",
      });
  } else writeJsonAtomic(settingsFile, { key: settingsKey(c), cube: path.resolve(c.cube) });
}

export async function runEvaluation(c: EvaluationConfig, hooks: EvaluationHooks = {}): Promise<EvaluationOutcome> {
  const log = hooks.log ?? (() => {});
  const started = performance.now();
  checkEvaluationConfig(c);
  claimOutput(c);

  const cube = await Cube.open(c.cube);
  const { nrows, ncols } = cube.window;
  log(`reading ${c.cube}: ${nrows} x ${ncols} cells, ${cube.days} days`);
  const arrays = await readSampleArrays(cube, { coordinates: c.coordinates });
  const observed = arrays.smap.reduce((n, v) => n + (Number.isNaN(v) ? 0 : 1), 0);
  if (observed < 100)
    throw new SmapfillError(`has only ${observed} SMAP values`, { file: c.cube, variable: "soil_moisture", hint: "Evaluate a larger region or period" });

  const result: EvaluationResult = {
    run: runInfo(),
    config: c,
    cube: { path: path.resolve(c.cube), start: cube.start, days: cube.days, window: cube.window, features: [], groups: [] },
    splits: [],
    importance: [],
    figures: [],
    warnings: predictorWarnings(arrays),
    seconds: 0,
  };
  for (const w of result.warnings) log(`warning: ${w}`);
  const figures: EvaluationFigureData = { stations: [], dates: cube.dates() };
  const stations = c.ismn ? readStations({ ...c, ismn: c.ismn }, cube, log) : undefined;
  if (c.splits.includes("stations") && !stations)
    throw new SmapfillError("the stations split needs station data", { variable: "--splits", hint: "Give --ismn" });
  const stationPixels = [...new Set(stations?.collocated.stations.map((st) => st.pixel) ?? [])];
  // Why SMAP is missing, per pixel-day: the transplanted gaps' rows carry their donor cell's reason.
  const missingReasons = await readMissingReasons(cube);
  const featured = c.models.includes(c.reference) ? c.reference : c.models[0]!;

  for (const [s, split] of c.splits.entries()) {
    const kinds = new Uint8Array(arrays.smap.length);
    const donorReasons = new Uint8Array(arrays.smap.length);
    const roles = splitRoles(split, arrays.smap, nrows, ncols, { validation: c.validationShare, test: c.testShare }, c.seed, stationPixels, kinds, {
      missingReasons,
      reasonsOut: donorReasons,
    });
    const features = new FeatureBuilder(arrays, roles, { tsMode: c.tsMode ?? "out-of-fold", seed: c.seed, spatial: Boolean(c.spatial) });
    const d = buildSamples(arrays, roles, features);
    result.cube.features = d.names;
    result.cube.groups = d.groups;
    const train = rowsOf(d, 0, c.maxTrainSamples, c.seed);
    const validation = rowsOf(d, 1, c.maxValidationSamples, c.seed + 1);
    const test = rowsOf(d, 2, Infinity, 0);
    // CIs resample whole days of test rows (metrics.ts): one day's errors share its weather.
    const testDays = Int32Array.from(test.index, (i) => d.day[i]!);
    if (train.n < 10 || validation.n < 2 || test.n < 2)
      throw new SmapfillError(`the ${split} split leaves ${train.n} training, ${validation.n} validation and ${test.n} test samples`, {
        file: c.cube,
        hint: "Evaluate a larger region or period, or change --test-share",
      });
    log(`split ${split}: ${train.n} training, ${validation.n} validation, ${test.n} test samples, ${d.names.length} features`);
    if (c.writeDataset) {
      const used = [...train.index, ...validation.index, ...test.index].sort((a, b) => a - b);
      writeDataset(path.join(c.out, "datasets", split), subsetSamples(d, used), features.schema(), {
        source: path.resolve(c.cube),
        split,
        description: SPLIT_DESCRIPTIONS[split],
        seed: c.seed,
      });
    }

    const schema = features.schema();
    const trained = new Map<ModelName, Regressor>();
    const scores: ModelScore[] = [];
    let headlineEstimate: Float32Array | undefined;
    let featuredResidual: ResidualModel | undefined;
    const predictions = new Map<ModelName, Float32Array>();
    for (const name of c.models) {
      const filler = modelEntry(name).fill;
      if (filler) {
        // A cube-level gap filler: the window filled from its training values, scored on the same test rows.
        const started = performance.now();
        const filled = filler(arrays.smap, roles, [arrays.T, nrows, ncols], resolveParams(name, c.params));
        const seconds = (performance.now() - started) / 1000;
        const pred = Float32Array.from(test.index, (i) => filled.values[d.day[i]! * arrays.P + d.pixel[i]!]!);
        if (name === featured) headlineEstimate = pred;
        predictions.set(name, pred);
        const metrics = evaluate(pred, test.y, { nBoot: c.nBoot, seed: c.seed, clusters: testDays });
        scores.push({ model: name, test: metrics, trainSeconds: seconds, trainRows: roles.reduce((a, r) => a + (r === 0 ? 1 : 0), 0), fit: filled.info });
        log(`  ${name}: test RMSE ${metrics.rmse.value.toFixed(5)}, R ${metrics.r.value.toFixed(3)} (${seconds.toFixed(1)} s, ${JSON.stringify(filled.info)})`);
        continue;
      }
      const { model, seconds } = trainOrLoad(path.join(c.out, "models", split, name), name, schema, train, validation, c, log);
      trained.set(name, model);
      const pred = model.predict(test.X, test.n);
      predictions.set(name, pred);
      if (name === featured) headlineEstimate = pred;
      const metrics = evaluate(pred, test.y, { nBoot: c.nBoot, seed: c.seed, clusters: testDays });
      const cellOf = (i: number) => d.day[test.index[i]!]! * arrays.P + d.pixel[test.index[i]!]!;
      const { uncertainty, residual, validationRmse } = calibrate(
        model,
        pred,
        validation,
        test,
        schema,
        (i) => {
          const kind = kinds[cellOf(i)]!;
          return kind ? GAP_KINDS[kind - 1]! : split;
        },
        (i) => (GAP_KINDS[kinds[cellOf(i)]! - 1] === "transplanted" ? (gapReason(donorReasons[cellOf(i)]!) ?? "unknown") : undefined),
      );
      if (name === featured) featuredResidual = residual;
      scores.push({ model: name, test: metrics, trainSeconds: seconds, trainRows: train.n, fit: model.info(), uncertainty, validationRmse });
      // Early stopping (and the uncertainty) trust the validation gaps to behave like the test
      // gaps: say so when they do not.
      const ci = metrics.rmse;
      if (validationRmse < ci.ciLow * 0.9 || validationRmse > ci.ciHigh * 1.1)
        result.warnings.push(
          `${split} split, ${name}: validation RMSE ${validationRmse.toFixed(4)} lies outside the test RMSE's 95 % CI over days [${ci.ciLow.toFixed(4)}, ${ci.ciHigh.toFixed(4)}] by more than 10 %: the validation gaps do not behave like the test gaps (few large gaps, or gaps of other shapes); early stopping and the uncertainty may be off`,
        );
      log(
        `  ${name}: test RMSE ${metrics.rmse.value.toFixed(5)}, ubRMSE ${metrics.ubrmse.value.toFixed(5)}, R ${metrics.r.value.toFixed(3)} (${seconds.toFixed(1)} s)`,
      );
    }
    result.splits.push(scoreSplit(c, split, roles, { train, validation, test }, scores, predictions, testDays));
    // Models that already leave the ts group out (TsSMNet-noTS) are their own ablation.
    for (const name of (c.ablationModels ?? []).filter((m) => !modelEntry(m).drops?.includes("ts")))
      result.splits.at(-1)!.withoutTs.push(withoutTs(c, split, name, d, schema, { train, validation, test }, testDays, scores, log));

    if (s > 0) continue;
    // The headline split's models also face the stations and the importance analysis.
    figures.scatter = { model: featured, split, reference: test.y, estimate: headlineEstimate! };
    if (stations) {
      const residual = featuredResidual;
      const model = trained.get(featured);
      const sigmaOf = residual && ((rows: Float32Array, n: number) => residual.sigma(rows, n, schema, model?.spread?.(rows, n)));
      const r = stationResults({ ...c, ismn: c.ismn! }, stations as StationData, arrays, features, trained, featured, sigmaOf);
      result.insitu = r.insitu;
      figures.stations = r.series;
      figures.insituPairs = r.pairs;
    }
    for (const name of c.importanceModels) {
      const model = trained.get(name);
      if (!model) continue;
      const rows = rowsOf(d, 2, c.importanceRows, c.seed + 2);
      log(`  importance of ${name}'s features on ${rows.n} test samples, ${c.importanceRepeats} repeats`);
      result.importance.push({
        model: name,
        rows: rows.n,
        result: permutationImportance(model, rows.X, rows.y, rows.n, d.groups, { repeats: c.importanceRepeats, seed: c.seed }),
      });
    }
  }
  result.seconds = (performance.now() - started) / 1000;
  return { result, figures };
}

/**
 * The uncertainty of a model's test estimates from a residual model fitted on its validation
 * rows, and the share of test values inside the 90 % interval by gap kind and distance.
 */
function calibrate(
  model: Regressor,
  testPred: Float32Array,
  validation: Rows,
  test: Rows,
  schema: ReturnType<FeatureBuilder["schema"]>,
  kindOf: (i: number) => string,
  reasonOf: (i: number) => string | undefined = () => undefined,
): { uncertainty: ModelScore["uncertainty"]; residual: ResidualModel; validationRmse: number } {
  // The test rows were just predicted (testPred): their spread comes from the members' kept predictions.
  const testSpread = model.spread?.(test.X, test.n);
  const validationPred = model.predict(validation.X, validation.n);
  const residual = ResidualModel.fit(validationPred, validation.y, validation.X, validation.n, schema, model.spread?.(validation.X, validation.n));
  const validationRmse = pointMetrics(validationPred, validation.y).rmse;
  const sigma = residual.sigma(test.X, test.n, schema, testSpread);
  const dist = distanceBins(test.X, test.n, schema);
  const uncertainty = {
    byKind: coverageTable(
      testPred,
      test.y,
      sigma,
      Array.from({ length: test.n }, (_, i) => kindOf(i)),
    ).sort((a, b) => kindOrder(a.group) - kindOrder(b.group)),
    byDistance: coverageTable(
      testPred,
      test.y,
      sigma,
      Array.from(dist, (b) => DISTANCE_LABELS[b]!),
    ).sort((a, b) => (a.group === "all" ? -1 : b.group === "all" ? 1 : DISTANCE_LABELS.indexOf(a.group as never) - DISTANCE_LABELS.indexOf(b.group as never))),
    ...transplantedByReason(testPred, test.y, sigma, reasonOf),
  };
  return { uncertainty, residual, validationRmse };
}

/** "all" first, then the gap kinds in GAP_KINDS order (other labels, e.g. a split's name, after them). */
const kindOrder = (group: string) => (group === "all" ? -1 : GAP_KINDS.includes(group as never) ? GAP_KINDS.indexOf(group as never) : GAP_KINDS.length);

/** The transplanted test rows by their donor mask's missing reason ("transplanted": all of them), when there are any. */
function transplantedByReason(
  pred: Float32Array,
  y: Float32Array,
  sigma: Float32Array,
  reasonOf: (i: number) => string | undefined,
): { byReason?: CoverageRow[] } {
  const rows = Array.from({ length: y.length }, (_, i) => i).filter((i) => reasonOf(i) !== undefined);
  if (!rows.length) return {};
  const pick = (a: Float32Array) => Float32Array.from(rows, (i) => a[i]!);
  const table = coverageTable(
    pick(pred),
    pick(y),
    pick(sigma),
    rows.map((i) => reasonOf(i)!),
    "transplanted",
  );
  return { byReason: table.sort((a, b) => (a.group === "transplanted" ? -1 : b.group === "transplanted" ? 1 : b.n - a.n)) };
}

/** Dynamic predictors missing on more than 40 % of the pixel-days the cube observed (clouds alone hide LST on a quarter or so). */
function predictorWarnings(a: { smap: Float32Array; dynamic: Map<string, Float32Array> }): string[] {
  const out: string[] = [];
  for (const [name, values] of a.dynamic) {
    let observed = 0;
    let missing = 0;
    for (let k = 0; k < values.length; k++) {
      if (Number.isNaN(a.smap[k]!)) continue;
      observed++;
      if (Number.isNaN(values[k]!)) missing++;
    }
    if (observed && missing > 0.4 * observed)
      out.push(`predictor '${name}' is missing on ${((100 * missing) / observed).toFixed(0)} % of the observed pixel-days: models see its training mean there`);
  }
  return out;
}

/** A split's scores with the reference model's RMSE reduction against each and the ablation pairs. */
function scoreSplit(
  c: EvaluationConfig,
  split: SplitName,
  roles: Int8Array,
  rows: { train: Rows; validation: Rows; test: Rows },
  scores: ModelScore[],
  predictions: Map<ModelName, Float32Array> = new Map(),
  testDays?: Int32Array,
): SplitResult {
  const rmse = (name: ModelName) => scores.find((m) => m.model === name)?.test.rmse.value;
  const ref = rmse(c.reference);
  if (ref !== undefined) for (const m of scores) m.referenceRmseReduction = (m.test.rmse.value - ref) / m.test.rmse.value;
  const ablations = c.ablationPairs.flatMap(([withGroup, without]) => {
    const [a, b] = [rmse(withGroup), rmse(without)];
    if (a === undefined || b === undefined) return [];
    const [pa, pb] = [predictions.get(withGroup), predictions.get(without)];
    const rmseDifference = pa && pb ? pairedRmseDifference(pa, pb, rows.test.y, c.nBoot, c.seed, testDays) : undefined;
    return [{ with: withGroup, without, rmseReduction: (b - a) / b, ...(rmseDifference ? { rmseDifference } : {}) }];
  });
  return {
    split,
    description: SPLIT_DESCRIPTIONS[split],
    roles: roleCounts(roles),
    samples: { train: rows.train.n, validation: rows.validation.n, test: rows.test.n },
    models: scores,
    ...(ref !== undefined ? { reference: c.reference } : {}),
    ablations,
    withoutTs: [],
  };
}

/**
 * RMSE(a) - RMSE(b) on the same rows and its 95 % CI from a paired bootstrap (the same resampled
 * rows for both): whether one model is better than another by more than chance.
 */
export function pairedRmseDifference(
  a: Float32Array,
  b: Float32Array,
  y: Float32Array,
  nBoot: number,
  seed: number,
  clusters?: ArrayLike<number>,
): { value: number; ciLow: number; ciHigh: number } {
  const n = y.length;
  const ea = Float64Array.from(y, (v, i) => (a[i]! - v) ** 2);
  const eb = Float64Array.from(y, (v, i) => (b[i]! - v) ** 2);
  const diff = (index: ArrayLike<number>) => {
    let sa = 0;
    let sb = 0;
    for (let i = 0; i < index.length; i++) {
      const k = index[i]!;
      sa += ea[k]!;
      sb += eb[k]!;
    }
    return Math.sqrt(sa / index.length) - Math.sqrt(sb / index.length);
  };
  const value = diff(Int32Array.from({ length: n }, (_, i) => i));
  if (nBoot < 2) return { value, ciLow: NaN, ciHigh: NaN };
  const draw = resampler(n, new Rng(seed + 7919), clusters);
  const boots = Array.from({ length: nBoot }, () => diff(draw())).sort((x, y) => x - y);
  return { value, ciLow: boots[Math.floor(0.025 * (nBoot - 1))]!, ciHigh: boots[Math.ceil(0.975 * (nBoot - 1))]! };
}

/** The ablation for any model: trained again on the same rows without the ts columns. */
function withoutTs(
  c: EvaluationConfig,
  split: SplitName,
  name: ModelName,
  d: SampleTable,
  schema: ReturnType<FeatureBuilder["schema"]>,
  rows: { train: Rows; validation: Rows; test: Rows },
  testDays: Int32Array,
  scores: ModelScore[],
  log: (m: string) => void,
): SplitResult["withoutTs"][number] {
  const keep = columnsWithout(d.groups, ["ts"]);
  const drop = (m: Rows) => ({ X: selectColumns(m.X, m.n, d.names.length, keep), y: m.y, n: m.n });
  const withTs = scores.find((m) => m.model === name);
  const dir = path.join(c.out, "models", split, `${name}-without-ts`);
  const { model, seconds } = trainOrLoad(dir, name, schemaColumns(schema, keep), drop(rows.train), drop(rows.validation), c, log);
  const t = drop(rows.test);
  const metrics = evaluate(model.predict(t.X, t.n), t.y, { nBoot: c.nBoot, seed: c.seed, clusters: testDays });
  const effect = withTs ? (metrics.rmse.value - withTs.test.rmse.value) / metrics.rmse.value : NaN;
  log(
    `  ${name} without ts: test RMSE ${metrics.rmse.value.toFixed(5)} (the ts features ${effect >= 0 ? "lower" : "raise"} its RMSE by ${(100 * Math.abs(effect)).toFixed(1)} %)`,
  );
  return { model: name, test: metrics, trainSeconds: seconds, tsRmseReduction: effect };
}
