/**
 * The hot loops of the boosted trees' levels (histogram build and subtraction, split search) in
 * two implementations with one interface: TypeScript (the oracle, and the fallback) and
 * WebAssembly (src/models/trees/wasm/histogram.ts, about 2.5x faster on the histogram loop).
 * The WebAssembly module works on an imported shared memory, so the arrays it reads live in a
 * KernelArena: views on that memory, which worker threads instantiate the module on too.
 * Both give bit-identical results (the same float64 operations in the same order), so the trees
 * do not depend on the kernels. SMAPFILL_KERNELS=typescript forces the TypeScript ones (as for
 * the networks' engine).
 */
import { fileURLToPath } from "node:url";
import { growTo, kernelImports, lazyKernelModule, newSharedMemory } from "../../util/wasm-memory.js";

export const MISSING_BIN = 255;
/** Bins per histogram slot (g and h interleaved: 2 floats per bin). */
export const HB = 256;

export interface HistogramKernels {
  readonly name: "wasm" | "typescript";
  /** Histograms of slots s0..s1-1 (column cols[slot], binsOf[slot] bins) of the rows idx[start..end): zeroed, then summed. */
  buildHistogram(
    idx: Int32Array,
    start: number,
    end: number,
    g: Float64Array,
    rowBins: Uint8Array,
    f: number,
    cols: Int32Array,
    binsOf: Int32Array,
    s0: number,
    s1: number,
    hist: Float64Array,
  ): void;
  /** hist -= small over the used bins and the missing bin of slots s0..s1-1. */
  subtractHistogram(hist: Float64Array, small: Float64Array, binsOf: Int32Array, s0: number, s1: number): void;
  /** The best split over slots s0..s1-1 of a node with sums G, H: out[at..at+5] = gain (-Infinity: none), feature, bin, defaultLeft, GL, HL. */
  bestSplit(
    hist: Float64Array,
    binsOf: Int32Array,
    cols: Int32Array,
    s0: number,
    s1: number,
    G: number,
    H: number,
    lambda: number,
    minChildWeight: number,
    out: Float64Array,
    at: number,
  ): void;
}

export const tsHistogramKernels: HistogramKernels = {
  name: "typescript",
  // Row by row (as XGBoost does): a row's gradient and bins are loaded once for all its columns.
  // Each (column, bin) still sums its rows in ascending order, so the sums do not depend on how
  // the columns are cut into ranges.
  buildHistogram(idx, start, end, g, rowBins, f, cols, binsOf, s0, s1, hist) {
    for (let slot = s0; slot < s1; slot++) {
      const o = slot * HB * 2;
      hist.fill(0, o, o + 2 * binsOf[slot]!);
      hist[o + 2 * MISSING_BIN] = 0;
      hist[o + 2 * MISSING_BIN + 1] = 0;
    }
    for (let q = start; q < end; q++) {
      const i = idx[q]!;
      const gi = g[i]!;
      const row = i * f;
      for (let slot = s0, o = s0 * HB * 2; slot < s1; slot++, o += HB * 2) {
        const at = o + 2 * rowBins[row + cols[slot]!]!;
        hist[at]! += gi;
        hist[at + 1]! += 1;
      }
    }
  },

  subtractHistogram(h, small, binsOf, s0, s1) {
    for (let slot = s0; slot < s1; slot++) {
      const o = slot * HB * 2;
      const e = o + 2 * binsOf[slot]!;
      for (let k = o; k < e; k++) h[k]! -= small[k]!;
      h[o + 2 * MISSING_BIN]! -= small[o + 2 * MISSING_BIN]!;
      h[o + 2 * MISSING_BIN + 1]! -= small[o + 2 * MISSING_BIN + 1]!;
    }
  },

  // XGBoost's loss change GL^2/(HL+lambda) + GR^2/(HR+lambda) - G^2/(H+lambda), missing values
  // tried on both sides; the first best in slot and bin order wins (ties keep the first).
  bestSplit(hist, binsOf, cols, s0, s1, G, H, lambda, minChildWeight, out, at) {
    const parent = (G * G) / (H + lambda);
    let bestGain = -Infinity;
    let bestFeature = -1;
    let bestBin = -1;
    let bestLeft = 0;
    let bestGL = 0;
    let bestHL = 0;
    for (let slot = s0; slot < s1; slot++) {
      const o = slot * HB * 2;
      const nb = binsOf[slot]!;
      const GM = hist[o + 2 * MISSING_BIN]!;
      const HM = hist[o + 2 * MISSING_BIN + 1]!;
      let GL = 0;
      let HL = 0;
      const tryMissingLeft = HM > 0; // without missing values both directions are the same split
      for (let b = 0; b < nb - 1; b++) {
        if (hist[o + 2 * b + 1] === 0) continue; // an empty bin moves no row: same split as before
        GL += hist[o + 2 * b]!;
        HL += hist[o + 2 * b + 1]!;
        // Missing values to the right...
        let hr = H - HL;
        if (HL >= minChildWeight && hr >= minChildWeight) {
          const gr = G - GL;
          const gain = (GL * GL) / (HL + lambda) + (gr * gr) / (hr + lambda) - parent;
          if (bestFeature < 0 || gain > bestGain) {
            bestGain = gain;
            bestFeature = cols[slot]!;
            bestBin = b;
            bestLeft = 0;
            bestGL = GL;
            bestHL = HL;
          }
        }
        // ... or to the left.
        if (tryMissingLeft) {
          const gl = GL + GM;
          const hl = HL + HM;
          hr = H - hl;
          if (hl >= minChildWeight && hr >= minChildWeight) {
            const gr = G - gl;
            const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent;
            if (bestFeature < 0 || gain > bestGain) {
              bestGain = gain;
              bestFeature = cols[slot]!;
              bestBin = b;
              bestLeft = 1;
              bestGL = gl;
              bestHL = hl;
            }
          }
        }
      }
    }
    out[at] = bestFeature < 0 ? -Infinity : bestGain;
    out[at + 1] = bestFeature;
    out[at + 2] = bestBin;
    out[at + 3] = bestLeft;
    out[at + 4] = bestGL;
    out[at + 5] = bestHL;
  },
};

