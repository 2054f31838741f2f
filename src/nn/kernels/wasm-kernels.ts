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
import type { Kernels } from "./kernels.js";
import { tsKernels } from "./ts-kernels.js";
import { growTo, kernelImports, newSharedMemory } from "../../util/wasm-memory.js";

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
  conv1dWinograd(
    x: number,
    W: number,
    bias: number,
    y: number,
    B: number,
    Cin: number,
    Cout: number,
    L: number,
    scratch: number,
    relu: number,
    accumulate: number,
  ): void;
  conv1dWinogradWeights(x: number, dy: number, dW: number, dbias: number, B: number, Cin: number, Cout: number, L: number, scratch: number): void;
  winogradWeightsScratch(Cin: number, Cout: number, L: number, B: number): number;
  flipKernel3(W: number, Wf: number, Cin: number, Cout: number): void;
  winogradScratch(Cin: number, Cout: number, L: number): number;
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
    scratch: number,
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
    scratch: number,
    overwrite: number,
  ): void;
  reluForward(x: number, y: number, n: number): void;
  addForward(a: number, b: number, y: number, n: number): void;
  mulForward(a: number, b: number, y: number, n: number, accumulate: number): void;
  reluBackward(y: number, dy: number, dx: number, n: number, overwrite: number): void;
  geluForward(x: number, y: number, n: number): void;
  geluBackward(x: number, dy: number, dx: number, n: number, overwrite: number): void;
  dropoutMask(mask: number, n: number, p: number, keep: number): void;
  setRngState(s: number): void;
  getRngState(): number;
  attentionForward(qkv: number, y: number, P: number, M: number, B: number, T: number, d: number, H: number, scale: number, p: number, scratch: number): void;
  lstmForward(gates: number, WhhT: number, hs: number, cs: number, mask: number, T: number, B: number, H: number): void;
  lstmBackward(
    gates: number,
    Whh: number,
    cs: number,
    mask: number,
    dOut: number,
    dh: number,
    dc: number,
    dGates: number,
    T: number,
    B: number,
    H: number,
    scratch: number,
  ): void;
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

/**
 * One thread's instance of a build and its memory. The memory is a shared WebAssembly memory
 * (one per thread, not shared between threads): a shared memory never detaches its buffer when it
 * grows, so arrays allocated in it (`allocate`) stay valid and are handed to the kernels in place,
 * without the copy in and out every other operand needs. Long-lived arrays sit below `top`;
 * each kernel call stages its other operands above it.
 */
class KernelModule {
  top = BASE;
  private readonly owned = new WeakSet<Float32Array>();

  constructor(
    readonly w: GemmExports,
    readonly memory: WebAssembly.Memory,
  ) {}

  /** Grows the memory to at least `end` bytes. */
  ensure(end: number): void {
    growTo(this.memory, end, (gib) => `wasm kernels: more than 4 GiB of kernel memory needed (${gib} GiB); use smaller batches`);
  }

  /** A zeroed float32 array in this memory, padded to whole vectors (the kernels may touch the padding). */
  allocate(n: number): Float32Array {
    const at = this.top;
    this.top = at + align(4 * Math.max(n, 1));
    this.ensure(this.top);
    const a = new Float32Array(this.memory.buffer, at, n);
    a.fill(0); // earlier calls staged their operands here
    this.owned.add(a);
    return a;
  }

  /** Whether `a` is an array `allocate` made (a view into one, or any other array, is not). */
  owns(a: ArrayLike<number>): a is Float32Array {
    return a instanceof Float32Array && this.owned.has(a);
  }

  heap(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }
}

const instances = new Map<WasmVariant, KernelModule>();

