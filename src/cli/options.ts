/**
 * Option parsers and the options several commands share, declared once with their type, range
 * and default. Out-of-range values are refused with the range (never silently replaced by a
 * default: `--max-epochs 0` is an error, not 200 epochs).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { InvalidArgumentError, Option } from "commander";
import type { BBox } from "../grid/ease2.js";
import { modelNames, parseParamAssignment } from "../models/registry.js";
import { SmapfillError } from "../util/errors.js";

/** A whole number in [min, max]. */
export function wholeNumber(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const v = Number(text);
    if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(v)) throw new InvalidArgumentError(`expected a whole number, got '${text}'`);
    if (v < min || v > max)
      throw new InvalidArgumentError(`expected a whole number ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got ${v}`);
    return v;
  };
}

/** A number in (lowExclusive, high]. */
export function positiveNumber(high = Infinity) {
  return (text: string): number => {
    const v = Number(text);
    if (!Number.isFinite(v) || v <= 0 || v > high)
      throw new InvalidArgumentError(`expected a number > 0${high < Infinity ? ` and <= ${high}` : ""}, got '${text}'`);
    return v;
  };
}

/** A share strictly between 0 and 1. */
export function share(text: string): number {
  const v = Number(text);
  if (!(v > 0 && v < 1)) throw new InvalidArgumentError(`expected a share between 0 and 1, got '${text}'`);
  return v;
}

export function choice<T extends string>(values: readonly T[]) {
  return (text: string): T => {
    if (!values.includes(text as T)) throw new InvalidArgumentError(`expected one of ${values.join(", ")}`);
    return text as T;
  };
}

/** A comma list of known values, or `all` (and `none` where allowed). */
export function list<T extends string>(values: () => readonly T[], what: string, allowNone = false) {
  return (text: string): T[] => {
    if (allowNone && text === "none") return [];
    const items = text === "all" ? [...values()] : text.split(",").map((x) => x.trim());
    for (const i of items)
      if (!values().includes(i as T))
        throw new InvalidArgumentError(`unknown ${what} '${i}': use ${values().join(", ")}${allowNone ? ", all or none" : " or all"}`);
    if (!items.length) throw new InvalidArgumentError(`give at least one ${what}`);
    return items as T[];
  };
}

export function parseBBox(text: string): BBox {
  const parts = text.split(",").map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((v) => !Number.isFinite(v))) {
    throw new InvalidArgumentError("give the box as SOUTH,NORTH,WEST,EAST in degrees, e.g. 25,28.5,67,73");
  }
  const [south, north, west, east] = parts as [number, number, number, number];
  return { south, north, west, east };
}

export const seedOption = () => new Option("--seed <n>", "random seed").argParser(wholeNumber(0)).default(0);
export const quietOption = () => new Option("--quiet", "no progress output (warnings are still printed)");

/** A command's messages on stderr: with --quiet only its warnings, which must never vanish (an unreadable file, a dropped value). */
export function messageLog(quiet: boolean | undefined): (message: string) => void {
  return (m) => {
    if (!quiet || /\bwarning\b/i.test(m)) process.stderr.write(`${m}\n`);
  };
}

/** A comma list of numbers > 0, in increasing order. */
export function increasingNumbers(text: string): number[] {
  const values = text.split(",").map((x) => Number(x.trim()));
  if (!values.length || values.some((v) => !(Number.isFinite(v) && v > 0)) || values.some((v, i) => i > 0 && v <= values[i - 1]!))
    throw new InvalidArgumentError(`expected increasing numbers > 0 separated by commas, e.g. 1,5,20; got '${text}'`);
  return values;
}

/** The weather group's options (evaluate and train CUBE): on/off, the API's decay, the rain thresholds. */
export const weatherOptions = () => ({
  weather: new Option(
    "--weather",
    "add the weather between retrievals (group weather: rain since and until the neighbouring retrievals, drydowns; needs a precipitation predictor)",
  ),
  apiDecay: new Option("--weather-api-decay <k>", "the weather group's antecedent precipitation index decay per day (default 0.9)").argParser(
    (text: string) => {
      const v = Number(text);
      if (!(v > 0 && v < 1)) throw new InvalidArgumentError(`expected a number between 0 and 1, got '${text}'`);
      return v;
    },
  ),
  rainThresholds: new Option("--weather-rain-thresholds <list>", "the weather group's days-since-rain thresholds, mm (default 1,5,20)").argParser(
    increasingNumbers,
  ),
});
export const modelsParser = list(modelNames, "model");

/**
 * The model hyperparameters: `--param MODEL.PARAM=VALUE` (repeatable; a bare PARAM=VALUE sets it
 * for every model that has it) and the shorthands that write into the same map.
 */
