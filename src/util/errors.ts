/**
 * The one error type smapfill throws for bad input. It always says which file and which
 * variable (dataset, config key, ...) failed, what is wrong, and what the user can do about it,
 * so that a message from deep inside a long run is still actionable on its own.
 */
export interface ErrorContext {
  /** The file (or directory) being read or written. */
  file?: string;
  /** The dataset, variable or config key concerned. */
  variable?: string;
  /** What the user can do about it. */
  hint?: string;
  cause?: unknown;
}

export class SmapfillError extends Error {
  readonly file?: string;
  readonly variable?: string;
  readonly hint?: string;

  constructor(problem: string, context: ErrorContext = {}) {
    super(formatMessage(problem, context), context.cause === undefined ? undefined : { cause: context.cause });
    this.name = "SmapfillError";
    this.file = context.file;
    this.variable = context.variable;
    this.hint = context.hint;
  }
}

function formatMessage(problem: string, { file, variable, hint }: ErrorContext): string {
  const where = [file, variable].filter((part) => part !== undefined && part !== "").join(": ");
  const head = where ? `${where}: ${problem}` : problem;
  return hint ? `${head}. ${hint}` : head;
}

/** The message of any thrown value, for reports that collect failures and go on. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
