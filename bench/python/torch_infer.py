"""Times the reference TsSMNet's inference (PyTorch, models_torch.py) on N standardised rows.

Usage: torch_infer.py REFERENCE_DIR MODEL N_IN N_ROWS ROUNDS   Prints JSON {rows_per_s: median}.
Run with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set by the caller (as bench_torch.py's children).
The values do not matter for the time, only the shapes: random weights and inputs.
"""
import json, sys, time

sys.path.insert(0, sys.argv[1])
import numpy as np
import torch
import models_torch as mt

name, n_in, n, rounds = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.manual_seed(0)
model = mt.build_model(name, n_in)
model.eval()
Z = np.random.default_rng(0).standard_normal((n, n_in)).astype(np.float32)
mt.predict_std(model, Z[:4096])
times = []
for _ in range(rounds):
    t0 = time.perf_counter()
    mt.predict_std(model, Z)
    times.append(time.perf_counter() - t0)
print(json.dumps({"rows_per_s": n / sorted(times)[len(times) // 2], "threads": torch.get_num_threads(), "torch": torch.__version__}))
