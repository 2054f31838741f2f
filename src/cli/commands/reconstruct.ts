/**
 * `smapfill reconstruct`: the gap-free product of a cube with a product model, in Zarr v3 (the
 * resumable working store) and the formats asked for, with coverage maps before and after.
 */
import fs from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { Cube } from "../../cube/cube.js";
import { EXPORT_FORMATS, type ExportFormat } from "../../cube/export.js";
import { reconstructOnQueue } from "../../jobs/queue.js";
import { reconstruct, SMAP_VALID_RANGE } from "../../reconstruct/reconstruct.js";
import { DEFAULT_FROZEN_POLICY, FROZEN_POLICIES, type FrozenPolicy } from "../../reconstruct/frozen.js";
import { writeProductFolder } from "../../report/product-folder.js";
import { EVALUATION_DEFAULTS } from "../../eval/experiment.js";
import { assessProductInsitu } from "../../reconstruct/insitu-assessment.js";
import type { ProductAtStations } from "../../reconstruct/product-stations.js";
import { SmapfillError } from "../../util/errors.js";
import { expectWrites, removeIfLeftEmpty, removeStaleTemporaries } from "../../util/atomic-file.js";
import { Progress } from "../../util/progress.js";
import { checkMemory, checkOutput, choice, formatList, memoryBudget, memoryOption, messageLog, positiveNumber, quietOption } from "../options.js";

const FORMATS = ["zarr", ...EXPORT_FORMATS] as const;

/** Bytes a reconstruction holds per tile: the tile's SMAP series three times (values, training copy, roles). */
function tileBytes(cube: Cube): number {
  return cube.chunks.y * cube.chunks.x * cube.days * 9;
}

/** A rough size of the outputs: 9-13 bytes per pixel-day raw, about half after compression, per format. */
function diskEstimate(cube: Cube, days: number, formats: readonly string[], everywhere: boolean): number {
  const perPixelDay = (everywhere ? 13 : 9) * 0.6;
  return cube.window.nrows * cube.window.ncols * days * perPixelDay * formats.length;
}

function freeBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Infinity;
  }
}

/** The product against in situ in two lines: gap days and SMAP's days, pooled and mean over stations. */
function insituLines(at: ProductAtStations): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "-");
  const line = (label: string, a: ProductAtStations["product"]) =>
    `  ${label}: RMSE ${f(a.pooled.rmse)} pooled (${a.pooled.n} station-days), ${f(a.stationMean.rmse)} mean over ${a.stations} stations; ubRMSE ${f(a.pooled.ubrmse)}, R ${f(a.pooled.r)}, anomaly R ${f(a.pooled.anomalyR)} pooled\n`;
  return `  in situ (${at.stations.length} stations):\n${line("the product on gap days", at.product)}${line("SMAP on its observed days", at.smap)}`;
}

