"""The one capacity model: what each plant can make, for whom it counts, and "today's" alliance capacity.

Both briefings take capacity from here, so they state the same figure for the same thing.

Per plant and stage the model knows three quantities, in the stage's measure (:data:`STAGE_MEASURE`):

* **nameplate** (t/yr): the stated design capacity (``ndpr_oxide_tpa``, ``dytb_oxide_tpa`` or, for alloy
  and magnets, ``capacity_tpa`` in t alloy / t magnet);
* **latest observed output rate** (t/yr): ``observed_output_tpa``, where the data package has one for the
  stage's product (the period and basis are in ``observed_output_period``);
* **output after ramp-up** in a year: nameplate x the ramp-up curve of
  :func:`rare_earth_lib.models.buildout.ramp_utilisation` at mid-year, counted from first output.

**Today's capacity** of a producing plant (operating or ramping) is its latest observed output rate
where one exists (what it demonstrably makes), else its output after ramp-up on the data's as-of date;
plants not yet producing count zero today. This one definition gives the manifest metrics
``ndpr_capacity_today_tpa`` and ``dytb_capacity_today_tpa`` of both briefings (:func:`today_metrics`).

**For whom a plant counts** (:func:`attribution_table`): by ``"location"`` a plant counts for the country
where it stands; by ``"owner"`` for its owners, split equally among them (:func:`rare_earth_lib.domain.owner_shares`,
the project's one joint-venture rule). A plant located in China never counts as alliance capacity: by owner,
an alliance owner's part of such a plant is shown in its own group, "alliance-owned, located in China", and
left out of self-sufficiency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.data.views import join_ids
from rare_earth_lib.domain import (
    ALLIANCE,
    ATTRIBUTIONS,
    CHINA,
    PRODUCING_STATUSES,
    STAGE_LABELS,
    STAGE_PRODUCT,
    normalise_country,
    owner_shares,
)
from rare_earth_lib.models import buildout

GROUP_ALLIANCE = "Alliance"
GROUP_ALLIANCE_IN_CHINA = "Alliance-owned, located in China"
GROUP_CHINA = "China"
GROUP_OTHER = "Others"
GROUPS: tuple[str, ...] = (GROUP_ALLIANCE, GROUP_ALLIANCE_IN_CHINA, GROUP_CHINA, GROUP_OTHER)
"""The groups a plant's capacity can count for. Only ``GROUP_ALLIANCE`` counts towards self-sufficiency."""

STAGE_MEASURE: dict[str, tuple[str, str | None, str]] = {
    "separation": ("ndpr_oxide_tpa", None, "t NdPr oxide/yr"),
    "heavy_separation": ("dytb_oxide_tpa", None, "t Dy+Tb oxide/yr"),
    "metal_alloy": ("capacity_tpa", "t_alloy", "t alloy/yr"),
    "magnet": ("capacity_tpa", "t_magnet", "t magnet/yr"),
}
"""Per stage: the projects-table column holding nameplate, the ``capacity_basis`` it must have (None = any),
and the unit. Mining is measured by mine production, not here."""

PRODUCT_STAGE: dict[str, str] = {product: stage for stage, product in STAGE_PRODUCT.items()}
"""Separated product -> the stage that makes it (the domain's :data:`~rare_earth_lib.domain.STAGE_PRODUCT`, inverted)."""

METRIC_KEYS: dict[str, str] = {"ndpr_oxide": "ndpr_capacity_today_tpa", "dytb_oxide": "dytb_capacity_today_tpa"}
"""Product -> the manifest metric key under which both briefings record today's alliance capacity."""

METRIC_DIGITS = 1
"""Decimals of today's capacity in the manifests (t/yr); ratios divide the unrounded figure."""

_OBSERVED_PRODUCT_WORDS: dict[str, tuple[str, ...]] = {
    "ndpr_oxide": ("ndpr", "nd-pr", "prnd", "pr-nd"),
    "dytb_oxide": ("dy+tb", "dytb", "dy/tb", "dy and tb", "dy, tb"),
}


