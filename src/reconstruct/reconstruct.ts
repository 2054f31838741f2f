/**
 * The gap-free product: every land pixel-day of a cube's window gets a soil moisture value, a
 * one-sigma uncertainty and a source flag. SMAP where it is valid, the model elsewhere (clipped
 * to SMAP's valid range); with `everywhere`, the model's value for every land pixel-day as a
 * second variable (model minus SMAP on observed days shows the model's error there).
 *
 * Land = cells SMAP retrieved at least once in the cube, intersected with a land-mask predictor
 * (a static variable named landmask, land_mask, lsm or land_sea_mask; >= 0.5 is land) when the
 * study has one. The time-series features of a reconstruction use every valid SMAP value of the
 * cube (all of them are training values). A pixel-day whose dynamic predictors are all missing
 * is filled only when the product model was validated on such rows (without-predictors.ts: its
 * own flag and sigma scale); otherwise it is not filled (its flag says so).
 *
 * Frozen ground (frozen.ts): a gap the cube's soil_moisture_missing_reason calls frozen (or
 * snow-covered, or below 0 degC by the study's temperatures) is never presented as an ordinary
 * reconstruction. With `frozen: "fill"` (the default) it gets the model's value, flagged
 * reconstructed_frozen, with its own uncertainty (models/uncertainty.ts, frozen ground); with
 * "mask" its value is missing, flagged not_filled_frozen.
 *
 * Tile by tile (the cube's y/x chunks; per tile the whole SMAP series for the features, the
 * predictors one block of chunk-aligned days at a time), so memory is bounded by a tile, not the
 * cube. Resumable: the product records each finished tile; an interrupted run removes leftover
 * temporary files and continues at the first unfinished tile, and every chunk it writes is the
 * same bytes an uninterrupted run writes (chunks are written whole, compression is
 * deterministic).
 */
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { Cube, type LocalWindow, type VariableSpec } from "../cube/cube.js";
import { acquireReaderLock, acquireWriterLock } from "../cube/lock.js";
import { checkMadeTiles, currentInputs, relativeToProduct, tileMadeFrom, type CurrentInputs } from "./product-inputs.js";
import { shipViewOf, viewSettingsOf, type TileView } from "../features/row-draw.js";
import { readDynamicBlock } from "../features/samples.js";
import type { FeatureBuilder } from "../features/samples.js";
import { matchSchema, rangeWarnings, type FeatureSchema, type SchemaMatch } from "../features/schema.js";
import { SMAP_VALID_RANGE } from "../io/smap-l3.js";
import { loadFitted } from "../models/fit.js";
import type { ResidualModel } from "../models/uncertainty.js";
import { predictLater, prepareRows, selectColumns, spreadOf, type Regressor, type RowOrigin } from "../models/regressor.js";
import { formatDay, parseDay } from "../util/dates.js";
import { SmapfillError } from "../util/errors.js";
import { failpoint } from "../util/failpoints.js";
import { runInfo } from "../util/run-info.js";
import { zarrGeoConventions } from "../grid/zarr-conventions.js";
import { MISSING_REASON_VARIABLE } from "../cube/missing-reasons.js";
import { DEFAULT_FROZEN_POLICY, frozenAttributes, frozenDays, type FrozenPolicy } from "./frozen.js";
import { withoutDynamicScale } from "./without-predictors.js";

/** The source flag of every product value (CF flag_values / flag_meanings). */
export const SOURCE_FLAGS = {
  observed_am: 1,
  observed_pm: 2,
  observed_am_pm_mean: 3,
  reconstructed: 4,
  not_filled_missing_predictors: 5,
  not_filled_outside_land: 6,
  /** A frozen (or snow-covered) day filled by the model: --frozen fill. */
  reconstructed_frozen: 7,
  /** A gap without dynamic predictors, filled by a model validated on such rows (without-predictors.ts). */
  reconstructed_without_dynamic_predictors: 8,
  /** A frozen (or snow-covered) day left missing: --frozen mask. */
  not_filled_frozen: 9,
} as const;
/** The flag of a gap the model fills (frozen or not), or of a frozen one masked. */
function gapFlag(frozen: boolean, policy: FrozenPolicy): number {
  if (!frozen) return SOURCE_FLAGS.reconstructed;
  return policy === "mask" ? SOURCE_FLAGS.not_filled_frozen : SOURCE_FLAGS.reconstructed_frozen;
}

/** Whether a flag is a value the model filled (frozen or not, with or without dynamic predictors). */
export const isFilled = (flag: number) =>
  flag === SOURCE_FLAGS.reconstructed || flag === SOURCE_FLAGS.reconstructed_frozen || flag === SOURCE_FLAGS.reconstructed_without_dynamic_predictors;

