"""Indicator values from their inputs, each with a sentence saying how it was computed.

===============  ================================  ===============================================
pillar           indicator                         value
===============  ================================  ===============================================
resources        light_ore_coverage                Australian mine output x NdPr share of REO
                                                   / alliance NdPr oxide demand (ratio)
resources        heavy_ore_coverage                the same for Dy+Tb (ratio)
technology       nonchina_separation_share         1 - China's share of separation (fraction)
technology       nonchina_heavy_separation_share   1 - China's share of heavy separation
technology       technology_controls_in_force      share of China's export controls on rare-earth
                                                   technology and equipment in force (fraction;
                                                   lower better). It measures the controls, not how
                                                   far alliance plants rely on Chinese technology:
                                                   the data package has no plant-level figure for that.
market_finance   market_to_incentive_price         ex-China NdPr price / incentive price (ratio)
market_finance   floor_to_incentive_price          effective floor / incentive price (ratio)
market_finance   public_money_to_capex             public money funding separation in the alliance
                                                   / capex for new capacity to fill the separation gap
time             years_to_ndpr_coverage            median years from the data's as-of year until
                                                   alliance NdPr separation covers the target share
                                                   of demand (never within the horizon scores 0)
time             years_to_dytb_coverage            the same for Dy+Tb oxide
policy_risk      licence_exposure_share            mean share of alliance demand needing Chinese
                                                   licences, midstream stages (lower better)
policy_risk      us_funding_at_risk                US share of public money x chance of a US
                                                   policy reversal (fraction; lower better)
===============  ================================  ===============================================
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rare_earth_lib.data.views import ids_of
from rare_earth_lib.domain import percent

_SHARES = (
    "ore_ndpr_share_of_reo",
    "ore_dytb_share_of_reo",
    "china_separation_share",
    "china_heavy_separation_share",
    "licence_exposure_share",
    "us_share_of_public_money",
    "us_reversal_probability",
)
_NON_NEGATIVE = ("australia_mine_t_reo", "market_usd_per_kg", "effective_floor_usd_per_kg", "public_money_musd", "capex_needed_musd")
_POSITIVE = ("alliance_ndpr_demand_t", "alliance_dytb_demand_t", "incentive_usd_per_kg", "technology_measures_total")


def _fmt(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _years(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if float(value) < 0:
        raise ValueError(f"years_to_*_coverage: must be >= 0 or None, got {value!r}")
    return float(value)


def check_inputs(inputs: Mapping[str, float]) -> None:
    """Raise ValueError naming the first input out of its range (shares in [0, 1], amounts >= 0, divisors > 0)."""
    for name in _SHARES:
        if not 0 <= float(inputs[name]) <= 1:
            raise ValueError(f"{name}: must be a share in [0, 1], got {inputs[name]!r}")
    for name in _NON_NEGATIVE:
        if not float(inputs[name]) >= 0:
            raise ValueError(f"{name}: must be >= 0, got {inputs[name]!r}")
    for name in _POSITIVE:
        if not float(inputs[name]) > 0:
            raise ValueError(f"{name}: must be > 0, got {inputs[name]!r}")
    if not 0 <= inputs["technology_measures_in_force"] <= inputs["technology_measures_total"]:
        raise ValueError("technology_measures_in_force: must lie between 0 and technology_measures_total")


def indicator_values(i: Mapping[str, float]) -> dict[str, float | None]:
    """Indicator name -> value from the checked inputs ``i`` (see :func:`feasibility_values`)."""
    capex_ratio = i["public_money_musd"] / i["capex_needed_musd"] if i["capex_needed_musd"] > 0 else float("inf")
    return {
        "light_ore_coverage": i["australia_mine_t_reo"] * i["ore_ndpr_share_of_reo"] / i["alliance_ndpr_demand_t"],
        "heavy_ore_coverage": i["australia_mine_t_reo"] * i["ore_dytb_share_of_reo"] / i["alliance_dytb_demand_t"],
        "nonchina_separation_share": 1.0 - i["china_separation_share"],
        "nonchina_heavy_separation_share": 1.0 - i["china_heavy_separation_share"],
        "technology_controls_in_force": i["technology_measures_in_force"] / i["technology_measures_total"],
        "market_to_incentive_price": i["market_usd_per_kg"] / i["incentive_usd_per_kg"],
        "floor_to_incentive_price": i["effective_floor_usd_per_kg"] / i["incentive_usd_per_kg"],
        "public_money_to_capex": min(capex_ratio, 10.0),
        "years_to_ndpr_coverage": _years(i["years_to_ndpr_coverage"]),
        "years_to_dytb_coverage": _years(i["years_to_dytb_coverage"]),
        "licence_exposure_share": float(i["licence_exposure_share"]),
        "us_funding_at_risk": i["us_share_of_public_money"] * i["us_reversal_probability"],
    }


def indicator_texts(i: Mapping[str, float], ids: Mapping[str, str]) -> dict[str, str]:
    """Indicator name -> a sentence giving its inputs with their sources (``ids``: input group -> source ids)."""

    def cite(key: str) -> str:
        return " [" + ", ".join(ids_of(ids[key])) + "]" if ids.get(key) else ""

    mine = i["australia_mine_t_reo"]
    return {
        "light_ore_coverage": (
            f"Australian mine output {_fmt(mine)} t REO{cite('mine')} x NdPr share {i['ore_ndpr_share_of_reo']:.1%} (assumption)"
            f" = {_fmt(mine * i['ore_ndpr_share_of_reo'])} t NdPr vs alliance NdPr oxide demand {_fmt(i['alliance_ndpr_demand_t'])} t"
            f" (estimate){cite('demand')}."
        ),
        "heavy_ore_coverage": (
            f"Australian mine output {_fmt(mine)} t REO x Dy+Tb share {i['ore_dytb_share_of_reo']:.2%} (assumption)"
            f" = {_fmt(mine * i['ore_dytb_share_of_reo'])} t Dy+Tb vs alliance Dy+Tb oxide demand {_fmt(i['alliance_dytb_demand_t'])} t"
            f" (estimate){cite('demand')}."
        ),
        "nonchina_separation_share": f"China's separation share {percent(i['china_separation_share'])}{cite('separation')}.",
        "nonchina_heavy_separation_share": f"China's heavy-separation share {percent(i['china_heavy_separation_share'])}{cite('heavy_separation')}.",
        "technology_controls_in_force": (
            f"{i['technology_measures_in_force']:.0f} of {i['technology_measures_total']:.0f} Chinese export controls on rare-earth"
            f" technology or equipment in force on the exposure date{cite('controls')}; no source says which alliance plants use"
            " Chinese process technology, so reliance itself is not measured."
        ),
        "market_to_incentive_price": (
            f"NdPr oxide US${i['market_usd_per_kg']:,.0f}/kg{cite('price')} vs incentive US${i['incentive_usd_per_kg']:,.0f}/kg{cite('incentive')}."
        ),
        "floor_to_incentive_price": (
            f"Effective floor US${i['effective_floor_usd_per_kg']:,.0f}/kg{cite('floor')} vs incentive US${i['incentive_usd_per_kg']:,.0f}/kg."
        ),
        "public_money_to_capex": (
            f"Public money funding separation in the alliance US${_fmt(i['public_money_musd'])}M{cite('funding')} vs capex for new"
            f" capacity to fill the separation gap US${_fmt(i['capex_needed_musd'])}M (median capex per tonne of recent plants x capacity gap;"
            " ratio capped at 10)."
        ),
        "years_to_ndpr_coverage": f"Median of the Monte Carlo timeline for NdPr oxide{cite('timeline')}.",
        "years_to_dytb_coverage": f"Median of the Monte Carlo timeline for Dy+Tb oxide{cite('timeline')}.",
        "licence_exposure_share": f"Mean licence share over the midstream stages under the controls in force{cite('controls')}.",
        "us_funding_at_risk": (
            f"US share of public money {i['us_share_of_public_money']:.0%} x reversal probability {i['us_reversal_probability']:.0%} (parameter)."
        ),
    }


def feasibility_values(
    source_ids: Mapping[str, str] | None = None, **inputs: float | None
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Compute every indicator value from its inputs, with a text saying how.

    Keyword inputs (plain numbers; units in their names; shares are fractions 0..1; money in US$ million;
    prices in US$/kg; tonnes per year): australia_mine_t_reo, ore_ndpr_share_of_reo, ore_dytb_share_of_reo,
    alliance_ndpr_demand_t, alliance_dytb_demand_t, china_separation_share, china_heavy_separation_share,
    technology_measures_in_force, technology_measures_total, market_usd_per_kg, incentive_usd_per_kg,
    effective_floor_usd_per_kg, public_money_musd, capex_needed_musd, years_to_ndpr_coverage,
    years_to_dytb_coverage (None = not within the horizon), licence_exposure_share, us_share_of_public_money,
    us_reversal_probability.

    Returns:
        (values, inputs): indicator -> value, indicator -> explanation.

    Raises:
        ValueError: a missing input, a share outside [0, 1], a negative amount, or a zero divisor (naming it).
    """
    needed = (*_SHARES, *_NON_NEGATIVE, *_POSITIVE, "technology_measures_in_force", "years_to_ndpr_coverage", "years_to_dytb_coverage")
    missing = [name for name in needed if name not in inputs]
    if missing:
        raise ValueError(f"{missing[0]}: missing input")
    check_inputs(inputs)
    return indicator_values(inputs), indicator_texts(inputs, dict(source_ids or {}))
