/**
 * The experiment of the paper, on any cube: the six models trained on the same splits, scored on
 * held-out SMAP (simulated gaps by default: real retrievals hidden in swath, block and run
 * shapes, unseen by the models and by the time-series features), against in-situ stations
 * (original SMAP, reconstruction on observed days, reconstruction on gap days), with the
 * relative RMSE reduction of TsSMNet against each model, the with/without time-series ablation
 * and permutation feature importance.
 *
 * Resumable: every trained model is saved under out/models/SPLIT/MODEL (written to a temporary
 * name, renamed when complete) and reused by a re-run with the same settings; a re-run with other
 * settings is refused rather than mixing results.
 */
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../cube/cube.js";
import { readIsmn, selectSeries } from "../io/ismn.js";
import { createRegressor, loadRegressor, selectColumns, type ModelName, type Regressor } from "../models/regressor.js";
import { Rng } from "../util/random.js";
import { runInfo } from "../util/run-info.js";
import { SmapfillError } from "../util/errors.js";
import { renderBars, renderDensityScatter, renderSeries } from "../report/charts.js";
import { modelLabel } from "../report/evaluation-report.js";
import { collocate } from "./collocate.js";
import { buildDataset, FeatureBuilder, loadCubeArrays, subsetDataset, writeDataset, type BuiltDataset, type CubeArrays } from "./dataset-builder.js";
import { permutationImportance, type ImportanceResult } from "./importance.js";
import { insituComparison, type InsituScores, type InsituValue } from "./insitu.js";
import { evaluate, type Metrics } from "./metrics.js";
import { holdOutPixels, mixedGaps, randomPixelDays, roleCounts, spatialBlocks, temporal, type Roles } from "./splits.js";

export type SplitName = "gaps" | "temporal" | "spatial" | "stations" | "random";
export const SPLIT_NAMES: readonly SplitName[] = ["gaps", "temporal", "spatial", "stations", "random"];

export const SPLIT_DESCRIPTIONS: Record<SplitName, string> = {
  gaps: "simulated gaps: observed SMAP hidden in swath stripes, blocks and runs of days (test and validation)",
  temporal: "temporal: runs of 10 whole days held out",
  spatial: "spatial blocks: 8 x 8-pixel blocks held out whole (ungauged pixels: no time-series features)",
  stations: "independent stations: every SMAP value of the station pixels held out (validation: simulated gaps elsewhere)",
  random: "random pixel-days (optimistic: never the headline)",
};

export interface EvaluationConfig {
  cube: string;
  out: string;
  models: ModelName[];
  /** The first is the headline (in-situ and importance use its models); never "random". */
  splits: SplitName[];
  testShare: number;
  validationShare: number;
  ismn?: string;
  ismnFlags: string[];
  ismnMaxDepth: number;
  insituValue: InsituValue;
  maxTrainSamples: number;
  maxValidationSamples: number;
  maxEpochs?: number;
  /** The Transformer costs ~20x TsSMNet per sample: its own epoch cap. */
  transformerMaxEpochs?: number;
  rfTrees?: number;
  xgbRounds?: number;
  importanceModels: ModelName[];
  importanceRows: number;
  importanceRepeats: number;
  nBoot: number;
  seed: number;
  coordinates: boolean;
  /** Also write each split's samples (exactly the rows used) in the interchange format. */
  writeDataset?: boolean;
  /** Models also trained without the time-series group (the ablation for every model, not only TsSMNet). */
  ablationModels?: ModelName[];
}

export interface ModelScore {
  model: ModelName;
  test: Metrics;
  trainSeconds: number;
  trainRows: number;
  fit: Record<string, unknown>;
  /** (RMSE of this model - RMSE of TsSMNet) / RMSE of this model; positive = TsSMNet better. */
  tssmnetRmseReduction?: number;
}

