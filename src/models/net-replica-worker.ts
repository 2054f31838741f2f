/** Worker thread body of NetReplicas: one replica of the network, driven by the calling thread. */
import { deriveSeed } from "../util/random.js";
import { buildNet } from "./nets.js";
import { floatBuffers, type ReplicaMessage, type ReplicaSetup } from "./net-replicas.js";
import { claimBlocks, serveSyncMessages } from "../util/sync-workers.js";
import { backpropagate, forwardRows } from "./net-steps.js";

const s = serveSyncMessages<ReplicaSetup, ReplicaMessage>((message) =>
  message.kind === "train" ? train(message.rows) : message.kind === "predict" ? predict(message.from, message.to) : predictClaimed(message),
);
// Own seed: the weights are overwritten from the master; the dropout masks must differ per shard.
const net = buildNet(s.name, s.nIn, { ...s.options, seed: deriveSeed(s.seed, `replica ${s.rank}`) });
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
  for (const p of params) p.clearGrad();
  losses[s.rank] = backpropagate(net, input, target, rows, f);
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
  forwardRows(net, predictInput, f, from, to, predictOutput);
}

function predictClaimed(m: Extract<ReplicaMessage, { kind: "claim" }>): void {
  loadWeights(true);
  net.eval();
  const [x, out] = [new Float32Array(m.input), new Float32Array(m.output)];
  claimBlocks(m, (from, to) => forwardRows(net, x, f, from, to, out));
}
