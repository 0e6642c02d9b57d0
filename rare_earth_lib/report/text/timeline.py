"""Key-judgment text of the refining-timeline briefing, built from its headline figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.domain import percent
from rare_earth_lib.models.timeline import year_status, year_text
from rare_earth_lib.report.labels import in_sentence
from rare_earth_lib.report.text import projection as world_text


def key_judgment_sentences(
    head: Mapping[str, Any],
    refs: Mapping[str, str],
    *,
    probability_by_year: int,
    sensitivity_table: pd.DataFrame | None = None,
    ranges: Mapping[str, Mapping[str, Any]] | None = None,
    today: dt.date | None = None,
    sobol: Any = None,
) -> list[str]:
    """Key-judgment sentences built from the headline figures (no number typed by hand).

    One headline statistic everywhere: each product's sentence gives the median coverage year over all trials
    with P10 and P90, and the share of trials that never reach the threshold (first, when it is most of them);
    the 80% range of the trials that reach it comes after. A range that lies in
    the year under way (or past) at the build date is said to be a reading of today's plants, not a forecast.

    Args:
        head: output of :func:`rare_earth_lib.models.timeline.headline` (with hindcast and sensitivity).
        refs: labels -> "Figure N"/"Table N" for ``fan`` (or ``fan_ndpr`` and ``fan_dytb``), ``coverage``,
            ``tornado``, ``hindcast`` (and ``sobol`` when ``sobol`` is given).
        probability_by_year: the year of the probability figure.
        sensitivity_table: output of :func:`rare_earth_lib.models.timeline.sensitivity`; when given, the
            driver sentence says how far the largest driver moves the P50 year.
        ranges: ``{"ndpr": coverage_range(...), "dytb": ...}`` (optional).
        today: the build date; a probability for a year already under way is not given as a forecast.
        sobol: :class:`rare_earth_lib.models.timeline.SobolResult` (optional): one sentence on what the
            global sensitivity finds.

    Returns:
        Sentences, each naming the figure or table behind it.
    """
    sentences = []
    for key, label in (("ndpr", "NdPr oxide"), ("dytb", "Dy+Tb oxide")):
        where = f"{refs['coverage']}, {refs.get(f'fan_{key}', refs.get('fan'))}"
        sentences.append(coverage_sentence(label, key, head, None if ranges is None else ranges[key], today) + f" ({where}).")
    sentences.append(probability_sentence(head, probability_by_year, today, refs["coverage"]))
    if head.get("largest_driver"):
        sentences.append(driver_sentence(head, sensitivity_table) + f" ({refs['tornado']}).")
    if sobol is not None and "sobol" in refs:
        sentences.append(sobol_sentence(sobol) + f" ({refs['sobol']}).")
    if head.get("hindcast_coverage_rate") is not None:
        sentences.append(hindcast_sentence(head) + f" ({refs['hindcast']}).")
    return sentences


def share_text(share: float) -> str:
    """A share of trials as a percentage that never rounds to 0% or 100% unless it is: "fewer than 1%",
    "more than 99%"."""
    if 0 < share < 0.005:
        return "fewer than 1%"
    if 0.995 <= share < 1:
        return "more than 99%"
    return f"{share:.0%}"


def never_across_cases(share_never: Mapping[str, float | None], rule: str) -> str:
    """How much the share of simulated futures that never reach the coverage goal rests on the demand estimate: the
    share on the low and the high demand estimate beside the one the headline uses (``rule``); ``""`` when a case
    is missing or all three agree. For example "(4% on the low demand estimate, 100% on the high)"."""
    others = [case for case in ("low", "central", "high") if case != rule]
    if any(share_never.get(case) is None for case in (rule, *others)):
        return ""
    if len({share_text(float(share_never[case])) for case in (rule, *others)}) == 1:
        return ""
    first, second = (share_text(float(share_never[case])) for case in others)
    return f"({first} on the {others[0]} demand estimate, {second} on the {others[1]})"


def _percentiles(head: Mapping[str, Any], key: str) -> str:
    horizon = int(head["horizon_year"])
    return ", ".join(f"P{q} {year_text(head[f'{key}_coverage_year_p{q}'], horizon)}" for q in (10, 50, 90))


def coverage_sentence(label: str, key: str, head: Mapping[str, Any], rng: Mapping[str, Any] | None, today: dt.date | None) -> str:
    """One product's answer, the median over all trials first (no closing full stop).

    "Dy+Tb oxide: over all trials, alliance separation capacity first covers 75% of estimated alliance demand
    by 2037 at the median (P10 2031, P50 2037, P90 not by 2045); 42% of trials never reach it by 2045 (2 trials
    in 5); the trials that reach it do so in 2031-2038 (80% of them)". When every reaching trial covers demand in a year under way or past at the
    build date, the sentence says it is today's capacity against the demand estimate, not a forecast.
    """
    horizon = int(head["horizon_year"])
    threshold = float(head["coverage_threshold"])
    never = float(head[f"{key}_share_never_reached"])
    plain = one_in(never)  # "2 trials in 5" adds a plain reading; "72% of trials" would only repeat the share
    never_text = f"{share_text(never)} of trials never reach it by {horizon}" + (
        f" ({plain})" if 0.05 <= never < 1 and not plain.endswith("of trials") else ""
    )
    pct = f"({_percentiles(head, key)})"
    if rng is None:
        p50 = head[f"{key}_coverage_year_p50"]
        if p50 is None:
            return f"{label}: in most trials alliance separation capacity does not cover {threshold:.0%} of estimated alliance demand by {horizon} {pct}; {never_text}"
        return f"{label}: alliance separation capacity first covers {threshold:.0%} of estimated alliance demand in {p50} at the median {pct}; {never_text}"
    if rng["low"] is None:
        return (
            f"{label}: in no trial does alliance separation capacity cover {threshold:.0%} of estimated alliance demand by {horizon} {pct}"
        )
    if today is not None and rng["high"] <= today.year:
        first = rng["first_year"] if "first_year" in rng else rng["low"]
        status = year_status(first, today)
        when = f"{first}, the year under way at the build date ({today.isoformat()})" if status == "under way" else f"{first}, already past"
        share = rng.get("share_first_year")
        held = "" if share is None else f" It holds in {share_text(share)} of trials, which differ only in the demand drawn;"
        today_share = head.get(f"{key}_today_coverage_central")  # the threshold is what they reach, not their share
        share_now = "" if today_share is None else f", with today's capacity at {float(today_share):.0%} of central demand"
        return (
            f"{label}: plants already producing cover at least {threshold:.0%} of estimated alliance demand in {when}{share_now}: "
            f"a reading of today's capacity against the demand estimate, not a forecast.{held} {never_text} {pct}"
        )
    span = str(rng["low"]) if rng["low"] == rng["high"] else f"{rng['low']}-{rng['high']}"
    if never >= 0.5:  # most trials never get there: say so before the range of the others
        return (
            f"{label}: in most trials alliance separation capacity does not cover {threshold:.0%} of estimated alliance demand by "
            f"{horizon}: {never_text}; over all trials {pct}; the trials that reach it do so in {span} (80% of them)"
        )
    # one headline statistic in every summary: the median year over all trials, with P10 and the never share
    return (
        f"{label}: over all trials, alliance separation capacity first covers {threshold:.0%} of estimated alliance demand by "
        f"{_year_when(head[f'{key}_coverage_year_p50'], today)} at the median {pct}; {never_text}; the trials that reach it do so "
        f"in {span} (80% of them)"
    )


def driver_sentence(head: Mapping[str, Any], sensitivity_table: pd.DataFrame | None = None) -> str:
    """The one-at-a-time largest driver and where it moves each product's P50 (no closing full stop)."""
    horizon = int(head["horizon_year"])
    detail = ""
    if sensitivity_table is not None:
        rows = sensitivity_table.loc[sensitivity_table["label"] == head["largest_driver"]]
        names = {"ndpr_oxide": "NdPr", "dytb_oxide": "Dy+Tb"}
        parts = [
            f"with {row.setting} the {names.get(row.product, row.product)} P50 is "
            + (f"not reached by {horizon}" if pd.isna(row.p50_year) else str(int(row.p50_year)))
            for row in rows.itertuples()
        ]
        detail = (": " + "; ".join(parts)) if parts else ""
        detail += _other_dytb_drivers(head, sensitivity_table, horizon)
    return (
        f"Moving one factor at a time, the largest driver of the date among the factors that describe the world (rather than the "
        f"question asked) is the {in_sentence(head['largest_driver'])}{detail}"
    )


