"""Key-judgment text of the refining-timeline briefing, built from its headline figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from rare_earth_lib.models.timeline import year_text


def key_judgment_sentences(
    head: Mapping[str, Any],
    refs: Mapping[str, str],
    *,
    probability_by_year: int,
    sensitivity_table: pd.DataFrame | None = None,
) -> list[str]:
    """Key-judgment sentences built from the headline figures (no number typed by hand).

    Args:
        head: output of :func:`headline` (with hindcast and sensitivity).
        refs: labels -> "Figure N"/"Table N" for ``fan`` (or ``fan_ndpr`` and ``fan_dytb``), ``coverage``,
            ``tornado`` and ``hindcast``.
        probability_by_year: the year of the probability figure.
        sensitivity_table: output of :func:`sensitivity`; when given, the driver sentence says how far the
            largest driver moves the P50 year.

    Returns:
        Sentences, each naming the figure or table behind it.
    """
    horizon = int(head["horizon_year"])
    threshold = float(head["coverage_threshold"])
    sentences = []
    for key, label in (("ndpr", "NdPr oxide"), ("dytb", "Dy+Tb oxide")):
        p10, p50, p90 = (head[f"{key}_coverage_year_p{q}"] for q in (10, 50, 90))
        never = head[f"{key}_share_never_reached"]
        if p50 is None:
            middle = f"in most trials alliance separation capacity does not cover {threshold:.0%} of estimated alliance {label} demand by {horizon}"
        else:
            middle = (
                f"alliance separation capacity first covers {threshold:.0%} of estimated alliance {label} demand in {p50} at the median"
            )
        sentences.append(
            f"{label}: {middle} (P10 {year_text(p10, horizon)}, P50 {year_text(p50, horizon)}, "
            f"P90 {year_text(p90, horizon)}); {never:.0%} of trials never reach it by {horizon} "
            f"({refs.get(f'fan_{key}', refs.get('fan'))}, {refs['coverage']})."
        )
    sentences.append(
        f"The probability of reaching that share by {probability_by_year} is "
        f"{head[f'ndpr_prob_by_{probability_by_year}']:.0%} for NdPr and {head[f'dytb_prob_by_{probability_by_year}']:.0%} "
        f"for Dy+Tb ({refs['coverage']})."
    )
    if head.get("largest_driver"):
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
        sentences.append(
            f"The single largest driver of the date, among the factors that describe the world rather than the question, "
            f"is the {head['largest_driver'][0].lower() + head['largest_driver'][1:]} ({refs['tornado']}){detail}."
        )
    rate = head.get("hindcast_coverage_rate")
    if rate is not None:
        sentences.append(
            f"Run as of each historical build's decision date, the model's P10-P90 window held "
            f"{head['hindcast_n_inside']} of {head['hindcast_n_decided']} decided outcomes ({rate:.0%}, against 80% "
            f"for a well-calibrated window); {head['hindcast_n_open']} builds are still open ({refs['hindcast']})."
        )
    return sentences
