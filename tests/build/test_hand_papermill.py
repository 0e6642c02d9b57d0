"""papermill by hand checks the injected names (a ``build --set`` variant: tests/build/test_history_builds.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import cli_env

pytestmark = pytest.mark.slow


def _papermill(project, params_file):
    return subprocess.run(
        [sys.executable, "-m", "papermill", "notebooks/tiny.ipynb", "out.ipynb", "-f", params_file, "--cwd", "notebooks"],
        cwd=project,
        env=cli_env(project),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_hand_run_papermill_fails_on_a_typo_and_ignores_other_briefings_parameters(project):
    ok = _papermill(project, "params/base.yaml")  # holds the real briefings' parameters, not the tiny one's
    assert ok.returncode == 0, ok.stderr[-2000:]
    (project / "params" / "typo.yaml").write_text("scenario_title: Typo\nmultiplyer: 2\n")
    bad = _papermill(project, "params/typo.yaml")
    assert bad.returncode != 0
    assert "parameter 'multiplyer': unknown parameter: no briefing declares it (did you mean 'multiplier'?)" in bad.stderr + bad.stdout
