"""Times the reference TsSMNet's inference (PyTorch, models_torch.py) on N standardised rows.

Usage: torch_infer.py REFERENCE_DIR MODEL N_IN N_ROWS ROUNDS   Prints JSON {rows_per_s: median}.
Run with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set by the caller (as bench_torch.py's children).
PyTorch in its fastest honest setting, as torch_peers.py: denormals flushed
(torch.set_flush_denormal) and trained weights (PRETRAIN_STEPS Adam steps on random rows before
anything is timed; freshly initialised weights produce subnormal activations that run 10-100x
slower on x86 and that real training leaves behind), and the fastest of a few inference batch
sizes (the reference's EVAL_BATCH, 1024, 512). The values do not matter otherwise.
"""
import json, sys, time

sys.path.insert(0, sys.argv[1])
import numpy as np
import torch
import models_torch as mt

name, n_in, n, rounds = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.manual_seed(0)
PRETRAIN_STEPS = 50
model = mt.build_model(name, n_in)
flushed = torch.set_flush_denormal(True)
rng = np.random.default_rng(0)
Z = rng.standard_normal((n, n_in)).astype(np.float32)
pool_x = torch.from_numpy(Z[:8192].copy())
pool_y = torch.from_numpy(rng.standard_normal(len(pool_x)).astype(np.float32))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
model.train()
for step in range(PRETRAIN_STEPS):
    idx = torch.from_numpy(rng.integers(0, len(pool_x), 512))
    opt.zero_grad(set_to_none=True)
    torch.nn.functional.mse_loss(model(pool_x[idx]).reshape(-1), pool_y[idx]).backward()
    opt.step()
model.eval()
# The batch the reference predicts in (EVAL_BATCH) and smaller ones: the fastest is reported.
rates = {}
for batch in sorted({mt.EVAL_BATCH, 512, 1024}):
    mt.predict_std(model, Z[:8192], batch=batch)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        mt.predict_std(model, Z, batch=batch)
        times.append(time.perf_counter() - t0)
    rates[batch] = n / sorted(times)[len(times) // 2]
best = max(rates, key=rates.get)
print(json.dumps({"rows_per_s": rates[best], "batch": best, "rows_per_s_by_batch": rates, "threads": torch.get_num_threads(),
                  "torch": torch.__version__, "flush_denormal": flushed, "pretrain_steps": PRETRAIN_STEPS}))
