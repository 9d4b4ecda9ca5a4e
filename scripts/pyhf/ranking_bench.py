#!/usr/bin/env python3
"""A ranking as an analyst would make it with pyhf alone, timed: for `scripts/bench-ranking`.

usage: ranking_bench.py WORKSPACE [PATCHSET PATCH]   (the pyhf-reference venv's python)

The free fit, its covariance (the inverse of jax's exact Hessian: pyhf's scipy optimizer gives
no uncertainties), then for every parameter that is neither the POI nor fixed the fits with it
fixed at theta_hat +- sigma_hat and, for constrained ones, theta_hat +- its constraint's width
(cabinetry's ranking), each from pyhf's suggested start. Backend jax (double precision) with
pyhf's default optimizer, scipy's SLSQP: the fastest pyhf configuration measured here (30 times
numpy's on tttt). Prints one JSON line: the seconds, the fits and their count.
"""
import json
import sys
import time

import jax
import numpy as np
import pyhf

from diagnostics import prefit_widths
from ranking import covariance

# After the imports, which set backends of their own: pyhf's default optimizer settings.
jax.config.update("jax_enable_x64", True)
pyhf.set_backend("jax", pyhf.optimize.scipy_optimizer())


def main():
    ws = pyhf.Workspace(json.load(open(sys.argv[1])))
    if len(sys.argv) > 3:
        ws = pyhf.PatchSet(json.load(open(sys.argv[2]))).apply(ws, sys.argv[3])
    model = ws.model()
    data = ws.data(model)
    start = time.perf_counter()
    best = np.asarray(pyhf.infer.mle.fit(data, model))
    fixed = np.asarray(model.config.suggested_fixed())
    unc = np.sqrt(np.diag(covariance(model, data, best)))
    free = np.where(~fixed)[0]
    widths = prefit_widths(model)
    bounds = model.config.suggested_bounds()
    poi = model.config.poi_index
    fits = 0
    for k in free:
        if k == poi:
            continue
        values = [best[k] + unc[k], best[k] - unc[k]]
        if widths[k] > 0:
            values += [best[k] + widths[k], best[k] - widths[k]]
        for v in values:
            init = list(model.config.suggested_init())
            init[k] = float(min(max(v, bounds[k][0]), bounds[k][1]))
            fix = list(fixed)
            fix[k] = True
            pyhf.infer.mle.fit(data, model, init_pars=init, fixed_params=fix)
            fits += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "fixed_fits": fits, "parameters": int(len(free) - 1)}))


if __name__ == "__main__":
    main()
