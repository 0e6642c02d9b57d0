"""build --set publishes a named variant with its overrides in the manifest; papermill by hand checks injected names."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import cli_env, run_cli

pytestmark = pytest.mark.slow


def test_build_set_publishes_a_named_variant_recorded_in_the_manifest(project):
    result = run_cli(project, "build", "--set", "multiplier=2", "--format", "html")
    assert result.returncode == 0, result.stderr + result.stdout
    folder = project / "reports" / "base+multiplier=2"
    manifest = json.loads((folder / "tiny.manifest.json").read_text())
    assert manifest["scenario"] == "base+multiplier=2"
    assert manifest["overrides"] == {"multiplier": 2}
    assert manifest["parameters"]["multiplier"] == 2 and manifest["parameters"]["scenario"] == "base"
    assert manifest["metrics"]["scenario_seen"] == "base"
    assert (folder / "tiny.html").is_file()
    assert not (project / "reports" / "base").exists(), "the plain base scenario is not touched"


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
