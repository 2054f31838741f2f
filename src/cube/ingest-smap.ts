/**
 * SMAP L3 granules -> the cube's soil moisture, for a region and a period.
 *
 * AM and PM: SMAP passes at 6 am (descending) and 6 pm (ascending) local time. The cube keeps
 * one daily value, `soil_moisture`, by a documented rule, and `soil_moisture_pass` says where
 * each value came from (1 = AM, 2 = PM, 3 = mean of both). The default rule, "am-first", takes
 * the AM retrieval and fills with PM where AM is missing: at 6 am the soil, vegetation and air
 * are closest to thermal equilibrium, which the retrieval assumes, so AM is the SMAP team's
 * baseline (and the better-validated pass); PM adds coverage. "pm-first" and "mean" are the
 * alternatives; `keepPasses` also stores `soil_moisture_am` and `soil_moisture_pm`.
 *
 * Ingestion works in blocks of the cube's time chunk: a block is read, merged and written as
 * whole chunks, then recorded in the cube's attributes with the fingerprint (size, modification
 * time, content hash: fingerprint.ts) of every granule it read. A rerun redoes a block that is not
 * recorded (an interrupted run), that had a failed granule or a day without one (a granule
 * downloaded again or late is read), or whose granules' content changed (a granule downloaded
 * again with the same bytes is not read again); `redo` rebuilds the blocks of given days on
 * request. A cube built with other settings is refused rather than silently mixed.
 */
