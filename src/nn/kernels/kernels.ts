/**
 * The hot loops of the engine behind one small interface. Ops call these and nothing else for
 * heavy arithmetic, so a faster implementation (WebAssembly SIMD, threads) replaces the plain
 * TypeScript one without any change to ops, layers or models. The TypeScript kernels are the
 * oracle the others are tested against, and they also run in float64 for gradient checks.
 */
export type Arr = Float32Array | Float64Array;

export interface Kernels {
  readonly name: string;
  /**
   * C[M,N] = (accumulate ? C : 0) + op(A) op(B), row-major.
   * op(A) is A[M,K] (transA false) or A[K,M]^T; op(B) is B[K,N] or B[N,K]^T.
   */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, A: Arr, B: Arr, C: Arr, accumulate: boolean): void;
}

/** Straightforward loops, ordered for contiguous inner access; any typed array. */
export const tsKernels: Kernels = {
  name: "typescript",
  gemm(transA, transB, M, N, K, A, B, C, accumulate) {
    if (!accumulate) C.fill(0, 0, M * N);
    if (!transA && !transB) {
      for (let i = 0; i < M; i++) {
        const ci = i * N;
        for (let k = 0; k < K; k++) {
          const a = A[i * K + k]!;
          if (a === 0) continue;
          const bk = k * N;
          for (let j = 0; j < N; j++) C[ci + j]! += a * B[bk + j]!;
        }
      }
    } else if (!transA && transB) {
      for (let i = 0; i < M; i++) {
        const ai = i * K;
        for (let j = 0; j < N; j++) {
          const bj = j * K;
          let s = 0;
          for (let k = 0; k < K; k++) s += A[ai + k]! * B[bj + k]!;
          C[i * N + j]! += s;
        }
      }
    } else if (transA && !transB) {
      for (let k = 0; k < K; k++) {
        const ak = k * M;
        const bk = k * N;
        for (let i = 0; i < M; i++) {
          const a = A[ak + i]!;
          if (a === 0) continue;
          const ci = i * N;
          for (let j = 0; j < N; j++) C[ci + j]! += a * B[bk + j]!;
        }
      }
    } else {
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += A[k * M + i]! * B[j * K + k]!;
          C[i * N + j]! += s;
        }
      }
    }
  },
};

let active: Kernels = tsKernels;

/** The kernels ops use now. */
export function kernels(): Kernels {
  return active;
}

/** Switches the kernels (returns the previous ones). */
export function useKernels(k: Kernels): Kernels {
  const previous = active;
  active = k;
  return previous;
}