const FLAG_NAMES = Object.keys(SOURCE_FLAGS);
const FLAG_VALUES = Object.values(SOURCE_FLAGS);

export const PRODUCT_VARIABLES = ["soil_moisture", "soil_moisture_uncertainty", "soil_moisture_source"] as const;
const LAND_MASK_NAMES = ["landmask", "land_mask", "lsm", "land_sea_mask"];
export { SMAP_VALID_RANGE };

export interface ReconstructOptions {
  cube: string;
  model: string;
  /** The product's Zarr store (created, or resumed). */
  out: string;
  start?: string;
  end?: string;
  everywhere?: boolean;
  validRange?: [number, number];
  /** Frozen days: filled with their own flag and uncertainty, or left missing with their own flag (default fill; frozen.ts). */
  frozen?: FrozenPolicy;
  /** Rows predicted per call (bounds the feature rows in memory). */
  batchRows?: number;
  onTile?: (done: number, total: number) => void;
  log?: (message: string) => void;
}

export interface ReconstructReport {
  out: string;
  tiles: number;
  resumedTiles: number;
  /** Tiles computed by this run (0: the product was complete already). */
  madeTiles: number;
  days: number;
  /** reconstructed counts frozen days filled too (also in frozenFilled); notFilled frozen days masked (also in frozenMasked). */
  pixelDays: { land: number; observed: number; reconstructed: number; notFilled: number; frozenFilled: number; frozenMasked: number };
  clipped: number;
  warnings: string[];
  seconds: number;
}

interface Loaded {
  model: Regressor;
  residual: ResidualModel;
  schema: FeatureSchema;
  fingerprint: string;
  record: Record<string, unknown>;
}

/** A product model: any saved model with a calibrated uncertainty (train CUBE's, or one of evaluate's). */
function loadProductModel(dir: string): Loaded {
  const uncertaintyFile = path.join(dir, "uncertainty.json");
  if (fs.existsSync(path.join(dir, "model.json")) && !fs.existsSync(uncertaintyFile))
    throw new SmapfillError("has no uncertainty.json: it is not a product model", {
      file: dir,
      hint: "Train one on the cube (smapfill train CUBE.zarr --model NAME --out MODEL_DIR), or use a model folder of smapfill evaluate (EVAL/models/SPLIT/MODEL)",
    });
  const saved = loadFitted(dir, { product: true });
  return { ...saved, residual: saved.residual!, fingerprint: productModelFingerprint(dir) };
}

/** A product model's identity (its files' hash): a product, its run and its jobs carry it. */
export function productModelFingerprint(dir: string): string {
  const hash = createHash("sha256");
  for (const f of ["model.json", "schema.json", "uncertainty.json"]) hash.update(fs.readFileSync(path.join(dir, f)));
  return hash.digest("hex").slice(0, 16);
}

/** The per-pass variables, when the cube keeps both passes: each pass's own value where SMAP saw it, the model elsewhere. */
function passVariables(): VariableSpec[] {
  return (["am", "pm"] as const).flatMap((pass) => [
    {
      name: `soil_moisture_${pass}`,
      kind: "dynamic" as const,
      units: "m3 m-3",
      long_name: `gap-free surface soil moisture, ${pass === "am" ? "6 am descending" : "6 pm ascending"} pass (SMAP's value of that pass where valid, the model elsewhere)`,
      attributes: { standard_name: "volume_fraction_of_condensed_water_in_soil" },
    },
    {
      name: `soil_moisture_${pass}_source`,
      kind: "dynamic" as const,
      units: "1",
      long_name: `source of each soil_moisture_${pass} value`,
      dtype: "uint8" as const,
      attributes: { flag_values: FLAG_VALUES, flag_meanings: FLAG_NAMES.join(" ") },
    },
  ]);
}

function productVariables(everywhere: boolean, model: string, passes: boolean): VariableSpec[] {
  const sm = { standard_name: "volume_fraction_of_condensed_water_in_soil", valid_min: SMAP_VALID_RANGE[0], valid_max: SMAP_VALID_RANGE[1] };
  return [
    {
      name: "soil_moisture",
      kind: "dynamic",
      units: "m3 m-3",
      long_name: "gap-free surface soil moisture (SMAP where valid, the model elsewhere)",
      attributes: { ...sm, ancillary_variables: "soil_moisture_uncertainty soil_moisture_source" },
    },
    {
      name: "soil_moisture_uncertainty",
      kind: "dynamic",
      units: "m3 m-3",
      long_name: "one standard deviation of the reconstructed soil moisture (missing where SMAP observed)",
      attributes: { standard_name: "volume_fraction_of_condensed_water_in_soil standard_error" },
    },
    {
      name: "soil_moisture_source",
      kind: "dynamic",
      units: "1",
      long_name: "source of each soil moisture value",
      dtype: "uint8",
      attributes: { flag_values: FLAG_VALUES, flag_meanings: FLAG_NAMES.join(" ") },
    },
    ...(everywhere
      ? [{ name: "soil_moisture_model", kind: "dynamic" as const, units: "m3 m-3", long_name: `${model}'s estimate for every land pixel-day`, attributes: sm }]
      : []),
    ...(passes ? passVariables() : []),
  ];
}

