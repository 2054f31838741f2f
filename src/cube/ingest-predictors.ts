/**
 * Predictor rasters -> cube variables on the SMAP grid, day by day.
 *
 * Time. A cube day is the UTC calendar day of the SMAP L3 daily granule. For sub-daily sources:
 *  - mean / min / max: over the steps inside the UTC day (missing steps are skipped);
 *  - sum: over the steps inside the day, missing if any step is missing (a partial sum would
 *    silently under-count rain); antecedent sums over k days (including the day) are missing
 *    if any of the k daily values is;
 *  - overpass_am / overpass_pm: the step nearest to 6:00 / 18:00 local solar time (UTC +
 *    longitude / 15 h) on that day, chosen per source column (within 12 h);
 *  - latest: the most recent step up to the end of the day, at most max_age_days old (for
 *    8- or 16-day composites).
 * Aggregation runs on the source grid, then one regrid per day (the same as regridding every
 * step for the linear methods, and far cheaper).
 *
 * Space: see grid/regrid.ts. "auto" resampling averages sources finer than the target cell and
 * interpolates bilinearly from coarser ones. DEM-derived slope and aspect are computed on the
 * DEM's own grid and then averaged (aspect as a circular mean).
 *
 * Time steps are checked: two files of a predictor that overlap in time (a re-download, ERA5's
 * preliminary and final versions) or a time repeated in one file would blend two versions of the
 * same hours, so they are refused with the files and times named, unless `on_duplicate` says
 * which file wins (time-steps.ts).
 *
 * Resumable: each (predictor, time block) is recorded in the cube when written, with the
 * fingerprints (fingerprint.ts) of the files it was made from; a rerun skips what is recorded and
 * unchanged, makes again a block whose files' content changed (or that `redo` names) and a static
 * layer whose file changed or whose chunks are missing or damaged, and refuses a predictor whose
 * config changed.
 */
