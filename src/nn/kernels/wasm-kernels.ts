/**
 * The WebAssembly SIMD kernels (src/nn/kernels/wasm/*.ts, compiled by `npm run build`).
 * Float32 GEMMs run in the module's memory: operands are copied in (transposed operands packed
 * by the module's own transpose, so one 4 x 8 micro-kernel serves NN, NT, TN and TT), the
 * product copied out. Float64 (gradient checks) stays on the TypeScript kernels.
 *
 * Two builds of the same source: kernels.wasm (128-bit SIMD, multiply then add) and
 * kernels-relaxed.wasm (relaxed SIMD: fused multiply-add, one rounding, about 1.6x the GEMM
 * throughput on x86 with FMA). Node 20 has relaxed SIMD behind a V8 flag, which takes effect
 * when set at run time before the module is compiled; Node >= 22 validates it without the flag.
 */
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import type { Arr, Kernels } from "./kernels.js";
import { tsKernels } from "./ts-kernels.js";

interface GemmExports {
  memory: WebAssembly.Memory;
  gemm(M: number, N: number, K: number, A: number, B: number, C: number, accumulate: number, bias: number, relu: number, transA: number): void;
  columnSums(A: number, M: number, N: number, out: number): void;
  lnForward(x: number, y: number, xhat: number, invStd: number, rows: number, d: number, gamma: number, beta: number, eps: number): void;
  lnBackward(dy: number, xhat: number, invStd: number, rows: number, d: number, gamma: number, dx: number, dgamma: number, dbeta: number): void;
  adamStep(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    b1: number,
    b2: number,
    stepSize: number,
    sqrtC2: number,
    eps: number,
    wd: number,
    decoupled: number,
    lrWd: number,
  ): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  conv1dForward(x: number, W: number, bias: number, y: number, B: number, Cin: number, Cout: number, L: number, K: number, scratch: number, relu: number): void;
  conv1dBackward(
    x: number,
    W: number,
    dy: number,
    dx: number,
    dW: number,
    dbias: number,
    B: number,
    Cin: number,
    Cout: number,
    L: number,
    K: number,
    scratch: number,
  ): void;
  bnForward(
    x: number,
    y: number,
    xhat: number,
    N: number,
    C: number,
    L: number,
    gamma: number,
    beta: number,
    stats: number,
    eps: number,
    training: number,
  ): void;
  bnBackward(
    dy: number,
    xhat: number,
    dx: number,
    N: number,
    C: number,
    L: number,
    gamma: number,
    stats: number,
    training: number,
    dgamma: number,
    dbeta: number,
  ): void;
  reluForward(x: number, y: number, n: number): void;
  reluBackward(y: number, dy: number, dx: number, n: number): void;
  geluForward(x: number, y: number, n: number): void;
  geluBackward(x: number, dy: number, dx: number, n: number): void;
  dropoutMask(mask: number, n: number, p: number, keep: number): void;
  setRngState(s: number): void;
  getRngState(): number;
  attentionForward(qkv: number, y: number, P: number, M: number, B: number, T: number, d: number, H: number, scale: number, p: number, scratch: number): void;
  attentionBackward(
    qkv: number,
    dy: number,
    P: number,
    M: number,
    dqkv: number,
    B: number,
    T: number,
    d: number,
    H: number,
    scale: number,
    masked: number,
    scratch: number,
  ): void;
}

export type WasmVariant = "simd" | "relaxed-simd";

const WASM_FILES: Record<WasmVariant, string> = {
  simd: fileURLToPath(new URL("../../../wasm/kernels.wasm", import.meta.url)),
  "relaxed-simd": fileURLToPath(new URL("../../../wasm/kernels-relaxed.wasm", import.meta.url)),
};
const BASE = 1 << 16; // leave the first page to the module's own data

const instances = new Map<WasmVariant, GemmExports>();

