"""Parameters of the briefing notebooks/alliance_feasibility.ipynb."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rare_earth_lib.parameters import BriefingParams


class Params(BriefingParams):
    """Can a US-Japan-Australia alliance replace Chinese rare-earth refining?"""

    attribution: Literal["location", "owner"] = Field(
        "owner",
        description="Count a plant for the country where it stands ('location') or of its owner ('owner').",
    )