import fs from "node:fs";
import path from "node:path";
import { Ease2Grid, type Window } from "../grid/ease2.js";
import { planRegrid, type RegridPlan, type Resampling } from "../grid/regrid.js";
import { aspectDegrees, terrain } from "../grid/terrain.js";
import { openRaster, type RasterSource } from "../io/raster-source.js";
import { unitConversion, type Conversion } from "../io/units.js";
import { resolveFiles, type PredictorConfig, type StudyConfig } from "../config/study.js";
import { outsidePlausible, plausibleRange } from "./plausibility.js";
import { formatDay, parseDay } from "../util/dates.js";
import { SmapfillError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { Cube, type VariableSpec } from "./cube.js";
import { digest, FingerprintCache, hashOf, sameContent, type FileFingerprint } from "./fingerprint.js";
import { resolveTimeSteps, type TimeStep } from "./time-steps.js";
import { damagedChunksOf } from "./verify.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

type Step = TimeStep;

export interface PreparedPredictor {
  config: PredictorConfig;
  files: string[];
  steps: Step[];
  conversion: Conversion;
  method: Resampling;
  plan: RegridPlan;
  xs: Float64Array;
  ys: Float64Array;
  geographic: boolean;
  outputs: VariableSpec[];
  /** What resolving conflicting time steps dropped (on_duplicate), for the report. */
  dropped?: string;
}

/** Opens files lazily and keeps a few open (monthly files are read day after day). */
class SourceCache {
  private readonly open = new Map<string, Promise<RasterSource>>();
  constructor(private readonly limit = 4) {}

  get(file: string, config: PredictorConfig): Promise<RasterSource> {
    const key = `${file}\u0000${config.variable}\u0000${config.band ?? 1}`;
    let s = this.open.get(key);
    if (!s) {
      if (this.open.size >= this.limit) {
        const [oldest, source] = this.open.entries().next().value as [string, Promise<RasterSource>];
        this.open.delete(oldest);
        void source.then((x) => x.close());
      }
      s = openRaster(file, { variable: config.variable, band: config.band, time: config.date_from_name ? dateFromName(file) : undefined });
      this.open.set(key, s);
    }
    return s;
  }

  async closeAll(): Promise<void> {
    for (const s of this.open.values()) (await s).close();
    this.open.clear();
  }
}

const NAME_DATE = [/(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)/, /(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)/, /(?<![\dA-Za-z])A?(\d{4})(\d{3})(?!\d)/];

/** The date in a file name (YYYY-MM-DD, YYYYMMDD or MODIS-style AYYYYDDD) as epoch ms. */
export function dateFromName(file: string): number {
  const name = path.basename(file);
  for (const [k, re] of NAME_DATE.entries()) {
    const m = re.exec(name);
    if (!m) continue;
    if (k < 2) return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return Date.UTC(Number(m[1]), 0, 1) + (Number(m[2]) - 1) * DAY_MS;
  }
  throw new SmapfillError("has no date in its name (YYYY-MM-DD, YYYYMMDD or AYYYYDDD)", { file, hint: "Rename the file or set date_from_name: false" });
}

function outputsOf(p: PredictorConfig, units: string): VariableSpec[] {
  const base = { kind: p.kind, units, attributes: { source_variable: p.variable, aggregation: p.aggregation, resampling: p.resampling } };
  if (p.resampling === "fractions") {
    return p.classes!.map((c) => ({ ...base, name: `${p.name}_class${c}`, units: "1", long_name: `area fraction of class ${c} of ${p.name}` }));
  }
  const out: VariableSpec[] = [{ ...base, name: p.name, long_name: `${p.name} (${p.variable})` }];
  for (const k of p.antecedent ?? []) out.push({ ...base, name: `${p.name}_sum${k}d`, long_name: `${p.name} summed over ${k} days ending on the day` });
  for (const d of p.derive ?? []) {
    out.push({
      ...base,
      name: `${p.name}_${d}`,
      units: "degree",
      long_name: d === "slope" ? `mean slope from ${p.name}` : `mean aspect (clockwise from north) from ${p.name}`,
    });
  }
  return out;
}

/** Checks a predictor against its files and the region before anything is written. */
async function preparePredictor(study: StudyConfig, p: PredictorConfig, grid: Ease2Grid, window: Window, cache: SourceCache): Promise<PreparedPredictor> {
  const files = resolveFiles(study, p);
  const first = await cache.get(files[0]!, p);
  let steps: Step[] = [];
  let dropped: string | undefined;
  if (p.kind === "dynamic") {
    const byFile: { file: string; times: Float64Array; mtimeMs: number }[] = [];
    for (const file of files) {
      const s = await cache.get(file, p);
      if (s.xs.length !== first.xs.length || s.ys.length !== first.ys.length) {
        throw new SmapfillError(`has a ${s.ys.length} x ${s.xs.length} grid, ${files[0]} has ${first.ys.length} x ${first.xs.length}`, {
          file,
          variable: p.variable,
          hint: "All files of a predictor must share one grid",
        });
      }
      if (!s.times)
        throw new SmapfillError("has no time axis", { file, variable: p.variable, hint: "Set kind: static, or date_from_name: true for dated files" });
      byFile.push({ file, times: s.times, mtimeMs: fs.statSync(file).mtimeMs });
    }
    ({ steps, dropped } = resolveTimeSteps(byFile, p.on_duplicate, `predictor '${p.name}' (${p.variable})`));
  }
  let conversion: Conversion = { scale: 1, offset: 0 };
  if (p.units) conversion = unitConversion(p.units.from ?? first.units, p.units.to, { file: files[0], variable: p.variable });
  conversion = { scale: conversion.scale * (p.scale ?? 1), offset: conversion.offset * (p.scale ?? 1) + (p.offset ?? 0) };
  const method = chooseMethod(p, first, grid, window);
  const plan = planRegrid(first, grid, window, method, {
    file: files[0],
    variable: p.variable,
    minCoverage: p.min_coverage,
    partial: p.partial_coverage,
  });
  const units = p.units?.to ?? first.units ?? "1";
  return {
    config: p,
    files,
    steps,
    conversion,
    method,
    plan,
    xs: first.xs,
    ys: first.ys,
    geographic: first.crs === "EPSG:4326",
    outputs: outputsOf(p, units),
    ...(dropped ? { dropped } : {}),
  };
}

function chooseMethod(p: PredictorConfig, s: RasterSource, grid: Ease2Grid, window: Window): Resampling {
  if (p.resampling !== "auto") return p.resampling;
  const dx = s.xs.length > 1 ? Math.abs(s.xs[1]! - s.xs[0]!) : 1;
  const dy = s.ys.length > 1 ? Math.abs(s.ys[1]! - s.ys[0]!) : 1;
  let sourceArea = dx * dy; // m2 for EASE-2 sources
  if (s.crs === "EPSG:4326") {
    const lat = grid.rowLatitude(window.row0 + Math.floor(window.nrows / 2));
    sourceArea = dx * 111_320 * Math.cos((lat * Math.PI) / 180) * dy * 110_574;
  }
  return sourceArea < grid.cellSize * grid.cellSize ? "average" : "bilinear";
}

/** Daily value of a dynamic predictor on the source window [y][x] (before regridding), or undefined if no step. */
async function dailySourceField(pp: PreparedPredictor, day: number, cache: SourceCache): Promise<Float32Array | undefined> {
  const { plan, config } = pp;
  const ny = plan.y1 - plan.y0;
  const nx = plan.x1 - plan.x0;
  const start = day * DAY_MS;
  const end = start + DAY_MS;
  const readStep = async (s: Step) => (await cache.get(s.file, config)).read(s.index, s.index + 1, plan.y0, plan.y1, plan.x0, plan.x1);
  const agg = config.aggregation;
  if (agg === "latest") {
    const idx = lastIndexBefore(pp.steps, end);
    if (idx < 0 || pp.steps[idx]!.time < end - config.max_age_days * DAY_MS) return undefined;
    return convert(await readStep(pp.steps[idx]!), pp.conversion);
  }
  if (agg === "overpass_am" || agg === "overpass_pm") {
    const localHour = agg === "overpass_am" ? 6 : 18;
    const candidates = pp.steps.filter((s) => s.time >= start - 12 * HOUR_MS && s.time < end + 12 * HOUR_MS);
    if (candidates.length === 0) return undefined;
    const fields = await Promise.all(candidates.map(readStep));
    const out = new Float32Array(ny * nx).fill(NaN);
    for (let x = 0; x < nx; x++) {
      const lon = pp.geographic ? pp.xs[plan.x0 + x]! : 0;
      const lonE = lon > 180 ? lon - 360 : lon;
      // The overpass on this UTC day: local solar hour minus lon/15, wrapped into the day.
      const utcHour = (((localHour - lonE / 15) % 24) + 24) % 24;
      const target = start + utcHour * HOUR_MS;
      let best = -1;
      let bestGap = 12 * HOUR_MS;
      candidates.forEach((c, k) => {
        const gap = Math.abs(c.time - target);
        if (gap <= bestGap) {
          bestGap = gap;
          best = k;
        }
      });
      if (best < 0) continue;
      for (let y = 0; y < ny; y++) out[y * nx + x] = fields[best]![y * nx + x]!;
    }
    return convert(out, pp.conversion);
  }
  const inDay = pp.steps.filter((s) => s.time >= start && s.time < end);
  if (inDay.length === 0) return undefined;
  // Contiguous steps of one file are read in one hyperslab.
  const fields: Float32Array[] = [];
  for (let k = 0; k < inDay.length;) {
    let k2 = k + 1;
    while (k2 < inDay.length && inDay[k2]!.file === inDay[k]!.file && inDay[k2]!.index === inDay[k2 - 1]!.index + 1) k2++;
    const src = await cache.get(inDay[k]!.file, config);
    const block = await src.read(inDay[k]!.index, inDay[k2 - 1]!.index + 1, plan.y0, plan.y1, plan.x0, plan.x1);
    for (let s = 0; s < k2 - k; s++) fields.push(block.subarray(s * ny * nx, (s + 1) * ny * nx));
    k = k2;
  }
  const out = new Float32Array(ny * nx);
  for (let i = 0; i < out.length; i++) {
    let acc = agg === "min" ? Infinity : agg === "max" ? -Infinity : 0;
    let n = 0;
    let missing = false;
    for (const f of fields) {
      const v = f[i]!;
      if (Number.isNaN(v)) {
        missing = true;
        continue;
      }
      n++;
      if (agg === "min") acc = Math.min(acc, v);
      else if (agg === "max") acc = Math.max(acc, v);
      else acc += v;
    }
    out[i] = n === 0 || (agg === "sum" && missing) ? NaN : agg === "mean" ? acc / n : acc;
  }
  return convert(out, pp.conversion);
}

function convert(values: Float32Array, c: Conversion): Float32Array {
  if (c.scale === 1 && c.offset === 0) return values;
  for (let i = 0; i < values.length; i++) values[i] = values[i]! * c.scale + c.offset;
  return values;
}

function lastIndexBefore(steps: Step[], end: number): number {
  let lo = 0;
  let hi = steps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid]!.time < end) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Daily regridded value of a dynamic predictor (NaN everywhere when the source has no step). */
