"""The declared scenario space and its Latin-hypercube sample."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.parameters import refining_timeline
from rare_earth_lib.parameters.scenario_discovery import ANALYSIS_ONLY_FIELDS, EXPLORATION_SPACE, Explore


def space_table(space: Mapping[str, Explore] = EXPLORATION_SPACE, base: Any = None) -> pd.DataFrame:
    """The explored inputs as a table: ``input``, ``label``, ``kind``, ``low``, ``high``, ``distribution``,
    ``scenario_value`` (the scenario's own value, when ``base`` is given), ``reason``, ``source_ids``."""
    rows = []
    for name, spec in space.items():
        rows.append(
            {
                "input": name,
                "label": spec.label,
                "kind": spec.kind,
                "low": spec.low,
                "high": spec.high,
                "distribution": spec.distribution,
                "scenario_value": float(getattr(base, name)) if base is not None else np.nan,
                "reason": spec.reason,
                "source_ids": "; ".join(spec.source_ids),
            }
        )
    out = pd.DataFrame(rows)
    for column in ("input", "label", "kind", "distribution", "reason", "source_ids"):
        out[column] = out[column].astype("string")
    return out


def sample_space(n: int, seed: int, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> pd.DataFrame:
    """Latin hypercube sample of ``n`` scenarios over ``space`` (scrambled, seeded: same seed, same sample).

    Returns:
        DataFrame with ``scenario_id`` (0..n-1) and one float column per explored input.

    Raises:
        ValueError: n < 1 or an empty space.
    """
    from scipy.stats import qmc

    if n < 1:
        raise ValueError(f"n must be >= 1; got {n!r}")
    if not space:
        raise ValueError("the exploration space is empty")
    names = list(space)
    unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(seed)).random(n)
    out = {"scenario_id": np.arange(n, dtype="int64")}
    for j, name in enumerate(names):
        spec = space[name]
        u = unit[:, j]
        if spec.distribution == "loguniform":
            values = np.exp(np.log(spec.low) + u * (np.log(spec.high) - np.log(spec.low)))
        else:
            values = spec.low + u * (spec.high - spec.low)
        out[name] = np.clip(values, spec.low, spec.high)
    return pd.DataFrame(out)


def fixed_inputs(params: Any, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> dict[str, Any]:
    """The timeline inputs every sampled scenario shares: the scenario's values of the fields not explored."""
    names = refining_timeline.Params.model_fields
    values = params.model_dump(mode="json")
    return {k: v for k, v in values.items() if k in names and k not in space and k not in ANALYSIS_ONLY_FIELDS}


def scenario_point(params: Any, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> pd.DataFrame:
    """The scenario's own values of the explored inputs, as a one-row frame (``scenario_id`` = -1)."""
    row = {"scenario_id": -1, **{name: float(getattr(params, name)) for name in space}}
    return pd.DataFrame([row])


def demand_cases_outside(demand: pd.DataFrame, params: Any, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> pd.DataFrame:
    """The demand cases of the one alliance demand model (low, central, high) that the explored demand scale does not reach.

    Each case's alliance total over the central case's (the same growth, so one ratio per product), and whether it
    lies outside the explored ``demand_scale`` range: the futures sampled never see that much (or that little) demand.

    Returns:
        ``product``, ``case``, ``ratio`` (case / central), ``outside`` (bool), one row per product and case.
    """
    from rare_earth_lib.models import demand as demand_model

    spec = space["demand_scale"]
    year = int(params.start_year)
    unscaled = params.model_copy(update={"demand_scale": 1.0})
    cases = demand_model.demand_range(demand, [year], unscaled).groupby(["product", "case"])["tonnes"].sum().unstack("case")
    ratios = cases.div(cases["central"], axis=0).stack().rename("ratio").reset_index()
    ratios["outside"] = (ratios["ratio"] < spec.low - 1e-9) | (ratios["ratio"] > spec.high + 1e-9)
    return ratios[["product", "case", "ratio", "outside"]]
