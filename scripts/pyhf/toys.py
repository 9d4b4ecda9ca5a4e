#!/usr/bin/env python3
"""pyhf's toy-based CLs for a workspace, for fitfleet's toy calculator tests.

usage: toys.py WORKSPACE.json NTOYS [MU] > result.json   (run with the pyhf-reference venv's python)
"""
import json
import sys
import time

import numpy as np
import pyhf

ws_path, ntoys = sys.argv[1], int(sys.argv[2])
mu = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
# pyhf 0.7.6 calls numpy.percentile(interpolation=...), removed in numpy 2: use method=.
def _percentile(self, tensor_in, q, axis=None, interpolation="linear"):
    return np.percentile(tensor_in, q, axis=axis, method=interpolation)


pyhf.set_backend("numpy")
type(pyhf.tensorlib).percentile = _percentile
np.random.seed(0)
ws = pyhf.Workspace(json.load(open(ws_path)))
model = ws.model()
data = ws.data(model)
t0 = time.time()
cls_obs, cls_exp = pyhf.infer.hypotest(
    mu, data, model, test_stat="qtilde", calctype="toybased", ntoys=ntoys,
    return_expected_set=True, track_progress=False,
)
print(json.dumps({
    "workspace": ws_path, "ntoys": ntoys, "mu": mu, "test_stat": "qtilde",
    "CLs_obs": float(cls_obs), "CLs_exp": [float(x) for x in cls_exp],
    "seconds": time.time() - t0, "pyhf": pyhf.__version__,
}, indent=1))
