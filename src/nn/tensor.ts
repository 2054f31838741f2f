/**
 * Tensors and reverse-mode automatic differentiation.
 *
 * A Tensor is a dense row-major typed array (float32 for training; float64 for gradient checks)
 * with a shape. An op builds its output and, when any input needs a gradient and gradients are
 * on, records a backward function that adds the input gradients from the output gradient.
 * backward() runs those functions in reverse topological order. Gradients accumulate (+=), so a
 * tensor used twice (a residual skip) gets both contributions.
 */
import type { Arr } from "./kernels/kernels.js";
import { kernels } from "./kernels/select.js";

export type DType = "float32" | "float64";

let gradEnabled = true;

/** Runs fn without recording the graph (inference, evaluation). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

export function alloc(n: number, dtype: DType): Arr {
  return dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
}

// Recycling of op intermediates: inside `recycling(fn)` (one training step, one inference
// batch) the float32 arrays ops ask for with `scratch` are lent from free lists and all given
// back when fn returns, so a step allocates (and the GC collects) almost nothing. Only arrays
// that cannot outlive the step may be scratch: op outputs, their saved values and gradients of
// graph tensors; parameters, their gradients and optimiser state use `alloc`. New scratch arrays
// live in the WebAssembly kernels' memory, where the kernels use them in place (no copies).
const freeLists = new Map<number, Float32Array[]>();
let lent: Float32Array[] | null = null;

/**
 * An array for an op intermediate (recycled inside `recycling`): zero-filled, or, with zero
 * false, with whatever a previous step left (for outputs the kernel overwrites entirely).
 */
export function scratch(n: number, dtype: DType, zero = true): Arr {
  if (dtype === "float64" || !lent) return alloc(n, dtype);
  const reused = freeLists.get(n)?.pop();
  // New arrays come from the kernels' memory when they have one (passed to them without copies).
  const a = reused ? (zero ? reused.fill(0) : reused) : (kernels().allocate?.(n) ?? new Float32Array(n));
  lent.push(a);
  return a;
}

/**
 * Fills every array waiting for reuse with `value`. For tests: with NaN, a backward that adds
 * into a gradient buffer it was handed unzeroed (Tensor.gradTarget) shows in the gradients.
 */
export function fillRecycledArrays(value: number): void {
  for (const list of freeLists.values()) for (const a of list) a.fill(value);
}

/** How many distinct array lengths wait for reuse (each is memory kept for good). For tests. */
export function recycledLengths(): number {
  return freeLists.size;
}

/** Runs fn; the scratch arrays handed out meanwhile are reused afterwards. Fn must not keep them. */
export function recycling<T>(fn: () => T): T {
  if (lent) return fn();
  lent = [];
  try {
    return fn();
  } finally {
    for (const a of lent) {
      let list = freeLists.get(a.length);
      if (!list) freeLists.set(a.length, (list = []));
      list.push(a);
    }
    lent = null;
  }
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class Tensor {
  data: Arr;
  readonly shape: number[];
  grad: Arr | null = null;
  /** A leaf's gradient buffer kept by clearGrad() for its next gradient. */
  private spare: Arr | null = null;
  requiresGrad: boolean;
  /** Set by ops: the inputs and how to push this tensor's gradient into them. */
  parents: Tensor[] = [];
  backwardFn: (() => void) | null = null;

  constructor(data: Arr, shape: number[], requiresGrad = false) {
    if (data.length !== sizeOf(shape)) throw new Error(`tensor: ${data.length} values for shape [${shape.join(", ")}]`);
    this.data = data;
    this.shape = shape;
    this.requiresGrad = requiresGrad;
  }

  static zeros(shape: number[], dtype: DType = "float32", requiresGrad = false): Tensor {
    return new Tensor(alloc(sizeOf(shape), dtype), shape, requiresGrad);
  }

  static from(values: ArrayLike<number>, shape: number[], dtype: DType = "float32", requiresGrad = false): Tensor {
    const data = requiresGrad ? alloc(values.length, dtype) : scratch(values.length, dtype);
    data.set(values);
    return new Tensor(data, shape, requiresGrad);
  }

  get dtype(): DType {
    return this.data instanceof Float64Array ? "float64" : "float32";
  }

  get size(): number {
    return this.data.length;
  }

  /** The gradient buffer, created (zeros) on first use. */
  gradBuffer(): Arr {
    const { grad, fresh } = this.gradTarget();
    return fresh ? grad.fill(0) : grad;
  }

  /**
   * Drops the gradient (PyTorch's zero_grad with set_to_none), keeping a leaf's buffer to serve
   * its next gradient, so a training step does not allocate (and zero) every parameter's anew.
   * Whoever holds the old array must not use it after the next backward.
   */
  clearGrad(): void {
    if (this.grad && !this.backwardFn) this.spare = this.grad;
    this.grad = null;
  }

  /**
   * For a backward that writes every value of this tensor's gradient: the buffer, and whether it
   * is new. A new graph tensor's buffer is not zero-filled (it holds what an earlier step left):
   * the caller must overwrite it, not add to it, sparing a pass over memory per op (PyTorch also
   * assigns the first gradient rather than adding it to zeros).
   */
  gradTarget(): { grad: Arr; fresh: boolean } {
    if (this.grad) return { grad: this.grad, fresh: false };
    // Graph tensors' gradients live for one step; leaves' (parameters') persist.
    this.grad = this.backwardFn ? scratch(this.data.length, this.dtype, false) : (this.spare ?? alloc(this.data.length, this.dtype));
    this.spare = null;
    return { grad: this.grad, fresh: true };
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new Error(`item() of a tensor with ${this.data.length} values`);
    return this.data[0]!;
  }

  /** Back-propagates from this (scalar) tensor; gradients accumulate into every leaf's .grad. */
  backward(): void {
    if (this.data.length !== 1) throw new Error("backward() needs a scalar loss");
    const order: Tensor[] = [];
    const seen = new Set<Tensor>();
    // Iterative post-order DFS (graphs of deep nets would overflow a recursive one).
    const stack: [Tensor, number][] = [[this, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [t, i] = top;
      if (i === 0) {
        if (seen.has(t)) {
          stack.pop();
          continue;
        }
        seen.add(t);
      }
      if (i < t.parents.length) {
        top[1]++;
        const p = t.parents[i]!;
        if (!seen.has(p) && p.requiresGrad) stack.push([p, 0]);
      } else {
        stack.pop();
        order.push(t);
      }
    }
    this.gradBuffer().fill(1);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      if (t.backwardFn && t.grad) t.backwardFn();
    }
    // Free the graph: intermediate tensors can be collected.
    for (const t of order) {
      if (t.backwardFn) {
        t.backwardFn = null;
        t.parents = [];
      }
    }
  }
}

/** Creates an op's output and records its backward when needed. */
export function result(data: Arr, shape: number[], inputs: Tensor[], backward: (out: Tensor) => void): Tensor {
  const needs = gradEnabled && inputs.some((t) => t.requiresGrad);
  const out = new Tensor(data, shape, needs);
  if (needs) {
    out.parents = inputs;
    out.backwardFn = () => backward(out);
  }
  return out;
}
