"""Times XGBoost's predict of a saved model (xgboost.json) on X.npy, with nthread 1 and 2.

Usage: xgb_predict.py MODEL.json X.npy ROUNDS THREADS...   Prints JSON: rows/s per thread count
(median of ROUNDS timed calls after one warm-up), and the predictions' checksum.
"""
import json, sys, time
import numpy as np
import xgboost as xgb

model_file, x_file, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
threads = [int(t) for t in sys.argv[4:]]
X = np.load(x_file)
booster = xgb.Booster()
booster.load_model(model_file)
out = {"rows": int(X.shape[0]), "xgboost": xgb.__version__, "rows_per_s": {}}
for t in threads:
    booster.set_param({"nthread": t})
    # inplace_predict: XGBoost's fastest path from a numpy array (no DMatrix, no prediction cache).
    booster.inplace_predict(X, missing=np.nan)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        p = booster.inplace_predict(X, missing=np.nan)
        times.append(time.perf_counter() - t0)
    out["rows_per_s"][str(t)] = X.shape[0] / sorted(times)[len(times) // 2]
    out["sum"] = float(np.sum(p, dtype=np.float64))
print(json.dumps(out))
