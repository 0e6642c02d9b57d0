"""A build computes the model results its briefings share once; its headline metrics equal cold, one-at-a-time runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT, cli_env, make_project, run_cli

from rare_earth_lib.build import render

pytestmark = pytest.mark.slow

BRIEFINGS = ("alliance_feasibility", "refining_timeline")
TRIALS = "300"


def test_shared_results_give_the_metrics_of_cold_one_at_a_time_runs(tmp_path):
    project = make_project(tmp_path / "project")
    for name in BRIEFINGS:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", project / "notebooks")
    args = ["build", "--scenario", "base", "--format", "html", "--set", f"n_trials={TRIALS}", "--jobs", "2"]
    args += [a for name in BRIEFINGS for a in ("--briefing", name)]
    result = run_cli(project, *args, timeout=1500)
    assert result.returncode == 0, result.stdout + result.stderr
    folder = project / "reports" / f"base+n_trials={TRIALS}"
    assert not (project / "reports" / ".tmp" / "shared").exists(), "the shared results go with the build's staging area"
    for name in BRIEFINGS:
        built = json.loads((folder / f"{name}.manifest.json").read_text())["metrics"]
        out = tmp_path / f"{name}.ipynb"
        cold = subprocess.run(  # papermill by hand: no build, nothing shared, one notebook at a time
            [sys.executable, "-m", "papermill", f"notebooks/{name}.ipynb", str(out), "-f", "params/base.yaml"]
            + ["-p", "n_trials", TRIALS, "--cwd", "notebooks", "--no-progress-bar"],
            cwd=project,
            env=cli_env(project),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert cold.returncode == 0, cold.stderr[-2000:]
        metrics = render.notebook_metrics(nbformat.read(out, as_version=4))
        assert metrics and built == json.loads(json.dumps(metrics)), name
