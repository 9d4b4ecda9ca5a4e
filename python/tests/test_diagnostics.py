"""`fitfleet.diagnostics`: the ranking and scans give the command line's numbers."""
import json

import numpy as np

import fitfleet

PATCH = "SIG_1100_0"  # mu_hat inside its bounds, so that impacts are not all zero


def _model(pallet):
    bkg_path, patchset_path = pallet
    ws = fitfleet.Workspace(json.load(open(bkg_path)))
    w = fitfleet.PatchSet(json.load(open(patchset_path))).apply(ws, PATCH)
    model = w.model()
    return model, w.data(model)


def test_ranking_matches_cli(pallet, cli):
    model, data = _model(pallet)
    r = fitfleet.diagnostics.ranking(data, model)
    code, out, err = cli("ranking", *pallet[:1], "--patchset", pallet[1], "--patch", PATCH, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert [i["parameter"] for i in r["impacts"]] == [i["parameter"] for i in doc["impacts"]]
    for a, b in zip(r["impacts"], doc["impacts"]):
        np.testing.assert_allclose([a["postfit_up"], a["postfit_down"]], [b["postfit_up"], b["postfit_down"]], atol=1e-12)
    assert abs(r["impacts"][0]["postfit_up"]) > 1e-3


def test_scan_matches_cli(pallet, cli):
    model, data = _model(pallet)
    s = fitfleet.diagnostics.scan(data, model, "mu_SIG", np.linspace(0, 3, 7))
    code, out, err = cli(
        "scan", pallet[0], "--patchset", pallet[1], "--patch", PATCH, "--range", "0,3", "--points", 7, "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    np.testing.assert_allclose(
        [p["delta_twice_nll"] for p in s["points"]], [p["delta_twice_nll"] for p in doc["points"]], atol=1e-9
    )
    assert s["interval"][1] is not None and s["interval"][1] > s["bestfit"][0]
    # Too many points is refused before any fit, naming the bound.
    try:
        fitfleet.diagnostics.scan(data, model, ["mu_SIG", "lumi"], [np.zeros(200), np.zeros(200)])
    except fitfleet.FitfleetError as e:
        assert "from 1 to 10000 in all" in str(e)
    else:
        raise AssertionError("a 40000-point scan was accepted")
