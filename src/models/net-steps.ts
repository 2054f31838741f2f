/**
 * The single steps of a network's training and inference, shared by the training loop
 * (train-net.ts) and the worker replicas (net-replicas.ts), which both call them: kept apart so
 * that neither imports the other for them.
 */
import type { Net } from "./nets.js";
import * as ops from "../nn/ops.js";
import type { Optimizer } from "../nn/optim.js";
import { noGrad, recycling, scratch, Tensor } from "../nn/tensor.js";

/** Batch of inference: 512 keeps each op's operands in cache (4096 was 1.5-1.8x slower here). */
export const EVAL_BATCH = 512;

/**
 * A short inference batch runs padded with zero rows to a multiple of this: the recycled scratch
 * arrays are kept per length, in the kernels' memory for good, so every distinct batch length
 * adds a network's worth of them. Unpadded, the short last batches of calls with varying row
 * counts (an evaluation's streamed tiles, a reconstruction's) took a Transformer past the kernels'
 * 2 GiB in one evaluation; padded, there are at most EVAL_BATCH / PAD_ROWS lengths. A row's output
 * does not depend on the other rows of its batch (inference mode), so the padding changes nothing.
 */
export const PAD_ROWS = 64;

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
      const rows = Math.min(EVAL_BATCH, Math.ceil(m / PAD_ROWS) * PAD_ROWS);
      recycling(() => {
        const x = scratch(rows * f, "float32", false) as Float32Array;
        x.set(Z.subarray(i * f, (i + m) * f));
        x.fill(0, m * f);
        out.set(net.forward(new Tensor(x, [rows, f])).data.subarray(0, m), i);
      });
    }
  });
}
