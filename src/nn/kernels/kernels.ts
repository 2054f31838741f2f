/**
 * The hot loops of the engine behind one small interface. Ops call these and nothing else for
 * heavy arithmetic, so a faster implementation (WebAssembly SIMD, threads) replaces the plain
 * TypeScript one without any change to ops, layers or models. The TypeScript kernels are the
 * oracle the others are tested against, and they also run in float64 for gradient checks.
 */
import { tsKernels } from "./ts-kernels.js";
import { wasmKernels, wasmSimdAvailable } from "./wasm-kernels.js";

export { tsKernels, wasmKernels };
export type Arr = Float32Array | Float64Array;

export interface Kernels {
  readonly name: string;
  /**
   * C[M,N] = (accumulate ? C : 0) + op(A) op(B), row-major.
   * op(A) is A[M,K] (transA false) or A[K,M]^T; op(B) is B[K,N] or B[N,K]^T.
   */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, A: Arr, B: Arr, C: Arr, accumulate: boolean): void;
}

let active: Kernels | undefined;

/**
 * The kernels ops use now: WebAssembly SIMD when it loads, else TypeScript.
 * SMAPFILL_KERNELS=typescript forces the TypeScript kernels.
 */
export function kernels(): Kernels {
  if (!active) active = process.env.SMAPFILL_KERNELS === "typescript" || !wasmSimdAvailable() ? tsKernels : wasmKernels;
  return active;
}

/** Switches the kernels (returns the previous ones). */
export function useKernels(k: Kernels): Kernels {
  const previous = kernels();
  active = k;
  return previous;
}
