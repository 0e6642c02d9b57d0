"""Bad-data tests: one corrupted temporary copy of the package per validation rule.

Each case copies the package to ``tmp_path``, changes one cell (or row), points
``RARE_EARTH_DATA_DIR`` at the copy and asserts that loading fails with a
message naming the file, the CSV row (header = row 1) and the column.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass

import pytest

from rare_earth_lib.data import package as dp


@dataclass(frozen=True)
class Corruption:
    """Set ``column`` to ``value`` in the row of ``table`` matching ``key``.

    Group rules (sums, defaults) name the first row of the offending group;
    ``expect_row_key`` then identifies that row.
    """

    table: str
    key: dict
    column: str
    value: str
    expect_column: str | None = None
    expect_row_key: dict | None = None  # row the error must name, if not the edited one
    match: str = ""


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _row_index(header, rows, key):
    idx = [i for i, r in enumerate(rows) if all(r[header.index(k)] == v for k, v in key.items())]
    assert len(idx) == 1, (key, idx)
    return idx[0]


@pytest.fixture
def package(tmp_path, monkeypatch):
    copy = tmp_path / "data"
    shutil.copytree(dp.DEFAULT_DATA_DIR, copy)
    monkeypatch.setenv(dp.RARE_EARTH_DATA_DIR, str(copy))
    monkeypatch.delenv(dp.RARE_EARTH_TRACE, raising=False)
    return copy


CASES = {
    "non_numeric_capacity": Corruption("projects", {"project_id": "iluka_eneabba"}, "capacity_tpa", "abc", match="not a number"),
    "nan_capacity": Corruption("projects", {"project_id": "iluka_eneabba"}, "capacity_tpa", "nan"),
    "negative_capacity": Corruption("projects", {"project_id": "iluka_eneabba"}, "capacity_tpa", "-5", match="minimum"),
    "negative_ndpr_capacity": Corruption("projects", {"project_id": "lynas_lamp"}, "ndpr_oxide_tpa", "-1", match="minimum"),
    "first_output_before_fid": Corruption(
        "projects", {"project_id": "iluka_eneabba"}, "first_output_target_date", "2021-06-30", match="before fid_date"
    ),
    "actual_output_before_fid": Corruption(
        "projects", {"project_id": "shin_etsu_vietnam"}, "first_output_actual_date", "2013-01-01", match="before fid_date"
    ),
    "invalid_calendar_date": Corruption("projects", {"project_id": "iluka_eneabba"}, "fid_date", "2022-02-30", match="date"),
    "non_iso_date": Corruption("projects", {"project_id": "iluka_eneabba"}, "fid_date", "Apr 2022", match="date"),
    "boolean_spelling": Corruption("projects", {"project_id": "iluka_eneabba"}, "capacity_is_estimate", "TRUE", match="boolean"),
    "status_not_in_enum": Corruption("projects", {"project_id": "iluka_eneabba"}, "status", "dreaming", match="enum"),
    "stage_token_unknown": Corruption("projects", {"project_id": "iluka_eneabba"}, "stages", "separation;smelting", match="pattern"),
    "required_missing": Corruption("projects", {"project_id": "iluka_eneabba"}, "company", "", match="required"),
    "duplicate_primary_key": Corruption("projects", {"project_id": "iluka_eneabba"}, "project_id", "lynas_mt_weld", match="primary key"),
    "capacity_range_inverted": Corruption(
        "projects", {"project_id": "iluka_eneabba"}, "capacity_high_tpa", "100", match="below the lower end"
    ),
    "ndpr_above_nameplate": Corruption("projects", {"project_id": "arafura_nolans"}, "ndpr_oxide_tpa", "5000", match="exceeds"),
    "capacity_without_basis": Corruption(
        "projects", {"project_id": "iluka_eneabba"}, "capacity_basis", "", match="capacity_basis is required"
    ),
    "capacity_without_kind": Corruption(
        "projects", {"project_id": "iluka_eneabba"}, "capacity_kind", "", match="capacity_kind is required when capacity_tpa is filled"
    ),
    "oxide_capacity_without_kind": Corruption(
        "projects", {"project_id": "lynas_lamp_hre_circuit"}, "capacity_kind", "", match="capacity_kind is required"
    ),
    "capacity_without_source": Corruption(
        "projects", {"project_id": "arafura_nolans"}, "capacity_source_ids", "", match="capacity_source_ids is required"
    ),
    "capacity_source_not_in_row": Corruption(
        "projects", {"project_id": "arafura_nolans"}, "capacity_source_ids", "S1", match="not among the row's source_ids"
    ),
    "capacity_kind_not_in_enum": Corruption("projects", {"project_id": "arafura_nolans"}, "capacity_kind", "guess", match="enum"),
    "observed_output_without_kind": Corruption(
        "projects", {"project_id": "mp_mountain_pass"}, "observed_output_kind", "", match="observed_output_kind is required"
    ),
    "observed_output_without_period_start": Corruption(
        "projects", {"project_id": "mp_mountain_pass"}, "observed_output_start", "", match="observed_output_start is required"
    ),
    "observed_output_without_source": Corruption(
        "projects", {"project_id": "lynas_lamp"}, "observed_output_source_ids", "", match="observed_output_source_ids is required"
    ),
    "run_rate_over_a_year": Corruption(
        "projects",
        {"project_id": "mp_mountain_pass"},
        "observed_output_start",
        "2024-01-01",
        expect_column="observed_output_kind",
        match="run_rate",
    ),
    "annual_output_not_a_year": Corruption(
        "projects",
        {"project_id": "lynas_lamp"},
        "observed_output_start",
        "2025-04-01",
        expect_column="observed_output_kind",
        match="whole year",
    ),
    "observed_output_after_as_of": Corruption(
        "projects", {"project_id": "mp_mountain_pass"}, "observed_output_end", "2026-06-30", match="after the package as-of date"
    ),
    "observed_output_end_before_start": Corruption(
        "projects", {"project_id": "mp_mountain_pass"}, "observed_output_end", "2025-12-31", match="before observed_output_start"
    ),
    "estimated_output_without_method": Corruption(
        "projects", {"project_id": "mp_mountain_pass"}, "observed_output_method", "", match="observed_output_method is required"
    ),
    "annual_output_without_year": Corruption(
        "projects", {"project_id": "mp_mountain_pass"}, "annual_output_year", "", match="annual_output_year is required"
    ),
    "unknown_source_id": Corruption("projects", {"project_id": "iluka_eneabba"}, "source_ids", "S68;S999", match="S999"),
    "malformed_source_ids": Corruption(
        "demand",
        {"region": "japan", "product": "ndpr_oxide", "year": "2024", "outlook": "JSNM"},
        "source_ids",
        "D29a; D29b",
        match="pattern",
    ),
    "bad_as_of": Corruption(
        "demand", {"region": "japan", "product": "ndpr_oxide", "year": "2024", "outlook": "JSNM"}, "as_of", "mid-2024", match="pattern"
    ),
    "share_above_one": Corruption(
        "stage_shares", {"stage": "separation", "region": "China", "year": "2023"}, "share", "1.2", match="maximum"
    ),
    "share_negative": Corruption("trade_exposure", {"importer": "united_states", "product": "terbium"}, "share", "-0.1", match="minimum"),
    "stage_shares_sum_above_one": Corruption(
        "stage_shares",
        {"stage": "mining", "region": "United States", "year": "2025", "outlook": "USGS MCS 2026 (derived)"},
        "share",
        "0.5",
        match="sum to",
        expect_row_key={"stage": "mining", "region": "China", "year": "2025", "outlook": "USGS MCS 2026 (derived)"},
    ),
    "import_shares_sum_above_one": Corruption(
        "trade_exposure",
        {"importer": "united_states", "product": "ree_compounds_metals", "period": "2021-2024", "partner": "Malaysia"},
        "share",
        "0.3",
        match="sum to",
        expect_row_key={"importer": "united_states", "product": "ree_compounds_metals", "period": "2021-2024", "partner": "China"},
    ),
    "world_total_disagrees": Corruption(
        "mine_production",
        {"country": "China", "year": "2025", "usgs_edition": "2026"},
        "tonnes_reo",
        "300000",
        expect_row_key={"country": "World", "year": "2025", "usgs_edition": "2026"},
        expect_column="tonnes_reo",
        match="rounding tolerance",
    ),
    "world_total_edited": Corruption(
        "mine_production", {"country": "World", "year": "2024", "usgs_edition": "2025"}, "tonnes_reo", "420000", match="sum of countries"
    ),
    "integer_with_decimals": Corruption("mine_production", {"country": "China", "year": "2025"}, "usgs_edition", "2026.5", match="integer"),
    "two_defaults": Corruption(
        "mine_production",
        {"country": "China", "year": "2024", "usgs_edition": "2025"},
        "is_default",
        "true",
        match="exactly one",
        expect_row_key={"country": "China", "year": "2024", "usgs_edition": "2026"},
    ),
    "no_default": Corruption(
        "mine_production",
        {"country": "China", "year": "2024", "usgs_edition": "2026"},
        "is_default",
        "false",
        expect_row_key={"country": "China", "year": "2024", "usgs_edition": "2026"},
        match="0 rows marked default",
    ),
    "year_not_before_edition": Corruption(
        "mine_production", {"country": "India", "year": "2023"}, "year", "2026", match="not before usgs_edition"
    ),
    "reserves_lower_bound": Corruption(
        "reserves", {"country": "World", "usgs_edition": "2026"}, "tonnes_reo", "80000000", match="lower bound"
    ),
    "utilisation_above_one": Corruption("build_analogs", {"analog_id": "lynas_lamp"}, "first_year_utilisation", "1.4", match="maximum"),
    "reached_flag_mismatch": Corruption(
        "build_analogs", {"analog_id": "iluka_eneabba"}, "reached_first_output", "true", match="reached_first_output is True"
    ),
    "analog_output_before_decision": Corruption(
        "build_analogs", {"analog_id": "neo_narva"}, "actual_first_output_date", "2022-01-01", match="before decision_date"
    ),
    "foreign_key_project": Corruption(
        "build_analogs", {"analog_id": "iluka_eneabba"}, "project_id", "no_such_project", match="foreign key"
    ),
    "demand_negative": Corruption(
        "demand", {"region": "world", "product": "magnet_ree", "year": "2030"}, "tonnes", "-131000", match="minimum"
    ),
    "demand_two_defaults": Corruption(
        "demand",
        {"region": "united_states", "product": "ndfeb_magnet", "year": "2024", "outlook": "Fact base D7 range"},
        "is_default",
        "true",
        match="exactly one",
        expect_row_key={"region": "united_states", "product": "ndfeb_magnet", "year": "2024", "outlook": "China customs (exports to US)"},
    ),
    "demand_case_not_in_enum": Corruption(
        "demand", {"region": "united_states", "product": "ndpr_oxide", "year": "2030"}, "demand_case", "likely", match="enum"
    ),
    "demand_case_twice": Corruption(
        "demand", {"region": "united_states", "product": "ndpr_oxide", "year": "2030"}, "demand_case", "low", match="duplicate key"
    ),
    "demand_without_method_class": Corruption(
        "demand", {"region": "united_states", "product": "ndpr_oxide", "year": "2030"}, "method_class", "", match="required"
    ),
    "conflict_of_one": Corruption(
        "demand", {"region": "japan", "product": "ndpr_oxide", "year": "2023"}, "conflict_group", "lonely_figure", match="needs two figures"
    ),
    "funding_without_stage": Corruption(
        "projects", {"project_id": "mp_10x"}, "funding_stage", "", match="funding_stage is required when a funding column is above 0"
    ),
    "other_funding_without_instrument": Corruption(
        "projects", {"project_id": "arafura_nolans"}, "funding_other_instrument", "", match="funding_other_instrument is required"
    ),
    "fixed_floor_without_volume": Corruption(
        "price_floors", {"floor_id": "japan_jare_lynas_ndpr_floor"}, "volume_tpa", "", match="volume_tpa is required"
    ),
    "company_floor_with_volume": Corruption(
        "price_floors", {"floor_id": "us_dod_mp_ndpr_floor"}, "volume_tpa", "2144", match="no fixed tonnage"
    ),
    "floor_ends_before_start": Corruption(
        "price_floors", {"floor_id": "us_dod_mp_ndpr_floor"}, "end_date", "2024-01-01", match="before start_date"
    ),
    "capex_intensity_arithmetic": Corruption(
        "capex_intensity", {"capex_id": "iluka_eneabba_reo"}, "usd_per_tpa", "16000", match="differs from capex_musd / capacity_tpa"
    ),
    "money_counted_without_project": Corruption(
        "framework_money", {"item": "jare_2011"}, "project_id", "", match="project_id is required when in_project_funding"
    ),
    "money_funds_not_in_enum": Corruption("framework_money", {"item": "jare_2011"}, "funds", "everything", match="enum"),
    "estimated_price_without_method": Corruption(
        "prices", {"price_id": "ndpr_oxide_china_domestic_2026_1"}, "method", "", match="formula in method"
    ),
    "control_display_name_twice": Corruption(
        "export_controls",
        {"measure_id": "mofcom_57_2025"},
        "display_name",
        "October 2025 extraterritorial rule (No. 61)",
        match="duplicate key",
    ),
    "control_text_source_not_in_row": Corruption(
        "export_controls", {"measure_id": "mofcom_61_2025"}, "text_source_ids", "E28", match="not among the row's source_ids"
    ),
    "control_type_not_in_enum": Corruption("export_controls", {"measure_id": "mofcom_61_2025"}, "control_type", "maybe", match="enum"),
    "chinese_technology_not_in_enum": Corruption(
        "projects", {"project_id": "ucore_louisiana"}, "chinese_technology", "perhaps", match="enum"
    ),
    "share_conflict_of_one": Corruption(
        "stage_shares",
        {"stage": "magnet", "region": "Japan", "source_ids": "D25"},
        "conflict_group",
        "argus_alone",
        match="needs two figures",
    ),
    "money_without_display_name": Corruption("framework_money", {"item": "jare_2011"}, "display_name", "", match="required"),
    "projection_shares_above_one": Corruption(
        "projections",
        {"projection_id": "iea_gcmo2024_sep_malaysia_2030"},
        "share",
        "0.3",
        match="sum to",
        expect_row_key={"projection_id": "iea_gcmo2024_sep_china_2030"},
    ),
    "derived_projection_without_method": Corruption(
        "projections", {"projection_id": "iea_gcmo2024_sep_others_2030"}, "method", "", match="formula in method"
    ),
    "growth_rate_arithmetic": Corruption(
        "growth_rates", {"rate_id": "china_mining_quota_2023_2025"}, "annual_growth", "0.05", match="compound rate"
    ),
    "growth_two_defaults": Corruption(
        "growth_rates",
        {"rate_id": "china_mining_quota_2023_2024"},
        "is_default",
        "true",
        match="exactly one",
        expect_row_key={"rate_id": "china_mining_quota_2023_2025"},
    ),
    "growth_years_reversed": Corruption(
        "growth_rates", {"rate_id": "china_mining_quota_2023_2024"}, "end_year", "2022", match="before start_year"
    ),
    "target_without_stated_on": Corruption(
        "projects", {"project_id": "iluka_eneabba"}, "first_output_target_stated_on", "", match="first_output_target_stated_on is required"
    ),
    "target_stated_after_as_of": Corruption(
        "projects", {"project_id": "iluka_eneabba"}, "first_output_target_stated_on", "2026-09-01", match="after the package as-of date"
    ),
    "price_date_year_mismatch": Corruption(
        "prices", {"price_id": "ndpr_oxide_price_floor_2025_1"}, "price_date", "2024-10-01", match="differs from year"
    ),
    "unknown_element": Corruption("export_controls", {"measure_id": "mofcom_18_2025"}, "elements", "Sm;Gd;Xx", match="'Xx'"),
    "suspension_end_before_start": Corruption(
        "export_controls", {"measure_id": "mofcom_61_2025"}, "suspended_until", "2025-11-01", match="before suspended_from"
    ),
    "suspended_without_end": Corruption(
        "export_controls", {"measure_id": "mofcom_62_2025"}, "suspended_until", "", match="suspended_until is empty"
    ),
    "de_minimis_above_one": Corruption(
        "export_controls", {"measure_id": "mofcom_61_2025"}, "de_minimis_value_share", "1.5", match="maximum"
    ),
    "framework_money_fk": Corruption("framework_money", {"item": "nolans_equity"}, "framework_id", "no_framework", match="foreign key"),
    "trade_flow_without_quantity": Corruption(
        "trade_flows", {"period": "Oct 2025", "importer": "Japan"}, "tonnes", "", match="at least one"
    ),
    "chain_output_two_defaults": Corruption(
        "chain_output",
        {"region": "China", "product": "ndfeb_magnet", "source_ids": "D66"},
        "is_default",
        "true",
        match="exactly one",
        expect_row_key={"region": "China", "product": "ndfeb_magnet", "source_ids": "D29d"},
    ),
    "source_grade_not_in_enum": Corruption("sources", {"source_id": "S1"}, "grade", "P", match="enum"),
    # an estimated capacity says so in every table: its label is required and starts "estimate: "
    "estimate_without_label": Corruption(
        "projects", {"project_id": "lynas_malaysia_hre_new"}, "capacity_estimate_label", "", match="capacity_estimate_label is required"
    ),
    "estimate_label_reading_stated": Corruption(
        "projects", {"project_id": "lynas_lamp_hre_circuit"}, "capacity_estimate_label", "stated", match="pattern"
    ),
    "estimate_without_method": Corruption(
        "projects", {"project_id": "lynas_lamp_hre_circuit"}, "capacity_method", "", match="capacity_method is required"
    ),
    # public money carries the date it was committed, never a project milestone, and not after the data
    "funding_without_dates": Corruption(
        "projects", {"project_id": "mp_mountain_pass"}, "funding_dates_as_stated", "", match="funding_dates_as_stated is required"
    ),
    "funding_date_after_as_of": Corruption(
        "projects", {"project_id": "mp_mountain_pass"}, "funding_date", "2026-06-30", match="after the package as-of date"
    ),
    # a framework date says whether it was signed or announced; a deadline keeps its stated precision
    "framework_date_kind_unknown": Corruption("frameworks", {"framework_id": "au_strategic_reserve"}, "date_kind", "agreed", match="enum"),
    "deadline_without_precision": Corruption(
        "frameworks", {"framework_id": "au_strategic_reserve"}, "deadline_precision", "", match="deadline_precision is required"
    ),
    "period_deadline_mid_period": Corruption(
        "frameworks", {"framework_id": "au_strategic_reserve"}, "deadline_date", "2026-10-01", match="period's last day"
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_corrupted_copy_fails_naming_file_row_column(package, case):
    path = package / f"{case.table}.csv"
    header, rows = _read(path)
    i = _row_index(header, rows, case.key)
    expect_row = i + 2
    if case.expect_row_key:
        expect_row = _row_index(header, rows, case.expect_row_key) + 2
    rows[i][header.index(case.column)] = case.value
    _write(path, header, rows)
    with pytest.raises(dp.DataPackageError) as info:
        dp.load(case.table)
    msg = str(info.value)
    assert f"data/{case.table}.csv" in msg
    assert f"row {expect_row}" in msg
    assert f"column {case.expect_column or case.column}" in msg
    assert case.match in msg
    assert str(package.parent) not in msg  # never an absolute machine path
    assert isinstance(info.value, ValueError)
    assert str(info.value.row).split()[0] == str(expect_row)


def test_missing_column_is_a_header_error(package):
    path = package / "projects.csv"
    header, rows = _read(path)
    j = header.index("capex_currency")
    _write(path, [h for k, h in enumerate(header) if k != j], [[c for k, c in enumerate(r) if k != j] for r in rows])
    with pytest.raises(dp.DataPackageError) as info:
        dp.load("projects")
    assert "projects.csv, row 1" in str(info.value)
    assert "capex_currency" in str(info.value)


def test_row_with_extra_cell(package):
    path = package / "frameworks.csv"
    header, rows = _read(path)
    rows[1].append("surplus")
    _write(path, header, rows)
    with pytest.raises(dp.DataPackageError, match=r"frameworks\.csv, row 3, column .*extra cell"):
        dp.load("frameworks")


def test_unused_source_is_reported(package):
    path = package / "sources.csv"
    header, rows = _read(path)
    extra = list(rows[0])
    extra[header.index("source_id")] = "S999"
    rows.append(extra)
    _write(path, header, rows)
    dp.load("sources")  # the table itself is valid
    with pytest.raises(dp.DataPackageError) as info:
        dp.validate_package()
    assert f"sources.csv, row {len(rows) + 1}, column source_id" in str(info.value)
    assert "not cited" in str(info.value)


def test_dependent_table_checks_ids_against_copy(package):
    """Removing a cited source from the copy makes every table citing it fail."""
    path = package / "sources.csv"
    header, rows = _read(path)
    rows = [r for r in rows if r[0] != "S4"]
    _write(path, header, rows)
    with pytest.raises(dp.DataPackageError, match=r"reserves\.csv, row \d+, column source_ids: unknown id 'S4'"):
        dp.load("reserves")


def test_explicit_directory_argument(tmp_path):
    copy = tmp_path / "other"
    shutil.copytree(dp.DEFAULT_DATA_DIR, copy)
    path = copy / "demand.csv"
    header, rows = _read(path)
    rows[0][header.index("tonnes")] = "lots"
    _write(path, header, rows)
    with pytest.raises(dp.DataPackageError, match=r"other/demand\.csv, row 2, column tonnes"):
        dp.load("demand", copy)
    assert len(dp.load("demand")) == len(rows)  # the shipped package is untouched
