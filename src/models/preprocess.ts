/**
 * Train-split standardisation, mean imputation and missing-value indicators, as MODELS.md and
 * the reference's preprocess.py define them:
 *   fit: mean_j and population sd_j of the non-NaN training values (mean 0 if all NaN, sd 1 if
 *        0 or undefined); an indicator column for every column with a NaN in the training split;
 *   transform: z = (x - mean) / sd with NaN -> 0 (the training mean), then the indicators
 *        (1 where x was NaN). Without standardisation NaN -> mean on the raw scale (trees).
 * Only training statistics are ever used, so no validation or test value leaks in.
 */
export interface PreprocessorState {
  mean: number[];
  sd: number[];
  indicatorColumns: number[];
  standardize: boolean;
}

export class Preprocessor {
  state: PreprocessorState | undefined;

  constructor(
    readonly standardize = true,
    readonly indicators = true,
  ) {}

  fit(X: Float32Array, n: number, f: number): this {
    const sum = new Float64Array(f);
    const cnt = new Float64Array(f);
    const anyNaN = new Uint8Array(f);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) {
        const v = X[i * f + j]!;
        if (v === v) {
          sum[j]! += v;
          cnt[j]! += 1;
        } else anyNaN[j] = 1;
      }
    }
    const mean = Array.from(sum, (s, j) => (cnt[j]! > 0 ? s / cnt[j]! : 0));
    const ss = new Float64Array(f);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) {
        const v = X[i * f + j]!;
        if (v === v) ss[j]! += (v - mean[j]!) ** 2;
      }
    }
    const sd = Array.from(ss, (s, j) => {
      const v = cnt[j]! > 0 ? Math.sqrt(s / cnt[j]!) : 0;
      return v > 0 && Number.isFinite(v) ? v : 1;
    });
    const indicatorColumns = this.indicators ? [...anyNaN.keys()].filter((j) => anyNaN[j]) : [];
    this.state = { mean, sd, indicatorColumns, standardize: this.standardize };
    return this;
  }

  get outputWidth(): number {
    return this.state!.mean.length + this.state!.indicatorColumns.length;
  }

  transform(X: Float32Array, n: number, f: number): Float32Array {
    const s = this.state;
    if (!s) throw new Error("Preprocessor.transform before fit");
    if (f !== s.mean.length) throw new Error(`Preprocessor: ${f} columns, fitted on ${s.mean.length}`);
    const width = f + s.indicatorColumns.length;
    const out = new Float32Array(n * width);
    const mean = Float32Array.from(s.mean);
    const sd = Float32Array.from(s.sd);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) {
        const v = X[i * f + j]!;
        const o = i * width + j;
        if (v !== v) out[o] = s.standardize ? 0 : mean[j]!;
        else out[o] = s.standardize ? Math.fround(Math.fround(v - mean[j]!) / sd[j]!) : v;
      }
      s.indicatorColumns.forEach((j, k) => {
        out[i * width + f + k] = X[i * f + j]! !== X[i * f + j]! ? 1 : 0;
      });
    }
    return out;
  }
}
