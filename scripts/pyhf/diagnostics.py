#!/usr/bin/env python3
"""pyhf's post-fit diagnostics on tttt and one 1Lbb patch, for fitfleet's tests of
`fitfleet yields`, `pulls` and `correlations`.

usage: diagnostics.py REFERENCE_DIR > crates/engine/tests/data/pyhf-diagnostics.json
(run with the pyhf-reference venv's python: ~/.cache/fitfleet/pyhf-venv/bin/python)

For each model: the free fit of pyhf.infer.mle.fit(..., return_uncertainties=True,
return_correlations=True) with the minuit optimizer (numpy backend, tolerance 1e-5 so that the
reference minimum is sharper than the agreement tested), then a subset chosen here:
- parameters: the POI, every free parameter, and constrained ones evenly spaced in par_names
  order (about 40 in all): best fit, uncertainty (minuit's Hesse), `uncertainty_exact` (the
  inverse of the exact Hessian of the NLL at minuit's best fit, by jax's autodiff: minuit's
  Hesse, a finite-difference estimate, is up to 1% off it on tttt), pre-fit width (cabinetry's
  prefit_uncertainties: the constraint's width, 0 for free and fixed parameters);
- correlations: the 40 largest |off-diagonal| entries, and the POI's row over the chosen
  parameters, minuit's (`corr`) and from the exact Hessian (`corr_exact`);
- yields per sample (model.main_model.expected_data(pars, return_by_sample=True)) in the first
  and last bin of every channel, and the per-bin totals, pre-fit (suggested init, pre-fit
  widths, no correlations) and post-fit (minuit's best fit, the exact Hessian's uncertainties
  and correlations),
  with uncertainties as cabinetry propagates them: each parameter moved by +-1 sigma, the
  symmetrised change dy_i = (y(up_i) - y(down_i)) / 2, variance = sum_ij dy_i dy_j corr_ij.
"""
import json
import sys

import jax
import numpy as np
import pyhf

jax.config.update("jax_enable_x64", True)

N_PARAMS = 40
N_CORR = 40
TOLERANCE = 1e-5

pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=TOLERANCE))


def r(x):
    """Ten significant digits: the JSON stays short, far below any tolerance tested."""
    return float(f"{float(x):.10g}")


def prefit_widths(model):
    widths = []
    for name in model.config.par_order:
        ps = model.config.param_set(name)
        if ps.constrained:
            w = list(ps.width())
        else:
            w = [0.0] * ps.n_parameters
        fixed = ps.suggested_fixed
        widths += [0.0 if f else x for x, f in zip(w, fixed)]
    return np.asarray(widths)


def exact_covariance(ws, best):
    """The inverse of jax's Hessian of -log L over the free parameters at `best`."""
    pyhf.set_backend("jax")
    try:
        model = ws.model()
        data = jax.numpy.asarray(ws.data(model))
        hess = np.asarray(jax.hessian(lambda p: -model.logpdf(p, data)[0])(jax.numpy.asarray(best)))
        free = np.where(~np.asarray(model.config.suggested_fixed()))[0]
        cov = np.zeros_like(hess)
        cov[np.ix_(free, free)] = np.linalg.inv(hess[np.ix_(free, free)])
    finally:
        pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=TOLERANCE))
    unc = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(cov / np.outer(unc, unc))
    return unc, corr


def by_sample(model, pars):
    """[sample, bin] expected main data."""
    return np.asarray(model.main_model.expected_data(pars, return_by_sample=True))


def yield_stdev(model, pars, unc, corr):
    """cabinetry's propagation: per (sample, bin) and per bin's total."""
    ups, downs = [], []
    for i in range(model.config.npars):
        up = pars.copy()
        up[i] += unc[i]
        down = pars.copy()
        down[i] -= unc[i]
        ups.append(by_sample(model, up))
        downs.append(by_sample(model, down))
    ups, downs = np.asarray(ups), np.asarray(downs)
    sym = (ups - downs) / 2.0  # [par, sample, bin]
    tot = sym.sum(axis=1)  # [par, bin]
    var_s = np.einsum("isb,ij,jsb->sb", sym, corr, sym)
    var_t = np.einsum("ib,ij,jb->b", tot, corr, tot)
    return np.sqrt(var_s), np.sqrt(var_t)


