// AssemblyScript: the Mulberry32 stream of src/util/random.ts (same draws for the same state),
// so that kernels that draw (dropout) give the TypeScript kernels' masks exactly.

let rngState: u32 = 0;

export function setRngState(s: u32): void {
  rngState = s;
}

export function getRngState(): u32 {
  return rngState;
}

@inline export function uniform(): f64 {
  rngState = rngState + 0x6d2b79f5;
  let t: u32 = rngState;
  t = (t ^ (t >>> 15)) * (t | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return <f64>(t ^ (t >>> 14)) / 4294967296.0;
}
