"""Parameters of the briefing notebooks/refining_timeline.ipynb."""

from __future__ import annotations

from pydantic import Field

from rare_earth_lib.parameters import BriefingParams


class Params(BriefingParams):
    """When will alliance separation/refining capacity cover alliance demand?"""

    n_trials: int = Field(10_000, ge=100, le=1_000_000, description="Monte Carlo trials.")
    seed: int = Field(20261110, ge=0, description="Random seed; the same seed gives the same numbers.")
