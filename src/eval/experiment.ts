/**
 * The experiment of the paper, on any cube: the models trained on the same split, scored on
 * held-out SMAP (simulated gaps by default: real retrievals hidden in swath, block and run
 * shapes, unseen by the models and by every feature), against in-situ stations (original SMAP,
 * reconstruction on observed days, reconstruction on gap days), with the relative RMSE
 * reduction of the reference model against each, the ablation pairs and permutation importance.
 *
 * It trains and scores exactly what ships: the rows come from the one row draw
 * (features/row-draw.ts) and every model is fitted, calibrated and saved by the one fit-and-save
 * (models/fit.ts), as `train CUBE` and the product model are; each model folder under
 * OUT/models/SPLIT/MODEL is a product model (`reconstruct --model` fills a cube with it), and
 * the test rows are built as reconstruction builds the rows it fills (the ship view: every
 * observation but the test values), their estimates clipped to SMAP's valid range as the product
 * clips them. Tile by tile in bounded memory: the roles (1 byte per pixel-day), the drawn rows,
 * one tile of test rows at a time, and per test row its target and each model's estimate.
 *
 * Every split writes its per-row test predictions as it goes (OUT/predictions/SPLIT.csv.gz).
 * It returns results and the arrays the figures need; drawing and writing them is report/'s job.
 * Resumable: every trained model, and every piece a gap filler solved, is reused by a re-run
 * with the same settings; a re-run with other settings is refused rather than mixing results.
 */
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../cube/cube.js";
import { writeDataset } from "../features/dataset.js";
import { Role, roleCounts, type Roles } from "../features/roles.js";
import { checkObserved, concatRows, drawRows, readObservedRoles, streamShipRows, withOrigin, type RowDraw, type RowSet } from "../features/row-draw.js";
import { matchSchema, type FeatureSchema } from "../features/schema.js";
import { recogniseForcings } from "../features/forcings.js";
import { SMAP_VALID_RANGE } from "../io/smap-l3.js";
import { fitOrReuse, type FittedModel } from "../models/fit.js";
import { gapFillerEntry, isGapFiller, modelEntry, resolveParams } from "../models/registry.js";
import { columnsWithout, predictRows, prepareRows, selectColumns, spreadOf, type ModelName, type RowOrigin } from "../models/regressor.js";
import { formatDay, parseDay } from "../util/dates.js";
import { SmapfillError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { hashUniform, Rng } from "../util/random.js";
import { runInfo } from "../util/run-info.js";
import { calibrationRecord } from "./calibration.js";
import { checkEvaluationConfig, settingsKey, SPLIT_DESCRIPTIONS, weatherSettings, type EvaluationConfig, type SplitName } from "./config.js";
import { permutationImportance, type ImportanceResult } from "./importance.js";
import { evaluate, pointMetrics, resampler, type Metrics } from "./metrics.js";
import { PredictionsWriter } from "./predictions.js";
import { designRoles, GAP_KINDS } from "./splits.js";
import { gapReason, isFrozenGap, readMissingReasons } from "../cube/missing-reasons.js";
import { readStations, stationResults, type InsituResult, type StationData, type StationSeries } from "./stations.js";
import { coverageTable, DISTANCE_LABELS, distanceBins, tercile, type CoverageRow } from "./uncertainty.js";

export * from "./config.js";
export type { InsituResult } from "./stations.js";

export interface ModelScore {
  model: ModelName;
  test: Metrics;
  trainSeconds: number;
  trainRows: number;
  fit: Record<string, unknown>;
  /** The saved model (a product model: reconstruct --model takes it); absent for gap fillers. */
  modelDir?: string;
  /** (RMSE of this model - RMSE of the reference) / RMSE of this model; positive = the reference is better. */
  referenceRmseReduction?: number;
  /**
   * Calibration of the uncertainty (residual model fitted on the calibration gaps) on the test
   * rows; byReason: the transplanted test gaps by their donor mask's missing reason.
   */
  uncertainty?: {
    byKind: CoverageRow[];
    byDistance: CoverageRow[];
    /** The transplanted test gaps (real masks) by distance: the acceptance test of the uncertainty. */
    byDistanceTransplanted?: CoverageRow[];
    byReason?: CoverageRow[];
    /** A model with members (the ensemble): by tercile of their spread (the calibration rows' tercile edges). */
    bySpread?: CoverageRow[];
  };
  /** RMSE on the validation rows (early stopping, weights). */
  validationRmse?: number;
}

export interface AblationScore {
  with: ModelName;
  without: ModelName;
  /** (RMSE without - RMSE with) / RMSE without: what the left-out group brings. */
  rmseReduction: number;
  /** RMSE with - RMSE without on the same test rows, with a paired day-cluster bootstrap 95 % CI. */
  rmseDifference?: { value: number; ciLow: number; ciHigh: number };
}

export interface SplitResult {
  split: SplitName;
  description: string;
  roles: ReturnType<typeof roleCounts>;
  samples: { train: number; validation: number; calibration: number; test: number };
  models: ModelScore[];
  /** The model the others are compared with, when it was evaluated. */
  reference?: ModelName;
  ablations: AblationScore[];
  /** Models trained again without the ts group: (RMSE without - RMSE with) / RMSE without. */
  withoutTs: { model: ModelName; test: Metrics; trainSeconds: number; tsRmseReduction: number }[];
  /** The per-row test predictions (relative to the evaluation folder). */
  predictions: string;
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
  /** Show the draw's and the test pass's progress bars. */
  progress?: boolean;
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

/** One scored method of a split: a trained model (maybe on a subset of the columns) or a gap filler. */
interface Method {
  name: ModelName;
  /** A trained model, with the columns of the split's features it reads (all, or without ts). */
  fitted?: FittedModel;
  columns?: number[];
  /** A gap filler's values over the whole window (day-major). */
  filled?: Float32Array;
  seconds: number;
  trainRows: number;
  info: Record<string, unknown>;
}

/** Per test row: its target, day, pixel, gap kind, and each method's estimate and sigma; appended tile by tile. */
class TestRows {
  private parts: {
    y: Float32Array;
    day: Int32Array;
    pixel: Int32Array;
    kind: Uint8Array;
    reason: Uint8Array;
    distance: Uint8Array;
    est: Float32Array[];
    sigma: Float32Array[];
    spread: Float32Array[];
  }[] = [];
  constructor(readonly methods: string[]) {}
  add(part: TestRows["parts"][number]): void {
    this.parts.push(part);
  }
  /** Concatenated arrays (the parts are released). */
  collect() {
    const n = this.parts.reduce((s, p) => s + p.y.length, 0);
    const cat = <A extends Float32Array | Int32Array | Uint8Array>(make: new (n: number) => A, pick: (p: TestRows["parts"][number]) => A): A => {
      const out = new make(n);
      let at = 0;
      for (const p of this.parts) (out.set(pick(p), at), (at += p.y.length));
      return out;
    };
    const out = {
      n,
      y: cat(Float32Array, (p) => p.y),
      day: cat(Int32Array, (p) => p.day),
      pixel: cat(Int32Array, (p) => p.pixel),
      kind: cat(Uint8Array, (p) => p.kind),
      reason: cat(Uint8Array, (p) => p.reason),
      distance: cat(Uint8Array, (p) => p.distance),
      est: this.methods.map((_, m) => cat(Float32Array, (p) => p.est[m]!)),
      sigma: this.methods.map((_, m) => cat(Float32Array, (p) => p.sigma[m]!)),
      spread: this.methods.map((_, m) => cat(Float32Array, (p) => p.spread[m]!)),
    };
    this.parts = [];
    return out;
  }
}

/** Clips estimates to SMAP's valid range, as the product does (reconstruct). */
function clipToValidRange(values: Float32Array): Float32Array {
  const [lo, hi] = SMAP_VALID_RANGE;
  for (let i = 0; i < values.length; i++)
    if (values[i]! < lo) values[i] = lo;
    else if (values[i]! > hi) values[i] = hi;
  return values;
}

/**
 * A method's estimate, sigma and members' spread (NaN without) of rows (the ship view's X, all
 * columns), given each row's missing reason and whether its day is frozen, as the product has them
 * (`origin`: where the rows come from, for a model that reads its pixels' history).
 */
async function estimate(
  m: Method,
  rows: RowSet,
  F: number,
  P: number,
  known: { reasons: Uint8Array; frozen: Uint8Array },
  origin: RowOrigin,
): Promise<Estimates> {
  const none = () => new Float32Array(rows.n).fill(NaN);
  if (m.filled) {
    const est = Float32Array.from({ length: rows.n }, (_, i) => m.filled![rows.day[i]! * P + rows.pixel[i]!]!);
    return { est, sigma: none(), spread: none() };
  }
  const f = m.fitted!;
  const X = m.columns ? selectColumns(rows.X, rows.n, F, m.columns) : rows.X;
  const [ready] = await prepareRows(f.model, [{ X, n: rows.n, origin }]);
  const est = clipToValidRange(f.model.predict(X, rows.n, ready!.origin));
  const spread = spreadOf(f.model, X, rows.n, ready!.origin);
  const sigma = f.residual ? f.residual.sigma(X, rows.n, f.schema, { spread, ...known }) : none();
  return { est, sigma, spread: spread ?? none() };
}

interface Estimates {
  est: Float32Array;
  sigma: Float32Array;
  spread: Float32Array;
}

/** The schema of the columns `keep` of `schema` (an ablation without a group). */
export function schemaColumns(schema: FeatureSchema, keep: number[]): FeatureSchema {
  const { ranges: _r, ...rest } = schema;
  return {
    ...rest,
    names: keep.map((j) => schema.names[j]!),
    groups: keep.map((j) => schema.groups[j]!),
    units: keep.map((j) => schema.units[j]!),
    ...(keep.some((j) => schema.groups[j] === "ts") ? {} : { ts_mode: "none" as const }),
  };
}

/** The rows of a draw with only `columns` of their features. */
function columnsOf(r: RowSet, F: number, columns: number[] | undefined): RowSet {
  return columns ? { ...r, X: selectColumns(r.X, r.n, F, columns) } : r;
}

export async function runEvaluation(c: EvaluationConfig, hooks: EvaluationHooks = {}): Promise<EvaluationOutcome> {
  const log = hooks.log ?? (() => {});
  const quiet = !hooks.progress;
  const started = performance.now();
  checkEvaluationConfig(c);
  claimOutput(c);

  const cube = await Cube.open(c.cube);
  const { nrows, ncols } = cube.window;
  const P = nrows * ncols;
  const T = cube.days;
  log(`reading ${c.cube}: ${nrows} x ${ncols} cells, ${T} days`);
  const { roles: observed, observed: nObserved } = await readObservedRoles(cube, { quiet });
  checkObserved(cube, nObserved, 100, "Evaluate");

  const result: EvaluationResult = {
    run: runInfo(),
    config: c,
    cube: { path: path.resolve(c.cube), start: cube.start, days: T, window: cube.window, features: [], groups: [] },
    splits: [],
    importance: [],
    figures: [],
    warnings: [],
    seconds: 0,
  };
  const figures: EvaluationFigureData = { stations: [], dates: cube.dates() };
  const stations = c.ismn ? readStations({ ...c, ismn: c.ismn }, cube, log) : undefined;
  if (c.splits.includes("stations") && !stations)
    throw new SmapfillError("the stations split needs station data", { variable: "--splits", hint: "Give --ismn" });
  const stationPixels = [...new Set(stations?.collocated.stations.map((st) => st.pixel) ?? [])];
  const rowModels = c.models.filter((m) => !isGapFiller(m));
  const featured = rowModels.includes(c.reference) ? c.reference : (rowModels[0] ?? c.models[0]!);
  const period = c.testStart ? periodDays(cube, c.testStart, c.testEnd) : undefined;
  // Why SMAP is missing, per pixel-day: the transplanted gaps' rows carry their donor cell's reason.
  const missingReasons = await readMissingReasons(cube);
  const weather = weatherSettings(c);
  if (weather) for (const w of weatherWarnings(cube)) (result.warnings.push(w), log(`warning: ${w}`));

  for (const [s, split] of c.splits.entries()) {
    const kinds = new Uint8Array(P * T);
    const donorReasons = new Uint8Array(P * T);
    const roles = designRoles(split, observed, nrows, ncols, {
      transplant: { ...(missingReasons ? { missingReasons } : {}), reasonsOut: donorReasons },
      shares: { validation: c.validationShare, test: c.testShare, calibration: c.calibrationShare },
      seed: c.seed,
      stationPixels,
      ...(period ? { period } : {}),
      kinds,
    });
    const draw = await drawRows(cube, roles, {
      maxRows: c.maxTrainSamples,
      maxHeldRows: c.maxHeldSamples,
      seed: c.seed,
      coordinates: c.coordinates,
      tsMode: c.tsMode ?? "out-of-fold",
      spatial: Boolean(c.spatial),
      ...(weather ? { weather } : {}),
      quiet,
    });
    const { schema, train, validation, calibration } = draw;
    const F = schema.names.length;
    result.cube.features = schema.names;
    result.cube.groups = schema.groups;
    if (train.n < 10 || validation.n < 2 || draw.counts.test < 2)
      throw new SmapfillError(`the ${split} split leaves ${train.n} training, ${validation.n} validation and ${draw.counts.test} test samples`, {
        file: c.cube,
        hint: "Evaluate a larger region or period, or change --test-share (--test-start for the period split)",
      });
    if (s === 0) for (const w of predictorWarnings(train, schema)) (result.warnings.push(w), log(`warning: ${w}`));
    log(
      `split ${split}: ${train.n} training, ${validation.n} validation, ${calibration.n} calibration rows (of ${draw.counts.train}, ${draw.counts.validation}, ${draw.counts.calibration}), ${draw.counts.test} test, ${F} features`,
    );

    const methods = await fitMethods(c, split, draw, roles, cube, log, donorReasons, quiet);
    const fitOrigin = (r: RowSet) => withOrigin(r, cube, { roles, view: "fit" });
    const scored = methods.filter((m) => !m.name.endsWith("-without-ts"));
    const names = methods.map((m) => m.name);

    // The test pass: the test rows (and every day of the station pixels) in the ship view, tile by tile.
    const test = new TestRows(names);
    const predictionsFile = path.join(c.out, "predictions", `${split}.csv.gz`);
    const writer = new PredictionsWriter(predictionsFile, names);
    const stationSeries = new Map<number, { smap: Float32Array; est: Float32Array[]; sigma: Float32Array }>();
    for (const p of s === 0 ? stationPixels : [])
      stationSeries.set(p, { smap: new Float32Array(T).fill(NaN), est: names.map(() => new Float32Array(T).fill(NaN)), sigma: new Float32Array(T).fill(NaN) });
    const importance = s === 0 && c.importanceModels.length ? new ImportanceSample(c.importanceRows, draw.counts.test, c.seed) : undefined;
    const datasetRows: RowSet[] = [];
    const featuredAt = names.indexOf(featured);
    try {
      await streamShipRows(cube, roles, {
        select: (p, _t, role) => role === Role.Test || stationSeries.has(p),
        spatial: Boolean(c.spatial),
        ...(weather ? { weather } : {}),
        coordinates: c.coordinates,
        quiet,
        label: `scoring the ${split} split's test rows`,
        onRows: async (rows) => {
          // A test row's reason is its donor mask's; a station day SMAP missed has the cube's own.
          const known = rowReasons(rows, roles, donorReasons, missingReasons, P);
          const origin = withOrigin(rows, cube, { roles, view: "ship" }).origin;
          const outs: Estimates[] = [];
          for (const m of methods) outs.push(await estimate(m, rows, F, P, known, origin));
          const isTest = Uint8Array.from({ length: rows.n }, (_, i) => (roles[rows.day[i]! * P + rows.pixel[i]!] === Role.Test ? 1 : 0));
          for (let i = 0; i < rows.n; i++) {
            const st = stationSeries.get(rows.pixel[i]!);
            if (!st) continue;
            const t = rows.day[i]!;
            // SMAP as the evaluation's models saw it: a hidden test value is a gap there.
            st.smap[t] = isTest[i] ? NaN : rows.y[i]!;
            outs.forEach((o, m) => (st.est[m]![t] = o.est[i]!));
            if (featuredAt >= 0) st.sigma[t] = outs[featuredAt]!.sigma[i]!;
          }
          const idx: number[] = [];
          for (let i = 0; i < rows.n; i++) if (isTest[i]) idx.push(i);
          if (!idx.length) return;
          const pick = <A extends Float32Array | Int32Array>(a: A): A => {
            const out = new (a.constructor as new (n: number) => A)(idx.length);
            idx.forEach((i, k) => (out[k] = a[i]!));
            return out;
          };
          const X = idx.length === rows.n ? rows.X : selectRows(rows.X, F, idx);
          const part = {
            y: pick(rows.y),
            day: pick(rows.day),
            pixel: pick(rows.pixel),
            kind: Uint8Array.from(idx, (i) => kinds[rows.day[i]! * P + rows.pixel[i]!]!),
            reason: Uint8Array.from(idx, (i) => donorReasons[rows.day[i]! * P + rows.pixel[i]!]!),
            // Days to the nearest retrieval, from the rows' own context terms (models/uncertainty.ts).
            distance: distanceBins(X, idx.length, schema),
            est: outs.map((o) => pick(o.est)),
            sigma: outs.map((o) => pick(o.sigma)),
            spread: outs.map((o) => pick(o.spread)),
          };
          test.add(part);
          writer.append(
            {
              row: Int32Array.from(part.pixel, (p) => cube.window.row0 + Math.floor(p / ncols)),
              col: Int32Array.from(part.pixel, (p) => cube.window.col0 + (p % ncols)),
              date: Array.from(part.day, (t) => formatDay(cube.startDay + t)),
              y: part.y,
              kind: Array.from(part.kind, (k) => kindLabel(k, split)),
            },
            methods.flatMap((_, m) => [part.est[m]!, part.sigma[m]!]),
          );
          const testRows = { X, y: part.y, n: idx.length, pixel: part.pixel, day: part.day };
          importance?.offer(testRows, F);
          if (c.writeDataset) datasetRows.push(testRows);
        },
      });
    } catch (e) {
      writer.abandon();
      throw e;
    }
    writer.finish();
    const t = test.collect();
    const testDays = t.day;

    // Scores: every method on the same test rows, CIs over whole days.
    const scores: ModelScore[] = [];
    const estimates = new Map<ModelName, Float32Array>();
    for (const [k, m] of methods.entries()) {
      if (m.name.endsWith("-without-ts")) continue;
      const metrics = evaluate(t.est[k]!, t.y, { nBoot: c.nBoot, seed: c.seed, clusters: testDays });
      estimates.set(m.name, t.est[k]!);
      const score: ModelScore = { model: m.name, test: metrics, trainSeconds: m.seconds, trainRows: m.trainRows, fit: m.info };
      if (m.fitted) {
        score.modelDir = path.relative(c.out, modelDir(c, split, m.name));
        score.uncertainty = coverage(t.est[k]!, t.y, t.sigma[k]!, t.kind, t.distance, t.reason, split, {
          spread: t.spread[k]!,
          edges: m.fitted.residual?.state.spreadEdges,
        });
        const v = fitOrigin(columnsOf(validation, F, m.columns));
        const vr = pointMetrics(clipToValidRange(await predictRows(m.fitted.model, v)), v.y).rmse;
        score.validationRmse = vr;
        const ci = metrics.rmse;
        // Early stopping (and the uncertainty) trust the held-out gaps to behave like the test
        // gaps: say so when they do not.
        if (vr < ci.ciLow * 0.9 || vr > ci.ciHigh * 1.1)
          result.warnings.push(
            `${split} split, ${m.name}: validation RMSE ${vr.toFixed(4)} lies outside the test RMSE's 95 % CI over days [${ci.ciLow.toFixed(4)}, ${ci.ciHigh.toFixed(4)}] by more than 10 %: the validation gaps do not behave like the test gaps (few large gaps, or gaps of other shapes); early stopping and the uncertainty may be off`,
          );
      }
      scores.push(score);
      log(
        `  ${m.name}: test RMSE ${metrics.rmse.value.toFixed(5)}, ubRMSE ${metrics.ubrmse.value.toFixed(5)}, R ${metrics.r.value.toFixed(3)} (${m.seconds.toFixed(1)} s)`,
      );
    }
    const splitResult = scoreSplit(
      c,
      split,
      roles,
      { train: train.n, validation: validation.n, calibration: calibration.n, test: t.n },
      scores,
      estimates,
      t.y,
      testDays,
    );
    splitResult.predictions = path.relative(c.out, predictionsFile);
    methods.forEach((m, k) => {
      if (!m.name.endsWith("-without-ts")) return;
      const base = m.name.slice(0, -"-without-ts".length);
      const metrics = evaluate(t.est[k]!, t.y, { nBoot: c.nBoot, seed: c.seed, clusters: testDays });
      const withTs = scores.find((x) => x.model === base);
      const effect = withTs ? (metrics.rmse.value - withTs.test.rmse.value) / metrics.rmse.value : NaN;
      log(
        `  ${base} without ts: test RMSE ${metrics.rmse.value.toFixed(5)} (the ts features ${effect >= 0 ? "lower" : "raise"} its RMSE by ${(100 * Math.abs(effect)).toFixed(1)} %)`,
      );
      splitResult.withoutTs.push({ model: base, test: metrics, trainSeconds: m.seconds, tsRmseReduction: effect });
    });
    result.splits.push(splitResult);

    if (c.writeDataset) {
      const parts = [train, validation, calibration, ...datasetRows];
      const all = concatRows(parts, F);
      const split8 = Int8Array.from(
        parts.flatMap((r, i) => Array.from({ length: r.n }, () => (i === 0 ? Role.Train : i === 1 ? Role.Validation : i === 2 ? Role.Calibration : Role.Test))),
      );
      writeDataset(path.join(c.out, "datasets", split), all, split8, schema, {
        source: path.resolve(c.cube),
        split,
        description: SPLIT_DESCRIPTIONS[split],
        seed: c.seed,
      });
    }

    if (s > 0) continue;
    // The headline split's models also face the stations and the importance analysis.
    const at = names.indexOf(featured);
    if (at >= 0) figures.scatter = { model: featured, split, reference: t.y, estimate: t.est[at]! };
    if (stations && stationSeries.size) {
      const series = {
        smap: (p: number) => stationSeries.get(p)!.smap,
        estimate: (name: ModelName, p: number) => stationSeries.get(p)!.est[names.indexOf(name)]!,
        sigma: (p: number) => stationSeries.get(p)!.sigma,
      };
      const r = stationResults(
        { ...c, ismn: c.ismn! },
        stations as StationData,
        T,
        scored.map((m) => m.name),
        featured,
        series,
      );
      result.insitu = r.insitu;
      figures.stations = r.series;
      figures.insituPairs = r.pairs;
    }
    const sample = importance?.rows(F);
    for (const name of c.importanceModels) {
      const m = methods.find((x) => x.name === name)?.fitted;
      if (!m || !sample || sample.n < 2) continue;
      log(`  importance of ${name}'s features on ${sample.n} test samples, ${c.importanceRepeats} repeats`);
      const [ready] = await prepareRows(m.model, [withOrigin(sample, cube, { roles, view: "ship" })]);
      result.importance.push({
        model: name,
        rows: sample.n,
        result: permutationImportance(m.model, sample.X, sample.y, sample.n, schema.groups, {
          repeats: c.importanceRepeats,
          seed: c.seed,
          origin: ready!.origin,
        }),
      });
    }
  }
  result.seconds = (performance.now() - started) / 1000;
  return { result, figures };
}

/** What --weather finds in a cube: which predictors it cannot use, and an empty group without precipitation. */
function weatherWarnings(cube: Cube): string[] {
  const { chosen, skipped } = recogniseForcings(cube.variables);
  const out = skipped.map((s) => `--weather: ${s}`);
  if (!chosen.precipitation)
    out.push("--weather: the cube has no precipitation predictor, so the weather group is empty (docs/features.md says how predictors are recognised)");
  return out;
}

/** The days of the period split within the cube: from --test-start to --test-end (default the cube's last day). */
function periodDays(cube: Cube, start: string, end: string | undefined): { from: number; to: number } {
  const from = parseDay(start, "--test-start") - cube.startDay;
  const to = end ? parseDay(end, "--test-end") - cube.startDay : cube.days - 1;
  if (from <= 0 || from >= cube.days)
    throw new SmapfillError(`--test-start ${start} must fall after the cube's first day and within its period (${cube.start} + ${cube.days} days)`, {
      variable: "--test-start",
    });
  return { from, to: Math.min(to, cube.days - 1) };
}

function modelDir(c: EvaluationConfig, split: SplitName, name: string): string {
  return path.join(c.out, "models", split, name);
}

/**
 * Fits (or reuses) every model of a split through the one fit-and-save, the ablation models
 * without the ts group, and runs the gap fillers (DCT-PLS) over the whole window: they read the
 * window's SMAP once (4 bytes per pixel-day) and see its training values only.
 */
async function fitMethods(
  c: EvaluationConfig,
  split: SplitName,
  draw: RowDraw,
  roles: Roles,
  cube: Cube,
  log: (m: string) => void,
  donorReasons: Uint8Array,
  quiet: boolean,
): Promise<Method[]> {
  const { schema, train, validation, calibration } = draw;
  const F = schema.names.length;
  const P = cube.window.nrows * cube.window.ncols;
  // Each calibration gap's reason: its donor mask's (transplanted gaps; 0 for the simulated shapes).
  const reasons = Uint8Array.from({ length: calibration.n }, (_, i) => donorReasons[calibration.day[i]! * P + calibration.pixel[i]!]!);
  const methods: Method[] = [];
  const seen = { roles, view: "fit" as const };
  const fit = async (name: ModelName, dir: string, columns: number[] | undefined) => {
    const sub = columns ? schemaColumns(schema, columns) : schema;
    const rows = {
      train: withOrigin(columnsOf(train, F, columns), cube, seen),
      validation: withOrigin(columnsOf(validation, F, columns), cube, seen),
      calibration: { ...withOrigin(columnsOf(calibration, F, columns), cube, seen), reasons },
    };
    const fitted = await fitOrReuse({ name, params: c.params, seed: c.trainSeed ?? c.seed }, rows, {
      out: dir,
      schema: sub,
      record: { kind: "evaluation model", cube: path.basename(path.resolve(c.cube)), split },
      describeCalibration: calibrationRecord(sub, c.seed, c.nBoot),
      log,
      accept: (saved) => matchSchema(saved.schema, sub, { model: dir, data: "this evaluation's features" }),
    });
    methods.push({
      name: columns ? `${name}-without-ts` : name,
      fitted,
      ...(columns ? { columns } : {}),
      seconds: fitted.seconds,
      trainRows: train.n,
      info: fitted.model.info(),
    });
  };
  for (const name of c.models) if (!isGapFiller(name)) await fit(name, modelDir(c, split, name), undefined);
  // Models that already leave the ts group out (TsSMNet-noTS) are their own ablation.
  for (const name of (c.ablationModels ?? []).filter((m) => !modelEntry(m).drops?.includes("ts")))
    await fit(name, modelDir(c, split, `${name}-without-ts`), columnsWithout(schema.groups, ["ts"]));
  const fillers = c.models.filter(isGapFiller);
  if (fillers.length) {
    const smap = await cube.readBlock("soil_moisture", 0, cube.days);
    const trainRows = roleCounts(roles).train;
    for (const name of fillers) {
      const started = performance.now();
      let bar: Progress | undefined;
      const r = await gapFillerEntry(name).fill(smap, roles, [cube.days, cube.window.nrows, cube.window.ncols], resolveParams(name, c.params), {
        onProgress: (done, total) => (bar ??= new Progress(`${name}: pieces of the window`, total, { quiet })).update(done),
        // An interrupted evaluation resumes its fill where it stopped, as it reuses fitted models.
        resumeDir: path.join(modelDir(c, split, name), "pieces"),
      });
      bar?.finish();
      const seconds = (performance.now() - started) / 1000;
      log(`  ${name}: filled the window in ${seconds.toFixed(1)} s (${JSON.stringify(r.info)})`);
      methods.push({ name, filled: r.values, seconds, trainRows, info: r.info });
    }
  }
  return methods;
}

function kindLabel(kind: number, split: SplitName): string {
  return kind ? GAP_KINDS[kind - 1]! : split;
}

function selectRows(X: Float32Array, F: number, idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * F);
  idx.forEach((i, k) => out.set(X.subarray(i * F, (i + 1) * F), k * F));
  return out;
}

const SPREAD_TERCILES = ["low spread", "middle spread", "high spread"] as const;

/** Per row: its missing reason (a test row's donor mask's, a gap day's own) and whether its day is frozen (a gap day only). */
function rowReasons(rows: RowSet, roles: Roles, donorReasons: Uint8Array, missingReasons: Uint8Array | undefined, P: number) {
  const reasons = new Uint8Array(rows.n);
  const frozen = new Uint8Array(rows.n);
  for (let i = 0; i < rows.n; i++) {
    const k = rows.day[i]! * P + rows.pixel[i]!;
    if (roles[k] === Role.Test) reasons[i] = donorReasons[k]!;
    else if (roles[k] === Role.Unobserved && missingReasons) ((reasons[i] = missingReasons[k]!), (frozen[i] = isFrozenGap(missingReasons[k]!) ? 1 : 0));
  }
  return { reasons, frozen };
}

/** "all" first, then the gap kinds in GAP_KINDS order (other labels, e.g. a split's name, after them). */
const kindOrder = (group: string) => (group === "all" ? -1 : GAP_KINDS.includes(group as never) ? GAP_KINDS.indexOf(group as never) : GAP_KINDS.length);

/**
 * The share of test values inside the 90 % interval by gap kind, by distance to the nearest
 * retrieval, and for the transplanted test rows by their donor mask's missing reason.
 */
function coverage(
  est: Float32Array,
  y: Float32Array,
  sigma: Float32Array,
  kinds: Uint8Array,
  distance: Uint8Array,
  reasons: Uint8Array,
  split: SplitName,
  members: { spread: Float32Array; edges: [number, number] | undefined },
): ModelScore["uncertainty"] {
  const byDistance = coverageTable(
    est,
    y,
    sigma,
    Array.from(distance, (b) => DISTANCE_LABELS[b]!),
  );
  const order = (g: string) => (g === "all" || g === "transplanted" ? -1 : DISTANCE_LABELS.indexOf(g as never));
  const transplanted = 1 + GAP_KINDS.indexOf("transplanted");
  const rows = Array.from({ length: y.length }, (_, i) => i).filter((i) => kinds[i] === transplanted);
  const pick = (a: Float32Array) => Float32Array.from(rows, (i) => a[i]!);
  const byDistanceTransplanted = rows.length
    ? coverageTable(
        pick(est),
        pick(y),
        pick(sigma),
        rows.map((i) => DISTANCE_LABELS[distance[i]!]!),
        "transplanted",
      ).sort((a, b) => order(a.group) - order(b.group))
    : undefined;
  const edges = members.edges;
  const bySpread = edges
    ? coverageTable(
        est,
        y,
        sigma,
        Array.from(members.spread, (v) => SPREAD_TERCILES[tercile(v, edges)]!),
      ).sort((a, b) => SPREAD_TERCILES.indexOf(a.group as never) - SPREAD_TERCILES.indexOf(b.group as never))
    : undefined;
  const byReason = rows.length
    ? coverageTable(
        pick(est),
        pick(y),
        pick(sigma),
        rows.map((i) => gapReason(reasons[i]!) ?? "unknown"),
        "transplanted",
      ).sort((a, b) => (a.group === "transplanted" ? -1 : b.group === "transplanted" ? 1 : b.n - a.n))
    : undefined;
  return {
    byKind: coverageTable(
      est,
      y,
      sigma,
      Array.from(kinds, (k) => kindLabel(k, split)),
    ).sort((a, b) => kindOrder(a.group) - kindOrder(b.group)),
    byDistance: byDistance.sort((a, b) => order(a.group) - order(b.group)),
    ...(byDistanceTransplanted ? { byDistanceTransplanted } : {}),
    ...(byReason ? { byReason } : {}),
    ...(bySpread ? { bySpread } : {}),
  };
}

/** A seeded sample of at most `max` test rows, kept as they stream by (for the importance analysis). */
class ImportanceSample {
  private readonly keep: number;
  private readonly parts: RowSet[] = [];
  constructor(
    max: number,
    total: number,
    private readonly seed: number,
  ) {
    this.keep = Math.min(1, max / Math.max(1, total));
  }
  offer(rows: RowSet, F: number): void {
    const idx: number[] = [];
    for (let i = 0; i < rows.n; i++) if (hashUniform(this.seed ^ 0x1b873593, rows.day[i]! * 0x10000 + rows.pixel[i]!) < this.keep) idx.push(i);
    if (idx.length)
      this.parts.push({
        X: selectRows(rows.X, F, idx),
        y: Float32Array.from(idx, (i) => rows.y[i]!),
        n: idx.length,
        pixel: Int32Array.from(idx, (i) => rows.pixel[i]!),
        day: Int32Array.from(idx, (i) => rows.day[i]!),
      });
  }
  rows(F: number): RowSet {
    return concatRows(this.parts, F);
  }
}

/** Dynamic predictors missing on more than 40 % of the training rows (clouds alone hide LST on a quarter or so). */
function predictorWarnings(train: RowSet, schema: FeatureSchema): string[] {
  const out: string[] = [];
  const F = schema.names.length;
  schema.groups.forEach((g, j) => {
    if (g !== "dynamic" || !train.n) return;
    let missing = 0;
    for (let i = 0; i < train.n; i++) if (Number.isNaN(train.X[i * F + j]!)) missing++;
    if (missing > 0.4 * train.n)
      out.push(
        `predictor '${schema.names[j]}' is missing on ${((100 * missing) / train.n).toFixed(0)} % of the observed pixel-days (training rows): models see its training mean there`,
      );
  });
  return out;
}

/** A split's scores with the reference model's RMSE reduction against each and the ablation pairs. */
function scoreSplit(
  c: EvaluationConfig,
  split: SplitName,
  roles: Int8Array,
  samples: SplitResult["samples"],
  scores: ModelScore[],
  estimates: Map<ModelName, Float32Array>,
  y: Float32Array,
  testDays: Int32Array,
): SplitResult {
  const rmse = (name: ModelName) => scores.find((m) => m.model === name)?.test.rmse.value;
  const ref = rmse(c.reference);
  if (ref !== undefined) for (const m of scores) m.referenceRmseReduction = (m.test.rmse.value - ref) / m.test.rmse.value;
  const ablations = c.ablationPairs.flatMap(([withGroup, without]) => {
    const [a, b] = [rmse(withGroup), rmse(without)];
    if (a === undefined || b === undefined) return [];
    const [pa, pb] = [estimates.get(withGroup), estimates.get(without)];
    const rmseDifference = pa && pb ? pairedRmseDifference(pa, pb, y, c.nBoot, c.seed, testDays) : undefined;
    return [{ with: withGroup, without, rmseReduction: (b - a) / b, ...(rmseDifference ? { rmseDifference } : {}) }];
  });
  return {
    split,
    description: SPLIT_DESCRIPTIONS[split],
    roles: roleCounts(roles),
    samples,
    models: scores,
    ...(ref !== undefined ? { reference: c.reference } : {}),
    ablations,
    withoutTs: [],
    predictions: "",
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
  const ea = new Float64Array(n);
  const eb = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ea[i] = (a[i]! - y[i]!) ** 2;
    eb[i] = (b[i]! - y[i]!) ** 2;
  }
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
