"""pyhf's ``infer``: ``hypotest``, ``mle.fit``, ``intervals.upper_limits.upper_limit``, and
``significance``; NumPy in and out, fitfleet's engine underneath (the GIL released)."""
import json

import numpy as np

from .. import _native
from . import intervals, mle

__all__ = ["hypotest", "intervals", "mle", "significance"]


def _data(data):
    return np.asarray(data, dtype=np.float64).ravel().tolist()


def _unsupported(**given):
    names = [k for k, v in given.items() if v is not None]
    if names:
        raise _native.FitfleetError(
            f"{', '.join(names)}: fitfleet's hypothesis tests start from the model's suggested values and bounds"
        )


def hypotest_result(poi_test, data, pdf, calctype="asymptotics", test_stat="qtilde", ntoys=2000, seed=0):
    """The whole answer of one test, as ``fitfleet cls`` writes it (a dict with ``CLs_obs``,
    ``CLs_exp``, ``CLsb_obs``, ``CLb_obs``, ``test_stat_obs``, ``mu_hat``, ...)."""
    if calctype == "toybased":
        calctype = "toys"
    text = _native.hypotest(pdf._native, _data(data), float(poi_test), test_stat, calctype, int(ntoys), int(seed))
    return json.loads(text)


def hypotest(
    poi_test,
    data,
    pdf,
    init_pars=None,
    par_bounds=None,
    fixed_params=None,
    calctype="asymptotics",
    return_tail_probs=False,
    return_expected=False,
    return_expected_set=False,
    return_calculator=False,
    **kwargs,
):
    """pyhf's ``infer.hypotest``: CLs at ``poi_test``, with pyhf's optional returns in
    pyhf's order (tail probabilities, the expected CLs, the expected set)."""
    _unsupported(init_pars=init_pars, par_bounds=par_bounds, fixed_params=fixed_params)
    if return_calculator:
        raise _native.FitfleetError("return_calculator: fitfleet's calculators stay inside the engine")
    test_stat = kwargs.get("test_stat", "qtilde")
    r = hypotest_result(
        poi_test, data, pdf, calctype, test_stat, kwargs.get("ntoys", 2000), kwargs.get("seed", 0) or 0
    )
    is_q0 = test_stat == "q0"
    obs = np.asarray(r["CLsb_obs"] if is_q0 else r["CLs_obs"])
    returns = [obs]
    if return_tail_probs:
        returns.append([np.asarray(r["CLb_obs"])] if is_q0 else [np.asarray(r["CLsb_obs"]), np.asarray(r["CLb_obs"])])
    band = [np.asarray(v) for v in r["CLs_exp"]]
    if return_expected_set:
        if return_expected:
            returns.append(band[2])
        returns.append(band)
    elif return_expected:
        returns.append(band[2])
    return tuple(returns) if len(returns) > 1 else returns[0]


def significance(data, pdf):
    """The discovery significance from q0, as ``fitfleet significance``: a dict with
    ``q0_obs``, ``p0_obs``, ``z_obs``, ``p0_exp``, ``z_exp``."""
    return json.loads(_native.significance(pdf._native, _data(data)))
