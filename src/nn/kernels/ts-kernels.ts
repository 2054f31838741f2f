/**
 * The plain TypeScript kernels: the oracle every faster kernel is tested against, and the
 * float64 path for gradient checks.
 */
import type { Kernels } from "./kernels.js";

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
