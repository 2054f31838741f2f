#!/usr/bin/env python3
"""PyTorch's nn.LSTM (batch_first) on weights and inputs written by smapfill, for the LSTM parity
test: forward outputs and the gradient of every parameter and input.

usage: torch_lstm.py LAYERS WEIGHTS.safetensors INPUTS.safetensors OUT.safetensors [LAYERS ...]
(any number of cases, four arguments each). INPUTS holds x [B, T, I], h0 and c0 [L, B, H], mask [B, T] (1: a real step; 0: the row keeps
its state, smapfill's definition) and the loss weights r_out [B, T, H], r_h and r_c [L, B, H]:
loss = sum(output r_out) + sum(h_n r_h) + sum(c_n r_c). A masked row is run by PyTorch on its
real steps alone (a step skipped with its state carried is a step that never happened), and its
output at a skipped step is the last real step's output (h0 of the last layer before any)."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_np import read, write


def run_case(layers, weights_file, inputs_file, out_file):
    weights, _ = read(weights_file)
    inputs, _ = read(inputs_file)
    I = inputs["x"].shape[2]
    H = weights["weight_hh_l0"].shape[1]
    lstm = torch.nn.LSTM(I, H, num_layers=layers, batch_first=True)
    lstm.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    x = torch.from_numpy(inputs["x"]).requires_grad_()
    h0 = torch.from_numpy(inputs["h0"]).requires_grad_()
    c0 = torch.from_numpy(inputs["c0"]).requires_grad_()
    mask = inputs["mask"] != 0
    B, T = mask.shape

    if mask.all():
        output, (hn, cn) = lstm(x, (h0, c0))
    else:
        outs, hns, cns = [], [], []
        for b in range(B):
            steps = [t for t in range(T) if mask[b, t]]
            state = (h0[:, b:b + 1].contiguous(), c0[:, b:b + 1].contiguous())
            if steps:
                o, state = lstm(x[b:b + 1, steps], state)
            last, k, row = h0[-1, b], 0, []
            for t in range(T):
                if mask[b, t]:
                    last = o[0, k]
                    k += 1
                row.append(last)
            outs.append(torch.stack(row))
            hns.append(state[0][:, 0])
            cns.append(state[1][:, 0])
        output, hn, cn = torch.stack(outs), torch.stack(hns, 1), torch.stack(cns, 1)

    loss = (output * torch.from_numpy(inputs["r_out"])).sum() + (hn * torch.from_numpy(inputs["r_h"])).sum() + (cn * torch.from_numpy(inputs["r_c"])).sum()
    loss.backward()
    result = {"output": output.detach().numpy(), "h_n": hn.detach().numpy(), "c_n": cn.detach().numpy(),
              "grad.x": x.grad.numpy(), "grad.h0": h0.grad.numpy(), "grad.c0": c0.grad.numpy()}
    for name, p in lstm.named_parameters():
        result[f"grad.{name}"] = p.grad.numpy()
    write(out_file, result, {"loss": repr(float(loss))})


torch.set_num_threads(1)
args = sys.argv[1:]
for k in range(0, len(args), 4):
    run_case(int(args[k]), *args[k + 1:k + 4])
