"""fitfleet's plots (``fitfleet plot``) of a results dict, and the bundled example pallet."""
import json
import os

from . import _native


def plot(results, out, **options):
    """Draw ``results`` (a dict keyed by patch, from ``run`` or ``Job.results()``) into
    ``out`` (.png or .svg): the exclusion contour, or with ``patch=NAME`` the Brazil band of an
    upper-limit scan. ``options`` are ``fitfleet plot``'s flags (``title``, ``x``, ``y``,
    ``x_title``, ``y_title``, ``label``, ``alpha``, ``kind``, ``width``, ``height``). Returns
    the lines that say what was drawn."""
    argv = ["--out", os.fspath(out)]
    for name, value in options.items():
        if value is not None:
            argv += ["--" + name.replace("_", "-"), str(value)]
    return _native.plot(json.dumps(results), argv)


def example_pallet(out_dir="examples/pallet"):
    """Write the example pallet (``fitfleet example-pallet``): the paths of BkgOnly.json and
    patchset.json."""
    return _native.example_pallet(os.fspath(out_dir))
