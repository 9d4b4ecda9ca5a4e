"""Errors are Python exceptions with the command line's messages."""
import json

import pytest

import fitfleet


def _cli_message(stderr):
    """What follows `fitfleet: error: `: to the end of stderr, as a message may span lines (a
    workspace's problems are listed one a line)."""
    prefix = "fitfleet: error: "
    assert prefix in stderr, f"no error in the command line's stderr:\n{stderr}"
    return stderr[stderr.index(prefix) + len(prefix) :].rstrip("\n")


def test_bad_workspace_file(tmp_path, cli):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"channels": [{"name": "c", "samples": []}], "observations": [], "measurements": [], "version": "1.0.0"}))
    with pytest.raises(fitfleet.FitfleetError) as e:
        fitfleet.Workspace.load(bad)
    code, _, err = cli("inspect", bad)
    assert code == 2
    assert str(e.value) == _cli_message(err)
    assert str(bad) in str(e.value)


def test_bad_workspace_dict():
    with pytest.raises(fitfleet.FitfleetError, match="channels"):
        fitfleet.Workspace({"channels": "not a list", "observations": [], "measurements": [], "version": "1.0.0"})


def test_unknown_patch(pallet, cli):
    ws = fitfleet.Workspace.load(pallet[0])
    patchset = fitfleet.PatchSet.load(pallet[1])
    with pytest.raises(fitfleet.FitfleetError) as e:
        patchset.apply(ws, "no_such_patch")
    code, _, err = cli("cls", pallet[0], "--patchset", pallet[1], "--patch", "no_such_patch")
    assert code == 2
    assert str(e.value) == _cli_message(err)
    assert "no_such_patch" in str(e.value)


def test_unreachable_broker(pallet, cli):
    # Nothing listens on port 1 of loopback.
    fleet = fitfleet.Fleet(broker_url="amqp://guest:guest@127.0.0.1:1/%2f", redis_url="redis://127.0.0.1:1/")
    with pytest.raises(fitfleet.FitfleetError) as e:
        fleet.submit(pallet[0], pallet[1], patches=["SIG_300_0"])
    code, _, err = cli(
        "submit", pallet[0], "--patchset", pallet[1], "--patch", "SIG_300_0",
        "--broker-url", "amqp://guest:guest@127.0.0.1:1/%2f", "--redis-url", "redis://127.0.0.1:1/",
    )
    assert code == 2
    assert str(e.value) == _cli_message(err)
    assert "connecting to the fleet's" in str(e.value)


def test_bad_option_names_the_flag(pallet):
    with pytest.raises(fitfleet.FitfleetError, match="--scan is for upper limits"):
        fitfleet.run(pallet[0], pallet[1], patches=["SIG_300_0"], scan=(0, 5, 11))
