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
from rare_earth_lib.report.text.feasibility import pct

__all__ = [
    "count",
    "evaluation_text",
    "goal_fallback_text",
    "goal_text",
    "headline",
    "key_judgments",
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
    """Why the charts show another goal than the configured one (PRIM found no box for it); empty when they do not."""
    primary = primary_goal(analyses)
    if primary == goal_products:
        return ""
    return (
        f"PRIM finds no box for the goal as set: it holds in {analyses[goal_products].base_rate:.0%} of the futures. "
        f"The charts below therefore show {charted_goal} (met in {analyses[primary].base_rate:.0%} of the futures); "
        f"{table_ref} lists the boxes of every goal analysed."
    )


def prim_outcome_text(prim: PrimResult, threshold: float, refs: Mapping[str, str]) -> str:
    """What PRIM's search ended with: the box kept and where its ranges are shown, or no box at all.

    Args:
        prim: the charted goal's PRIM result.
        threshold: the density a box must reach.
        refs: labels -> "Figure N"/"Table N" for ``trajectory``, ``boxes`` and ``box_table``.
    """
    if len(prim.summary):
        return (
            "Restrictions that are not statistically significant are then dropped, which can lower the density. The ring marks "
            f"the box kept. The boxes and the ranges they impose are in {refs['boxes']} and {refs['box_table']}."
        )
    return (
        f"PRIM finds no box: no goal analysed separates success from failure with a density of {threshold:.0%} "
        f"({refs['trajectory']} shows only the starting point, the whole space; {refs['boxes']} the unrestricted "
        f"ranges; {refs['box_table']} is empty)."
    )


def strongest_text(strongest: list[str], labels: Mapping[str, str], charted_goal: str, scatter_ref: str) -> str:
    """The two inputs that matter most for the charted goal, or why only the probabilities are scored."""
    if len(strongest) < 2:
        return "The goal does not vary across the space, so only the probabilities are scored."
    return (
        f"The two strongest for {charted_goal} are {labels[strongest[0]].lower()} and {labels[strongest[1]].lower()}; "
        f"{scatter_ref} shows every sampled future on those two inputs."
    )


def evaluation_text(evaluation: Evaluation) -> str:
    """How the results were obtained: read from the cache of an identical evaluation, or computed on Dask and cached."""
    if evaluation.cached:
        return f"read from the cache of an earlier identical evaluation (key {evaluation.key[:12]})"
    return (
        f"computed in {evaluation.seconds:,.1f} s on {evaluation.n_workers} Dask worker(s) ({evaluation.scheduler}) "
        f"and cached under key {evaluation.key[:12]}"
    )


def _box_sentences(result: PrimResult, labels: Mapping[str, str], refs: Mapping[str, str], goal_words: str) -> list[str]:
    out = []
    for row in result.summary.itertuples(index=False):
        conditions = box_conditions(result.boxes, int(row.box), labels)
        where = " and ".join(conditions) if conditions else "anywhere"
        lead = "In the box where" if int(row.box) == 1 else f"A further box (number {int(row.box)}):"
        out.append(
            f"{lead} {where}, {goal_words} holds in {row.density:.0%} of futures (against {result.base_rate:.0%} overall); the box "
            f"holds {row.mass:.0%} of the sampled futures and {row.coverage:.0%} of all successes ({refs['boxes']}, {refs['trajectory']})."
        )
    return out


def key_judgments(
    analyses: Mapping[str, PrimResult],
    scores: pd.DataFrame,
    results: pd.DataFrame,
    *,
    goal_probability: float,
    labels: Mapping[str, str],
    goal_text: str,
    refs: Mapping[str, str],
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
        refs: labels -> "Figure N"/"Table N" for ``boxes``, ``trajectory``, ``scores`` and ``scatter``.
        scenario_in_box: whether the scenario's own inputs lie in the charted goal's first box (None: no box).
        scenario_met: whether the scenario's own point meets the configured goal (None: not known).
    """
    configured = next(iter(analyses))
    main = analyses[configured]
    n = len(results)
    sentences = [f"Of {n:,} sampled futures, the goal ({goal_text}) holds in {main.base_rate:.0%} ({refs['boxes']})."]
    if configured == "both":
        parts = []
        for key in ("ndpr", "dytb"):
            probs = results[f"{key}_prob_by_year"]
            share = float((probs >= goal_probability - 1e-12).mean())
            parts.append(f"{GOAL_PRODUCTS[key]} meets its part in {share:.0%} (highest probability in any future {probs.max():.0%})")
        sentences.append("Product by product: " + "; ".join(parts) + ".")
    if not main.summary.empty:
        sentences.extend(_box_sentences(main, labels, refs, "the goal"))
    else:
        why = "nowhere" if main.base_rate == 0 else "everywhere"
        sentences.append(f"PRIM finds no box for this goal: it holds {why} in the explored space.")
        primary = primary_goal(analyses)
        if primary != configured:
            sentences.extend(_box_sentences(analyses[primary], labels, refs, f"the goal for {GOAL_PRODUCTS[primary]} alone"))
    goal_scores = scores.loc[scores["outcome"] == "goal"].sort_values("rank") if len(scores) else scores
    if len(goal_scores) >= 2:
        first, second = goal_scores.iloc[0], goal_scores.iloc[1]
        sentences.append(
            f"The inputs that best separate success from failure are {labels.get(first['input'], first['input']).lower()} "
            f"(feature score {first['score']:.2f}) and {labels.get(second['input'], second['input']).lower()} ({second['score']:.2f}) "
            f"({refs['scores']}, {refs['scatter']})."
        )
    if scenario_met is not None:
        where = (
            "" if scenario_in_box is None else (" and lie inside the first box" if scenario_in_box else " and lie outside the first box")
        )
        sentences.append(f"This scenario's own settings {'meet' if scenario_met else 'do not meet'} the goal{where} ({refs['boxes']}).")
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
