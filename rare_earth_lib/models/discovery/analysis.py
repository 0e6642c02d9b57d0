"""Where the goal holds: PRIM boxes (EMA Workbench), feature scores, and frames for the charts and tables."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE, Explore


def goal_met(results: pd.DataFrame, goal_probability: float, products: str = "both") -> pd.Series:
    """Whether each scenario meets the goal: P(covered by the probability year) >= ``goal_probability``.

    Args:
        results: output of :func:`evaluate_scenarios`.
        goal_probability: in (0, 1).
        products: ``"both"`` (NdPr and Dy+Tb), ``"ndpr"`` or ``"dytb"``.
    """
    if products not in ("both", "ndpr", "dytb"):
        raise ValueError(f"products must be 'both', 'ndpr' or 'dytb'; got {products!r}")
    keys = ("ndpr", "dytb") if products == "both" else (products,)
    ok = np.ones(len(results), dtype=bool)
    for key in keys:
        ok &= results[f"{key}_prob_by_year"].to_numpy() >= goal_probability - 1e-12
    return pd.Series(ok, index=results.index, name="goal_met")


def _ema() -> tuple[Any, Any]:
    """The EMA Workbench's PRIM and feature-scoring modules, imported without their optional-backend warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ipyparallel.*")
        from ema_workbench.analysis import feature_scoring, prim
    logging.getLogger("EMA").setLevel(logging.ERROR)
    return prim, feature_scoring


PRIM_OUTCOMES: dict[str, str] = {
    "box": "a box reaches the density threshold",
    "lower": "no box reaches the density threshold; the best box at the lower threshold is kept",
    "densest": "no box reaches even the lower threshold; the densest box on the peeling trajectory is kept",
    "everywhere": "the whole explored space already reaches the density threshold: no box is needed",
    "nowhere": "the goal holds in no sampled future: there is nothing to find",
    "none": "PRIM finds no box denser than the whole explored space",
}
"""What PRIM's search for the first box ended with (:attr:`PrimResult.outcome`)."""


@dataclass(frozen=True)
class PrimResult:
    """PRIM boxes and the first box's peeling trajectory.

    Attributes:
        boxes: one row per restricted input of each box: ``box`` (1, 2, ...), ``input``, ``low``, ``high``
            (the box's limits on it), ``space_low``, ``space_high`` (the explored range), ``coverage``,
            ``density``, ``mass`` (share of all scenarios in the box), ``n_scenarios``.
        summary: one row per box: ``box``, ``coverage``, ``density``, ``mass``, ``n_restricted``.
        trajectory: the first box's peeling trajectory: ``step``, ``coverage``, ``density``, ``mass``,
            ``n_restricted``, ``chosen`` (the step the box stopped at).
        base_rate: share of all scenarios meeting the goal.
        outcome: what the search for the first box ended with, a key of :data:`PRIM_OUTCOMES`.
        threshold: the density the first box was chosen at: the configured threshold, or the lower one when
            no step of the peeling reaches it.
    """

    boxes: pd.DataFrame
    summary: pd.DataFrame
    trajectory: pd.DataFrame
    base_rate: float
    outcome: str = "box"
    threshold: float = 0.8

    def __post_init__(self) -> None:
        if self.outcome not in PRIM_OUTCOMES:
            raise ValueError(f"PrimResult.outcome must be one of {', '.join(PRIM_OUTCOMES)}; got {self.outcome!r}")

    @property
    def has_box(self) -> bool:
        """Whether a box was kept (at the configured threshold, the lower one, or the densest step)."""
        return not self.summary.empty


def _choose_step(trajectory: pd.DataFrame, threshold: float) -> int | None:
    """The step of a peeling trajectory with the highest coverage among those whose density reaches ``threshold``
    (ties: fewer restricted inputs, then the earlier step); None when no step reaches it."""
    reaches = trajectory["density"].to_numpy() >= threshold - 1e-12
    if not reaches.any():
        return None
    order = trajectory.loc[reaches].assign(_step=np.arange(len(trajectory))[reaches])
    order = order.sort_values(["coverage", "res_dim", "_step"], ascending=[False, True, True], kind="stable")
    return int(order["_step"].iloc[0])


