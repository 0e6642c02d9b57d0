"""Parameters of the briefing notebooks/alliance_feasibility.ipynb.

The model extends the refining-timeline model, so the time pillar of the scorecard can use the
Monte Carlo timeline with the same parameters the timeline briefing uses in the same scenario.
Shares are fractions in [0, 1]; prices US$/kg; exchange rates US$ per unit of currency.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from rare_earth_lib.parameters.refining_timeline import Params as TimelineParams

_THRESHOLD_PAIRS = (
    "resources_coverage",
    "technology_share",
    "technology_controls",
    "price_ratio",
    "funding_ratio",
    "time_years",
    "licence_share",
    "us_funding_risk",
)


class Params(TimelineParams):
    """Can a US-Japan-Australia alliance replace Chinese rare-earth refining?"""

    briefing_title: ClassVar[str] = "Can the US–Japan–Australia alliance replace Chinese rare-earth refining?"
    briefing_description: ClassVar[str] = (
        "Can a United States-Japan-Australia alliance cut its dependence on China's separation, refining and magnet making?"
    )

    # --- export controls ---------------------------------------------------------------------
    controls_regime: Literal["suspension_extended", "reimposed"] = Field(
        "suspension_extended",
        description="After the suspension of MOFCOM Nos. 55-58, 61, 62 ends (2026-11-10): extended, or measures back in force.",
    )
    extraterritorial_scope: Literal["listed_elements", "all_rare_earths"] = Field(
        "listed_elements",
        description="No. 61 catches only elements listed by materials controls in force, or every rare earth its row names.",
    )
    exposure_year: int = Field(2027, ge=2024, le=2040, description="Exposure is evaluated on 1 January of this year.")
    technology_derived_share: float = Field(
        0.2, ge=0, le=1, description="Share of non-China supply made with Chinese process technology (assumption; no public figure)."
    )
    chinese_content_value_share: float = Field(
        0.3, ge=0, le=1, description="Value share of Chinese-origin rare earths in a non-China product that contains any (assumption)."
    )
    magnet_dytb_share: float = Field(0.6, ge=0, le=1, description="Share of NdFeB alloy/magnet demand made with Dy or Tb (assumption).")
    japan_denial_share: float = Field(
        0.5, ge=0, le=1, description="Share of Japan's licensable supply from China denied (about half approved for heavy REEs, S27)."
    )

    # --- chain shares, demand, gap --------------------------------------------------------------
    magnet_re_content_share: float = Field(
        0.3, gt=0, le=1, description="Rare-earth share of NdFeB magnet mass, to turn world magnet-REE demand into magnet tonnes (D89)."
    )
    gap_year: int = Field(
        2030,
        ge=2026,
        le=2050,
        description="Year whose estimated alliance demand sizes the capacity gap, its capex and the yearly cost gap.",
    )

    # --- market and finance ------------------------------------------------------------------
    market_price_basis: Literal["ex_china", "china"] = Field(
        "ex_china",
        description="Market price for costs: ex-China benchmark (Europe, Argus/Benchmark) or China-linked (FOB China annual average).",
    )
    us_floor_project_id: str = Field(
        "mp_mountain_pass", description="Project whose NdPr the US Department of Defense price floor covers (S29-S33)."
    )
    japan_floor_volume_t: float = Field(
        5000.0, ge=0, le=50_000, description="NdPr volume (t/yr) under Japan's JARE-Lynas floor: firm offtake, revised Mar 2026 (D46)."
    )
    dy_share_of_dytb_demand: float = Field(
        0.8, ge=0, le=1, description="Dy share of alliance Dy+Tb oxide demand (US Dy ~270 t vs Tb ~70 t, D20)."
    )
    market_price_year: int = Field(
        2025, ge=2020, le=2026, description="Year of the annual-average NdPr oxide price used as the market price."
    )
    incentive_price_basis: Literal["low", "mid", "high"] = Field(
        "mid", description="Which end of the incentive-price range (US$/kg NdPr) new projects need."
    )
    price_floor_scope: Literal["us_producer", "alliance_demand"] = Field(
        "us_producer",
        description="Volume the NdPr price floor covers: the US producer's capacity, or all alliance demand (extended floor).",
    )
    us_reversal_probability: float = Field(
        0.25, ge=0, le=1, description="Chance of a US policy reversal within the horizon (judgement); 1 when us_funding_withdrawn."
    )
    conditional_funding_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of conditional public commitments (letters of intent/interest, conditional loans) counted as committed.",
    )
    framework_ree_share: float = Field(
        0.25, ge=0, le=1, description="Share of the Oct 2025 framework commitments assumed to go to rare-earth projects (assumption)."
    )
    framework_landed_share: float = Field(0.5, ge=0, le=1, description="Share of framework commitments that lands within the horizon.")
    fx_aud_usd: float = Field(
        0.66, gt=0, le=2, description="US$ per Australian dollar for capex conversion (the data package converts funding at 0.66)."
    )
    fx_eur_usd: float = Field(1.08, gt=0, le=3, description="US$ per euro for capex conversion (the data package uses 1.08).")
    fx_jpy_usd: float = Field(0.007, gt=0, le=0.1, description="US$ per yen for capex conversion (the data package uses 0.007).")
    fx_myr_usd: float = Field(0.22, gt=0, le=1, description="US$ per Malaysian ringgit for capex conversion.")

    # --- scorecard thresholds (score 0 at *_worst, 100 at *_best, linear between) --------------
    resources_coverage_worst: float = Field(0.0, ge=0, le=10, description="Ore coverage ratio scoring 0.")
    resources_coverage_best: float = Field(1.0, ge=0, le=10, description="Ore coverage ratio scoring 100.")
    technology_share_worst: float = Field(0.0, ge=0, le=1, description="Share of a stage outside China scoring 0.")
    technology_share_best: float = Field(0.5, ge=0, le=1, description="Share of a stage outside China scoring 100.")
    technology_controls_worst: float = Field(
        1.0, ge=0, le=1, description="Share of China's technology/equipment export controls in force scoring 0."
    )
    technology_controls_best: float = Field(
        0.0, ge=0, le=1, description="Share of China's technology/equipment export controls in force scoring 100."
    )
    price_ratio_worst: float = Field(0.5, ge=0, le=5, description="Price / incentive-price ratio scoring 0.")
    price_ratio_best: float = Field(1.0, ge=0, le=5, description="Price / incentive-price ratio scoring 100.")
    funding_ratio_worst: float = Field(0.0, ge=0, le=10, description="Public money / capex-needed ratio scoring 0.")
    funding_ratio_best: float = Field(1.0, ge=0, le=10, description="Public money / capex-needed ratio scoring 100.")
    time_years_worst: float = Field(15.0, ge=0, le=50, description="P50 years to coverage (NdPr or Dy+Tb) scoring 0.")
    time_years_best: float = Field(3.0, ge=0, le=50, description="P50 years to coverage scoring 100.")
    licence_share_worst: float = Field(0.8, ge=0, le=1, description="Share of alliance demand needing Chinese licences scoring 0.")
    licence_share_best: float = Field(0.0, ge=0, le=1, description="Share of alliance demand needing Chinese licences scoring 100.")
    us_funding_risk_worst: float = Field(0.5, ge=0, le=1, description="US-funding-at-risk share scoring 0.")
    us_funding_risk_best: float = Field(0.0, ge=0, le=1, description="US-funding-at-risk share scoring 100.")

    # --- scorecard pillar weights (normalised to sum to 1) ----------------------------------
    weight_resources: float = Field(1.0, ge=0, le=10, description="Weight of the resources pillar in the overall index.")
    weight_technology: float = Field(1.0, ge=0, le=10, description="Weight of the technology pillar in the overall index.")
    weight_market_finance: float = Field(1.0, ge=0, le=10, description="Weight of the market-and-finance pillar in the overall index.")
    weight_time: float = Field(1.0, ge=0, le=10, description="Weight of the time pillar in the overall index.")
    weight_policy_risk: float = Field(1.0, ge=0, le=10, description="Weight of the policy-risk pillar in the overall index.")

    @model_validator(mode="after")
    def _check_thresholds_and_weights(self) -> Params:
        for prefix in _THRESHOLD_PAIRS:
            if getattr(self, f"{prefix}_worst") == getattr(self, f"{prefix}_best"):
                raise ValueError(f"{prefix}_worst and {prefix}_best must differ")
        weights = (self.weight_resources, self.weight_technology, self.weight_market_finance, self.weight_time, self.weight_policy_risk)
        if sum(weights) <= 0:
            raise ValueError("weight_*: pillar weights must not all be zero")
        return self

    def fx_to_usd(self) -> dict[str, float]:
        """Exchange rates as a mapping currency -> US$ per unit (for economics.to_usd)."""
        return {"USD": 1.0, "AUD": self.fx_aud_usd, "EUR": self.fx_eur_usd, "JPY": self.fx_jpy_usd, "MYR": self.fx_myr_usd}

    def us_support_factor(self) -> float:
        """Share of US public money and price-floor top-up that still flows (1 - stop share if withdrawn)."""
        return 1.0 - self.us_backed_stop_share if self.us_funding_withdrawn else 1.0

    def us_reversal_chance(self) -> float:
        """Chance of a US policy reversal used by the policy-risk pillar (1 in the withdrawal branch)."""
        return 1.0 if self.us_funding_withdrawn else self.us_reversal_probability
