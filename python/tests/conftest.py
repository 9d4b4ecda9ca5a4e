"""What the tests share: the repository's binaries (built by `cargo test`/`cargo build`), the
reference data, the example pallet, and a private fleet (its own queue and key prefixes)."""
import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """With FITFLEET_NO_SKIPS=1 (scripts/test-python sets it) a skipped test fails the run:
    the test suite installs every optional package, so a skip means something is missing."""
    if _skipped and os.environ.get("FITFLEET_NO_SKIPS") == "1":
        print(f"\nFITFLEET_NO_SKIPS=1 but {len(_skipped)} tests were skipped: {', '.join(_skipped)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def binary(name, variable):
    """A binary of the workspace: $VARIABLE, else target/debug/NAME; fails when missing."""
    path = Path(os.environ.get(variable, TARGET / "debug" / name))
    assert path.is_file(), f"{path} not found: build it (cargo build -p ...) or set {variable}"
    return path


@pytest.fixture(scope="session")
def cli():
    """Run the `fitfleet` command line: (exit code, stdout, stderr)."""
    path = binary("fitfleet", "FITFLEET_BIN")

    def run(*args, env=None):
        p = subprocess.run([str(path), *map(str, args)], capture_output=True, text=True, env=env, timeout=600)
        return p.returncode, p.stdout, p.stderr

    return run


def reference_dir():
    """The shared reference data: $FITFLEET_REFERENCE, else ../shared/reference beside the repo."""
    variable = os.environ.get("FITFLEET_REFERENCE")
    path = Path(variable) if variable else REPO.parent / "shared" / "reference"
    assert (path / "cases.json").is_file(), (
        f"reference data not found at {path} (FITFLEET_REFERENCE or ../shared/reference): "
        "the parity tests need the shared reference workspaces"
    )
    return path


@pytest.fixture(scope="session")
def reference():
    return reference_dir()


@pytest.fixture(scope="session")
def pallet(tmp_path_factory):
    """The example pallet, written by fitfleet itself: (BkgOnly.json, patchset.json)."""
    import fitfleet

    return fitfleet.example_pallet(tmp_path_factory.mktemp("pallet"))


def _answers(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def services():
    """RabbitMQ and Redis on loopback (scripts/services-up starts them); fail if absent."""
    for port, what in ((5672, "RabbitMQ"), (6379, "Redis")):
        assert _answers("127.0.0.1", port), f"{what} does not answer on 127.0.0.1:{port}: run scripts/services-up"
    return {"broker_url": "amqp://guest:guest@127.0.0.1:5672/%2f", "redis_url": "redis://127.0.0.1:6379/"}


@pytest.fixture
def fleet_settings(services):
    """Settings of a fleet of the test's own: prefixes nobody else uses."""
    tag = "pytest-" + uuid.uuid4().hex[:10] + "-"
    return dict(services, key_prefix=tag, queue_prefix=tag)


@pytest.fixture
def worker(fleet_settings, tmp_path):
    """A real `fitfleet-worker` process on the test's fleet; stopped after the test."""
    path = binary("fitfleet-worker", "FITFLEET_WORKER_BIN")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITFLEET_")}
    env["FITFLEET_LOG"] = "info,lapin=warn,redis=warn"
    args = [str(path), "--slots", "2", "--metrics-addr", f"127.0.0.1:{port}"]
    for name in ("broker_url", "redis_url", "queue_prefix", "key_prefix"):
        args += ["--" + name.replace("_", "-"), fleet_settings[name]]
    with open(log, "w") as out:
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=out, stdin=subprocess.DEVNULL, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 60
    import urllib.request

    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"worker not serving (exit {child.poll()}):\n{log.read_text()}")
        time.sleep(0.1)
    yield child
    child.terminate()
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def cases():
    """pyhf's answers on the reference workspaces (cases.json)."""
    return json.loads((reference_dir() / "cases.json").read_text())["cases"]