interface Progress {
  settings: string;
  tiles_done: number[];
  clipped: number;
  /** Extending: the days before this one (relative to the product's start) were made by an earlier run. */
  from?: number;
}

/** Removes the temporary files an interrupted writer left (name.pid.n.tmp). */
function removeLeftovers(dir: string): number {
  let removed = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (/\.\d+\.\d+\.tmp$/.test(e.name)) {
        fs.rmSync(full, { force: true });
        removed++;
      }
    }
  };
  walk(dir);
  return removed;
}

/** What a reconstruction works on: inputs, settings, the product (created or resumed), progress. */
export interface ReconstructionPlan {
  cube: Cube;
  loaded: Loaded;
  t0: number;
  t1: number;
  validRange: [number, number];
  frozen: FrozenPolicy;
  /** The product's settings, and their hash: the run's id (its lock, its jobs' ids). */
  settings: string;
  run: string;
  product: Cube;
  progress: Progress;
  tiles: LocalWindow[];
  done: Set<number>;
  resumedTiles: number;
  /** The cube's inputs: each tile records them when made (product-inputs.ts). */
  inputs: CurrentInputs;
  release: () => void;
}

/** A run's id: the hash of the product's settings (its lock and its jobs' ids carry it). */
function runId(settings: string): string {
  return createHash("sha256").update(settings).digest("hex").slice(0, 16);
}

/** Opens the inputs, takes the product's writer lock and creates or resumes the product. */
export async function planReconstruction(o: ReconstructOptions): Promise<ReconstructionPlan> {
  const log = o.log ?? (() => {});
  // The cube must not change while its product is made (an ingest meanwhile would mix old and new data).
  const releaseCube = acquireReaderLock(o.cube, "smapfill reconstruct");
  try {
    return await planReading(o, log, releaseCube);
  } catch (e) {
    releaseCube();
    throw e;
  }
}

async function planReading(o: ReconstructOptions, log: (m: string) => void, releaseCube: () => void): Promise<ReconstructionPlan> {
  const cube = await Cube.open(o.cube);
  const loaded = loadProductModel(o.model);
  const t0 = o.start ? dayIn(cube, o.start, "--start") : 0;
  const t1 = (o.end ? dayIn(cube, o.end, "--end") : cube.days - 1) + 1;
  if (t1 <= t0) throw new SmapfillError(`--end ${o.end} is before --start ${o.start}`, { variable: "--end" });
  const validRange = o.validRange ?? SMAP_VALID_RANGE;
  const settings = JSON.stringify({
    cube: relativeToProduct(o.out, o.cube),
    model: loaded.fingerprint,
    t0,
    t1,
    everywhere: Boolean(o.everywhere),
    validRange,
    frozen: o.frozen ?? DEFAULT_FROZEN_POLICY,
  });
  const run = runId(settings);
  const release = acquireWriterLock(o.out, "smapfill reconstruct", { run, log });
  try {
    const product = await openOrCreateProduct(o, cube, loaded, t0, t1, settings, log);
    const progress = product.attributes.reconstruct as Progress;
    const tiles = cube.tiles();
    const done = new Set(progress.tiles_done);
    const inputs = currentInputs(cube);
    if (await checkMadeTiles(cube, product, done, inputs, log)) delete progress.from;
    if (done.size) log(`resuming: ${done.size} of ${tiles.length} tiles done before`);
    const both = () => (release(), releaseCube());
    const frozen = o.frozen ?? DEFAULT_FROZEN_POLICY;
    return { cube, loaded, t0, t1, validRange, frozen, settings, run, product, progress, tiles, done, resumedTiles: done.size, inputs, release: both };
  } catch (e) {
    release();
    throw e;
  }
}

/** Records a finished tile (the product's progress: a resumed run skips it). */
export async function markTileDone(plan: ReconstructionPlan, id: number, clipped: number): Promise<void> {
  plan.done.add(id);
  plan.progress = { ...plan.progress, tiles_done: [...plan.done].sort((a, b) => a - b), clipped: plan.progress.clipped + clipped };
  await plan.product.setAttributes({ reconstruct: plan.progress, ...tileMadeFrom(plan.product, id, plan.inputs) });
}

