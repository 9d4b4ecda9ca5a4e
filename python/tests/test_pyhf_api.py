"""A pyhf notebook's cell runs unchanged with `import fitfleet as pyhf`, and gives the
command line's numbers; fits release the GIL."""
import json
import threading
import time

import numpy as np

import fitfleet


def test_pyhf_cell_runs_unchanged(pallet, cli):
    import fitfleet as pyhf

    bkg_path, patchset_path = pallet
    # The cell, as written for pyhf:
    with open(bkg_path) as f:
        ws = pyhf.Workspace(json.load(f))
    with open(patchset_path) as f:
        patchset = pyhf.PatchSet(json.load(f))
    name = patchset.patches[3].name
    w = patchset.apply(ws, name)
    model = w.model()
    data = w.data(model)
    CLs_obs, CLs_exp = pyhf.infer.hypotest(1.0, data, model, test_stat="qtilde", return_expected_set=True)
    # ... and its numbers are the command line's.
    code, out, err = cli("cls", bkg_path, "--patchset", patchset_path, "--patch", name)
    assert code == 0, err
    doc = json.loads(out)
    assert isinstance(data, np.ndarray) and data.shape == (model.config.nmaindata + model.config.nauxdata,)
    np.testing.assert_allclose(CLs_obs, doc["CLs_obs"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(CLs_exp), doc["CLs_exp"], rtol=0, atol=1e-12)


def test_pyhf_return_shapes(pallet):
    ws = fitfleet.Workspace.load(pallet[0])
    patchset = fitfleet.PatchSet.load(pallet[1])
    patch = patchset.patches[0]
    assert patchset[tuple(patch.values)].name == patch.name
    model = patchset.apply(ws, patch.name).model()
    data = ws.data(model)
    obs, tails, exp, band = fitfleet.infer.hypotest(
        1.0, data, model, return_tail_probs=True, return_expected=True, return_expected_set=True
    )
    assert len(tails) == 2 and len(band) == 5 and exp == band[2]
    np.testing.assert_allclose(obs, tails[0] / tails[1], rtol=1e-12)
    pars = fitfleet.infer.mle.fit(data, model)
    assert pars.shape == (model.config.npars,)
    fixed, twice_nll = fitfleet.infer.mle.fixed_poi_fit(0.5, data, model, return_fitted_val=True)
    assert fixed[model.config.poi_index] == 0.5 and twice_nll.shape == ()
    expected = model.expected_data(pars)
    assert expected.shape == data.shape
    # The unpatched workspace's observations of the patched model's channels: the same data.
    np.testing.assert_array_equal(data, patchset.apply(ws, patch.name).data(model))
    np.testing.assert_array_equal(ws.data(model, include_auxdata=False), data[: model.config.nmaindata])


def test_data_needs_an_observation_of_every_channel(pallet):
    ws = fitfleet.Workspace.load(pallet[0])
    model = ws.model()
    spec = dict(ws)
    spec["observations"] = [dict(o, name=o["name"] + "_renamed") for o in spec["observations"]]
    spec["channels"] = [dict(c, name=c["name"] + "_renamed") for c in spec["channels"]]
    other = fitfleet.Workspace(spec, name="renamed.json")
    with np.testing.assert_raises_regex(fitfleet.FitfleetError, "renamed.json: observations: no observation for channel"):
        other.data(model)


def test_fits_release_the_gil(pallet):
    """While threads fit, the main thread keeps running Python; and two threads' fits take
    about as long as one's (not twice) where two cores are free."""
    ws = fitfleet.Workspace.load(pallet[0])
    patchset = fitfleet.PatchSet.load(pallet[1])
    model = patchset.apply(ws, patchset.patches[0].name).model()
    data = ws.data(model)

    def work(n):
        for _ in range(n):
            fitfleet.infer.hypotest(1.0, data, model)

    t0 = time.perf_counter()
    work(3)
    one = (time.perf_counter() - t0) / 3
    ticks = 0
    thread = threading.Thread(target=work, args=(max(3, int(1.0 / max(one, 1e-3))),))
    thread.start()
    while thread.is_alive():
        ticks += 1
        time.sleep(0.001)
    thread.join()
    # With the GIL held through each fit, the loop would tick about once per fit.
    assert ticks > 50, ticks
