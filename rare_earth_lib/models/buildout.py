"""Capacity build-out: which plants count for the alliance, when they produce, and how fast they ramp.

Everything here is deterministic; :mod:`rare_earth_lib.models.timeline` draws the uncertain parts (slip to first
output, ramp-up length, go/no-go) on top of these building blocks.

Conventions:
    * Dates are turned into *decimal years* (``2027.5`` = 2 July 2027) so that slips and ramp-up lengths
      are plain arithmetic in years.
    * Capacity in calendar year ``y`` is the plant's output *rate* at mid-year (``y + 0.5``): nameplate
      (t/yr) x utilisation at that point of its ramp-up. A plant whose first output falls in the first half
      of a year counts in that year at its first-year utilisation; one starting in the second half counts
      from the next year.
    * Product capacities come from the projects table's ``ndpr_oxide_tpa`` (separated NdPr oxide) and
      ``dytb_oxide_tpa`` (separated Dy + Tb oxide) columns, in tonnes of oxide per year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from rare_earth_lib.domain import (
    ATTRIBUTIONS,
    FUNDING_COLUMNS,
    PRODUCT_COLUMNS,  # noqa: F401 - the timeline reads the product columns as buildout.PRODUCT_COLUMNS
    REFINING_STAGES,
    STAGES,
    STATUSES,
    normalise_country,
)

DEFAULT_COMPLETION_PROBABILITIES: dict[str, float] = {
    "operating": 1.0,
    "ramping": 1.0,
    "construction": 0.9,
    "fid": 0.8,
    "feasibility": 0.5,
    "pre_fid": 0.35,
    "stalled": 0.1,
    "cancelled": 0.0,
}
"""Probability that a project of each status ever reaches first output (the model defaults; judgement
informed by the analogs: of the greenfield plans in the fact base, Lynas Texas stalled after DoD funding,
Nolans has had no FID for seven years, while every plant that was under construction was finished)."""


def _check_choice(value: str, allowed: Iterable[str], argument: str) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{argument} must be one of {', '.join(allowed)}; got {value!r}")


def _check_columns(frame: pd.DataFrame, columns: Iterable[str], argument: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{argument} lacks column(s) {', '.join(missing)}")


def alliance_member(projects: pd.DataFrame, attribution: Literal["location", "owner"] = "owner") -> pd.Series:
    """Alliance country each project counts for (its largest alliance part), or missing when it counts for none.

    The attribution rule is the capacity model's (:func:`rare_earth_lib.models.capacity.attribution_table`):
    by location the country where the plant stands; by owner each listed owner an equal share (the one
    joint-venture rule); a plant located in China never counts for the alliance. Where several alliance
    countries own a plant this names the one with the largest share (the first listed on a tie); the
    alliance's part of the capacity is :func:`rare_earth_lib.models.capacity.alliance_share`.

    Args:
        projects: projects table with ``project_id``, ``country`` and ``owner_country``.
        attribution: ``"location"`` or ``"owner"``.

    Returns:
        String Series aligned with ``projects``: an alliance member's name or ``<NA>``.

    Raises:
        ValueError: unknown ``attribution`` or missing column.
    """
    from rare_earth_lib.models import capacity

    _check_choice(attribution, ATTRIBUTIONS, "attribution")
    _check_columns(projects, ["project_id", "country", "owner_country"], "projects")
    table = capacity.attribution_table(projects, attribution)
    table = table[table["group"] == capacity.GROUP_ALLIANCE]
    largest = table.sort_values("share", ascending=False, kind="stable").drop_duplicates("project_id").set_index("project_id")
    return projects["project_id"].map(largest["counted_for"]).astype("string").set_axis(projects.index).rename("alliance_country")


def has_stage(projects: pd.DataFrame, stages: str | Sequence[str]) -> pd.Series:
    """Whether each project lists at least one of ``stages`` in its semicolon-separated ``stages`` column.

    Args:
        projects: projects table with a ``stages`` column (``"separation;magnet"``).
        stages: one stage or several; each must be one of :data:`STAGES`.

    Returns:
        Boolean Series aligned with ``projects``.

    Raises:
        ValueError: an unknown stage.
    """
    wanted = (stages,) if isinstance(stages, str) else tuple(stages)
    if not wanted:
        raise ValueError("stages must name at least one stage")
    for stage in wanted:
        _check_choice(stage, STAGES, "stage")
    _check_columns(projects, ["stages"], "projects")
    listed = projects["stages"].fillna("").astype(str).str.split(";")
    return listed.map(lambda items: any(s.strip() in wanted for s in items)).astype(bool)


def decimal_year(dates: pd.Series | pd.DatetimeIndex | Sequence) -> np.ndarray:
    """Convert dates to decimal years (``2027-07-02`` -> about ``2027.5``); missing dates give NaN.

    Args:
        dates: datetime-like values (strings are parsed).

    Returns:
        float64 array of years.
    """
    stamps = pd.to_datetime(pd.Series(dates), errors="coerce")
    year = stamps.dt.year.astype("float64")
    start = pd.to_datetime(year.astype("Int64").astype("string") + "-01-01", errors="coerce")
    days_in_year = np.where(stamps.dt.is_leap_year.fillna(False).astype(bool), 366.0, 365.0)
    frac = (stamps - start).dt.total_seconds().astype("float64") / (days_in_year * 86400.0)
    return (year + frac).to_numpy(dtype="float64", na_value=np.nan)


_STATED = re.compile(r"(?P<field>first_output_target|first_output_planned)\s*: '(?P<text>[^']*)' \((?P<precision>[a-z_]+)")


def stated_period_end(date: Any, precision: str | None, text: str = "") -> pd.Timestamp | None:
    """Last day of the period a stored date stands for (the README's date convention, read backwards).

    A date stored from a stated year, half, quarter, month, fiscal year or part of a year sits inside that
    period (``'Q4 2026'`` -> 2026-11-15); a target expressed that way is only missed once the whole period is
    over (``'Q4 2026'`` -> 2026-12-31). ``early`` / ``mid`` parts of a year end on 06-30 / 09-30; ``late`` and
    ``end`` on 12-31; a Lynas fiscal year (July-June) stored on 01-01 ends on 06-30. A date without a stated
    precision is its own end.

    Args:
        date: the stored date.
        precision: the precision named in ``dates_as_stated`` (``year``, ``half``, ``quarter``, ``month``,
            ``part_year``, ``fiscal_year``), or ``None``.
        text: the stated text (used for part-year words).

    Returns:
        The period's last day, or ``None`` for a missing date.
    """
    stamp = pd.to_datetime(date, errors="coerce")
    if pd.isna(stamp):
        return None
    year = stamp.year
    if precision == "year":
        return pd.Timestamp(year, 12, 31)
    if precision == "half":
        return pd.Timestamp(year, 6, 30) if stamp.month <= 6 else pd.Timestamp(year, 12, 31)
    if precision == "quarter":
        return (stamp + pd.offsets.QuarterEnd(0)).normalize()
    if precision == "month":
        return (stamp + pd.offsets.MonthEnd(0)).normalize()
    if precision == "fiscal_year":
        return pd.Timestamp(year, 6, 30) if stamp.month <= 6 else pd.Timestamp(year + 1, 6, 30)
    if precision == "part_year":
        word = text.lower()
        if "early" in word:
            return pd.Timestamp(year, 6, 30)
        if "mid" in word:
            return pd.Timestamp(year, 9, 30)
        return pd.Timestamp(year, 12, 31)
    return stamp.normalize()


def _target_period_end(sub: pd.DataFrame) -> np.ndarray:
    """Decimal year at the end of the stated period of each row's latest first-output target (the plan where no target)."""
    ends = []
    stated_col = sub["dates_as_stated"] if "dates_as_stated" in sub else pd.Series("", index=sub.index)
    for target, planned, stated in zip(sub["first_output_target_date"], sub["first_output_planned_date"], stated_col, strict=False):
        found = {m["field"]: m for m in _STATED.finditer(str(stated) if pd.notna(stated) else "")}
        field, date = ("first_output_target", target) if pd.notna(target) and str(target) else ("first_output_planned", planned)
        match = found.get(field)
        ends.append(stated_period_end(date, match["precision"] if match else None, match["text"] if match else ""))
    return decimal_year(pd.Series(ends, dtype="datetime64[ns]")) if ends else np.array([], dtype="float64")


def ramp_utilisation(
    years_since_first_output: np.ndarray | float,
    first_year_utilisation: float | np.ndarray,
    years_to_nameplate: float | np.ndarray,
    mature_utilisation: float | np.ndarray = 1.0,
) -> np.ndarray:
    """Utilisation of nameplate at a given time after first output (a ramp-up curve).

    Zero before first output; ``first_year_utilisation`` through the first year; then a straight line up to
    ``mature_utilisation``, reached ``years_to_nameplate`` years after first output, and flat after.
    Analogs: Lynas Malaysia ran at about 27% of its Phase 1 nameplate a year after first feed, Molycorp
    peaked at about 25% (fact base §5).

    Args:
        years_since_first_output: time since first output in years (negative = not yet producing).
        first_year_utilisation: share of nameplate (0..1) during the first year of output.
        years_to_nameplate: years from first output until mature utilisation (>= 1).
        mature_utilisation: long-run share of nameplate (0..1) once ramped up.

    Returns:
        Array (broadcast of the inputs) of utilisation shares in [0, 1].

    Raises:
        ValueError: a share outside [0, 1], ``years_to_nameplate`` < 1, or first-year above mature
            utilisation.
    """
    t = np.asarray(years_since_first_output, dtype="float64")
    u1 = np.asarray(first_year_utilisation, dtype="float64")
    ytn = np.asarray(years_to_nameplate, dtype="float64")
    mature = np.asarray(mature_utilisation, dtype="float64")
    if np.any((u1 < 0) | (u1 > 1)):
        raise ValueError("first_year_utilisation must lie in [0, 1]")
    if np.any((mature < 0) | (mature > 1)):
        raise ValueError("mature_utilisation must lie in [0, 1]")
    if np.any(ytn < 1):
        raise ValueError("years_to_nameplate must be at least 1 year")
    if np.any(u1 > mature):
        raise ValueError("first_year_utilisation must not exceed mature_utilisation")
    span = np.maximum(ytn - 1.0, 1e-9)
    progress = np.clip((t - 1.0) / span, 0.0, 1.0)
    util = u1 + (mature - u1) * progress
    return np.where(t < 0, 0.0, util)


def completion_probability(statuses: pd.Series, probabilities: Mapping[str, float] = DEFAULT_COMPLETION_PROBABILITIES) -> pd.Series:
    """Probability that each project reaches first output, from its status.

    Args:
        statuses: project statuses (values of :data:`STATUSES`).
        probabilities: status -> probability in [0, 1]; must cover every status present.

    Returns:
        float Series aligned with ``statuses``.

    Raises:
        ValueError: an unknown status, a status without a probability, or a probability outside [0, 1].
    """
    for status, p in probabilities.items():
        _check_choice(status, STATUSES, "probabilities")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"probabilities[{status!r}] must lie in [0, 1]; got {p!r}")
    values = statuses.astype("string").to_numpy(dtype=object, na_value=None)  # plain arrays: the Monte Carlo asks every run
    present = set(values) - {None}
    unknown = sorted(present - set(STATUSES))
    if unknown:
        raise ValueError(f"statuses holds unknown status(es): {', '.join(unknown)}")
    missing = sorted(present - set(probabilities))
    if missing:
        raise ValueError(f"probabilities has no value for status(es): {', '.join(missing)}")
    out = np.array([np.nan if s is None else float(probabilities[s]) for s in values], dtype="float64")
    return pd.Series(out, index=statuses.index, name=statuses.name)


