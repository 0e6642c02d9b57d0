"""Words and reader tables for the world separation projection and its benchmark against published figures.

Every number comes from the model's objects (:mod:`rare_earth_lib.models.projection`); nothing is typed in.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from rare_earth_lib.domain import percent
from rare_earth_lib.models.projection import WITHIN_POINTS, Decomposition


def _pts(fraction: float) -> str:
    """A share difference in percentage points, e.g. 0.094 -> "9.4 points"."""
    value = abs(fraction) * 100
    return f"{value:.1f} point" + ("" if round(value, 1) == 1.0 else "s")


def _part_text(row: pd.Series) -> str:
    direction = "raises" if row["contribution"] > 0 else "lowers"
    if row["unit"] == "per year":
        values = f"{row['model_value']:.1%}/yr in the model against {row['iea_value']:.1%}/yr implied by IEA"
    else:
        values = f"{row['model_value']:,.0f} t/yr (P50) in the model against {row['iea_value']:,.0f} t/yr implied by IEA"
    label = str(row["label"])
    label = "c" + label[1:] if label.startswith("Capacity ") else label
    return f"{label}: {values}, {direction} the model's share by {_pts(row['contribution'])}"


def key_judgment(decomp: Decomposition, metrics: Mapping[str, float], *, tolerance: float = WITHIN_POINTS) -> str:
    """Whether the base case lands within ``tolerance`` of IEA's 2030 China share, and if not, why.

    Args:
        decomp: :func:`rare_earth_lib.models.projection.decompose_gap` for 2030.
        metrics: :func:`rare_earth_lib.models.projection.projection_metrics` (for P10/P90).
        tolerance: the agreement band (default 5 points).
    """
    year = decomp.year
    p10, p90 = metrics[f"china_refining_share_{year}_p10"], metrics[f"china_refining_share_{year}_p90"]
    head = (
        f"The model puts China at {percent(decomp.model_share)} of world NdPr separation in {year} (P10-P90 {percent(p10)}-{percent(p90)}), "
        f"against {percent(decomp.iea_share)} in IEA's Global Critical Minerals Outlook 2024 (a figure known only through secondary outlets)"
    )
    if abs(decomp.gap) <= tolerance + 1e-12:
        return f"{head}: within {tolerance * 100:.0f} points of IEA ({_pts(decomp.gap)} {'above' if decomp.gap > 0 else 'below'})."
    side = "above" if decomp.gap > 0 else "below"
    parts = decomp.parts.reindex(decomp.parts["contribution"].abs().sort_values(ascending=False).index)
    explained = "; ".join(_part_text(r) for _, r in parts.iterrows())
    return (
        f"{head}: {_pts(decomp.gap)} {side} IEA, outside the {tolerance * 100:.0f}-point band. "
        f"Swapping each assumption for the one IEA's figures imply (averaged over the order of the swaps, so the parts add up "
        f"to the gap): {explained}. The IEA-implied values are derived from IEA's shares and its own demand path "
        f"(world magnet-rare-earth demand x{decomp.world_growth:.2f} from {decomp.iea_base_year} to {year}), not published by IEA; "
        "the size of the world market enters only there, since the model's shares compare capacities, not sales."
    )


def comparison_frame(bench: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The reader's table of published projections beside the model, and the source ids it cites.

    Returns:
        ``(frame, source_ids)``: columns "Published by", "Measure", "Country", "Year", "Published", "Model P50",
        "Model P10-P90", "Basis"; no internal ids (sources go to the briefing's source line).
    """
    frame = pd.DataFrame(
        {
            "Published by": bench["forecaster"] + ", " + bench["edition"],
            "Measure": bench["metric"].astype(str) + " (" + bench["stage"].str.replace("_", " ") + ")",
            "Country": bench["region"].str.replace("+", " + ", regex=False),
            "Year": bench["year"].astype(int).astype(str),
            "Published": bench["published_text"],
            "Model P50": [percent(v) if c else "n/a" for v, c in zip(bench["model_p50"], bench["comparable"], strict=True)],
            "Model P10-P90": [
                f"{percent(a)}-{percent(b)}" if c else "n/a"
                for a, b, c in zip(bench["model_p10"], bench["model_p90"], bench["comparable"], strict=True)
            ],
            "Basis": bench["basis_note"],
        }
    )
    ids = list(dict.fromkeys(i for s in bench["source_ids"].astype(str) for i in s.split(";") if i))
    return frame, ids


def decomposition_frame(decomp: Decomposition) -> pd.DataFrame:
    """The decomposition as a reader's table: assumption, model value, IEA-implied value, points of the gap."""
    fmt = [
        (f"{m:.1%}/yr", f"{i:.1%}/yr") if u == "per year" else (f"{m:,.0f} t/yr", f"{i:,.0f} t/yr")
        for m, i, u in zip(decomp.parts["model_value"], decomp.parts["iea_value"], decomp.parts["unit"], strict=True)
    ]
    frame = pd.DataFrame(
        {
            "Assumption": decomp.parts["label"],
            "Model": [a for a, _ in fmt],
            "Implied by IEA (derived)": [b for _, b in fmt],
            "Points of the gap": (decomp.parts["contribution"] * 100).round(1),
        }
    )
    total = pd.DataFrame(
        {"Assumption": ["Total gap"], "Model": [f"{decomp.model_share:.1%}"], "Implied by IEA (derived)": [f"{decomp.iea_share:.0%}"]}
    ).assign(**{"Points of the gap": [round(decomp.gap * 100, 1)]})
    return pd.concat([frame, total], ignore_index=True)


__all__ = ["comparison_frame", "decomposition_frame", "key_judgment"]