async function dailyField(pp: PreparedPredictor, day: number, cache: SourceCache): Promise<{ values: Float32Array; present: boolean }> {
  const src = await dailySourceField(pp, day, cache);
  if (!src) return { values: new Float32Array(pp.plan.size).fill(NaN), present: false };
  return { values: pp.plan.apply(src), present: true };
}

/** What a block of a dynamic predictor records: its days without source data, the files it was made from, their content hash. */
export interface PredictorBlockRecord {
  missingDays: string[];
  fingerprints?: Record<string, FileFingerprint>;
  content?: string;
}

interface PredictorState {
  config: string;
  blocks?: Record<string, PredictorBlockRecord>;
  done?: boolean;
  /** A static predictor: the file it was made from. */
  fingerprints?: Record<string, FileFingerprint>;
}

export interface PredictorReport {
  name: string;
  variables: string[];
  method: Resampling;
  /** Share of cube cells x days (or cells, for static layers) with a value, per variable. */
  coverage: Record<string, number>;
  missingDays: string[];
  /** Values outside the physically plausible range of the variable (wrong units or scale?), per variable that has any. */
  implausible: Record<string, { count: number; range: [number, number]; units: string }>;
  /** Blocks (a static layer: 1) made again because their files changed, their chunks were damaged or `redo` asked. */
  redone: number;
  /** Time steps dropped by `on_duplicate` (a line for the report), if any. */
  dropped?: string;
}