MODEL_ESTIMATE = "model estimate"
"""Prefix of every capacity the model fills in (``capacity_estimate_rule``); estimates the data package carries start
with ``estimate:`` (``capacity_estimate_label``), sourced figures read ``stated``."""


def capacity_basis_label(rule: object, is_estimate: object, label: object, method: object = None) -> str:
    """What a plant's separated-oxide capacity is, for every table that shows it (one wording everywhere).

    ``model estimate: ...`` where the model filled it (``rule``), the data's ``estimate: ...`` label where the data
    package marks the figure an estimate, else ``stated``.
    """
    if isinstance(rule, str) and rule:
        return rule
    if pd.notna(is_estimate) and bool(is_estimate):
        if isinstance(label, str) and label:
            return label
        return f"estimate: {method}" if isinstance(method, str) and method else "estimate"
    return "stated"


def _optional_number(frame: pd.DataFrame, column: str) -> pd.Series:
    """``frame[column]`` as float (unreadable -> NaN), or all NaN when the column is absent."""
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def estimate_missing_capacity(
    projects: pd.DataFrame,
    *,
    ndpr_share_of_reo: float,
    dytb_share_of_reo: float,
    mature_utilisation: float,
) -> pd.DataFrame:
    """Fill missing separated-oxide capacities with stated estimates, flagging every filled value.

    The projects table leaves ``ndpr_oxide_tpa`` / ``dytb_oxide_tpa`` empty where no source gives a
    separated-oxide figure (MP Materials' Stage II, Iluka Eneabba, Ucore). Leaving them at zero would
    treat real plants as absent, so two rules estimate them (both labelled as estimates downstream):

    1. A producing plant (operating/ramping) that lists separation, has no NdPr figure and reports an
       observed NdPr output (``observed_output_period`` mentions NdPr): NdPr capacity =
       observed output / ``mature_utilisation``, so that the model reproduces what it demonstrably makes
       (a lower bound for a plant still ramping).
    2. Any other separation plant whose capacity is stated in t REO (``capacity_basis == "t_reo"``):
       NdPr = REO x ``ndpr_share_of_reo``; and, if it lists heavy separation, Dy+Tb =
       REO x ``dytb_share_of_reo``. Default shares: magnet elements were 27% of refined REO supply in
       2020 (Roskill, fact base D4a), of which Dy+Tb were about 3.5% of NdPr by China's 2024 oxide
       run-rates (D4b): NdPr about 0.26, Dy+Tb about 0.009 of REO.

    Args:
        projects: the data package's projects table.
        ndpr_share_of_reo: NdPr oxide share of REO capacity (0..1).
        dytb_share_of_reo: Dy+Tb oxide share of REO capacity (0..1).
        mature_utilisation: long-run share of nameplate (0..1], used by rule 1.

    Returns:
        A copy of ``projects`` with the two capacity columns filled where a rule applies, plus
        ``capacity_estimated_by_model`` (bool) and ``capacity_estimate_rule`` (text, empty if none).

    Raises:
        ValueError: a share outside [0, 1] or a utilisation outside (0, 1].
    """
    for name, value in (("ndpr_share_of_reo", ndpr_share_of_reo), ("dytb_share_of_reo", dytb_share_of_reo)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1]; got {value!r}")
    if not 0.0 < mature_utilisation <= 1.0:
        raise ValueError(f"mature_utilisation must lie in (0, 1]; got {mature_utilisation!r}")
    _check_columns(projects, ["stages", "status", "ndpr_oxide_tpa", "dytb_oxide_tpa"], "projects")
    out = projects.copy()
    ndpr = pd.to_numeric(out["ndpr_oxide_tpa"], errors="coerce").astype("float64")
    dytb = pd.to_numeric(out["dytb_oxide_tpa"], errors="coerce").astype("float64")
    capacity, observed = _optional_number(out, "capacity_tpa"), _optional_number(out, "observed_output_tpa")
    basis = out["capacity_basis"].astype("string") if "capacity_basis" in out else pd.Series(pd.NA, index=out.index, dtype="string")
    period = out["observed_output_period"].astype("string").fillna("") if "observed_output_period" in out else ""
    period = pd.Series(period, index=out.index, dtype="string")
    separates = has_stage(out, "separation")
    heavy = has_stage(out, "heavy_separation")
    producing = out["status"].astype("string").isin(["operating", "ramping"]).fillna(False).astype(bool)

    rule1 = separates & producing & ndpr.isna() & observed.notna() & period.str.contains("NdPr", case=False).astype(bool)
    rule2_ndpr = separates & ~rule1 & ndpr.isna() & (basis == "t_reo").fillna(False).astype(bool) & capacity.notna()
    rule2_dytb = heavy & dytb.isna() & (basis == "t_reo").fillna(False).astype(bool) & capacity.notna() & ~rule1
    ndpr = ndpr.where(~rule1, observed / mature_utilisation)
    ndpr = ndpr.where(~rule2_ndpr, capacity * ndpr_share_of_reo)
    dytb = dytb.where(~rule2_dytb, capacity * dytb_share_of_reo)
    out["ndpr_oxide_tpa"] = ndpr
    out["dytb_oxide_tpa"] = dytb
    out["capacity_estimated_by_model"] = (rule1 | rule2_ndpr | rule2_dytb).astype(bool)
    out["capacity_estimate_rule"] = _estimate_rule_text(
        rule1, rule2_ndpr, rule2_dytb, ndpr_share_of_reo, dytb_share_of_reo, mature_utilisation
    )
    return out