def _other_dytb_drivers(head: Mapping[str, Any], sensitivity_table: pd.DataFrame, horizon: int) -> str:
    """ "Largest" must not hide that other single factors change the Dy+Tb verdict too: with a base P50 inside the
    horizon, the factors that each push it beyond; with a base P50 already beyond, the factors that each bring it
    inside (a factor that leaves it beyond changes nothing and is not named)."""
    dytb = sensitivity_table.loc[(sensitivity_table["product"] == "dytb_oxide") & (sensitivity_table["label"] != head["largest_driver"])]
    if pd.isna(head.get("dytb_coverage_year_p50")):
        inside = dytb.loc[dytb["p50_year"].notna()]
        others = list(dict.fromkeys(f"{in_sentence(r.label)} ({r.setting}: {int(r.p50_year)})" for r in inside.itertuples()))
        if not others:
            return f"; no other single factor brings the Dy+Tb P50 within {horizon}"
        which = "another single factor brings" if len(others) == 1 else "other single factors each bring"
        return f"; {which} the Dy+Tb P50 within {horizon}: {', '.join(others)}"
    beyond = dytb.loc[dytb["p50_year"].isna()]
    others = list(dict.fromkeys(f"{in_sentence(r.label)} ({r.setting})" for r in beyond.itertuples()))
    if not others:
        return ""
    return (
        f"; but it is not alone: {', '.join(others)} each also push{'es' if len(others) == 1 else ''} the Dy+Tb P50 beyond {horizon} on "
        f"{'its' if len(others) == 1 else 'their'} own"
    )


