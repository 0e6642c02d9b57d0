"""What the data say about first-output targets: missed only when the stated period ended before the data's
as-of date; a target the build date has reached but the data do not cover has an unknown outcome."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rare_earth_lib.models import buildout
from rare_earth_lib.models import timeline as tl

AS_OF = "2026-05-27"
BUILD = dt.date(2026, 11, 30)


@pytest.mark.parametrize(
    ("stored", "precision", "text", "end"),
    [
        ("2026-11-15", "quarter", "Q4 2026", "2026-12-31"),
        ("2026-05-15", "quarter", "Q4 FY26", "2026-06-30"),
        ("2026-04-01", "half", "H1 2026", "2026-06-30"),
        ("2026-10-01", "half", "H2 2026", "2026-12-31"),
        ("2022-07-01", "year", "2022", "2022-12-31"),
        ("2027-02-15", "month", "Feb 2027", "2027-02-28"),
        ("2026-11-15", "part_year", "late 2026", "2026-12-31"),
        ("2025-02-15", "part_year", "early 2025", "2025-06-30"),
        ("2026-01-01", "fiscal_year", "FY2026", "2026-06-30"),
        ("2026-03-03", None, "", "2026-03-03"),
    ],
)
def test_stated_period_end(stored, precision, text, end):
    assert buildout.stated_period_end(stored, precision, text) == pd.Timestamp(end)
    assert buildout.stated_period_end(None, precision, text) is None


def _projects(**dates) -> pd.DataFrame:
    """One heavy-REE project per (target date, stated text) pair, none producing."""
    ids = list(dates)
    return pd.DataFrame(
        {
            "project_id": ids,
            "company": ["Co"] * len(ids),
            "site": ids,
            "country": ["United States"] * len(ids),
            "owner_country": ["United States"] * len(ids),
            "stages": ["heavy_separation"] * len(ids),
            "status": ["construction"] * len(ids),
            "ndpr_oxide_tpa": [np.nan] * len(ids),
            "dytb_oxide_tpa": [10.0] * len(ids),
            "first_output_planned_date": [pd.NaT] * len(ids),
            "first_output_target_date": pd.to_datetime([d for d, _ in dates.values()]),
            "first_output_actual_date": [pd.NaT] * len(ids),
            "dates_as_stated": [s for _, s in dates.values()],
        }
    )


def test_targets_either_side_of_the_data_date():
    pipeline = buildout.refining_pipeline(
        _projects(
            q1_missed=("2026-02-15", "first_output_target: 'Q1 2026' (quarter)"),
            apr_missed=("2026-04-15", "first_output_target: 'Apr 2026' (month)"),
            may_open=("2026-05-15", "first_output_target: 'May 2026' (month)"),
            q2_open=("2026-05-15", "first_output_target: 'Q2 2026' (quarter)"),
            h2_open=("2026-10-01", "first_output_target: 'H2 2026' (half)"),
            q4_open=("2026-11-15", "first_output_target: 'Q4 2026' (quarter)"),
            next_year=("2027-07-01", "first_output_target: '2027' (year)"),
        )
    ).set_index("project_id")
    missed = pd.Series(tl.target_passed(pipeline, AS_OF), index=pipeline.index)
    unknown = pd.Series(tl.target_after_data(pipeline, AS_OF, BUILD), index=pipeline.index)
    # the whole stated period over before 2026-05-27: missed
    assert missed["q1_missed"] and missed["apr_missed"]
    # May and Q2 targets still open on the as-of date, and H2 / Q4 2026 targets the build date has reached: not known
    for pid in ("may_open", "q2_open", "h2_open", "q4_open"):
        assert not missed[pid] and unknown[pid], pid
    # a 2027 target is still ahead of the build date: neither
    assert not missed["next_year"] and not unknown["next_year"]
    # the build date moving later never turns an unknown outcome into a missed target
    assert not tl.target_passed(pipeline, AS_OF)[list(pipeline.index).index("q4_open")]
    assert not tl.target_after_data(pipeline, AS_OF, dt.date(2026, 5, 28))[list(pipeline.index).index("q4_open")]


def test_a_producing_plant_never_missed_its_target():
    frame = _projects(done=("2025-02-15", "first_output_target: 'Q1 2025' (quarter)"))
    frame["first_output_actual_date"] = pd.to_datetime(["2025-06-01"])
    frame["status"] = ["ramping"]
    pipeline = buildout.refining_pipeline(frame)
    assert not tl.target_passed(pipeline, AS_OF).any() and not tl.target_after_data(pipeline, AS_OF, BUILD).any()


def test_a_stalled_build_is_not_inside_so_far_and_not_scored():
    from rare_earth_lib.models.timeline.hindcast import STALLED_OUTCOME, hindcast_coverage, mark_stalled

    table = pd.DataFrame(
        {
            "analog_id": ["done", "texas", "open", "late"],
            "project": ["A", "Lynas - Texas", "C", "Arafura - Nolans"],
            "censored": [False, True, True, True],
            "outcome": ["inside", "still open, inside so far", "still open, inside so far", "later than P90"],
            "decided": [True, False, False, True],
            "inside": [True, False, False, False],
        }
    )
    analogs = pd.DataFrame({"analog_id": ["done", "texas", "open", "late"], "project_id": ["a", "seadrift", "c", "nolans"]})
    projects = pd.DataFrame({"project_id": ["a", "seadrift", "c", "nolans"], "status": ["operating", "stalled", "construction", "pre_fid"]})
    marked = mark_stalled(table, analogs, projects).set_index("analog_id")
    assert marked.loc["texas", "outcome"] == STALLED_OUTCOME and not marked.loc["texas", "decided"]
    assert marked.loc["open", "outcome"] == "still open, inside so far"
    cov = hindcast_coverage(marked.reset_index())
    assert (cov["n_open"], cov["n_stalled"], cov["n_decided"], cov["coverage_rate"]) == (1, 1, 2, 0.5)
    # finished plants apart from the unbuilt miss
    assert (cov["n_finished"], cov["n_finished_inside"], cov["unbuilt_missed"]) == (1, 1, ["Arafura - Nolans"])


def test_capex_cells_carry_their_own_currency():
    from rare_earth_lib.models.timeline.tables import capex_text

    assert capex_text(1600.0, "AUD") == "A$1,600m"
    assert capex_text(25.0, "USD") == "US$25m"
    assert capex_text(np.nan, "USD") == ""
    assert capex_text(40.0, None) == "40m (currency not stated)"
