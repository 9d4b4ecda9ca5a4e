"""The fleet from Python against the local RabbitMQ and Redis and a real worker: submit,
wait, results, jobs, cancel; the same results as `fitfleet.run` in process."""
import numpy as np
import pytest

import fitfleet

PATCHES = ["SIG_300_0", "SIG_500_100", "SIG_700_200", "SIG_900_0"]


def test_submit_wait_results_match_run(pallet, fleet_settings, worker):
    fleet = fitfleet.Fleet(**fleet_settings)
    ws = fitfleet.Workspace.load(pallet[0])
    patchset = fitfleet.PatchSet.load(pallet[1])
    job = fleet.submit(ws, patchset, patches=PATCHES)
    assert job.tasks == len(PATCHES)
    status = job.wait(progress=True, timeout=300)
    assert status["state"] == "done" and status["done"] == len(PATCHES) and status["failed"] == 0
    results = job.results()
    assert sorted(results) == sorted(PATCHES)
    local = fitfleet.run(pallet[0], pallet[1], patches=PATCHES, slots=1)
    for name in PATCHES:
        assert results[name]["status"] == "succeeded"
        np.testing.assert_allclose(results[name]["CLs_obs"], local[name]["CLs_obs"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(results[name]["CLs_exp"], local[name]["CLs_exp"], rtol=0, atol=1e-12)
    listed = [j["job"] for j in fleet.jobs()]
    assert job.id in listed
    assert job.cancel() is False  # already done


def test_to_pandas(pallet, fleet_settings, worker):
    pd = pytest.importorskip("pandas", reason="pandas is optional; scripts/test installs it")
    fleet = fitfleet.Fleet(**fleet_settings)
    job = fleet.submit(pallet[0], pallet[1], patches=PATCHES[:2])
    job.wait(progress=False, timeout=300)
    frame = job.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert sorted(frame["patch"]) == sorted(PATCHES[:2])
    assert frame["CLs_obs"].between(0, 1).all()


def test_unknown_job(fleet_settings):
    fleet = fitfleet.Fleet(**fleet_settings)
    with pytest.raises(fitfleet.FitfleetError, match="unknown under key prefix"):
        fleet.job("0" * 32).status()
