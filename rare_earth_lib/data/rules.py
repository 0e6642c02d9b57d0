"""Cross-row rules of each table: what a schema cannot say (one default per key, totals, dates in order, …).

Each ``_rules_<table>`` function raises :class:`~rare_earth_lib.data.package.DataPackageError` naming the file, row,
column and rule; :data:`RULES` maps a table to its function. The loader applies them after typing.
"""

from __future__ import annotations

import numpy as np

from rare_earth_lib.data import checks
from rare_earth_lib.data.package import REE_SYMBOLS, SHARE_SUM_TOLERANCE, DataPackageError, as_of, load, split_ids


def _require_where(f, mask, column, rule, label, rows):
    """Fail naming ``column`` on the first row where ``mask`` holds and ``column`` is empty."""
    bad = np.asarray(mask, dtype=bool) & f[column].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(label, rows[i], column, rule)


def _fail_where(mask, column, rule, label, rows):
    """Fail naming ``column`` on the first row where ``mask`` holds."""
    bad = np.asarray(mask, dtype=bool)
    if bad.any():
        raise DataPackageError(label, rows[int(np.flatnonzero(bad)[0])], column, rule)


def _rules_mine_production(f, label, rows, d):
    checks.check_one_default(f, ["country", "year"], label=label, rows=rows)
    checks.check_world_total(f, ["usgs_edition", "year"], "tonnes_reo", "is_world_total", label=label, rows=rows)
    bad = np.flatnonzero((f["year"] >= f["usgs_edition"]).to_numpy())
    if len(bad):
        i = int(bad[0])
        raise DataPackageError(label, rows[i], "year", f"year {f['year'].iloc[i]} is not before usgs_edition {f['usgs_edition'].iloc[i]}")


def _rules_reserves(f, label, rows, d):
    checks.check_one_default(f, ["country"], label=label, rows=rows)
    checks.check_world_lower_bound(f, ["usgs_edition"], "tonnes_reo", "is_world_total", label=label, rows=rows)
    checks.check_any_present(f, ["qualifier"], when="tonnes_reo", label=label, rows=rows)


def _rules_us_salient(f, label, rows, d):
    checks.check_one_default(f, ["metric", "year"], label=label, rows=rows)


def _rules_stage_shares(f, label, rows, d):
    checks.check_range(f, "share", low=0.0, high=1.0, label=label, rows=rows)
    checks.check_one_default(f, ["stage", "region", "year"], label=label, rows=rows)
    checks.check_shares_sum(
        f,
        ["stage", "year", "outlook"],
        "share",
        tolerance=SHARE_SUM_TOLERANCE,
        where=f["region_type"].isin(["country", "bloc"]).to_numpy(),
        label=label,
        rows=rows,
    )
    _check_conflict_groups(f, label, rows)


def _rules_projects(f, label, rows, d):
    num = [
        "capacity_tpa",
        "capacity_high_tpa",
        "ndpr_oxide_tpa",
        "dytb_oxide_tpa",
        "capex_value",
        "capex_high_value",
        "funding_us_musd",
        "funding_japan_musd",
        "funding_australia_musd",
        "funding_other_musd",
    ]
    checks.check_non_negative(f, num, label=label, rows=rows)
    checks.check_not_above(f, "capacity_tpa", "capacity_high_tpa", label=label, rows=rows)
    checks.check_not_above(f, "capex_value", "capex_high_value", label=label, rows=rows)
    checks.check_any_present(f, ["capacity_basis"], when="capacity_tpa", label=label, rows=rows)
    checks.check_any_present(f, ["capex_currency"], when="capex_value", label=label, rows=rows)
    for later in ("first_output_planned_date", "first_output_target_date", "first_output_actual_date"):
        checks.check_dates_ordered(f, "fid_date", later, label=label, rows=rows)
    checks.check_dates_ordered(f, "announced_date", "fid_date", label=label, rows=rows)
    checks.check_dates_ordered(f, "announced_date", "first_output_actual_date", label=label, rows=rows)
    checks.check_dates_ordered(f, "construction_start_date", "first_output_actual_date", label=label, rows=rows)
    _rules_project_capacity_basis(f, label, rows, d)
    checks.check_any_present(f, ["first_output_target_stated_on"], when="first_output_target_date", label=label, rows=rows)
    checks.check_any_present(f, ["fid_target_stated_on"], when="fid_target_date", label=label, rows=rows)
    for column in ("first_output_target_stated_on", "fid_target_stated_on"):
        late = (f[column].dt.date > as_of(d)).fillna(False).to_numpy(dtype=bool)
        _fail_where(late, column, f"a target cannot be stated after the package as-of date {as_of(d).isoformat()}", label, rows)
    funded = (f[["funding_us_musd", "funding_japan_musd", "funding_australia_musd", "funding_other_musd"]].fillna(0) > 0).any(axis=1)
    _require_where(f, funded, "funding_stage", "funding_stage is required when a funding column is above 0", label, rows)
    _require_where(
        f, funded, "funding_dates_as_stated", "funding_dates_as_stated is required when a funding column is above 0", label, rows
    )
    late = (f["funding_date"].dt.date > as_of(d)).fillna(False).to_numpy(dtype=bool)
    _fail_where(late, "funding_date", f"a funding date cannot be after the package as-of date {as_of(d).isoformat()}", label, rows)
    other = f["funding_other_musd"].fillna(0) > 0
    _require_where(
        f, other, "funding_other_instrument", "funding_other_instrument is required when funding_other_musd is above 0", label, rows
    )
    ndpr_basis = (f["capacity_basis"] == "t_ndpr_oxide").fillna(False).to_numpy(dtype=bool)
    over = ndpr_basis & (f["ndpr_oxide_tpa"] > f["capacity_tpa"]).fillna(False).to_numpy(dtype=bool)
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise DataPackageError(label, rows[i], "ndpr_oxide_tpa", "separated NdPr capacity exceeds the NdPr-basis nameplate capacity_tpa")


