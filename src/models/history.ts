/**
 * A sequence model's history: the daily series of some pixels of a cube (its dynamic predictors
 * and SMAP) over a range of days, read once for the row sets a model is fitted on or predicts,
 * so that windows can be gathered batch by batch without reading the cube again and without
 * materialising a window per row. Only the rows' pixels and days are held (days before the
 * earliest row's window and after the latest row are not read), and the holding is refused above
 * a bound with the fix.
 *
 * SMAP is held as the rows' features saw it: with RowOrigin.seen, a value the view hides (fit
 * view: every value but the training values; ship view: the test values) is NaN; without, every
 * observation (a reconstruction).
 */
import { Cube } from "../cube/cube.js";
import { Role } from "../features/roles.js";
import { SmapfillError } from "../util/errors.js";
import type { RowOrigin } from "./regressor.js";

export interface HistoryStore {
  /** The cube's path (the rows' origin). */
  cube: string;
  /** The variables held per day, SMAP last. */
  variables: string[];
  /** Pixels of the cube's window. */
  P: number;
  /** Per cube pixel, its slot in data (-1: not held). */
  slot: Int32Array;
  /** Days [t0, t0 + L) of the cube held. */
  t0: number;
  L: number;
  /** [(slot * L + (t - t0)) * variables + v], NaN: missing (or hidden SMAP). */
  data: Float32Array;
  /** Which SMAP values were kept: the view and the roles (absent: every observation). */
  seen?: RowOrigin["seen"];
}

/** True when a SMAP value at pixel-day k may be seen in the view `seen` (none: every value). */
function visible(seen: RowOrigin["seen"], k: number): boolean {
  if (!seen) return true;
  const r = seen.roles[k]!;
  return seen.view === "fit" ? r === Role.Train : r >= Role.Train && r !== Role.Test;
}

/**
 * The series of `variables` (dynamic predictors of the cube; SMAP is added last) of the pixels of
 * the row sets, over the days their windows of `window` days need; at most maxBytes held.
 */
export async function readHistory(origins: RowOrigin[], variables: string[], window: number, maxBytes: number, model: string): Promise<HistoryStore> {
  const path = origins[0]?.cube?.path;
  if (!path || origins.some((o) => o.cube?.path !== path))
    throw new SmapfillError("these rows come from no cube, or from several", { variable: model, hint: "Give rows drawn from one cube" });
  const seen = origins[0]!.seen;
  if (origins.some((o) => o.seen?.roles !== seen?.roles || o.seen?.view !== seen?.view))
    throw new Error(`${model}: row sets seen in different views share one history`);
  const cube = await Cube.open(path);
  for (const v of variables)
    if (!cube.hasVariable(v))
      throw new SmapfillError(`has no predictor '${v}', which ${model} was trained on`, {
        file: path,
        hint: "Use the cube the model was trained on, or retrain",
      });
  const P = cube.window.nrows * cube.window.ncols;
  let first = Infinity;
  let last = -Infinity;
  const slot = new Int32Array(P).fill(-1);
  for (const o of origins)
    for (let i = 0; i < o.pixel.length; i++) {
      const p = o.pixel[i]!;
      if (p < 0 || p >= P) throw new Error(`${model}: pixel ${p} outside the cube's ${P}`);
      slot[p] = 0;
      first = Math.min(first, o.day[i]!);
      last = Math.max(last, o.day[i]!);
    }
  let U = 0;
  for (let p = 0; p < P; p++) if (slot[p] === 0) slot[p] = U++;
  const t0 = Math.max(0, first - window + 1);
  const L = U ? last - t0 + 1 : 0;
  const all = [...variables, "soil_moisture"];
  const C = all.length;
  const bytes = U * L * C * 4;
  if (bytes > maxBytes)
    throw new SmapfillError(
      `${model} would hold ${(bytes / 2 ** 20).toFixed(0)} MiB of history (${U} pixels x ${L} days x ${C} series), more than its max_history_mb ${(maxBytes / 2 ** 20).toFixed(0)}`,
      { variable: `${model}.max_history_mb`, hint: `Raise --param ${model}.max_history_mb, draw fewer rows (--max-train-samples), or use a shorter window` },
    );
  const data = new Float32Array(U * L * C).fill(NaN);
  const { ncols } = cube.window;
  for (const tile of U ? cube.tiles() : []) {
    const inside: [number, number][] = [];
    for (let r = tile.row0; r < tile.row0 + tile.nrows; r++)
      for (let c = tile.col0; c < tile.col0 + tile.ncols; c++) {
        const p = r * ncols + c;
        if (slot[p]! >= 0) inside.push([p, (r - tile.row0) * tile.ncols + (c - tile.col0)]);
      }
    if (!inside.length) continue;
    const tp = tile.nrows * tile.ncols;
    for (const [v, name] of all.entries()) {
      const block = await cube.readBlock(name, t0, t0 + L, tile);
      const smap = name === "soil_moisture";
      for (const [p, q] of inside) {
        const base = slot[p]! * L * C + v;
        for (let t = 0; t < L; t++) {
          const value = block[t * tp + q]!;
          if (!smap || visible(seen, (t0 + t) * P + p)) data[base + t * C] = value;
        }
      }
    }
  }
  return { cube: path, variables: all, P, slot, t0, L, data, ...(seen ? { seen } : {}) };
}

/** True when `store` holds every row of `origin` with `window` days of history (as far as the cube goes back). */
export function covers(store: HistoryStore | undefined, origin: RowOrigin, window: number): boolean {
  if (!store || store.cube !== origin.cube?.path || store.seen?.roles !== origin.seen?.roles || store.seen?.view !== origin.seen?.view) return false;
  for (let i = 0; i < origin.pixel.length; i++) {
    const d = origin.day[i]!;
    if (store.slot[origin.pixel[i]!]! < 0 || d >= store.t0 + store.L || Math.max(0, d - window + 1) < store.t0) return false;
  }
  return true;
}
