/** `smapfill synth`: a synthetic world (SMAP granules, predictors, ISMN stations, truth) in the real formats. */
import { Command, Option } from "commander";
import { WORLD_PRESETS, type WorldPreset } from "../../synth/world.js";
import { writeWorld } from "../../synth/write-world.js";
import { Progress } from "../../util/progress.js";
import { checkOutput, choice, quietOption, wholeNumber } from "../options.js";

export const presetOption = () =>
  new Option("--preset <name>", `world size: ${Object.keys(WORLD_PRESETS).join(", ")}`)
    .argParser(choice(Object.keys(WORLD_PRESETS) as WorldPreset[]))
    .default("demo");

export function synthCommand(): Command {
  return new Command("synth")
    .description("write a synthetic world (SMAP granules, predictors, ISMN stations, truth) in the real formats")
    .requiredOption("--out <dir>", "new output directory")
    .addOption(presetOption())
    .addOption(new Option("--days <n>", "number of days (default: the preset's)").argParser(wholeNumber(1)))
    .addOption(new Option("--seed <n>", "random seed (default: the preset's)").argParser(wholeNumber(0)))
    .addOption(quietOption())
    .action(async (o) => {
      checkOutput(o.out, "--out");
      const config = {
        ...WORLD_PRESETS[o.preset as WorldPreset],
        ...(o.days !== undefined ? { days: o.days } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
      };
      const progress = new Progress("synthesise world", config.days, { quiet: o.quiet });
      const w = await writeWorld(config, o.out, { onDay: () => progress.tick() });
      progress.finish();
      process.stdout.write(
        `wrote ${w.files.granules} granules, ${w.files.meteo.length + w.files.lst.length + w.files.ndvi.length + w.files.static.length} predictor files and ${w.stations.length} stations to ${w.directory}\n`,
      );
    });
}
