#!/usr/bin/env python3
"""Reads the qa4sm SPL3SMP v8 time-series cells of ../shared/data/real/hawaii_2016_2019 (the
original byte copies, not the re-assembled granules) with netCDF4 and prints, per EASE-2 cell of a
window and per day of a period, each pass's soil moisture and flags, as JSON, so the tests can
check the cube's missing reasons against an independent path to the same data.

Usage: hawaii_cells.py CELLS_DIR ROW0 NROWS COL0 NCOLS START END
  -> {"days": [...], "cells": {"row,col": {"AM": [[sm, qual, surface] or null per day], "PM": [...]}}}"""
import datetime as dt, json, sys
import netCDF4
import numpy as np

cells_dir, row0, nrows, col0, ncols, start, end = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6], sys.argv[7]
epoch = dt.date(1858, 11, 17)
first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
days = [(first + dt.timedelta(d)).isoformat() for d in range((last - first).days + 1)]
out = {"days": days, "cells": {}}
for p in ("AM", "PM"):
    for cell in ("0165", "0166"):
        d = netCDF4.Dataset(f"{cells_dir}/SMAP_V8_{p}/{cell}.nc")
        d.set_auto_mask(False)
        t = [(epoch + dt.timedelta(int(round(x)))).isoformat() for x in d["time"][:]]
        index = {day: k for k, day in enumerate(t)}
        sm, q, s = d["soil_moisture"][:], d["retrieval_qual_flag"][:], d["surface_flag"][:]
        for i, gpi in enumerate(d["location_id"][:]):
            row, col = 405 - int(gpi) // 964, int(gpi) % 964
            if not (row0 <= row < row0 + nrows and col0 <= col < col0 + ncols):
                continue
            series = []
            for day in days:
                k = index.get(day)
                series.append(None if k is None else [float(np.float32(sm[i, k])), int(q[i, k]), int(s[i, k])])
            out["cells"].setdefault(f"{row},{col}", {})[p] = series
json.dump(out, sys.stdout)
