/**
 * Any model trained on the departure from the pixel's climatology instead of the value itself
 * (ours; `--param MODEL.anomaly=1`): the target becomes y - base, base the row's day-of-year
 * climatology (ts_clim_doy: the pixel's training values within +-15 days), else the pixel's
 * training mean (ts_mean), else the training rows' mean; predictions add the base back.
 *
 * Why: between pixels SMAP differs by far more (0.05 to 0.45 m3/m3 in one region) than a pixel
 * differs from its own climatology within a month; trees spend their splits and networks their
 * standardised range on the first. The base comes from the ts group, which the out-of-fold rule
 * already keeps free of the row's own value, so nothing leaks. Chosen on the validation gaps
 * (docs/evaluation.md has the measurements).
 *
 * Saved as the inner model's folder plus `target.json` (the base's fallback mean); the registry
 * wraps a loaded model again when that file is there.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { predictLater, spreadOf, writeJson, type Capabilities, type FitOptions, type Matrix, type Regressor, type RowOrigin } from "./regressor.js";

export const ANOMALY_BASE_FEATURES = ["ts_clim_doy", "ts_mean"] as const;
export const TARGET_FILE = "target.json";

export class AnomalyTarget implements Regressor {
  private readonly at: number[];
  private fallback = NaN;

  /**
   * predictLater always (the inner model's when it has it); spread when the inner model has
   * members (a constant base shifts none of them); sequence as the inner model.
   */
  readonly capabilities: Capabilities;

  constructor(readonly inner: Regressor) {
    this.capabilities = { predictLater: true, spread: inner.capabilities.spread, sequence: inner.capabilities.sequence };
    this.at = ANOMALY_BASE_FEATURES.map((n) => inner.featureNames.indexOf(n));
    const missing = ANOMALY_BASE_FEATURES.filter((_, i) => this.at[i]! < 0);
    if (missing.length)
      throw new SmapfillError(`an anomaly target needs the pixel's climatology; ${missing.join(", ")} are missing`, {
        variable: `${inner.name}.anomaly`,
        hint: "Keep the ts feature group, or set anomaly=0",
      });
  }

  get name() {
    return this.inner.name;
  }
  get featureNames() {
    return this.inner.featureNames;
  }
  get groups() {
    return this.inner.groups;
  }

  /** The base of each row of X [n, F]: climatology, else the pixel's mean, else the training mean. */
  base(X: Float32Array, n: number): Float32Array {
    const f = this.featureNames.length;
    const [clim, mean] = this.at as [number, number];
    return Float32Array.from({ length: n }, (_, r) => {
      const c = X[r * f + clim]!;
      if (!Number.isNaN(c)) return c;
      const m = X[r * f + mean]!;
      return Number.isNaN(m) ? this.fallback : m;
    });
  }

  fit(train: Matrix & { y: Float32Array }, options: FitOptions): this {
    this.fallback = train.y.reduce((a, b) => a + b, 0) / Math.max(1, train.n);
    const v = options.validation;
    this.inner.fit({ ...train, y: minus(train.y, this.base(train.X, train.n)) }, { ...options, validation: { ...v, y: minus(v.y, this.base(v.X, v.n)) } });
    return this;
  }

  prepare(origins: RowOrigin[]): Promise<RowOrigin[]> {
    if (!this.inner.prepare) throw new Error(`${this.name} reads nothing beyond its rows' features`);
    return this.inner.prepare(origins);
  }

  predict(X: Float32Array, n: number, origin?: RowOrigin): Float32Array {
    return this.predictLater(X, n, origin)();
  }

  spread(X: Float32Array, n: number, origin?: RowOrigin): Float32Array {
    const s = spreadOf(this.inner, X, n, origin);
    if (!s) throw new Error(`${this.name} has no members to disagree`);
    return s;
  }

  predictLater(X: Float32Array, n: number, origin?: RowOrigin): () => Float32Array {
    if (Number.isNaN(this.fallback)) throw new SmapfillError("predict before fit", { variable: this.name });
    const finish = predictLater(this.inner, X, n, origin);
    const base = this.base(X, n);
    return () => {
      const out = finish();
      for (let r = 0; r < n; r++) out[r]! += base[r]!;
      return out;
    };
  }

  info() {
    return { ...this.inner.info(), target: "anomaly from the pixel's climatology" };
  }

  save(dir: string): void {
    if (Number.isNaN(this.fallback)) throw new SmapfillError("save before fit", { variable: this.name });
    this.inner.save(dir);
    writeJson(path.join(dir, TARGET_FILE), { kind: "anomaly", base: ANOMALY_BASE_FEATURES, fallback: this.fallback });
  }

  /** Wraps a loaded model again when its folder says it was trained on anomalies. */
  static restoreIfSaved(dir: string, inner: Regressor): Regressor {
    const file = path.join(dir, TARGET_FILE);
    if (!fs.existsSync(file)) return inner;
    const spec = JSON.parse(fs.readFileSync(file, "utf8")) as { kind?: string; fallback?: number };
    if (spec.kind !== "anomaly" || typeof spec.fallback !== "number")
      throw new SmapfillError("is not an anomaly-target record this smapfill knows", { file, hint: "Retrain the model" });
    const r = new AnomalyTarget(inner);
    r.fallback = spec.fallback;
    return r;
  }
}

function minus(y: Float32Array, base: Float32Array): Float32Array {
  return Float32Array.from(y, (v, i) => v - base[i]!);
}
