#!/usr/bin/env python3
"""h5py side of the SMAP reader benchmark: reads the same window of AM and PM soil moisture and
retrieval_qual_flag from each granule and applies the same screening as smapfill (fill, valid
range in float32, recommended quality = flag bit 0 clear). Prints JSON: seconds per repeat, the
number of valid values and their sum (to prove both sides did the same work)."""
import json, sys, time
import h5py
import numpy as np

files_list, row0, col0, nrows, ncols, repeats = sys.argv[1], *map(int, sys.argv[2:7])
files = [line.strip() for line in open(files_list) if line.strip()]
times, valid, total = [], 0, 0.0
for rep in range(repeats):
    valid, total = 0, 0.0
    t0 = time.perf_counter()
    for path in files:
        with h5py.File(path, "r") as f:
            for group, suffix in (("Soil_Moisture_Retrieval_Data_AM", ""), ("Soil_Moisture_Retrieval_Data_PM", "_pm")):
                sm_ds = f[f"{group}/soil_moisture{suffix}"]
                sm = sm_ds[row0:row0 + nrows, col0:col0 + ncols]
                flag = f[f"{group}/retrieval_qual_flag{suffix}"][row0:row0 + nrows, col0:col0 + ncols]
                vmin = np.float32(sm_ds.attrs["valid_min"][0]); vmax = np.float32(sm_ds.attrs["valid_max"][0])
                ok = (sm != np.float32(-9999)) & np.isfinite(sm) & (sm >= vmin) & (sm <= vmax) & (flag != 65534) & ((flag & 1) == 0)
                valid += int(ok.sum())
                total += float(sm[ok].astype(np.float64).sum())
    times.append(time.perf_counter() - t0)
print(json.dumps({"seconds": times, "valid": valid, "sum": total, "h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version, "numpy": np.__version__}))
