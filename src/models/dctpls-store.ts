/**
 * A DCT-PLS fill's solved pieces kept on disk, so that a fill interrupted after an hour (a
 * continent's year is hundreds of pieces) resumes where it stopped and gives the same bytes.
 * One pair of files per piece: its kept core (float32, little-endian as the machine writes it)
 * and what it reports (JSON, written last, so its presence means the piece is whole); each file
 * written whole or not at all. `key.json` names what the pieces were solved from (a hash of the
 * training values, the options and the window's shape); pieces under another key are removed.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../util/atomic-file.js";
import { SmapfillError } from "../util/errors.js";
import type { DctPlsOptions, PieceStore, StoredPiece } from "./dctpls.js";

const FORMAT = 1;
const PIECE_FILE = /^piece-\d+\.(f32|json)$/;

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class DctPlsPieceStore implements PieceStore {
  private constructor(readonly dir: string) {}

  /** Opens (or starts) the store in `dir` for these inputs, removing pieces solved from others. */
  static open(dir: string, inputs: { training: Float32Array; dims: [number, number, number]; options: DctPlsOptions }): DctPlsPieceStore {
    const key = createHash("sha256")
      .update(JSON.stringify({ format: FORMAT, dims: inputs.dims, options: inputs.options }))
      .update(bytesOf(inputs.training))
      .digest("hex");
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new SmapfillError("cannot create the folder for DCT-PLS's solved pieces", {
        file: dir,
        hint: `Check that its parent is writable (${String(error)})`,
      });
    }
    const keyFile = path.join(dir, "key.json");
    let recorded: string | undefined;
    try {
      recorded = JSON.parse(fs.readFileSync(keyFile, "utf8")).key;
    } catch {
      recorded = undefined;
    }
    if (recorded !== key) {
      for (const name of fs.readdirSync(dir)) if (PIECE_FILE.test(name)) fs.rmSync(path.join(dir, name), { force: true });
      writeFileAtomic(keyFile, JSON.stringify({ key, of: "sha256 of the format, window shape, options and training values (float32)" }) + "\n");
    }
    return new DctPlsPieceStore(dir);
  }

  private file(index: number, ext: "f32" | "json"): string {
    return path.join(this.dir, `piece-${String(index).padStart(5, "0")}.${ext}`);
  }

  /** The piece's stored result, if it is whole and of the expected core size. */
  get(index: number, coreLength: number): StoredPiece | undefined {
    let meta: { s: number | null; iterations: number; widened: boolean };
    let raw: Buffer;
    try {
      meta = JSON.parse(fs.readFileSync(this.file(index, "json"), "utf8"));
      raw = fs.readFileSync(this.file(index, "f32"));
    } catch {
      return undefined;
    }
    if (raw.length !== coreLength * 4) return undefined;
    const core = new Float32Array(coreLength);
    bytesOf(core).set(raw);
    return { core, s: meta.s ?? NaN, iterations: meta.iterations, widened: meta.widened };
  }

  put(index: number, piece: StoredPiece): void {
    writeFileAtomic(this.file(index, "f32"), bytesOf(piece.core));
    const s = Number.isNaN(piece.s) ? null : piece.s;
    writeFileAtomic(this.file(index, "json"), JSON.stringify({ s, iterations: piece.iterations, widened: piece.widened }) + "\n");
  }
}
