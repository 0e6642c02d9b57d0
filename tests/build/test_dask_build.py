"""``build --scheduler``: briefings executed and rendered on Dask workers, published by the client.

A real cluster is started the way the README says (``dask scheduler`` and ``dask worker`` processes), with the
throwaway project on the workers' import path, so workers and client run the same library. A second
project whose library differs is refused before anything runs. An unreachable scheduler is given up after
``RARE_EARTH_DASK_TIMEOUT`` seconds (short here), and a bad value of that setting is bad input.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import cli_env, make_project, run_cli

from rare_earth_lib import env as renv
from rare_earth_lib.build import cli
from rare_earth_lib.build.dask_executor import DaskExecutor
from rare_earth_lib.build.state import BuildInputError
from rare_earth_lib.models import discovery


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster_project(tmp_path_factory) -> Path:
    """The tiny project the cluster's workers import their library from (the module's builds run in it)."""
    return make_project(tmp_path_factory.mktemp("cluster") / "project")


@pytest.fixture(scope="module")
def cluster(cluster_project):
    """A Dask scheduler and two single-threaded workers importing the project's library, started once per module."""
    project = cluster_project
    dask = Path(sys.executable).parent / "dask"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = cli_env(project)
    procs = [
        subprocess.Popen(
            [str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=env,
            cwd=project,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        procs.append(
            subprocess.Popen(
                [str(dask), "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
                env=env,
                cwd="/",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        # Workers first, each waited for, then the scheduler: a nanny whose scheduler is gone while its worker closes
        # waits out its kill grace (8 s of `dask worker`'s 10 s close timeout) before it kills the worker process.
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.slow
@pytest.mark.xdist_group("dask-cluster")  # one worker, one cluster (the module fixture)
def test_build_on_the_cluster_publishes_like_a_local_build(cluster_project, cluster):
    project = cluster_project
    done = run_cli(project, "build", "--scheduler", cluster, "--scenario", "base", "--scenario", "us_policy_reversal")
    assert done.returncode == 0, done.stderr
    for scenario in ("base", "us_policy_reversal"):
        folder = project / "reports" / scenario
        manifest = json.loads((folder / "tiny.manifest.json").read_text())
        assert manifest["status"] == "ok" and manifest["parameters"]["scenario"] == scenario
        for fmt in ("ipynb", "html", "pdf"):
            assert (folder / f"tiny.{fmt}").stat().st_size == manifest["outputs"][fmt]["bytes"]
    assert not (project / "reports" / ".tmp").exists() or not any((project / "reports" / ".tmp").iterdir())
    # same cache rules: nothing changed, nothing runs (and no cluster is needed to say so)
    again = run_cli(project, "build", "--scheduler", cluster, "--scenario", "base")
    assert again.returncode == 0 and "up to date" in again.stdout + again.stderr
    # DASK_SCHEDULER_ADDRESS in place of --scheduler: test_the_scheduler_from_the_environment_...


@pytest.mark.slow
@pytest.mark.xdist_group("dask-cluster")  # one worker, one cluster (the module fixture)
def test_workers_with_another_library_are_refused_and_nothing_is_published(cluster, tmp_path):
    other = make_project(tmp_path / "other")
    (other / "rare_earth_lib" / "parameters" / "tiny.py").write_text(
        (other / "rare_earth_lib" / "parameters" / "tiny.py").read_text() + "\n# a local change the workers do not have\n"
    )
    done = run_cli(other, "build", "--scheduler", cluster, "--scenario", "base")
    assert done.returncode == 4, done.stderr
    assert "run a different rare_earth_lib" in done.stderr and "Install the same project version" in done.stderr
    assert not (other / "reports" / "base").exists()


def _run_cli_with(project: Path, settings: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``run_cli`` with environment variables added (``cli_env`` drops the caller's RARE_EARTH_* ones)."""
    return subprocess.run(
        [sys.executable, "-m", "rare_earth_lib.build.cli", "--root", str(project), *args],
        cwd=project,
        env={**cli_env(project), **settings},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_scheduler_from_the_environment_when_unreachable_is_an_environment_fault(project):
    """DASK_SCHEDULER_ADDRESS does what --scheduler does (the build connects there), and a scheduler nobody answers at
    is given up after RARE_EARTH_DASK_TIMEOUT seconds: exit 4, one line naming the address, nothing published."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    done = _run_cli_with(project, {renv.DASK_SCHEDULER: address, renv.DASK_TIMEOUT: "2"}, "build", "--scenario", "base")
    assert done.returncode == 4, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert f"Dask scheduler {address}: cannot connect" in line and "after 2 s" in line
    assert not (project / "reports" / "base").exists()


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "inf", "30s"])
def test_a_bad_dask_timeout_is_bad_input_before_anything_runs(project, monkeypatch, capsys, value):
    monkeypatch.setenv(renv.DASK_TIMEOUT, value)
    code = cli.main(["--root", str(project), "build", "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--scenario", "base"])
    assert code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert f"{renv.DASK_TIMEOUT}={value!r}" in line and "a number above 0" in line
    assert not (project / "reports").exists() or not any((project / "reports").rglob("*.manifest.json"))
    with pytest.raises(BuildInputError, match=renv.DASK_TIMEOUT):
        DaskExecutor("tcp://127.0.0.1:1")


def test_the_dask_timeout_defaults_to_30_s_and_reaches_both_clients(monkeypatch):
    """One setting for the build's Dask client and scenario discovery's (``discovery.connect`` to a scheduler)."""
    import distributed

    monkeypatch.delenv(renv.DASK_TIMEOUT, raising=False)
    assert renv.dask_timeout_s() == 30.0 and DaskExecutor("tcp://h:1").timeout_s == 30.0
    monkeypatch.setenv(renv.DASK_TIMEOUT, " 2.5 ")
    assert renv.dask_timeout_s() == 2.5
    seen = []

    class Unreachable:
        def __init__(self, address, timeout):
            seen.append((address, timeout))
            raise OSError(f"Timed out trying to connect to {address} after {timeout:g} s")

    monkeypatch.setattr(distributed, "Client", Unreachable)
    with pytest.raises(OSError), discovery.connect("tcp://h:1"):
        pass
    with pytest.raises(OSError, match=r"tcp://h:2: cannot connect .*after 2.5 s"):
        DaskExecutor("tcp://h:2").connect()
    assert seen == [("tcp://h:1", 2.5), ("tcp://h:2", 2.5)]