/** Counts, provenance and the run's report, once every tile is done; releases the lock. */
export async function finishReconstruction(
  plan: ReconstructionPlan,
  o: ReconstructOptions,
  warnings: Set<string>,
  started: number,
): Promise<ReconstructReport> {
  try {
    const counts = await countSources(plan.product);
    await plan.product.addProvenance("reconstruct", {
      model: relativeToProduct(o.out, o.model),
      fingerprint: plan.loaded.fingerprint,
      clipped: plan.progress.clipped,
    });
    return {
      out: o.out,
      tiles: plan.tiles.length,
      resumedTiles: plan.resumedTiles,
      madeTiles: plan.done.size - plan.resumedTiles,
      days: plan.t1 - plan.t0,
      pixelDays: counts,
      clipped: plan.progress.clipped,
      warnings: [...warnings],
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    plan.release();
  }
}

export async function reconstruct(o: ReconstructOptions): Promise<ReconstructReport> {
  const started = performance.now();
  const plan = await planReconstruction(o);
  const warnings = new Set<string>();
  try {
    let match: SchemaMatch | undefined;
    for (const [id, tile] of plan.tiles.entries()) {
      if (!plan.done.has(id)) {
        const from = plan.t0 + (plan.progress.from ?? 0);
        const r = await reconstructTile(plan, tile, from, plan.t1, o, (m) => (match ??= m), warnings);
        await markTileDone(plan, id, r.clipped);
      }
      o.onTile?.(plan.done.size, plan.tiles.length);
    }
  } catch (e) {
    plan.release();
    throw e;
  }
  return finishReconstruction(plan, o, warnings, started);
}

/** One job of a distributed run: the chunk-aligned days [b0, b1) of one tile. */
export interface BlockJob {
  tile: number;
  b0: number;
  b1: number;
}

/**
 * The end of the block of days that starts at b0: the next boundary of the product's time chunks
 * (which start at t0), or t1. Blocks so cut cover whole chunks, but the first block of an
 * extension, which completes the last chunk of the earlier run.
 */
function blockEnd(b0: number, t0: number, t1: number, step: number): number {
  return Math.min(t1, t0 + (Math.floor((b0 - t0) / step) + 1) * step);
}

/** The jobs of the tiles not done: one per tile and product chunk of days. */
export function blockJobs(plan: ReconstructionPlan): BlockJob[] {
  const step = plan.cube.chunks.time;
  const jobs: BlockJob[] = [];
  const from = plan.t0 + (plan.progress.from ?? 0);
  for (const id of plan.tiles.keys()) {
    if (plan.done.has(id)) continue;
    for (let b0 = from; b0 < plan.t1; b0 = blockEnd(b0, plan.t0, plan.t1, step)) jobs.push({ tile: id, b0, b1: blockEnd(b0, plan.t0, plan.t1, step) });
  }
  return jobs;
}

/**
 * Reconstruction's unit of work, in any process that sees the same files: one tile's days [b0, b1)
 * of a planned product written (whole chunks; temporary name and rename). Returns the chunk files
 * written; a distributed job (src/jobs/units.ts) checks its run's lock and their checksums.
 */
export async function reconstructBlock(
  o: ReconstructOptions & { run: string; job: BlockJob },
): Promise<{ clipped: number; warnings: string[]; root: string; written: string[] }> {
  const cube = await Cube.open(o.cube);
  const loaded = cachedProductModel(o.model);
  const product = await Cube.open(o.out);
  const progress = product.attributes.reconstruct as Progress;
  const settings = JSON.parse(progress.settings) as { t0: number; t1: number; validRange: [number, number]; model: string; frozen?: FrozenPolicy };
  if (runId(progress.settings) !== o.run || settings.model !== loaded.fingerprint)
    throw new SmapfillError("holds another run's product (settings or model differ from the job's)", {
      file: o.out,
      hint: "The job is stale; start the run again",
    });
  const plan = { cube, product, loaded, t0: settings.t0, t1: settings.t1, validRange: settings.validRange, frozen: settings.frozen ?? DEFAULT_FROZEN_POLICY };
  const tile = cube.tiles()[o.job.tile];
  if (!tile) throw new SmapfillError(`tile ${o.job.tile} is not in the cube`, { file: o.cube });
  const warnings = new Set<string>();
  const r = await reconstructTile(plan, tile, o.job.b0, o.job.b1, o, (m) => m, warnings);
  const days: [number, number] = [o.job.b0 - settings.t0, o.job.b1 - settings.t0];
  const written = product.variables.filter((x) => x.kind === "dynamic").flatMap((v) => product.chunkFiles(v.name, tile, days));
  return { clipped: r.clipped, warnings: [...warnings], root: o.out, written };
}

let modelCache: { dir: string; loaded: Loaded } | undefined;
/** A worker process loads a model once for all its jobs (a changed model changes the fingerprint check). */
function cachedProductModel(dir: string): Loaded {
  if (modelCache?.dir !== path.resolve(dir)) modelCache = { dir: path.resolve(dir), loaded: loadProductModel(dir) };
  return modelCache.loaded;
}

function dayIn(cube: Cube, date: string, option: string): number {
  parseDay(date, option);
  const t = cube.dayIndex(date);
  if (t < 0) throw new SmapfillError(`${date} is outside the cube's period ${cube.start} + ${cube.days} days`, { variable: option });
  return t;
}

/** True when `settings` is `before`'s with a later end, and the earlier run finished every tile. */
function extends_(before: Progress, settings: string, product: Cube): boolean {
  const [a, b] = [JSON.parse(before.settings), JSON.parse(settings)] as { t1: number }[];
  const tiles = product.tiles().length;
  return JSON.stringify({ ...a, t1: b!.t1 }) === settings && b!.t1 > a!.t1 && before.tiles_done.length === tiles;
}

async function openOrCreateProduct(
  o: ReconstructOptions,
  cube: Cube,
  loaded: Loaded,
  t0: number,
  t1: number,
  settings: string,
  log: (m: string) => void,
): Promise<Cube> {
  if (fs.existsSync(o.out)) {
    const product = await Cube.open(o.out);
    const before = product.attributes.reconstruct as Progress | undefined;
    if (before && before.settings !== settings && extends_(before, settings, product)) {
      // The cube grew (a later end): the product grows too, and only the new days are made.
      const from = product.days;
      await product.appendDays(t1 - t0 - from);
      await product.setAttributes({ reconstruct: { settings, tiles_done: [], clipped: before.clipped, from } satisfies Progress });
      log(`extending the product by ${t1 - t0 - from} days (from ${formatDay(product.startDay + from)})`);
      return product;
    }
    if (!before || before.settings !== settings)
      throw new SmapfillError("holds a product made with another cube, model or settings", {
        file: o.out,
        hint: "Choose another --out, or remove it to start again (a cube that grew extends its product)",
      });
    const removed = removeLeftovers(o.out);
    if (removed) log(`removed ${removed} temporary files an interrupted run left`);
    return product;
  }
  const modelName = loaded.model.name;
  const record = loaded.record;
  return Cube.create(o.out, {
    resolution: cube.grid.resolution,
    window: cube.window,
    start: formatDay(cube.startDay + t0),
    days: t1 - t0,
    variables: productVariables(Boolean(o.everywhere), modelName, cube.hasVariable("soil_moisture_am") && cube.hasVariable("soil_moisture_pm")),
    chunks: cube.chunks,
    attributes: {
      title: "smapfill gap-free SMAP surface soil moisture",
      product_source_cube: relativeToProduct(o.out, o.cube),
      model: modelName,
      model_dir: relativeToProduct(o.out, o.model),
      model_fingerprint: loaded.fingerprint,
      model_smapfill_version: (record.run as { smapfill?: string } | undefined)?.smapfill ?? "unknown",
      model_calibration_metrics: JSON.stringify(record.calibration_metrics ?? null),
      model_calibration_coverage: JSON.stringify(record.calibration_coverage ?? null),
      uncertainty_method: loaded.residual.state.method,
      ...frozenAttributes(o.frozen ?? DEFAULT_FROZEN_POLICY, loaded.residual.state),
      without_dynamic_predictors: JSON.stringify(record.without_dynamic_predictors ?? null),
      valid_range: o.validRange ?? SMAP_VALID_RANGE,
      created_by: JSON.stringify(runInfo()),
      ...zarrGeoConventions(cube.grid, cube.window),
      reconstruct: { settings, tiles_done: [], clipped: 0 } satisfies Progress,
    },
  });
}

/** The cells of a tile that count as land. */
function landOf(smap: Float32Array, P: number, T: number, landMask: Float32Array | undefined): Uint8Array {
  const land = new Uint8Array(P);
  for (let t = 0; t < T; t++) for (let p = 0; p < P; p++) if (!Number.isNaN(smap[t * P + p]!)) land[p] = 1;
  if (landMask) for (let p = 0; p < P; p++) if (!(landMask[p]! >= 0.5)) land[p] = 0;
  return land;
}

type TilePlan = Pick<ReconstructionPlan, "cube" | "product" | "loaded" | "t0" | "t1" | "validRange" | "frozen">;

/** What every block of a tile shares: its rows' features (the ship view), land, SMAP's pass, the model's columns. */
interface TileInputs {
  tile: LocalWindow;
  view: TileView;
  P: number;
  land: Uint8Array;
  /** Which pass SMAP's merged value came from, days [t0, t1) (when the cube records it). */
  pass: Float32Array | undefined;
  match: SchemaMatch;
}

/**
 * A tile's inputs: the whole SMAP series of the tile (the features' per-pixel statistics) and its
 * statics through the row draw's ship view (features/row-draw.ts: the halo of SMAP values when
 * the model has spatial context, exactly the rows evaluate scored), no dynamics yet.
 */
async function tileInputs(plan: TilePlan, tile: LocalWindow, o: ReconstructOptions, matchOnce: (m: SchemaMatch) => SchemaMatch): Promise<TileInputs> {
  const { cube, loaded, t0, t1 } = plan;
  const view = await shipViewOf(cube, tile, { ...viewSettingsOf(loaded.schema), coordinates: true });
  // Rows to fill are built alike in both ts modes (only training rows differ): take the model's.
  const mode = loaded.schema.ts_mode === "none" ? "in-sample" : loaded.schema.ts_mode;
  const match = matchOnce(matchSchema(loaded.schema, { ...view.features.schema(), ts_mode: mode }, { model: o.model, data: cube.path }));
  const maskName = cube.variables.find((v) => v.kind === "static" && LAND_MASK_NAMES.includes(v.name.toLowerCase()))?.name;
  const P = view.arrays.P;
  const land = landOf(view.arrays.smap, P, cube.days, maskName ? view.arrays.static.get(maskName) : undefined);
  const pass = cube.hasVariable("soil_moisture_pass") ? await cube.readBlock("soil_moisture_pass", t0, t1, tile) : undefined;
  return { tile, view, P, land, pass, match };
}

/** One block of chunk-aligned days of a tile: its outputs and the pixel-days the model must fill. */
interface Block {
  b0: number;
  features: FeatureBuilder;
  sm: Float32Array;
  unc: Float32Array;
  source: Uint8Array;
  modelValue: Float32Array | undefined;
  passes: { name: string; observed: Float32Array; values: Float32Array; source: Uint8Array }[];
  /** Why SMAP is missing (soil_moisture_missing_reason codes; undefined when the cube has none) and which days are frozen (1). */
  reasons: Uint8Array | undefined;
  frozen: Uint8Array;
  /** Indices (t - b0) * P + p of the pixel-days to predict. */
  queue: Int32Array;
  /** Batches not yet predicted and stored. */
  pending: number;
  /** 1 where every dynamic predictor is missing and the model fills anyway (validated on such rows). */
  withoutDynamic: Uint8Array;
}

/**
 * A block's sources: SMAP where it observed (and which pass), the pixel-days to fill, those not
 * filled (outside land; every dynamic predictor missing: the model would see only imputed means).
 */
async function prepareBlock(plan: TilePlan, inputs: TileInputs, b0: number, b1: number, o: ReconstructOptions): Promise<Block> {
  const { cube, product, t0 } = plan;
  const { tile, view, P, land, pass } = inputs;
  const n = (b1 - b0) * P;
  const dynamic = await readDynamicBlock(cube, tile, b0, b1);
  // Per pass (when the cube keeps both): each pass's observed value, the model where it is missing.
  const passes = product.hasVariable("soil_moisture_am")
    ? await Promise.all(
        ["am", "pm"].map(async (q) => ({
          name: q,
          observed: await cube.readBlock(`soil_moisture_${q}`, b0, b1, tile),
          values: new Float32Array(n).fill(NaN),
          source: new Uint8Array(n),
        })),
      )
    : [];
  const reasons = cube.hasVariable(MISSING_REASON_VARIABLE) ? Uint8Array.from(await cube.readBlock(MISSING_REASON_VARIABLE, b0, b1, tile)) : undefined;
  const frozen = frozenDays(reasons, n);
  const block: Block = {
    b0,
    features: view.features.withDynamic(dynamic, b0),
    sm: new Float32Array(n).fill(NaN),
    unc: new Float32Array(n).fill(NaN),
    source: new Uint8Array(n),
    modelValue: o.everywhere ? new Float32Array(n).fill(NaN) : undefined,
    passes,
    reasons,
    frozen,
    queue: new Int32Array(0),
    pending: 0,
    withoutDynamic: new Uint8Array(n),
  };
  const fillWithout = withoutDynamicScale(plan.loaded.record) !== undefined;
  const { sm, source, modelValue } = block;
  const queue = new Int32Array(n);
  let queued = 0;
  const dyn = [...dynamic.values()];
  const smap = view.arrays.smap;
  for (let k = 0; k < n; k++) {
    const t = b0 + Math.floor(k / P);
    const p = k % P;
    if (!land[p]) {
      source[k] = SOURCE_FLAGS.not_filled_outside_land;
      for (const q of passes) q.source[k] = SOURCE_FLAGS.not_filled_outside_land;
      continue;
    }
    let needed = Boolean(modelValue);
    for (const q of passes) {
      const pv = q.observed[k]!;
      if (Number.isNaN(pv)) needed = true;
      else ((q.values[k] = pv), (q.source[k] = q.name === "am" ? SOURCE_FLAGS.observed_am : SOURCE_FLAGS.observed_pm));
    }
    const v = smap[t * P + p]!;
    let noPredictors = dyn.length > 0;
    for (let j = 0; noPredictors && j < dyn.length; j++) noPredictors = Number.isNaN(dyn[j]![k]!);
    if (!Number.isNaN(v)) {
      sm[k] = v;
      const pv = pass?.[(t - t0) * P + p] ?? 1;
      source[k] = pv === 2 ? SOURCE_FLAGS.observed_pm : pv === 3 ? SOURCE_FLAGS.observed_am_pm_mean : SOURCE_FLAGS.observed_am;
    } else if (noPredictors && !fillWithout) source[k] = SOURCE_FLAGS.not_filled_missing_predictors;
    // Without dynamic predictors a gap is filled only when the model was validated on such rows; a
    // frozen one under --frozen mask stays masked.
    else if (noPredictors && !(frozen[k] && plan.frozen === "mask")) source[k] = SOURCE_FLAGS.reconstructed_without_dynamic_predictors;
    else source[k] = gapFlag(Boolean(frozen[k]), plan.frozen);
    if (noPredictors && !fillWithout) {
      for (const q of passes) if (!q.source[k]) q.source[k] = SOURCE_FLAGS.not_filled_missing_predictors;
      continue;
    }
    if (noPredictors) block.withoutDynamic[k] = 1;
    if (frozen[k] && plan.frozen === "mask") for (const q of passes) if (!q.source[k]) q.source[k] = SOURCE_FLAGS.not_filled_frozen;
    if (needed || isFilled(source[k]!)) queue[queued++] = k;
  }
  block.queue = queue.subarray(0, queued);
  return block;
}

/** A batch of a block's rows to predict: the model's columns of the features of queue[q0, q0 + batch). */
interface Batch {
  block: Block;
  ks: Int32Array;
  X: Float32Array;
  /** Where the rows come from (cube pixels and days): a sequence model reads their history. */
  origin: RowOrigin;
}

function batchRows(plan: TilePlan, inputs: TileInputs, block: Block, q0: number, batch: number, warnings: Set<string>): Batch {
  const { P, match, tile } = inputs;
  const ks = block.queue.subarray(q0, q0 + batch);
  const m = ks.length;
  const W = plan.cube.window.ncols;
  // The tile's pixel and day of each row, and its pixel in the whole cube (a sequence model reads its history there).
  const pixel = new Int32Array(m);
  const day = new Int32Array(m);
  const cubePixel = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const k = ks[i]!;
    const q = k % P;
    pixel[i] = q;
    day[i] = block.b0 + (k - q) / P;
    cubePixel[i] = (tile.row0 + Math.floor(q / tile.ncols)) * W + tile.col0 + (q % tile.ncols);
  }
  const rows = block.features.rows(pixel, day);
  const X = match.identity ? rows : selectColumns(rows, m, block.features.names.length, match.columns);
  for (const w of rangeWarnings(plan.loaded.schema, X, m, 0.05)) warnings.add(w.replace(/[\d.]+ % of the rows/, "some rows"));
  return { block, ks, X, origin: { pixel: cubePixel, day, cube: { path: plan.cube.path } } };
}

