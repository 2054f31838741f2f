/** `smapfill features`: the time-series features of every pixel of a cube, streamed tile by tile. */
import { Command } from "commander";
import { Cube } from "../../cube/cube.js";
import { writeCubeFeatures } from "../../features/cube-features.js";
import { SmapfillError } from "../../util/errors.js";
import { Progress } from "../../util/progress.js";
import { quietOption } from "../options.js";

export function featuresCommand(): Command {
  return new Command("features")
    .argument("<cube>", "a cube (.zarr) with soil_moisture")
    .description("the SMAP time-series features of every pixel of a cube, streamed tile by tile into a features cube")
    .requiredOption("--out <path>", "the features cube (.zarr) to create")
    .option("--from <YYYY-MM-DD>", "first day whose SMAP values are used (the training window; default the cube's first)")
    .option("--to <YYYY-MM-DD>", "last day used (default the cube's last)")
    .option("--context", "also write the 5 temporal-context terms of every pixel-day (dynamic, cube-sized)")
    .addOption(quietOption())
    .action(async (cubePath: string, o) => {
      const cube = await Cube.open(cubePath);
      const dayOf = (d: string | undefined, fallback: number, option: string) => {
        if (d === undefined) return fallback;
        const t = cube.dayIndex(d);
        if (t < 0) throw new SmapfillError(`${d} is outside the cube's period ${cube.start} + ${cube.days} days`, { variable: option });
        return t;
      };
      let progress: Progress | undefined;
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