def check_attribution(attribution: str) -> str:
    """Return ``attribution`` if it is one of :data:`ATTRIBUTIONS`; else raise ValueError naming it."""
    if attribution not in ATTRIBUTIONS:
        raise ValueError(f"attribution: must be one of {', '.join(ATTRIBUTIONS)}; got {attribution!r}")
    return attribution


def _rare_earth(projects: pd.DataFrame) -> pd.DataFrame:
    if "is_rare_earth" in projects.columns:
        return projects[projects["is_rare_earth"].astype("boolean").fillna(True).astype(bool)]
    return projects


def _group(counted_for: str | None, located: str | None, attribution: str) -> str:
    if counted_for in ALLIANCE:
        return GROUP_ALLIANCE_IN_CHINA if located == CHINA else GROUP_ALLIANCE
    if counted_for == CHINA:
        return GROUP_CHINA
    return GROUP_OTHER


def attribution_table(projects: pd.DataFrame, attribution: str) -> pd.DataFrame:
    """For whom each project's capacity counts: one row per project and country it counts for.

    Args:
        projects: the projects table (``project_id``, ``country``, ``owner_country``).
        attribution: ``"location"`` (the country where the plant stands, share 1) or ``"owner"`` (each
            listed owner an equal share, :func:`rare_earth_lib.domain.owner_shares`).

    Returns:
        DataFrame with ``project_id``, ``country`` (location), ``counted_for``, ``share`` (shares of a
        project sum to 1) and ``group`` (one of :data:`GROUPS`; an alliance owner of a plant in China is
        ``GROUP_ALLIANCE_IN_CHINA``, never ``GROUP_ALLIANCE``).

    Raises:
        ValueError: bad ``attribution``.
    """
    check_attribution(attribution)
    rows = []
    for project_id, country, owners in zip(projects["project_id"], projects["country"], projects["owner_country"], strict=True):
        located = normalise_country(country)
        shares = {located or "Unknown": 1.0} if attribution == "location" else owner_shares(owners)
        for counted_for, share in shares.items():
            rows.append(
                {
                    "project_id": project_id,
                    "country": located,
                    "counted_for": counted_for,
                    "share": share,
                    "group": _group(counted_for, located, attribution),
                }
            )
    return pd.DataFrame(rows, columns=["project_id", "country", "counted_for", "share", "group"])


def alliance_share(projects: pd.DataFrame, attribution: str) -> pd.Series:
    """Share (0..1) of each project's capacity that counts for the alliance, aligned with ``projects``.

    Zero for every plant located in China, whoever owns it.
    """
    table = attribution_table(projects, attribution)
    per_project = table[table["group"] == GROUP_ALLIANCE].groupby("project_id")["share"].sum()
    return projects["project_id"].map(per_project).fillna(0.0).astype(float).set_axis(projects.index).rename("alliance_share")


def _stages(projects: pd.DataFrame) -> pd.Series:
    return projects["stages"].fillna("").astype(str).str.split(";").map(lambda items: {s.strip() for s in items})


_PRODUCT_UNITS: dict[str, str] = {"ndpr_oxide": "t_ndpr_oxide", "dytb_oxide": "t_dytb_oxide"}


