"""Words of the alliance-feasibility briefing: the one-minute summary, key judgments, dated context and notes.

Every sentence is built from the results (:class:`rare_earth_lib.models.scorecard.FeasibilityRun`) and the build
date, so the same numbers read the same way everywhere and a briefing built after a date never calls it future.
Tables for display live in :mod:`rare_earth_lib.report.text.feasibility_tables`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from rare_earth_lib.data.views import default_rows
from rare_earth_lib.domain import REGIME_LABELS, REGION_NAMES
from rare_earth_lib.domain import percent as pct
from rare_earth_lib.models.scorecard import INDICATOR_LABELS
from rare_earth_lib.models.scorecard.finance import QUARTER
from rare_earth_lib.report.text.timeline import never_across_cases

REGIME_TEXT = {
    "suspension_extended": "the suspension was extended",
    "reimposed": "the suspended measures came back into force",
}
REGIME_FUTURE = {
    "suspension_extended": "stay suspended",
    "reimposed": "come back into force",
}


def round_sig(value: float, digits: int = 2) -> float:
    """``value`` to ``digits`` significant figures (the one rounding convention for estimates in prose)."""
    if value == 0 or value != value:
        return value
    step = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
    rounded = math.copysign(math.floor(abs(value) / step + 0.5) * step, value)  # halves away from zero: 685 -> 690
    return round(rounded, max(0, -math.floor(math.log10(step))))


def tonnes(value: float | None) -> str:
    """Tonnes for prose, to two significant figures: ``11,249`` -> ``"11,000"``, ``685`` -> ``"690"``, ``70`` -> ``"70"``."""
    if value is None or value != value:
        return "n/a"
    if 0 < abs(value) < 1:
        return f"{round_sig(value, 1):g}"
    return f"{round_sig(value):,.0f}"


def musd(value: float | None) -> str:
    """US$ for prose, to two significant figures: ``96.3`` -> ``"US$96 million"``, ``2,558`` -> ``"US$2.6 billion"``."""
    if value is None or value != value:
        return "n/a"
    rounded = round_sig(value)
    if abs(rounded) >= 1000:
        return f"US${rounded / 1000:,.{0 if rounded % 1000 == 0 else 1}f} billion"
    return f"US${rounded:,.0f} million"


def usd_per_kg(value: float | None) -> str:
    """A price for prose, to the dollar: ``83.75`` -> ``"US$84/kg"``."""
    if value is None or value != value:
        return "n/a"
    return f"US${value:,.0f}/kg"


PROPER_WORDS = frozenset({"Japanese", "Japan", "Australian", "Australia", "American", "Chinese", "China", "US", "Malaysia"})
"""First words that keep their capital inside a sentence (names of countries and their adjectives)."""


def mid_sentence(phrase: str) -> str:
    """A phrase written to open a sentence, for use inside one: the first letter lowered unless the first word is a
    name (``"Japanese separation ..."`` stays, ``"Listed plants ..."`` -> ``"listed plants ..."``)."""
    first = phrase.split(" ", 1)[0].rstrip(":;,.")
    if first in PROPER_WORDS or (len(first) > 1 and first[1:2].isupper()):
        return phrase
    return phrase[:1].lower() + phrase[1:]


def date_text(day: dt.date | str | None) -> str:
    """``2026-11-10`` -> ``"10 November 2026"``."""
    if day is None:
        return "n/a"
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day.day} {day:%B %Y}"


def coverage_text(year: int | None, build_date: dt.date, horizon: int) -> str:
    """How a median coverage year reads on the build date: a year already under way is not a forecast."""
    if year is None:
        return f"not by {horizon}"
    if year < build_date.year:
        return f"already in {year} (a past year)"
    if year == build_date.year:
        return f"already in {year}, the current year (what the data show, not a forecast)"
    return f"by about {year}"


def suspension_passed(figures: dict[str, Any], build_date: dt.date) -> bool:
    """Whether the suspension's end date lies before the build date (the data then cannot say what followed)."""
    end = figures.get("suspension_end")
    return bool(end) and dt.date.fromisoformat(end) <= build_date