export interface SplitResult {
  split: SplitName;
  description: string;
  roles: ReturnType<typeof roleCounts>;
  samples: { train: number; validation: number; test: number };
  models: ModelScore[];
  /** RMSE reduction of TsSMNet against TsSMNet-noTS: what the time-series features bring. */
  tsAblation?: number;
  /** Models trained again without the ts group: (RMSE without - RMSE with) / RMSE without. */
  withoutTs: { model: ModelName; test: Metrics; trainSeconds: number; tsRmseReduction: number }[];
}

export interface InsituResult {
  source: string;
  value: InsituValue;
  stationsRead: number;
  stationsInside: number;
  outside: string[];
  failures: { file: string; error: string }[];
  smap: InsituScores;
  models: { model: ModelName; observed: InsituScores; gap: InsituScores }[];
}

export interface EvaluationResult {
  run: ReturnType<typeof runInfo>;
  config: EvaluationConfig;
  cube: { path: string; start: string; days: number; window: Cube["window"]; features: string[]; groups: string[] };
  splits: SplitResult[];
  insitu?: InsituResult;
  importance: { model: ModelName; rows: number; result: ImportanceResult }[];
  /** PNG files written (RMSE bars per split, density scatter, station time series). */
  figures: string[];
  seconds: number;
}

export interface EvaluationHooks {
  log?: (message: string) => void;
}

/** The settings that change results: a saved run with other values is not reused. */
function settingsKey(c: EvaluationConfig): string {
  const { out: _out, models: _models, splits: _splits, importanceModels: _i, ismn: _s, writeDataset: _w, ablationModels: _a, ...rest } = c;
  return JSON.stringify(rest);
}

export function makeRoles(split: SplitName, a: CubeArrays, nrows: number, ncols: number, c: EvaluationConfig, stationPixels: number[] = []): Roles {
  const shares = { validation: c.validationShare, test: c.testShare };
  if (split === "stations") {
    if (!stationPixels.length)
      throw new SmapfillError("the stations split needs stations inside the cube", { variable: "--splits", hint: "Give --ismn with stations in the region" });
    // Validation gaps only, then the station pixels become the test set.
    return holdOutPixels(mixedGaps(a.smap, nrows, ncols, { validation: c.validationShare, test: 0 }, c.seed), a.P, stationPixels);
  }
  if (split === "gaps") return mixedGaps(a.smap, nrows, ncols, shares, c.seed);
  if (split === "temporal") return temporal(a.smap, a.P, shares, c.seed);
  if (split === "spatial") return spatialBlocks(a.smap, nrows, ncols, shares, c.seed);
  return randomPixelDays(a.smap, shares, c.seed);
}

/** The rows of one role, at most `max` of them (seeded draw without replacement, order kept). */
export function rowsOf(d: BuiltDataset, role: 0 | 1 | 2, max: number, seed: number): { X: Float32Array; y: Float32Array; n: number; index: Int32Array } {
  let index = Int32Array.from(Array.from(d.split).flatMap((s, i) => (s === role ? [i] : [])));
  if (index.length > max) {
    const pick = new Rng(seed).shuffle(Array.from(index)).slice(0, max);
    index = Int32Array.from(pick.sort((a, b) => a - b));
  }
  const rows = subsetDataset(d, index);
  return { X: rows.X, y: rows.y, n: index.length, index };
}