/** Checks every predictor (files, variables, units, coverage) without writing anything. */
export async function preflightPredictors(study: StudyConfig, grid: Ease2Grid, window: Window): Promise<void> {
  const cache = new SourceCache();
  try {
    for (const p of study.predictors) await preparePredictor(study, p, grid, window, cache);
  } finally {
    await cache.closeAll();
  }
}

/** Adds every predictor of the study to the cube (resuming what was done); `redo` makes the blocks of those days again. */
export async function ingestPredictors(study: StudyConfig, cube: Cube, options: { quiet?: boolean; redo?: [string, string] } = {}): Promise<PredictorReport[]> {
  const plan = await planPredictorIngest(study, cube);
  try {
    const todo = predictorBlocksToDo(plan, options.redo);
    const progress = new Progress("ingest predictors", plan.prepared.length - plan.dynamic.length + plan.dynamic.length * plan.nBlocks, options);
    await ingestStaticPredictors(plan, (name) => progress.tick(1, name));
    for (const pp of plan.dynamic) {
      const carry: AntecedentCarry = { history: [], end: -1 };
      for (let b = 0; b < plan.nBlocks; b++) {
        if (!todo.some((j) => j.name === pp.config.name && j.block === b)) {
          progress.tick(1, `${pp.config.name} (done before)`);
          continue;
        }
        await recordPredictorBlock(plan, pp.config.name, b, await ingestPredictorBlock(plan, pp.config.name, b, carry));
        progress.tick(1, pp.config.name);
      }
    }
    progress.finish();
    return await finishPredictorIngest(plan);
  } finally {
    await plan.cache.closeAll();
  }
}

/** What an ingestion of predictors works on: each predictor prepared (files, regridding), their records in the cube. */
export interface PredictorIngestPlan {
  cube: Cube;
  cache: SourceCache;
  prepared: PreparedPredictor[];
  dynamic: PreparedPredictor[];
  state: Record<string, PredictorState>;
  nBlocks: number;
  /** Input file fingerprints, each file hashed at most once per run. */
  fingerprints: FingerprintCache;
  /** Per predictor: blocks made again (changed files, damaged chunks, redo). */
  redone: Record<string, number>;
}