function instantiate(variant: WasmVariant): KernelModule {
  let module = instances.get(variant);
  if (!module) {
    const file = WASM_FILES[variant];
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run npm run build`);
    const bytes = fs.readFileSync(file);
    if (variant === "relaxed-simd" && !WebAssembly.validate(bytes)) {
      v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
      if (!WebAssembly.validate(bytes)) throw new Error("this runtime has no relaxed SIMD");
    }
    const memory = newSharedMemory(64);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), kernelImports(memory));
    module = new KernelModule(inst.exports as unknown as GemmExports, memory);
    instances.set(variant, module);
  }
  return module;
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

/**
 * Kernel-3 convolutions with at least this many input channels go through Winograd's F(4, 3)
 * (half the multiply-adds; TsSMNet's 16 -> 32 layer); the first layer's single channel would
 * leave its six GEMMs too thin to gain.
 */
const WINOGRAD_MIN_CHANNELS = 4;

/**
 * The operands of one kernel call: arrays in the module's memory are passed in place, others are
 * copied into space above the allocated arrays (and outputs copied back by finish()).
 */
class Call {
  private at: number;
  private readonly start: number;
  private readonly back: [ArrayLike<number> & { set(a: ArrayLike<number>): void }, number, number][] = [];
  private view: Float32Array;

  /** No array may be allocated in the module between a Call's construction and finish() (it would take the staging space). */
  constructor(private readonly m: KernelModule) {
    this.at = m.top;
    this.start = m.top;
    this.view = m.heap();
  }

  /** Byte offset of `floats` floats of scratch (grows the memory; the view is refreshed). */
  temp(floats: number): number {
    const at = this.at;
    this.at = align(at + 4 * Math.max(floats, 1));
    if (this.at > this.view.byteLength) {
      this.m.ensure(this.at);
      this.view = this.m.heap();
    }
    return at;
  }

  /** Zeroed scratch. */
  zeros(floats: number): number {
    const at = this.temp(floats);
    this.view.fill(0, at >> 2, (at >> 2) + floats);
    return at;
  }

  /** An operand the kernel only reads (its first n values). */
  in(a: ArrayLike<number>, n = a.length): number {
    if (this.m.owns(a)) return a.byteOffset;
    const at = this.temp(n);
    this.view.set(n === a.length ? a : (a as Float32Array).subarray(0, n), at >> 2);
    return at;
  }

  /** An operand the kernel writes (and reads first, when `read`): in place, or staged and copied back by finish(). */
  out(a: ArrayLike<number> & { set(a: ArrayLike<number>): void }, n = a.length, read = false): number {
    if (this.m.owns(a)) return a.byteOffset;
    const at = read ? this.in(a, n) : this.temp(n);
    this.back.push([a, at, n]);
    return at;
  }

  finish(): void {
    if (this.m.top > this.start) throw new Error("wasm kernels: an array was allocated during a kernel call, over its staged operands");
    const heap = this.m.heap();
    for (const [a, at, n] of this.back) a.set(heap.subarray(at >> 2, (at >> 2) + n));
  }
}

/** The kernels on one build of the module (instantiated on first use). */
export function makeWasmKernels(variant: WasmVariant): Kernels {
  const instance = () => instantiate(variant);
  /** y = f(x) elementwise over whole vectors (padding lanes ignored; arrays from allocate are padded). */
  const elementwise = (kernel: (w: GemmExports, x: number, y: number, n: number) => void, x: Float32Array, y: Float32Array) => {
    const m = instance();
    const c = new Call(m);
    const n4 = (x.length + 3) & ~3;
    kernel(m.w, c.in(x), c.out(y), n4);
    c.finish();
  };
  /** dx += dy * f'(a) elementwise (a = the op's input or output, as the kernel needs); overwrite: dx = dy * f'(a). */
  const elementwiseBackward = (
    kernel: (w: GemmExports, a: number, dy: number, dx: number, n: number, overwrite: number) => void,
    a: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    overwrite = false,
  ) => {
    const m = instance();
    const c = new Call(m);
    const n4 = (a.length + 3) & ~3;
    kernel(m.w, c.in(a), c.in(dy), c.out(dx, dx.length, !overwrite), n4, overwrite ? 1 : 0);
    c.finish();
  };
  return {
    name: `wasm-${variant}`,

    allocate(n) {
      return instance().allocate(n);
    },

    gemm(transA, transB, M, N, K, A, B, C, accumulate, bias, relu) {
      if (!(A instanceof Float32Array) || !(B instanceof Float32Array) || !(C instanceof Float32Array)) {
        tsKernels.gemm(transA, transB, M, N, K, A, B, C, accumulate, bias, relu);
        return;
      }
      const m = instance();
      const c = new Call(m);
      const oA = c.in(A, M * K); // a transposed A is read in place (strided)
      let oB = c.in(B, K * N);
      if (transB) {
        const t = c.temp(K * N);
        m.w.transpose(oB, t, N, K);
        oB = t;
      }
      const oBias = bias ? c.in(bias, N) : 0;
      const oC = c.out(C, M * N, accumulate);
      m.w.gemm(M, N, K, oA, oB, oC, accumulate ? 1 : 0, oBias, relu ? 1 : 0, transA ? 1 : 0);
      c.finish();
    },

    add(a, b, y) {
      if (!(a instanceof Float32Array) || !(b instanceof Float32Array) || !(y instanceof Float32Array) || a.length !== y.length || b.length !== y.length)
        return tsKernels.add(a, b, y);
      const m = instance();
      const c = new Call(m);
      m.w.addForward(c.in(a), c.in(b), c.out(y), (y.length + 3) & ~3);
      c.finish();
    },

    addInto(target, source) {
      if (!(target instanceof Float32Array) || !(source instanceof Float32Array) || target.length !== source.length) return tsKernels.addInto(target, source);
      const m = instance();
      const c = new Call(m);
      const t = c.out(target, source.length, true);
      m.w.addForward(t, c.in(source), t, (source.length + 3) & ~3);
      c.finish();
    },

    mul(a, b, y, accumulate) {
      if (!(a instanceof Float32Array) || !(b instanceof Float32Array) || !(y instanceof Float32Array) || a.length !== y.length || b.length !== y.length)
        return tsKernels.mul(a, b, y, accumulate);
      const m = instance();
      const c = new Call(m);
      m.w.mulForward(c.in(a), c.in(b), c.out(y, y.length, accumulate), (y.length + 3) & ~3, accumulate ? 1 : 0);
      c.finish();
    },

    layerNorm(x, y, xhat, invStd, rows, d, gamma, beta, eps) {
      if (!(x instanceof Float32Array) || d % 4 !== 0) return tsKernels.layerNorm(x, y, xhat, invStd, rows, d, gamma, beta, eps);
      const m = instance();
      const c = new Call(m);
      m.w.lnForward(c.in(x), c.out(y), c.out(xhat), c.out(invStd), rows, d, c.in(gamma), c.in(beta), eps);
      c.finish();
    },

    layerNormBackward(dy, xhat, invStd, rows, d, gamma, dx, dgamma, dbeta) {
      if (!(dy instanceof Float32Array) || d % 4 !== 0) return tsKernels.layerNormBackward(dy, xhat, invStd, rows, d, gamma, dx, dgamma, dbeta);
      const m = instance();
      const c = new Call(m);
      const grads = dgamma && dbeta;
      m.w.lnBackward(
        c.in(dy),
        c.in(xhat),
        c.in(invStd),
        rows,
        d,
        c.in(gamma),
        dx ? c.out(dx, dx.length, true) : 0,
        grads ? c.out(dgamma, d, true) : 0,
        grads ? c.out(dbeta, d, true) : 0,
      );
      c.finish();
    },

    columnSums(A, M, N, out) {
      if (!(A instanceof Float32Array) || !(out instanceof Float32Array)) return tsKernels.columnSums(A, M, N, out);
      const m = instance();
      const c = new Call(m);
      m.w.columnSums(c.in(A, M * N), M, N, c.out(out, N, true));
      c.finish();
    },

    adamStep(p, g, mom, v, o) {
      if (!(p instanceof Float32Array) || !(g instanceof Float32Array)) return tsKernels.adamStep(p, g, mom, v, o);
      const m = instance();
      const c = new Call(m);
      const n4 = (p.length + 3) & ~3;
      m.w.adamStep(
        c.out(p, p.length, true),
        c.in(g),
        c.out(mom, mom.length, true),
        c.out(v, v.length, true),
        n4,
        o.b1,
        o.b2,
        o.stepSize,
        o.sqrtC2,
        o.eps,
        o.weightDecay,
        o.decoupled ? 1 : 0,
        o.lr * o.weightDecay,
      );
      c.finish();
    },

    conv1d(x, W, bias, y, B, Cin, Cout, L, K, relu) {
      if (!(x instanceof Float32Array)) return tsKernels.conv1d(x, W, bias, y, B, Cin, Cout, L, K, relu);
      const m = instance();
      const c = new Call(m);
      if (K === 3 && Cin >= WINOGRAD_MIN_CHANNELS) {
        const [ox, oW, ob] = [c.in(x), c.in(W), bias ? c.in(bias) : 0];
        m.w.conv1dWinograd(ox, oW, ob, c.out(y, B * Cout * L), B, Cin, Cout, L, c.temp(m.w.winogradScratch(Cin, Cout, L)), relu ? 1 : 0, 0);
        c.finish();
        return;
      }
      const Lr = (L + 7) & ~7;
      const S = Lr + 2 * (K >> 1) + 4;
      m.w.conv1dForward(c.in(x), c.in(W), bias ? c.in(bias) : 0, c.out(y, B * Cout * L), B, Cin, Cout, L, K, c.temp(Cin * S + 4 * Lr), relu ? 1 : 0);
      c.finish();
    },

    conv1dBackward(x, W, dy, dx, dW, dbias, B, Cin, Cout, L, K, overwriteDx) {
      if (!(x instanceof Float32Array)) return tsKernels.conv1dBackward(x, W, dy, dx, dW, dbias, B, Cin, Cout, L, K, overwriteDx);
      const m = instance();
      const c = new Call(m);
      const [ox, oW, ody] = [c.in(x), c.in(W), c.in(dy)];
      if (K === 3 && Cin >= WINOGRAD_MIN_CHANNELS) {
        if (dx && Cout >= WINOGRAD_MIN_CHANNELS) {
          // dx += conv(dy, W with channels swapped and taps reversed)
          const Wf = c.temp(Cin * Cout * 3);
          m.w.flipKernel3(oW, Wf, Cin, Cout);
          m.w.conv1dWinograd(
            ody,
            Wf,
            0,
            c.out(dx, B * Cin * L, !overwriteDx),
            B,
            Cout,
            Cin,
            L,
            c.temp(m.w.winogradScratch(Cout, Cin, L)),
            0,
            overwriteDx ? 0 : 1,
          );
          dx = null;
        }
        if (dW) {
          const odb = dbias ? c.out(dbias, Cout, true) : 0;
          m.w.conv1dWinogradWeights(ox, ody, c.out(dW, Cout * Cin * 3, true), odb, B, Cin, Cout, L, c.temp(m.w.winogradWeightsScratch(Cin, Cout, L, B)));
          dW = null;
          dbias = null;
        }
        if (!dx && !dW && !dbias) return c.finish();
      }
      const S = ((L + 3) & ~3) + 2 * (K >> 1) + 4;
      const nW = Cout * Cin * K;
      // The kernel adds into dx (skipped when not wanted) and dW (into zeros when not wanted).
      const odW = dW ? c.out(dW, nW, true) : c.zeros(nW);
      if (dx && overwriteDx) dx.fill(0);
      const odx = dx ? c.out(dx, B * Cin * L, true) : 0;
      const odb = dbias ? c.out(dbias, Cout, true) : 0;
      m.w.conv1dBackward(ox, oW, ody, odx, odW, odb, B, Cin, Cout, L, K, c.temp((Cin + Cout) * S + L + 24 + 4 * nW));
      c.finish();
    },

    batchNorm(x, y, xhat, N, C, L, gamma, beta, stats, eps, training) {
      if (!(x instanceof Float32Array)) return tsKernels.batchNorm(x, y, xhat, N, C, L, gamma, beta, stats, eps, training);
      const m = instance();
      const c = new Call(m);
      const n = N * C * L;
      // stats (float64) goes through float32 in the kernel, read and written.
      m.w.bnForward(c.in(x, n), c.out(y, n), c.out(xhat, n), N, C, L, c.in(gamma), c.in(beta), c.out(stats, 3 * C, true), eps, training ? 1 : 0, c.temp(4 * C));
      c.finish();
    },

    batchNormBackward(dy, xhat, dx, N, C, L, gamma, stats, training, dgamma, dbeta, overwriteDx) {
      if (!(dy instanceof Float32Array)) return tsKernels.batchNormBackward(dy, xhat, dx, N, C, L, gamma, stats, training, dgamma, dbeta, overwriteDx);
      const m = instance();
      const c = new Call(m);
      const n = N * C * L;
      const [odg, odb] = [c.zeros(C), c.zeros(C)];
      m.w.bnBackward(
        c.in(dy, n),
        c.in(xhat, n),
        dx ? c.out(dx, n, !overwriteDx) : 0,
        N,
        C,
        L,
        c.in(gamma),
        c.in(stats, 3 * C),
        training ? 1 : 0,
        odg,
        odb,
        c.temp(4 * C),
        overwriteDx ? 1 : 0,
      );
      c.finish();
      const heap = m.heap();
      if (dgamma) for (let k = 0; k < C; k++) dgamma[k]! += heap[(odg >> 2) + k]!;
      if (dbeta) for (let k = 0; k < C; k++) dbeta[k]! += heap[(odb >> 2) + k]!;
    },

    relu(x, y) {
      if (!(x instanceof Float32Array) || !(y instanceof Float32Array)) return tsKernels.relu(x, y);
      elementwise((w, ox, oy, n) => w.reluForward(ox, oy, n), x, y);
    },

    reluBackward(y, dy, dx, overwrite) {
      if (!(y instanceof Float32Array) || !(dx instanceof Float32Array)) return tsKernels.reluBackward(y, dy, dx, overwrite);
      elementwiseBackward((w, oy, ody, odx, n, o) => w.reluBackward(oy, ody, odx, n, o), y, dy as Float32Array, dx, overwrite);
    },

    gelu(x, y) {
      if (!(x instanceof Float32Array) || !(y instanceof Float32Array)) return tsKernels.gelu(x, y);
      elementwise((w, ox, oy, n) => w.geluForward(ox, oy, n), x, y);
    },

    geluBackward(x, dy, dx, overwrite) {
      if (!(x instanceof Float32Array) || !(dx instanceof Float32Array)) return tsKernels.geluBackward(x, dy, dx, overwrite);
      elementwiseBackward((w, ox, ody, odx, n, o) => w.geluBackward(ox, ody, odx, n, o), x, dy as Float32Array, dx, overwrite);
    },

    dropoutMask(mask, p, rng) {
      if (!(mask instanceof Float32Array)) return tsKernels.dropoutMask(mask, p, rng);
      const m = instance();
      const c = new Call(m);
      const [state, spare] = rng.getState();
      m.w.setRngState(state);
      m.w.dropoutMask(c.out(mask), mask.length, p, 1 / (1 - p));
      rng.setState([m.w.getRngState() >>> 0, spare]);
      c.finish();
    },

    attention(qkv, B, T, d, heads, scale, p, rng, keep = true, allocate) {
      const dh = d / heads;
      if (!(qkv instanceof Float32Array) || dh % 4 !== 0) return tsKernels.attention(qkv, B, T, d, heads, scale, p, rng);
      const m = instance();
      const Tp = (T + 3) & ~3;
      const nP = B * heads * T * Tp;
      // Without a backward pass the probabilities are not kept: one row of scratch instead of [B*H, T, Tp].
      const make = (n: number) => (allocate ? (allocate(n) as Float32Array) : new Float32Array(n));
      const y = make(B * T * d);
      const P = keep ? make(nP) : new Float32Array(0);
      // The kernel writes dropout masks whenever p > 0; they are kept only for a backward pass.
      const M = keep && p > 0 ? make(nP) : null;
      // Only now: allocating may take memory from above the top, where a call stages its operands.
      const c = new Call(m);
      const oQkv = c.in(qkv);
      const [oY, oP] = [c.out(y), keep ? c.out(P) : 0];
      const oM = M ? c.out(M) : c.temp(p > 0 ? nP : 0);
      const oS = c.temp(2 * T * dh + dh * ((T + 7) & ~7) + 8 * Tp);
      const [state, spare] = rng.getState();
      m.w.setRngState(state);
      m.w.attentionForward(oQkv, oY, oP, oM, B, T, d, heads, scale, p, oS);
      rng.setState([m.w.getRngState() >>> 0, spare]);
      c.finish();
      return { y, P, M, layout: "padded" };
    },

    attentionBackward(saved, qkv, dy, dqkv, B, T, d, heads, scale) {
      if (saved.layout !== "padded") return tsKernels.attentionBackward(saved, qkv, dy, dqkv, B, T, d, heads, scale);
      const m = instance();
      const c = new Call(m);
      const dh = d / heads;
      const Tp = (T + 3) & ~3;
      const oM = saved.M ? c.in(saved.M) : 0;
      m.w.attentionBackward(
        c.in(qkv),
        c.in(dy),
        c.in(saved.P),
        oM,
        c.out(dqkv, dqkv.length, true),
        B,
        T,
        d,
        heads,
        scale,
        saved.M ? 1 : 0,
        c.temp(4 * T * dh + dh * Tp + Tp + dh),
      );
      c.finish();
    },

    lstmForward(gates, Whh, hs, cs, mask, T, B, H) {
      if (!(gates instanceof Float32Array) || !(hs instanceof Float32Array)) return tsKernels.lstmForward(gates, Whh, hs, cs, mask, T, B, H);
      const m = instance();
      const c = new Call(m);
      const [nG, nS] = [T * B * 4 * H, (T + 1) * B * H];
      const oG = c.out(gates, nG, true);
      const [oH, oC] = [c.out(hs, nS, true), c.out(cs, nS, true)];
      // The step's GEMM reads W_hh transposed, [H, 4H]: once per sequence.
      const WhhT = c.temp(4 * H * H);
      m.w.transpose(c.in(Whh, 4 * H * H), WhhT, 4 * H, H);
      m.w.lstmForward(oG, WhhT, oH, oC, mask ? c.in(mask, T * B) : 0, T, B, H);
      c.finish();
    },

    lstmBackward(gates, Whh, cs, mask, dOut, dh, dc, dGates, T, B, H) {
      if (!(gates instanceof Float32Array) || !(dGates instanceof Float32Array))
        return tsKernels.lstmBackward(gates, Whh, cs, mask, dOut, dh, dc, dGates, T, B, H);
      const m = instance();
      const c = new Call(m);
      const nS = (T + 1) * B * H;
      m.w.lstmBackward(
        c.in(gates, T * B * 4 * H),
        c.in(Whh, 4 * H * H),
        c.in(cs, nS),
        mask ? c.in(mask, T * B) : 0,
        dOut ? c.in(dOut, T * B * H) : 0,
        c.out(dh, B * H, true),
        c.out(dc, B * H, true),
        c.out(dGates, T * B * 4 * H),
        T,
        B,
        H,
        c.temp(B * H),
      );
      c.finish();
    },
  };
}

/** The plain SIMD build (runs on any Node >= 16). */
export const wasmKernels: Kernels = makeWasmKernels("simd");
/** The fused multiply-add build (the runtime must have relaxed SIMD: see wasmVariantAvailable). */
export const wasmRelaxedKernels: Kernels = makeWasmKernels("relaxed-simd");
