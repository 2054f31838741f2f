#!/usr/bin/env python3
"""Reads HDF5 datasets with h5py (the reference HDF5 stack) and prints them as JSON, so the tests
can check that files smapfill writes are read identically by another implementation.

Usage: h5py_read.py FILE DATASET[:r0:r1:c0:c1] ...  -> {"DATASET": {"shape":..., "dtype":..., "values": [...]}}"""
import json, math, sys
import h5py

out = {}
with h5py.File(sys.argv[1], "r") as f:
    for spec in sys.argv[2:]:
        name, *win = spec.split(":")
        d = f[name]
        a = d[int(win[0]):int(win[1]), int(win[2]):int(win[3])] if win else d[()]
        vals = a.astype("float64").ravel().tolist()
        out[spec] = {"shape": list(d.shape), "dtype": str(d.dtype), "attrs": {k: (v.decode() if isinstance(v, bytes) else (v.tolist() if hasattr(v, "tolist") else v)) for k, v in d.attrs.items()},
                     "values": [None if math.isnan(v) else v for v in vals]}
json.dump(out, sys.stdout, default=str)
