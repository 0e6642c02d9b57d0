"""Both briefings state the same "today's" capacity: one capacity model, the same manifest keys."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from rare_earth_lib import parameters
from rare_earth_lib.build import render

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("ndpr_capacity_today_tpa", "dytb_capacity_today_tpa")


def _execute(briefing: str, out_dir: Path) -> dict:
    import papermill as pm

    values = parameters.validate_scenario(ROOT / "params" / "base.yaml", [briefing])[briefing].model_dump(mode="json")
    out = out_dir / f"{briefing}.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / f"{briefing}.ipynb"),
        str(out),
        parameters=values,
        kernel_name="python3",
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
        execution_timeout=300,
    )
    return render.notebook_metrics(nbformat.read(out, as_version=4))


def test_both_briefings_record_the_same_todays_capacity(tmp_path):
    timeline = _execute("refining_timeline", tmp_path)
    feasibility = _execute("alliance_feasibility", tmp_path)
    for key in KEYS:
        assert timeline[key] is not None and timeline[key] == feasibility[key], key