def controls_context(figures: dict[str, Any], as_of: dt.date, build_date: dt.date) -> str:
    """The dated sentence about China's suspended controls, relative to the build date."""
    end = figures.get("suspension_end")
    regime = figures["controls_regime"]
    if not end:
        return f"The data, as of {date_text(as_of)}, record no suspended measure."
    if suspension_passed(figures, build_date):
        return (
            f"China suspended Nos. 55–58, 61 and 62 until {date_text(end)}. The data end on {date_text(as_of)} and hold nothing"
            f" after it, so whether the suspension was extended or the measures came back into force is not known here:"
            f" the exposure section shows both branches side by side, and this scenario assumes {REGIME_TEXT[regime]}."
        )
    return (
        f"China suspended Nos. 55–58, 61 and 62 until {date_text(end)}; this scenario assumes the measures"
        f" {REGIME_FUTURE[regime]} after that date (the data are as of {date_text(as_of)})."
    )


def _case_range(figures: dict[str, Any], key: str) -> str:
    values = sorted(figures[f"{key}_{case}"] for case in ("low", "high"))
    return f"between {pct(values[0])} and {pct(values[1])}"


def _case_years(run: Any, product: str, build_date: dt.date) -> str:
    horizon = run.params.horizon_year
    texts = {case: coverage_text(s[product]["p50"], build_date, horizon) for case, s in run.coverage_by_case.items()}
    return f"{texts['low']} on low demand, {texts['central']} on central demand and {texts['high']} on high demand"


def branch_shares(run: Any, stage: str) -> dict[str, float]:
    """Licence share of alliance demand at ``stage`` under each branch after the suspension's end (both, not the scenario's)."""
    row = run.assessment.branches.set_index("stage").loc[stage]
    return {regime: float(row[regime]) for regime in REGIME_LABELS}


QUALIFIER_WORDS = {"eq": "", "approx": "about ", "gt": "more than ", "lt": "less than ", "gte": "at least ", "lte": "at most "}
"""How the data's ``share_qualifier`` reads before a figure."""

BROAD_TRADE_PRODUCTS = {"ree_total": "all its rare-earth imports", "ree_compounds_metals": "its rare-earth compound and metal imports"}
"""Trade products broader than any one stage's product, named when a stage's share stands on them."""

BOUNDS = ("gt", "lt", "gte", "lte")
"""Qualifiers that make a figure a bound, not a value."""


def exposure_branches_text(run: Any) -> str:
    """Licence exposure of heavy separation on the exposure date, each branch named for what it assumes, and the
    import share it rests on when that share is only a bound."""
    f = run.assessment.figures
    shares = branch_shares(run, "heavy_separation")
    bounds = bound_trade_text(run, "heavy_separation")
    return (
        f"on {date_text(f['exposure_date'])}, {pct(shares['suspension_extended'])} of the alliance's heavy rare-earth demand"
        f" would need a Chinese licence even if the suspension is extended, and {pct(shares['reimposed'])} if the suspended"
        " measures come back into force" + (f" ({bounds})" if bounds else "")
    )


def bound_trade_text(run: Any, stage: str) -> str:
    """Which import shares behind a stage's share bought from China are only bounds ("below 60%") counted as values,
    each with the same importer's figure before it; ``""`` when none is. For example "counting Japan's imports from
    China at 60%, a 2025 figure for all its rare-earth imports known only as less than 60%; the 2024 figure was about 70%"."""
    direct = run.assessment.direct_china.set_index("stage")
    if stage not in direct.index:
        return ""
    trade = run.tables["trade_exposure"]
    used = trade.loc[[label for label in direct.at[stage, "trade_rows"] if label in trade.index]]
    texts = []
    for _, row in used[used["share_qualifier"].isin(BOUNDS)].iterrows():
        importer = REGION_NAMES.get(str(row["importer"]), str(row["importer"]))
        scope = BROAD_TRADE_PRODUCTS.get(str(row["product"]))
        text = (
            f"counting {importer}'s imports from China at {pct(row['share'])}, a {int(row['year_end'])} figure"
            + (f" for {scope}" if scope else "")
            + f" known only as {QUALIFIER_WORDS[row['share_qualifier']]}{pct(row['share'])}"
        )
        same = trade[
            (trade["importer"] == row["importer"])
            & (trade["product"] == row["product"])
            & (trade["partner"] == row["partner"])
            & (trade["year_end"] < row["year_end"])
        ]
        earlier = default_rows(same).sort_values("year_end", kind="stable")
        if len(earlier):
            before = earlier.iloc[-1]
            text += (
                f"; the {int(before['year_end'])} figure was"
                f" {QUALIFIER_WORDS.get(str(before['share_qualifier']), '')}{pct(before['share'])}"
            )
        texts.append(text)
    return "; ".join(texts)