/** Stores a batch's predictions (clipped to the valid range) and uncertainties; returns how many were clipped. */
function storeBatch(plan: TilePlan, batch: Batch, pred: Float32Array): number {
  const { block, ks, X } = batch;
  const { loaded, validRange } = plan;
  const m = ks.length;
  const reasons = block.reasons ? new Uint8Array(m) : undefined;
  const frozen = new Uint8Array(m);
  for (let i = 0; i < m; i++) {
    if (reasons) reasons[i] = block.reasons![ks[i]!]!;
    frozen[i] = block.frozen[ks[i]!]!;
  }
  // The ensemble's spread comes from the members' predictions just made for these rows.
  const sigma = loaded.residual.sigma(X, m, loaded.schema, {
    spread: spreadOf(loaded.model, X, m, batch.origin),
    ...(reasons ? { reasons } : {}),
    frozen,
  });
  const { sm, unc, source, modelValue, passes, withoutDynamic } = block;
  const scale = withoutDynamicScale(loaded.record) ?? 1;
  let clipped = 0;
  for (let i = 0; i < m; i++) {
    const k = ks[i]!;
    const raw = pred[i]!;
    const value = Math.min(validRange[1], Math.max(validRange[0], raw));
    if (modelValue) modelValue[k] = value;
    if (passes.length) {
      const flag = withoutDynamic[k] ? SOURCE_FLAGS.reconstructed_without_dynamic_predictors : gapFlag(Boolean(frozen[i]), "fill");
      for (const q of passes) if (!q.source[k]) ((q.values[k] = value), (q.source[k] = flag));
    }
    if (!isFilled(source[k]!)) continue;
    if (value !== raw) clipped++;
    sm[k] = value;
    unc[k] = withoutDynamic[k] ? sigma[i]! * scale : sigma[i]!;
  }
  block.pending--;
  return clipped;
}