def sobol_sentence(sobol: Any) -> str:
    """What the Sobol indices say in one sentence (no closing full stop): per product, the ranking of the inputs
    with the largest total index for the coverage year and how wide the bootstrap interval is at this sample
    size (a ranking, not a measurement), or that nothing moves it."""
    parts = []
    for output, name in (("ndpr_coverage_year_p50", "NdPr"), ("dytb_coverage_year_p50", "Dy+Tb")):
        rows = sobol.indices[(sobol.indices["output"] == output) & np.isfinite(sobol.indices["ST"])]
        if rows.empty or not rows["ST"].max() > 0:
            parts.append(f"no input moves the {name} P50 year within the ranges explored")
            continue
        ranked = rows.sort_values("ST", ascending=False)
        top = ranked.iloc[0]
        text = f"{in_sentence(top['label'])} ranks first for the {name} P50 year (total index about {top['ST']:.1f}, give or take {top['ST_conf']:.1f})"
        if len(ranked) > 1 and ranked.iloc[1]["ST"] > 0:
            second = ranked.iloc[1]
            text += f", ahead of {in_sentence(second['label'])} (about {max(second['ST'], 0.0):.1f} ± {second['ST_conf']:.1f})"
        parts.append(text)
    return (
        f"Varying all uncertain inputs together (Sobol indices from a base sample of {sobol.n_base}, so a ranking with wide "
        f"intervals, not a measurement), " + "; ".join(parts)
    )


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _stalled(head: Mapping[str, Any]) -> str:
    n = int(head.get("hindcast_n_stalled") or 0)
    return "" if n == 0 else f" and {n} stalled with no first output in sight, not scored"


