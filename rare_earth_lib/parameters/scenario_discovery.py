"""Parameters of the briefing notebooks/scenario_discovery.ipynb, and the scenario space it explores.

The briefing asks the reverse of the timeline's question: not "when, in this scenario?" but "in which
combinations of uncertainties and policy levers does alliance separation capacity cover the threshold
share of alliance demand by the probability year, with at least ``goal_probability``?".

Its model extends the timeline's :class:`~rare_earth_lib.parameters.refining_timeline.Params`: a scenario
file sets the timeline inputs for both briefings, and every input *not* explored keeps the scenario's value
(so ``us_policy_reversal`` explores a world in which US funding is withdrawn). The explored inputs and their
ranges are declared once, in :data:`EXPLORATION_SPACE`, next to the model whose fields they vary; each
range carries the reason for it and the sources behind it, and the briefing lists them.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rare_earth_lib.parameters import refining_timeline


class Explore(BaseModel):
    """How one input of the timeline model is explored.

    Attributes:
        low, high: the range explored (in the field's own units).
        distribution: ``uniform`` on [low, high], or ``loguniform`` (uniform in log, for multipliers).
        kind: ``uncertainty`` (describes the world) or ``lever`` (what alliance policy can move).
        label: short name for tables and charts.
        unit: the unit of the input's values, as a chart's axis title names it (e.g. ``years``, ``× central estimate``).
        reason: one line saying why this range.
        source_ids: sources behind the range (ids in the data package's sources table).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    low: float
    high: float
    distribution: Literal["uniform", "loguniform"] = "uniform"
    kind: Literal["uncertainty", "lever"]
    label: str
    reason: str
    unit: str = ""
    source_ids: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> Explore:
        if not self.low < self.high:
            raise ValueError(f"explore range needs low < high; got [{self.low}, {self.high}]")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform range needs low > 0")
        return self


EXPLORATION_SPACE: dict[str, Explore] = {
    "demand_scale": Explore(
        low=0.5,
        high=1.5,
        kind="uncertainty",
        label="Demand scale",
        unit="× central estimate",
        reason="The alliance-demand estimate rests on thin data: company claims, one industry figure, and a Japanese Dy+Tb "
        "anchor midway between conflicting figures. The US NdPr anchor is a fraction of US apparent consumption of all rare "
        "earths, so that check bounds it only from above. Half to one and a half times the central estimate; the demand "
        "cases this range leaves out are named under the table.",
        source_ids=("S1", "S6"),
    ),
    "ndpr_demand_growth_rate": Explore(
        low=0.02,
        high=0.08,
        kind="uncertainty",
        label="NdPr demand growth",
        unit="share per year",
        reason="Three points either side of the IEA Announced Pledges path for magnet rare earths (93 kt in 2023 to 131 kt "
        "in 2030, about 5%/yr).",
        source_ids=("S6", "D53"),
    ),
    "dytb_demand_growth_rate": Explore(
        low=0.02,
        high=0.08,
        kind="uncertainty",
        label="Dy+Tb demand growth",
        unit="share per year",
        reason="Same range as NdPr: no separate outlook for Dy and Tb was found, and both follow magnet demand.",
        source_ids=("S6", "D53"),
    ),
    "slip_multiplier": Explore(
        low=0.5,
        high=2.0,
        distribution="loguniform",
        kind="uncertainty",
        label="Slip multiplier",
        unit="× past slips",
        reason="Half to twice the slips of past builds outside China (Lynas Malaysia slipped ~14 months; the IEA cites an "
        "8-year average lead time for new facilities).",
        source_ids=("S9", "S55"),
    ),
    "completion_prob_fid": Explore(
        low=0.6,
        high=0.95,
        kind="uncertainty",
        label="P(built) after FID",
        unit="probability",
        reason="Announced plants have stalled before construction (Lynas Texas: its chair said in November 2025 it was unlikely to proceed); the model's 0.8 with a band either side.",
        source_ids=("S53",),
    ),
    "completion_prob_pre_fid": Explore(
        low=0.15,
        high=0.6,
        kind="uncertainty",
        label="P(built) before FID",
        unit="probability",
        reason="Pre-FID plants miss target after target (Nolans: FID targets moved four times since 2022); the model's 0.35 "
        "with a wide band.",
        source_ids=("S72", "S73"),
    ),
    "first_year_utilisation": Explore(
        low=0.12,
        high=0.35,
        kind="uncertainty",
        label="First-year utilisation",
        unit="share of nameplate",
        reason="Lynas Malaysia ran at about 27% of Phase 1 nameplate a year after first feed; from half that to a third above it.",
        source_ids=("S55", "S58"),
    ),
    "years_to_nameplate": Explore(
        low=2.0,
        high=7.0,
        kind="uncertainty",
        label="Years to nameplate",
        unit="years",
        reason="Lynas Malaysia ran at about 27% of Phase 1 nameplate one year after first feed and took years to approach it.",
        source_ids=("S55", "S60"),
    ),
    "decision_speedup_years": Explore(
        low=0.0,
        high=2.0,
        kind="lever",
        label="Decision speed-up",
        unit="years",
        reason="The US-Australia framework (Oct 2025) put money due within six months, by April 2026, before the data date;"
        " the data record commitments and letters of interest but no money paid out under it to a rare-earth project."
        " Money that does arrive can bring decisions forward; up to two years.",
        source_ids=("S91b", "S91c", "S91g"),
    ),
    "completion_prob_feasibility": Explore(
        low=0.3,
        high=0.8,
        kind="lever",
        label="P(built) at feasibility",
        unit="probability",
        reason="Public equity and concessional loans (Nolans' A$840M package, framework equity) raise the chance that a "
        "studied plant is financed; the accelerated scenario takes 0.65.",
        source_ids=("S74b", "S91b"),
    ),
}
"""Timeline inputs explored by the scenario-discovery briefing: field name -> range, distribution, reason."""

ANALYSIS_ONLY_FIELDS: tuple[str, ...] = (
    "scenario",
    "scenario_title",
    "goal_probability",
    "goal_products",
    "prim_threshold",
    "prim_lower_threshold",
    "scenario_chunk_size",
    "dask_scheduler",
    "dask_workers",
)
"""Fields that do not change the evaluated scenarios (display, analysis or where it runs): not in the cache key."""


class Params(refining_timeline.Params):
    """Under which conditions does alliance separation capacity cover alliance demand in time?"""

    briefing_title: ClassVar[str] = "Under which conditions does the alliance get there?"
    briefing_description: ClassVar[str] = (
        "Scenario discovery over thousands of sampled futures: which uncertainties and policy levers decide whether alliance "
        "separation capacity covers alliance demand for NdPr and Dy+Tb in time."
    )

    # --- Sampling and evaluation -------------------------------------------------------------------
    n_scenarios: int = Field(600, ge=10, le=1_000_000, description="Scenarios sampled (Latin hypercube) over the exploration space.")
    discovery_trials: int = Field(
        400, ge=100, le=100_000, description="Monte Carlo trials per sampled scenario (same seed in every scenario)."
    )
    sampling_seed: int = Field(20261130, ge=0, description="Seed of the Latin hypercube; the same seed gives the same scenarios.")
    scenario_chunk_size: int = Field(50, ge=1, le=100_000, description="Scenarios per Dask task (does not change the results).")
    dask_scheduler: str = Field(
        "",
        max_length=200,
        description="Address of a Dask scheduler to run the futures on (tcp://host:port); empty = the build's own setting, else this computer.",
    )
    dask_workers: int = Field(
        2,
        ge=1,
        le=64,
        description="Processes that run the futures on this computer when no scheduler is given (does not change the results).",
    )

    # --- Goal and analysis ----------------------------------------------------------------------------
    goal_probability: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description="A scenario meets the goal when P(covered by the probability year) is at least this.",
    )
    goal_products: Literal["both", "ndpr", "dytb"] = Field(
        "both", description="Products that must meet the goal: NdPr and Dy+Tb ('both'), or one of them."
    )
    prim_threshold: float = Field(
        0.8, gt=0.0, le=1.0, description="PRIM peels until a box's density (share of its scenarios meeting the goal) reaches this."
    )
    prim_lower_threshold: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="When no box reaches prim_threshold, the briefing reports the best box reaching this lower density, and says so.",
    )

    @model_validator(mode="after")
    def _lower_threshold_below(self) -> Params:
        if self.prim_lower_threshold > self.prim_threshold:
            raise ValueError(f"prim_lower_threshold ({self.prim_lower_threshold}) must not exceed prim_threshold ({self.prim_threshold})")
        return self


def check_space(space: dict[str, Explore] = EXPLORATION_SPACE) -> None:
    """Every explored name is a numeric field of the model and its range lies within the field's bounds.

    Raises:
        ValueError: naming the field.
    """
    fields = Params.model_fields
    for name, spec in space.items():
        if name not in fields or name in ANALYSIS_ONLY_FIELDS:
            raise ValueError(f"EXPLORATION_SPACE: '{name}' is not an input of the timeline model")
        if fields[name].annotation not in (float, "float"):
            raise ValueError(f"EXPLORATION_SPACE: '{name}' is not a float field")
        for end in (spec.low, spec.high):
            values = {name: end}
            try:
                Params.model_validate(values)
            except ValueError as exc:
                raise ValueError(f"EXPLORATION_SPACE: '{name}' range end {end} is outside the field's bounds: {exc}") from None


check_space()
