#!/usr/bin/env python3
"""One Adam step of the benchmark's LSTM network in PyTorch (LstmNet of bench/python/torch_peers.py)
from smapfill's weights and batch, for the parity test of the network both sides time.

usage: torch_lstm_net_step.py STEPS HIDDEN WEIGHTS.safetensors BATCH.safetensors OUT.safetensors
Writes the loss before the step (metadata "loss") and every parameter after it."""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "python"))
from safetensors_np import read, write
from torch_peers import LstmNet

steps, hidden, weights_file, batch_file, out_file = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:6]
torch.set_num_threads(1)
weights, _ = read(weights_file)
batch, _ = read(batch_file)
x, y = torch.from_numpy(batch["x"]), torch.from_numpy(batch["y"])
model = LstmNet(x.shape[1], steps, hidden)
model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
opt.zero_grad()
loss = torch.nn.functional.mse_loss(model(x), y)
loss.backward()
opt.step()
write(out_file, {k: v.detach().numpy() for k, v in model.state_dict().items()}, {"loss": repr(float(loss))})