_PRIM_FLOOR = 1e-6
"""The threshold handed to PRIM itself. With a 0/1 outcome, PRIM's threshold does two things: it marks the cases
of interest (y >= threshold: the successes, for any threshold in (0, 1]) and it is the density the *last*,
smallest box of the peeling must reach for ``find_box`` to return the peeled box; otherwise it returns an
unpeeled "dump box" of the whole space and the trajectory is lost. Handing it the density a box must reach
(0.8) therefore threw every trajectory away whenever the smallest box fell short of 0.8, even when the
trajectory held far denser boxes than the whole space. :func:`prim_boxes` applies the density thresholds to
the steps of the trajectory instead, and PRIM is given a floor that only a last box with no success misses."""


def prim_boxes(
    x: pd.DataFrame,
    y: np.ndarray,
    threshold: float = 0.8,
    lower_threshold: float = 0.5,
    max_boxes: int = 3,
    significance: float = 0.05,
) -> PrimResult:
    """Scenario discovery with the EMA Workbench's PRIM: boxes of the input space where the goal holds.

    PRIM (``ema_workbench.analysis.prim``) peels and pastes; of the steps of its peeling trajectory, the box
    kept is the one with the highest coverage among the steps whose density reaches ``threshold``. When no
    step reaches it, the box kept is the one with the highest coverage among the steps reaching
    ``lower_threshold`` (outcome ``"lower"``), else the densest step (``"densest"``); the result says which.
    Restrictions that are not significant (quasi-p-value above ``significance`` on every restricted side,
    Bryant and Lempert 2010) are then dropped with PRIM's own ``drop_restriction``, so a box names only the
    inputs that matter. When the first box reaches ``threshold``, PRIM looks for further boxes among the
    scenarios left, up to ``max_boxes``; a box whose density falls short of the threshold ends the search.

    When the goal holds nowhere, or the whole space already reaches ``threshold`` (the goal holds in nearly
    every future), there is no box to find (outcomes ``"nowhere"`` and ``"everywhere"``).

    Args:
        x: explored inputs, one column per input (the sample).
        y: goal met per scenario (bool).
        threshold: density a box must reach.
        lower_threshold: density of the box reported when no box reaches ``threshold``.
        max_boxes: at most this many boxes.
        significance: quasi-p-value above which a restriction is dropped.
    """
    prim, _ = _ema()
    y = np.asarray(y, dtype=bool)
    base_rate = float(y.mean()) if y.size else 0.0
    lower_threshold = min(lower_threshold, threshold)

    def no_box(outcome: str) -> PrimResult:
        summary = pd.DataFrame(columns=["box", "coverage", "density", "mass", "n_restricted"])
        return PrimResult(pd.DataFrame(), summary, pd.DataFrame(), base_rate, outcome, threshold)

    if not y.any():
        return no_box("nowhere")
    if base_rate >= threshold - 1e-12:
        return no_box("everywhere")
    x = x.reset_index(drop=True).astype("float64")
    rows, summary, trajectory, outcome, used = _search(prim, x, y, threshold, lower_threshold, max_boxes, significance)
    if not summary:
        return no_box("none")
    boxes = pd.DataFrame(rows)
    boxes["input"] = boxes["input"].astype("string")
    return PrimResult(boxes, pd.DataFrame(summary), trajectory, base_rate, outcome, used)


def _search(
    prim: Any, x: pd.DataFrame, y: np.ndarray, threshold: float, lower_threshold: float, max_boxes: int, significance: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], pd.DataFrame, str, float]:
    """PRIM's box search for :func:`prim_boxes`.

    Returns the restriction rows, the box summaries, the first box's peeling trajectory, the outcome and the
    density threshold the boxes were chosen at.
    """
    rows, summary, trajectory = [], [], pd.DataFrame()
    outcome, used = "box", threshold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finder = prim.Prim(x, y.astype("float64"), threshold=_PRIM_FLOOR)
        for number in range(1, max_boxes + 1):
            box = finder.find_box()
            if box is None or len(box.peeling_trajectory) < 2:
                break
            picked = _select_step(box.peeling_trajectory, number == 1, threshold, lower_threshold)
            if picked is None:
                break
            step, outcome, used = picked
            box.select(step)
            chosen_density = float(box.peeling_trajectory["density"].to_numpy()[step])
            _drop_insignificant(box, significance, floor=used if outcome != "densest" else chosen_density)
            stats = box.peeling_trajectory.reset_index(drop=True).iloc[box._cur_box]
            if number == 1:
                trajectory = _trajectory_frame(box)
            elif stats["density"] < threshold:
                break
            restrictions = _restrictions(box, number, x.columns, stats)
            if not restrictions:
                break
            rows += restrictions
            summary.append({"box": number, **_box_stats(stats), "n_restricted": len(restrictions)})
            if outcome != "box":
                break
    return rows, summary, trajectory, outcome, used


