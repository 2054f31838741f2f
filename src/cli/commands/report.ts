/** `smapfill report`: one self-contained HTML file over an evaluation and/or a product. */
import fs from "node:fs";
import { Command, Option } from "commander";
import { writeReport } from "../../report/html-report.js";
import { loadReportInputs } from "../../report/report-inputs.js";
import { SmapfillError } from "../../util/errors.js";
import { checkOutput } from "../options.js";

export function reportCommand(): Command {
  return new Command("report")
    .argument("<run...>", "evaluation folders (smapfill evaluate --out), products (smapfill reconstruct --out), or a folder holding them")
    .description("write one self-contained HTML report (no network: scripts, styles and figures inline) over an evaluation and/or a product")
    .requiredOption("--out <file>", "the HTML file to write")
    .addOption(new Option("--title <text>", "the report's title").default("smapfill report"))
    .option(
      "--ismn <path>",
      "an ISMN download (folder, zip or .stm) to score the product at its stations (default: the one reconstruct --ismn scored it with, else the evaluation's)",
    )
    .option("--force", "replace an existing report file")
    .action(async (runs: string[], o: { out: string; title: string; ismn?: string; force?: boolean }) => {
      checkOutput(o.out, "--out");
      if (fs.existsSync(o.out) && !o.force)
        throw new SmapfillError("the report file exists already", {
          file: o.out,
          variable: "--out",
          hint: "Choose another name, or give --force to replace it",
        });
      const inputs = await loadReportInputs(runs, { ismn: o.ismn });
      const r = await writeReport(inputs, o.out, o.title);
      process.stdout.write(`wrote ${o.out} (${(r.html.length / 2 ** 20).toFixed(1)} MiB, ${r.figures.length} figures, sections: ${r.sections.join(", ")})\n`);
    });
}
