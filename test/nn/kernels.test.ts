import { test } from "node:test";
import assert from "node:assert/strict";
import { kernels, tsKernels, wasmKernels } from "../../src/nn/kernels/kernels.js";
import { wasmSimdAvailable } from "../../src/nn/kernels/wasm-kernels.js";
import { Rng } from "../../src/util/random.js";

/** float64 reference product, independent of both kernels. */
function reference(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  acc: boolean,
): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = acc ? C[i * N + j]! : 0;
      for (let k = 0; k < K; k++) s += (transA ? A[k * M + i]! : A[i * K + k]!) * (transB ? B[j * K + k]! : B[k * N + j]!);
      out[i * N + j] = s;
    }
  }
  return out;
}

test("the WebAssembly SIMD kernels load here and are the default", () => {
  assert.ok(wasmSimdAvailable());
  assert.equal(kernels().name, process.env.SMAPFILL_KERNELS === "typescript" ? "typescript" : "wasm-simd");
});

test("property: GEMM of both kernels equals a float64 product for odd shapes and every transpose", () => {
  const rng = new Rng(3);
  const sizes = [1, 3, 8, 17, 64, 511];
  let cases = 0;
  for (let trial = 0; trial < 60; trial++) {
    const [M, N, K] = [0, 0, 0].map(() => sizes[rng.int(sizes.length)]!) as [number, number, number];
    if (M * N * K > 4e6) continue;
    const transA = rng.uniform() < 0.5;
    const transB = rng.uniform() < 0.5;
    const acc = rng.uniform() < 0.5;
    const A = Float32Array.from({ length: M * K }, () => rng.normal());
    const B = Float32Array.from({ length: K * N }, () => rng.normal());
    const C0 = Float32Array.from({ length: M * N }, () => rng.normal());
    const expected = reference(transA, transB, M, N, K, A, B, C0, acc);
    for (const k of [tsKernels, wasmKernels]) {
      const C = C0.slice();
      k.gemm(transA, transB, M, N, K, A, B, C, acc);
      for (let i = 0; i < M * N; i++) {
        const tol = 1e-5 * Math.sqrt(K) * (1 + Math.abs(expected[i]!));
        assert.ok(Math.abs(C[i]! - expected[i]!) <= tol, `${k.name} ${transA ? "T" : "N"}${transB ? "T" : "N"} ${M}x${N}x${K}: ${C[i]} vs ${expected[i]}`);
      }
    }
    cases++;
  }
  assert.ok(cases > 40);
});

test("GEMM on views (subarrays) reads and writes only the view", () => {
  const big = new Float32Array(100).fill(7);
  const A = Float32Array.from({ length: 6 }, (_, i) => i + 1);
  const B = Float32Array.from({ length: 6 }, (_, i) => 6 - i);
  const C = big.subarray(10, 14);
  wasmKernels.gemm(false, false, 2, 2, 3, A, B, C, false);
  assert.deepEqual([...C], [1 * 6 + 2 * 4 + 3 * 2, 1 * 5 + 2 * 3 + 3 * 1, 4 * 6 + 5 * 4 + 6 * 2, 4 * 5 + 5 * 3 + 6 * 1]);
  assert.equal(big[9], 7);
  assert.equal(big[14], 7);
});
