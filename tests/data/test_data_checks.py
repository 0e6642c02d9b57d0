"""Unit tests of rare_earth_lib.data.checks on literal frames, plus invariants with hypothesis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rare_earth_lib.data import checks
from rare_earth_lib.data.checks import DataCheckError

SHARES = pd.DataFrame(
    {
        "stage": ["mining", "mining", "mining", "separation"],
        "year": [2025, 2025, 2025, 2023],
        "region": ["China", "United States", "Australia", "China"],
        "share": [0.69, 0.13, 0.07, 0.92],
    }
)
DATES = pd.DataFrame(
    {
        "fid_date": pd.to_datetime(["2022-04-15", None, "2014-04-15"]),
        "first_output_actual_date": pd.to_datetime([None, "2012-11-30", "2015-09-15"]),
    }
)
WORLD = pd.DataFrame(
    {
        "country": ["China", "United States", "Other", "World"],
        "year": [2025] * 4,
        "tonnes_reo": [270_000.0, 51_000.0, 68_310.0, 390_000.0],
        "is_world_total": [False, False, False, True],
    }
)


def test_shares_sum_passes_and_fails_with_row_and_column():
    checks.check_shares_sum(SHARES, ["stage", "year"], label="shares")
    bad = SHARES.assign(share=[0.69, 0.30, 0.07, 0.92])
    with pytest.raises(DataCheckError, match=r"shares, row 0 \(with rows 1, 2\), column share: .*sum to 1\.06"):
        checks.check_shares_sum(bad, ["stage", "year"], label="shares")


def test_shares_sum_where_mask_and_tolerance():
    bad = SHARES.assign(share=[0.69, 0.30, 0.07, 0.92])
    checks.check_shares_sum(bad, ["stage", "year"], where=[True, False, True, True])
    checks.check_shares_sum(SHARES.assign(share=[0.70, 0.23, 0.07, 0.92]), ["stage", "year"])  # exactly 1
    with pytest.raises(ValueError, match="tolerance"):
        checks.check_shares_sum(SHARES, ["stage"], tolerance=-1)


def test_non_negative_and_range_report_rows():
    frame = pd.DataFrame({"capacity_tpa": [10.0, np.nan, -3.0]})
    with pytest.raises(DataCheckError, match=r"projects, row 12, column capacity_tpa: value -3 is below the minimum 0"):
        checks.check_non_negative(frame, ["capacity_tpa"], label="projects", rows=[10, 11, 12])
    with pytest.raises(DataCheckError, match="above the maximum 1"):
        checks.check_range(pd.DataFrame({"share": [0.2, 1.5]}), "share", low=0, high=1)
    with pytest.raises(DataCheckError, match="not a finite number"):
        checks.check_range(pd.DataFrame({"x": ["1", "abc"]}), "x", low=0)


def test_dates_ordered():
    checks.check_dates_ordered(DATES, "fid_date", "first_output_actual_date")
    bad = DATES.assign(first_output_actual_date=pd.to_datetime(["2021-01-01", None, None]))
    with pytest.raises(DataCheckError, match=r"row 0, column first_output_actual_date: .* before fid_date 2022-04-15"):
        checks.check_dates_ordered(bad, "fid_date", "first_output_actual_date")


def test_world_total_within_rounding_and_outside():
    checks.check_world_total(WORLD, ["year"], "tonnes_reo", label="mine")
    bad = WORLD.assign(tonnes_reo=[300_000.0, 51_000.0, 68_310.0, 390_000.0])
    with pytest.raises(DataCheckError, match=r"mine, row 3, column tonnes_reo: world total 390,000"):
        checks.check_world_total(bad, ["year"], "tonnes_reo", label="mine")


@pytest.mark.parametrize(
    ("total", "expected"),
    [(380_000, 5_000), (390_000, 5_000), (376_000, 3_760), (75_000_000, 750_000), (1_234, 12.34)],
)
def test_rounding_tolerance(total, expected):
    assert checks.rounding_tolerance(total) == pytest.approx(expected)


def test_one_default_and_unique():
    frame = pd.DataFrame({"k": ["a", "a", "b"], "is_default": [True, False, False]})
    with pytest.raises(DataCheckError, match=r"row 2, column is_default: 0 rows marked default for \(k='b'\)"):
        checks.check_one_default(frame, ["k"])
    with pytest.raises(DataCheckError, match="duplicate key"):
        checks.check_unique(frame, ["k"])


def test_known_ids_and_tokens():
    frame = pd.DataFrame({"source_ids": ["S1;S4", "S1;S9"], "elements": ["Dy;Tb", "Dy;Xx"]})
    with pytest.raises(DataCheckError, match=r"row 1, column source_ids: unknown id 'S9'"):
        checks.check_known_ids(frame, "source_ids", {"S1", "S4"}, split=lambda s: s.split(";"))
    with pytest.raises(DataCheckError, match="'Xx'"):
        checks.check_allowed_tokens(frame, "elements", {"Dy", "Tb"})


def test_missing_column_and_bad_frame():
    with pytest.raises(DataCheckError, match="column missing"):
        checks.check_non_negative(SHARES, ["capacity_tpa"])
    with pytest.raises(ValueError, match="frame must be a pandas DataFrame"):
        checks.check_non_negative([1, 2], ["x"])
    with pytest.raises(ValueError, match="rows has 1 entries"):
        checks.check_non_negative(SHARES, ["share"], rows=[2])


def test_flag_matches_and_any_present():
    frame = pd.DataFrame(
        {"reached": [True, False], "actual": pd.to_datetime(["2020-01-01", "2021-01-01"]), "capacity": [1.0, 2.0], "basis": ["t_reo", None]}
    )
    with pytest.raises(DataCheckError, match="row 1, column reached"):
        checks.check_flag_matches(frame, "reached", "actual")
    with pytest.raises(DataCheckError, match="basis is required when capacity is filled"):
        checks.check_any_present(frame, ["basis"], when="capacity")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=1, max_size=8))
def test_normalised_shares_always_pass(weights):
    total = sum(weights)
    shares = [w / total for w in weights] if total > 0 else weights
    frame = pd.DataFrame({"g": ["x"] * len(shares), "share": shares})
    checks.check_shares_sum(frame, ["g"])


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0.01, max_value=0.5), st.integers(min_value=1, max_value=6))
def test_shares_exceeding_one_plus_tolerance_always_fail(excess, n):
    shares = [1.0 / n] * n
    shares[0] += excess
    frame = pd.DataFrame({"g": ["x"] * n, "share": shares})
    with pytest.raises(DataCheckError, match="sum to"):
        checks.check_shares_sum(frame, ["g"], tolerance=0.005)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=10**9))
def test_rounding_tolerance_covers_rounding_to_its_own_unit(total):
    tol = checks.rounding_tolerance(float(total))
    assert tol >= 0.01 * total
    assert tol >= 0.5
