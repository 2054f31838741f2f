#!/usr/bin/env python3
"""Loads an XGBoost JSON model written by smapfill with xgboost.Booster().load_model() and
predicts X.npy (float32, NaN = missing); writes the predictions as .npy.
usage: xgb_predict.py MODEL.json X.npy NAMES.json OUT.npy"""
import json, sys
import numpy as np
import xgboost as xgb

model, x_file, names_file, out = sys.argv[1:5]
booster = xgb.Booster()
booster.load_model(model)
X = np.load(x_file)
d = xgb.DMatrix(X, missing=np.nan, feature_names=json.load(open(names_file)))
np.save(out, booster.predict(d).astype(np.float32))
