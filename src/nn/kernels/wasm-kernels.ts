/**
 * The WebAssembly SIMD kernels (src/nn/kernels/wasm/gemm.ts, compiled by `npm run build`).
 * Float32 GEMMs run in the module's memory: operands are copied in (transposed operands packed
 * by the module's own transpose, so one 4 x 8 micro-kernel serves NN, NT, TN and TT), the
 * product copied out. Float64 (gradient checks) stays on the TypeScript kernels.
 */
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import type { Arr, Kernels } from "./kernels.js";
import { tsKernels } from "./ts-kernels.js";

interface GemmExports {
  memory: WebAssembly.Memory;
  gemm(M: number, N: number, K: number, A: number, B: number, C: number, accumulate: number): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
}

const WASM_FILE = fileURLToPath(new URL("../../../wasm/gemm.wasm", import.meta.url));
const BASE = 1 << 16; // leave the first page to the module's own data

let exportsCache: GemmExports | undefined;

function instance(): GemmExports {
  if (!exportsCache) {
    if (!fs.existsSync(WASM_FILE)) throw new Error(`${WASM_FILE} is missing: run npm run build`);
    const module = new WebAssembly.Module(fs.readFileSync(WASM_FILE));
    const inst = new WebAssembly.Instance(module, {
      env: {
        abort: () => {
          throw new Error("wasm kernel abort");
        },
      },
    });
    exportsCache = inst.exports as unknown as GemmExports;
  }
  return exportsCache;
}

/** True when this runtime can run the SIMD module (any Node >= 16 can). */
export function wasmSimdAvailable(): boolean {
  try {
    instance();
    return true;
  } catch {
    return false;
  }
}

const align = (n: number) => (n + 15) & ~15;

export const wasmKernels: Kernels = {
  name: "wasm-simd",
  gemm(transA, transB, M, N, K, A, B, C, accumulate) {
    if (!(A instanceof Float32Array) || !(B instanceof Float32Array) || !(C instanceof Float32Array)) {
      tsKernels.gemm(transA, transB, M, N, K, A, B, C, accumulate);
      return;
    }
    const w = instance();
    const offA = BASE;
    const offB = align(offA + 4 * M * K);
    const offC = align(offB + 4 * K * N);
    const offT = align(offC + 4 * M * N);
    const end = offT + 4 * Math.max(M * K, K * N);
    if (end > w.memory.buffer.byteLength) w.memory.grow(Math.ceil((end - w.memory.buffer.byteLength) / 65536));
    const heap = new Float32Array(w.memory.buffer);
    if (transA) {
      heap.set((A as Arr).subarray(0, M * K), offT >> 2);
      w.transpose(offT, offA, K, M);
    } else heap.set((A as Arr).subarray(0, M * K), offA >> 2);
    if (transB) {
      heap.set((B as Arr).subarray(0, K * N), offT >> 2);
      w.transpose(offT, offB, N, K);
    } else heap.set((B as Arr).subarray(0, K * N), offB >> 2);
    if (accumulate) heap.set(C.subarray(0, M * N), offC >> 2);
    w.gemm(M, N, K, offA, offB, offC, accumulate ? 1 : 0);
    C.set(heap.subarray(offC >> 2, (offC >> 2) + M * N));
  },
};
