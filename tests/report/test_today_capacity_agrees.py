"""Both briefings state the same "today's" capacity: one capacity model, the same manifest keys."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

KEYS = ("ndpr_capacity_today_tpa", "dytb_capacity_today_tpa")


def test_both_briefings_record_the_same_todays_capacity(real_build):
    base = real_build("base") / "base"
    timeline = json.loads((base / "refining_timeline.manifest.json").read_text(encoding="utf-8"))["metrics"]
    feasibility = json.loads((base / "alliance_feasibility.manifest.json").read_text(encoding="utf-8"))["metrics"]
    for key in KEYS:
        assert timeline[key] is not None and timeline[key] == feasibility[key], key
    # ... and divide it by the same demand: today's coverage on each demand case is one number in both
    for product in ("ndpr", "dytb"):
        for case in ("low", "central", "high"):
            share = round(feasibility[f"{product}_self_sufficiency_{case}"], 4)
            assert share == timeline[f"{product}_today_coverage_{case}"], (product, case)
