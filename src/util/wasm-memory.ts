/**
 * Shared WebAssembly memories for the AssemblyScript kernels (the networks' and the boosted
 * trees'). A shared memory never detaches its buffer when it grows, so typed arrays made on it
 * stay valid and can be handed to the kernels in place; the kernels are compiled with
 * --importMemory --sharedMemory and a declared maximum of MAX_PAGES.
 */
import fs from "node:fs";

/** The kernels' declared maximum (pages of 64 KiB): 4 GiB, the most a 32-bit memory can address. */
export const MAX_PAGES = 65536;

// Node's typings declare the Memory type but not its constructor.
const WasmMemory = (WebAssembly as unknown as { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WebAssembly.Memory }).Memory;

export function newSharedMemory(initialPages: number): WebAssembly.Memory {
  return new WasmMemory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
}

/** Grows `memory` to at least `end` bytes; beyond 4 GiB throws an error with the message tooBig(GiB needed). */
export function growTo(memory: WebAssembly.Memory, end: number, tooBig: (gib: string) => string): void {
  const have = memory.buffer.byteLength;
  if (end <= have) return;
  const pages = Math.ceil((end - have) / 65536);
  if (have / 65536 + pages > MAX_PAGES) throw new Error(tooBig((end / 2 ** 30).toFixed(1)));
  memory.grow(pages);
}

/** The imports of a kernel module on `memory`. */
export function kernelImports(memory: WebAssembly.Memory) {
  return {
    env: {
      memory,
      abort: () => {
        throw new Error("wasm kernel abort");
      },
    },
  };
}

/**
 * A kernel module (dist/wasm/*.wasm, made by `npm run build`) compiled once, on first use. The
 * getter returns null when the file does not load or this Node cannot make a shared memory: the
 * caller then runs its TypeScript kernels.
 */
export function lazyKernelModule(file: string): () => WebAssembly.Module | null {
  let module: WebAssembly.Module | null | undefined;
  return () => {
    if (module === undefined) {
      try {
        module = new WebAssembly.Module(fs.readFileSync(file));
        newSharedMemory(1);
      } catch {
        module = null;
      }
    }
    return module;
  };
}