/**
 * Prepares every predictor (all checked before anything is written), refuses one ingested before
 * with another config, adds the variables. With `only` (a distributed job) just that predictor is
 * prepared and the cube is not changed. The caller closes `cache`.
 */
export async function planPredictorIngest(study: StudyConfig, cube: Cube, o: { only?: string } = {}): Promise<PredictorIngestPlan> {
  const cache = new SourceCache();
  try {
    const prepared: PreparedPredictor[] = [];
    for (const p of study.predictors) if (!o.only || p.name === o.only) prepared.push(await preparePredictor(study, p, cube.grid, cube.window, cache));
    if (o.only && !prepared.length)
      throw new SmapfillError(`has no predictor '${o.only}'`, { file: study.configFile, hint: "The job is stale; start the ingestion again" });
    const state = { ...((cube.attributes.predictor_ingest as Record<string, PredictorState> | undefined) ?? {}) };
    for (const pp of prepared) {
      const stored = state[pp.config.name];
      const json = JSON.stringify(pp.config);
      if (stored && stored.config !== json && stored.config !== JSON.stringify(withoutLaterDefaults(pp.config))) {
        throw new SmapfillError(`predictor '${pp.config.name}' was ingested with another config`, {
          file: cube.path,
          hint: "Give the changed predictor a new name, or build a new cube (output)",
        });
      }
      if (o.only) {
        if (!stored) throw new SmapfillError(`has no predictor '${o.only}' yet`, { file: cube.path, hint: "The job is stale; start the ingestion again" });
        continue;
      }
      state[pp.config.name] ??= { config: json, ...(pp.config.kind === "dynamic" ? { blocks: {} } : {}) };
      for (const v of pp.outputs) if (!cube.hasVariable(v.name)) await cube.addVariable(v);
    }
    if (!o.only) await cube.setAttributes({ predictor_ingest: state });
    const dynamic = prepared.filter((pp) => pp.config.kind === "dynamic");
    return {
      cube,
      cache,
      prepared,
      dynamic,
      state,
      nBlocks: Math.ceil(cube.days / cube.chunks.time),
      fingerprints: new FingerprintCache(path.dirname(path.resolve(cube.path))),
      redone: {},
    };
  } catch (e) {
    await cache.closeAll();
    throw e;
  }
}

/**
 * The (dynamic predictor, block) pairs to make: not done yet, asked again by `redo` (days
 * FROM..TO), or made from files whose content has changed since (or a file added or removed).
 */
export function predictorBlocksToDo(plan: PredictorIngestPlan, redo?: [string, string]): { name: string; block: number }[] {
  const { cube } = plan;
  const asked = redo ? [parseDay(redo[0], "--redo") - cube.startDay, parseDay(redo[1], "--redo") - cube.startDay] : undefined;
  return plan.dynamic.flatMap((pp) =>
    Array.from({ length: plan.nBlocks }, (_, b) => b).flatMap((b) => {
      const name = pp.config.name;
      const before = plan.state[name]!.blocks![b];
      if (!before) return [{ name, block: b }];
      const t0 = b * cube.chunks.time;
      const t1 = Math.min(cube.days, t0 + cube.chunks.time);
      const now = plan.fingerprints.record(blockInputFiles(pp, cube, b), before.fingerprints);
      const stale = (asked && asked[0]! < t1 && asked[1]! >= t0) || !before.fingerprints || !sameContent(before.fingerprints, now);
      if (!stale) {
        before.fingerprints = now; // moved or touched files: recorded as they are now (stored with the next metadata write)
        return [];
      }
      plan.redone[name] = (plan.redone[name] ?? 0) + 1;
      return [{ name, block: b }];
    }),
  );
}

/**
 * The files a block of a dynamic predictor reads: every file with a step from the first day its
 * antecedent sums or `latest` look back to, to 12 h past its last day (the overpass steps).
 */
function blockInputFiles(pp: PreparedPredictor, cube: Cube, b: number): string[] {
  const t0 = b * cube.chunks.time;
  const t1 = Math.min(cube.days, t0 + cube.chunks.time);
  const back = Math.max(1, ...(pp.config.antecedent ?? [])) - 1 + (pp.config.aggregation === "latest" ? pp.config.max_age_days : 0);
  const from = (cube.startDay + t0 - back) * DAY_MS - 12 * HOUR_MS;
  const to = (cube.startDay + t1) * DAY_MS + 12 * HOUR_MS;
  return [...new Set(pp.steps.filter((s) => s.time >= from && s.time < to).map((s) => s.file))].sort();
}

