"""The fleet from Python (``Fleet``, ``Job``) and the same work in this process (``run``).

Every option is the command line's flag of the same name (``fitfleet submit --help``), so the
defaults, the settings file, ``FITFLEET_*`` variables and the error messages are the command
line's.
"""
import contextlib
import io
import json
import os
import sys
import tempfile
import time
import warnings

from . import _native
from ._workspace import PatchSet, Workspace

__all__ = ["Fleet", "Job", "run"]


def _flag(name):
    return "--" + name.replace("_", "-")


def _work_flags(
    poi=None,
    upper_limit=False,
    scan=None,
    alpha=None,
    fit=False,
    significance=False,
    test_stat=None,
    calctype=None,
    ntoys=None,
    seed=None,
    toys_per_task=None,
    measurement=None,
    modifier_settings=None,
):
    """The command line's flags of the work and the model settings."""
    flags = []
    for name, value in (("poi", poi), ("alpha", alpha), ("ntoys", ntoys), ("seed", seed)):
        if value is not None:
            flags += [_flag(name), repr(value) if isinstance(value, float) else str(int(value))]
    for name, value in (("test_stat", test_stat), ("measurement", measurement), ("toys_per_task", toys_per_task)):
        if value is not None:
            flags += [_flag(name), str(value)]
    if calctype is not None:
        flags += ["--calctype", "toys" if calctype == "toybased" else calctype]
    for name, on in (("upper_limit", upper_limit), ("fit", fit), ("significance", significance)):
        if on:
            flags.append(_flag(name))
    if scan is not None:
        start, stop, n = scan
        flags += ["--scan", repr(float(start)), repr(float(stop)), str(n)]
    settings = modifier_settings or {}
    for kind in ("normsys", "histosys"):
        code = settings.get(kind, {}).get("interpcode")
        if code is not None:
            flags += [f"--{kind}-interp", code]
    return flags


@contextlib.contextmanager
def _input_flags(workspace, patchset=None, patches=None):
    """The command line's input arguments: files as given, or written to a temporary folder
    for a workspace or patchset made in Python."""
    with tempfile.TemporaryDirectory(prefix="fitfleet-") as tmp:

        def path_of(obj, name):
            if isinstance(obj, (str, os.PathLike)):
                return os.fspath(obj)
            if obj.path is not None:
                return os.fspath(obj.path)
            spec = dict(obj) if isinstance(obj, Workspace) else obj._spec
            if spec is None:
                raise _native.FitfleetError(f"the {name} has no JSON to send")
            path = os.path.join(tmp, f"{name}.json")
            with open(path, "w") as f:
                json.dump(spec, f)
            return path

        if isinstance(workspace, Workspace) and patchset is None and workspace.path is None and workspace.patchset:
            patchset = workspace.patchset
        flags = [path_of(workspace, "workspace")]
        if patchset is not None:
            flags += ["--patchset", path_of(patchset, "patchset")]
        if isinstance(patches, str):
            patches = [patches]
        for p in patches or []:
            flags += ["--patch", p if isinstance(p, str) else getattr(p, "name", None) or ",".join(map(str, p))]
        yield flags


def _call(argv):
    return json.loads(_native.command(argv))


class Fleet:
    """A fleet of workers behind RabbitMQ and Redis. Settings as the command line's: defaults,
    then the settings file (``config``, ``$FITFLEET_CONFIG`` or ``./fitfleet.toml``), then
    ``FITFLEET_*`` variables, then these arguments."""

    def __init__(self, broker_url=None, redis_url=None, key_prefix=None, queue_prefix=None, config=None, **settings):
        given = dict(settings, broker_url=broker_url, redis_url=redis_url, key_prefix=key_prefix, queue_prefix=queue_prefix)
        self._connection = []
        if config is not None:
            self._connection += ["--config", os.fspath(config)]
        for name, value in given.items():
            if value is not None:
                self._connection += [_flag(name), str(value)]

    def submit(self, workspace, patchset=None, patches=None, **work):
        """Check the inputs, upload the workspace and queue one task per patch (the work as
        ``fitfleet submit``'s flags: ``poi``, ``upper_limit``, ``scan=(start, stop, n)``,
        ``fit``, ``significance``, ``test_stat``, ``calctype``, ``ntoys``, ...). Returns at once."""
        with _input_flags(workspace, patchset, patches) as inputs:
            r = _call(["submit", *inputs, *_work_flags(**work), *self._connection])
        return Job(self, r["job"], tasks=r["tasks"], summary=r["summary"])

    def job(self, job_id):
        """A job submitted before, by its id."""
        return Job(self, str(job_id))

    def jobs(self, limit=20):
        """The jobs in the store, newest first, each a dict as ``Job.status()``."""
        return _call(["jobs", "--limit", str(int(limit)), *self._connection])