/** Writes a finished block's chunks (whole chunks; temporary name and rename). */
async function writeBlock(plan: TilePlan, tile: LocalWindow, block: Block): Promise<void> {
  const { product, t0 } = plan;
  const at = block.b0 - t0;
  // Tests kill the process here, in the middle of a tile (not at its first block).
  if (block.b0 !== t0) failpoint("reconstruct-block");
  await product.writeBlock("soil_moisture", at, block.sm, tile);
  await product.writeBlock("soil_moisture_uncertainty", at, block.unc, tile);
  await product.writeBlock("soil_moisture_source", at, block.source, tile);
  if (block.modelValue) await product.writeBlock("soil_moisture_model", at, block.modelValue, tile);
  for (const q of block.passes) {
    await product.writeBlock(`soil_moisture_${q.name}`, at, q.values, tile);
    await product.writeBlock(`soil_moisture_${q.name}_source`, at, q.source, tile);
  }
}

/**
 * The days [from, until) of one tile, as a software pipeline: while the workers predict one
 * batch (predictLater), this thread reads and builds the next one and writes the blocks already
 * complete, then joins the prediction, so the cores never wait on reading, features or
 * compression. Day blocks are aligned with the product's time chunks (blockEnd).
 */
async function reconstructTile(
  plan: TilePlan,
  tile: LocalWindow,
  from: number,
  until: number,
  o: ReconstructOptions,
  matchOnce: (m: SchemaMatch) => SchemaMatch,
  warnings: Set<string>,
): Promise<{ clipped: number }> {
  const { cube, loaded, t0, t1 } = plan;
  const inputs = await tileInputs(plan, tile, o, matchOnce);
  const step = cube.chunks.time;
  const batch = o.batchRows ?? 65536;
  let clipped = 0;
  const unwritten: Block[] = [];
  let inFlight: { item: Batch; finish: () => Float32Array } | undefined;
  const writeComplete = async () => {
    while (unwritten.length && unwritten[0]!.pending === 0) await writeBlock(plan, tile, unwritten.shift()!);
  };
  const settle = () => {
    if (inFlight) clipped += storeBatch(plan, inFlight.item, inFlight.finish());
    inFlight = undefined;
  };
  for (let b0 = from; b0 < until; b0 = blockEnd(b0, t0, t1, step)) {
    const block = await prepareBlock(plan, inputs, b0, blockEnd(b0, t0, t1, step), o);
    block.pending = Math.ceil(block.queue.length / batch);
    unwritten.push(block);
    for (let q0 = 0; q0 < block.queue.length; q0 += batch) {
      const item = batchRows(plan, inputs, block, q0, batch, warnings);
      // A sequence model reads the batch's history from the cube first.
      if (loaded.model.capabilities.sequence)
        item.origin = (await prepareRows(loaded.model, [{ X: item.X, n: item.ks.length, origin: item.origin }]))[0]!.origin!;
      settle();
      inFlight = { item, finish: predictLater(loaded.model, item.X, item.ks.length, item.origin) };
      await writeComplete();
    }
  }
  settle();
  await writeComplete();
  return { clipped };
}

/** Pixel-days by source over the whole product (read back from what was written). */
export async function countSources(product: Cube): Promise<ReconstructReport["pixelDays"]> {
  const counts = { land: 0, observed: 0, reconstructed: 0, notFilled: 0, frozenFilled: 0, frozenMasked: 0 };
  for (const tile of product.tiles()) {
    const s = await product.readBlock("soil_moisture_source", 0, product.days, tile);
    for (const v of s) {
      if (v === SOURCE_FLAGS.not_filled_outside_land) continue;
      counts.land++;
      if (v >= 1 && v <= 3) counts.observed++;
      else if (isFilled(v)) counts.reconstructed++;
      else counts.notFilled++;
      if (v === SOURCE_FLAGS.reconstructed_frozen) counts.frozenFilled++;
      if (v === SOURCE_FLAGS.not_filled_frozen) counts.frozenMasked++;
    }
  }
  return counts;
}
