#!/usr/bin/env python3
"""Reference side of the feature benchmark: reference/features.py on the same series (.npy),
pixel features for every pixel and context terms for every pixel-day. Prints JSON seconds."""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import features
series = np.load(sys.argv[2])
P, D = series.shape
pix = np.repeat(np.arange(P), D)
day = np.tile(np.arange(D), P)
t0 = time.perf_counter()
pf, _ = features.pixel_features(series)
t1 = time.perf_counter()
cf, _ = features.context_features(series, pix, day)
t2 = time.perf_counter()
print(json.dumps({"pixel_s": t1 - t0, "context_s": t2 - t1, "checksum_pixel": float(np.nansum(pf)), "checksum_context": float(np.nansum(cf))}))
