// AssemblyScript: vector math for the kernels (4 float32 lanes).

// exp on 4 lanes (Cephes expf: range reduction by ln 2, degree-6 polynomial, 2^n through the
// exponent bits); relative error ~1e-7; inputs below -88 give 0. Written for V8's code: the
// clamps are pmin/pmax (one instruction each; the IEEE min/max cost about eight), n is rounded
// by adding 1.5 * 2^23 (the sum's low mantissa bits are n, so 2^n is (bits + 127) << 23, without
// a float-to-int conversion), and the polynomial is multiply-adds.
@inline export function vexp(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.0)), f32x4.splat(-88.0));
  const s = madd(x, f32x4.splat(1.44269504088896341), f32x4.splat(12582912.0));
  const fx = f32x4.sub(s, f32x4.splat(12582912.0));
  let r = madd(fx, f32x4.splat(-0.693359375), x);
  r = madd(fx, f32x4.splat(2.12194440e-4), r);
  let y = madd(f32x4.splat(1.9875691500e-4), r, f32x4.splat(1.3981999507e-3));
  y = madd(y, r, f32x4.splat(8.3334519073e-3));
  y = madd(y, r, f32x4.splat(4.1665795894e-2));
  y = madd(y, r, f32x4.splat(1.6666665459e-1));
  y = madd(y, r, f32x4.splat(5.0000001201e-1));
  y = f32x4.add(madd(y, f32x4.mul(r, r), r), f32x4.splat(1.0));
  const pow2 = i32x4.shl(i32x4.add(s, i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2);
}

// max(x, 0), NaN kept (x < 0 ? 0 : x): f32x4.pmax is one instruction in V8, f32x4.max about eight.
@inline export function relu4(x: v128): v128 {
  return f32x4.pmax(x, f32x4.splat(0));
}

// erf on 4 lanes (Abramowitz & Stegun 7.1.26: absolute error <= 1.5e-7, float32 level), odd.
@inline export function verf(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = f32x4.div(f32x4.splat(1.0), madd(f32x4.splat(0.3275911), ax, f32x4.splat(1.0)));
  let y = madd(f32x4.splat(1.061405429), t, f32x4.splat(-1.453152027));
  y = madd(y, t, f32x4.splat(1.421413741));
  y = madd(y, t, f32x4.splat(-0.284496736));
  y = madd(y, t, f32x4.splat(0.254829592));
  y = f32x4.mul(y, t);
  const e = f32x4.sub(f32x4.splat(1.0), f32x4.mul(y, vexp(f32x4.mul(ax, f32x4.neg(ax)))));
  // copy the sign of x
  return v128.or(v128.and(e, i32x4.splat(0x7fffffff)), v128.and(x, i32x4.splat(0x80000000)));
}

// a * b + c on 4 lanes: one fused multiply-add where the build has relaxed SIMD (the
// kernels-relaxed.wasm variant, used when the runtime validates it), else multiply then add.
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}
