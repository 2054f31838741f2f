/** Worker thread body of NetReplicas: one replica of the network, driven by the calling thread. */
import * as ops from "../nn/ops.js";
import { noGrad, recycling, Tensor } from "../nn/tensor.js";
import { deriveSeed } from "../util/random.js";
import { buildNet } from "./nets.js";
import { floatBuffers, type ReplicaMessage, type ReplicaSetup } from "./net-replicas.js";
import { serveSyncMessages } from "../util/sync-workers.js";

const s = serveSyncMessages<ReplicaSetup, ReplicaMessage>((message) => (message.kind === "train" ? train(message.rows) : predict(message.from, message.to)));
// Own seed: the weights are overwritten from the master; the dropout masks must differ per shard.
const net = buildNet(s.name, s.nIn, { seed: deriveSeed(s.seed, `replica ${s.rank}`) });
const params = net.parameters();
const sharedParams = new Float32Array(s.params);
const sharedBuffers = new Float32Array(s.buffers);
const grads = new Float32Array(s.grads);
const input = new Float32Array(s.input);
const target = new Float32Array(s.target);
const predictInput = new Float32Array(s.predictInput);
const predictOutput = new Float32Array(s.predictOutput);
const losses = new Float64Array(s.loss);
const f = s.nIn;

function loadWeights(withBuffers: boolean): void {
  let at = 0;
  for (const p of params) {
    p.data.set(sharedParams.subarray(at, at + p.size));
    at += p.size;
  }
  if (!withBuffers) return;
  at = 0;
  for (const b of floatBuffers(net)) {
    b.set(sharedBuffers.subarray(at, at + b.length));
    at += b.length;
  }
}

function train(rows: number): void {
  loadWeights(false);
  net.train();
  for (const p of params) p.grad = null;
  losses[s.rank] = recycling(() => {
    const loss = ops.mseLoss(net.forward(Tensor.from(input.subarray(0, rows * f), [rows, f])), target.subarray(0, rows));
    loss.backward();
    return loss.item();
  });
  let at = 0;
  for (const p of params) {
    if (p.grad) grads.set(p.grad, at);
    else grads.fill(0, at, at + p.size);
    at += p.size;
  }
}

function predict(from: number, to: number): void {
  loadWeights(true);
  net.eval();
  noGrad(() => {
    for (let i = from; i < to; i += 512) {
      const m = Math.min(512, to - i);
      recycling(() => {
        const p = net.forward(Tensor.from(predictInput.subarray(i * f, (i + m) * f), [m, f]));
        predictOutput.set(p.data.subarray(0, m), i);
      });
    }
  });
}