def hindcast_sentence(head: Mapping[str, Any]) -> str:
    """One sentence on the leave-one-out hindcast: coverage with its counts and binomial interval, and,
    when the spread is calibrated, the plain fit's coverage beside it (no closing full stop)."""
    inside, decided, rate = head["hindcast_n_inside"], head["hindcast_n_decided"], head["hindcast_coverage_rate"]
    interval = ""
    if head.get("hindcast_coverage_ci_low") is not None:
        interval = f"; 90% interval {_share(head['hindcast_coverage_ci_low'])}-{_share(head['hindcast_coverage_ci_high'])}"
    counts = f"{inside} of {decided} decided outcomes ({_share(rate)}{interval}, against 80% for a well-calibrated window)"
    if head.get("slip_spread_calibrated"):
        return (
            f"Calibrated on past builds: with the spread of slips widened x{head['slip_spread_factor']:g}, the model's P10-P90 window, "
            f"made as of each historical build's decision date, held {counts}; the plain fit held "
            f"{_share(head.get('hindcast_coverage_rate_uncalibrated'))}. With {decided} decided builds the calibration itself is "
            f"uncertain, and because the spread was tuned on these same builds the coverage is in-sample, not an independent test; "
            f"{head['hindcast_n_open']} builds are still open{_stalled(head)}"
        )
    return (
        f"Run as of each historical build's decision date, the model's P10-P90 window held {counts}; "
        f"{head['hindcast_n_open']} builds are still open{_stalled(head)}"
    )


