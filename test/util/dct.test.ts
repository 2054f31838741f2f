/**
 * The 3-D orthonormal DCT against its definition (a cosine sum per line) on shapes that take the
 * FFT path (powers of two from 16), the matrix path and both at once; and inverse(forward(x)) = x.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Dct3, dctMatrix, type Dims3 } from "../../src/util/dct.js";
import { Rng } from "../../src/util/random.js";

/** The definition: C applied to every line along each axis longer than 1, in turn. */
function definition(x: Float64Array, dims: Dims3, inverse: boolean): Float64Array {
  let y = Float64Array.from(x);
  for (const axis of [0, 1, 2] as const) {
    const n = dims[axis];
    if (n <= 1) continue;
    const c = dctMatrix(n);
    const stride = axis === 0 ? dims[1] * dims[2] : axis === 1 ? dims[2] : 1;
    const out = new Float64Array(y.length);
    for (let start = 0; start < y.length; start++) {
      // Only the first element of each line along `axis`.
      if (Math.floor(start / stride) % n !== 0) continue;
      for (let k = 0; k < n; k++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += (inverse ? c[j * n + k]! : c[k * n + j]!) * y[start + j * stride]!;
        out[start + k * stride] = s;
      }
    }
    y = out;
  }
  return y;
}

const shapes: Dims3[] = [
  [16, 32, 64], // all three by FFT
  [20, 6, 7], // all by matrix
  [32, 5, 16], // mixed: a matrix axis between two FFT axes
  [1, 64, 17], // a singleton axis
  [48, 1, 128],
  [16, 3, 5], // a strided FFT axis with an odd number of lines (blocks of 7 and one line alone)
  [64, 2, 99], // strided blocks of 32 lines and a remainder block
  [3, 5, 16], // the contiguous FFT axis with an odd number of lines (blocks of 7, one line alone)
  [1, 1, 64], // one line alone
];

for (const dims of shapes) {
  test(`Dct3 equals the cosine sums and inverts itself: ${dims.join(" x ")}`, () => {
    const rng = new Rng(dims[0] * 1000 + dims[1] * 10 + dims[2]);
    const N = dims[0] * dims[1] * dims[2];
    const x = Float64Array.from({ length: N }, () => rng.uniform() - 0.5);
    const dct = new Dct3(dims);
    const forward = new Float64Array(N);
    const back = new Float64Array(N);
    dct.forward(x, forward);
    dct.inverse(forward, back);
    const want = definition(x, dims, false);
    const wantInverse = definition(x, dims, true);
    const inverse = new Float64Array(N);
    dct.inverse(x, inverse);
    let worst = 0;
    for (let k = 0; k < N; k++) {
      worst = Math.max(worst, Math.abs(forward[k]! - want[k]!), Math.abs(inverse[k]! - wantInverse[k]!), Math.abs(back[k]! - x[k]!));
    }
    assert.ok(worst < 1e-12, `largest difference ${worst}`);
  });
}

test("Dct3 refuses arrays of another shape and writing over its input", () => {
  const dct = new Dct3([4, 4, 4]);
  assert.throws(() => dct.forward(new Float64Array(63), new Float64Array(64)), /63 \/ 64 values for dims 4 x 4 x 4/);
  const x = new Float64Array(64);
  assert.throws(() => dct.forward(x, x), /must not be x/);
});
