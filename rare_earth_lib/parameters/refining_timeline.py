"""Parameters of the briefing notebooks/refining_timeline.ipynb.

Every field is a flat scalar with bounds, a default and a one-line description, so the notebook's
``parameters`` cell can hold them as plain assignments and a scenario file can override any of them.
The scenario-driven fields (slip multiplier, decision speed-up, completion probabilities, demand growth,
US policy reversal) are the ones the four ``params/*.yaml`` files set; the others are modelling choices
documented in the briefing's methods table and varied in its sensitivity analysis.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from rare_earth_lib.parameters import BriefingParams


class Params(BriefingParams):
    """When will alliance separation/refining capacity cover alliance demand?"""

    briefing_title: ClassVar[str] = "When will the alliance have enough rare-earth refining capacity?"
    briefing_description: ClassVar[str] = (
        "When, and with what confidence, alliance separation capacity covers alliance demand for NdPr and Dy+Tb oxide."
    )

    # --- Monte Carlo -------------------------------------------------------------------------------
    n_trials: int = Field(10_000, ge=100, le=1_000_000, description="Monte Carlo trials.")
    seed: int = Field(20261110, ge=0, description="Random seed; the same seed gives the same numbers.")
    start_year: int = Field(2026, ge=2020, le=2040, description="First calendar year simulated (the data's as-of year).")
    horizon_year: int = Field(2045, ge=2026, le=2070, description="Last calendar year simulated; coverage after it counts as never.")

    # --- What counts ----------------------------------------------------------------------------
    attribution: Literal["location", "owner"] = Field(
        "owner",
        description="Count a plant for the country where it stands ('location') or of its owner ('owner').",
    )
    coverage_threshold: float = Field(
        0.75,
        gt=0.0,
        le=1.0,
        description="Share of alliance demand that alliance separation capacity must cover (0-1].",
    )
    probability_by_year: int = Field(2030, ge=2026, le=2070, description="Year for the headline 'probability of coverage by' figure.")
    fill_missing_capacity: bool = Field(
        True,
        description="Estimate NdPr/DyTb oxide capacity where the projects table gives only REO or observed output.",
    )
    ndpr_share_of_reo_capacity: float = Field(
        0.26,
        ge=0.0,
        le=1.0,
        description="NdPr oxide share of a separation plant's REO capacity, for plants without an NdPr figure.",
    )
    dytb_share_of_reo_capacity: float = Field(
        0.009,
        ge=0.0,
        le=0.2,
        description="Dy+Tb oxide share of REO capacity, for heavy-separation plants without a Dy/Tb figure.",
    )

    # --- Demand (an estimate: see rare_earth_lib.models.demand) ------------------------------------------
    ndpr_demand_growth_rate: float = Field(
        0.05,
        ge=-0.1,
        le=0.3,
        description="Annual growth of alliance NdPr oxide demand to the break year (IEA APS 2023-30: 5%/yr).",
    )
    dytb_demand_growth_rate: float = Field(
        0.05,
        ge=-0.1,
        le=0.3,
        description="Annual growth of alliance Dy+Tb oxide demand to the break year.",
    )
    long_run_demand_growth_rate: float = Field(
        0.016,
        ge=-0.1,
        le=0.3,
        description="Annual growth of both demands after the break year (IEA APS 2030-50: 1.6%/yr).",
    )
    demand_growth_break_year: int = Field(2030, ge=2024, le=2070, description="Year after which demand grows at the long-run rate.")
    demand_scale: float = Field(
        1.0,
        ge=0.1,
        le=10.0,
        description="Multiplier on the alliance-demand estimate (1 = the estimate as built).",
    )
    demand_anchor_rule: Literal["central", "low", "high", "highest", "lowest", "latest"] = Field(
        "central",
        description=(
            "Which demand case anchors each region's demand: low (observation-based), central, high (company claims);"
            " or one figure among all (highest, lowest, latest)."
        ),
    )
    demand_uncertainty_sigma: float = Field(
        0.2,
        ge=0.0,
        le=1.5,
        description="Log-sd of a per-trial demand factor (mean 1) expressing how thin the demand estimate is.",
    )

    # --- Ramp-up ---------------------------------------------------------------------------------
    first_year_utilisation: float = Field(
        0.23,
        gt=0.0,
        le=1.0,
        description="Share of nameplate produced in the first year of output (analogs: Lynas 27%, Molycorp 18%).",
    )
    years_to_nameplate: float = Field(4.0, ge=1.0, le=15.0, description="Years from first output to mature utilisation (mode of the draw).")
    ramp_years_spread: float = Field(
        0.5,
        ge=0.0,
        lt=1.0,
        description="Ramp-up length is triangular between (1 - spread) and (1 + spread) x years_to_nameplate.",
    )
    mature_utilisation: float = Field(
        0.66,
        gt=0.0,
        le=1.0,
        description=(
            "Long-run share of nameplate once ramped up. Evidence: Lynas LAMP, the one plant outside China past its ramp-up"
            " with a stated nameplate and a whole year's output, made 6,996 t NdPr in calendar 2025 against 10,500 t/yr"
            " (66.6%, derived, E8-E11; quarterly run-rates 53-79%). Its FY25 figure (6,558 t, 62%, S48) straddles the"
            " upgrade to 10,500 t/yr, so it is not used."
        ),
    )

    # --- Slip to first output ---------------------------------------------------------------------
    slip_multiplier: float = Field(1.0, gt=0.0, le=5.0, description="Factor on positive slips drawn from the analogs (1 = historical).")
    slip_offset_years: float = Field(
        1.0,
        gt=0.0,
        le=5.0,
        description="Shift before the log-normal fit of slips, so on-time and early builds are in its support.",
    )
    calibrate_slip_spread: bool = Field(
        True,
        description="Widen or narrow the fitted slip spread so the analogs' leave-one-out P10-P90 windows hold about 80% of them.",
    )
    slip_spread_factor: float = Field(
        1.0,
        gt=0.0,
        le=5.0,
        description="Factor on the fitted log-sd of slips when calibrate_slip_spread is false (1 = the plain fit).",
    )
    analog_scope: Literal["refining", "all"] = Field(
        "refining",
        description="Analogs for the slip fit: mining/cracking/separation builds ('refining') or also magnets.",
    )
    undated_lead_years: float = Field(
        5.0,
        ge=0.0,
        le=20.0,
        description="Years from the as-of date to the planned first output of a project with no public date.",
    )
    min_build_years_undecided: float = Field(
        2.5,
        ge=0.0,
        le=10.0,
        description="Feasibility/pre-FID/stalled projects produce no sooner than this many years after the as-of date.",
    )
    decision_speedup_years: float = Field(
        0.0,
        ge=0.0,
        le=5.0,
        description="Years by which faster decisions bring forward first output of FID/feasibility/pre-FID projects.",
    )

    # --- Completion probability by status ------------------------------------------------------
    completion_prob_operating: float = Field(1.0, ge=0.0, le=1.0, description="P(first output) for operating plants.")
    completion_prob_ramping: float = Field(1.0, ge=0.0, le=1.0, description="P(first output) for ramping plants.")
    completion_prob_construction: float = Field(
        0.9, ge=0.0, le=1.0, description="P(ever reaching first output) for projects under construction."
    )
    completion_prob_fid: float = Field(
        0.8, ge=0.0, le=1.0, description="P(ever reaching first output) for projects past final investment decision."
    )
    completion_prob_feasibility: float = Field(
        0.5, ge=0.0, le=1.0, description="P(ever reaching first output) for projects at feasibility study."
    )
    completion_prob_pre_fid: float = Field(0.35, ge=0.0, le=1.0, description="P(ever reaching first output) for pre-FID projects.")
    completion_prob_stalled: float = Field(0.1, ge=0.0, le=1.0, description="P(ever reaching first output) for stalled projects.")
    completion_prob_cancelled: float = Field(0.0, ge=0.0, le=1.0, description="P(ever reaching first output) for cancelled projects.")

    # --- US policy reversal ----------------------------------------------------------------------
    us_funding_withdrawn: bool = Field(
        False, description="US public funding and offtake are withdrawn part-way (the policy-reversal branch)."
    )
    us_withdrawal_year: int = Field(2028, ge=2025, le=2070, description="Year from which US funding and offtake are withdrawn.")
    us_backed_stop_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Chance that a US-funded project not yet producing at withdrawal stops for good.",
    )
    us_backed_extra_slip_years: float = Field(
        1.0, ge=0.0, le=10.0, description="Extra slip (years) of US-funded projects that continue after withdrawal."
    )

    # --- Channels from reimposed Chinese controls to the build-out ---------------------------------
    control_channels_active: bool = Field(
        False,
        description="China's suspended controls are back in force: apply the two channels below to the build-out (set by controls_reimposed).",
    )
    licence_delay_years: float = Field(
        0.25,
        ge=0.0,
        le=5.0,
        description="Delay to first output of a plant that needs Chinese equipment or technology: licences took ~45-60 working days (S89c, S89d).",
    )
    chinese_equipment_share: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="Share of plants not yet producing that need Chinese equipment or technology (assumption; no public figure).",
    )
    price_pullforward_years: float = Field(
        0.5,
        ge=0.0,
        le=5.0,
        description="Years by which higher ex-China prices bring decisions forward (judgement; USA Rare Earth moved Round Top 2 years earlier in Dec 2025, S80).",
    )

    # --- World projection (China's share of separation to 2035) --------------------------------------
    china_refining_growth_rate_id: str = Field(
        "china_separation_quota_2024",
        min_length=1,
        max_length=80,
        pattern=r"^[a-z0-9_]+$",
        description=(
            "growth_rates row (rate_id) whose annual_growth drives China's separation output in the world projection"
            " (default: the separation quota taken to grow with the 2023-25 mining-quota trend, 2.9%/yr, derived)."
        ),
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> Params:
        if self.horizon_year <= self.start_year:
            raise ValueError(f"horizon_year ({self.horizon_year}) must be after start_year ({self.start_year})")
        if not self.start_year <= self.probability_by_year <= self.horizon_year:
            raise ValueError(f"probability_by_year ({self.probability_by_year}) must lie between start_year and horizon_year")
        if self.first_year_utilisation > self.mature_utilisation:
            raise ValueError(
                f"first_year_utilisation ({self.first_year_utilisation}) must not exceed mature_utilisation ({self.mature_utilisation})"
            )
        return self

    def completion_probabilities(self) -> dict[str, float]:
        """Status -> probability of ever reaching first output, from the ``completion_prob_*`` fields."""
        prefix = "completion_prob_"
        return {name[len(prefix) :]: getattr(self, name) for name in type(self).model_fields if name.startswith(prefix)}
