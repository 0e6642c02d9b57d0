"""``build --scheduler``: briefings executed and rendered on Dask workers, published by the client.

A real cluster is started the way the README says (``dask scheduler`` and ``dask worker`` processes), with the
throwaway project on the workers' import path, so workers and client run the same library. A second
project whose library differs is refused before anything runs.
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

pytestmark = pytest.mark.slow


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
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


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
    # the environment variable does the same as --scheduler
    env = {**cli_env(project), "DASK_SCHEDULER_ADDRESS": cluster}
    forced = subprocess.run(
        [sys.executable, "-m", "rare_earth_lib.build.cli", "--root", str(project), "build", "--scenario", "base", "--force"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert forced.returncode == 0, forced.stderr


def test_workers_with_another_library_are_refused_and_nothing_is_published(cluster, tmp_path):
    other = make_project(tmp_path / "other")
    (other / "rare_earth_lib" / "parameters" / "tiny.py").write_text(
        (other / "rare_earth_lib" / "parameters" / "tiny.py").read_text() + "\n# a local change the workers do not have\n"
    )
    done = run_cli(other, "build", "--scheduler", cluster, "--scenario", "base")
    assert done.returncode == 4, done.stderr
    assert "run a different rare_earth_lib" in done.stderr and "Install the same project version" in done.stderr
    assert not (other / "reports" / "base").exists()


def test_an_unreachable_scheduler_is_an_environment_fault(project):
    done = run_cli(project, "build", "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--scenario", "base", timeout=120)
    assert done.returncode == 4
    assert "cannot connect" in done.stderr
