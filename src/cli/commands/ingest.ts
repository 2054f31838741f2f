/** `smapfill ingest`: a study's cube, SMAP and every predictor of its config. */
import path from "node:path";
import { Command, Option } from "commander";
import { loadStudy } from "../../config/study.js";
import { ingestBytes, ingestStudy } from "../../cube/ingest-study.js";
import { ingestStudyOnQueue } from "../../jobs/ingest-queue.js";
import { Progress } from "../../util/progress.js";
import { checkMemory, checkOutput, dayRange, failureLine, memoryOption, messageLog, quietOption } from "../options.js";
import { dayRanges } from "../../cube/ingest-smap.js";
import { describeMissingReasons } from "../../cube/missing-reasons.js";

export function ingestCommand(): Command {
  return new Command("ingest")
    .argument("<study>", "the study config (YAML or JSON; docs/ingestion.md lists every key)")
    .description("build a study's cube: SMAP and every predictor of the config (YAML or JSON), resumable")
    .addOption(
      new Option("--redo <FROM..TO>", "rebuild the days FROM..TO (YYYY-MM-DD..YYYY-MM-DD) of SMAP and every dynamic predictor, even if done").argParser(
        dayRange,
      ),
    )
    .addOption(memoryOption())
    .option("--queue <redis-url>", "run distributed: one job per block of days (SMAP, each dynamic predictor) on this Redis, done by `smapfill worker`s")
    .addOption(quietOption())
    .action(async (file: string, o) => {
      const study = loadStudy(file);
      // The key is relative to the config file (as ingestion resolves it), not to where the command runs.
      checkOutput(path.resolve(study.baseDir, study.output), "output (the study config's key)", [file]);
      checkMemory(ingestBytes(study), o.memory, "a chunk of days of this study's window", {
        file,
        hint: "Give a larger --memory, or a smaller chunks.time (or a smaller region) in the study",
      });
      const redo = o.redo ? { redo: o.redo as [string, string] } : {};
      let progress: Progress | undefined;
      const r = o.queue
        ? await ingestStudyOnQueue(study, {
            queue: o.queue,
            ...redo,
            log: messageLog(o.quiet),
            onJobs: (done, total) => {
              progress ??= new Progress("ingest jobs", total, { quiet: o.quiet });
              progress.update(done);
            },
          })
        : await ingestStudy(study, { quiet: o.quiet, ...redo });
      progress?.finish();
      const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
      const lines = [
        `${study.name}: ${r.output}`,
        `  grid      ${r.smap.window.nrows} x ${r.smap.window.ncols} cells of ${study.resolution}, ${r.smap.days} days from ${study.period.start}`,
        `  SMAP      ${r.smap.granulesRead} granules, ${pct(1 - r.smap.missingShare)} of observed pixel-days have a value, ${r.smap.failures.length} failed`,
        ...r.predictors.flatMap((p) =>
          Object.entries(p.coverage).map(
            ([name, share]) =>
              `  ${name.padEnd(24)} ${pct(share)} with a value (${p.method}${p.missingDays.length ? `, no source data on ${p.missingDays.length} days` : ""})`,
          ),
        ),
      ];
      for (const p of r.predictors)
        for (const [name, w] of Object.entries(p.implausible ?? {}))
          lines.push(
            `  warning   ${name}: ${w.count} values outside the plausible range [${w.range.join(", ")}] ${w.units}: check the units or the scale in the config`,
          );
      for (const p of r.predictors)
        if (p.missingDays.length)
          lines.push(
            `  warning   ${p.name}: no source data on ${p.missingDays.length} of ${r.smap.days} days (${dayRanges(p.missingDays)}); models see it missing there`,
          );
      if (r.smap.missingReasons) lines.push(...describeMissingReasons(r.smap.missingReasons));
      if (r.smap.redoneBlocks) lines.push(`  SMAP      ${r.smap.redoneBlocks} blocks read again (failed, missing or changed granules, or --redo)`);
      for (const p of r.predictors) {
        if (p.redone) lines.push(`  ${p.name.padEnd(9)} ${p.redone} blocks made again (changed files, damaged chunks, or --redo)`);
        if (p.dropped) lines.push(`  note      ${p.name}: ${p.dropped}`);
      }
      if (r.smap.missingDays.length) lines.push(`  SMAP      no granule for ${r.smap.missingDays.length} days: ${dayRanges(r.smap.missingDays)}`);
      process.stdout.write(`${lines.join("\n")}\n`);
      for (const f of r.smap.failures) process.stdout.write(failureLine(f));
    });
}
