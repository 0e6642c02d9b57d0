"""Words of the scenario-discovery briefing: key judgments, headline, and the sentences that depend on the results.

The notebook's prose lives in its markdown cells; the sentences here are the ones whose wording turns on the
results (a box found or not, results computed or read from the cache), shown through ``{eval}`` expressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from rare_earth_lib.models.discovery.analysis import GOAL_PRODUCTS, PrimResult, box_conditions, primary_goal
from rare_earth_lib.models.discovery.cache import Evaluation
from rare_earth_lib.report.labels import in_sentence
from rare_earth_lib.report.text.feasibility import pct

__all__ = [
    "count",
    "monte_carlo_error",
    "trial_pct",
    "demand_cases_text",
    "evaluation_text",
    "goal_fallback_text",
    "goal_text",
    "headline",
    "key_judgments",
    "levers_text",
    "no_box_reason",
    "pct",
    "prim_outcome_text",
    "products_text",
    "strongest_text",
    "us_funding_text",
]

PRODUCTS_TEXT = {"both": "NdPr and Dy+Tb oxide", "ndpr": "NdPr oxide", "dytb": "Dy+Tb oxide"}


def count(n: float) -> str:
    """A count for prose, with thousands separators: ``1200`` -> ``"1,200"``."""
    return f"{int(n):,}"


def trial_pct(probability: float, n_trials: int) -> str:
    """A probability estimated from ``n_trials`` Monte Carlo trials, to whole percent, never more precise than the trials allow.

    Near 0 or 1 a whole percent would round to a certainty the trials do not show: ``"more than 99%"``,
    ``"less than 1%"`` (and exactly ``"0%"`` / ``"100%"`` only when no trial / every trial succeeded).
    """
    if probability >= 1.0:
        return f"100% of {n_trials:,} trials"
    if probability <= 0.0:
        return f"0% of {n_trials:,} trials"
    if probability > 0.99:
        return "more than 99%"
    if probability < 0.01:
        return "less than 1%"
    return f"{probability:.0%}"


def monte_carlo_error(probability: float, n_trials: int) -> float:
    """Standard error of a probability estimated from ``n_trials`` independent trials: sqrt(p (1 - p) / n)."""
    return float((probability * (1.0 - probability) / n_trials) ** 0.5)


def products_text(goal_products: str) -> str:
    """The products a goal is about, in words."""
    return PRODUCTS_TEXT[goal_products]


def goal_text(params: Any) -> str:
    """The configured goal in words (threshold, products, year and probability from the parameters)."""
    return (
        f"alliance separation capacity covers {params.coverage_threshold:.0%} of estimated alliance demand for "
        f"{products_text(params.goal_products)} by {params.probability_by_year} with probability of at least {params.goal_probability:.0%}"
    )


def us_funding_text(params: Any) -> str:
    """What happens to US funding in every sampled future: ``"kept"`` or ``"withdrawn from 2028"``."""
    return f"withdrawn from {params.us_withdrawal_year}" if params.us_funding_withdrawn else "kept"


def goal_fallback_text(analyses: Mapping[str, PrimResult], goal_products: str, charted_goal: str, table_ref: str) -> str:
    """Why the charts show another goal than the configured one (PRIM kept no box for it); empty when they do not."""
    primary = primary_goal(analyses)
    if primary == goal_products:
        return ""
    return (
        f"PRIM keeps no box for the goal as set: {no_box_reason(analyses[goal_products])} "
        f"The charts below therefore show {charted_goal} (met in {pct(analyses[primary].base_rate)} of the futures); "
        f"{table_ref} lists the boxes of every goal analysed."
    )


def no_box_reason(result: PrimResult, n_futures: int | None = None) -> str:
    """Why PRIM kept no box, from the share of futures meeting the goal (one sentence).

    Only a goal that holds in every future is said to hold everywhere; one that holds in most futures but not
    all is said to already exceed the density threshold over the whole space.
    """
    futures = f"the {n_futures:,} sampled futures" if n_futures else "the sampled futures"
    if result.outcome == "nowhere" or result.base_rate == 0:
        return f"the goal holds in none of {futures}, so there is no box to find."
    if result.base_rate >= 1.0:
        return f"the goal holds in every one of {futures}, so there is no box to find."
    if result.outcome == "everywhere":
        return (
            f"the goal holds in {pct(result.base_rate)} of {futures}, already above the {result.threshold:.0%} density a box "
            "must reach over the whole explored space, so no box narrows it."
        )
    return f"no part of the explored space is denser in successes than the whole (the goal holds in {pct(result.base_rate)} of {futures})."


def prim_outcome_text(prim: PrimResult, threshold: float, refs: Mapping[str, str], charted_goal: str = "the goal") -> str:
    """What PRIM's search ended with: the box kept and where its ranges are shown, or why there is no box.

    Args:
        prim: the charted goal's PRIM result.
        threshold: the density a box must reach.
        refs: labels -> "Figure N"/"Table N" for ``trajectory``, ``boxes`` and ``box_table`` (needed only when a box was kept).
        charted_goal: the charted goal in words.
    """
    if not prim.has_box:
        return f"PRIM keeps no box for {charted_goal}: {no_box_reason(prim)}"
    first = prim.summary.iloc[0]
    where = f"The boxes and the ranges they impose are in {refs['boxes']} and {refs['box_table']}."
    dropped = "Restrictions that are not statistically significant are then dropped, as long as the box keeps that density"
    if prim.outcome == "box":
        return f"Each step of the peeling is a point in {refs['trajectory']}. {dropped}. The ring marks the box kept. {where}"
    if prim.outcome == "lower":
        chosen = f"so the ring marks the step with the highest coverage among those reaching a lower threshold of {prim.threshold:.0%}"
    else:
        chosen = f"nor even {prim.threshold:.0%}, so the ring marks the densest step"
    return (
        f"Each step of the peeling is a point in {refs['trajectory']}. No step reaches {threshold:.0%} density for {charted_goal}, "
        f"{chosen}. {dropped} (the box kept: {pct(first['density'])}, against {pct(prim.base_rate)} over the whole space). {where}"
    )


def strongest_text(strongest: list[str], labels: Mapping[str, str], charted_goal: str, scatter_ref: str) -> str:
    """The two inputs that matter most for the charted goal, or why only the probabilities are scored."""
    if len(strongest) < 2:
        return "The goal does not vary across the space, so only the probabilities are scored."
    return (
        f"The two strongest for {charted_goal} are {in_sentence(labels[strongest[0]])} and {in_sentence(labels[strongest[1]])}; "
        f"{scatter_ref} shows every sampled future on those two inputs."
    )


def demand_cases_text(cases: pd.DataFrame, low: float, high: float) -> str:
    """Which demand cases of the other briefings the explored demand scale leaves out (from
    :func:`~rare_earth_lib.models.discovery.space.demand_cases_outside`); empty when it covers them all."""
    from rare_earth_lib.models.demand import CASE_LABELS

    outside = cases.loc[cases["outside"]]
    if outside.empty:
        return f"The explored demand scale ({low:.2g} to {high:.2g} times the central estimate) covers all three demand cases of the other briefings."
    parts = []
    for case in ("high", "low"):
        rows = outside.loc[outside["case"] == case]
        if rows.empty:
            continue
        ratios = ", ".join(
            f"{row.ratio:.2g} times for {PRODUCTS_TEXT[_PRODUCT_KEYS[str(row.product)]]}" for row in rows.itertuples(index=False)
        )
        parts.append(f"the {CASE_LABELS[case]} case ({ratios})")
    return (
        f"The explored demand scale ({low:.2g} to {high:.2g} times the central estimate) leaves out "
        + " and ".join(parts)
        + ", which the alliance-feasibility and refining-timeline briefings also show: no sampled future has that much (or that little) "
        "demand, so the shares of futures meeting the goal hold only within this range."
    )


_PRODUCT_KEYS = {"ndpr_oxide": "ndpr", "dytb_oxide": "dytb"}


def evaluation_text(evaluation: Evaluation) -> str:
    """How the futures' results were obtained, in plain words: computed for this build, or read from the stored
    results of an earlier run with the same inputs, code and data (run details such as the store's key or the
    workers stay in the build's log, not the briefing)."""
    if evaluation.cached:
        return "read from the stored results of an earlier run with the same inputs, model code and data"
    return f"computed for this build (in {evaluation.seconds:,.0f} seconds) and stored, so a rebuild with the same inputs reads them"


def _box_sentences(result: PrimResult, labels: Mapping[str, str], refs: Mapping[str, str], goal_words: str, threshold: float) -> list[str]:
    out = []
    for row in result.summary.itertuples(index=False):
        conditions = box_conditions(result.boxes, int(row.box), {name: in_sentence(label) for name, label in labels.items()})
        where = " and ".join(conditions) if conditions else "anywhere"
        joint = ","
        if int(row.box) > 1:
            lead = f"A further box (number {int(row.box)}): where"
        elif result.outcome == "box":
            lead = "In the box where"
        elif result.outcome == "lower":
            lead = (
                f"No box reaches PRIM's {threshold:.0%} density threshold for {goal_words}. The best box at a lower threshold of "
                f"{result.threshold:.0%} is where"
            )
        else:
            lead = (
                f"No box reaches PRIM's {threshold:.0%} density threshold for {goal_words}, nor {result.threshold:.0%}. "
                "The densest box PRIM finds is where"
            )
        if result.outcome != "box" and int(row.box) == 1:
            joint = "; there"
        out.append(
            f"{lead} {where}{joint} {goal_words} holds in {pct(row.density)} of futures (against {pct(result.base_rate)} overall); the box "
            f"holds {pct(row.mass)} of the sampled futures and {pct(row.coverage)} of all successes ({refs['trajectory']}, {refs['boxes']})."
        )
    return out


def levers_text(scores: pd.DataFrame, kinds: Mapping[str, str], labels: Mapping[str, str], refs: Mapping[str, str]) -> str:
    """Where the policy levers rank among the inputs for the goal (feature scores); empty when none is scored."""
    goal_scores = scores.loc[scores["outcome"] == "goal"] if len(scores) else scores
    levers = goal_scores.loc[goal_scores["input"].astype(str).map(lambda name: kinds.get(name) == "lever")].sort_values("rank")
    if levers.empty:
        return ""
    ranks = " and ".join(
        f"{in_sentence(labels.get(str(r.input), str(r.input)))} {_ordinal(int(r.rank))}" for r in levers.itertuples(index=False)
    )
    noun = "lever ranks" if len(levers) == 1 else "levers rank"
    return f"The policy {noun} {ranks} of the {len(goal_scores)} inputs in separating success from failure ({refs['scores']})."


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def key_judgments(
    analyses: Mapping[str, PrimResult],
    scores: pd.DataFrame,
    results: pd.DataFrame,
    *,
    goal_probability: float,
    labels: Mapping[str, str],
    goal_text: str,
    refs: Mapping[str, str],
    threshold: float = 0.8,
    kinds: Mapping[str, str] | None = None,
    scenario_in_box: bool | None = None,
    scenario_met: bool | None = None,
) -> list[str]:
    """Key-judgment sentences generated from the PRIM boxes and the feature scores (no number typed by hand).

    Args:
        analyses: output of :func:`analyse_goals` (the configured goal first).
        scores: output of :func:`feature_scores` (its ``goal`` outcome, the charted goal, is used).
        results: the evaluated futures (for each product's share of futures meeting its part).
        goal_probability: the goal's probability.
        labels: input name -> label.
        goal_text: the configured goal in words.
        refs: labels -> "Figure N"/"Table N" for ``outcomes``, ``scores`` and ``scatter``, and, when a box was
            kept, ``boxes`` and ``trajectory``.
        threshold: the density a PRIM box must reach.
        kinds: input name -> "uncertainty" or "lever" (the levers' ranks are then stated).
        scenario_in_box: whether the scenario's own inputs lie in the charted goal's first box (None: no box).
        scenario_met: whether the scenario's own point meets the configured goal (None: not known).
    """
    configured = next(iter(analyses))
    main = analyses[configured]
    n = len(results)
    sentences = [f"Of {n:,} sampled futures, the goal ({goal_text}) holds in {pct(main.base_rate)} ({refs['outcomes']})."]
    if configured == "both":
        parts = []
        for key in ("ndpr", "dytb"):
            probs = results[f"{key}_prob_by_year"]
            share = float((probs >= goal_probability - 1e-12).mean())
            parts.append(f"{GOAL_PRODUCTS[key]} meets its part in {pct(share)} (highest probability in any future {pct(probs.max())})")
        sentences.append("Product by product: " + "; ".join(parts) + ".")
    if main.has_box:
        sentences.extend(_box_sentences(main, labels, refs, "the goal", threshold))
    else:
        reason = no_box_reason(main, n)
        sentences.append(f"PRIM keeps no box for this goal: {reason}")
        primary = primary_goal(analyses)
        if primary != configured:
            sentences.extend(_box_sentences(analyses[primary], labels, refs, f"the goal for {GOAL_PRODUCTS[primary]} alone", threshold))
    goal_scores = scores.loc[scores["outcome"] == "goal"].sort_values("rank") if len(scores) else scores
    if len(goal_scores) >= 2:
        first, second = goal_scores.iloc[0], goal_scores.iloc[1]
        sentences.append(
            f"The inputs that best separate success from failure are {in_sentence(labels.get(first['input'], first['input']))} "
            f"(feature score {first['score']:.2f}) and {in_sentence(labels.get(second['input'], second['input']))} ({second['score']:.2f}) "
            f"({refs['scores']}, {refs['scatter']})."
        )
    if kinds:
        levers = levers_text(scores, kinds, labels, refs)
        if levers:
            sentences.append(levers)
    if scenario_met is not None:
        where = (
            "" if scenario_in_box is None else (" and lie inside the first box" if scenario_in_box else " and lie outside the first box")
        )
        sentences.append(f"This scenario's own settings {'meet' if scenario_met else 'do not meet'} the goal{where} ({refs['scatter']}).")
    return sentences


def headline(
    evaluation: Evaluation, params: Any, goal: pd.Series, analyses: Mapping[str, PrimResult], scores: pd.DataFrame
) -> dict[str, Any]:
    """The briefing's headline figures (manifest metrics), as JSON scalars with self-explaining keys.

    ``prim_goal`` names the goal whose first box the ``prim_box1_*`` keys describe (:func:`primary_goal`).
    """
    results = evaluation.results
    out: dict[str, Any] = {
        "discovery_n_scenarios": int(len(results)),
        "discovery_trials_per_scenario": int(params.discovery_trials),
        "discovery_goal_probability": float(params.goal_probability),
        "discovery_goal_share": round(float(goal.mean()), 4),
        "coverage_threshold": float(params.coverage_threshold),
        "probability_by_year": int(params.probability_by_year),
        "discovery_results_key": evaluation.key[:16],
    }
    by = params.probability_by_year
    for key in ("ndpr", "dytb"):
        probs = results[f"{key}_prob_by_year"]
        out[f"{key}_prob_by_{by}_median_over_scenarios"] = round(float(probs.median()), 4)
        out[f"{key}_share_scenarios_prob_by_{by}_at_least_goal"] = round(float((probs >= params.goal_probability - 1e-12).mean()), 4)
    primary = primary_goal(analyses)
    prim_result = analyses[primary]
    summary = prim_result.summary
    out["prim_goal"] = primary
    out["prim_outcome"] = prim_result.outcome
    out["prim_box1_threshold"] = float(prim_result.threshold) if prim_result.has_box else None
    out["prim_n_boxes"] = int(len(summary))
    if len(summary):
        first = summary.iloc[0]
        out["prim_box1_coverage"] = round(float(first["coverage"]), 4)
        out["prim_box1_density"] = round(float(first["density"]), 4)
        out["prim_box1_mass"] = round(float(first["mass"]), 4)
        out["prim_box1_inputs"] = ";".join(prim_result.boxes.loc[prim_result.boxes["box"] == 1, "input"].astype(str))
    else:
        out["prim_box1_coverage"] = out["prim_box1_density"] = out["prim_box1_mass"] = None
        out["prim_box1_inputs"] = None
    goal_scores = scores.loc[scores["outcome"] == "goal"].sort_values("rank") if len(scores) else scores
    out["strongest_input"] = str(goal_scores.iloc[0]["input"]) if len(goal_scores) else None
    return out