export function reconstructCommand(): Command {
  return new Command("reconstruct")
    .argument("<cube>", "the cube (.zarr) to fill")
    .description("the gap-free product: SMAP where valid, the model elsewhere, with a one-sigma uncertainty and a source flag per value")
    .requiredOption("--model <dir>", "a product model (smapfill train CUBE --model NAME --out DIR, or an evaluation's EVAL/models/SPLIT/MODEL)")
    .requiredOption("--out <dir>", "the product folder (created, or resumed after an interruption)")
    .option("--start <YYYY-MM-DD>", "first day (default the cube's first)")
    .option("--end <YYYY-MM-DD>", "last day (default the cube's last)")
    .addOption(
      new Option("--format <list>", `comma list of ${FORMATS.join(", ")} (zarr, the working store, is always written)`)
        .argParser(formatList(FORMATS))
        .default(["netcdf"], "netcdf"),
    )
    .option("--everywhere", "also write the model's value for every land pixel-day (soil_moisture_model)")
    .addOption(
      new Option(
        "--frozen <policy>",
        "days SMAP calls frozen or snow-covered (soil_moisture_missing_reason): fill (flag reconstructed_frozen, their own wider uncertainty) or mask (no value, flag not_filled_frozen)",
      )
        .argParser(choice(FROZEN_POLICIES))
        .default(DEFAULT_FROZEN_POLICY),
    )
    .option(
      "--ismn <path>",
      "an ISMN download (folder, zip or .stm): score the product on gap days and SMAP on its days at the stations inside (insitu.json, report.md)",
    )
    .addOption(
      new Option("--ismn-flags <list>", "ISMN quality flags to keep")
        .argParser((t: string) => t.split(",").map((x) => x.trim()))
        .default(EVALUATION_DEFAULTS.ismnFlags),
    )
    .addOption(
      new Option("--ismn-max-depth <m>", "deepest sensor bottom to use (m; 0.17 keeps COSMOS)")
        .argParser(positiveNumber(10))
        .default(EVALUATION_DEFAULTS.ismnMaxDepth),
    )
    .addOption(memoryOption())
    .option(
      "--queue <redis-url>",
      "run distributed: enqueue one job per tile and chunk of days on this Redis (redis://HOST:PORT/DB) and wait for `smapfill worker`s",
    )
    .addOption(quietOption())
    .action(async (cubePath: string, o) => {
      checkOutput(o.out, "--out", [cubePath, o.model]);
      const cube = await Cube.open(cubePath);
      checkMemory(tileBytes(cube), o.memory, "a tile of this cube", {
        file: cubePath,
        hint: "Give a larger --memory, or build the cube with smaller chunks (chunks.y, chunks.x)",
      });
      const store = path.join(o.out, "product.zarr");
      const formats = o.format as (typeof FORMATS)[number][];
      removeIfLeftEmpty(o.out);
      fs.mkdirSync(o.out, { recursive: true });
      removeStaleTemporaries(o.out);
      const need = diskEstimate(cube, cube.days, formats, Boolean(o.everywhere));
      expectWrites(need);
      const free = freeBytes(o.out);
      if (need > free)
        throw new SmapfillError(`needs about ${(need / 2 ** 30).toFixed(2)} GiB of disk, ${(free / 2 ** 30).toFixed(2)} GiB are free`, {
          file: o.out,
          hint: "Free space, write elsewhere, or ask for fewer formats or days",
        });
      const log = messageLog(o.quiet);
      log(`reconstructing ${cubePath} with ${o.model}: about ${(need / 2 ** 20).toFixed(0)} MiB of output`);
      let progress: Progress | undefined;
      let ticked = 0;
      const options = {
        cube: cubePath,
        model: o.model,
        out: store,
        ...(o.start ? { start: o.start } : {}),
        ...(o.end ? { end: o.end } : {}),
        everywhere: Boolean(o.everywhere),
        frozen: o.frozen as FrozenPolicy,
        batchRows: Math.max(1024, Math.min(65536, Math.floor(memoryBudget(o.memory) / 4 / 1024))),
        log,
      };
      const tick = (label: string) => (done: number, total: number) => {
        progress ??= new Progress(label, total, { quiet: o.quiet });
        progress.tick(done - ticked);
        ticked = done;
      };
      const r = o.queue
        ? await reconstructOnQueue({ ...options, queue: o.queue, onJobs: tick("reconstruct (jobs)") })
        : await reconstruct({ ...options, onTile: tick("reconstruct (tiles)") });
      progress?.finish();
      const product = await Cube.open(store);
      const wanted = formats.filter((f): f is ExportFormat => f !== "zarr");
      const { written, coverage } = await writeProductFolder({ out: o.out, product, cube, model: o.model, formats: wanted, report: r });
      const insitu = o.ismn ? await assessProductInsitu(o.out, product, { ismn: o.ismn, flags: o.ismnFlags, maxDepth: o.ismnMaxDepth }) : undefined;
      const pct = (v: number) => `${Math.round(v * 100)}%`;
      const p = r.pixelDays;
      process.stdout.write(
        `${store}: ${r.days} days, ${r.tiles} tiles${r.resumedTiles ? ` (${r.resumedTiles} done before)` : ""}, ${r.seconds.toFixed(1)} s\n` +
          `  land pixel-days ${p.land}: ${p.observed} observed, ${p.reconstructed} reconstructed${p.frozenFilled ? ` (${p.frozenFilled} of them frozen)` : ""}, ${p.notFilled} not filled${p.frozenMasked ? ` (${p.frozenMasked} of them frozen, masked)` : ""}\n` +
          `  coverage of land pixel-days: ${pct(coverage.overall.before)} before, ${pct(coverage.overall.after)} after; ${r.clipped} values clipped to [${SMAP_VALID_RANGE.join(", ")}]\n` +
          r.warnings.map((w) => `  warning: ${w}\n`).join("") +
          (insitu ? insituLines(insitu) : "") +
          `wrote ${written.join(", ")}\n`,
      );
    });
}