def _observed_for(projects: pd.DataFrame, product: str) -> pd.Series:
    """The latest observed output rate (t/yr) where it measures ``product``; NaN elsewhere.

    The data package names the product of ``observed_output_tpa`` in ``observed_output_product``; campaign
    output that cannot be annualised has no rate. A table without that column names it in the period text;
    a plant that lists only one of the two refining stages is then taken to report that stage's product.
    """
    if "observed_output_tpa" not in projects.columns:
        return pd.Series(np.nan, index=projects.index)
    observed = pd.to_numeric(projects["observed_output_tpa"], errors="coerce").astype(float)
    if "observed_output_product" in projects.columns:
        keep = projects["observed_output_product"].astype("string") == _PRODUCT_UNITS[product]
        if "observed_output_kind" in projects.columns:
            keep &= projects["observed_output_kind"].astype("string") != "campaign"
        return observed.where(keep.fillna(False).astype(bool))
    period = projects.get("observed_output_period", pd.Series("", index=projects.index)).fillna("").astype(str).str.lower()
    # astype(bool): on an empty selection map keeps the string dtype, and the masks below must stay boolean
    names = period.map(lambda text: any(word in text for word in _OBSERVED_PRODUCT_WORDS[product])).astype(bool)
    others = period.map(lambda text: any(word in text for p, ws in _OBSERVED_PRODUCT_WORDS.items() if p != product for word in ws)).astype(
        bool
    )
    stages = _stages(projects)
    own_stage = PRODUCT_STAGE[product]
    other_stage = next(s for p, s in PRODUCT_STAGE.items() if p != product)
    only_stage = stages.map(lambda s: own_stage in s and other_stage not in s).astype(bool)
    keep = names | (~others & only_stage)
    return observed.where(keep.astype(bool))


_KIND_TEXT = {"run_rate": "latest run-rate", "annual_output": "output of a whole year"}


def _observed_text(rows: pd.DataFrame) -> pd.Series:
    """Reader-facing basis of each observed rate: its kind and period as the data states them."""
    period = rows.get("observed_output_period", pd.Series("", index=rows.index)).fillna("").astype(str)
    kind = rows.get("observed_output_kind", pd.Series(pd.NA, index=rows.index)).astype("string")
    label = kind.map(lambda k: _KIND_TEXT.get(str(k), "latest observed output") if pd.notna(k) else "latest observed output")
    return label.astype(str) + ": " + period