def diagnostics(id_, ws):
    model = ws.model()
    data = ws.data(model)
    result, corr, twice_nll = pyhf.infer.mle.fit(
        data, model, return_uncertainties=True, return_correlations=True, return_fitted_val=True
    )
    result, corr = np.asarray(result), np.asarray(corr)
    best, unc = result[:, 0], result[:, 1]
    unc_exact, corr_exact = exact_covariance(ws, best)
    names = model.config.par_names
    poi = model.config.poi_index
    init = np.asarray(model.config.suggested_init(), dtype=float)
    widths = prefit_widths(model)
    fixed = model.config.suggested_fixed()

    free = [i for i in range(len(names)) if widths[i] == 0.0 and not fixed[i]]
    constrained = [i for i in range(len(names)) if widths[i] > 0.0]
    want = N_PARAMS - len(free)
    step = max(1, len(constrained) // max(1, want))
    chosen = sorted(set(free + constrained[::step][:want]))
    params = [
        {"name": names[i], "bestfit": r(best[i]), "uncertainty": r(unc[i]),
         "uncertainty_exact": r(unc_exact[i]),
         "init": r(init[i]), "prefit_width": r(widths[i])}
        for i in chosen
    ]

    pairs = [(abs(corr[i, j]), i, j) for i in range(len(names)) for j in range(i)]
    pairs.sort(reverse=True)
    def pair(i, j):
        return {"a": names[i], "b": names[j], "corr": r(corr[i, j]), "corr_exact": r(corr_exact[i, j])}

    top = [pair(i, j) for _, i, j in pairs[:N_CORR]]
    poi_row = [pair(poi, j) for j in chosen if j != poi]

    pre_s, pre_t = by_sample(model, init), by_sample(model, init).sum(axis=0)
    pre_us, pre_ut = yield_stdev(model, init, widths, np.eye(len(names)))
    post_s, post_t = by_sample(model, best), by_sample(model, best).sum(axis=0)
    post_us, post_ut = yield_stdev(model, best, unc_exact, corr_exact)
    samples = model.config.samples
    yields = []
    for ch in model.config.channels:
        sl = model.config.channel_slices[ch]
        nb = sl.stop - sl.start
        ch_samples = [s["name"] for c in ws["channels"] if c["name"] == ch for s in c["samples"]]
        for b in sorted({0, nb - 1}):
            g = sl.start + b
            row = {"channel": ch, "bin": b, "samples": {},
                   "total": {"prefit": r(pre_t[g]), "prefit_unc": r(pre_ut[g]),
                             "postfit": r(post_t[g]), "postfit_unc": r(post_ut[g])},
                   "observed": r(ws.data(model, include_auxdata=False)[g])}
            for k, s in enumerate(samples):
                if s not in ch_samples:
                    continue
                row["samples"][s] = {"prefit": r(pre_s[k, g]), "prefit_unc": r(pre_us[k, g]),
                                     "postfit": r(post_s[k, g]), "postfit_unc": r(post_us[k, g])}
            yields.append(row)
    return {
        "workspace": id_, "twice_nll": r(twice_nll), "npars": len(names),
        "parameters": params, "correlations": top + poi_row, "yields": yields,
    }


def main():
    ref = sys.argv[1]
    out = []
    tttt = pyhf.Workspace(json.load(open(f"{ref}/atlas-tttt/workspace.json")))
    out.append(diagnostics("atlas-tttt/workspace.json", tttt))
    bkg = json.load(open(f"{ref}/atlas-susy-2019-08-1lbb/BkgOnly.json"))
    ps = pyhf.PatchSet(json.load(open(f"{ref}/atlas-susy-2019-08-1lbb/patchset.json")))
    name = "C1N2_Wh_hbb_500_150"
    patched = pyhf.Workspace(ps[name].apply(bkg))
    entry = diagnostics("atlas-susy-2019-08-1lbb/BkgOnly.json", patched)
    entry["patchset"] = "atlas-susy-2019-08-1lbb/patchset.json"
    entry["patch"] = name
    out.append(entry)
    json.dump({
        "about": "pyhf 0.7.6 minuit fits (numpy, tolerance 1e-5), exact-Hessian covariances "
                 "(jax) and cabinetry-style yield uncertainties (exact covariance), made by "
                 "scripts/pyhf/diagnostics.py",
        "cases": out,
    }, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