export function modelParamOptions(): Option[] {
  return [
    new Option("--param <model.param=value>", "a model hyperparameter, repeatable (e.g. transformer.max_epochs=4; see docs/models.md)").argParser(
      (text: string, previous: Record<string, number> = {}) => {
        try {
          return parseParamAssignment(text, previous);
        } catch (error) {
          throw new InvalidArgumentError((error as Error).message);
        }
      },
    ),
    new Option("--max-epochs <n>", "epoch cap of every network (= --param max_epochs=N; default 200)").argParser(wholeNumber(1)),
    new Option("--transformer-max-epochs <n>", "the Transformer's own epoch cap (= --param transformer.max_epochs=N)").argParser(wholeNumber(1)),
    new Option("--rf-trees <n>", "random forest trees (= --param rf.trees=N; default 300)").argParser(wholeNumber(1)),
    new Option("--xgb-rounds <n>", "boosting rounds cap (= --param xgb.rounds=N; default 2000, early stopping 50)").argParser(wholeNumber(1)),
  ];
}

/** The flat parameter map from `--param` and the shorthands (an explicit --param wins). */
export function collectParams(o: {
  param?: Record<string, number>;
  maxEpochs?: number;
  transformerMaxEpochs?: number;
  rfTrees?: number;
  xgbRounds?: number;
}): Record<string, number> {
  return {
    ...(o.maxEpochs !== undefined ? { max_epochs: o.maxEpochs } : {}),
    ...(o.transformerMaxEpochs !== undefined ? { "transformer.max_epochs": o.transformerMaxEpochs } : {}),
    ...(o.rfTrees !== undefined ? { "rf.trees": o.rfTrees } : {}),
    ...(o.xgbRounds !== undefined ? { "xgb.rounds": o.xgbRounds } : {}),
    ...o.param,
  };
}

/**
 * An output checked before any work starts: the folder it goes into exists and is writable, and
 * it does not lie inside (or equal) one of the command's inputs. Say so at once, instead of
 * failing on the first write after minutes of work.
 */
export function checkOutput(file: string, option: string, inputs: string[] = []): void {
  const target = path.resolve(file);
  const parent = path.dirname(target);
  if (!existsDir(parent))
    throw new SmapfillError(`the folder of ${file} does not exist`, { file: parent, variable: option, hint: "Create it first, or choose another path" });
  try {
    fs.accessSync(parent, fs.constants.W_OK);
  } catch {
    throw new SmapfillError(`the folder of ${file} is not writable`, { file: parent, variable: option, hint: "Choose a folder you can write to" });
  }
  for (const input of inputs) {
    const rel = path.relative(path.resolve(input), target);
    if (rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel)))
      throw new SmapfillError(`${file} lies inside the input ${input}`, { variable: option, hint: "Write outputs beside the inputs, not into them" });
  }
}

function existsDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A size in bytes: 512M, 2G, 1.5G or a plain number of bytes. */
export function byteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(text);
  if (!m) throw new InvalidArgumentError(`expected a size such as 512M or 2G, got '${text}'`);
  const v = Number(m[1]) * 1024 ** " kmgt".indexOf((m[2] || " ").toLowerCase());
  if (!(v >= 64 * 1024 ** 2)) throw new InvalidArgumentError(`expected at least 64M, got '${text}'`);
  return Math.floor(v);
}

/** --memory: a budget the command checks its own estimate against before it starts. */
export const memoryOption = () => new Option("--memory <size>", "memory budget, e.g. 4G (default: a quarter of the machine's memory)").argParser(byteSize);

/** The --memory budget in bytes: the option's, else a quarter of the machine's memory. */
export const memoryBudget = (memory: number | undefined): number => memory ?? Math.floor(os.totalmem() / 4);

/** Refuses to start work whose estimate exceeds the --memory budget (default a quarter of the machine's memory). */
export function checkMemory(need: number, memory: number | undefined, what: string, context: { file: string; hint: string }): void {
  const budget = memoryBudget(memory);
  if (need > budget)
    throw new SmapfillError(`${what} needs about ${(need / 2 ** 30).toFixed(1)} GiB, more than --memory ${(budget / 2 ** 30).toFixed(1)} GiB`, context);
}

/** --format: a comma list of output formats. */
export function formatList<T extends string>(values: readonly T[]) {
  return list(() => values, "format");
}

/** --redo FROM..TO: a range of days (YYYY-MM-DD..YYYY-MM-DD, or one day). */
export function dayRange(text: string): [string, string] {
  const m = /^\s*(\d{4}-\d{2}-\d{2})(?:\s*\.\.\s*(\d{4}-\d{2}-\d{2}))?\s*$/.exec(text);
  if (!m) throw new InvalidArgumentError(`expected FROM..TO as YYYY-MM-DD..YYYY-MM-DD, got '${text}'`);
  return [m[1]!, m[2] ?? m[1]!];
}

/** A granule failure as one line (its error already names the file when the reader said so). */
export function failureLine(f: { file: string; error: string }): string {
  return `  failed: ${f.file}: ${f.error.startsWith(`${f.file}: `) ? f.error.slice(f.file.length + 2) : f.error}\n`;
}
