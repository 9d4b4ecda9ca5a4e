"""pyhf's ``Workspace``, ``PatchSet``, ``Patch`` and ``Model`` over fitfleet's engine."""
import json
import os

import numpy as np

from . import _native


class Workspace(dict):
    """A validated workspace; a dict of its JSON, as pyhf's.

    ``Workspace(spec)`` from a dict, ``Workspace.load(path)`` from a file (JSON, gzip) or a
    pallet (directory or .tar.gz holding BkgOnly.json and patchset.json).
    """

    def __init__(self, spec, validate=True, name="workspace", **kwargs):
        if isinstance(spec, _native.Workspace):
            native = spec
            spec = json.loads(native.to_json())
        else:
            native = _native.Workspace.from_json(json.dumps(spec), name)
        super().__init__(spec)
        self._native = native

    @classmethod
    def load(cls, path):
        """Read a workspace file or a pallet (whose patchset is then ``ws.patchset``)."""
        return cls(_native.Workspace.load(os.fspath(path)))

    @property
    def digest(self):
        """pyhf's sha256 digest of the workspace."""
        return self._native.digest

    @property
    def path(self):
        """The file or pallet it was read from (``None`` when made from a dict or a patch)."""
        return self._native.path

    @property
    def patchset(self):
        """The patchset of the pallet it was read from, or ``None``."""
        native = self._native.patchset
        return None if native is None else PatchSet(native)

    @property
    def channels(self):
        return sorted(c["name"] for c in self["channels"])

    @property
    def measurement_names(self):
        return [m["name"] for m in self["measurements"]]

    def model(self, measurement_name=None, modifier_settings=None, patch=None, patchset=None, device="cpu", **kwargs):
        """Build the model (pyhf's ``Workspace.model``); ``patch`` (a name, values as
        "1000,0" or a tuple, or a ``Patch``) of ``patchset`` (default: the pallet's) applied
        first. ``modifier_settings`` as pyhf's: ``{"normsys": {"interpcode": "code4"},
        "histosys": {"interpcode": "code4p"}}``."""
        if kwargs.get("patches"):
            raise _native.FitfleetError("patches=[...]: apply a patchset's patch with patch=NAME or PatchSet.apply")
        settings = modifier_settings or {}
        normsys = settings.get("normsys", {}).get("interpcode", "code4")
        histosys = settings.get("histosys", {}).get("interpcode", "code4p")
        if isinstance(patch, Patch):
            patchset = patchset or patch.patchset
            patch = patch.name
        elif patch is not None and not isinstance(patch, str):
            patch = _key(patch)
        native_set = None if patchset is None else patchset._native
        native = self._native.model(patch, native_set, measurement_name, normsys, histosys, device)
        return Model(native)

    def data(self, model, include_auxdata=True):
        """This workspace's observations of the model's channels (in the model's order), then
        the model's auxiliary data: pyhf's ``Workspace.data``, as a NumPy array."""
        observations = {o["name"]: o["data"] for o in self["observations"]}
        main = []
        for channel in model.config.channels:
            if channel not in observations:
                raise _native.FitfleetError(
                    f"{self._native.source_name}: observations: no observation for channel {channel!r} of the model"
                )
            main += observations[channel]
        data = main + (list(model.config.auxdata) if include_auxdata else [])
        return np.asarray(data, dtype=np.float64)


def _key(key):
    """A patch key for the engine: a name, or values comma-separated ("1000,0")."""
    if isinstance(key, str):
        return key
    return ",".join(repr(float(v)) if isinstance(v, (int, float, np.number)) else str(v) for v in key)


class Patch:
    """One patch of a patchset: its name and values (pyhf's ``Patch``)."""

    def __init__(self, patchset, name, values):
        self.patchset = patchset
        self.name = name
        self.values = values

    @property
    def metadata(self):
        return {"name": self.name, "values": list(self.values)}

    @property
    def patch(self):
        """The JSON Patch operations."""
        return json.loads(self.patchset._native.operations(self.name))

    def apply(self, workspace):
        return self.patchset.apply(workspace, self.name)

    def __repr__(self):
        return f"<fitfleet.Patch {self.name} values={tuple(self.values)}>"


class PatchSet:
    """A patchset (pyhf's ``PatchSet``): ``PatchSet(spec)`` from a dict, ``PatchSet.load(path)``
    from a file or a pallet; ``patchset[key]`` by name or values, ``apply(ws, key)``."""

    def __init__(self, spec, name="patchset", **kwargs):
        if isinstance(spec, _native.PatchSet):
            self._native, self._spec = spec, None
        else:
            self._native, self._spec = _native.PatchSet.from_json(json.dumps(spec), name), spec
        self._patches = None

    @classmethod
    def load(cls, path):
        return cls(_native.PatchSet.load(os.fspath(path)))

    @property
    def labels(self):
        return self._native.labels

    @property
    def path(self):
        return self._native.path

    @property
    def patches(self):
        if self._patches is None:
            names, values = self._native.names, self._native.values()
            self._patches = [Patch(self, n, v) for n, v in zip(names, values)]
        return self._patches

    def __iter__(self):
        return iter(self.patches)

    def __len__(self):
        return len(self.patches)

    def __getitem__(self, key):
        name = self._native.find(_key(key))
        return next(p for p in self.patches if p.name == name)

    def apply(self, workspace, key):
        """The workspace with the patch ``key`` finds applied, after checking this patchset was
        made for it (pyhf's digest)."""
        if isinstance(key, Patch):
            key = key.name
        return Workspace(self._native.apply(workspace._native, _key(key)))

    def __repr__(self):
        return f"<fitfleet.PatchSet {len(self)} patches, labels {self.labels}>"


class _Config:
    """pyhf's ``model.config``."""

    def __init__(self, native):
        self._native = native
        self.par_names = native.par_names
        self.par_order = native.par_order
        self.npars = native.npars
        self.nmaindata = native.nbins
        self.poi_name = native.poi_name
        self.poi_index = native.poi_index
        self.auxdata = native.auxdata
        self.nauxdata = len(self.auxdata)
        self.channels = [name for name, _ in native.channels]
        self.channel_nbins = dict(native.channels)
        self._slices = {name: slice(start, start + n) for name, start, n in native.par_slices}

    def suggested_init(self):
        return self._native.suggested_init()

    def suggested_bounds(self):
        return [list(b) for b in self._native.suggested_bounds()]

    def suggested_fixed(self):
        return self._native.suggested_fixed()

    def par_slice(self, name):
        return self._slices[name]


class Model:
    """A model compiled once (pyhf's ``Model``): ``model.config``, ``expected_data``."""

    def __init__(self, native):
        self._native = native
        self.config = _Config(native)

    def expected_data(self, pars, include_auxdata=True):
        data = np.asarray(self._native.expected_data(np.asarray(pars, dtype=np.float64).tolist()))
        return data if include_auxdata else data[: self.config.nmaindata]

    def expected_actualdata(self, pars):
        return self.expected_data(pars, include_auxdata=False)

    def __repr__(self):
        return f"<fitfleet.Model {self.config.npars} parameters, {self.config.nmaindata} bins, POI {self.config.poi_name}>"
