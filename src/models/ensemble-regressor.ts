/**
 * A weighted ensemble behind the Regressor interface (ours; the product's default candidate):
 * members trained on the same rows, combined with non-negative weights summing to one, chosen
 * on the validation gaps (a grid of 1 % steps; with two members that is the exact optimum to
 * 1 %). Its uncertainty comes from the product's residual model fitted on the ensemble's own
 * validation residuals, like any model's, scaled by the members' spread (`spread`: where they
 * disagree the errors are larger). The members live in `members/NAME/` of its folder.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import {
  checkTraining,
  checkWidth,
  predictLater,
  writeJson,
  type Capabilities,
  type FitOptions,
  type Matrix,
  type Regressor,
  type RowOrigin,
} from "./regressor.js";

export class EnsembleRegressor implements Regressor {
  readonly capabilities: Capabilities;
  private weights: number[] = [];
  private validationRmse: number[] = [];
  /** The members' predictions of the last predict, for spread on the same rows. */
  private last: { X: Float32Array; preds: Float32Array[] } | undefined;

  /** `name`: the registry's name of this ensemble (its members differ between entries). */
  constructor(
    readonly featureNames: string[],
    readonly groups: string[],
    readonly members: Regressor[],
    readonly name = "ensemble",
  ) {
    if (members.length < 2) throw new SmapfillError("an ensemble needs at least two members", { variable: this.name });
    this.capabilities = { predictLater: true, spread: true, sequence: members.some((m) => m.capabilities.sequence) };
  }

  /** Every sequence member gathers its own history (each under its own key of RowOrigin.history). */
  async prepare(origins: RowOrigin[]): Promise<RowOrigin[]> {
    let out = origins;
    for (const m of this.members) if (m.capabilities.sequence) out = await m.prepare!(out);
    return out;
  }

  fit(train: Matrix & { y: Float32Array }, options: FitOptions): this {
    checkTraining(this.name, this.featureNames, train, "training");
    const v = options.validation;
    const preds = this.members.map((m) => {
      options.onProgress?.(`ensemble: training ${m.name}`);
      m.fit(train, options);
      return m.predict(v.X, v.n, v.origin);
    });
    this.validationRmse = preds.map((p) => rmse(p, v.y));
    this.weights = bestWeights(preds, v.y);
    options.onProgress?.(`ensemble weights ${this.members.map((m, i) => `${m.name} ${this.weights[i]!.toFixed(2)}`).join(", ")}`);
    return this;
  }

  predict(X: Float32Array, n: number, origin?: RowOrigin): Float32Array {
    return this.predictLater(X, n, origin)();
  }

  predictLater(X: Float32Array, n: number, origin?: RowOrigin): () => Float32Array {
    if (!this.weights.length) throw new SmapfillError("predict before fit", { variable: this.name });
    checkWidth(this.name, X, n, this.featureNames.length);
    // Members that can run on worker threads start first; the others run while they work.
    const started = this.members.map((m) => (m.capabilities.predictLater ? predictLater(m, X, n, origin) : undefined));
    const direct = this.members.map((m, i) => (started[i] ? undefined : m.predict(X, n, origin)));
    return () => {
      const out = new Float32Array(n);
      const preds = this.members.map((_, i) => direct[i] ?? started[i]!());
      preds.forEach((p, i) => {
        const w = this.weights[i]!;
        for (let r = 0; r < n; r++) out[r]! += w * p[r]!;
      });
      this.last = { X, preds };
      return out;
    };
  }

  spread(X: Float32Array, n: number, origin?: RowOrigin): Float32Array {
    const preds = this.last?.X === X ? this.last.preds : this.members.map((m) => m.predict(X, n, origin));
    return Float32Array.from({ length: n }, (_, r) => {
      let lo = Infinity;
      let hi = -Infinity;
      for (const p of preds) ((lo = Math.min(lo, p[r]!)), (hi = Math.max(hi, p[r]!)));
      return hi - lo;
    });
  }

  info() {
    return {
      members: this.members.map((m) => m.name),
      weights: this.weights,
      member_validation_rmse: this.validationRmse,
      member_info: Object.fromEntries(this.members.map((m) => [m.name, m.info()])),
    };
  }

  save(dir: string): void {
    if (!this.weights.length) throw new SmapfillError("save before fit", { variable: this.name });
    fs.mkdirSync(dir, { recursive: true });
    for (const m of this.members) m.save(path.join(dir, "members", m.name));
    writeJson(path.join(dir, "model.json"), {
      kind: "ensemble",
      name: this.name,
      featureNames: this.featureNames,
      groups: this.groups,
      members: this.members.map((m) => m.name),
      weights: this.weights,
      validationRmse: this.validationRmse,
    });
  }

  /** An ensemble from its model.json and its members, loaded by the caller (the registry). */
  static restore(spec: Record<string, unknown>, members: Regressor[]): EnsembleRegressor {
    const r = new EnsembleRegressor(spec.featureNames as string[], spec.groups as string[], members, (spec.name as string | undefined) ?? "ensemble");
    r.weights = spec.weights as number[];
    r.validationRmse = spec.validationRmse as number[];
    return r;
  }
}

function rmse(p: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i]! - y[i]!) ** 2;
  return Math.sqrt(s / Math.max(1, y.length));
}

/** Non-negative weights summing to one, on a 1 % grid, that minimise the validation RMSE. */
export function bestWeights(preds: Float32Array[], y: Float32Array): number[] {
  const k = preds.length;
  const steps = k === 2 ? 100 : 20;
  let best = { err: Infinity, w: preds.map(() => 1 / k) };
  const w = new Array<number>(k).fill(0);
  const visit = (i: number, left: number) => {
    if (i === k - 1) {
      w[i] = left / steps;
      let s = 0;
      for (let r = 0; r < y.length; r++) {
        let v = 0;
        for (let j = 0; j < k; j++) v += w[j]! * preds[j]![r]!;
        s += (v - y[r]!) ** 2;
      }
      if (s < best.err) best = { err: s, w: [...w] };
      return;
    }
    for (let a = 0; a <= left; a++) ((w[i] = a / steps), visit(i + 1, left - a));
  };
  visit(0, steps);
  return best.w;
}
