// Level kernels of the gradient-boosted trees (AssemblyScript, compiled by `npm run build` to
// dist/wasm/gbt-kernels.wasm over an imported shared memory, so every thread's instance works on
// the same arrays). Twins of the TypeScript oracles in src/models/trees/gbt-histogram.ts: same
// float64 operations in the same order, so both give bit-identical histograms and splits.
// A histogram is [slot][256 bins][g, h] float64; bin 255 holds missing values.

const SLOT_BYTES: usize = 256 * 16;
const MISSING: usize = 255;

/** Histograms of slots s0..s1-1 of the rows idx[start..end): zeroed, then summed row by row. */
export function buildHistogram(idx: usize, start: i32, end: i32, g: usize, rowBins: usize, f: i32, cols: usize, binsOf: usize, s0: i32, s1: i32, hist: usize): void {
  for (let slot = s0; slot < s1; slot++) {
    const o = hist + <usize>slot * SLOT_BYTES;
    memory.fill(o, 0, <usize>load<i32>(binsOf + (<usize>slot << 2)) << 4);
    store<f64>(o + (MISSING << 4), 0.0);
    store<f64>(o + (MISSING << 4), 0.0, 8);
  }
  const first = hist + <usize>s0 * SLOT_BYTES;
  for (let q = start; q < end; q++) {
    const i = load<i32>(idx + (<usize>q << 2));
    const gi = load<f64>(g + (<usize>i << 3));
    const row = rowBins + <usize>i * <usize>f;
    let o = first;
    for (let slot = s0; slot < s1; slot++) {
      const at = o + (<usize>load<u8>(row + <usize>load<i32>(cols + (<usize>slot << 2))) << 4);
      store<f64>(at, load<f64>(at) + gi);
      store<f64>(at, load<f64>(at, 8) + 1.0, 8);
      o += SLOT_BYTES;
    }
  }
}

/** hist -= small over the used bins and the missing bin of slots s0..s1-1. */
export function subtractHistogram(hist: usize, small: usize, binsOf: usize, s0: i32, s1: i32): void {
  for (let slot = s0; slot < s1; slot++) {
    const o = <usize>slot * SLOT_BYTES;
    const e = o + (<usize>load<i32>(binsOf + (<usize>slot << 2)) << 4);
    for (let k = o; k < e; k += 8) store<f64>(hist + k, load<f64>(hist + k) - load<f64>(small + k));
    const m = o + (MISSING << 4);
    store<f64>(hist + m, load<f64>(hist + m) - load<f64>(small + m));
    store<f64>(hist + m + 8, load<f64>(hist + m + 8) - load<f64>(small + m + 8));
  }
}

/**
 * XGBoost's loss change over slots s0..s1-1 (see bestSplit in gbt-histogram.ts); writes gain
 * (-Infinity: none), feature, bin, defaultLeft, GL, HL as float64 at out.
 */
export function bestSplit(hist: usize, binsOf: usize, cols: usize, s0: i32, s1: i32, G: f64, H: f64, lambda: f64, minChildWeight: f64, out: usize): void {
  const parent = (G * G) / (H + lambda);
  let bestGain = -Infinity;
  let bestFeature: i32 = -1;
  let bestBin: i32 = -1;
  let bestLeft: i32 = 0;
  let bestGL = 0.0;
  let bestHL = 0.0;
  for (let slot = s0; slot < s1; slot++) {
    const o = hist + <usize>slot * SLOT_BYTES;
    const nb = load<i32>(binsOf + (<usize>slot << 2));
    const GM = load<f64>(o + (MISSING << 4));
    const HM = load<f64>(o + (MISSING << 4), 8);
    let GL = 0.0;
    let HL = 0.0;
    const tryMissingLeft = HM > 0;
    for (let b = 0; b < nb - 1; b++) {
      const at = o + (<usize>b << 4);
      const h = load<f64>(at, 8);
      if (h == 0) continue;
      GL += load<f64>(at);
      HL += h;
      let hr = H - HL;
      if (HL >= minChildWeight && hr >= minChildWeight) {
        const gr = G - GL;
        const gain = (GL * GL) / (HL + lambda) + (gr * gr) / (hr + lambda) - parent;
        if (bestFeature < 0 || gain > bestGain) {
          bestGain = gain;
          bestFeature = load<i32>(cols + (<usize>slot << 2));
          bestBin = b;
          bestLeft = 0;
          bestGL = GL;
          bestHL = HL;
        }
      }
      if (tryMissingLeft) {
        const gl = GL + GM;
        const hl = HL + HM;
        hr = H - hl;
        if (hl >= minChildWeight && hr >= minChildWeight) {
          const gr = G - gl;
          const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent;
          if (bestFeature < 0 || gain > bestGain) {
            bestGain = gain;
            bestFeature = load<i32>(cols + (<usize>slot << 2));
            bestBin = b;
            bestLeft = 1;
            bestGL = gl;
            bestHL = hl;
          }
        }
      }
    }
  }
  store<f64>(out, bestFeature < 0 ? -Infinity : bestGain);
  store<f64>(out, <f64>bestFeature, 8);
  store<f64>(out, <f64>bestBin, 16);
  store<f64>(out, <f64>bestLeft, 24);
  store<f64>(out, bestGL, 32);
  store<f64>(out, bestHL, 40);
}
