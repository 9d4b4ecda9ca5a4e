#!/usr/bin/env python3
"""Gather pyhf-reference outputs into the compact case list the engine's parity tests read.

usage: cases.py REFERENCE_DIR OUTPUT_DIR > pyhf-code1-cases.json
Paths in the result are relative to REFERENCE_DIR, like ../shared/reference/cases.json.
"""
import glob
import json
import os
import sys

ref, out = sys.argv[1], sys.argv[2]
cases = []
for path in sorted(glob.glob(os.path.join(out, "code1_*.json"))):
    doc = json.load(open(path))
    meta = doc["meta"]
    ws = os.path.relpath(meta["workspace"], ref).replace("//", "/")
    ps = meta.get("patchset")
    for r in doc["results"]:
        case = {
            "id": f"{os.path.dirname(ws)}/{r['name']}",
            "workspace": ws,
            "interp": r["interp"],
            "par_order": r["model"]["par_order"],
            "expected_data_at_init": r["model"]["expected_data_at_init"],
        }
        if ps:
            case["patchset"] = os.path.relpath(ps, ref)
            case["patch"] = r["name"]
        if ps and r["name"] in ("bkg_only", "BkgOnly"):
            case.pop("patchset")
            case.pop("patch")
        if "fit" in r and "twice_nll" in r["fit"]:
            poi = r["model"].get("poi")
            case["fit"] = {"twice_nll": r["fit"]["twice_nll"], "poi": poi,
                           "poi_hat": r["fit"]["bestfit"].get(poi) if poi else None,
                           "bestfit": r["fit"]["bestfit"]}
        if "hypotest" in r and "CLs_obs" in r["hypotest"]:
            h = r["hypotest"]
            case["cls"] = {"mu": h["mu"], "test_stat": h["test_stat"], "CLs_obs": h["CLs_obs"],
                           "CLs_exp": h["CLs_exp"], "tol": 1e-4}
        if "upper_limit" in r and "obs" in r["upper_limit"]:
            u = r["upper_limit"]
            case["upper_limit"] = {"obs": u["obs"], "exp": u["exp"]}
        cases.append(case)
json.dump({"about": "pyhf 0.7.6 answers with normsys code1 and histosys code0, made by scripts/pyhf/run-code1.sh",
           "cases": cases}, sys.stdout, indent=1)
print()