def _heavy_gap_sentence(f: Mapping[str, Any], p: Any, run: Any, build_date: Any) -> str:
    """The Dy+Tb gap with the coverage year as the timeline briefing states it: the median over all simulated futures,
    the year one in ten reaches, and the share that never does by the horizon; when the median is beyond the horizon,
    the share that never gets there leads (saying "not by 2045 in half of the futures" beside "in 73%" misleads)."""
    cov = run.coverage["dytb_oxide"]
    head = (
        f"The real gap is heavy rare earths: about {tonnes(f['dytb_capacity_today_tpa'])} tonnes of dysprosium and terbium a year,"
        f" {pct(f['dytb_self_sufficiency_central'])} of need; "
    )
    tenth = "" if cov.get("p10") is None else f"one in ten by {cov['p10']}"
    rule = p.demand_anchor_rule
    if f["coverage_dytb_year"] is None and cov.get("share_never") is not None:
        by_case = {
            case: (run.coverage_by_case.get(case) or {}).get("dytb_oxide", {}).get("share_never") for case in ("low", "central", "high")
        }
        across = never_across_cases(by_case, rule)
        return (
            head
            + f"in {pct(cov['share_never'])} of the simulated futures on the {rule} demand estimate"
            + (f" {across}" if across else "")
            + f", plants built and planned do not cover {pct(p.coverage_threshold)} of it by {p.horizon_year}"
            + (f" ({tenth} do)" if tenth else "")
            + "."
        )
    return (
        head + f"plants built and planned would cover {pct(p.coverage_threshold)} of it"
        f" {coverage_text(f['coverage_dytb_year'], build_date, p.horizon_year)} in half of the simulated futures on the {rule}"
        " demand estimate"
        + (f" (in {tenth})" if tenth else "")
        + ("" if cov.get("share_never") is None else f"; in {pct(cov['share_never'])} of them not by {p.horizon_year}")
        + "."
    )


def floors_text(f: dict[str, Any]) -> str:
    """The price floors' modelled cost with its price basis and date, and the US floor's observed cost beside it."""
    when = f" (quote of {date_text(f['market_price_date'])})" if f.get("market_price_date") else ""
    basis = "ex-China" if str(f.get("market_label", "")).startswith("Ex-China") else "China-linked"
    text = (
        f"Topped up from the {basis} price{when} of {usd_per_kg(f['market_usd_per_kg'])}, the two NdPr price floors would cost"
        f" the United States about {musd(f.get('floor_cost_united_states_musd'))} and Japan's JARE (public and private money,"
        f" split not public) about {musd(f.get('floor_cost_japan_musd'))} a year"
    )
    if f.get("floor_observed_united_states_period"):
        text += (
            "; the US floor's observed cost, paid against MP Materials' own China-linked price, was"
            f" {musd(f['floor_observed_united_states_musd'])} over {_quarters(f['floor_observed_united_states_period'])},"
            f" about {musd(f['floor_observed_united_states_musd_per_year'])} a year at that rate"
        )
    return text + "."


def _quarters(period: str) -> str:
    found = QUARTER.findall(period)
    return " and ".join(found) if found else period


def _ndpr_coverage_sentence(f: Mapping[str, Any], p: Any, build_date: dt.date) -> str:
    """When NdPr is covered in a year already under way and today's plants are above the threshold, the sentence says
    they already exceed it and by how much (the threshold is not their share); otherwise the median coverage year."""
    year, today_share = f["coverage_ndpr_year"], f["ndpr_self_sufficiency_central"]
    if year is not None and year <= build_date.year and today_share >= p.coverage_threshold:
        return (
            f"Plants already producing exceed the {pct(p.coverage_threshold)} coverage threshold for NdPr: they make"
            f" {pct(today_share)} of the central estimate of need, a reading of today's capacity, not a forecast."
        )
    return (
        f"On the {p.demand_anchor_rule} demand estimate, plants built and planned would cover {pct(p.coverage_threshold)} of NdPr need"
        f" {coverage_text(year, build_date, p.horizon_year)}."
    )


