/** `smapfill features`: the time-series features of every pixel of a cube, streamed tile by tile. */
import { Command } from "commander";
import { Cube } from "../../cube/cube.js";
import { tileFeatureBytes, writeCubeFeatures } from "../../features/cube-features.js";
import { featuresOnQueue } from "../../jobs/ingest-queue.js";
import { SmapfillError } from "../../util/errors.js";
import { Progress } from "../../util/progress.js";
import { checkMemory, checkOutput, memoryOption, messageLog, quietOption } from "../options.js";

export function featuresCommand(): Command {
  return new Command("features")
    .argument("<cube>", "a cube (.zarr) with soil_moisture")
    .description("the SMAP time-series features of every pixel of a cube, streamed tile by tile into a features cube")
    .requiredOption("--out <path>", "the features cube (.zarr) to create")
    .option("--from <YYYY-MM-DD>", "first day whose SMAP values are used (the training window; default the cube's first)")
    .option("--to <YYYY-MM-DD>", "last day used (default the cube's last)")
    .option("--context", "also write the 5 temporal-context terms of every pixel-day (dynamic, cube-sized)")
    .addOption(memoryOption())
    .option("--queue <redis-url>", "run distributed: one job per static chunk (4 x 4 tiles) on this Redis, done by `smapfill worker`s")
    .addOption(quietOption())
    .action(async (cubePath: string, o) => {
      checkOutput(o.out, "--out", [cubePath]);
      const cube = await Cube.open(cubePath);
      checkMemory(tileFeatureBytes(cube, Boolean(o.context)), o.memory, "a tile of this cube", {
        file: cubePath,
        hint: "Give a larger --memory, or build the cube with smaller chunks (chunks.y, chunks.x)",
      });
      const dayOf = (d: string | undefined, fallback: number, option: string) => {
        if (d === undefined) return fallback;
        const t = cube.dayIndex(d);
        if (t < 0) throw new SmapfillError(`${d} is outside the cube's period ${cube.start} + ${cube.days} days`, { variable: option });
        return t;
      };
      let progress: Progress | undefined;
      if (o.queue) {
        const r = await featuresOnQueue(cubePath, o.out, {
          queue: o.queue,
          useFrom: dayOf(o.from, 0, "--from"),
          useTo: dayOf(o.to, cube.days - 1, "--to"),
          context: o.context,
          log: messageLog(o.quiet),
          onJobs: (done, total) => {
            progress ??= new Progress("feature jobs", total, { quiet: o.quiet });
            progress.update(done);
          },
        });
        progress?.finish();
        process.stdout.write(`${r.output}: ${r.tiles} tiles in ${r.jobs} jobs through ${o.queue}\n`);
        return;
      }
      const r = await writeCubeFeatures(cube, o.out, {
        useFrom: dayOf(o.from, 0, "--from"),
        useTo: dayOf(o.to, cube.days - 1, "--to"),
        context: o.context,
        onTile: (_done, total) => {
          progress ??= new Progress("features (tiles)", total, { quiet: o.quiet });
          progress.tick();
        },
      });
      progress?.finish();
      process.stdout.write(
        `${r.output}: ${r.pixels} pixels x ${r.days} days in ${r.tiles} tiles, ${r.seconds.toFixed(1)} s ` +
          `(${((r.pixels * r.days) / r.seconds / 1e6).toFixed(2)} M pixel-days/s; read ${r.readSeconds.toFixed(1)} s, compute ${r.computeSeconds.toFixed(1)} s, write ${r.writeSeconds.toFixed(1)} s)\n`,
      );
    });
}