def _select_step(trajectory: pd.DataFrame, first: bool, threshold: float, lower_threshold: float) -> tuple[int, str, float] | None:
    """The step of a peeling trajectory to keep, its outcome and the density it was chosen at.

    The best step reaching ``threshold`` (outcome ``"box"``); for the first box only, else the best reaching
    ``lower_threshold`` (``"lower"``), else the densest (``"densest"``). None: a later box short of ``threshold``.
    """
    step = _choose_step(trajectory, threshold)
    if step is not None:
        return step, "box", threshold
    if not first:
        return None
    step = _choose_step(trajectory, lower_threshold)
    if step is not None:
        return step, "lower", lower_threshold
    return int(trajectory["density"].to_numpy().argmax()), "densest", lower_threshold


def _drop_insignificant(box: Any, significance: float, floor: float) -> None:
    """Drop (PRIM's ``drop_restriction``) the restrictions whose quasi-p-values exceed ``significance`` on each
    restricted side, least significant first, as long as the box's density stays at or above ``floor`` (a drop
    that would take it below is undone, so a box said to reach a threshold does)."""
    candidates = []
    for name, values in box.qp[box._cur_box].items():
        sides = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v)) and v >= 0]
        if sides and min(sides) > significance:
            candidates.append((min(sides), str(name)))
    for _, name in sorted(candidates, reverse=True):
        before = box._cur_box
        box.drop_restriction(name)
        if float(box.peeling_trajectory.reset_index(drop=True).iloc[box._cur_box]["density"]) < floor - 1e-12:
            box.select(before)


def _trajectory_frame(box: Any) -> pd.DataFrame:
    """A box's peeling trajectory as a frame (see :class:`PrimResult`), the selected step marked ``chosen``."""
    traj = box.peeling_trajectory.reset_index(drop=True)
    return pd.DataFrame(
        {
            "step": np.arange(len(traj), dtype="int64"),
            "coverage": traj["coverage"].to_numpy(dtype="float64"),
            "density": traj["density"].to_numpy(dtype="float64"),
            "mass": traj["mass"].to_numpy(dtype="float64"),
            "n_restricted": traj["res_dim"].to_numpy(dtype="int64"),
            "chosen": np.arange(len(traj)) == int(box._cur_box),
        }
    )


def _box_stats(stats: pd.Series) -> dict[str, float]:
    """Coverage, density and mass of a box's selected step."""
    return {"coverage": float(stats["coverage"]), "density": float(stats["density"]), "mass": float(stats["mass"])}


def _restrictions(box: Any, number: int, inputs: pd.Index, stats: pd.Series) -> list[dict]:
    """One row per input the box restricts (its limits narrower than the explored range), in input order."""
    limits, initial = box.box_lims[box._cur_box], box.box_lims[0]
    rows = []
    for name in inputs:
        low, high = float(limits.loc[0, name]), float(limits.loc[1, name])
        lo_all, hi_all = float(initial.loc[0, name]), float(initial.loc[1, name])
        if low > lo_all or high < hi_all:
            rows.append(
                {
                    "box": number,
                    "input": name,
                    "low": low,
                    "high": high,
                    "space_low": lo_all,
                    "space_high": hi_all,
                    **_box_stats(stats),
                    "n_scenarios": int(stats["n"]),
                }
            )
    return rows