def today_basis_text(result: Any) -> str:
    """What today's NdPr capacity rests on: observed output where the data have it, and for producing plants without
    an observed rate an assumption (nameplate after ramp-up), with the tonnage so assumed (from the capacity rows)."""
    rows = result.capacity
    ndpr = rows[(rows["group"] == "Alliance") & (rows["product"] == "ndpr_oxide") & (rows["today_tpa"] > 0)]
    observed = ndpr[ndpr["observed_tpa"].notna()]
    assumed = ndpr[ndpr["observed_tpa"].isna()]
    named = " and ".join(dict.fromkeys(observed["company"].astype(str)))
    text = (
        f"Today's capacity is observed output where the data have it (the latest observed output rate of {named})"
        if named
        else "Today's capacity rests on no observed output"
    )
    if assumed.empty:
        return text + "; every producing plant's rate is observed."
    plants = "one producing plant" if len(assumed) == 1 else f"{len(assumed)} producing plants"
    return (
        text + f" and an assumption for the rest: {plants} without an observed rate count at nameplate after ramp-up on the"
        f" data's date, about {tonnes(float(assumed['today_tpa'].sum()))} t of NdPr oxide a year of the"
        f" {tonnes(float(ndpr['today_tpa'].sum()))} t."
    )


def summary(run: Any, build_date: dt.date) -> list[str]:
    """The one-minute summary: four to six plain sentences from the numbers, no model jargon."""
    f, p = run.assessment.figures, run.params
    owner = "counting plants by who owns them" if p.attribution == "owner" else "counting plants where they stand"
    exposure = exposure_branches_text(run)
    if suspension_passed(f, build_date):
        exposure = (
            f"China's suspension was due to end on {date_text(f['suspension_end'])}; the data end on {date_text(run.as_of)} and do not"
            f" say whether it was extended, so both outcomes are shown: {exposure}."
        )
    else:
        exposure = exposure[0].upper() + exposure[1:] + "."
    return [
        f"China does {pct(f['china_separation_share'])} of the world's rare-earth separation (all elements, light and heavy),"
        f" {pct(f['china_heavy_separation_share'])} of the separation of heavy ones (dysprosium and terbium) and makes"
        f" {pct(f['china_magnet_share'])} of rare-earth magnets.",
        f"Today the alliance's plants, {owner}, can separate about {tonnes(f['ndpr_capacity_today_tpa'])} tonnes of NdPr oxide a year:"
        f" {pct(f['ndpr_self_sufficiency_central'])} of the alliance's own estimated need on the central estimate,"
        f" {_case_range(f, 'ndpr_self_sufficiency')} depending on which demand estimate is right.",
        _ndpr_coverage_sentence(f, p, build_date),
        _heavy_gap_sentence(f, p, run, build_date),
        floors_text(f),
        exposure,
    ]


def dytb_demand_text(f: dict[str, Any]) -> str:
    """Dy+Tb demand with its range: the central case is a midpoint of conflicting sources, never quoted alone."""
    return (
        f"an estimated {tonnes(f['dytb_demand_today_low_t'])}–{tonnes(f['dytb_demand_today_high_t'])} t of demand"
        f" (central {tonnes(f['dytb_demand_today_central_t'])} t, a midpoint of conflicting sources)"
    )


def key_judgments(run: Any, build_date: dt.date, ref: Any) -> list[str]:
    """Key judgments in plain terms, each pointing to the figure or table behind it (``ref(label)``)."""
    f, p = run.assessment.figures, run.params
    weakest = INDICATOR_LABELS[f["weakest_indicator"]]
    heavy = branch_shares(run, "heavy_separation")
    return [
        f"China dominates every midstream stage: {pct(f['china_separation_share'])} of separation, {pct(f['china_heavy_separation_share'])}"
        f" of heavy separation, {pct(f['china_magnet_share'])} of magnet making; the alliance holds {pct(f['alliance_separation_share'])}"
        f" of separation and {pct(f['alliance_magnet_share'])} of magnet making ({ref('chain_chart')}).",
        f"Today's NdPr capacity of about {tonnes(f['ndpr_capacity_today_tpa'])} t a year meets {_case_range(f, 'ndpr_self_sufficiency')}"
        " of alliance demand across the low, central and high demand estimates: for light rare earths the answer depends"
        f" more on which demand estimate is right than on any plant ({ref('self_sufficiency_table')}).",
        f"Heavy rare earths are not: about {tonnes(f['dytb_capacity_today_tpa'])} t a year of Dy+Tb against {dytb_demand_text(f)};"
        f" the median year across simulations for covering {pct(p.coverage_threshold)} of it is"
        f" {_case_years(run, 'dytb_oxide', build_date)} ({ref('self_sufficiency_table')}).",
        f"Exposure to Chinese licensing sits in heavy separation ({pct(heavy['suspension_extended'])} of demand if the suspension is"
        f" extended, {pct(heavy['reimposed'])} if the suspended measures return) and magnets ({pct(f['licence_share_magnet'])}"
        f" in this scenario), not light separation ({pct(f['licence_share_separation'])}) ({ref('branches_table')}).",
        f"{_money_clause(run)}; the weakest area of the scorecard is {f['bottleneck_label'].lower()}"
        f" ({f['bottleneck_score']:.0f} of 100), held down most by '{weakest}' ({ref('scorecard_table')}).",
    ]


