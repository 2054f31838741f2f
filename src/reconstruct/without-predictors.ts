/**
 * The fill rule for pixel-days whose dynamic predictors are all missing (a predictor file that
 * covers fewer days than SMAP, an outage). The model still has the SMAP time-series features, the
 * calendar and the statics there, and an evaluation scores such rows whenever SMAP observed on
 * those days; so the product fills them exactly when the product model was validated on them:
 * when its calibration gaps held at least MIN_ROWS_WITHOUT_DYNAMIC such rows, their error is
 * measured and their sigma gets its own scale (the residual model's sigma times the factor that
 * puts 90 % of those rows' errors inside +-1.645 sigma), and the values carry their own source
 * flag (reconstructed_without_dynamic_predictors). Without such rows nothing says how good a fill
 * would be: those pixel-days stay not_filled_missing_predictors.
 */
import { Z90 } from "../models/uncertainty.js";
import { quantileSorted } from "../util/stats.js";

/** Fewest calibration rows without dynamic predictors that validate filling such pixel-days. */
export const MIN_ROWS_WITHOUT_DYNAMIC = 200;

/** Recorded in the product model's fit.json (`without_dynamic_predictors`). */
export interface WithoutDynamicCalibration {
  /** Calibration rows whose dynamic predictors are all missing, and the others. */
  rows: number;
  otherRows: number;
  /** The product model's RMSE on them and on the other calibration rows (null: no rows). */
  rmse: number | null;
  rmseOthers: number | null;
  /** Share of them inside the residual model's 90 % interval before the scale. */
  inside90Unscaled: number | null;
  /** The factor on sigma for such pixel-days (null: not filled). */
  sigmaScale: number | null;
  fill: boolean;
  /** Why they are filled or not, in a sentence. */
  rule: string;
}

/** The columns of a feature schema that are the cube's dynamic predictors (group "dynamic"; empty: the cube has none). */
export function dynamicPredictorColumns(schema: { groups: string[] }): number[] {
  return schema.groups.flatMap((g, j) => (g === "dynamic" ? [j] : []));
}

/** 1 for the rows of X (n x f) whose columns `cols` are all missing (no row when there are no such columns). */
export function rowsWithoutDynamic(X: Float32Array, n: number, f: number, cols: number[]): Uint8Array {
  const out = new Uint8Array(n);
  if (!cols.length) return out;
  for (let i = 0; i < n; i++) out[i] = cols.every((j) => Number.isNaN(X[i * f + j]!)) ? 1 : 0;
  return out;
}

/** Errors and the sigma scale of the calibration rows without dynamic predictors (`without[i]` = 1). */
export function calibrateWithoutDynamic(
  pred: ArrayLike<number>,
  y: ArrayLike<number>,
  sigma: ArrayLike<number>,
  without: Uint8Array,
): WithoutDynamicCalibration {
  let sq = 0;
  let sqOthers = 0;
  let others = 0;
  let inside = 0;
  const z: number[] = [];
  for (let i = 0; i < without.length; i++) {
    const e = pred[i]! - y[i]!;
    if (!without[i]) {
      sqOthers += e * e;
      others++;
      continue;
    }
    sq += e * e;
    const ratio = Math.abs(e) / sigma[i]!;
    z.push(ratio);
    if (ratio <= Z90) inside++;
  }
  const rows = z.length;
  const fill = rows >= MIN_ROWS_WITHOUT_DYNAMIC;
  z.sort((a, b) => a - b);
  return {
    rows,
    otherRows: others,
    rmse: rows ? Math.sqrt(sq / rows) : null,
    rmseOthers: others ? Math.sqrt(sqOthers / others) : null,
    inside90Unscaled: rows ? inside / rows : null,
    sigmaScale: fill ? quantileSorted(z, 0.9) / Z90 : null,
    fill,
    rule: fill
      ? `filled: ${rows} calibration gaps without dynamic predictors measured the error there; their sigma is scaled to hold 90 % of it in the 90 % interval`
      : `not filled: ${rows} calibration gaps without dynamic predictors (fewer than ${MIN_ROWS_WITHOUT_DYNAMIC}), so no held-out value says how good a fill would be`,
  };
}

/** The sigma scale a product model validated for pixel-days without dynamic predictors, or undefined (not filled). */
export function withoutDynamicScale(record: Record<string, unknown>): number | undefined {
  const c = record.without_dynamic_predictors as WithoutDynamicCalibration | undefined;
  return c?.fill && typeof c.sigmaScale === "number" && c.sigmaScale > 0 ? c.sigmaScale : undefined;
}
