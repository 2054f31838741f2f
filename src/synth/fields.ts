/**
 * Spatially correlated random fields for the synthetic world: fractal value noise (random values
 * on coarse lattices, bicubic-smoothed, summed over octaves), normalised to mean 0 and sd 1.
 */
import { Rng } from "../util/random.js";
import { quantileSorted } from "../util/stats.js";

/** One octave: lattice values every `spacing` cells, smoothstep-interpolated in between. */
function valueNoise(rng: Rng, nrows: number, ncols: number, spacing: number): Float32Array {
  const lr = Math.ceil(nrows / spacing) + 2;
  const lc = Math.ceil(ncols / spacing) + 2;
  const lattice = new Float32Array(lr * lc);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.normal();
  const out = new Float32Array(nrows * ncols);
  const smooth = (t: number) => t * t * (3 - 2 * t);
  // A random sub-lattice offset so that octaves do not share grid lines.
  const oy = rng.uniform();
  const ox = rng.uniform();
  for (let r = 0; r < nrows; r++) {
    const fy = r / spacing + oy;
    const iy = Math.floor(fy);
    const ty = smooth(fy - iy);
    for (let c = 0; c < ncols; c++) {
      const fx = c / spacing + ox;
      const ix = Math.floor(fx);
      const tx = smooth(fx - ix);
      const a = lattice[iy * lc + ix]!;
      const b = lattice[iy * lc + ix + 1]!;
      const d = lattice[(iy + 1) * lc + ix]!;
      const e = lattice[(iy + 1) * lc + ix + 1]!;
      out[r * ncols + c] = (a * (1 - tx) + b * tx) * (1 - ty) + (d * (1 - tx) + e * tx) * ty;
    }
  }
  return out;
}

/**
 * Fractal noise with features of about `scaleCells` cells and `octaves` finer octaves
 * (each half the size and `persistence` times the amplitude), standardised.
 */
export function fractalField(rng: Rng, nrows: number, ncols: number, scaleCells: number, octaves = 4, persistence = 0.5): Float32Array {
  const out = new Float32Array(nrows * ncols);
  let amplitude = 1;
  let spacing = Math.max(1, scaleCells);
  for (let o = 0; o < octaves; o++) {
    const layer = valueNoise(rng, nrows, ncols, spacing);
    for (let i = 0; i < out.length; i++) out[i]! += amplitude * layer[i]!;
    amplitude *= persistence;
    spacing = Math.max(1, spacing / 2);
  }
  return standardise(out);
}

export function standardise(values: Float32Array): Float32Array {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length || 1;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const sd = Math.sqrt(ss / (values.length || 1)) || 1;
  for (let i = 0; i < values.length; i++) values[i] = (values[i]! - mean) / sd;
  return values;
}

/** The value below which a fraction q of the values lie. */
export function quantile(values: ArrayLike<number>, q: number): number {
  return quantileSorted(Float64Array.from(values).sort(), q);
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export function logistic(v: number): number {
  return 1 / (1 + Math.exp(-v));
}