def _estimate_rule_text(
    rule1: pd.Series, rule2_ndpr: pd.Series, rule2_dytb: pd.Series, ndpr_share: float, dytb_share: float, mature_utilisation: float
) -> pd.Series:
    """The ``capacity_estimate_rule`` of each row: which rule of :func:`estimate_missing_capacity` filled it ("" if none)."""
    rule = pd.Series("", index=rule1.index, dtype="string")
    rule = rule.mask(
        rule1,
        f"{MODEL_ESTIMATE}: observed output / assumed utilisation {mature_utilisation:g} (circular: no published nameplate)",
    )
    rule = rule.mask(rule2_ndpr, f"{MODEL_ESTIMATE}: NdPr = REO capacity x {ndpr_share:g}")
    rule = rule.mask(
        rule2_ndpr & rule2_dytb,
        f"{MODEL_ESTIMATE}: NdPr = REO capacity x {ndpr_share:g}; Dy+Tb = REO capacity x {dytb_share:g}",
    )
    return rule.mask(rule2_dytb & ~rule2_ndpr, f"{MODEL_ESTIMATE}: Dy+Tb = REO capacity x {dytb_share:g}")


def refining_pipeline(
    projects: pd.DataFrame,
    *,
    attribution: Literal["location", "owner"] = "owner",
    stages: Sequence[str] = REFINING_STAGES,
    alliance_only: bool = True,
) -> pd.DataFrame:
    """Projects that (would) add separated NdPr or Dy+Tb oxide capacity, with dates as decimal years.

    Args:
        projects: the data package's projects table.
        attribution: ``"location"`` or ``"owner"`` (see :func:`alliance_member`).
        stages: a project is kept if it lists one of these stages (default: separation, heavy separation).
        alliance_only: keep only projects that count for an alliance member under ``attribution``.

    Returns:
        One row per project with ``ndpr_oxide_tpa`` or ``dytb_oxide_tpa`` > 0: identifiers, ``status``,
        ``alliance_country``, both capacities (t oxide/yr, missing -> 0; with ``alliance_only`` the alliance's
        part under the one joint-venture rule, :func:`rare_earth_lib.models.capacity.alliance_share`), ``capacity_is_estimate``,
        ``planned_first_output_year`` (earliest public plan; falls back to the latest target),
        ``target_first_output_year`` (latest public target; falls back to the plan), ``target_period_end_year``
        (end of the period that target was stated as: 'Q4 2026' ends 2026-12-31; see :func:`stated_period_end`),
        ``actual_first_output_year`` (NaN if not yet producing), ``decision_year`` (FID, else construction
        start, else announcement), ``funding_us_musd`` etc., ``us_backed`` (US public funding > 0) and
        ``source_ids``. Sorted by planned first output.

    Raises:
        ValueError: unknown attribution or stage, or a required column missing.
    """
    _check_columns(projects, _PIPELINE_REQUIRED, "projects")
    keep, ndpr, dytb, member = _pipeline_selection(projects, attribution=attribution, stages=stages, alliance_only=alliance_only)
    sub = projects.loc[keep]
    out = pd.DataFrame(
        {
            "project_id": sub["project_id"].astype("string").to_numpy(),
            "company": sub["company"].astype("string").to_numpy(),
            "site": sub["site"].astype("string").to_numpy(),
            "country": sub["country"].map(normalise_country).astype("string").to_numpy(),
            "owner_country": sub["owner_country"].map(normalise_country).astype("string").to_numpy(),
            "alliance_country": member.loc[keep].to_numpy(),
            "status": sub["status"].astype("string").to_numpy(),
            "ndpr_oxide_tpa": ndpr.loc[keep].to_numpy(),
            "dytb_oxide_tpa": dytb.loc[keep].to_numpy(),
            **_pipeline_estimate_flags(sub),
            **_pipeline_dates(sub),
        }
    )
    out["alliance_country"] = out["alliance_country"].astype("string")
    for column, values in _pipeline_money(sub).items():
        out[column] = values
    out["capex_currency"] = out["capex_currency"].astype("string")
    out["capacity_estimate_rule"] = out["capacity_estimate_rule"].astype("string")
    out["source_ids"] = sub["source_ids"].astype("string").to_numpy() if "source_ids" in sub else pd.array([pd.NA] * len(sub))
    unknown = sorted(set(out["status"].dropna()) - set(STATUSES))
    if unknown:
        raise ValueError(f"projects holds unknown status(es): {', '.join(unknown)}")
    return out.sort_values(["planned_first_output_year", "project_id"], na_position="last").reset_index(drop=True)