interface WasmExports {
  buildHistogram(
    idx: number,
    start: number,
    end: number,
    g: number,
    rowBins: number,
    f: number,
    cols: number,
    binsOf: number,
    s0: number,
    s1: number,
    hist: number,
  ): void;
  subtractHistogram(hist: number, small: number, binsOf: number, s0: number, s1: number): void;
  bestSplit(
    hist: number,
    binsOf: number,
    cols: number,
    s0: number,
    s1: number,
    G: number,
    H: number,
    lambda: number,
    minChildWeight: number,
    out: number,
  ): void;
}

const WASM_FILE = fileURLToPath(new URL("../../../wasm/gbt-kernels.wasm", import.meta.url));
const compiledModule = lazyKernelModule(WASM_FILE);

/** The WebAssembly kernels on `memory` (every array handed to them must be a view on it). */
export function wasmHistogramKernels(memory: WebAssembly.Memory): HistogramKernels {
  const module = compiledModule();
  if (!module) throw new Error(`${WASM_FILE} cannot be loaded: run npm run build`);
  const w = new WebAssembly.Instance(module, kernelImports(memory)).exports as unknown as WasmExports;
  // The kernels take byte offsets: an array from outside the arena would be read at the wrong place.
  // Arena views are on shared memory and never at offset 0 (a new array's offset), which catches that slip.
  const check = (...arrays: ArrayBufferView[]) => {
    for (const a of arrays)
      if (a.byteOffset === 0 || !(a.buffer instanceof SharedArrayBuffer)) throw new Error("wasm histogram kernels: an array is not in the kernel arena");
  };
  return {
    name: "wasm",
    buildHistogram(idx, start, end, g, rowBins, f, cols, binsOf, s0, s1, hist) {
      check(idx, g, rowBins, cols, binsOf, hist);
      w.buildHistogram(idx.byteOffset, start, end, g.byteOffset, rowBins.byteOffset, f, cols.byteOffset, binsOf.byteOffset, s0, s1, hist.byteOffset);
    },
    subtractHistogram(hist, small, binsOf, s0, s1) {
      check(hist, small, binsOf);
      w.subtractHistogram(hist.byteOffset, small.byteOffset, binsOf.byteOffset, s0, s1);
    },
    bestSplit(hist, binsOf, cols, s0, s1, G, H, lambda, minChildWeight, out, at) {
      check(hist, binsOf, cols, out);
      w.bestSplit(hist.byteOffset, binsOf.byteOffset, cols.byteOffset, s0, s1, G, H, lambda, minChildWeight, out.byteOffset + 8 * at);
    },
  };
}

/** Whether the WebAssembly kernels are used: they load, and SMAPFILL_KERNELS does not ask for typescript. */
export function useWasmHistograms(): boolean {
  return process.env.SMAPFILL_KERNELS !== "typescript" && compiledModule() !== null;
}

/**
 * Where one fit's arrays live: a bump allocator over a shared WebAssembly memory (grown as
 * needed; views made before a growth stay valid, shared memory is never detached), or, for the
 * TypeScript kernels, SharedArrayBuffers (plain buffers on one thread). Arrays start zeroed.
 */
export class KernelArena {
  readonly memory: WebAssembly.Memory | null;
  readonly kernels: HistogramKernels;
  private top = 64; // byte 0 stays unused

  constructor(
    wasm: boolean,
    private readonly shared: boolean,
  ) {
    this.memory = wasm ? newSharedMemory(1) : null;
    this.kernels = this.memory ? wasmHistogramKernels(this.memory) : tsHistogramKernels;
  }

  f64(n: number): Float64Array {
    return this.memory ? new Float64Array(...this.reserve(8 * n), n) : new Float64Array(this.buffer(8 * n));
  }

  f32(n: number): Float32Array {
    return this.memory ? new Float32Array(...this.reserve(4 * n), n) : new Float32Array(this.buffer(4 * n));
  }

  i32(n: number): Int32Array {
    return this.memory ? new Int32Array(...this.reserve(4 * n), n) : new Int32Array(this.buffer(4 * n));
  }

  u8(n: number): Uint8Array {
    return this.memory ? new Uint8Array(...this.reserve(n), n) : new Uint8Array(this.buffer(n));
  }

  private buffer(bytes: number): ArrayBuffer | SharedArrayBuffer {
    return this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }

  /** The memory's buffer (after any growth) and the offset of `bytes` new bytes in it. */
  private reserve(bytes: number): [SharedArrayBuffer, number] {
    const at = this.top;
    const end = at + ((bytes + 63) & ~63);
    const memory = this.memory!;
    growTo(
      memory,
      end,
      (gib) =>
        `boosted trees: the training data need more than the WebAssembly kernels' 4 GiB (${gib} GiB): cap the training samples (--max-train-samples) or set SMAPFILL_KERNELS=typescript`,
    );
    this.top = end;
    return [memory.buffer as unknown as SharedArrayBuffer, at];
  }
}
