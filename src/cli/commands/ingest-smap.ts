/** `smapfill ingest-smap`: SMAP L3 granules of a region and period into a cube. */
import fs from "node:fs";
import { Command, Option } from "commander";
import { dayRanges, ingestSmap, PASS_RULES, type PassRule } from "../../cube/ingest-smap.js";
import type { QualityPolicy } from "../../io/smap-l3.js";
import { SmapfillError } from "../../util/errors.js";
import { checkOutput, choice, dayRange, parseBBox, quietOption, failureLine } from "../options.js";
import { describeMissingReasons } from "../../cube/missing-reasons.js";
import { checkMemory, memoryOption } from "../options.js";
import { smapIngestEstimate } from "../../cube/ingest-smap.js";

export function ingestSmapCommand(): Command {
  return new Command("ingest-smap")
    .argument("<granules>", "a directory of SMAP L3 granules (.h5)")
    .description("read SMAP L3 granules (a directory) for a region and period into a cube")
    .requiredOption("--cube <path>", "the cube (.zarr) to create or resume")
    .requiredOption("--bbox <S,N,W,E>", "region: cells whose centre is inside the box", parseBBox)
    .requiredOption("--start <YYYY-MM-DD>", "first day")
    .requiredOption("--end <YYYY-MM-DD>", "last day")
    .addOption(new Option("--resolution <res>", "9km (SPL3SMP_E) or 36km (SPL3SMP)").argParser(choice(["9km", "36km"] as const)).default("9km"))
    .addOption(
      new Option("--quality <policy>", "recommended, uncertain or any")
        .argParser(choice(["recommended", "uncertain", "any"] as QualityPolicy[]))
        .default("recommended"),
    )
    .addOption(
      new Option("--pass-rule <rule>", `daily value from AM/PM: ${PASS_RULES.join(", ")}`).argParser(choice(PASS_RULES as PassRule[])).default("am-first"),
    )
    .option("--keep-passes", "also store the AM and PM values")
    .addOption(new Option("--redo <FROM..TO>", "rebuild the days FROM..TO (YYYY-MM-DD..YYYY-MM-DD) even if done").argParser(dayRange))
    .addOption(memoryOption())
    .addOption(quietOption())
    .action(async (granules: string, o) => {
      const estimate = smapIngestEstimate(o.resolution, o.bbox, o.start, o.end);
      // Large regions or periods say up front what they will take (small ones need no such line).
      if (!o.quiet && (estimate.memory >= 2 ** 28 || estimate.disk >= 2 ** 30)) process.stderr.write(`ingest-smap: ${estimate.text}\n`);
      checkMemory(estimate.memory, o.memory, "a chunk of days of this region", {
        file: o.cube,
        hint: "Give a larger --memory, or a smaller region (--bbox); the period does not matter (ingestion streams by chunk of days)",
      });
      if (fs.existsSync(granules) && !fs.statSync(granules).isDirectory())
        throw new SmapfillError("is a file, but a directory of granules is expected", {
          file: granules,
          hint: "Give the folder that holds the .h5 granules (smapfill reads every granule in it)",
        });
      checkOutput(o.cube, "--cube", [granules]);
      const r = await ingestSmap({
        granules,
        cube: o.cube,
        resolution: o.resolution,
        bbox: o.bbox,
        start: o.start,
        end: o.end,
        quality: o.quality,
        passRule: o.passRule,
        keepPasses: o.keepPasses,
        quiet: o.quiet,
        ...(o.redo ? { redo: o.redo } : {}),
      });
      process.stdout.write(
        `${r.cube}: ${r.window.nrows} x ${r.window.ncols} cells (${r.observedCells} observed), ${r.days} days, ${r.granulesRead} granules, ` +
          `${(100 * (1 - r.missingShare)).toFixed(1)} % of observed pixel-days have a value` +
          (r.resumedBlocks ? `, ${r.resumedBlocks} blocks done before` : "") +
          (r.redoneBlocks ? `, ${r.redoneBlocks} blocks read again (failed, missing or changed granules, or --redo)` : "") +
          "\n",
      );
      if (r.missingReasons) process.stdout.write(`${describeMissingReasons(r.missingReasons).join("\n")}\n`);
      for (const f of r.failures) process.stdout.write(failureLine(f));
      if (r.missingDays.length) process.stdout.write(`  no granule for ${r.missingDays.length} days: ${dayRanges(r.missingDays)}\n`);
    });
}
