"""scipy.fft's orthonormal 3-D DCT-II + its inverse, the peer of src/util/dct.ts, timed in-process.

usage: dct_peer.py N0 N1 N2 REPEATS -> JSON {seconds_per_pair, scipy, numpy, workers}
One worker (scipy.fft's default), float64, the same shape and values as the bench.
"""
import json
import sys
import time

import numpy as np
import scipy
from scipy.fft import dctn, idctn

n0, n1, n2, repeats = (int(a) for a in sys.argv[1:5])
k = np.arange(n0 * n1 * n2, dtype=np.float64)
x = np.sin(k * 0.37).reshape(n0, n1, n2)
idctn(dctn(x, norm="ortho"), norm="ortho")  # warm-up: plans and caches
started = time.perf_counter()
for _ in range(repeats):
    x = idctn(dctn(x, norm="ortho"), norm="ortho")
seconds = (time.perf_counter() - started) / repeats
print(json.dumps({"seconds_per_pair": seconds, "scipy": scipy.__version__, "numpy": np.__version__, "workers": 1}))