#: Capacity columns of the projects table: a row with any of them filled is a capacity row.
_CAPACITY_FIGURES = ("capacity_tpa", "ndpr_oxide_tpa", "dytb_oxide_tpa")


def _rules_project_capacity_basis(f, label, rows, d):
    """Every capacity figure says what it is and where it comes from; every observed output its kind and period."""
    for column in _CAPACITY_FIGURES:
        checks.check_any_present(f, ["capacity_kind"], when=column, label=label, rows=rows)
        checks.check_any_present(f, ["capacity_source_ids"], when=column, label=label, rows=rows)
    for column in ("observed_output_tpa", "observed_output_period"):
        checks.check_any_present(f, ["observed_output_kind"], when=column, label=label, rows=rows)
    for column in ("observed_output_product", "observed_output_start", "observed_output_end", "observed_output_source_ids"):
        checks.check_any_present(f, [column], when="observed_output_kind", label=label, rows=rows)
    checks.check_any_present(f, ["observed_output_method"], when="observed_output_tpa", label=label, rows=rows)
    estimate = f["capacity_is_estimate"].fillna(False).to_numpy(dtype=bool)
    _require_where(f, estimate, "capacity_method", "capacity_method is required when capacity_is_estimate is true", label, rows)
    _require_where(
        f, estimate, "capacity_estimate_label", "capacity_estimate_label is required when capacity_is_estimate is true", label, rows
    )
    for column in ("annual_output_year", "annual_output_source_ids", "observed_output_product"):
        checks.check_any_present(f, [column], when="annual_output_tpa", label=label, rows=rows)
    checks.check_dates_ordered(f, "observed_output_start", "observed_output_end", label=label, rows=rows)
    for column in ("capacity_source_ids", "observed_output_source_ids", "annual_output_source_ids"):
        checks.check_known_ids(f, column, load("sources", d, trace=False)["source_id"].tolist(), split=split_ids, label=label, rows=rows)
        checks.check_ids_within(f, column, "source_ids", label=label, rows=rows)
    days = (f["observed_output_end"] - f["observed_output_start"]).dt.days + 1
    kind = f["observed_output_kind"]
    bad = ((kind == "run_rate") & (days > 366)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label, rows[i], "observed_output_kind", f"a run_rate covers part of a year, but the period is {int(days.iloc[i])} days"
        )
    bad = ((kind == "annual_output") & ~days.between(365, 366)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label, rows[i], "observed_output_kind", f"an annual_output covers one whole year, but the period is {days.iloc[i]} days"
        )
    bad = (f["observed_output_end"].dt.date > as_of(d)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label, rows[i], "observed_output_end", f"observed output ends after the package as-of date {as_of(d).isoformat()}"
        )
    bad = (f["observed_output_is_estimate"] & f["observed_output_method"].isna()).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label, rows[i], "observed_output_method", "an estimated observed output needs its formula in observed_output_method"
        )


