"""Loader API of the data package: typing, as-of, sources, tracing, caching, data dir."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from rare_earth_lib.data import package as dp

DESCRIPTOR = json.loads((dp.DEFAULT_DATA_DIR / "datapackage.json").read_text(encoding="utf-8"))
TABLES = [r["name"] for r in DESCRIPTOR["resources"]]

CONTRACT_COLUMNS = {
    "mine_production": ["country", "year", "tonnes_reo", "usgs_edition", "estimated", "is_default"],
    "reserves": ["country", "usgs_edition", "tonnes_reo", "is_default"],
    "stage_shares": ["stage", "region", "year", "share", "kind", "outlook", "is_default"],
    "projects": [
        "project_id",
        "company",
        "site",
        "country",
        "owner_country",
        "stages",
        "product",
        "capacity_tpa",
        "capacity_basis",
        "ndpr_oxide_tpa",
        "dytb_oxide_tpa",
        "capacity_is_estimate",
        "status",
        "announced_date",
        "fid_date",
        "construction_start_date",
        "first_output_planned_date",
        "first_output_target_date",
        "first_output_actual_date",
        "nameplate_target_date",
        "capex_value",
        "capex_currency",
        "funding_us_musd",
        "funding_japan_musd",
        "funding_australia_musd",
        "funding_other_musd",
    ],
    "build_analogs": [
        "analog_id",
        "project",
        "country",
        "stage",
        "greenfield",
        "decision_basis",
        "decision_date",
        "planned_first_output_date",
        "actual_first_output_date",
        "reached_first_output",
        "nameplate_tpa",
        "first_year_output_tpa",
        "first_year_utilisation",
        "capex_planned",
        "capex_actual",
        "capex_currency",
        "outcome",
    ],
    "demand": ["region", "product", "year", "tonnes", "kind", "outlook", "is_estimate", "method"],
    "prices": ["product", "year", "price_type", "usd_per_kg"],
    "export_controls": [
        "measure_id",
        "measure",
        "authority",
        "announced_date",
        "effective_date",
        "suspended_from",
        "suspended_until",
        "status",
        "elements",
        "scope",
        "stages",
        "de_minimis_value_share",
        "technology_rule",
    ],
    "frameworks": [
        "framework_id",
        "name",
        "parties",
        "signed_date",
        "commitment_musd",
        "instruments",
        "deadline_date",
        "deadline_text",
    ],
    "trade_exposure": ["importer", "product", "period", "year_end", "partner", "share"],
    "sources": ["source_id", "publisher", "title", "published", "url", "accessed", "grade", "note"],
}


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(dp.RARE_EARTH_DATA_DIR, raising=False)
    monkeypatch.delenv(dp.RARE_EARTH_TRACE, raising=False)


@pytest.mark.parametrize("name", sorted(CONTRACT_COLUMNS))
def test_contract_columns_present(name):
    frame = dp.load(name)
    missing = [c for c in CONTRACT_COLUMNS[name] if c not in frame.columns]
    assert missing == []
    if name != "sources":
        assert {"source_ids", "as_of"} <= set(frame.columns)


@pytest.mark.parametrize("name", TABLES)
def test_types_follow_descriptor(name):
    frame = dp.load(name)
    fields = next(r for r in DESCRIPTOR["resources"] if r["name"] == name)["schema"]["fields"]
    assert list(frame.columns) == [f["name"] for f in fields]
    for f in fields:
        col = frame[f["name"]]
        if f["type"] == "date":
            assert col.dtype == "datetime64[ns]", f["name"]
        elif f["type"] == "boolean":
            assert col.dtype == bool, f["name"]
        elif f["type"] == "integer":
            assert pd.api.types.is_integer_dtype(col), f["name"]
        elif f["type"] == "number":
            assert col.dtype == "float64", f["name"]
        else:
            assert pd.api.types.is_string_dtype(col), f["name"]


def test_every_row_has_source_ids_and_as_of():
    for name in TABLES:
        if name == "sources":
            continue
        frame = dp.load(name)
        assert frame["source_ids"].notna().all(), name
        assert frame["as_of"].str.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?").all(), name


def test_unknown_dates_are_nat_not_strings():
    projects = dp.load("projects").set_index("project_id")
    assert pd.isna(projects.loc["arafura_nolans", "fid_date"])
    assert projects.loc["iluka_eneabba", "fid_date"] == pd.Timestamp("2022-04-15")


def test_as_of_is_a_date_from_the_descriptor():
    assert dp.as_of() == dt.date(2026, 5, 27)
    assert dp.as_of() == dt.date.fromisoformat(DESCRIPTOR["as_of"])


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("S1;S4", ["S1", "S4"]), ("D29a", ["D29a"]), ("S89f;D21;D21b", ["S89f", "D21", "D21b"]), ("", [])],
)
def test_split_ids(cell, expected):
    assert dp.split_ids(cell) == expected


@pytest.mark.parametrize("cell", ["S1; S4", "S1;;S4", "X1", "S1,S4", "s1"])
def test_split_ids_rejects_malformed(cell):
    with pytest.raises(ValueError, match="ids"):
        dp.split_ids(cell)


def test_split_ids_rejects_non_strings():
    with pytest.raises(ValueError, match="ids"):
        dp.split_ids(None)


def test_sources_for_frame_returns_each_source_once():
    projects = dp.load("projects")
    eneabba = projects[projects["project_id"] == "iluka_eneabba"]
    src = dp.sources_for(eneabba)
    assert set(src["source_id"]) == set(dp.split_ids(eneabba["source_ids"].iloc[0]))
    assert src["source_id"].is_unique
    assert {"source_id", "publisher", "title", "published", "url", "accessed", "grade", "note"} <= set(src.columns)


def test_sources_for_ids_and_unknown_id():
    src = dp.sources_for(["S1", "S1;S4"])
    assert list(src["source_id"]) == ["S1", "S4"]
    assert set(src["grade"]) == {"primary"}
    with pytest.raises(ValueError, match="S999"):
        dp.sources_for("S999")
    with pytest.raises(ValueError, match="source_ids"):
        dp.sources_for(pd.DataFrame({"x": [1]}))


def test_unknown_table_name():
    with pytest.raises(ValueError, match="unknown table"):
        dp.load("no_such_table")


def test_trace_appends_table_names(tmp_path, monkeypatch):
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv(dp.RARE_EARTH_TRACE, str(trace))
    dp.load("projects")
    dp.load("demand")
    dp.load("projects")
    assert trace.read_text().splitlines() == ["projects", "demand", "projects"]


def test_data_dir_env_points_to_copy(tmp_path, monkeypatch):
    copy = tmp_path / "pkg"
    shutil.copytree(dp.DEFAULT_DATA_DIR, copy)
    desc = json.loads((copy / "datapackage.json").read_text())
    desc["as_of"] = "2026-06-30"
    (copy / "datapackage.json").write_text(json.dumps(desc))
    monkeypatch.setenv(dp.RARE_EARTH_DATA_DIR, str(copy))
    assert dp.as_of() == dt.date(2026, 6, 30)
    assert len(dp.load("projects")) == len(dp.load("projects", dp.DEFAULT_DATA_DIR))


def test_cache_returns_independent_frames():
    a = dp.load("projects")
    a["capacity_tpa"] = -1.0
    b = dp.load("projects")
    assert (b["capacity_tpa"].dropna() >= 0).all()


def test_cache_invalidated_when_file_changes(tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(dp.DEFAULT_DATA_DIR, copy)
    n = len(dp.load("framework_money", copy))
    path = copy / "framework_money.csv"
    lines = path.read_text().splitlines()
    jare = next(line for line in lines if "jare_2023_heavy_ree" in line)
    path.write_text("\n".join(lines + [jare.replace("jare_2023_heavy_ree", "jare_extra")]) + "\n")
    assert len(dp.load("framework_money", copy)) == n + 1


def test_a_package_validated_once_skips_frictionless_until_a_byte_changes(tmp_path, monkeypatch):
    copy = tmp_path / "pkg"
    shutil.copytree(dp.DEFAULT_DATA_DIR, copy)
    dp.validate_package(copy)
    monkeypatch.setenv(dp.RARE_EARTH_DATA_VALIDATED, dp.package_digest(copy))
    calls = []
    real = dp._frictionless_validate
    monkeypatch.setattr(dp, "_frictionless_validate", lambda *a: calls.append(a[1]["name"]) or real(*a))
    dp.clear_cache()
    dp.load("prices", copy)
    assert calls == [], "same bytes as validated: no second Frictionless pass"
    # A duplicate primary key only Frictionless catches: once the bytes differ, it runs and reports it.
    path = copy / "framework_money.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + [lines[-1]]) + "\n")
    dp.clear_cache()
    with pytest.raises(dp.DataPackageError, match="framework_money.csv"):
        dp.load("framework_money", copy)
    assert "framework_money" in calls


def test_package_digest_changes_with_any_table_byte(tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(dp.DEFAULT_DATA_DIR, copy)
    before = dp.package_digest(copy)
    assert dp.package_digest(copy) == before
    path = copy / "prices.csv"
    path.write_text(path.read_text() + "\n")
    assert dp.package_digest(copy) != before


def test_descriptor_is_valid_for_frictionless():
    from frictionless import validate

    report = validate(str(dp.DEFAULT_DATA_DIR / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]


def test_descriptor_fields_have_descriptions_and_package_has_as_of():
    assert DESCRIPTOR["as_of"] == "2026-05-27"
    assert "newest" in DESCRIPTOR["default_rules"]["usgs_edition"]
    for res in DESCRIPTOR["resources"]:
        assert res["schema"]["primaryKey"], res["name"]
        for f in res["schema"]["fields"]:
            assert f.get("description"), (res["name"], f["name"])


def test_every_source_used_and_every_used_source_exists():
    tables = dp.validate_package()
    used = set()
    for name, frame in tables.items():
        if name != "sources":
            for cell in frame["source_ids"]:
                used.update(dp.split_ids(cell))
    assert used == set(tables["sources"]["source_id"])


def test_sources_grades_and_access():
    src = dp.load("sources").set_index("source_id")
    assert set(src["grade"]) == {"primary", "secondary", "low"}
    assert (src["accessed"] == "2026-11").all()
    # mixed grades take the lower one and say so
    assert src.loc["S68", "grade"] == "secondary"
    assert "lower" in src.loc["S68", "note"]
    assert src.loc["D44", "grade"] == "secondary"  # "S (quoting P)"
    assert src.loc["D53", "grade"] == "low"  # "L copy of P"
    assert src.loc["D29a", "grade"] == "primary"
    assert "prefixed with D" in src.loc["D29a", "note"]


def test_package_as_of_is_newest_source_version_and_not_before_any_row():
    tables = dp.validate_package()
    newest_row = max(frame["as_of"].max() for name, frame in tables.items() if name != "sources")
    assert newest_row <= DESCRIPTOR["as_of"]  # ISO strings of any precision compare correctly here
    newest_source = tables["sources"]["published_iso"].max()
    assert newest_source == pd.Timestamp(DESCRIPTOR["as_of"])  # USGS MCS 2026 v1.3, 27 May 2026