/**
 * The static predictors not done yet, each recorded when written; one done before is made again
 * when its file changed or one of its chunks is missing or damaged.
 */
export async function ingestStaticPredictors(plan: PredictorIngestPlan, tick: (name: string) => void = () => {}): Promise<void> {
  for (const pp of plan.prepared.filter((x) => x.config.kind === "static")) {
    const state = plan.state[pp.config.name]!;
    const now = plan.fingerprints.record([pp.files[0]!], state.fingerprints);
    let again = false;
    if (state.done) {
      const damaged = (await Promise.all(pp.outputs.map((v) => damagedChunksOf(plan.cube, v.name)))).flat();
      again = damaged.length > 0 || !state.fingerprints || !sameContent(state.fingerprints, now);
    }
    if (!state.done || again) {
      await ingestStatic(pp, plan.cube, plan.cache);
      Object.assign(state, { done: true, fingerprints: now });
      if (again) plan.redone[pp.config.name] = 1;
      await plan.cube.setAttributes({ predictor_ingest: plan.state });
    } else state.fingerprints = now;
    tick(pp.config.name);
  }
}

/** The daily values before the next block (antecedent sums need them): carried from block to block in one process, rebuilt by a lone job. */
export interface AntecedentCarry {
  history: Float32Array[];
  /** Cube day index after the last day in history (-1: none). */
  end: number;
}

/** The variables one block of a dynamic predictor writes (a distributed job checksums their chunks). */
export function predictorBlockVariables(plan: PredictorIngestPlan, name: string): string[] {
  const pp = plan.dynamic.find((x) => x.config.name === name)!;
  return [name, ...(pp.config.antecedent ?? []).map((k) => `${name}_sum${k}d`)];
}

/** One block of days of a dynamic predictor (and its antecedent sums), whole chunks written; its record returned, not stored. */
export async function ingestPredictorBlock(
  plan: PredictorIngestPlan,
  name: string,
  b: number,
  carry: AntecedentCarry = { history: [], end: -1 },
): Promise<PredictorBlockRecord> {
  const { cube, cache } = plan;
  const pp = plan.dynamic.find((x) => x.config.name === name);
  if (!pp) throw new SmapfillError(`has no dynamic predictor '${name}'`, { file: cube.path });
  const blockSize = cube.chunks.time;
  const maxK = Math.max(1, ...(pp.config.antecedent ?? []));
  const t0 = b * blockSize;
  const t1 = Math.min(cube.days, t0 + blockSize);
  if (carry.end !== t0) {
    // Rebuild the antecedent window (resume, a lone job, or the first block: days before the period).
    carry.history = [];
    for (let t = t0 - (maxK - 1); t < t0; t++) carry.history.push((await dailyField(pp, cube.startDay + t, cache)).values);
  }
  const history = carry.history;
  const size = cube.window.nrows * cube.window.ncols;
  const base = new Float32Array((t1 - t0) * size);
  const sums = (pp.config.antecedent ?? []).map(() => new Float32Array((t1 - t0) * size));
  const missingDays: string[] = [];
  for (let t = t0; t < t1; t++) {
    const { values, present } = await dailyField(pp, cube.startDay + t, cache);
    if (!present) missingDays.push(formatDay(cube.startDay + t));
    base.set(values, (t - t0) * size);
    history.push(values);
    if (history.length > maxK) history.shift();
    (pp.config.antecedent ?? []).forEach((k, s) => {
      const out = sums[s]!;
      const days = history.slice(-k);
      for (let i = 0; i < size; i++) {
        let acc = 0;
        for (const d of days) acc += d[i]!;
        out[(t - t0) * size + i] = days.length === k ? acc : NaN; // NaN propagates a missing day
      }
    });
  }
  carry.end = t1;
  await cube.writeBlock(pp.config.name, t0, base);
  for (const [s, k] of (pp.config.antecedent ?? []).entries()) await cube.writeBlock(`${pp.config.name}_sum${k}d`, t0, sums[s]!);
  const fingerprints = plan.fingerprints.record(blockInputFiles(pp, cube, b));
  return { missingDays, fingerprints, content: digest({ config: pp.config, files: Object.values(fingerprints).map(hashOf).sort() }) };
}

