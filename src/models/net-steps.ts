/**
 * The single steps of a network's training and inference, shared by the training loop
 * (train-net.ts) and the worker replicas (net-replicas.ts), which both call them: kept apart so
 * that neither imports the other for them.
 */
import type { Net } from "./nets.js";
import * as ops from "../nn/ops.js";
import type { Optimizer } from "../nn/optim.js";
import { noGrad, recycling, Tensor } from "../nn/tensor.js";

/** Batch of inference: 512 keeps each op's operands in cache (4096 was 1.5-1.8x slower here). */
export const EVAL_BATCH = 512;

/**
 * Forward, MSE and backward on the first m rows of x [., f] and y: the gradients add into the
 * parameters' .grad. Op intermediates are recycled. Returns the loss.
 */
export function backpropagate(net: Net, x: Float32Array, y: Float32Array, m: number, f: number): number {
  return recycling(() => {
    const loss = ops.mseLoss(net.forward(Tensor.from(x.subarray(0, m * f), [m, f])), y.subarray(0, m));
    loss.backward();
    return loss.item();
  });
}

/**
 * One optimisation step on a batch x [m, f], y [m]: zero the gradients, forward, MSE, backward,
 * update. Op intermediates are recycled between steps. Returns the batch loss.
 */
export function trainStep(net: Net, opt: Optimizer, x: Float32Array, y: Float32Array, m: number, f: number): number {
  return recycling(() => {
    opt.zeroGrad();
    const loss = backpropagate(net, x, y, m, f);
    opt.step();
    return loss;
  });
}

/**
 * The network's (standardised) outputs for rows from..to-1 of Z [., f], written to the same
 * positions of out, in batches of EVAL_BATCH without the graph; the mode is the caller's.
 */
export function forwardRows(net: Net, Z: Float32Array, f: number, from: number, to: number, out: Float32Array): void {
  noGrad(() => {
    for (let i = from; i < to; i += EVAL_BATCH) {
      const m = Math.min(EVAL_BATCH, to - i);
      recycling(() => out.set(net.forward(Tensor.from(Z.subarray(i * f, (i + m) * f), [m, f])).data.subarray(0, m), i));
    }
  });
}
