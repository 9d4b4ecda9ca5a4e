"""pyhf's ``infer.intervals.upper_limits``."""
import json

import numpy as np

from ... import _native


def upper_limit_result(data, model, scan=None, level=0.05, test_stat="qtilde"):
    """The whole answer, as ``fitfleet upper-limit`` writes it (``obs``, ``exp``, ``scan``,
    ``notes``): a limit outside the searched range is ``None``."""
    scan = None if scan is None else np.asarray(scan, dtype=np.float64).tolist()
    text = _native.upper_limit(
        model._native, np.asarray(data, dtype=np.float64).ravel().tolist(), scan, float(level), test_stat
    )
    return json.loads(text)


def _limit(v):
    return np.asarray(np.nan if v is None else v)


def upper_limit(data, model, scan=None, level=0.05, return_results=False, **hypotest_kwargs):
    """pyhf's ``upper_limit``: (observed limit, [five expected limits]), by root finding or
    interpolated over ``scan``; with ``return_results`` also (scan, [(CLs_obs, [CLs_exp])]).
    A limit outside the searched range is NaN (pyhf would extrapolate)."""
    calctype = hypotest_kwargs.get("calctype", "asymptotics")
    if calctype != "asymptotics":
        raise _native.FitfleetError(f"calctype {calctype!r}: upper limits are asymptotic")
    r = upper_limit_result(data, model, scan, level, hypotest_kwargs.get("test_stat", "qtilde"))
    obs, exp = _limit(r["obs"]), [_limit(v) for v in r["exp"]]
    if not return_results:
        return obs, exp
    points = r.get("scan") or []
    mus = np.asarray([p["mu"] for p in points])
    results = [(np.asarray(p["CLs_obs"]), [np.asarray(v) for v in p["CLs_exp"]]) for p in points]
    return obs, exp, (mus, results)