/** Stores a finished block's record (the single writer's step: a rerun skips the block). */
export async function recordPredictorBlock(plan: PredictorIngestPlan, name: string, b: number, record: PredictorBlockRecord): Promise<void> {
  plan.state[name]!.blocks![b] = record;
  await plan.cube.setAttributes({ predictor_ingest: plan.state });
}

/** Provenance, and each predictor's coverage, missing days and implausible values. */
export async function finishPredictorIngest(plan: PredictorIngestPlan): Promise<PredictorReport[]> {
  const { cube, prepared, state } = plan;
  await cube.addProvenance("ingest-predictors", { predictors: prepared.map((p) => p.config.name) });
  const reports: PredictorReport[] = [];
  for (const pp of prepared) {
    const coverage: Record<string, number> = {};
    const implausible: PredictorReport["implausible"] = {};
    for (const v of pp.outputs) {
      const range = plausibleRange(v.name, v.units);
      const r = await valueSummary(cube, v.name, range);
      coverage[v.name] = r.share;
      if (range && r.outside) implausible[v.name] = { count: r.outside, range, units: v.units };
    }
    const missingDays = Object.values(state[pp.config.name]!.blocks ?? {}).flatMap((r) => r.missingDays);
    reports.push({
      name: pp.config.name,
      variables: pp.outputs.map((v) => v.name),
      method: pp.method,
      coverage,
      missingDays,
      implausible,
      redone: plan.redone[pp.config.name] ?? 0,
      ...(pp.dropped ? { dropped: pp.dropped } : {}),
    });
  }
  return reports;
}

async function ingestStatic(pp: PreparedPredictor, cube: Cube, cache: SourceCache): Promise<void> {
  const { plan, config } = pp;
  const src = await cache.get(pp.files[0]!, config);
  const field = convert(await src.read(0, 1, plan.y0, plan.y1, plan.x0, plan.x1), pp.conversion);
  if (config.resampling === "fractions") {
    const fractions = plan.applyFractions(field, config.classes!);
    for (const [k, c] of config.classes!.entries()) await cube.writeStatic(`${config.name}_class${c}`, fractions[k]!);
    return;
  }
  await cube.writeStatic(config.name, plan.apply(field));
  if (config.derive?.length) {
    const layers = terrain(field, pp.xs.subarray(plan.x0, plan.x1), pp.ys.subarray(plan.y0, plan.y1), pp.geographic);
    if (config.derive.includes("slope")) await cube.writeStatic(`${config.name}_slope`, plan.apply(layers.slope));
    if (config.derive.includes("aspect")) {
      const s = plan.apply(layers.aspectSin);
      const c = plan.apply(layers.aspectCos);
      await cube.writeStatic(
        `${config.name}_aspect`,
        Float32Array.from(s, (v, i) => aspectDegrees(v, c[i]!)),
      );
    }
  }
}

/** Share of cells (x days) with a value, and how many values lie outside `range`. */
async function valueSummary(cube: Cube, name: string, range?: [number, number]): Promise<{ share: number; outside: number }> {
  const v = cube.variable(name);
  let n = 0;
  let total = 0;
  let outside = 0;
  const count = (values: Float32Array) => {
    total += values.length;
    for (const x of values) {
      if (Number.isNaN(x)) continue;
      n++;
      if (range && outsidePlausible(x, range)) outside++;
    }
  };
  if (v.kind === "static") count(await cube.readStatic(name));
  else for (let t0 = 0; t0 < cube.days; t0 += cube.chunks.time) count(await cube.readBlock(name, t0, Math.min(cube.days, t0 + cube.chunks.time)));
  return { share: total > 0 ? n / total : 0, outside };
}

/**
 * A predictor's config without the keys later versions added, where they hold their default: a
 * cube ingested before a key existed is still the same predictor (it behaved as the default).
 */
function withoutLaterDefaults(config: PredictorConfig): Partial<PredictorConfig> {
  const { partial_coverage, ...rest } = config;
  return partial_coverage ? config : rest;
}
