/**
 * The `smapfill` command line: one module per command (commands/), options declared once with
 * their type, range and default (options.ts). Errors from bad input (SmapfillError) print one
 * clear line and exit with status 2; usage errors from the argument parser exit with 1 and the
 * parser's message; anything else is a bug and prints its stack (status 1).
 */
import { Command, Option } from "commander";
import { SmapfillError } from "../util/errors.js";
import { packageVersion } from "../util/run-info.js";
import { demoCommand } from "./commands/demo.js";
import { evaluateCommand } from "./commands/evaluate.js";
import { exportCommand } from "./commands/export.js";
import { featuresCommand } from "./commands/features.js";
import { ingestCommand } from "./commands/ingest.js";
import { ingestSmapCommand } from "./commands/ingest-smap.js";
import { inspectCommand } from "./commands/inspect.js";
import { predictCommand } from "./commands/predict.js";
import { reconstructCommand } from "./commands/reconstruct.js";
import { reportCommand } from "./commands/report.js";
import { serveCommand } from "./commands/serve.js";
import { statusCommand, workerCommand } from "./commands/worker.js";
import { synthCommand } from "./commands/synth.js";
import { trainCommand } from "./commands/train.js";
import { verifyCommand } from "./commands/verify.js";
import { configureHelpFormat } from "./help.js";
import { wholeNumber } from "./options.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("smapfill")
    .description("Gap-free SMAP surface soil moisture: ingest, features, models, validation, reconstruction")
    .version(packageVersion())
    .addOption(
      new Option("--threads <n>", "threads for reading, training and prediction (default: the machine's cores; also SMAPFILL_THREADS)").argParser(
        wholeNumber(1),
      ),
    )
    .hook("preAction", (command) => {
      const threads = command.opts().threads as number | undefined;
      if (threads !== undefined) process.env.SMAPFILL_THREADS = String(threads);
    });
  for (const command of [
    demoCommand,
    synthCommand,
    ingestSmapCommand,
    ingestCommand,
    trainCommand,
    featuresCommand,
    evaluateCommand,
    predictCommand,
    reconstructCommand,
    reportCommand,
    serveCommand,
    workerCommand,
    statusCommand,
    exportCommand,
    inspectCommand,
    verifyCommand,
  ])
    program.addCommand(command());
  configureHelpFormat(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof SmapfillError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