def capex_text(run: Any) -> str:
    """The capex to fill the gap as a range, with how many plants it rests on and its confidence."""
    g = run.assessment.capex_gap
    needed = g[g["gap_tpa"] > 0]
    if needed.empty:
        return "no capacity gap to fill"
    low, high = float(needed["capex_musd_low"].sum()), float(needed["capex_musd_high"].sum())
    amount = (
        f"about {musd(low)}" if round_sig(low) == round_sig(high) else f"an estimated {musd(low)}–{musd(high)}".replace(" million–US$", "–")
    )
    few = int(needed["plants"].min()) if "plants" in needed else 0
    confidence = "low confidence: it rests on one plant's estimate" if few <= 1 else f"low confidence: it rests on {few} plants' estimates"
    return f"{amount} of capex for new capacity to fill the gap, at the cost per tonne of plants and expansions not yet producing ({confidence})"


def _money_clause(run: Any) -> str:
    pillars = run.assessment.pillars.set_index("pillar")["score"]
    finance = float(pillars.get("market_finance", float("nan")))
    f = run.assessment.figures
    gap = f"public money for separation in the alliance ({musd(f['public_money_musd'])}, as counted) against {capex_text(run)}"
    if finance >= 200 / 3:
        return f"Money does not appear to be the binding constraint in this scenario: {gap}"
    return f"Money appears to be a constraint in this scenario: {gap}"


def _channels_note(run: Any) -> str:
    p = run.params
    if not getattr(p, "control_channels_active", False) or run.coverage_without_channels is None:
        return (
            "Reimposed controls change the licence exposure shown here. The build-out timeline moves only through two"
            " channels (licence delays for plants that need Chinese equipment or technology; higher ex-China prices pulling"
            " decisions forward), which this scenario leaves off, so its timeline is the base case's."
        )
    before, after = run.coverage_without_channels, run.coverage
    moves = "; ".join(
        f"{label}: median year {before[product]['p50'] or 'never'} without the channels, {after[product]['p50'] or 'never'} with them"
        for product, label in (("ndpr_oxide", "NdPr"), ("dytb_oxide", "Dy+Tb"))
    )
    return (
        "Reimposed controls move the build-out through two channels: plants not yet producing wait for licences"
        f" ({pct(p.chinese_equipment_share)} of them assumed to need Chinese equipment or technology, {p.licence_delay_years:g} years each),"
        f" and higher ex-China prices bring decisions forward by {p.price_pullforward_years:g} years. {moves}."
        + (
            " The median years do not move: the channels shift dates by less than the one-year steps the result is given in."
            if all(before[k]["p50"] == after[k]["p50"] for k in ("ndpr_oxide", "dytb_oxide"))
            else ""
        )
    )


SCENARIO_NOTES: dict[str, str] = {
    "framework": (
        "Framework money is not assigned to any project in the data, so it is shown apart and does not count against the"
        " separation gap: counting more of it moves no score."
    ),
}


def scenario_notes(run: Any, base_params: Any) -> list[str]:
    """Why a result the reader might expect to move does not, for the parameters this scenario changes."""
    p = run.params
    notes = []
    if p.controls_regime != base_params.controls_regime or getattr(p, "control_channels_active", False):
        notes.append(_channels_note(run))
    if (p.framework_landed_share, p.framework_ree_share) != (base_params.framework_landed_share, base_params.framework_ree_share):
        notes.append(SCENARIO_NOTES["framework"])
    return notes
