/** `smapfill demo`: the whole pipeline on a synthetic region (see ../demo.ts). */
import { Command, Option } from "commander";
import { runDemo } from "../demo.js";
import { checkOutput, quietOption, wholeNumber } from "../options.js";
import { presetOption } from "./synth.js";

export function demoCommand(): Command {
  return new Command("demo")
    .description(
      "the whole pipeline on a synthetic region: synthesise, ingest, show the coverage, evaluate the models (quick settings), write the gap-free product",
    )
    .addOption(new Option("--out <dir>", "output directory").default("smapfill-demo"))
    .addOption(presetOption())
    .addOption(new Option("--days <n>", "number of days (default: the preset's)").argParser(wholeNumber(1)))
    .addOption(new Option("--seed <n>", "random seed (default: the preset's)").argParser(wholeNumber(0)))
    .option("--no-evaluate", "skip the quick evaluation of the models")
    .option("--no-product", "skip the product model and the gap-free product")
    .addOption(quietOption())
    .action(async (o) => {
      checkOutput(o.out, "--out");
      const result = await runDemo({ out: o.out, preset: o.preset, days: o.days, seed: o.seed, quiet: o.quiet, evaluate: o.evaluate, product: o.product });
      process.stdout.write(`${result.summary}\n`);
    });
}
