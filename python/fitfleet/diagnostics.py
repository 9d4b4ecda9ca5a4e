"""Fit diagnostics, as ``fitfleet ranking`` and ``fitfleet scan`` compute them: the ranking of
the nuisance parameters by impact on the POI, and profile-likelihood scans in one or two
parameters. Results are the dicts those commands write as JSON."""
import json

import numpy as np

from . import _native

__all__ = ["ranking", "scan"]


def _data(data):
    return np.asarray(data, dtype=np.float64).ravel().tolist()


def ranking(data, pdf):
    """Impacts on the POI of every parameter that is neither the POI nor fixed (four fits each,
    cabinetry's conventions), largest first: a dict with ``poi``, ``poi_bestfit``,
    ``impacts`` (each with ``parameter``, ``postfit_up``, ``postfit_down``, ``prefit_up``,
    ``prefit_down``, ...)."""
    return json.loads(_native.ranking(pdf._native, _data(data)))


def scan(data, pdf, parameters, grids):
    """-2 Delta ln L over a grid: ``parameters`` one or two names, ``grids`` one sequence of
    values each. A dict with ``parameters``, ``bestfit``, ``points`` (``values``,
    ``twice_nll``, ``delta_twice_nll``) and, in one parameter, the 68% ``interval``."""
    if isinstance(parameters, str):
        parameters = [parameters]
        grids = [grids]
    grids = [np.asarray(g, dtype=np.float64).ravel().tolist() for g in grids]
    return json.loads(_native.scan(pdf._native, _data(data), list(parameters), grids))
