// AssemblyScript: vector math for the kernels (4 float32 lanes).

// Vector constants in the module's data: inside a loop V8 rebuilds each v128.const at every use
// (three instructions, so exp's and erf's 20 constants cost more than their arithmetic), while a
// load from here is one instruction or folds into the operation that uses it.
const F: usize = memory.data<f32>(
  [
    88, 88, 88, 88, // 0: exp's upper clamp
    -88, -88, -88, -88, // 1: lower clamp
    1.44269504088896341, 1.44269504088896341, 1.44269504088896341, 1.44269504088896341, // 2: log2 e
    12582912, 12582912, 12582912, 12582912, // 3: 1.5 * 2^23, rounds to integers when added
    -0.693359375, -0.693359375, -0.693359375, -0.693359375, // 4: -ln 2, high part
    2.1219444e-4, 2.1219444e-4, 2.1219444e-4, 2.1219444e-4, // 5: ln 2, low part (negated)
    1.98756915e-4, 1.98756915e-4, 1.98756915e-4, 1.98756915e-4, // 6..11: exp's polynomial
    1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3,
    8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3,
    4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2,
    1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1,
    5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1,
    1, 1, 1, 1, // 12: one
    0.3275911, 0.3275911, 0.3275911, 0.3275911, // 13..18: erf's (A&S 7.1.26)
    1.061405429, 1.061405429, 1.061405429, 1.061405429,
    -1.453152027, -1.453152027, -1.453152027, -1.453152027,
    1.421413741, 1.421413741, 1.421413741, 1.421413741,
    -0.284496736, -0.284496736, -0.284496736, -0.284496736,
    0.254829592, 0.254829592, 0.254829592, 0.254829592,
    0.5, 0.5, 0.5, 0.5, // 19: one half
    0.70710678118654752, 0.70710678118654752, 0.70710678118654752, 0.70710678118654752, // 20: 1 / sqrt 2
    0.3989422804014327, 0.3989422804014327, 0.3989422804014327, 0.3989422804014327, // 21: 1 / sqrt(2 pi)
    -0.5, -0.5, -0.5, -0.5, // 22
  ],
  16,
);
const EXPONENT_BIAS: usize = memory.data<i32>([127, 127, 127, 127], 16);

// The i-th vector constant above.
@inline export function kv(i: i32): v128 {
  return v128.load(F + (<usize>i << 4));
}

export const ONE = 12;
export const HALF = 19;
export const INV_SQRT2 = 20;
export const INV_SQRT_2PI = 21;
export const MINUS_HALF = 22;

// exp on 4 lanes (Cephes expf: range reduction by ln 2, degree-6 polynomial, 2^n through the
// exponent bits); relative error ~1e-7; inputs below -88 give 0. Written for V8's code: the
// clamps are pmin/pmax (one instruction each; the IEEE min/max cost about eight), n is rounded
// by adding 1.5 * 2^23 (the sum's low mantissa bits are n, so 2^n is (bits + 127) << 23, without
// a float-to-int conversion), the polynomial is multiply-adds, the constants are loads.
@inline export function vexp(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, kv(0)), kv(1));
  const s = madd(x, kv(2), kv(3));
  const fx = f32x4.sub(s, kv(3));
  let r = madd(fx, kv(4), x);
  r = madd(fx, kv(5), r);
  let y = madd(kv(6), r, kv(7));
  y = madd(y, r, kv(8));
  y = madd(y, r, kv(9));
  y = madd(y, r, kv(10));
  y = madd(y, r, kv(11));
  y = f32x4.add(madd(y, f32x4.mul(r, r), r), kv(ONE));
  const pow2 = i32x4.shl(i32x4.add(s, v128.load(EXPONENT_BIAS)), 23);
  return f32x4.mul(y, pow2);
}

// max(x, 0), NaN kept (x < 0 ? 0 : x): f32x4.pmax is one instruction in V8, f32x4.max about eight.
@inline export function relu4(x: v128): v128 {
  return f32x4.pmax(x, f32x4.splat(0));
}

// erf on 4 lanes (Abramowitz & Stegun 7.1.26: absolute error <= 1.5e-7, float32 level), odd.
@inline export function verf(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = f32x4.div(kv(ONE), madd(kv(13), ax, kv(ONE)));
  let y = madd(kv(14), t, kv(15));
  y = madd(y, t, kv(16));
  y = madd(y, t, kv(17));
  y = madd(y, t, kv(18));
  y = f32x4.mul(y, t);
  const e = f32x4.sub(kv(ONE), f32x4.mul(y, vexp(f32x4.mul(ax, f32x4.neg(ax)))));
  // |e| with the sign of x (x xor |x| is x's sign bit)
  return v128.or(f32x4.abs(e), v128.xor(x, ax));
}

// a * b + c on 4 lanes: one fused multiply-add where the build has relaxed SIMD (the
// kernels-relaxed.wasm variant, used when the runtime validates it), else multiply then add.
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}