def _rules_build_analogs(f, label, rows, d):
    checks.check_non_negative(
        f,
        [
            "nameplate_tpa",
            "first_year_output_tpa",
            "peak_output_tpa",
            "capex_planned",
            "capex_planned_high",
            "capex_actual",
            "capex_actual_high",
        ],
        label=label,
        rows=rows,
    )
    checks.check_range(f, "first_year_utilisation", low=0.0, high=1.0, label=label, rows=rows)
    checks.check_not_above(f, "capex_planned", "capex_planned_high", label=label, rows=rows)
    checks.check_not_above(f, "capex_actual", "capex_actual_high", label=label, rows=rows)
    checks.check_dates_ordered(f, "decision_date", "actual_first_output_date", label=label, rows=rows)
    checks.check_dates_ordered(f, "decision_date", "planned_first_output_date", label=label, rows=rows)
    checks.check_flag_matches(f, "reached_first_output", "actual_first_output_date", label=label, rows=rows)
    for c in ("capex_planned", "capex_actual"):
        checks.check_any_present(f, ["capex_currency"], when=c, label=label, rows=rows)


def _rules_demand(f, label, rows, d):
    checks.check_non_negative(f, ["tonnes", "tonnes_high"], label=label, rows=rows)
    checks.check_not_above(f, "tonnes", "tonnes_high", label=label, rows=rows)
    checks.check_one_default(f, ["region", "product", "segment", "year"], label=label, rows=rows)
    cased = f["demand_case"].notna().to_numpy()
    checks.check_unique(
        f[cased], ["region", "product", "demand_case"], label=label, rows=[r for r, c in zip(rows, cased, strict=True) if c]
    )
    _check_conflict_groups(f, label, rows)


def _check_conflict_groups(f, label, rows):
    """A conflict needs at least two figures: a conflict_group named on one row only is an error."""
    counts = f["conflict_group"].value_counts()
    lonely = f["conflict_group"].isin(counts[counts < 2].index).to_numpy()
    if lonely.any():
        i = int(np.flatnonzero(lonely)[0])
        raise DataPackageError(
            label,
            rows[i],
            "conflict_group",
            f"conflict_group {f['conflict_group'].iloc[i]!r} names only this row; a conflict needs two figures",
        )


def _rules_prices(f, label, rows, d):
    _require_where(f, f["is_estimate"], "method", "an estimated price needs its formula in method", label, rows)
    _check_conflict_groups(f, label, rows)
    checks.check_non_negative(f, ["usd_per_kg", "usd_per_kg_high"], label=label, rows=rows)
    checks.check_not_above(f, "usd_per_kg", "usd_per_kg_high", label=label, rows=rows)
    checks.check_one_default(f, ["product", "year", "price_type"], label=label, rows=rows)
    yr = f["price_date"].dt.year
    bad = (yr.notna() & f["year"].notna() & (yr != f["year"])).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(label, rows[i], "price_date", f"price_date year {int(yr.iloc[i])} differs from year {f['year'].iloc[i]}")


def _rules_price_floors(f, label, rows, d):
    checks.check_dates_ordered(f, "start_date", "end_date", label=label, rows=rows)
    fixed = (f["volume_kind"] == "fixed_tonnage").fillna(False)
    _require_where(f, fixed, "volume_tpa", "volume_tpa is required when volume_kind is fixed_tonnage", label, rows)
    bad = ((f["volume_kind"] == "company_output") & f["volume_tpa"].notna()).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label, rows[i], "volume_tpa", "a floor on a company's own output has no fixed tonnage: leave volume_tpa empty"
        )
    checks.check_any_present(f, ["observed_cost_period"], when="observed_cost_musd", label=label, rows=rows)


def _rules_capex_intensity(f, label, rows, d):
    checks.check_not_above(f, "capex_musd", "capex_high_musd", label=label, rows=rows)
    checks.check_not_above(f, "usd_per_tpa", "usd_per_tpa_high", label=label, rows=rows)
    for capex, per in (("capex_musd", "usd_per_tpa"), ("capex_high_musd", "usd_per_tpa_high")):
        expected = f[capex] * 1e6 / f["capacity_tpa"]
        bad = ((f[per] - expected).abs() > 0.01 * expected).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataPackageError(
                label,
                rows[i],
                per,
                f"{per} {f[per].iloc[i]:,.0f} differs from {capex} / capacity_tpa = {expected.iloc[i]:,.0f} by more than 1%",
            )


