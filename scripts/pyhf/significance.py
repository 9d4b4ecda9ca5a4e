#!/usr/bin/env python3
"""pyhf's discovery significance (q0, asymptotics) for workspaces, for fitfleet's tests.

usage: significance.py REFERENCE_DIR CASE... > significance-cases.json
(run with the pyhf-reference venv's python; CASE is a folder below REFERENCE_DIR holding
workspace.json)
"""
import json
import sys

import pyhf
from scipy.stats import norm

ref = sys.argv[1]
cases = []
for case in sys.argv[2:]:
    ws = pyhf.Workspace(json.load(open(f"{ref}/{case}/workspace.json")))
    model = ws.model()
    data = ws.data(model)
    p0_obs, p0_exp = pyhf.infer.hypotest(
        0.0, data, model, test_stat="q0", return_expected_set=True
    )
    p0_obs = float(p0_obs)
    p0_med = float(p0_exp[2])
    cases.append({
        "workspace": f"{case}/workspace.json",
        "p0_obs": p0_obs, "z_obs": float(norm.isf(p0_obs)),
        "p0_exp": p0_med, "z_exp": float(norm.isf(p0_med)),
    })
json.dump({"about": "pyhf 0.7.6 q0 asymptotic significance, made by scripts/pyhf/significance.py",
           "cases": cases}, sys.stdout, indent=1)
print()