class Job:
    """One job of a fleet."""

    def __init__(self, fleet, job_id, tasks=None, summary=None):
        self.fleet = fleet
        self.id = job_id
        self.tasks = tasks
        self.summary = summary

    def _argv(self, command):
        return [command, self.id, *self.fleet._connection]

    def status(self):
        """The job's record: ``state``, ``final``, ``total``, ``done``, ``failed``,
        ``remaining``, times (unix ms) and ``summary``."""
        return _call(self._argv("status"))

    def wait(self, progress=True, poll=0.5, timeout=None):
        """Wait until every task has a result (or the job is cancelled); the final status. A
        progress bar with ``progress`` (tqdm, in a terminal or Jupyter, when installed; else a
        line of text). ``timeout`` in seconds raises ``TimeoutError``."""
        start = time.monotonic()
        status = self.status()
        bar = _Progress(status["total"], self.id) if progress else None
        try:
            while True:
                if bar:
                    bar.update(status["done"] + status["failed"], status["failed"])
                if status["final"] or status["remaining"] == 0:
                    return status
                if timeout is not None and time.monotonic() - start > timeout:
                    raise TimeoutError(
                        f"job {self.id}: {status['remaining']} of {status['total']} tasks without a result after {timeout} s"
                    )
                time.sleep(poll)
                status = self.status()
        finally:
            if bar:
                bar.close()

    def results(self):
        """The results so far: a dict keyed by patch name (the results document)."""
        return _call(self._argv("results"))["results"]

    def to_pandas(self):
        """The results as a pandas DataFrame, one row per patch (``fitfleet results --format csv``)."""
        return to_pandas(self.results())

    def cancel(self):
        """Workers skip the remaining tasks; results already in stay. True when cancelled now."""
        return _call(self._argv("cancel"))["cancelled"]

    def __repr__(self):
        return f"<fitfleet.Job {self.id}>"


def to_pandas(results):
    """A results document as a pandas DataFrame (the columns of ``fitfleet results --format csv``)."""
    import pandas as pd

    return pd.read_csv(io.StringIO(_native.results_csv(json.dumps(results))))


def run(workspace, patchset=None, patches=None, slots=None, device=None, **work):
    """The fleet's work on this machine, one fit per core (``fitfleet run``): the results
    document, a dict keyed by patch name, the same as ``Job.results()`` gives."""
    extra = []
    if slots is not None:
        extra += ["--slots", str(int(slots))]
    if device is not None:
        extra += ["--device", device]
    with _input_flags(workspace, patchset, patches) as inputs:
        r = _call(["run", *inputs, *_work_flags(**work), *extra])
    if r["failed"]:
        warnings.warn(f"fitfleet.run: {r['failed']} of {r['total']} tasks failed (see each entry's reason)", stacklevel=2)
    return r["results"]


class _Progress:
    """tqdm (``tqdm.auto``: a widget in Jupyter) when installed, else a line on stderr."""

    def __init__(self, total, job):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self.tqdm = tqdm(total=total, desc=f"job {job[:8]}", unit="task") if tqdm else None
        self.total = total
        self.n = 0

    def update(self, n, failed):
        if self.tqdm is not None:
            self.tqdm.update(n - self.tqdm.n)
            if failed:
                self.tqdm.set_postfix(failed=failed)
        elif n != self.n:
            print(f"\r{n}/{self.total} tasks" + (f" ({failed} failed)" if failed else ""), end="", file=sys.stderr)
        self.n = n

    def close(self):
        if self.tqdm is not None:
            self.tqdm.close()
        else:
            print(file=sys.stderr)
