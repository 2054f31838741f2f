// AssemblyScript: the Mulberry32 stream of src/util/random.ts (same draws for the same state),
// so that kernels that draw (dropout) give the TypeScript kernels' masks exactly.

let rngState: u32 = 0;

export function setRngState(s: u32): void {
  rngState = s;
}

export function getRngState(): u32 {
  return rngState;
}

// Mulberry32 is a hash of a counter (the state, advanced by a constant per draw), so four
// consecutive draws can be computed at once: lanes 0..3 hold the next four draws' 32 bits
// (a draw's uniform is bits / 2^32), and the state advances by four draws.
@inline function next4Bits(): v128 {
  const a = i32x4.add(i32x4.splat(rngState), i32x4(0x6d2b79f5, <i32>0xda56f3ea, 0x47826ddf, <i32>0xb4ade7d4));
  rngState += 0xb4ade7d4; // 4 * 0x6d2b79f5 mod 2^32
  let t = i32x4.mul(v128.xor(a, i32x4.shr_u(a, 15)), v128.or(a, i32x4.splat(1)));
  t = v128.xor(t, i32x4.add(t, i32x4.mul(v128.xor(t, i32x4.shr_u(t, 7)), v128.or(t, i32x4.splat(61)))));
  return v128.xor(t, i32x4.shr_u(t, 14));
}

// The smallest 32-bit draw whose uniform (bits / 2^32, exact in f64) is >= p, for p in [0, 1):
// uniform() >= p exactly when bits >= this, so vector and scalar draws keep the same elements.
@inline function keepThreshold(p: f64): u32 {
  return <u32>min(Math.ceil(p * 4294967296.0), 4294967295.0);
}

// Dropout multipliers for n floats at dst: keep (1 / (1 - p)) with probability 1 - p, else 0, in
// stream order; four draws at a time (next4Bits) compared as integers (keepThreshold), the rest
// one by one: the same masks and state as n draws of uniform().
@inline export function drawMasks(dst: usize, n: i32, p: f64, keep: f32): void {
  const thr = i32x4.splat(keepThreshold(p));
  const kv = f32x4.splat(keep);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.and(i32x4.ge_u(next4Bits(), thr), kv));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), uniform() >= p ? keep : 0);
}

@inline export function uniform(): f64 {
  rngState = rngState + 0x6d2b79f5;
  let t: u32 = rngState;
  t = (t ^ (t >>> 15)) * (t | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return <f64>(t ^ (t >>> 14)) / 4294967296.0;
}
