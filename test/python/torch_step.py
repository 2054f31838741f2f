#!/usr/bin/env python3
"""One training step of the PyTorch reference network (../shared/reference/models_torch.py) from
weights and a batch written by smapfill as safetensors, read here with numpy (Debian 12 has no
python3-safetensors; the format is an 8-byte header length, a JSON header and raw data).

usage: torch_step.py REFERENCE_DIR MODEL N_IN WEIGHTS.safetensors BATCH.safetensors OUT.safetensors
Dropout is set to 0 on both sides (the two implementations cannot draw the same masks).
Writes the loss before the step (metadata "loss") and every parameter after it."""
import os, sys

ref_dir, model_name, n_in, weights_file, batch_file, out_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:7]
sys.path.insert(0, ref_dir)
import torch
import models_torch as mt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_np import read, write

torch.set_num_threads(1)
weights, _ = read(weights_file)
batch, _ = read(batch_file)
model = mt.build_model(model_name, n_in)
for m in model.modules():
    if isinstance(m, torch.nn.Dropout):
        m.p = 0.0
    if isinstance(m, torch.nn.MultiheadAttention):
        m.dropout = 0.0
model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
model.train()
opt = mt.make_optimizer(model_name, model.parameters())
x, y = torch.from_numpy(batch["x"]), torch.from_numpy(batch["y"])
opt.zero_grad()
loss = torch.nn.functional.mse_loss(model(x), y)
loss.backward()
opt.step()
state = {k: v.detach().numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
write(out_file, state, {"loss": repr(float(loss))})
