#!/usr/bin/env python3
"""pyhf's fixed-parameter fits on tttt and one 1Lbb patch, for fitfleet's tests of
`fitfleet ranking` (impacts on the POI) and `fitfleet scan` (profile likelihood in the POI).

usage: ranking.py REFERENCE_DIR > crates/engine/tests/data/pyhf-ranking.json
(run with the pyhf-reference venv's python: ~/.cache/fitfleet/pyhf-venv/bin/python)

For each model, with pyhf's default optimizer, scipy's SLSQP, on the jax backend in double
precision (jax's exact gradient; 30 times faster than numpy on tttt), tolerance 1e-10 so that
the reference POI is far sharper than the agreement tested:
- the free fit from the suggested initial values, with the uncertainties from the inverse of
  jax's exact Hessian (pyhf's scipy optimizer has none of its own);
- ranking: the parameters most correlated with the POI and every free one (about 12 in all);
  for each, pyhf.infer.mle.fit with the parameter fixed (fixed_params) at
  bestfit +- uncertainty (post-fit) and, for constrained parameters, bestfit +- the
  constraint's width (pre-fit, cabinetry's convention), each value clipped into the
  parameter's bounds: the fixed value, the fitted POI and twice the NLL;
- scan: the POI fixed at 11 values from max(lower bound, mu_hat - 2 sigma) to mu_hat + 2 sigma:
  twice the NLL.

Each fixed fit is made from two starts, the suggested initial values (pyhf's own start) and
the free fit's best fit, each with the fixed value set; the deeper minimum is kept, so that
the reference is pyhf's likelihood at its best and not one start's local minimum. The start
that won is recorded (`start`).
"""
import json
import sys

import jax
import numpy as np
import pyhf

from diagnostics import prefit_widths  # the constraint widths, as cabinetry takes them

jax.config.update("jax_enable_x64", True)

TOLERANCE = 1e-10
N_CORRELATED = 10

# After the import: diagnostics.py sets its own backend when it loads.
pyhf.set_backend("jax", pyhf.optimize.scipy_optimizer(tolerance=TOLERANCE))


def r(x):
    """Ten significant digits: the JSON stays short, far below any tolerance tested."""
    return float(f"{float(x):.10g}")


def covariance(model, data, best):
    """The inverse of jax's Hessian of -ln L over the free parameters at `best`, zeros for the
    fixed ones (the jax backend must be set)."""
    hess = np.asarray(jax.hessian(lambda p: -model.logpdf(p, jax.numpy.asarray(data))[0])(jax.numpy.asarray(best)))
    free = np.where(~np.asarray(model.config.suggested_fixed()))[0]
    cov = np.zeros_like(hess)
    cov[np.ix_(free, free)] = np.linalg.inv(hess[np.ix_(free, free)])
    return cov


def fixed_fit(model, data, best, k, value):
    """The deeper of two fits with parameter k fixed at value: from the suggested start and
    from the best fit. (poi, twice_nll, start)."""
    fixed = list(model.config.suggested_fixed())
    fixed[k] = True
    out = []
    for start_name, start in (("suggested", model.config.suggested_init()), ("bestfit", list(best))):
        init = list(start)
        init[k] = value
        try:
            pars, twice_nll = pyhf.infer.mle.fit(
                data, model, init_pars=init, fixed_params=fixed, return_fitted_val=True
            )
            out.append((float(twice_nll), start_name, np.asarray(pars)))
        except Exception as e:  # a failed fit from one start: the other decides
            print(f"fit failed ({start_name}, {k}={value}): {e}", file=sys.stderr)
    twice_nll, start_name, pars = min(out, key=lambda t: t[0])
    return pars, twice_nll, start_name


def case(name, ws):
    model = ws.model()
    data = ws.data(model)
    poi = model.config.poi_index
    names = model.config.par_names
    bounds = model.config.suggested_bounds()
    best, twice_nll = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    best = np.asarray(best)
    widths = prefit_widths(model)
    fixed = np.asarray(model.config.suggested_fixed())
    cov = covariance(model, data, best)
    unc = np.sqrt(np.diag(cov))

    # The parameters most correlated with the POI, and every free one.
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(cov / np.outer(unc, unc))
    order = np.argsort(-np.abs(corr[poi]))
    chosen = [i for i in order if i != poi and not fixed[i]][:N_CORRELATED]
    chosen += [i for i in range(len(names)) if widths[i] == 0 and not fixed[i] and i != poi and i not in chosen]

    params = []
    for k in sorted(chosen):
        lo, hi = bounds[k]
        values = [best[k] + unc[k], best[k] - unc[k]]
        if widths[k] > 0:
            values += [best[k] + widths[k], best[k] - widths[k]]
        fits = []
        for v in values:
            v = float(min(max(v, lo), hi))
            pars, t, start = fixed_fit(model, data, best, k, v)
            fits.append({"value": r(v), "poi": r(pars[poi]), "twice_nll": r(t), "start": start})
            print(f"{name}: {names[k]} = {v:.6g}: mu = {pars[poi]:.6g}, 2nll = {t:.8g} ({start})", file=sys.stderr)
        params.append(
            {
                "name": names[k],
                "bestfit": r(best[k]),
                "uncertainty": r(unc[k]),
                "prefit_width": r(widths[k]),
                "fits": fits,
            }
        )

    lo = max(bounds[poi][0], best[poi] - 2 * unc[poi])
    hi = min(bounds[poi][1], best[poi] + 2 * unc[poi])
    scan = []
    for v in np.linspace(lo, hi, 11):
        pars, t, start = fixed_fit(model, data, best, poi, float(v))
        scan.append({"value": r(v), "twice_nll": r(t), "start": start})

    return {
        "poi": names[poi],
        "bestfit_poi": r(best[poi]),
        "uncertainty_poi": r(unc[poi]),
        "twice_nll": r(twice_nll),
        "parameters": params,
        "scan": {"parameter": names[poi], "points": scan},
    }


def main():
    ref = sys.argv[1]
    out = {
        "pyhf": pyhf.__version__,
        "optimizer": f"scipy SLSQP (jax backend), tolerance {TOLERANCE}, two starts per fixed fit (suggested, best fit)",
        "cases": [],
    }
    with open(f"{ref}/atlas-tttt/workspace.json") as f:
        ws = pyhf.Workspace(json.load(f))
    c = case("tttt", ws)
    out["cases"].append({"name": "tttt", "workspace": "atlas-tttt/workspace.json", "patch": None, **c})

    with open(f"{ref}/atlas-susy-2019-08-1lbb/BkgOnly.json") as f:
        bkg = pyhf.Workspace(json.load(f))
    with open(f"{ref}/atlas-susy-2019-08-1lbb/patchset.json") as f:
        ps = pyhf.PatchSet(json.load(f))
    patch = "C1N2_Wh_hbb_1000_0"
    c = case("1Lbb", pyhf.Workspace(ps.apply(bkg, patch)))
    out["cases"].append(
        {
            "name": "1Lbb",
            "workspace": "atlas-susy-2019-08-1lbb/BkgOnly.json",
            "patchset": "atlas-susy-2019-08-1lbb/patchset.json",
            "patch": patch,
            **c,
        }
    )
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
