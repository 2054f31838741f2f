#!/usr/bin/env python3
"""PyTorch (CPU) on one network at one thread setting, in its fastest honest setting, for
bench/nn-engine.ts; optionally exports the same trained network to ONNX for ONNX Runtime.

usage: torch_peers.py --reference DIR --model NAME --n-in F [--steps T --hidden H]
                      [--batch 512] [--repeats 3] [--min-repeat-s 1.5] [--warmup 5]
                      [--pretrain-steps 100] [--fresh-infer] [--onnx OUT.onnx] --out OUT.json
Run with OMP_NUM_THREADS / MKL_NUM_THREADS / OPENBLAS_NUM_THREADS set by the caller (one process
per thread setting, as reference/bench_torch.py does); torch.set_num_threads(OMP_NUM_THREADS).

The protocol is reference/bench_torch.py's (batch 512 from an 8192-row pool of standard normal
inputs; a training step is zero_grad, forward, MSE, backward, Adam/AdamW step; inference an
eval-mode no_grad forward; the median of repeats of K steps, each repeat >= min-repeat-s), with
two changes that remove a handicap PyTorch does not have in real use:
  - torch.set_flush_denormal(True): x86 computes with subnormal floats 10-100x slower; freshly
    initialised weights and their first activations produce many, which real training leaves
    behind (measured on TsSMNet inference in issue 26: 19k samples/s fresh, 39k with denormals
    flushed, about 145k after a few Adam steps);
  - trained weights: --pretrain-steps Adam steps on the pool before anything is timed.
--fresh-infer also times inference on the freshly built network without flushing (for the
record; the comparison uses the trained, flushed one).

Networks: tssmnet, tssmnet_nots, autoresnet, transformer from reference/models_torch.py, and
lstm: nn.LSTM(n_in / steps, hidden, batch_first=True) over a row reshaped to [steps, n_in /
steps], nn.Linear(hidden, 1) on the last step's state (smapfill's LstmNet), Adam(1e-3).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch


class LstmNet(torch.nn.Module):
    def __init__(self, n_in, steps, hidden):
        super().__init__()
        self.steps = steps
        self.lstm = torch.nn.LSTM(n_in // steps, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, x):
        _, (h, _) = self.lstm(x.reshape(x.shape[0], self.steps, -1))
        return self.head(h[-1]).squeeze(-1)


def build(a, mt):
    if a.model == "lstm":
        net = LstmNet(a.n_in, a.steps, a.hidden)
        return net, torch.optim.Adam(net.parameters(), lr=1e-3)
    name = "tssmnet" if a.model == "tssmnet_nots" else a.model
    net = mt.build_model(name, a.n_in)
    return net, mt.make_optimizer(name, net.parameters())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--n-in", type=int, required=True)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=0)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--min-repeat-s", type=float, default=1.5)
    ap.add_argument("--pretrain-steps", type=int, default=100)
    ap.add_argument("--fresh-infer", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--onnx")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sys.path.insert(0, a.reference)
    import models_torch as mt

    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    pool_x = torch.from_numpy(rng.standard_normal((8192, a.n_in)).astype(np.float32))
    pool_y = torch.from_numpy(rng.standard_normal(8192).astype(np.float32))
    perm = torch.from_numpy(rng.permutation(8192))
    model, opt = build(a, mt)
    loss_fn = torch.nn.MSELoss()
    state = {"i": 0}

    def train_step():
        i = state["i"]
        if i + a.batch > 8192:
            i = 0
        idx = perm[i:i + a.batch]
        state["i"] = i + a.batch
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(pool_x[idx]), pool_y[idx])
        loss.backward()
        opt.step()

    xb = pool_x[:a.batch].contiguous()

    def infer_step():
        with torch.no_grad():
            model(xb)

    def measure(step, setup):
        setup()
        for _ in range(a.warmup):
            step()
        t0 = time.perf_counter()
        step()
        one = time.perf_counter() - t0
        k = max(3, int(np.ceil(a.min_repeat_s / max(one, 1e-6))))
        reps = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            for _ in range(k):
                step()
            reps.append(k * a.batch / (time.perf_counter() - t0))
        return statistics.median(reps), reps

    row = {"model": a.model, "n_in": a.n_in, "batch": a.batch, "threads": threads,
           "blas_threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")),
           "n_params": sum(p.numel() for p in model.parameters()), "torch": torch.__version__,
           "pretrain_steps": a.pretrain_steps}
    if a.fresh_infer:
        row["fresh_unflushed_infer_samples_per_s"], _ = measure(infer_step, model.eval)
    row["flush_denormal"] = torch.set_flush_denormal(True)
    model.train()
    for _ in range(a.pretrain_steps):
        train_step()
    row["train_samples_per_s"], row["train_repeats"] = measure(train_step, model.train)
    row["infer_samples_per_s"], row["infer_repeats"] = measure(infer_step, model.eval)
    if a.onnx:
        model.eval()
        torch.onnx.export(model, (xb,), a.onnx + ".tmp", input_names=["x"], output_names=["y"], opset_version=14,
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
        os.replace(a.onnx + ".tmp", a.onnx)
        with torch.no_grad():
            # The batch ONNX Runtime is timed on, and this network's outputs on it: the check that it
            # runs the same network (the exported LSTM's initial state has the traced batch size).
            row["onnx_batch"] = {"x": xb.flatten().tolist(), "y": model(xb).tolist()}
    with open(a.out, "w") as fh:
        json.dump(row, fh)
    print(f"{a.model:13s} threads={threads} blas={row['blas_threads']}: train {row['train_samples_per_s']:10.0f} "
          f"infer {row['infer_samples_per_s']:10.0f} samples/s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