import fs from "node:fs";
import path from "node:path";
import { Ease2Grid, type BBox, type Window } from "../grid/ease2.js";
import {
  listGranules,
  misnamedGranules,
  granuleDateFromName,
  readSmapL3,
  GranuleReaderPool,
  type QualityPolicy,
  type SmapPass,
  type GranuleFailure,
} from "../io/smap-l3.js";
import { CAUSE, CAUSE_MASK, REJECTED_BY_QUALITY } from "../io/smap-flags.js";
import { formatDay, parseDay } from "../util/dates.js";
import { SmapfillError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { Cube, DEFAULT_CHUNKS, type ChunkShape, type VariableSpec } from "./cube.js";
import { acquireWriterLock } from "./lock.js";
import { combineDayReasons, MISSING_REASON_VARIABLE, missingReasonVariable, recordMissingReasonShares, type MissingReasonShares } from "./missing-reasons.js";
import { digest, FingerprintCache, hashOf, type FileFingerprint } from "./fingerprint.js";

export type PassRule = "am-first" | "pm-first" | "mean";
export const PASS_RULES: readonly PassRule[] = ["am-first", "pm-first", "mean"];

export interface SmapIngestOptions {
  /** A directory of granules or a list of files. */
  granules: string | string[];
  cube: string;
  resolution: "9km" | "36km";
  /** The region: a lat/lon box (cells whose centre is inside) or a window of the global grid. */
  bbox?: BBox;
  window?: Window;
  /** First and last day, YYYY-MM-DD. */
  start: string;
  end: string;
  quality?: QualityPolicy;
  passRule?: PassRule;
  keepPasses?: boolean;
  chunks?: Partial<ChunkShape>;
  /** Worker threads reading granules; default all cores. */
  threads?: number;
  quiet?: boolean;
  /** Days [from, to] (YYYY-MM-DD) whose blocks are rebuilt even if done. */
  redo?: [string, string];
}

/** Why pass-cells have no value, per block (the cube's soil_moisture_missing_reason has it per pixel-day). */
export interface MissingCauses {
  observed: number;
  /** No retrieval at all: outside the swath (surface_flag 2047). */
  noOverpass: number;
  /** Retrieval not attempted or not successful (frozen ground, snow, RFI, ...). */
  retrievalFailed: number;
  /** A value the quality policy rejected, or outside the valid range. */
  rejected: number;
  /** No value and no flags to say why (re-assembled granules). */
  unknown: number;
}

export interface BlockRecord {
  causes: MissingCauses;
  failures: GranuleFailure[];
  missingDays: string[];
  granules: number;
  /** Every granule the block read or tried: its path relative to the cube's folder -> "size:mtime:sha256". */
  fingerprints?: Record<string, FileFingerprint>;
  /** A hash of what the block was made from (the settings, each day's granule content). */
  content?: string;
}

export interface SmapIngestReport {
  cube: string;
  window: Window;
  days: number;
  cells: number;
  /** Cells with at least one retrieval in the period (land seen by SMAP). */
  observedCells: number;
  granulesRead: number;
  resumedBlocks: number;
  /** Blocks read again because a granule failed, was missing, changed, or `redo` asked. */
  redoneBlocks: number;
  failures: GranuleFailure[];
  missingDays: string[];
  causes: MissingCauses;
  /** The share of gaps per reason (soil_moisture_missing_reason), also stored in the cube's attributes. */
  missingReasons?: MissingReasonShares;
  /** Per day: share of observed cells with a value. */
  coveragePerDay: Float32Array;
  /** Per cell: share of days with a value (NaN for never-observed cells). */
  coveragePerCell: Float32Array;
  /** Share of observed pixel-days without a value. */
  missingShare: number;
}

const PASS_LABEL = { AM: 1, PM: 2, BOTH: 3 } as const;

function settingsOf(o: SmapIngestOptions, window: Window) {
  return {
    resolution: o.resolution,
    window,
    start: o.start,
    end: o.end,
    quality: o.quality ?? "recommended",
    passRule: o.passRule ?? "am-first",
    keepPasses: Boolean(o.keepPasses),
  };
}

export async function ingestSmap(options: SmapIngestOptions): Promise<SmapIngestReport> {
  const release = acquireWriterLock(options.cube, "smapfill ingest-smap", { log: options.quiet ? undefined : (m) => process.stderr.write(`${m}\n`) });
  try {
    return await ingestSmapLocked(options);
  } finally {
    release();
  }
}

async function ingestSmapLocked(options: SmapIngestOptions): Promise<SmapIngestReport> {
  const plan = await planSmapIngest(options);
  const { todo, resumed, redone } = smapBlocksToDo(plan, options.redo);
  const progress = new Progress("ingest SMAP", plan.days, { quiet: options.quiet });
  for (let b = 0; b < plan.nBlocks; b++) {
    const [t0, t1] = blockDays(plan, b);
    if (!todo.includes(b)) progress.tick(t1 - t0, "(done before)");
  }
  const reader = new GranuleReaderPool(options.threads);
  try {
    for (const b of todo) await recordSmapBlock(plan, b, await ingestSmapBlock(plan, b, reader, (note) => progress.tick(1, note)));
  } finally {
    await reader.close();
  }
  progress.finish();
  return finishSmapIngest(plan, resumed, redone);
}

/** What an ingestion of SMAP works on: the granules by date, the settings, the cube (created or resumed), its block records. */
export interface SmapIngestPlan {
  options: SmapIngestOptions;
  window: Window;
  startDay: number;
  days: number;
  settings: ReturnType<typeof settingsOf>;
  byDate: Map<string, string>;
  /** Granules skipped before reading (duplicates, misnamed). */
  failures: GranuleFailure[];
  cube: Cube;
  state: { blocks: Record<string, BlockRecord> };
  nBlocks: number;
  /** Granule fingerprints, each file hashed at most once per run. */
  fingerprints: FingerprintCache;
}

/**
 * Checks the options, lists the granules, preflights one, and opens or creates the cube. With
 * `create: false` (a distributed job) the cube must exist with these settings and no granule is
 * preflighted.
 */
export async function planSmapIngest(options: SmapIngestOptions, o: { create?: boolean } = {}): Promise<SmapIngestPlan> {
  const grid = Ease2Grid.of(options.resolution);
  if (!options.bbox === !options.window) {
    throw new SmapfillError("give exactly one of bbox and window", {
      variable: "region",
      hint: "A lat/lon box is usual; a window is rows/cols of the global grid",
    });
  }
  const window = options.window ?? grid.windowFromBBox(options.bbox!);
  grid.checkWindow(window, "the region");
  const startDay = parseDay(options.start, "start");
  const endDay = parseDay(options.end, "end");
  if (endDay < startDay) throw new SmapfillError(`end ${options.end} is before start ${options.start}`, { variable: "end" });
  const passRule = options.passRule ?? "am-first";
  if (!PASS_RULES.includes(passRule))
    throw new SmapfillError(`unknown pass rule '${passRule}'`, { variable: "passRule", hint: `Use ${PASS_RULES.join(", ")}` });
  const days = endDay - startDay + 1;
  const settings = settingsOf(options, window);

  // Granules by date (the first file of a date wins; duplicates are reported).
  const byDate = new Map<string, string>();
  const failures: GranuleFailure[] = [];
  const listed = listGranules(options.granules);
  for (const file of listed) {
    const date = granuleDateFromName(file);
    if (!date) continue;
    if (!fs.existsSync(file)) {
      failures.push({ file, error: "is a broken symbolic link (its target is gone): skipped" });
      continue;
    }
    if (byDate.has(date)) failures.push({ file, error: `a second granule for ${date} (kept ${byDate.get(date)})` });
    else byDate.set(date, file);
  }

  if (typeof options.granules === "string")
    for (const file of misnamedGranules(options.granules))
      failures.push({ file, error: "not named like a SMAP L3 granule (SMAP_L3_SM_P[_E]_YYYYMMDD_...): its date is unknown, skipped; keep NASA's file names" });

  let cube: Cube;
  if (o.create === false) {
    cube = await Cube.open(options.cube);
    const recorded = (cube.attributes.smap_ingest as { settings?: unknown } | undefined)?.settings;
    if (JSON.stringify(recorded) !== JSON.stringify(settings))
      throw new SmapfillError("was made with other SMAP settings than the job's", { file: options.cube, hint: "The job is stale; start the ingestion again" });
  } else {
    // Preflight: a systematic mistake (wrong grid, not a SMAP L3 granule) fails here, before any
    // cube is made, instead of once per granule.
    const inPeriod = [...byDate.entries()].filter(([date]) => parseDay(date) >= startDay && parseDay(date) <= endDay);
    if (inPeriod.length === 0) {
      const dates = [...byDate.keys()].sort();
      const misnamed = failures.filter((f) => f.error.startsWith("not named like")).length;
      const broken = failures.filter((f) => f.error.startsWith("is a broken symbolic link")).length;
      const found = dates.length
        ? `the ${dates.length} granules found are dated ${dates[0]} .. ${dates[dates.length - 1]}`
        : listed.length || misnamed
          ? `none of the ${listed.length + misnamed} files found is a readable granule with NASA's name${broken ? ` (${broken} are broken symbolic links)` : ""}${misnamed ? ` (${misnamed} are not named like SMAP L3 granules)` : ""}`
          : "no granule file was found there";
      throw new SmapfillError(`no SMAP L3 granule dated ${options.start} .. ${options.end}: ${found}`, {
        file: typeof options.granules === "string" ? options.granules : undefined,
        hint: dates.length
          ? "Check the period, or download the granules of these days"
          : "Check the granule folder or glob; files must keep NASA's names (SMAP_L3_SM_P[_E]_YYYYMMDD_...)",
      });
    }
    const firstGood = inPeriod.find(([, file]) => {
      try {
        readSmapL3(file, { window, expectResolution: options.resolution, quality: settings.quality, passes: ["AM"] });
        return true;
      } catch (error) {
        if (error instanceof SmapfillError && /grid, but the study uses|not a global/.test(error.message)) throw error;
        return false;
      }
    });
    if (!firstGood) {
      const [, file] = inPeriod[0]!;
      readSmapL3(file, { window, expectResolution: options.resolution, quality: settings.quality }); // throws its reason
    }
    cube = await openOrCreate(options, window, days, settings);
  }
  const state = (cube.attributes.smap_ingest ?? { blocks: {} }) as { blocks: Record<string, BlockRecord> };
  const fingerprints = new FingerprintCache(path.dirname(path.resolve(options.cube)));
  return { options, window, startDay, days, settings, byDate, failures, cube, state, nBlocks: Math.ceil(days / cube.chunks.time), fingerprints };
}

/**
 * What an ingestion of a region and period holds in memory at its peak (one chunk of days of the
 * window: the merged values, their pass flags and both passes, 4 bytes each) and writes to disk
 * (about half the raw float32 values and pass flags after compression: a rough upper guess, as
 * land and swath gaps compress well), with a line that says both.
 */
export function smapIngestEstimate(resolution: "9km" | "36km", bbox: BBox, start: string, end: string): { memory: number; disk: number; text: string } {
  const grid = Ease2Grid.of(resolution);
  const w = grid.windowFromBBox(bbox);
  const days = Math.max(1, parseDay(end, "--end") - parseDay(start, "--start") + 1);
  const cells = w.nrows * w.ncols;
  const memory = cells * 4 * DEFAULT_CHUNKS.time * 4;
  const disk = cells * days * 5 * 0.5;
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(n < 2 ** 30 ? 2 : 1)} GiB`;
  return {
    memory,
    disk,
    text: `${w.nrows} x ${w.ncols} cells x ${days} days: about ${gib(memory)} of memory (a chunk of ${DEFAULT_CHUNKS.time} days) and up to ${gib(disk)} on disk`,
  };
}

/** Days [t0, t1) of block b. */
export function blockDays(plan: SmapIngestPlan, b: number): [number, number] {
  const t0 = b * plan.cube.chunks.time;
  return [t0, Math.min(plan.days, t0 + plan.cube.chunks.time)];
}

/** The blocks to read: not done yet, stale (a granule failed, appeared or changed), or asked again by `redo`. */
export function smapBlocksToDo(plan: SmapIngestPlan, redoDates?: [string, string]): { todo: number[]; resumed: number; redone: number } {
  const { days, startDay } = plan;
  const redo = redoDates ? [parseDay(redoDates[0], "--redo") - startDay, parseDay(redoDates[1], "--redo") - startDay] : undefined;
  if (redo && !(redo[0]! <= redo[1]! && redo[1]! >= 0 && redo[0]! < days))
    throw new SmapfillError(`--redo ${redoDates!.join("..")} is not a range of days inside ${plan.options.start} .. ${plan.options.end}`, {
      variable: "--redo",
    });
  const todo: number[] = [];
  let [resumed, redone] = [0, 0];
  for (let b = 0; b < plan.nBlocks; b++) {
    const [t0, t1] = blockDays(plan, b);
    const before = plan.state.blocks[b];
    const asked = redo !== undefined && redo[0]! < t1 && redo[1]! >= t0;
    if (before && !asked && !blockIsStale(plan, before, t0, t1)) {
      resumed++;
      continue;
    }
    if (before) redone++;
    todo.push(b);
  }
  return { todo, resumed, redone };
}

/** Reads one block's granules and writes its whole chunks (no other block shares them); its record is returned, not stored. */
export async function ingestSmapBlock(
  plan: SmapIngestPlan,
  b: number,
  reader: GranuleReaderPool,
  tick: (note?: string) => void = () => {},
): Promise<BlockRecord> {
  const { cube, window, settings, startDay, byDate, options } = plan;
  const [t0, t1] = blockDays(plan, b);
  const cells = window.nrows * window.ncols;
  const passRule = settings.passRule as PassRule;
  const merged = new Float32Array((t1 - t0) * cells).fill(NaN);
  const source = new Uint8Array((t1 - t0) * cells);
  // Days whose granule is absent or unreadable keep this reason.
  const reasons = new Uint8Array((t1 - t0) * cells).fill(CAUSE.no_granule);
  const am = settings.keepPasses ? new Float32Array((t1 - t0) * cells).fill(NaN) : undefined;
  const pm = settings.keepPasses ? new Float32Array((t1 - t0) * cells).fill(NaN) : undefined;
  const record: BlockRecord = {
    causes: { ...NO_CAUSES },
    failures: [],
    missingDays: [],
    granules: 0,
    fingerprints: {},
  };
  const dayOfFile = new Map<string, number>();
  for (let t = t0; t < t1; t++) {
    const date = formatDay(startDay + t);
    const file = byDate.get(date);
    if (file) {
      dayOfFile.set(file, t);
      record.fingerprints![plan.fingerprints.relative(file)] = plan.fingerprints.of(file);
    } else {
      record.missingDays.push(date);
      tick();
    }
  }
  for await (const result of reader.read([...dayOfFile.keys()], { window, expectResolution: options.resolution, quality: settings.quality })) {
    if (!result.ok) {
      record.failures.push(result.failure);
      tick();
      continue;
    }
    const granule = result.granule;
    const t = dayOfFile.get(granule.file)!;
    record.granules++;
    const offset = (t - t0) * cells;
    const passes = Object.fromEntries(granule.passes.map((p) => [p.pass, p])) as Record<"AM" | "PM", SmapPass>;
    mergePasses(passes.AM.values, passes.PM.values, passRule, merged.subarray(offset, offset + cells), source.subarray(offset, offset + cells));
    combineDayReasons(passes.AM.reasons, passes.PM.reasons, reasons.subarray(offset, offset + cells));
    am?.set(passes.AM.values, offset);
    pm?.set(passes.PM.values, offset);
    for (const p of granule.passes) countCauses(p, record.causes);
    tick(granule.date);
  }
  await cube.writeBlock("soil_moisture", t0, merged);
  await cube.writeBlock("soil_moisture_pass", t0, source);
  await cube.writeBlock(MISSING_REASON_VARIABLE, t0, reasons);
  if (am && pm) {
    await cube.writeBlock("soil_moisture_am", t0, am);
    await cube.writeBlock("soil_moisture_pm", t0, pm);
  }
  record.content = digest({ settings, granules: Object.values(record.fingerprints!).map(hashOf).sort(), missing: record.missingDays });
  return record;
}

/** The variables one SMAP block writes (a distributed job checksums their chunks). */
export function smapBlockVariables(plan: SmapIngestPlan): string[] {
  return ["soil_moisture", "soil_moisture_pass", MISSING_REASON_VARIABLE, ...(plan.settings.keepPasses ? ["soil_moisture_am", "soil_moisture_pm"] : [])];
}

/** Stores a finished block's record in the cube (the single writer's step: a rerun skips the block). */
export async function recordSmapBlock(plan: SmapIngestPlan, b: number, record: BlockRecord): Promise<void> {
  plan.state.blocks[b] = record;
  await plan.cube.setAttributes({ smap_ingest: { settings: plan.settings, blocks: plan.state.blocks } });
}

/** The report over every block's record, the coverage, and the provenance. */
export async function finishSmapIngest(plan: SmapIngestPlan, resumed: number, redone: number): Promise<SmapIngestReport> {
  const { cube, options, window, days, failures } = plan;
  const cells = window.nrows * window.ncols;
  const records = Object.values(plan.state.blocks);
  const causes = records.reduce<MissingCauses>(
    (acc, r) => Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, v + (r.causes[k as keyof MissingCauses] ?? 0)])) as unknown as MissingCauses,
    { ...NO_CAUSES },
  );
  const coverage = await coverageOf(cube);
  const report: SmapIngestReport = {
    cube: options.cube,
    window,
    days,
    cells,
    observedCells: coverage.observedCells,
    granulesRead: records.reduce((n, r) => n + r.granules, 0),
    resumedBlocks: resumed,
    redoneBlocks: redone,
    failures: [...failures, ...records.flatMap((r) => r.failures)],
    missingDays: records.flatMap((r) => r.missingDays),
    causes,
    missingReasons: await recordMissingReasonShares(cube),
    coveragePerDay: coverage.perDay,
    coveragePerCell: coverage.perCell,
    missingShare: coverage.missingShare,
  };
  if (coverage.observedCells === 0)
    throw new SmapfillError(`has no SMAP retrieval anywhere in the region over ${options.start} .. ${options.end}: the cube holds only missing values`, {
      file: options.cube,
      hint: "Check the region (over land? bbox as [south, north, west, east]), the period, and the quality policy (--quality uncertain or any keeps more)",
    });
  await cube.addProvenance("ingest-smap", {
    granules: report.granulesRead,
    failures: report.failures.length,
    missing_days: report.missingDays.length,
    resumed_blocks: resumed,
    redone_blocks: redone,
  });
  return report;
}

/**
 * A recorded block must be read again when a granule of it failed, a day of it had none and now
 * has one, a day lost its granule, or a granule's content is not what the block read (a file is
 * hashed again only when its size or time changed). A granule only touched or moved keeps the
 * block, whose record then names the files as they are now.
 */
function blockIsStale(plan: SmapIngestPlan, r: BlockRecord, t0: number, t1: number): boolean {
  if (r.failures.length) return true;
  const recorded = r.fingerprints ?? {};
  const byDay = new Map(Object.entries(recorded).map(([file, f]) => [granuleDateFromName(file), f] as const));
  const now: Record<string, FileFingerprint> = {};
  for (let t = t0; t < t1; t++) {
    const date = formatDay(plan.startDay + t);
    const file = plan.byDate.get(date);
    if (!file) {
      if (byDay.has(date)) return true;
      continue;
    }
    if (r.missingDays.includes(date)) return true;
    const rel = plan.fingerprints.relative(file);
    const before = recorded[rel] ?? byDay.get(date);
    const f = plan.fingerprints.of(file, before);
    if (!before || hashOf(f) !== hashOf(before)) return true;
    now[rel] = f;
  }
  if (JSON.stringify(now) !== JSON.stringify(recorded)) r.fingerprints = now; // stored with the cube's next metadata write
  return false;
}

/** Days as short ranges: "2020-01-05..2020-01-09, 2020-02-01". */
export function dayRanges(dates: string[]): string {
  const days = [...new Set(dates)].map((d) => parseDay(d)).sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < days.length;) {
    let j = i;
    while (j + 1 < days.length && days[j + 1] === days[j]! + 1) j++;
    parts.push(i === j ? formatDay(days[i]!) : `${formatDay(days[i]!)}..${formatDay(days[j]!)}`);
    i = j + 1;
  }
  return parts.join(", ");
}

async function openOrCreate(options: SmapIngestOptions, window: Window, days: number, settings: ReturnType<typeof settingsOf>): Promise<Cube> {
  if (fs.existsSync(options.cube)) {
    const cube = await Cube.open(options.cube);
    const previous = (cube.attributes.smap_ingest as { settings?: ReturnType<typeof settingsOf> } | undefined)?.settings;
    if (JSON.stringify(previous) === JSON.stringify(settings)) return cube;
    if (previous && JSON.stringify({ ...previous, end: settings.end }) === JSON.stringify(settings) && parseDay(settings.end) > parseDay(previous.end)) {
      await extendCube(cube, days, settings);
      return cube;
    }
    throw new SmapfillError("exists and was built with other settings", {
      file: options.cube,
      hint: `It has ${JSON.stringify(previous)}; give a new cube path to build with ${JSON.stringify(settings)} (a later end alone extends the cube)`,
    });
  }
  const variables: VariableSpec[] = [
    {
      name: "soil_moisture",
      kind: "dynamic",
      units: "m3 m-3",
      long_name: "SMAP L3 surface soil moisture (0-5 cm), one value per day",
      attributes: { standard_name: "volume_fraction_of_condensed_water_in_soil", pass_rule: settings.passRule, quality: settings.quality },
    },
    {
      name: "soil_moisture_pass",
      kind: "dynamic",
      units: "1",
      long_name: "pass of the daily soil moisture value",
      dtype: "uint8",
      attributes: { flag_values: [1, 2, 3], flag_meanings: "AM PM mean_of_AM_and_PM" },
    },
    missingReasonVariable(settings.quality),
  ];
  if (settings.keepPasses) {
    variables.push({ name: "soil_moisture_am", kind: "dynamic", units: "m3 m-3", long_name: "SMAP L3 soil moisture, 6 am descending pass" });
    variables.push({ name: "soil_moisture_pm", kind: "dynamic", units: "m3 m-3", long_name: "SMAP L3 soil moisture, 6 pm ascending pass" });
  }
  const cube = await Cube.create(options.cube, {
    resolution: options.resolution,
    window,
    start: options.start,
    days,
    variables,
    ...(options.chunks ? { chunks: options.chunks } : {}),
    attributes: { title: "smapfill cube", smap_ingest: { settings, blocks: {} } },
  });
  return cube;
}

/**
 * A later end: the cube grows to `days`, and the block that held the old last day (partial
 * unless the old period filled it) is forgotten for SMAP and every predictor, so that the next
 * ingestion fills it and the new ones. Done blocks before it stay done.
 */
async function extendCube(cube: Cube, days: number, settings: ReturnType<typeof settingsOf>): Promise<void> {
  const firstStale = Math.floor(cube.days / cube.chunks.time);
  await cube.appendDays(days - cube.days);
  const keep = <T>(blocks: Record<string, T> | undefined) => Object.fromEntries(Object.entries(blocks ?? {}).filter(([b]) => Number(b) < firstStale));
  const smap = cube.attributes.smap_ingest as { blocks?: Record<string, BlockRecord> };
  const predictors = (cube.attributes.predictor_ingest ?? {}) as Record<string, { blocks?: Record<string, unknown> }>;
  await cube.setAttributes({
    smap_ingest: { settings, blocks: keep(smap.blocks) },
    predictor_ingest: Object.fromEntries(Object.entries(predictors).map(([name, r]) => [name, r.blocks ? { ...r, blocks: keep(r.blocks) } : r])),
  });
  await cube.addProvenance("extend", { days, end: settings.end });
}

/** Merges the AM and PM values of one day by the rule; `source` gets 1/2/3 (0 = none). */
export function mergePasses(am: Float32Array, pm: Float32Array, rule: PassRule, out: Float32Array, source: Uint8Array): void {
  for (let i = 0; i < out.length; i++) {
    const a = am[i]!;
    const p = pm[i]!;
    const hasA = !Number.isNaN(a);
    const hasP = !Number.isNaN(p);
    if (hasA && hasP) {
      if (rule === "mean") {
        out[i] = (a + p) / 2;
        source[i] = PASS_LABEL.BOTH;
      } else if (rule === "am-first") {
        out[i] = a;
        source[i] = PASS_LABEL.AM;
      } else {
        out[i] = p;
        source[i] = PASS_LABEL.PM;
      }
    } else if (hasA) {
      out[i] = a;
      source[i] = PASS_LABEL.AM;
    } else if (hasP) {
      out[i] = p;
      source[i] = PASS_LABEL.PM;
    } else {
      out[i] = NaN;
      source[i] = 0;
    }
  }
}

const NO_CAUSES: MissingCauses = { observed: 0, noOverpass: 0, retrievalFailed: 0, rejected: 0, unknown: 0 };

function countCauses(pass: SmapPass, causes: MissingCauses): void {
  causes.observed += pass.stats.valid;
  causes.rejected += pass.stats.rejectedQuality + pass.stats.outOfRange;
  for (const code of pass.reasons) {
    const cause = code & CAUSE_MASK;
    // Values (observed, rejected, out of range) are counted above from the reader's stats.
    if (cause === CAUSE.observed || cause === CAUSE.outside_valid_range || code & REJECTED_BY_QUALITY) continue;
    if (cause === CAUSE.not_in_swath) causes.noOverpass++;
    else if (cause === CAUSE.unknown) causes.unknown++;
    else causes.retrievalFailed++;
  }
}

/** Coverage of the cube's soil moisture, per day and per cell, streamed block by block. */
export async function coverageOf(cube: Cube, variable = "soil_moisture") {
  const { nrows, ncols } = cube.window;
  const cells = nrows * ncols;
  const counts = new Uint32Array(cells);
  const perDayCounts = new Uint32Array(cube.days);
  const block = cube.chunks.time;
  for (let t0 = 0; t0 < cube.days; t0 += block) {
    const t1 = Math.min(cube.days, t0 + block);
    const values = await cube.readBlock(variable, t0, t1);
    for (let t = t0; t < t1; t++) {
      const off = (t - t0) * cells;
      let c = 0;
      for (let i = 0; i < cells; i++) {
        if (!Number.isNaN(values[off + i]!)) {
          counts[i]!++;
          c++;
        }
      }
      perDayCounts[t] = c;
    }
  }
  let observedCells = 0;
  let observedValues = 0;
  const perCell = new Float32Array(cells);
  for (let i = 0; i < cells; i++) {
    if (counts[i]! > 0) {
      observedCells++;
      observedValues += counts[i]!;
      perCell[i] = counts[i]! / Math.max(1, cube.days);
    } else perCell[i] = NaN;
  }
  const perDay = Float32Array.from(perDayCounts, (c) => (observedCells > 0 ? c / observedCells : 0));
  const missingShare = observedCells > 0 ? 1 - observedValues / (observedCells * cube.days) : 1;
  return { perDay, perCell, observedCells, missingShare };
}