def hindcast_paragraph(cov: Mapping[str, Any], head: Mapping[str, Any], plain: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The hindcast section's paragraph.

    Args:
        cov: :func:`rare_earth_lib.models.timeline.hindcast_coverage` of the hindcast shown.
        head: the headline figures (calibration keys).
        plain: product label -> :func:`rare_earth_lib.models.timeline.coverage_summary` of the *uncalibrated*
            run, reported once beside the calibrated one (optional).
    """
    if cov["coverage_rate"] is None:
        return f"Hindcast: none of the {cov['n_total']} builds has a decided outcome yet, so no coverage rate can be given."
    text = (
        f"Hindcast: of {cov['n_total']} historical builds with a planned date, {cov['n_decided']} have a decided outcome. "
        f"{hindcast_sentence(head)}. {cov['n_early']} came in earlier than P10 and {cov['n_late']} later than P90; open builds "
        f"are not producing yet but can still land inside their window and are not counted."
    )
    if plain:
        parts = [
            f"{label} P10 {year_text(s['p10'], s['horizon_year'])}, P50 {year_text(s['p50'], s['horizon_year'])}, "
            f"P90 {year_text(s['p90'], s['horizon_year'])}, never by {s['horizon_year']} in {share_text(s['share_never'])} of trials"
            for label, s in plain.items()
        ]
        text += " Without the calibration (the plain fit) the coverage years would be: " + "; ".join(parts) + "."
    return text


def one_in(share: float) -> str:
    """A share of trials in plain words: "1 trial in 3", "3 trials in 4", "no trial", "every trial"."""
    if share <= 0:
        return "no trial"
    if share >= 1:
        return "every trial"
    if share < 0.05:
        return "fewer than 1 trial in 20"
    for denominator in (2, 3, 4, 5, 6, 8, 10, 20):
        numerator = round(share * denominator)
        if numerator >= 1 and abs(numerator / denominator - share) <= 0.025:
            return f"{numerator} trial{'s' if numerator > 1 else ''} in {denominator}"
    return f"{share:.0%} of trials"


def _year_when(year: int, today: dt.date | None) -> str:
    status = year_status(year, today)
    return f"{year} (the year under way)" if status == "under way" else f"{year} (already past)" if status == "past" else str(year)


def probability_sentence(head: Mapping[str, Any], by_year: int, today: dt.date | None, ref: str) -> str:
    """The probability of coverage by ``by_year``, or, for a year already under way or past, why none is given."""
    if today is not None and by_year <= today.year:
        return (
            f"{by_year} is {'under way' if by_year == today.year else 'past'} at the build date ({today.isoformat()}), so no forecast "
            f"probability is given for it: whether capacity covers demand that year is a matter of record, and the model's share of trials "
            f"only reflects how uncertain the demand estimate is ({ref})."
        )
    return (
        f"The probability of reaching that share by {by_year} is {share_text(head[f'ndpr_prob_by_{by_year}'])} for NdPr and "
        f"{share_text(head[f'dytb_prob_by_{by_year}'])} for Dy+Tb ({ref})."
    )


def coverage_detail(label: str, summary: Mapping[str, Any], start_year: int, today: dt.date | None) -> str:
    """Never share, percentiles and probability by the chosen year of one product, with years under way said so."""
    horizon = summary["horizon_year"]
    by_year = summary["by_year"]
    text = (
        f"{label}: never by {horizon} in {share_text(summary['share_never'])} of trials; P10 {year_text(summary['p10'], horizon)}, "
        f"P50 {year_text(summary['p50'], horizon)}, P90 {year_text(summary['p90'], horizon)}"
    )
    if today is None or by_year > today.year:
        text += f"; probability by {by_year} {share_text(summary['prob_by_year'])}"
    covered = summary["already_covered"]
    if year_status(start_year, today) == "forecast":
        return text + f"; already covered in {start_year} in {share_text(covered)} of trials."
    if covered == 0:
        return text + f". No trial covers it in {start_year}, {year_status(start_year, today)} at the build date."
    return text + (
        f". {start_year} is {year_status(start_year, today)} at the build date: the {share_text(covered)} of trials that "
        f"cover it then differ only in the size of demand drawn, so this is uncertainty about demand, not a forecast."
    )


def demand_case_sentence(cases: pd.DataFrame, horizon: int, ref: str) -> str:
    """How much the answer depends on demand: today's coverage and the P50 year under the low, central and
    high demand cases, per product (``cases``: :func:`rare_earth_lib.models.timeline.results.demand_case_table`)."""
    names = {"ndpr_oxide": "NdPr", "dytb_oxide": "Dy+Tb"}
    parts = []
    for product, rows in cases.groupby("product", sort=False):
        covered = ", ".join(f"{r.today_coverage:.0%} ({r.case})" for r in rows.itertuples())
        years = ", ".join(f"{year_text(None if pd.isna(r.p50) else int(r.p50), horizon)} ({r.case})" for r in rows.itertuples())
        parts.append(f"{names.get(product, product)}: today's capacity covers {covered} of this year's demand; P50 year {years}")
    return (
        "How much the answer depends on the demand estimate, from the low (observation-based) to the high (company claims) case: "
        + "; ".join(parts)
        + f" ({ref})."
    )


def demand_case_frame(cases: pd.DataFrame, horizon: int, start_year: int, by_year: int) -> pd.DataFrame:
    """Reader-facing table of the demand cases."""
    names = {"ndpr_oxide": "NdPr oxide", "dytb_oxide": "Dy+Tb oxide"}

    def year(v: Any) -> str:
        return year_text(None if pd.isna(v) else int(v), horizon)

    return pd.DataFrame(
        {
            "Product": cases["product"].map(names),
            "Demand case": cases["case_label"],
            f"Demand {start_year} t": cases["demand_first_year_t"].round(0),
            f"Demand {by_year} t": cases["demand_by_year_t"].round(0),
            "Today's capacity / demand": cases["today_coverage"].map(percent),
            "P10": cases["p10"].map(year),
            "P50": cases["p50"].map(year),
            "P90": cases["p90"].map(year),
            f"Never by {horizon}": cases["share_never"].map(share_text),
        }
    )


def sobol_paragraph(sobol: Any, horizon: int) -> str:
    """What the Sobol indices say: per output, how far it moves over the sample, the input with the largest
    total effect and how much of it is interaction, and how precise the indices are at this sample size
    (``sobol``: :class:`rare_earth_lib.models.timeline.SobolResult`)."""
    parts = []
    for output, rows in sobol.indices.groupby("output", sort=False):
        label = rows["output_label"].iloc[0]
        low, high = sobol.output_range.get(output, (None, None))
        is_year = output.endswith("coverage_year_p50")

        def show(v: float, is_year: bool = is_year) -> str:
            return year_text(None if v > horizon else int(v), horizon) if is_year else share_text(v)

        spread = "" if low is None else f" (from {show(low)} to {show(high)} over the sample)"
        finite = rows[rows["ST"].notna()]
        top = finite.loc[finite["ST"].idxmax()] if not finite.empty else None
        if top is None or not top["ST"] > 0:
            parts.append(f"{label}: no input moves it within the ranges explored{spread}")
            continue
        parts.append(
            f"{label}{spread}: {in_sentence(top['label'])} (total index {top['ST']:.2f} +/- {top['ST_conf']:.2f}, "
            f"{max(top['ST'] - top['S1'], 0):.2f} of it in interaction with other inputs)"
        )
    return (
        "The largest driver of each output is: "
        + "; ".join(parts)
        + f". {sobol.n_evaluations:,} model runs of {sobol.n_trials:,} trials each (base sample {sobol.n_base}); a coverage year "
        f"not reached by {horizon} counts as {horizon + 1}. At this sample size the bootstrap +/- is wide and an index can come out "
        "above 1 or below 0 by sampling noise alone: read the indices as a ranking, not to the decimal, and an output that barely "
        "moves over the sample as one that the inputs hardly affect, whatever its indices."
    )


def slip_text(slips: pd.DataFrame, head: Mapping[str, Any]) -> str:
    """The delay allowed for, kept apart from the delays seen: the median of the fitted (widened) slip distribution the
    model draws from, and the median slip of the past builds that reached first output (no closing full stop)."""
    observed = slips.loc[~slips["censored"].astype(bool), "slip_years"].astype("float64")
    fitted = f"the slip distribution fitted to past plants outside China has a median of {head['slip_median_years']:.1f} years"
    if observed.empty:
        return fitted + "; no past build in the data has reached first output"
    builds = (
        "the past build that reached first output" if len(observed) == 1 else f"the {len(observed)} past builds that reached first output"
    )
    verb = "slipped" if len(observed) == 1 else "slipped a median of"
    return fitted + f"; {builds} {verb} {float(observed.median()):.1f} years"


def key_judgments(results: Any, params: Any, refs: Mapping[str, str], today: dt.date | None = None) -> list[str]:
    """The briefing's key judgments, in order: each product's coverage, the driver, Sobol and hindcast sentences
    (:func:`key_judgment_sentences`), then demand, the three demand cases and, when the results carry the world
    projection, how it compares with IEA's.

    Args:
        results: :func:`rare_earth_lib.models.timeline.briefing_results`.
        params: the briefing's parameters.
        refs: labels -> "Figure N"/"Table N": those of :func:`key_judgment_sentences`, and ``demand``,
            ``demand_cases``, ``world_share``, ``world_decomposition``.
        today: the build date.
    """
    sentences = [
        *key_judgment_sentences(
            results.headline,
            refs,
            probability_by_year=params.probability_by_year,
            sensitivity_table=results.sensitivity,
            ranges=results.ranges,
            today=today,
            sobol=results.sobol,
        ),
        demand_sentence(results, params, refs["demand"]),
        demand_case_sentence(results.demand_cases, params.horizon_year, refs["demand_cases"]),
    ]
    if results.world is not None:
        world = world_text.key_judgment(results.world.decomposition, results.world.metrics).removesuffix(".")
        sentences.append(f"{world} ({refs['world_share']}, {refs['world_decomposition']}).")
    return sentences


def not_covered_text(case: str, share_never: float, threshold: float, label: str, horizon: int) -> str:
    """The clause for a demand estimate on which most simulated futures never reach the threshold (lower case)."""
    return (
        f"on the {case} demand estimate, in most simulated futures ({share_text(share_never)}) plants built and planned"
        f" do not cover {threshold:.0%} of {label} need by {horizon}"
    )


def highest_case_text(
    p50: float | None, share_never: float, threshold: float, label: str, horizon: int, today: dt.date | None = None
) -> str:
    """What the highest demand estimate gives for a product today's plants already cover: the year half the simulated
    futures reach the threshold by (a year under way or past is said to be, :func:`_year_when`), and the share that
    never does by the horizon, or, when most never do, :func:`not_covered_text`. Names the product, so that it cannot
    be read as the next sentence's."""
    if pd.isna(p50):
        return not_covered_text("highest", share_never, threshold, label, horizon)
    never = f", and in {share_text(share_never)} they do not by {horizon}" if share_never > 0 else ""
    return (
        f"on the highest demand estimate, half the simulated futures cover {threshold:.0%} of {label} need by"
        f" {_year_when(int(p50), today)}{never}"
    )


def summary(results: Any, params: Any, as_of: dt.date, horizon: int) -> list[str]:
    """The one-minute summary: plain sentences from the numbers, in the words of the feasibility briefing's.

    Args:
        results: :func:`rare_earth_lib.models.timeline.briefing_results` output.
        params: the validated parameter model.
        as_of: the data's as-of date.
        horizon: last simulated year.
    """
    head, cases = results.headline, results.demand_cases.set_index(["product", "case"])
    rule = params.demand_anchor_rule
    owner = "counting plants by who owns them" if params.attribution == "owner" else "counting plants where they stand"

    def spread(product: str) -> str:
        values = sorted(float(cases.loc[(product, case), "today_coverage"]) for case in ("low", "central", "high"))
        return f"{values[0]:.0%} to {values[-1]:.0%}"

    sentences = [
        f"Today the alliance's plants, {owner}, separate about {head['ndpr_capacity_today_tpa']:,.0f} tonnes of NdPr oxide and"
        f" {head['dytb_capacity_today_tpa']:,.0f} tonnes of dysprosium and terbium (Dy+Tb) oxide a year.",
        f"That is {head['ndpr_today_coverage_central']:.0%} of the alliance's own estimated NdPr need on the central estimate"
        f" ({spread('ndpr_oxide')} across the low to high estimates), but only {head['dytb_today_coverage_central']:.0%} of its"
        f" Dy+Tb need ({spread('dytb_oxide')}).",
    ]
    for key, label in (("ndpr", "NdPr"), ("dytb", "Dy+Tb")):
        rng = results.ranges[key]
        if rng["low"] is None:
            sentences.append(f"No simulated future has plants covering {params.coverage_threshold:.0%} of {label} need by {horizon}.")
            continue
        share = share_text(rng["share_never"])
        never = f"; in {share} of simulated futures it does not happen by {horizon}" if rng["share_never"] > 0 else ""
        if rng["high"] <= results.today.year:
            product = "ndpr_oxide" if key == "ndpr" else "dytb_oxide"
            high = cases.loc[(product, "high")]
            today_share = float(head[f"{key}_today_coverage_central"])
            already = (
                f"Plants already producing exceed the {params.coverage_threshold:.0%} threshold for {label}: they cover"
                f" {today_share:.0%} of central need in {rng['high']}, the year under way"
                if today_share >= params.coverage_threshold
                else f"Plants already producing cover {params.coverage_threshold:.0%} of {label} need in {rng['high']}, the year under way"
            )
            sentences.append(
                f"{already}: that is today's capacity set against the demand estimate, not a forecast; "
                f"{highest_case_text(high['p50'], high['share_never'], params.coverage_threshold, label, horizon, results.today)}."
            )
            continue
        # the same statistic as the key judgments, the tables and the feasibility briefing: the median year over all
        # simulated futures, the year one in ten reaches, and the share that never does
        p10, p50 = head[f"{key}_coverage_year_p10"], head[f"{key}_coverage_year_p50"]
        early = "" if p10 is None else f" (in one in ten, by {_year_when(p10, results.today)})"
        if p50 is None:
            product = "ndpr_oxide" if key == "ndpr" else "dytb_oxide"
            across = never_across_cases({case: cases.loc[(product, case), "share_never"] for case in ("low", "central", "high")}, rule)
            clause = not_covered_text(rule, rng["share_never"], params.coverage_threshold, label, horizon)
            sentences.append(
                f"{clause[:1].upper()}{clause[1:]}{'' if not across else ' ' + across}"
                f"{'' if p10 is None else f'; in one in ten they do by {p10}'}."
            )
            continue
        sentences.append(
            f"In half of the simulated futures plants built and planned cover {params.coverage_threshold:.0%} of {label} need by"
            f" {_year_when(p50, results.today)}{early}{never}."
        )
    calibration = calibration_sentence(results.hindcast_cov, tuned=bool(head.get("slip_spread_calibrated")))
    sentences.append(f"These dates allow for delays: {slip_text(results.run.slips, head)}; {calibration[0].lower()}{calibration[1:]}")
    sentences.append(f"The data end on {as_of.isoformat()}; nothing that happened after that date is in them.")
    return sentences


def calibration_sentence(cov: Mapping[str, Any], *, tuned: bool) -> str:
    """How the model's ranges did on past builds, in plain words: finished plants held, unbuilt ones missed, and
    (when the spread was tuned on them) that this is a fit to the same cases, not an independent test."""
    finished, inside = cov.get("n_finished", cov["n_decided"]), cov.get("n_finished_inside", cov["n_inside"])
    held = f"all {finished}" if inside == finished else f"{inside} of the {finished}"
    text = f"The model's ranges, made as of each past plant's decision date, held {held} finished plants"
    missed = list(cov.get("unbuilt_missed", []))
    if missed:
        plural = "plants" if len(missed) > 1 else "plant"
        text += f" and missed {len(missed)} {plural} still not built ({', '.join(missed)})"
    if tuned:
        text += "; the spread of delays was tuned on these same cases, so this is a fit, not an independent test"
    return text + "."


def demand_sentence(results: Any, params: Any, ref: str) -> str:
    """The key judgment on the demand estimate: which case is used and its size in the probability year."""
    by_year = params.probability_by_year
    demand = results.run.demand.set_index(["product", "year"])["tonnes"]
    return (
        f"Alliance demand is an estimate built from thin data (low, central and high cases per member; the {params.demand_anchor_rule} "
        f"case is used here): about {demand['ndpr_oxide', by_year]:,.0f} t of NdPr oxide and {demand['dytb_oxide', by_year]:,.0f} t "
        f"of Dy+Tb oxide in {by_year} ({ref})."
    )


def first_year_sentence(results: Any, params: Any) -> str:
    """What the first simulated year rests on: today's capacity of the plants already producing (observed output where
    the data have it), stated against the simulated median of that year; then how producing plants move on."""
    from rare_earth_lib.models.timeline.simulate import OBSERVED_COLUMNS, producing_today

    run, head = results.run, results.headline
    result = run.result
    pipe = run.pipeline.reset_index(drop=True)
    today = producing_today(pipe, result.params, result.as_of_year)
    producing = sum(today.values()) > 0
    observed = pipe[[c for c in OBSERVED_COLUMNS.values() if c in pipe]].notna().any(axis=1).to_numpy()
    pilots = pipe["observed_only"].to_numpy(dtype=bool) if "observed_only" in pipe else np.zeros(len(pipe), dtype=bool)
    listed, with_rate = int((producing & ~pilots).sum()), int((producing & observed & ~pilots).sum())
    first = int(result.years[0])
    medians = {
        key: float(np.median(result.capacity_tpa[product][:, 0])) for product, key in (("ndpr_oxide", "ndpr"), ("dytb_oxide", "dytb"))
    }
    stated = {key: float(head[f"{key}_capacity_today_tpa"]) for key in medians}
    basis = (
        f"the latest observed output rate for all {listed}"
        if with_rate == listed
        else f"the latest observed output rate for {with_rate} of the {listed}, nameplate times the ramp-up curve on the data date for the others"
    )
    if pilots.any() and (producing & pilots).any():
        n = int((producing & pilots).sum())
        basis += (
            f", plus {n} pilot line{'s' if n > 1 else ''} with observed output but no nameplate (counted, not listed in the project table)"
        )
    same = all(round(medians[k], 1) == round(stated[k], 1) for k in medians)
    if same:
        level = (
            f"so the simulated median for {first} is today's capacity, {stated['ndpr']:,.0f} t NdPr and {stated['dytb']:,.0f} t Dy+Tb"
            " oxide a year, the figures of the alliance-feasibility briefing"
        )
    else:
        level = (
            f"so the simulated median for {first}, {medians['ndpr']:,.0f} t NdPr and {medians['dytb']:,.0f} t Dy+Tb oxide a year,"
            f" sets today's capacity ({stated['ndpr']:,.0f} t and {stated['dytb']:,.0f} t, the figures of the alliance-feasibility"
            " briefing) beside plants that first produce within that year in some trials"
        )
    return (
        f"The simulation starts in {first}, the year of the data date, from what the plants already producing make: {basis}; {level}."
        f" From the next year a producing plant's output rises by the ramp-up curve's yearly gain until it reaches"
        f" {params.mature_utilisation:.0%} of nameplate, or stays at its observed rate where that is already higher; plants not yet"
        " producing follow the ramp-up curve from their simulated first output."
    )
