"""pyhf's ``infer.mle``: maximum-likelihood fits."""
import json

import numpy as np

from .. import _native


def fit_result(data, pdf, init_pars=None, fixed_params=None, return_uncertainties=False):
    """The whole answer of a fit, as ``fitfleet fit`` computes it (a dict with ``bestfit``,
    ``uncertainties``, ``twice_nll``, ``converged``, ``message``, ...)."""
    text = _native.fit(
        pdf._native,
        np.asarray(data, dtype=np.float64).ravel().tolist(),
        None if init_pars is None else np.asarray(init_pars, dtype=np.float64).tolist(),
        None if fixed_params is None else [bool(f) for f in fixed_params],
        bool(return_uncertainties),
    )
    return json.loads(text)


def fit(data, pdf, init_pars=None, par_bounds=None, fixed_params=None, **kwargs):
    """pyhf's ``mle.fit``: the best-fit parameters; shape (npars, 2) with
    ``return_uncertainties=True``; with ``return_fitted_val=True`` also twice the NLL."""
    if par_bounds is not None:
        raise _native.FitfleetError("par_bounds: fitfleet fits within the model's suggested bounds")
    uncertainties = kwargs.get("return_uncertainties", False)
    r = fit_result(data, pdf, init_pars, fixed_params, uncertainties)
    pars = np.asarray(r["bestfit"], dtype=np.float64)
    if uncertainties:
        pars = np.column_stack([pars, np.asarray(r["uncertainties"], dtype=np.float64)])
    if kwargs.get("return_fitted_val", False):
        return pars, np.asarray(r["twice_nll"])
    return pars


def fixed_poi_fit(poi_val, data, pdf, init_pars=None, par_bounds=None, fixed_params=None, **kwargs):
    """pyhf's ``mle.fixed_poi_fit``: a fit with the POI held at ``poi_val``."""
    poi = pdf.config.poi_index
    if poi is None:
        raise _native.FitfleetError("fixed_poi_fit: the model has no parameter of interest")
    init = list(init_pars if init_pars is not None else pdf.config.suggested_init())
    fixed = list(fixed_params if fixed_params is not None else pdf.config.suggested_fixed())
    init[poi], fixed[poi] = float(poi_val), True
    return fit(data, pdf, init, par_bounds, fixed, **kwargs)
