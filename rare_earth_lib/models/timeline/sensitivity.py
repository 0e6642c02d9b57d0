"""One-at-a-time sensitivity (tornado) of the P50 coverage year, and the largest driver."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from rare_earth_lib.models.timeline.run import TimelineRun, run_timeline
from rare_earth_lib.models.timeline.simulate import PRODUCTS
from rare_earth_lib.models.timeline.summaries import coverage_summary

if TYPE_CHECKING:  # pragma: no cover
    from rare_earth_lib.parameters.refining_timeline import Params


_FACTOR_LABELS = {
    "slip_multiplier": "Slip to first output",
    "completion_probabilities": "Completion probabilities",
    "demand_growth": "Demand growth",
    "ramp_up_speed": "Ramp-up length",
    "first_year_utilisation": "First-year utilisation",
    "mature_utilisation": "Mature utilisation",
    "coverage_threshold": "Coverage threshold",
    "alliance_demand_estimate": "Size of the alliance demand estimate",
    "demand_anchor_rule": "Demand anchor (lowest figures)",
    "attribution": "Attribution (location vs owner)",
}


def sensitivity_variants(params: Params) -> list[dict[str, Any]]:
    """Low/high settings of each factor of the one-at-a-time sensitivity, as parameter updates.

    "Low" and "high" are settings of the input (e.g. less and more slip), not of the result. Ranges:
    slip multiplier x0.5 / x1.5; completion probabilities: failure odds doubled / halved (each
    non-certain probability p -> p/2 and p + (1-p)/2); demand growth -3 / +3 points (both phases); years to nameplate
    x0.5 (at least 1) / x1.5; first-year utilisation x0.6 / x1.4; mature utilisation -0.15 / 1.0; coverage
    threshold -0.25 / +0.25 (within (0, 1]); alliance-demand estimate scale /1.5 / x1.5; demand anchor
    lowest figures (one-sided); attribution location vs owner (one-sided).

    Returns:
        List of dicts ``{"factor", "label", "side", "setting", "update"}`` (update = parameter values).
    """
    out: list[dict[str, Any]] = []

    def add(factor: str, side: str, setting: str, update: dict[str, Any]) -> None:
        out.append({"factor": factor, "label": _FACTOR_LABELS[factor], "side": side, "setting": setting, "update": update})

    m = params.slip_multiplier
    add("slip_multiplier", "low", f"slips x{m * 0.5:g}", {"slip_multiplier": m * 0.5})
    add("slip_multiplier", "high", f"slips x{min(m * 1.5, 5.0):g}", {"slip_multiplier": min(m * 1.5, 5.0)})
    probs = params.completion_probabilities()
    low = {f"completion_prob_{k}": (v / 2 if v < 1 else v) for k, v in probs.items()}
    high = {f"completion_prob_{k}": v + (1 - v) / 2 for k, v in probs.items() if k != "cancelled"}
    add("completion_probabilities", "low", "failure odds doubled", low)
    add("completion_probabilities", "high", "failure odds halved", high)
    g1, g2 = params.ndpr_demand_growth_rate, params.dytb_demand_growth_rate
    g3 = params.long_run_demand_growth_rate
    add(
        "demand_growth",
        "low",
        "growth -3 points/yr",
        {
            "ndpr_demand_growth_rate": max(g1 - 0.03, -0.1),
            "dytb_demand_growth_rate": max(g2 - 0.03, -0.1),
            "long_run_demand_growth_rate": max(g3 - 0.03, -0.1),
        },
    )
    add(
        "demand_growth",
        "high",
        "growth +3 points/yr",
        {
            "ndpr_demand_growth_rate": min(g1 + 0.03, 0.3),
            "dytb_demand_growth_rate": min(g2 + 0.03, 0.3),
            "long_run_demand_growth_rate": min(g3 + 0.03, 0.3),
        },
    )
    ytn = params.years_to_nameplate
    add("ramp_up_speed", "low", f"{max(1.0, ytn * 0.5):g} years to nameplate", {"years_to_nameplate": max(1.0, ytn * 0.5)})
    add("ramp_up_speed", "high", f"{min(15.0, ytn * 1.5):g} years to nameplate", {"years_to_nameplate": min(15.0, ytn * 1.5)})
    u1, mat = params.first_year_utilisation, params.mature_utilisation
    add("first_year_utilisation", "low", f"{u1 * 0.6:.0%} in year one", {"first_year_utilisation": u1 * 0.6})
    add("first_year_utilisation", "high", f"{min(u1 * 1.4, mat):.0%} in year one", {"first_year_utilisation": min(u1 * 1.4, mat)})
    mat_low = max(mat - 0.15, u1, 0.05)
    add("mature_utilisation", "low", f"{mat_low:.0%} of nameplate", {"mature_utilisation": mat_low})
    add("mature_utilisation", "high", "100% of nameplate", {"mature_utilisation": 1.0})
    th = params.coverage_threshold
    add("coverage_threshold", "low", f"{max(th - 0.25, 0.05):.0%} of demand", {"coverage_threshold": max(th - 0.25, 0.05)})
    add("coverage_threshold", "high", f"{min(th + 0.25, 1.0):.0%} of demand", {"coverage_threshold": min(th + 0.25, 1.0)})
    s = params.demand_scale
    add("alliance_demand_estimate", "low", f"demand x{s / 1.5:.2g}", {"demand_scale": max(s / 1.5, 0.1)})
    add("alliance_demand_estimate", "high", f"demand x{s * 1.5:.2g}", {"demand_scale": min(s * 1.5, 10.0)})
    if params.demand_anchor_rule != "lowest":
        add("demand_anchor_rule", "low", "lowest demand figures", {"demand_anchor_rule": "lowest"})
    other = "location" if params.attribution == "owner" else "owner"
    add("attribution", "low" if other == "owner" else "high", f"by {other}", {"attribution": other})
    return out


def _year_for_swing(value: int | None, horizon: int) -> int:
    return horizon + 1 if value is None else value


def sensitivity(
    params: Params,
    *,
    projects: pd.DataFrame,
    analogs: pd.DataFrame,
    demand: pd.DataFrame,
    as_of: Any,
    base: TimelineRun | None = None,
    n_trials: int | None = None,
    reuse: MutableMapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One-at-a-time sensitivity (tornado) of the P50 coverage year, for NdPr and Dy+Tb.

    Each variant re-runs the timeline with one factor moved (same seed: common random numbers). A P50
    that is never reached within the horizon is shown as ``None`` and counted as ``horizon + 1`` when
    swings are compared.

    Args:
        params: the scenario's parameter model.
        projects, analogs, demand: the data package's tables.
        as_of: the data's as-of date.
        base: the scenario's own run (re-run if omitted).
        n_trials: trials per variant (default: the scenario's ``n_trials``).
        reuse: the runs' reuse cache (:func:`~rare_earth_lib.models.timeline.run.run_timeline`), to share the
            prepared stages with other runs on the same tables; a fresh one by default.

    Returns:
        Long DataFrame: ``factor``, ``label``, ``side`` (low/high), ``setting``, ``product``,
        ``p50_year`` (Int64, <NA> = never), ``base_p50_year``, ``delta_years`` (vs base, never = horizon+1)
        and ``swing_years`` (|high - low| of the factor for that product; one-sided factors: |variant - base|).

    Raises:
        ValueError: ``n_trials`` < 1.
    """
    cls = type(params)
    if n_trials is not None and n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer; got {n_trials!r}")
    run_params = params if n_trials is None else cls.model_validate({**params.model_dump(), "n_trials": n_trials})
    if base is None or n_trials is not None:
        base = run_timeline(run_params, projects=projects, analogs=analogs, demand=demand, as_of=as_of)
    horizon = params.horizon_year
    base_p50 = {prod: coverage_summary(base.result, prod, params.probability_by_year)["p50"] for prod in PRODUCTS}
    rows = []
    reuse = {} if reuse is None else reuse
    for variant in sensitivity_variants(params):
        varied = cls.model_validate({**run_params.model_dump(), **variant["update"]})
        run = run_timeline(varied, projects=projects, analogs=analogs, demand=demand, as_of=as_of, reuse=reuse)
        for prod in PRODUCTS:
            p50 = coverage_summary(run.result, prod, params.probability_by_year)["p50"]
            rows.append(
                {
                    "factor": variant["factor"],
                    "label": variant["label"],
                    "side": variant["side"],
                    "setting": variant["setting"],
                    "product": prod,
                    "p50_year": p50,
                    "base_p50_year": base_p50[prod],
                    "delta_years": _year_for_swing(p50, horizon) - _year_for_swing(base_p50[prod], horizon),
                }
            )
    out = pd.DataFrame(rows)
    out["p50_year"] = out["p50_year"].astype("Int64")
    out["base_p50_year"] = out["base_p50_year"].astype("Int64")
    swing = (
        out.groupby(["factor", "product"])["delta_years"]
        .agg(lambda d: (d.max() - d.min()) if len(d) > 1 else abs(d.iloc[0]))
        .rename("swing_years")
        .reset_index()
    )
    out = out.merge(swing, on=["factor", "product"], how="left")
    for column in ("factor", "label", "side", "setting", "product"):
        out[column] = out[column].astype("string")
    return out


DEFINITIONAL_FACTORS: tuple[str, ...] = ("coverage_threshold", "attribution")
"""Factors that change what is asked (the threshold, how plants are attributed), not what will happen."""


def largest_driver(table: pd.DataFrame, product: str | None = None, exclude: Sequence[str] = DEFINITIONAL_FACTORS) -> str | None:
    """The factor with the largest swing of the P50 year (summed over products unless one is given).

    Args:
        table: output of :func:`sensitivity`.
        product: restrict to one product.
        exclude: factors left out (default: the definitional ones, threshold and attribution, which
            change the question rather than the forecast). Ties go to the first label alphabetically.

    Returns:
        The factor's label, or ``None`` if no factor moves the date.
    """
    sub = table if product is None else table.loc[table["product"] == product]
    sub = sub.loc[~sub["factor"].isin(list(exclude))]
    swings = sub.drop_duplicates(["factor", "product"]).groupby("label")["swing_years"].sum()
    if swings.empty or swings.max() <= 0:
        return None
    return str(swings.sort_values(ascending=False, kind="stable").index[0])
