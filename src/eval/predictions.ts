/**
 * An evaluation's per-row test predictions, written as they are made: OUT/predictions/SPLIT.csv.gz
 * with one line per test row (EASE-2 row and column, date, the hidden SMAP value, the gap kind,
 * then each model's estimate and one-sigma uncertainty), so that per-pixel, per-station or
 * per-season scores need no re-prediction. Each tile's lines are one gzip member appended to a
 * temporary file (concatenated members are one valid gzip stream for gzip, Python and pandas),
 * renamed when the split is complete.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

export class PredictionsWriter {
  private readonly partial: string;

  constructor(
    readonly file: string,
    readonly models: string[],
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.partial = `${file}.partial`;
    const header = ["row", "col", "date", "smap", "gap_kind", ...models.flatMap((m) => [m, `${m}_sigma`])].join(",");
    fs.writeFileSync(this.partial, zlib.gzipSync(`${header}\n`));
  }

  /** Appends rows: per row its EASE-2 row/col, date, target, kind, and per model its estimate and sigma. */
  append(rows: { row: ArrayLike<number>; col: ArrayLike<number>; date: string[]; y: ArrayLike<number>; kind: string[] }, values: Float32Array[]): void {
    const n = rows.date.length;
    if (!n) return;
    const lines: string[] = [];
    const num = (v: number) => (Number.isFinite(v) ? String(Math.fround(v)) : "");
    for (let i = 0; i < n; i++) {
      const cells = [String(rows.row[i]), String(rows.col[i]), rows.date[i]!, num(rows.y[i]!), rows.kind[i]!];
      for (const v of values) cells.push(num(v[i]!));
      lines.push(cells.join(","));
    }
    fs.appendFileSync(this.partial, zlib.gzipSync(`${lines.join("\n")}\n`));
  }

  finish(): string {
    fs.renameSync(this.partial, this.file);
    return this.file;
  }

  abandon(): void {
    fs.rmSync(this.partial, { force: true });
  }
}