_PIPELINE_REQUIRED: tuple[str, ...] = (
    "project_id",
    "company",
    "site",
    "country",
    "owner_country",
    "stages",
    "status",
    "ndpr_oxide_tpa",
    "dytb_oxide_tpa",
    "first_output_planned_date",
    "first_output_target_date",
    "first_output_actual_date",
)
"""Columns :func:`refining_pipeline` cannot do without; the others (funding, capex, estimate flags) are optional."""


def _pipeline_selection(
    projects: pd.DataFrame, *, attribution: str, stages: Sequence[str], alliance_only: bool
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Which projects enter the pipeline, and the capacities counted for them.

    Returns ``(keep, ndpr, dytb, member)`` aligned with ``projects``: the row mask, both oxide capacities
    (missing -> 0; the alliance's part under the joint-venture rule when ``alliance_only``) and the alliance
    country each project counts for.
    """
    from rare_earth_lib.models import capacity

    member = alliance_member(projects, attribution)
    part = capacity.alliance_share(projects, attribution) if alliance_only else pd.Series(1.0, index=projects.index)
    keep = has_stage(projects, stages)
    ndpr = pd.to_numeric(projects["ndpr_oxide_tpa"], errors="coerce").fillna(0.0).astype("float64") * part
    dytb = pd.to_numeric(projects["dytb_oxide_tpa"], errors="coerce").fillna(0.0).astype("float64") * part
    keep &= (ndpr > 0) | (dytb > 0)
    if alliance_only:
        keep &= member.notna()
    return keep, ndpr, dytb, member


def _pipeline_estimate_flags(sub: pd.DataFrame) -> dict[str, np.ndarray]:
    """Whether each capacity is an estimate (the data's flag, the model's flag and its rule); absent columns -> none."""
    n = len(sub)
    flags = {
        "capacity_is_estimate": (
            sub["capacity_is_estimate"].fillna(False).astype(bool).to_numpy() if "capacity_is_estimate" in sub else np.zeros(n, dtype=bool)
        ),
        "capacity_estimated_by_model": (
            sub["capacity_estimated_by_model"].fillna(False).astype(bool).to_numpy()
            if "capacity_estimated_by_model" in sub
            else np.zeros(n, dtype=bool)
        ),
        "capacity_estimate_rule": (
            sub["capacity_estimate_rule"].astype("string").fillna("").to_numpy()
            if "capacity_estimate_rule" in sub
            else np.array([""] * n, dtype=object)
        ),
    }
    empty = pd.Series(pd.NA, index=sub.index, dtype="string")
    labels, methods = sub.get("capacity_estimate_label", empty), sub.get("capacity_method", empty)
    flags["capacity_basis_label"] = np.array(
        [
            capacity_basis_label(rule, est, label, method)
            for rule, est, label, method in zip(
                flags["capacity_estimate_rule"], flags["capacity_is_estimate"], labels, methods, strict=True
            )
        ],
        dtype=object,
    )
    return flags


def _pipeline_dates(sub: pd.DataFrame) -> dict[str, np.ndarray]:
    """First-output years (planned, target, actual; planned and target stand in for each other) and the decision year.

    The decision year is the FID date, else the construction start, else the announcement.
    """
    planned = decimal_year(sub["first_output_planned_date"])
    target = decimal_year(sub["first_output_target_date"])
    decision = np.full(len(sub), np.nan)
    for column in ("announced_date", "construction_start_date", "fid_date"):
        if column in sub:
            years = decimal_year(sub[column])
            decision = np.where(np.isnan(years), decision, years)
    return {
        "planned_first_output_year": np.where(np.isnan(planned), target, planned),
        "target_first_output_year": np.where(np.isnan(target), planned, target),
        "target_period_end_year": _target_period_end(sub),
        "actual_first_output_year": decimal_year(sub["first_output_actual_date"]),
        "decision_year": decision,
    }


def _pipeline_money(sub: pd.DataFrame) -> dict[str, object]:
    """Public funding by funder (US$ million; missing -> NaN), ``us_backed`` (US money > 0), and the capex value and currency."""
    money: dict[str, object] = {}
    for column in FUNDING_COLUMNS.values():
        values = sub[column] if column in sub else pd.Series(np.nan, index=sub.index)
        money[column] = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    money["us_backed"] = np.nan_to_num(money[FUNDING_COLUMNS["United States"]], nan=0.0) > 0
    money["capex_value"] = (
        pd.to_numeric(sub["capex_value"], errors="coerce").astype("float64").to_numpy() if "capex_value" in sub else np.nan
    )
    money["capex_currency"] = sub["capex_currency"].astype("string").to_numpy() if "capex_currency" in sub else pd.NA
    return money


def analog_first_year_utilisation(analogs: pd.DataFrame) -> pd.DataFrame:
    """First-year utilisation of nameplate measured on the historical builds (the ramp-up evidence).

    Args:
        analogs: the data package's build_analogs table (``first_year_utilisation`` 0..1, nullable).

    Returns:
        The analogs with a measured value: ``analog_id``, ``project``, ``first_year_utilisation``,
        ``utilisation_method`` (if present) and ``source_ids``, sorted by utilisation. The mean is
        ``frame["first_year_utilisation"].mean()``.

    Raises:
        ValueError: the column is missing or a value lies outside [0, 1].
    """
    _check_columns(analogs, ["analog_id", "project", "first_year_utilisation"], "analogs")
    values = pd.to_numeric(analogs["first_year_utilisation"], errors="coerce")
    if ((values < 0) | (values > 1)).any():
        raise ValueError("analogs.first_year_utilisation must lie in [0, 1]")
    keep = values.notna()
    columns = [c for c in ("analog_id", "project", "first_year_utilisation", "utilisation_method", "source_ids") if c in analogs]
    out = analogs.loc[keep, columns].copy()
    out["first_year_utilisation"] = values[keep].astype("float64")
    return out.sort_values("first_year_utilisation").reset_index(drop=True)