function instantiate(variant: WasmVariant): GemmExports {
  let exports = instances.get(variant);
  if (!exports) {
    const file = WASM_FILES[variant];
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run npm run build`);
    const bytes = fs.readFileSync(file);
    if (variant === "relaxed-simd" && !WebAssembly.validate(bytes)) {
      v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
      if (!WebAssembly.validate(bytes)) throw new Error("this runtime has no relaxed SIMD");
    }
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: {
        abort: () => {
          throw new Error("wasm kernel abort");
        },
      },
    });
    exports = inst.exports as unknown as GemmExports;
    instances.set(variant, exports);
  }
  return exports;
}

/** True when this runtime can run the given build of the kernels. */
export function wasmVariantAvailable(variant: WasmVariant): boolean {
  try {
    instantiate(variant);
    return true;
  } catch {
    return false;
  }
}

/** True when this runtime can run the SIMD module (any Node >= 16 can). */
export function wasmSimdAvailable(): boolean {
  return wasmVariantAvailable("simd");
}

const align = (n: number) => (n + 15) & ~15;

/** y = f(x) elementwise by a kernel over whole vectors (the padding lanes are ignored). */
function elementwise(w: GemmExports, kernel: (w: GemmExports, x: number, y: number, n: number) => void, x: Float32Array, y: Float32Array): void {
  const n4 = (x.length + 3) & ~3;
  const [ox, oy] = layout(w, [n4, n4]);
  const heap = new Float32Array(w.memory.buffer);
  heap.set(x, ox! >> 2);
  kernel(w, ox!, oy!, n4);
  y.set(heap.subarray(oy! >> 2, (oy! >> 2) + x.length));
}

/** dx += dy * f'(a) elementwise by a kernel (a = the op's input or output, as the kernel needs). */
function elementwiseBackward(
  w: GemmExports,
  kernel: (w: GemmExports, a: number, dy: number, dx: number, n: number) => void,
  a: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
): void {
  const n4 = (a.length + 3) & ~3;
  const [oa, ody, odx] = layout(w, [n4, n4, n4]);
  const heap = new Float32Array(w.memory.buffer);
  heap.set(a, oa! >> 2);
  heap.set(dy, ody! >> 2);
  heap.set(dx, odx! >> 2);
  kernel(w, oa!, ody!, odx!, n4);
  dx.set(heap.subarray(odx! >> 2, (odx! >> 2) + a.length));
}

/** Lays out float32 blocks of the given lengths from BASE; grows memory; returns byte offsets. */
function layout(w: GemmExports, lengths: number[]): number[] {
  const offsets: number[] = [];
  let at = BASE;
  for (const n of lengths) {
    offsets.push(at);
    at = align(at + 4 * n);
  }
  if (at > w.memory.buffer.byteLength) w.memory.grow(Math.ceil((at - w.memory.buffer.byteLength) / 65536));
  return offsets;
}

/** The kernels on one build of the module (instantiated on first use). */
export function makeWasmKernels(variant: WasmVariant): Kernels {
  const instance = () => instantiate(variant);
  return {
    name: `wasm-${variant}`,
    gemm(transA, transB, M, N, K, A, B, C, accumulate, bias, relu) {
      if (!(A instanceof Float32Array) || !(B instanceof Float32Array) || !(C instanceof Float32Array)) {
        tsKernels.gemm(transA, transB, M, N, K, A, B, C, accumulate, bias, relu);
        return;
      }
      const w = instance();
      const offA = BASE;
      const offB = align(offA + 4 * M * K);
      const offC = align(offB + 4 * K * N);
      const offBias = align(offC + 4 * M * N);
      const offT = align(offBias + 4 * N);
      const end = offT + 4 * Math.max(M * K, K * N);
      if (end > w.memory.buffer.byteLength) w.memory.grow(Math.ceil((end - w.memory.buffer.byteLength) / 65536));
      const heap = new Float32Array(w.memory.buffer);
      heap.set((A as Arr).subarray(0, M * K), offA >> 2); // transposed A is read in place (strided)
      if (transB) {
        heap.set((B as Arr).subarray(0, K * N), offT >> 2);
        w.transpose(offT, offB, N, K);
      } else heap.set((B as Arr).subarray(0, K * N), offB >> 2);
      if (accumulate) heap.set(C.subarray(0, M * N), offC >> 2);
      if (bias) heap.set(bias.subarray(0, N), offBias >> 2);
      w.gemm(M, N, K, offA, offB, offC, accumulate ? 1 : 0, bias ? offBias : 0, relu ? 1 : 0, transA ? 1 : 0);
      C.set(heap.subarray(offC >> 2, (offC >> 2) + M * N));
    },

    layerNorm(x, y, xhat, invStd, rows, d, gamma, beta, eps) {
      if (!(x instanceof Float32Array) || d % 4 !== 0) return tsKernels.layerNorm(x, y, xhat, invStd, rows, d, gamma, beta, eps);
      const w = instance();
      const n = rows * d;
      const [ox, oy, oh, os, og, ob] = layout(w, [n, n, n, rows, d, d]);
      const heap = new Float32Array(w.memory.buffer);
      heap.set(x, ox! >> 2);
      heap.set(gamma, og! >> 2);
      heap.set(beta, ob! >> 2);
      w.lnForward(ox!, oy!, oh!, os!, rows, d, og!, ob!, eps);
      y.set(heap.subarray(oy! >> 2, (oy! >> 2) + n));
      xhat.set(heap.subarray(oh! >> 2, (oh! >> 2) + n));
      invStd.set(heap.subarray(os! >> 2, (os! >> 2) + rows));
    },

    layerNormBackward(dy, xhat, invStd, rows, d, gamma, dx, dgamma, dbeta) {
      if (!(dy instanceof Float32Array) || d % 4 !== 0) return tsKernels.layerNormBackward(dy, xhat, invStd, rows, d, gamma, dx, dgamma, dbeta);
      const w = instance();
      const n = rows * d;
      const [ody, oh, os, og, odx, odg, odb] = layout(w, [n, n, rows, d, dx ? n : 0, d, d]);
      const heap = new Float32Array(w.memory.buffer);
      heap.set(dy, ody! >> 2);
      heap.set(xhat, oh! >> 2);
      heap.set(invStd, os! >> 2);
      heap.set(gamma, og! >> 2);
      if (dx) heap.set(dx, odx! >> 2);
      const grads = dgamma && dbeta;
      if (grads) {
        heap.set(dgamma, odg! >> 2);
        heap.set(dbeta, odb! >> 2);
      }
      w.lnBackward(ody!, oh!, os!, rows, d, og!, dx ? odx! : 0, grads ? odg! : 0, grads ? odb! : 0);
      if (dx) dx.set(heap.subarray(odx! >> 2, (odx! >> 2) + n));
      if (grads) {
        dgamma.set(heap.subarray(odg! >> 2, (odg! >> 2) + d));
        dbeta.set(heap.subarray(odb! >> 2, (odb! >> 2) + d));
      }
    },

    columnSums(A, M, N, out) {
      if (!(A instanceof Float32Array) || !(out instanceof Float32Array)) return tsKernels.columnSums(A, M, N, out);
      const w = instance();
      const [oA, oOut] = layout(w, [M * N, N]);
      const heap = new Float32Array(w.memory.buffer);
      heap.set(A.subarray(0, M * N), oA! >> 2);
      heap.set(out.subarray(0, N), oOut! >> 2);
      w.columnSums(oA!, M, N, oOut!);
      out.set(heap.subarray(oOut! >> 2, (oOut! >> 2) + N));
    },

    adamStep(p, g, m, v, o) {
      if (!(p instanceof Float32Array) || !(g instanceof Float32Array)) return tsKernels.adamStep(p, g, m, v, o);
      const w = instance();
      const n = p.length;
      const n4 = (n + 3) & ~3;
      const [op, og, om, ov] = layout(w, [n4, n4, n4, n4]);
      const heap = new Float32Array(w.memory.buffer);
      heap.set(p, op! >> 2);
      heap.set(g, og! >> 2);
      heap.set(m, om! >> 2);
      heap.set(v, ov! >> 2);
      w.adamStep(op!, og!, om!, ov!, n4, o.b1, o.b2, o.stepSize, o.sqrtC2, o.eps, o.weightDecay, o.decoupled ? 1 : 0, o.lr * o.weightDecay);
      p.set(heap.subarray(op! >> 2, (op! >> 2) + n));
      m.set(heap.subarray(om! >> 2, (om! >> 2) + n));
      v.set(heap.subarray(ov! >> 2, (ov! >> 2) + n));
    },

    conv1d(x, W, bias, y, B, Cin, Cout, L, K, relu) {
      if (!(x instanceof Float32Array)) return tsKernels.conv1d(x, W, bias, y, B, Cin, Cout, L, K, relu);
      const w = instance();
      const Lr = (L + 7) & ~7;
      const S = Lr + 2 * (K >> 1) + 4;
      const [ox, oW, ob, oy, oS] = layout(w, [B * Cin * L, Cout * Cin * K, Cout, B * Cout * L, Cin * S + 4 * Lr]);
      const heap = new Float32Array(w.memory.buffer);
      heap.set(x, ox! >> 2);
      heap.set(W, oW! >> 2);
      if (bias) heap.set(bias, ob! >> 2);
      w.conv1dForward(ox!, oW!, bias ? ob! : 0, oy!, B, Cin, Cout, L, K, oS!, relu ? 1 : 0);
      y.set(heap.subarray(oy! >> 2, (oy! >> 2) + B * Cout * L));
    },

    conv1dBackward(x, W, dy, dx, dW, dbias, B, Cin, Cout, L, K) {
      if (!(x instanceof Float32Array)) return tsKernels.conv1dBackward(x, W, dy, dx, dW, dbias, B, Cin, Cout, L, K);
      const w = instance();
      const S = ((L + 3) & ~3) + 2 * (K >> 1) + 4;
      const nW = Cout * Cin * K;
      const [ox, oW, ody, odx, odW, odb, oS] = layout(w, [B * Cin * L, nW, B * Cout * L, B * Cin * L, nW, Cout, (Cin + Cout) * S + L + 24 + 4 * nW]);
      const heap = new Float32Array(w.memory.buffer);
      heap.set(x, ox! >> 2);
      heap.set(W, oW! >> 2);
      heap.set(dy, ody! >> 2);
      // The kernel adds into dx (skipped when not wanted) and dW (zeros when not wanted).
      if (dx) heap.set(dx, odx! >> 2);
      if (dW) heap.set(dW, odW! >> 2);
      else heap.fill(0, odW! >> 2, (odW! >> 2) + nW);
      if (dbias) heap.set(dbias, odb! >> 2);
      w.conv1dBackward(ox!, oW!, ody!, dx ? odx! : 0, odW!, dbias ? odb! : 0, B, Cin, Cout, L, K, oS!);
      if (dx) dx.set(heap.subarray(odx! >> 2, (odx! >> 2) + B * Cin * L));
      if (dW) dW.set(heap.subarray(odW! >> 2, (odW! >> 2) + nW));
      if (dbias) dbias.set(heap.subarray(odb! >> 2, (odb! >> 2) + Cout));
    },

    batchNorm(x, y, xhat, N, C, L, gamma, beta, stats, eps, training) {
      if (!(x instanceof Float32Array)) return tsKernels.batchNorm(x, y, xhat, N, C, L, gamma, beta, stats, eps, training);
      const w = instance();
      const n = N * C * L;
      const [ox, oy, oh, og, ob, os] = layout(w, [n, n, n, C, C, 3 * C]);
      const heap = new Float32Array(w.memory.buffer);
      heap.set(x, ox! >> 2);
      heap.set(gamma, og! >> 2);
      heap.set(beta, ob! >> 2);
      heap.set(stats, os! >> 2);
      w.bnForward(ox!, oy!, oh!, N, C, L, og!, ob!, os!, eps, training ? 1 : 0);
      y.set(heap.subarray(oy! >> 2, (oy! >> 2) + n));
      xhat.set(heap.subarray(oh! >> 2, (oh! >> 2) + n));
      stats.set(heap.subarray(os! >> 2, (os! >> 2) + 3 * C));
    },

    batchNormBackward(dy, xhat, dx, N, C, L, gamma, stats, training, dgamma, dbeta) {
      if (!(dy instanceof Float32Array)) return tsKernels.batchNormBackward(dy, xhat, dx, N, C, L, gamma, stats, training, dgamma, dbeta);
      const w = instance();
      const n = N * C * L;
      const [ody, oh, odx, og, os, odg, odb] = layout(w, [n, n, dx ? n : 0, C, 3 * C, C, C]);
      const heap = new Float32Array(w.memory.buffer);
      heap.set(dy, ody! >> 2);
      heap.set(xhat, oh! >> 2);
      if (dx) heap.set(dx, odx! >> 2);
      heap.set(gamma, og! >> 2);
      heap.set(stats, os! >> 2);
      heap.fill(0, odg! >> 2, (odg! >> 2) + C);
      heap.fill(0, odb! >> 2, (odb! >> 2) + C);
      w.bnBackward(ody!, oh!, dx ? odx! : 0, N, C, L, og!, os!, training ? 1 : 0, odg!, odb!);
      if (dx) dx.set(heap.subarray(odx! >> 2, (odx! >> 2) + n));
      if (dgamma) for (let c = 0; c < C; c++) dgamma[c]! += heap[(odg! >> 2) + c]!;
      if (dbeta) for (let c = 0; c < C; c++) dbeta[c]! += heap[(odb! >> 2) + c]!;
    },

    relu(x, y) {
      if (!(x instanceof Float32Array) || !(y instanceof Float32Array)) return tsKernels.relu(x, y);
      elementwise(instance(), (w, ox, oy, n) => w.reluForward(ox, oy, n), x, y);
    },

    reluBackward(y, dy, dx) {
      if (!(y instanceof Float32Array) || !(dx instanceof Float32Array)) return tsKernels.reluBackward(y, dy, dx);
      elementwiseBackward(instance(), (w, oy, ody, odx, n) => w.reluBackward(oy, ody, odx, n), y, dy as Float32Array, dx);
    },

    gelu(x, y) {
      if (!(x instanceof Float32Array) || !(y instanceof Float32Array)) return tsKernels.gelu(x, y);
      elementwise(instance(), (w, ox, oy, n) => w.geluForward(ox, oy, n), x, y);
    },

    geluBackward(x, dy, dx) {
      if (!(x instanceof Float32Array) || !(dx instanceof Float32Array)) return tsKernels.geluBackward(x, dy, dx);
      elementwiseBackward(instance(), (w, ox, ody, odx, n) => w.geluBackward(ox, ody, odx, n), x, dy as Float32Array, dx);
    },

    dropoutMask(mask, p, rng) {
      if (!(mask instanceof Float32Array)) return tsKernels.dropoutMask(mask, p, rng);
      const w = instance();
      const [om] = layout(w, [mask.length]);
      const [state, spare] = rng.getState();
      w.setRngState(state);
      w.dropoutMask(om!, mask.length, p, 1 / (1 - p));
      rng.setState([w.getRngState() >>> 0, spare]);
      mask.set(new Float32Array(w.memory.buffer, om!, mask.length));
    },

    attention(qkv, B, T, d, heads, scale, p, rng, keep = true) {
      const dh = d / heads;
      if (!(qkv instanceof Float32Array) || dh % 4 !== 0) return tsKernels.attention(qkv, B, T, d, heads, scale, p, rng);
      const w = instance();
      const Tp = (T + 3) & ~3;
      const nP = B * heads * T * Tp;
      // Without a backward pass the probabilities are not kept: one row of scratch instead of [B*H, T, Tp].
      const [oQkv, oY, oP, oM, oS] = layout(w, [B * T * 3 * d, B * T * d, keep ? nP : 0, p > 0 ? nP : 0, 2 * T * dh + dh * Tp + Tp]);
      const heap = new Float32Array(w.memory.buffer);
      heap.set(qkv, oQkv! >> 2);
      const [state, spare] = rng.getState();
      w.setRngState(state);
      w.attentionForward(oQkv!, oY!, keep ? oP! : 0, oM!, B, T, d, heads, scale, p, oS!);
      rng.setState([w.getRngState() >>> 0, spare]);
      return {
        y: heap.slice(oY! >> 2, (oY! >> 2) + B * T * d),
        P: keep ? heap.slice(oP! >> 2, (oP! >> 2) + nP) : new Float32Array(0),
        M: keep && p > 0 ? heap.slice(oM! >> 2, (oM! >> 2) + nP) : null,
        layout: "padded",
      };
    },

    attentionBackward(saved, qkv, dy, dqkv, B, T, d, heads, scale) {
      if (saved.layout !== "padded") return tsKernels.attentionBackward(saved, qkv, dy, dqkv, B, T, d, heads, scale);
      const w = instance();
      const dh = d / heads;
      const Tp = (T + 3) & ~3;
      const nP = B * heads * T * Tp;
      const [oQkv, oDy, oP, oM, oD, oS] = layout(w, [B * T * 3 * d, B * T * d, nP, saved.M ? nP : 0, B * T * 3 * d, 4 * T * dh + dh * Tp + Tp + dh]);
      const heap = new Float32Array(w.memory.buffer);
      heap.set(qkv, oQkv! >> 2);
      heap.set(dy, oDy! >> 2);
      heap.set(saved.P as Float32Array, oP! >> 2);
      if (saved.M) heap.set(saved.M as Float32Array, oM! >> 2);
      heap.set(dqkv, oD! >> 2);
      w.attentionBackward(oQkv!, oDy!, oP!, oM!, oD!, B, T, d, heads, scale, saved.M ? 1 : 0, oS!);
      dqkv.set(heap.subarray(oD! >> 2, (oD! >> 2) + B * T * 3 * d));
    },
  };
}

/** The plain SIMD build (runs on any Node >= 16). */
export const wasmKernels: Kernels = makeWasmKernels("simd");
/** The fused multiply-add build (the runtime must have relaxed SIMD: see wasmVariantAvailable). */
export const wasmRelaxedKernels: Kernels = makeWasmKernels("relaxed-simd");