def _rules_export_controls(f, label, rows, d):
    checks.check_unique(f, ["display_name"], label=label, rows=rows)
    checks.check_ids_within(f, "text_source_ids", "source_ids", label=label, rows=rows)
    checks.check_allowed_tokens(f, "elements", REE_SYMBOLS, label=label, rows=rows)
    checks.check_dates_ordered(f, "suspended_from", "suspended_until", label=label, rows=rows)
    checks.check_dates_ordered(f, "announced_date", "effective_date", label=label, rows=rows)
    checks.check_range(f, "de_minimis_value_share", low=0.0, high=1.0, label=label, rows=rows)
    susp = (f["status"] == "suspended").fillna(False).to_numpy(dtype=bool) & f["suspended_until"].isna().to_numpy()
    if susp.any():
        i = int(np.flatnonzero(susp)[0])
        raise DataPackageError(label, rows[i], "suspended_until", "status is suspended but suspended_until is empty")


def _rules_frameworks(f, label, rows, d):
    checks.check_non_negative(f, ["commitment_musd"], label=label, rows=rows)
    checks.check_dates_ordered(f, "signed_date", "deadline_date", label=label, rows=rows)
    checks.check_any_present(f, ["deadline_precision"], when="deadline_date", label=label, rows=rows)
    period_end = f["deadline_precision"].isin(["end_of_half", "end_of_year"]).fillna(False).to_numpy(dtype=bool)
    month_day = f["deadline_date"].dt.strftime("%m-%d")
    bad = period_end & ~month_day.isin(["06-30", "12-31"]).fillna(False).to_numpy(dtype=bool)
    _fail_where(
        bad, "deadline_date", "a deadline stated as a period (end_of_half / end_of_year) must sit on the period's last day", label, rows
    )


def _rules_framework_money(f, label, rows, d):
    checks.check_one_default(f, ["framework_id", "item"], label=label, rows=rows)
    _require_where(f, f["in_project_funding"], "project_id", "project_id is required when in_project_funding is true", label, rows)


def _rules_trade_exposure(f, label, rows, d):
    checks.check_range(f, "share", low=0.0, high=1.0, label=label, rows=rows)
    checks.check_one_default(f, ["importer", "product", "year_end", "partner"], label=label, rows=rows)
    checks.check_shares_sum(f, ["importer", "product", "period"], "share", tolerance=SHARE_SUM_TOLERANCE, label=label, rows=rows)


def _rules_trade_flows(f, label, rows, d):
    checks.check_any_present(f, ["tonnes", "value_musd"], label=label, rows=rows)


def _rules_chain_output(f, label, rows, d):
    checks.check_one_default(f, ["region", "entity", "product", "period"], label=label, rows=rows)


def _rules_projections(f, label, rows, d):
    checks.check_not_above(f, "share", "share_high", label=label, rows=rows)
    _require_where(f, f["is_estimate"], "method", "a derived projection needs its formula in method", label, rows)
    single = ~f["region"].str.contains("+", regex=False).fillna(False).to_numpy()
    checks.check_shares_sum(
        f,
        ["forecaster", "edition", "metric", "stage", "year"],
        "share",
        tolerance=SHARE_SUM_TOLERANCE,
        where=single,
        label=label,
        rows=rows,
    )


def _rules_growth_rates(f, label, rows, d):
    checks.check_one_default(f, ["region", "measure"], label=label, rows=rows)
    _fail_where((f["end_year"] < f["start_year"]).to_numpy(dtype=bool), "end_year", "end_year is before start_year", label, rows)
    years = (f["end_year"] - f["start_year"]).astype(float)
    both = f["start_value"].notna() & f["end_value"].notna() & (f["start_value"] > 0) & (years > 0)
    implied = (f["end_value"] / f["start_value"]) ** (1 / years.where(years > 0)) - 1
    bad = (both & ((implied - f["annual_growth"]).abs() > 0.0005)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label,
            rows[i],
            "annual_growth",
            f"annual_growth {f['annual_growth'].iloc[i]:.4f} differs from the levels' compound rate {implied.iloc[i]:.4f}",
        )


RULES = {
    "mine_production": _rules_mine_production,
    "reserves": _rules_reserves,
    "us_salient": _rules_us_salient,
    "stage_shares": _rules_stage_shares,
    "projects": _rules_projects,
    "build_analogs": _rules_build_analogs,
    "demand": _rules_demand,
    "prices": _rules_prices,
    "export_controls": _rules_export_controls,
    "frameworks": _rules_frameworks,
    "framework_money": _rules_framework_money,
    "trade_exposure": _rules_trade_exposure,
    "trade_flows": _rules_trade_flows,
    "chain_output": _rules_chain_output,
    "price_floors": _rules_price_floors,
    "capex_intensity": _rules_capex_intensity,
    "projections": _rules_projections,
    "growth_rates": _rules_growth_rates,
}