def today_rate(
    nameplate: np.ndarray,
    observed: np.ndarray,
    first_output_year: np.ndarray,
    *,
    as_of_year: float,
    first_year_utilisation: float,
    years_to_nameplate: float,
    mature_utilisation: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The rule for today's capacity of a producing plant, per plant (arrays aligned).

    Today's capacity is the latest observed output rate where there is one, else nameplate x the ramp-up
    curve on the as-of date (a plant with no first-output date has long been running). Used by
    :func:`plant_capacity` and by the timeline's Monte Carlo for the year of the as-of date, so both state
    the same figure.

    Returns:
        ``(ramp_today, today)``: output after ramp-up on the as-of date, and today's capacity (NaN where
        neither an observed rate nor a nameplate is known).
    """
    first = np.asarray(first_output_year, dtype=float)
    since = np.where(np.isnan(first), np.inf, as_of_year - first)
    utilisation = buildout.ramp_utilisation(since, first_year_utilisation, years_to_nameplate, mature_utilisation)
    ramp = np.asarray(nameplate, dtype=float) * utilisation
    observed = np.asarray(observed, dtype=float)
    return ramp, np.where(np.isnan(observed), ramp, observed)


def path_from_today(
    today: np.ndarray, nameplate: np.ndarray, gain_per_year: np.ndarray, elapsed_years: np.ndarray, mature_utilisation: float
) -> np.ndarray:
    """Output of a producing plant ``elapsed_years`` after the year of the as-of date (arrays broadcast).

    The one rule for how a plant already producing goes on: today's capacity (:func:`today_rate`) in the year of
    the as-of date, then up by ``gain_per_year`` (nameplate x the ramp-up curve's yearly gain) until it reaches
    mature output (nameplate x ``mature_utilisation``); a plant already above mature output stays at today's
    rate. Used by the timeline's Monte Carlo and by the as-announced build-out, so both start from today.
    """
    ceiling = np.maximum(today, nameplate * mature_utilisation)
    return np.minimum(ceiling, today + gain_per_year * elapsed_years)


def observed_rates(projects: pd.DataFrame, attribution: str) -> pd.DataFrame:
    """The alliance's part of each producing plant's latest observed output rate, per separated product.

    Returns:
        DataFrame with ``project_id``, ``product`` (a key of :data:`PRODUCT_STAGE`) and ``observed_tpa`` (the part
        counted for the alliance under ``attribution``; plants in China count zero): one row per producing
        plant listing the product's stage with an observed rate.
    """
    rows = _rare_earth(projects)
    rows = rows[rows["status"].isin(PRODUCING_STATUSES)]
    share = alliance_share(rows, attribution) if len(rows) else pd.Series(dtype=float)
    frames = []
    for product, stage in PRODUCT_STAGE.items():
        sel = rows[_stages(rows).map(lambda s, stage=stage: stage in s)]
        observed = _observed_for(sel, product) * share.reindex(sel.index)
        keep = observed.notna() & (observed > 0)
        frames.append(
            pd.DataFrame({"project_id": sel.loc[keep, "project_id"].astype(str), "product": product, "observed_tpa": observed[keep]})
        )
    return pd.concat(frames, ignore_index=True)


def plant_capacity(
    projects: pd.DataFrame,
    stage: str,
    *,
    as_of_year: float,
    first_year_utilisation: float,
    years_to_nameplate: float,
    mature_utilisation: float,
) -> pd.DataFrame:
    """Per plant at ``stage``: nameplate, latest observed output rate, output after ramp-up and today's capacity.

    Args:
        projects: the projects table (capacities filled or not: see
            :func:`rare_earth_lib.models.buildout.estimate_missing_capacity`).
        stage: a key of :data:`STAGE_MEASURE`.
        as_of_year: the data's as-of date as a decimal year ("today" for the ramp-up curve).
        first_year_utilisation, years_to_nameplate, mature_utilisation: the ramp-up curve.

    Returns:
        One row per rare-earth project listing ``stage`` with a positive nameplate or observed rate:
        ``project_id``, ``company``, ``site``, ``country``, ``owner_country``, ``status``, ``stage``, ``unit``,
        ``nameplate_tpa``, ``observed_tpa``, ``observed_period``, ``first_output_year`` (decimal year; NaN if
        unknown), ``ramp_today_tpa`` (output after ramp-up on the as-of date), ``today_tpa``, ``today_basis``
        (text; "assumed: ..." where a producing plant has no observed output), ``nameplate_basis`` ("stated", the
        data's "estimate: ..." label, the model's "model estimate: ..." rule, or "no nameplate") and ``source_ids``.

    Raises:
        ValueError: unknown ``stage``.
    """
    if stage not in STAGE_MEASURE:
        raise ValueError(f"stage: must be one of {', '.join(STAGE_MEASURE)}; got {stage!r}")
    _, _, unit = STAGE_MEASURE[stage]
    rows, nameplate, observed = _stage_rows(projects, stage)
    first = pd.Series(
        buildout.decimal_year(rows["first_output_actual_date"]) if "first_output_actual_date" in rows else np.nan, index=rows.index
    )
    producing = rows["status"].isin(PRODUCING_STATUSES)
    ramp, rate = today_rate(
        nameplate.to_numpy(dtype=float),
        observed.to_numpy(dtype=float),
        first.to_numpy(dtype=float),
        as_of_year=as_of_year,
        first_year_utilisation=first_year_utilisation,
        years_to_nameplate=years_to_nameplate,
        mature_utilisation=mature_utilisation,
    )
    ramp_today = pd.Series(ramp, index=rows.index).where(producing, 0.0)
    today = pd.Series(rate, index=rows.index).where(producing, 0.0).fillna(0.0)
    out = pd.DataFrame(
        {
            "project_id": rows["project_id"].astype(str),
            "company": rows["company"].astype(str),
            "site": rows["site"].astype(str) if "site" in rows else "",
            "country": rows["country"].map(normalise_country),
            "owner_country": rows["owner_country"].astype("string"),
            "status": rows["status"].astype(str),
            "stage": stage,
            "unit": unit,
            "nameplate_tpa": nameplate,
            "observed_tpa": observed,
            "observed_period": rows.get("observed_output_period", pd.Series(pd.NA, index=rows.index)).astype("string"),
            "first_output_year": first,
            "ramp_today_tpa": ramp_today,
            "today_tpa": today.astype(float),
            "today_basis": _today_basis(rows, producing, observed, mature_utilisation),
            "nameplate_basis": _nameplate_basis(rows, nameplate),
            "source_ids": rows["source_ids"].astype(str),
        }
    )
    return out.reset_index(drop=True)


def _stage_rows(projects: pd.DataFrame, stage: str) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The rare-earth projects listing ``stage`` with a positive nameplate or observed rate, and both figures."""
    column, basis, _ = STAGE_MEASURE[stage]
    rows = _rare_earth(projects)
    rows = rows[_stages(rows).map(lambda s: stage in s)]
    nameplate = pd.to_numeric(rows[column], errors="coerce").astype(float) if column in rows else pd.Series(np.nan, index=rows.index)
    if basis is not None:
        nameplate = nameplate.where(rows["capacity_basis"].astype("string") == basis)
    product = next((p for p, s in PRODUCT_STAGE.items() if s == stage), None)
    observed = _observed_for(rows, product) if product else pd.Series(np.nan, index=rows.index)
    keep = (nameplate.fillna(0) > 0) | (observed.fillna(0) > 0)
    return rows[keep], nameplate[keep], observed[keep]


def _today_basis(rows: pd.DataFrame, producing: pd.Series, observed: pd.Series, mature_utilisation: float) -> np.ndarray:
    """Where each plant's capacity today comes from: not producing, its observed rate, or the assumed ramp-up."""
    assumed = f"assumed: no observed output; nameplate x ramp-up on the as-of date (mature {mature_utilisation:.0%})"
    return np.where(~producing, "not producing", np.where(observed.notna(), _observed_text(rows), assumed))


def _nameplate_basis(rows: pd.DataFrame, nameplate: pd.Series) -> pd.arrays.StringArray:
    """What each nameplate is (:func:`rare_earth_lib.models.buildout.capacity_basis_label`), "no nameplate" if none."""
    empty = pd.Series(pd.NA, index=rows.index, dtype="string")
    labels = [
        buildout.capacity_basis_label(rule, est, label, method)
        for rule, est, label, method in zip(
            rows.get("capacity_estimate_rule", empty),
            rows.get("capacity_is_estimate", pd.Series(False, index=rows.index)),
            rows.get("capacity_estimate_label", empty),
            rows.get("capacity_method", empty),
            strict=True,
        )
    ]
    return pd.array(np.where(nameplate.notna(), labels, "no nameplate"), dtype="string")


def attributed(plants: pd.DataFrame, attribution: str, projects: pd.DataFrame) -> pd.DataFrame:
    """Spread per-plant rows over the countries they count for (:func:`attribution_table`).

    Every ``*_tpa`` column is multiplied by the share; ``counted_for``, ``share`` and ``group`` are added.
    """
    table = attribution_table(projects[projects["project_id"].isin(plants["project_id"])], attribution)
    out = plants.drop(columns=[c for c in ("country",) if c in plants]).merge(table, on="project_id", how="inner")
    for column in [c for c in out.columns if c.endswith("_tpa")]:
        out[column] = out[column] * out["share"]
    return out


def ramp_args(params: Any) -> dict[str, float]:
    """The ramp-up fields of a parameter model as keyword arguments of the ramp rules (:func:`today_rate`, :func:`plant_capacity`)."""
    return {
        "first_year_utilisation": float(params.first_year_utilisation),
        "years_to_nameplate": float(params.years_to_nameplate),
        "mature_utilisation": float(params.mature_utilisation),
    }


def today_plants(projects: pd.DataFrame, params: Any, as_of: Any, stages: Sequence[str] = tuple(STAGE_MEASURE)) -> pd.DataFrame:
    """Today's capacity per plant, stage and country counted for, under the scenario's attribution.

    Args:
        projects: the data package's projects table (NdPr/Dy+Tb nameplates are filled here when
            ``params.fill_missing_capacity`` is set, exactly as the timeline model fills them).
        params: a parameter model with ``attribution``, the ramp-up fields and the capacity-fill fields
            (both briefings' models have them).
        as_of: the data package's as-of date.
        stages: stages of :data:`STAGE_MEASURE` to include.

    Returns:
        :func:`plant_capacity` rows spread by :func:`attributed` (``counted_for``, ``share``, ``group``;
        every ``*_tpa`` column is the part counted for ``counted_for``), with ``product`` for the refining stages.
    """
    filled = fill_missing(projects, params)
    as_of_year = float(buildout.decimal_year([as_of])[0])
    frames = []
    for stage in stages:
        plants = plant_capacity(filled, stage, as_of_year=as_of_year, **ramp_args(params))
        product = next((p for p, s in PRODUCT_STAGE.items() if s == stage), None)
        frames.append(attributed(plants, params.attribution, filled).assign(product=product))
    return pd.concat(frames, ignore_index=True)


def groups_of(plants: pd.DataFrame) -> pd.DataFrame:
    """Today's capacity per stage and group (alliance, alliance-owned in China, China, others), from
    :func:`today_plants` rows for every stage.

    Returns:
        DataFrame with ``stage``, ``label``, ``group``, ``capacity_tpa``, ``n_projects``, ``project_ids``,
        ``unit`` and ``source_ids``: a row for every stage of :data:`STAGE_MEASURE` and both alliance groups
        (zero when no plant counts), plus China/others rows where the project table has such plants.
        Only the ``GROUP_ALLIANCE`` rows count towards self-sufficiency.
    """
    plants = plants[plants["today_tpa"] > 0]
    frames = []
    for stage in STAGE_MEASURE:
        for group in GROUPS:
            sel = plants[(plants["stage"] == stage) & (plants["group"] == group)]
            if sel.empty and group not in (GROUP_ALLIANCE, GROUP_ALLIANCE_IN_CHINA):
                continue
            frames.append(
                {
                    "stage": stage,
                    "label": STAGE_LABELS[stage],
                    "group": group,
                    "capacity_tpa": float(sel["today_tpa"].sum()),
                    "n_projects": int(sel["project_id"].nunique()),
                    "project_ids": ";".join(dict.fromkeys(sel["project_id"])),
                    "unit": STAGE_MEASURE[stage][2],
                    "source_ids": join_ids(sel["source_ids"]) if not sel.empty else "",
                }
            )
    return pd.DataFrame(frames)


def fill_missing(projects: pd.DataFrame, params: Any) -> pd.DataFrame:
    """The projects table with NdPr/Dy+Tb nameplates estimated where missing, if the scenario asks for it.

    The one definition used by the capacity model, the timeline and the scorecard (any params model with the
    fill fields: ``fill_missing_capacity``, the two shares of REO capacity and ``mature_utilisation``).
    """
    if not getattr(params, "fill_missing_capacity", False):
        return projects
    return buildout.estimate_missing_capacity(
        projects,
        ndpr_share_of_reo=params.ndpr_share_of_reo_capacity,
        dytb_share_of_reo=params.dytb_share_of_reo_capacity,
        mature_utilisation=params.mature_utilisation,
    )


def today_metrics(projects: pd.DataFrame, params: Any, as_of: Any, digits: int | None = METRIC_DIGITS) -> dict[str, float]:
    """Today's alliance NdPr and Dy+Tb separation capacity (t oxide/yr), under the manifest keys of :data:`METRIC_KEYS`.

    The one figure both briefings state: producing plants, latest observed output rate where the data has one
    (else output after ramp-up on the as-of date), counted for the alliance under the scenario's attribution,
    plants in China excluded. Rounded to ``digits`` decimals for the manifest; ``None`` keeps it whole for a ratio
    (both briefings divide the unrounded figure by demand).
    """
    return metrics_of(today_plants(projects, params, as_of, stages=tuple(PRODUCT_STAGE.values())), digits)


def metrics_of(plants: pd.DataFrame, digits: int | None = METRIC_DIGITS) -> dict[str, float]:
    """:func:`today_metrics` from rows of :func:`today_plants` already computed (the refining stages at least)."""
    alliance = plants[plants["group"] == GROUP_ALLIANCE]
    totals = {METRIC_KEYS[p]: float(alliance.loc[alliance["product"] == p, "today_tpa"].sum()) for p in METRIC_KEYS}
    return totals if digits is None else {key: round(value, digits) for key, value in totals.items()}


def with_control_channels(projects: pd.DataFrame, params: Any, as_of: Any) -> tuple[pd.DataFrame, Any]:
    """The projects table and parameters the build-out uses once China's suspended controls are back in force.

    Two channels, each a parameter with a stated value (``control_channels_active`` switches them on):

    1. **Licence delays**: a plant not yet producing that needs Chinese equipment or technology waits for
       licences. The data do not say which plants need them, so every plant not yet producing has its planned
       and target first-output dates moved by the expected delay, ``chinese_equipment_share`` x
       ``licence_delay_years``.
    2. **Higher ex-China prices pull decisions forward**: ``price_pullforward_years`` is added to the
       decision speed-up of projects before construction (``decision_speedup_years``, capped at its bound).

    Returns:
        ``(projects, params)`` unchanged when the channels are off, else adjusted copies.
    """
    return licence_delayed(projects, params), pulled_forward(params)


def pulled_forward(params: Any) -> Any:
    """Channel 2 of :func:`with_control_channels` alone: the parameters with ``price_pullforward_years`` added to
    the decision speed-up when ``control_channels_active`` (else ``params`` itself)."""
    if not getattr(params, "control_channels_active", False):
        return params
    speedup = min(5.0, params.decision_speedup_years + params.price_pullforward_years)
    return params.model_copy(update={"decision_speedup_years": speedup})


def licence_delayed(projects: pd.DataFrame, params: Any) -> pd.DataFrame:
    """Channel 1 of :func:`with_control_channels` alone: the projects table with the expected licence delay
    applied when ``control_channels_active`` (reads only that field, ``chinese_equipment_share`` and ``licence_delay_years``)."""
    if not getattr(params, "control_channels_active", False):
        return projects
    shift = pd.to_timedelta(params.chinese_equipment_share * params.licence_delay_years * 365.25, unit="D")
    out = projects.copy()
    waiting = ~out["status"].isin(PRODUCING_STATUSES)
    for column in ("first_output_planned_date", "first_output_target_date"):
        if column in out.columns:
            out.loc[waiting, column] = (pd.to_datetime(out.loc[waiting, column], errors="coerce") + shift).dt.strftime("%Y-%m-%d")
    return out


__all__ = [
    "GROUPS",
    "GROUP_ALLIANCE",
    "GROUP_ALLIANCE_IN_CHINA",
    "METRIC_DIGITS",
    "METRIC_KEYS",
    "STAGE_MEASURE",
    "alliance_share",
    "attributed",
    "attribution_table",
    "fill_missing",
    "plant_capacity",
    "ramp_args",
    "observed_rates",
    "groups_of",
    "licence_delayed",
    "pulled_forward",
    "metrics_of",
    "today_plants",
    "today_rate",
    "with_control_channels",
    "today_metrics",
]