function writeJsonAtomic(file: string, value: unknown): void {
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** Trains a model, or loads the one a previous run saved with the same settings. */
function trainOrLoad(
  dir: string,
  name: ModelName,
  d: { names: string[]; groups: string[] },
  train: { X: Float32Array; y: Float32Array; n: number },
  validation: { X: Float32Array; y: Float32Array; n: number },
  c: EvaluationConfig,
  log: (m: string) => void,
): { model: Regressor; seconds: number } {
  const done = path.join(dir, "fit.json");
  if (fs.existsSync(done)) {
    log(`  ${name}: reusing the model trained before (${dir})`);
    return { model: loadRegressor(dir), seconds: JSON.parse(fs.readFileSync(done, "utf8")).seconds };
  }
  const model = createRegressor(name, d.names, d.groups, {
    seed: c.seed,
    ...(c.maxEpochs ? { maxEpochs: c.maxEpochs } : {}),
    ...(name === "transformer" && c.transformerMaxEpochs ? { maxEpochs: c.transformerMaxEpochs } : {}),
    ...(c.rfTrees ? { forest: { trees: c.rfTrees } } : {}),
    ...(c.xgbRounds ? { gbt: { rounds: c.xgbRounds } } : {}),
  });
  const started = performance.now();
  model.fit(train, { validation, onProgress: (m) => log(`    ${m}`) });
  const seconds = (performance.now() - started) / 1000;
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  model.save(partial);
  writeJsonAtomic(path.join(partial, "fit.json"), { seconds, rows: train.n, info: model.info() });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.renameSync(partial, dir);
  return { model, seconds };
}

export async function runEvaluation(c: EvaluationConfig, hooks: EvaluationHooks = {}): Promise<EvaluationResult> {
  const log = hooks.log ?? (() => {});
  const started = performance.now();
  if (!c.splits.length) throw new SmapfillError("no split given", { variable: "--splits", hint: `Use some of ${SPLIT_NAMES.join(", ")}` });
  if (c.splits[0] === "random")
    throw new SmapfillError("the random pixel-day split cannot be the headline: it is optimistic", {
      variable: "--splits",
      hint: "Put gaps, temporal or spatial first",
    });
  if (!(c.testShare > 0 && c.validationShare > 0 && c.testShare + c.validationShare < 0.9))
    throw new SmapfillError(`test share ${c.testShare} and validation share ${c.validationShare} do not leave a training set`, {
      variable: "--test-share",
    });
  if (!c.models.length) throw new SmapfillError("no model given", { variable: "--models" });

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

  const cube = await Cube.open(c.cube);
  const { nrows, ncols } = cube.window;
  log(`reading ${c.cube}: ${nrows} x ${ncols} cells, ${cube.days} days`);
  const arrays = await loadCubeArrays(cube, { coordinates: c.coordinates });
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
    seconds: 0,
  };
  const figures = path.join(c.out, "figures");
  fs.mkdirSync(figures, { recursive: true });
  const savePicture = (name: string, canvas: { save(file: string): void }) => {
    const file = path.join(figures, name);
    canvas.save(file);
    result.figures.push(file);
  };

  const stations = c.ismn ? readStations(c, cube, log) : undefined;
  if (c.splits.includes("stations") && !stations)
    throw new SmapfillError("the stations split needs station data", { variable: "--splits", hint: "Give --ismn" });
  const stationPixels = [...new Set(stations?.collocated.stations.map((st) => st.pixel) ?? [])];

  for (const [s, split] of c.splits.entries()) {
    const roles = makeRoles(split, arrays, nrows, ncols, c, stationPixels);
    const features = new FeatureBuilder(arrays, roles);
    const d = buildDataset(arrays, roles, features);
    result.cube.features = d.names;
    result.cube.groups = d.groups;
    const train = rowsOf(d, 0, c.maxTrainSamples, c.seed);
    const validation = rowsOf(d, 1, c.maxValidationSamples, c.seed + 1);
    const test = rowsOf(d, 2, Infinity, 0);
    if (train.n < 10 || validation.n < 2 || test.n < 2)
      throw new SmapfillError(`the ${split} split leaves ${train.n} training, ${validation.n} validation and ${test.n} test samples`, {
        file: c.cube,
        hint: "Evaluate a larger region or period, or change --test-share",
      });
    log(`split ${split}: ${train.n} training, ${validation.n} validation, ${test.n} test samples, ${d.names.length} features`);
    if (c.writeDataset) {
      const used = [...train.index, ...validation.index, ...test.index].sort((a, b) => a - b);
      writeDataset(path.join(c.out, "datasets", split), subsetDataset(d, used), {
        source: path.resolve(c.cube),
        split,
        description: SPLIT_DESCRIPTIONS[split],
        seed: c.seed,
      });
    }

    const scores: ModelScore[] = [];
    const trained = new Map<ModelName, Regressor>();
    const predictions = new Map<ModelName, Float32Array>();
    for (const name of c.models) {
      const { model, seconds } = trainOrLoad(path.join(c.out, "models", split, name), name, d, train, validation, c, log);
      trained.set(name, model);
      const pred = model.predict(test.X, test.n);
      predictions.set(name, pred);
      const test_ = evaluate(pred, test.y, { nBoot: c.nBoot, seed: c.seed });
      scores.push({ model: name, test: test_, trainSeconds: seconds, trainRows: train.n, fit: model.info() });
      log(
        `  ${name}: test RMSE ${test_.rmse.value.toFixed(5)}, ubRMSE ${test_.ubrmse.value.toFixed(5)}, R ${test_.r.value.toFixed(3)} (${seconds.toFixed(1)} s)`,
      );
    }
    const ts = scores.find((m) => m.model === "tssmnet");
    if (ts) for (const m of scores) m.tssmnetRmseReduction = (m.test.rmse.value - ts.test.rmse.value) / m.test.rmse.value;
    const nots = scores.find((m) => m.model === "tssmnet_nots");
    result.splits.push({
      split,
      description: SPLIT_DESCRIPTIONS[split],
      roles: roleCounts(roles),
      samples: { train: train.n, validation: validation.n, test: test.n },
      models: scores,
      ...(ts && nots ? { tsAblation: nots.tssmnetRmseReduction } : {}),
      withoutTs: [],
    });
    // The ablation for other models: the same rows without the ts columns.
    const keep = d.groups.flatMap((g, j) => (g === "ts" ? [] : [j]));
    const drop = (m: { X: Float32Array; y: Float32Array; n: number }) => ({ X: selectColumns(m.X, m.n, d.names.length, keep), y: m.y, n: m.n });
    const subset = { names: keep.map((j) => d.names[j]!), groups: keep.map((j) => d.groups[j]!) };
    for (const name of c.ablationModels ?? []) {
      if (name === "tssmnet_nots") continue;
      const withTs = scores.find((m) => m.model === name);
      const { model, seconds } = trainOrLoad(path.join(c.out, "models", split, `${name}-without-ts`), name, subset, drop(train), drop(validation), c, log);
      const t = drop(test);
      const metrics = evaluate(model.predict(t.X, t.n), t.y, { nBoot: c.nBoot, seed: c.seed });
      const effect = withTs ? (metrics.rmse.value - withTs.test.rmse.value) / metrics.rmse.value : NaN;
      result.splits.at(-1)!.withoutTs.push({ model: name, test: metrics, trainSeconds: seconds, tsRmseReduction: effect });
      log(
        `  ${name} without ts: test RMSE ${metrics.rmse.value.toFixed(5)} (the ts features ${effect >= 0 ? "lower" : "raise"} its RMSE by ${(100 * Math.abs(effect)).toFixed(1)} %)`,
      );
    }

    savePicture(
      `rmse_${split}.png`,
      renderBars(
        `Test RMSE, ${split} split (95 % CI)`,
        scores.map((m) => ({ label: modelLabel(m.model), value: m.test.rmse.value, low: m.test.rmse.ciLow, high: m.test.rmse.ciHigh })),
        "RMSE against the held-out SMAP values (m3/m3)",
      ),
    );
    if (s > 0) continue;
    const featured = c.models.includes("tssmnet") ? "tssmnet" : c.models[0]!;
    savePicture(
      `scatter_${featured}_${split}.png`,
      renderDensityScatter(`${modelLabel(featured)} on the ${split} test set`, test.y, predictions.get(featured)!, "held-out SMAP (m3/m3)", "estimate (m3/m3)"),
    );
    // The headline split's models also face the stations and the importance analysis.
    if (stations) {
      result.insitu = insituFor(c, stations, arrays, features, trained);
      const dates = cube.dates();
      const best = [...stations.collocated.stations]
        .map((st) => ({ st, n: st.daily.reduce((k, v) => k + (Number.isNaN(v) ? 0 : 1), 0) }))
        .sort((a, b) => b.n - a.n)
        .slice(0, 3);
      const model = trained.get(featured)!;
      for (const { st } of best) {
        const rows = features.pixelRows(st.pixel);
        savePicture(
          `station_${st.network}_${st.station}.png`.replace(/[^A-Za-z0-9_.-]/g, "_"),
          renderSeries(
            `${st.network} ${st.station}: in situ, SMAP and ${modelLabel(featured)}`,
            dates,
            [
              { name: `in situ (${c.insituValue})`, values: st[c.insituValue], color: [110, 110, 110] },
              { name: modelLabel(featured), values: model.predict(rows, arrays.T), color: [220, 120, 20] },
              {
                name: "SMAP",
                values: Float32Array.from({ length: arrays.T }, (_, t) => arrays.smap[t * arrays.P + st.pixel]!),
                color: [30, 90, 200],
                dots: true,
              },
            ],
            "soil moisture (m3/m3)",
          ),
        );
      }
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
  return result;
}

interface StationData {
  read: ReturnType<typeof readIsmn>;
  series: ReturnType<typeof selectSeries>;
  collocated: ReturnType<typeof collocate>;
}

function readStations(c: EvaluationConfig, cube: Cube, log: (m: string) => void): StationData {
  const read = readIsmn(c.ismn!);
  const series = selectSeries(read.series, { flags: c.ismnFlags, maxDepth: c.ismnMaxDepth });
  const collocated = collocate(series, cube.grid, cube.window, cube.startDay, cube.days);
  log(`in situ: ${series.length} series at <= ${c.ismnMaxDepth} m, ${collocated.stations.length} inside the cube, ${collocated.outside.length} outside`);
  if (!collocated.stations.length)
    throw new SmapfillError(`none of the ${series.length} station series lies inside the cube`, {
      file: c.ismn,
      hint: "Check the ISMN download's region, the depth (--ismn-max-depth) and flags (--ismn-flags)",
    });
  return { read, series, collocated };
}

function insituFor(c: EvaluationConfig, st: StationData, a: CubeArrays, features: FeatureBuilder, models: Map<ModelName, Regressor>): InsituResult {
  const { read, series } = st;
  const { stations, outside } = st.collocated;
  const T = a.T;
  const rowCache = new Map<number, Float32Array>();
  const rowsFor = (pixel: number) => {
    if (!rowCache.has(pixel)) rowCache.set(pixel, features.pixelRows(pixel));
    return rowCache.get(pixel)!;
  };
  const o = { nBoot: c.nBoot, seed: c.seed };
  const out: InsituResult = {
    source: path.resolve(c.ismn!),
    value: c.insituValue,
    stationsRead: series.length,
    stationsInside: stations.length,
    outside: outside.map((s) => `${s.network}/${s.station}`),
    failures: read.failures,
    smap: insituComparison(stations, a.smap, a.P, T, undefined, c.insituValue, o).smap,
    models: [],
  };
  for (const [name, model] of models) {
    const cache = new Map<number, Float32Array>();
    const reconstruction = (pixel: number) => {
      if (!cache.has(pixel)) cache.set(pixel, model.predict(rowsFor(pixel), T));
      return cache.get(pixel)!;
    };
    const r = insituComparison(stations, a.smap, a.P, T, reconstruction, c.insituValue, o);
    out.models.push({ model: name, observed: r.observed!, gap: r.gap! });
  }
  return out;
}
