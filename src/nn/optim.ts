/**
 * Optimisers with PyTorch's update rules (so that one step matches the reference to float
 * precision), gradient clipping, and the two training-loop rules of MODELS.md: halving the
 * learning rate after `patience` epochs without improvement, and early stopping with the best
 * weights restored.
 */
import type { Arr } from "./kernels/kernels.js";
import { kernels } from "./kernels/select.js";
import type { Module } from "./module.js";
import { alloc, type Tensor } from "./tensor.js";

export interface Optimizer {
  lr: number;
  step(): void;
  zeroGrad(): void;
}

abstract class Base implements Optimizer {
  constructor(
    protected readonly params: Tensor[],
    public lr: number,
  ) {}
  abstract step(): void;
  zeroGrad(): void {
    for (const p of this.params) p.clearGrad();
  }
}

/** SGD with momentum (dampening 0): buf = mu buf + g; p -= lr buf. */
export class SGD extends Base {
  private readonly buffers: (Arr | null)[];
  constructor(
    params: Tensor[],
    lr: number,
    private readonly momentum = 0,
    private readonly weightDecay = 0,
  ) {
    super(params, lr);
    this.buffers = params.map(() => null);
  }
  step(): void {
    this.params.forEach((p, k) => {
      if (!p.grad) return;
      const g = p.grad;
      const wd = this.weightDecay;
      let buf = this.buffers[k];
      if (this.momentum && !buf) {
        buf = alloc(p.size, p.dtype);
        for (let i = 0; i < p.size; i++) buf[i] = g[i]! + wd * p.data[i]!;
        this.buffers[k] = buf;
      } else if (buf) {
        for (let i = 0; i < p.size; i++) buf[i] = this.momentum * buf[i]! + g[i]! + wd * p.data[i]!;
      }
      for (let i = 0; i < p.size; i++) p.data[i]! -= this.lr * (buf ? buf[i]! : g[i]! + wd * p.data[i]!);
    });
  }
}

/**
 * Adam (decoupled = false) and AdamW (decoupled = true, PyTorch's AdamW: p *= 1 - lr wd first).
 * p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps), as torch.optim does it.
 */
export class Adam extends Base {
  private t = 0;
  private readonly m: Arr[];
  private readonly v: Arr[];
  constructor(
    params: Tensor[],
    lr = 1e-3,
    private readonly betas: [number, number] = [0.9, 0.999],
    private readonly eps = 1e-8,
    private readonly weightDecay = 0,
    private readonly decoupled = false,
  ) {
    super(params, lr);
    this.m = params.map((p) => alloc(p.size, p.dtype));
    this.v = params.map((p) => alloc(p.size, p.dtype));
  }
  step(): void {
    this.t++;
    const [b1, b2] = this.betas;
    const c1 = 1 - b1 ** this.t;
    const sqrtC2 = Math.sqrt(1 - b2 ** this.t);
    const stepSize = this.lr / c1;
    const o = { b1, b2, stepSize, sqrtC2, eps: this.eps, weightDecay: this.weightDecay, decoupled: this.decoupled, lr: this.lr };
    const K = kernels();
    this.params.forEach((p, k) => {
      if (p.grad) K.adamStep(p.data, p.grad, this.m[k]!, this.v[k]!, o);
    });
  }
}

export class AdamW extends Adam {
  constructor(params: Tensor[], lr = 1e-3, betas: [number, number] = [0.9, 0.999], eps = 1e-8, weightDecay = 1e-2) {
    super(params, lr, betas, eps, weightDecay, true);
  }
}

/** Scales gradients so that their global L2 norm is at most maxNorm; returns the norm before. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  let ss = 0;
  for (const p of params) if (p.grad) for (const g of p.grad) ss += g * g;
  const norm = Math.sqrt(ss);
  if (norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const p of params) if (p.grad) for (let i = 0; i < p.grad.length; i++) p.grad[i]! *= s;
  }
  return norm;
}

/**
 * The epoch-end rules of MODELS.md: a strictly lower validation score is an improvement and
 * snapshots the weights; `lrPatience` epochs in a row without one halve the learning rate
 * (that counter restarts after each halving); `stopPatience` epochs without one stop training.
 */
export class PlateauSchedule {
  best = Infinity;
  bestEpoch = 0;
  private sinceBest = 0;
  private sinceHalving = 0;
  private bestState: Map<string, Arr | BigInt64Array> | null = null;

  constructor(
    private readonly model: Module,
    private readonly optimizer: Optimizer,
    private readonly lrPatience = 5,
    private readonly stopPatience = 12,
  ) {}

  /** Records an epoch's validation score; returns true when training should stop. */
  update(epoch: number, score: number): boolean {
    if (score < this.best) {
      this.best = score;
      this.bestEpoch = epoch;
      this.bestState = this.model.snapshot();
      this.sinceBest = 0;
      this.sinceHalving = 0;
      return false;
    }
    this.sinceBest++;
    this.sinceHalving++;
    if (this.sinceHalving >= this.lrPatience) {
      this.optimizer.lr *= 0.5;
      this.sinceHalving = 0;
    }
    return this.sinceBest >= this.stopPatience;
  }

  /** Puts the best weights back. */
  restoreBest(): void {
    if (this.bestState) this.model.loadState(this.bestState);
  }
}
