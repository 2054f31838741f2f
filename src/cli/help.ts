/**
 * How `--help` shows options: defaults as a user types them ("netcdf", "gaps,temporal"), not as
 * JSON arrays, and required options marked. The generated docs/cli.md shows defaults the same way.
 */
import type { Command, Option } from "commander";

/** An option's default as it would be typed on the command line ("" when it has none). */
export function defaultText(o: Option): string {
  if (o.negate || o.defaultValue === undefined) return "";
  if (o.defaultValueDescription) return o.defaultValueDescription;
  const v = o.defaultValue as unknown;
  if (Array.isArray(v)) return v.map((x) => (Array.isArray(x) ? x.join(":") : String(x))).join(",");
  return String(v);
}

/** Applies the help format to a command and all its subcommands. */
export function configureHelpFormat(command: Command): void {
  command.configureHelp({
    optionDescription: (o: Option) => {
      const extras = [...(o.mandatory ? ["required"] : []), ...(defaultText(o) ? [`default: ${defaultText(o)}`] : [])];
      return extras.length ? `${o.description} (${extras.join("; ")})` : o.description;
    },
  });
  for (const c of command.commands) configureHelpFormat(c);
}
