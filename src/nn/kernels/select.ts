/**
 * Which kernels run: the fastest implementation this runtime can load, or the one
 * SMAPFILL_KERNELS forces. Apart from the interface (kernels.ts) so that the implementations can
 * import the interface without importing each other through it.
 */
import type { Kernels } from "./kernels.js";
import { tsKernels } from "./ts-kernels.js";
import { wasmKernels, wasmRelaxedKernels, wasmVariantAvailable } from "./wasm-kernels.js";

export { tsKernels, wasmKernels, wasmRelaxedKernels };
let active: Kernels | undefined;

/**
 * The kernels ops use now: the fastest that loads (WebAssembly relaxed SIMD with fused
 * multiply-add, else plain WebAssembly SIMD, else TypeScript). SMAPFILL_KERNELS forces one:
 * typescript, wasm-simd or wasm-relaxed-simd (an error if this runtime cannot run it).
 */
export function kernels(): Kernels {
  if (!active) active = chooseKernels(process.env.SMAPFILL_KERNELS);
  return active;
}

function chooseKernels(forced: string | undefined): Kernels {
  const all = [wasmRelaxedKernels, wasmKernels, tsKernels];
  const runs = (k: Kernels) => k === tsKernels || wasmVariantAvailable(k === wasmKernels ? "simd" : "relaxed-simd");
  if (forced) {
    const k = all.find((x) => x.name === forced);
    if (!k) throw new Error(`SMAPFILL_KERNELS=${forced}: expected one of ${all.map((x) => x.name).join(", ")}`);
    if (!runs(k)) throw new Error(`SMAPFILL_KERNELS=${forced}: this runtime (Node ${process.versions.node}) cannot run these kernels`);
    return k;
  }
  return all.find(runs)!;
}

/** Switches the kernels (returns the previous ones). */
export function useKernels(k: Kernels): Kernels {
  const previous = kernels();
  active = k;
  return previous;
}
