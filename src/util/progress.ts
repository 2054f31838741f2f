/**
 * Progress bars for long work, on stderr so that stdout stays clean for results. On a terminal
 * the bar redraws in place (at most 10 times a second); elsewhere (CI, logs, pipes) it prints a
 * line at the start, every 25 %, and at the end, so logs stay short but show that work moves.
 */
export interface ProgressOptions {
  /** Stream to write to; default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Silence everything (tests, --quiet). */
  quiet?: boolean;
}

export class Progress {
  private done = 0;
  private lastDraw = 0;
  private lastQuarter = -1;
  private readonly started = Date.now();
  private readonly stream: NodeJS.WriteStream;
  private readonly interactive: boolean;
  private readonly quiet: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.quiet = options.quiet ?? false;
    this.interactive = Boolean(this.stream.isTTY) && !process.env.CI;
    if (!this.quiet && !this.interactive) this.stream.write(`${label}: 0/${total}\n`);
  }

  tick(n = 1, note = ""): void {
    this.done = Math.min(this.total, this.done + n);
    if (this.quiet) return;
    const now = Date.now();
    if (this.interactive) {
      if (now - this.lastDraw < 100 && this.done < this.total) return;
      this.lastDraw = now;
      const width = 30;
      const frac = this.total > 0 ? this.done / this.total : 1;
      const filled = Math.round(frac * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      const eta = frac > 0 && frac < 1 ? ` eta ${formatSeconds(((now - this.started) / 1000) * (1 / frac - 1))}` : "";
      this.stream.write(`\r${this.label} [${bar}] ${this.done}/${this.total}${eta} ${note}`.padEnd(100).slice(0, 120));
    } else {
      const quarter = Math.floor((this.done / Math.max(1, this.total)) * 4);
      if (quarter > this.lastQuarter && quarter < 4 && this.done > 0) {
        this.lastQuarter = quarter;
        this.stream.write(`${this.label}: ${this.done}/${this.total} ${note}\n`);
      }
    }
  }

  /** Moves to `done` of the total (a count polled from elsewhere, e.g. finished jobs). */
  update(done: number, note = ""): void {
    if (done > this.done) this.tick(done - this.done, note);
  }

  finish(note = ""): void {
    if (this.quiet) return;
    const seconds = (Date.now() - this.started) / 1000;
    const line = `${this.label}: ${this.done}/${this.total} done in ${formatSeconds(seconds)} ${note}`.trimEnd();
    this.stream.write(this.interactive ? `\r${line.padEnd(100)}\n` : `${line}\n`);
  }
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/**
 * A bar for a fit's steps (boosting rounds, trees, epochs) with an ETA to the cap, an upper
 * bound since early stopping may end sooner. A new bar starts when the steps start again (an
 * ensemble's next member).
 */
export class StepProgress {
  private bar: Progress | undefined;
  private last = 0;

  constructor(
    private readonly label: string,
    private readonly options: ProgressOptions = {},
  ) {}

  readonly onStep = (done: number, cap: number): void => {
    if (!this.bar || done < this.last) {
      this.bar?.finish();
      this.bar = new Progress(`${this.label} (to the cap of ${cap}; early stopping may end sooner)`, cap, this.options);
    }
    this.bar.update(done);
    this.last = done;
  };

  finish(): void {
    this.bar?.finish(`stopped after ${this.last}`);
    this.bar = undefined;
  }
}
