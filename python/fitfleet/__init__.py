"""fitfleet from Python: pyhf's API for one workspace, and the fleet for a whole pallet.

A pyhf notebook switches by changing its import (``import fitfleet as pyhf``): ``Workspace``,
``PatchSet``, ``Workspace.model``/``data``, ``infer.mle.fit``, ``infer.hypotest`` and
``infer.intervals.upper_limits.upper_limit`` take pyhf's arguments and return pyhf's shapes,
as NumPy arrays. The statistics are fitfleet's engine (Rust); fits release the GIL, so Python
threads run them in parallel. ``Fleet`` submits a pallet to RabbitMQ/Redis workers;
``run`` does the same work in this process. ``diagnostics`` ranks the nuisance parameters by
impact and scans the profile likelihood, as the command line's ``ranking`` and ``scan``.
"""
from . import _native
from ._native import FitfleetError
from ._workspace import Model, Patch, PatchSet, Workspace
from . import diagnostics, infer
from ._fleet import Fleet, Job, run, to_pandas
from ._plot import example_pallet, plot
from . import tensorlib

__version__ = _native.__version__

__all__ = [
    "FitfleetError",
    "Fleet",
    "Job",
    "Model",
    "Patch",
    "PatchSet",
    "Workspace",
    "diagnostics",
    "example_pallet",
    "get_backend",
    "infer",
    "plot",
    "run",
    "set_backend",
    "tensorlib",
    "to_pandas",
]


def set_backend(backend="numpy", *args, **kwargs):
    """pyhf's ``set_backend``: fitfleet computes with its own engine and answers in NumPy, so
    only ``"numpy"`` is accepted (pyhf notebooks call this first)."""
    name = backend if isinstance(backend, str) else getattr(backend, "name", str(backend))
    if name != "numpy":
        raise FitfleetError(f"backend {name!r}: fitfleet answers in NumPy only (set_backend('numpy'))")


def get_backend():
    """pyhf's ``get_backend``: (tensorlib, optimizer); the optimizer is fitfleet's engine."""
    return tensorlib, None
