/**
 * Modules own their parameters and buffers under PyTorch's state_dict names ("e1.0.weight",
 * "self_attn.in_proj_weight", "conv.1.running_mean"), so saved weights load into the PyTorch
 * reference unchanged. Composition is plain code; optimisers see only parameters().
 */
import type { Arr } from "./kernels/kernels.js";
import type { Tensor } from "./tensor.js";

export type Buffer = Arr | BigInt64Array;

export abstract class Module {
  training = true;
  private readonly ownParams = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Buffer>();
  private readonly children = new Map<string, Module>();

  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.ownParams.set(name, t);
    return t;
  }

  protected buffer<B extends Buffer>(name: string, b: B): B {
    this.ownBuffers.set(name, b);
    return b;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.ownParams].map(([n, t]) => [prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  namedBuffers(prefix = ""): [string, Buffer][] {
    const out: [string, Buffer][] = [...this.ownBuffers].map(([n, b]) => [prefix + n, b]);
    for (const [n, m] of this.children) out.push(...m.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Every parameter and buffer by name (the state_dict). */
  stateDict(): Map<string, Arr | BigInt64Array> {
    const state = new Map<string, Arr | BigInt64Array>();
    for (const [n, t] of this.namedParameters()) state.set(n, t.data);
    for (const [n, b] of this.namedBuffers()) state.set(n, b);
    return state;
  }

  /** A deep copy of every parameter and buffer value (for best-weight snapshots). */
  snapshot(): Map<string, Arr | BigInt64Array> {
    const copy = new Map<string, Arr | BigInt64Array>();
    for (const [n, v] of this.stateDict()) copy.set(n, v.slice() as Arr | BigInt64Array);
    return copy;
  }

  /** Copies values in (shapes must match; every name must be known). */
  loadState(state: Map<string, ArrayLike<number | bigint>>, strict = true): void {
    const own = this.stateDict();
    for (const [n, v] of state) {
      const target = own.get(n);
      if (!target) {
        if (strict) throw new Error(`unexpected weight '${n}'`);
        continue;
      }
      if (target.length !== v.length) throw new Error(`weight '${n}' has ${v.length} values, the model ${target.length}`);
      (target as { set(a: ArrayLike<number | bigint>): void }).set(v);
    }
    if (strict) for (const n of own.keys()) if (!state.has(n)) throw new Error(`missing weight '${n}'`);
  }

  train(on = true): this {
    this.training = on;
    for (const m of this.children.values()) m.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  parameterCount(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.clearGrad();
  }
}

/** Modules named "0", "1", ... (PyTorch's nn.ModuleList / nn.Sequential naming). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.child(String(i), m));
  }
}
