/**
 * The gap filler users compare against, behind the Regressor interface: linear interpolation in
 * time between the pixel's previous and next SMAP retrieval (the context terms ts_prev_value,
 * ts_prev_gap, ts_next_value, ts_next_gap of the row), the nearest one when only one lies within
 * `max_gap` days, the pixel's day-of-year climatology (ts_clim_doy) beyond, and the training mean
 * when the pixel has nothing. It learns nothing but the mean; it needs the ts group.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { checkTraining, checkWidth, NO_CAPABILITIES, writeJson, type FitOptions, type Matrix, type Regressor } from "./regressor.js";

const NEEDED = ["ts_prev_value", "ts_prev_gap", "ts_next_value", "ts_next_gap", "ts_clim_doy"] as const;

export class LinearInterpolation implements Regressor {
  readonly name = "linear_interp";
  readonly capabilities = NO_CAPABILITIES;
  private mean = NaN;
  private readonly at: number[];

  constructor(
    readonly featureNames: string[],
    readonly groups: string[],
    private readonly maxGap = 30,
  ) {
    this.at = NEEDED.map((n) => featureNames.indexOf(n));
    const missing = NEEDED.filter((_, i) => this.at[i]! < 0);
    if (missing.length)
      throw new SmapfillError(`linear interpolation needs the time-series context terms; ${missing.join(", ")} are missing`, {
        variable: this.name,
        hint: "Keep the ts feature group (it reads the previous and next retrieval from it)",
      });
  }

  fit(train: Matrix & { y: Float32Array }, _options?: FitOptions): this {
    checkTraining(this.name, this.featureNames, train, "training");
    this.mean = train.y.reduce((a, b) => a + b, 0) / train.n;
    return this;
  }

  predict(X: Float32Array, n: number): Float32Array {
    if (Number.isNaN(this.mean)) throw new SmapfillError("predict before fit", { variable: this.name });
    const f = this.featureNames.length;
    checkWidth(this.name, X, n, f);
    const [pv, pg, nv, ng, clim] = this.at as [number, number, number, number, number];
    return Float32Array.from({ length: n }, (_, i) => {
      const o = i * f;
      const [a, da, b, db] = [X[o + pv]!, X[o + pg]!, X[o + nv]!, X[o + ng]!];
      const hasA = !Number.isNaN(a) && da <= this.maxGap;
      const hasB = !Number.isNaN(b) && db <= this.maxGap;
      if (hasA && hasB) return a + ((b - a) * da) / (da + db);
      if (hasA) return a;
      if (hasB) return b;
      const c = X[o + clim]!;
      return Number.isNaN(c) ? this.mean : c;
    });
  }

  info() {
    return { max_gap: this.maxGap, training_mean: this.mean };
  }

  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    writeJson(path.join(dir, "model.json"), { name: this.name, featureNames: this.featureNames, groups: this.groups, maxGap: this.maxGap, mean: this.mean });
  }

  static load(spec: Record<string, unknown>): LinearInterpolation {
    const m = new LinearInterpolation(spec.featureNames as string[], spec.groups as string[], spec.maxGap as number);
    m.mean = spec.mean as number;
    return m;
  }
}
