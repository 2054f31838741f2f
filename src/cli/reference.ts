/**
 * The command-line reference (docs/cli.md), generated from the commands' own declarations so it
 * cannot drift from them: `npm run docs:cli` writes it, and a test fails when it is stale.
 */
import type { Command, Option } from "commander";
import { modelEntry, modelNames } from "../models/registry.js";
import { defaultText } from "./help.js";
import { buildProgram } from "./main.js";

function optionTable(options: readonly Option[]): string[] {
  if (!options.length) return [];
  return [
    "| option | meaning | default |",
    "|---|---|---|",
    ...options.map(
      (o) =>
        `| \`${o.flags}\`${o.mandatory ? " (required)" : ""} | ${o.description.replaceAll("|", "\\|")} | ${defaultText(o) ? `\`${defaultText(o)}\`` : ""} |`,
    ),
    "",
  ];
}

/** Markdown for every command, argument and option, and every model's hyperparameters. */
export function cliReference(program: Command = buildProgram()): string {
  const lines = [
    "# Command-line reference",
    "",
    "Generated from the option declarations (`npm run docs:cli`); a test fails when this page and the code differ.",
    "Numbers out of an option's range are refused with the range; nothing is silently replaced by a default.",
    "",
    "## Options of every command",
    "",
    ...optionTable(program.options),
  ];
  for (const c of program.commands) {
    const args = c.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(" ");
    lines.push(`## smapfill ${c.name()}${args ? ` ${args}` : ""}`, "", `${c.description()}.`, "");
    for (const a of c.registeredArguments) if (a.description) lines.push(`- \`${a.name()}\`: ${a.description}`);
    if (c.registeredArguments.some((a) => a.description)) lines.push("");
    lines.push(...optionTable(c.options));
  }
  lines.push(
    "## Model hyperparameters",
    "",
    "Set with `--param MODEL.PARAM=VALUE` (one model) or `--param PARAM=VALUE` (every model that has it); the model-specific value wins.",
    "",
  );
  for (const name of modelNames()) {
    const e = modelEntry(name);
    lines.push(`### ${name}: ${e.label}`, "", `${e.description}.`, "");
    const params = Object.entries(e.params);
    if (!params.length) continue;
    lines.push("| parameter | meaning | default | range |", "|---|---|---|---|");
    for (const [p, s] of params)
      lines.push(
        `| \`${p}\` | ${s.doc} | ${s.default === null ? "derived" : s.default} | ${s.minExclusive ? "(" : "["}${s.min}, ${s.max}]${s.integer ? ", whole" : ""} |`,
      );
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