def feature_scores(x: pd.DataFrame, outcomes: Mapping[str, np.ndarray], seed: int) -> pd.DataFrame:
    """Which inputs matter: extra-trees feature scores (EMA Workbench) of each outcome on the explored inputs.

    Args:
        x: explored inputs.
        outcomes: outcome name -> values (bool outcomes are scored as classification, others as regression).
        seed: random state of the trees (fixed: the same inputs give the same scores).

    Returns:
        Long DataFrame: ``input``, ``outcome``, ``score`` (each outcome's scores sum to 1), ``rank`` (1 = most).
    """
    _, fs = _ema()
    from ema_workbench.analysis.scenario_discovery_util import RuleInductionType

    frames = []
    x = x.reset_index(drop=True).astype("float64")
    for name, values in outcomes.items():
        values = np.asarray(values)
        is_bool = values.dtype == bool
        if is_bool and (values.all() or not values.any()):
            continue
        mode = RuleInductionType.CLASSIFICATION if is_bool else RuleInductionType.REGRESSION
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores, _ = fs.get_ex_feature_scores(x, values.astype(int) if is_bool else values.astype(float), mode=mode, random_state=seed)
        series = scores.iloc[:, 0]
        frames.append(
            pd.DataFrame(
                {
                    "input": [str(name) for name in series.index],
                    "outcome": name,
                    "score": series.to_numpy(dtype="float64"),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["input", "outcome", "score", "rank"])
    out = pd.concat(frames, ignore_index=True)
    out["rank"] = out.groupby("outcome")["score"].rank(ascending=False, method="first").astype("int64")
    for column in ("input", "outcome"):
        out[column] = out[column].astype("string")
    return out.sort_values(["outcome", "rank"]).reset_index(drop=True)


def strongest_inputs(scores: pd.DataFrame, outcome: str, n: int = 2) -> list[str]:
    """The ``n`` inputs with the highest score for ``outcome`` (falls back to the first outcome scored)."""
    sub = scores.loc[scores["outcome"] == outcome]
    if sub.empty:
        sub = scores.loc[scores["outcome"] == scores["outcome"].iloc[0]] if len(scores) else sub
    return sub.sort_values("rank")["input"].head(n).astype(str).tolist()


def in_box(x: pd.DataFrame, boxes: pd.DataFrame, box: int) -> np.ndarray:
    """Whether each row of ``x`` lies in PRIM box number ``box``."""
    mask = np.ones(len(x), dtype=bool)
    for row in boxes.loc[boxes["box"] == box].itertuples(index=False):
        values = x[str(row.input)].to_numpy()
        mask &= (values >= row.low - 1e-12) & (values <= row.high + 1e-12)
    return mask


def _fmt(value: float, name: str) -> str:
    if "rate" in name:
        return f"{value:.1%}"
    if "prob" in name:
        return f"{value:.2f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:,.0f}"


def box_conditions(boxes: pd.DataFrame, box: int, labels: Mapping[str, str]) -> list[str]:
    """Each restricted input of a box as text: ``"slip multiplier ≤ 1.2"``, ``"0.4 ≤ demand scale ≤ 0.9"``."""
    parts = []
    for row in boxes.loc[boxes["box"] == box].itertuples(index=False):
        name = str(row.input)
        label = labels.get(name, name)
        lower = row.low > row.space_low + 1e-12
        upper = row.high < row.space_high - 1e-12
        if lower and upper:
            parts.append(f"{_fmt(row.low, name)} ≤ {label} ≤ {_fmt(row.high, name)}")
        elif lower:
            parts.append(f"{label} ≥ {_fmt(row.low, name)}")
        elif upper:
            parts.append(f"{label} ≤ {_fmt(row.high, name)}")
    return parts


GOAL_PRODUCTS: dict[str, str] = {"both": "NdPr and Dy+Tb oxide", "ndpr": "NdPr oxide", "dytb": "Dy+Tb oxide"}
"""Goal -> the products it asks about, in words."""


def analyse_goals(
    results: pd.DataFrame, goal_probability: float, configured: str, threshold: float, lower_threshold: float = 0.5
) -> dict[str, PrimResult]:
    """PRIM for the configured goal and, when it asks for both products, for each product alone.

    The joint goal can fail everywhere because one product never gets there; the single-product analyses
    then still show where the other does. Keys are in order: the configured goal first.
    """
    names = [configured, "ndpr", "dytb"] if configured == "both" else [configured]
    x = results[list(EXPLORATION_SPACE)]
    return {
        name: prim_boxes(x, goal_met(results, goal_probability, name).to_numpy(), threshold=threshold, lower_threshold=lower_threshold)
        for name in names
    }


def primary_goal(analyses: Mapping[str, PrimResult]) -> str:
    """The goal whose boxes the briefing charts: the configured goal if PRIM kept a box for it, else the first
    single-product goal that has one, else the configured goal."""
    for name, result in analyses.items():
        if result.has_box:
            return name
    return next(iter(analyses))


def box_table_all(analyses: Mapping[str, PrimResult], labels: Mapping[str, str]) -> pd.DataFrame:
    """The boxes of every goal analysed, as one display table with a ``Goal`` column; goals met in exactly the same
    futures (so with the same boxes) share one set of rows, their names joined."""
    groups: list[tuple[PrimResult, list[str]]] = []
    for name, result in analyses.items():
        if result.boxes.empty:
            continue
        same = next((names for other, names in groups if other.base_rate == result.base_rate and other.boxes.equals(result.boxes)), None)
        if same is not None:
            same.append(f"{GOAL_PRODUCTS[name]} alone (the same futures)")
        else:
            groups.append((result, [GOAL_PRODUCTS[name]]))
    frames = [box_table(result, labels).assign(Goal="; ".join(names)) for result, names in groups]
    if not frames:
        return box_table(next(iter(analyses.values())), labels).assign(Goal=pd.Series(dtype="string"))
    out = pd.concat(frames, ignore_index=True)
    return out[["Goal", *[c for c in out.columns if c != "Goal"]]]


def box_rectangle(box: pd.DataFrame, x: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """A PRIM box's limits on two inputs as one rectangle (``x_low``, ``x_high``, ``y_low``, ``y_high``); an input the
    box does not restrict spans the sampled range. Empty when there is no box."""
    if box is None or box.empty:
        return pd.DataFrame(columns=["x_low", "x_high", "y_low", "y_high"])
    limits = {}
    for axis, name in (("x", first), ("y", second)):
        rows = box.loc[box["input"] == name]
        low, high = (float(rows["low"].iloc[0]), float(rows["high"].iloc[0])) if len(rows) else (float(x[name].min()), float(x[name].max()))
        limits[f"{axis}_low"], limits[f"{axis}_high"] = [low], [high]
    return pd.DataFrame(limits)


def box_table(prim_result: PrimResult, labels: Mapping[str, str]) -> pd.DataFrame:
    """The PRIM boxes as a display table (one row per restricted input of each box); empty when no box was found."""
    boxes = prim_result.boxes
    columns = ["Box", "Input", "Box range", "Explored range", "Coverage", "Density", "Futures in box"]
    if boxes.empty:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(
        {
            "Box": boxes["box"].astype("int64"),
            "Input": [labels.get(str(n), str(n)) for n in boxes["input"]],
            "Box range": [f"{lo:.3g} to {hi:.3g}" for lo, hi in zip(boxes["low"], boxes["high"], strict=True)],
            "Explored range": [f"{lo:.3g} to {hi:.3g}" for lo, hi in zip(boxes["space_low"], boxes["space_high"], strict=True)],
            "Coverage": [f"{v:.0%}" for v in boxes["coverage"]],
            "Density": [f"{v:.0%}" for v in boxes["density"]],
            "Futures in box": boxes["n_scenarios"].astype("int64"),
        }
    )


def boxes_for_chart(prim_result: PrimResult, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> pd.DataFrame:
    """Rows for the boxes chart: the boxes found, or, when there is none, every input unrestricted (box 0)."""
    if not prim_result.boxes.empty:
        return prim_result.boxes
    return pd.DataFrame(
        {
            "box": 0,
            "input": list(space),
            "low": [spec.low for spec in space.values()],
            "high": [spec.high for spec in space.values()],
            "space_low": [spec.low for spec in space.values()],
            "space_high": [spec.high for spec in space.values()],
            "coverage": 1.0,
            "density": prim_result.base_rate,
        }
    )


def trajectory_for_chart(prim_result: PrimResult) -> pd.DataFrame:
    """The first box's peeling trajectory, or, when PRIM found no box, its starting point: the whole space
    (coverage 100%, density = the share of futures meeting the goal)."""
    if not prim_result.trajectory.empty:
        return prim_result.trajectory
    return pd.DataFrame(
        {"step": [0], "coverage": [1.0], "density": [prim_result.base_rate], "mass": [1.0], "n_restricted": [0], "chosen": [True]}
    )
