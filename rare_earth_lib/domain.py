"""The domain's vocabulary, defined once: who is in the alliance, the chain's stages, plant statuses.

Every other module imports these names; none repeats them. Country names are spelled as in the data
package's country columns; region codes are the demand and trade tables' codes.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------------
# Countries
# --------------------------------------------------------------------------------------------------
CHINA = "China"

ALLIANCE: tuple[str, ...] = ("United States", "Japan", "Australia")
"""The alliance's members, as country names."""

ALLIANCE_REGIONS: tuple[str, ...] = ("united_states", "japan", "australia")
"""The alliance's members as the region codes of the demand and trade tables (same order as ALLIANCE)."""

REGION_NAMES: dict[str, str] = dict(zip(ALLIANCE_REGIONS, ALLIANCE, strict=True))
"""Region code -> country name, for the alliance's members."""

_COUNTRY_ALIASES: dict[str, str] = {
    "us": "United States",
    "usa": "United States",
    "u.s.": "United States",
    "united states": "United States",
    "united_states": "United States",
    "united states of america": "United States",
    "japan": "Japan",
    "jp": "Japan",
    "australia": "Australia",
    "au": "Australia",
    "china": CHINA,
    "cn": CHINA,
}


def normalise_country(name: object) -> str | None:
    """A country name or code (``"US"``, ``"united_states"``, ``"Australia"``) as the data spells it.

    Unknown names are returned stripped, unchanged; empty values give ``None``.
    """
    if name is None:
        return None
    text = str(name).strip()
    if not text or text.lower() in {"nan", "<na>", "none"}:
        return None
    return _COUNTRY_ALIASES.get(text.lower(), text)


# --------------------------------------------------------------------------------------------------
# Joint ventures
# --------------------------------------------------------------------------------------------------
def owner_shares(owner_country: object) -> dict[str, float]:
    """How a plant's capacity is attributed to its owners: split equally among the listed countries.

    This is the one joint-venture rule of the project. ``owner_country`` is the projects table's
    semicolon-separated list (``"Japan;China"``); each distinct country gets an equal share, so a
    Japanese-Chinese joint venture counts half for Japan and half for China, whichever owner is
    listed first. The data package gives no equity shares, so an equal split is the neutral choice;
    an unknown owner counts as ``"Unknown"``.

    Returns:
        Country name -> share (the shares sum to 1).
    """
    text = "" if owner_country is None else str(owner_country)
    owners = list(dict.fromkeys(c for c in (normalise_country(part) for part in text.split(";")) if c))
    if not owners:
        return {"Unknown": 1.0}
    return {owner: 1.0 / len(owners) for owner in owners}


# --------------------------------------------------------------------------------------------------
# Chain stages
# --------------------------------------------------------------------------------------------------
STAGES: tuple[str, ...] = ("mining", "cracking", "separation", "heavy_separation", "metal_alloy", "magnet", "recycling")
"""Every stage a project can list, upstream first. This order is the order of every table and chart."""

CHAIN_STAGES: tuple[str, ...] = ("mining", "separation", "heavy_separation", "metal_alloy", "magnet")
"""The stages the briefings measure concentration and self-sufficiency for (a subset of STAGES, same order)."""

STAGE_LABELS: dict[str, str] = {
    "mining": "Mining",
    "cracking": "Cracking (concentrate to mixed compounds)",
    "separation": "Separation (light, NdPr)",
    "heavy_separation": "Separation (heavy, Dy/Tb)",
    "metal_alloy": "Metal and alloy",
    "magnet": "Magnets",
    "recycling": "Recycling",
}
"""Reader-facing name of each stage."""

REFINING_STAGES: tuple[str, ...] = ("separation", "heavy_separation")
"""Stages that produce separated oxides: what "separation/refining capacity" means in these briefings."""


# --------------------------------------------------------------------------------------------------
# Plant statuses
# --------------------------------------------------------------------------------------------------
STATUSES: tuple[str, ...] = ("operating", "ramping", "construction", "fid", "feasibility", "pre_fid", "stalled", "cancelled")
"""Project statuses in the projects table, from most to least advanced."""

STATUS_LABELS: dict[str, str] = {
    "operating": "Operating",
    "ramping": "Ramping up",
    "construction": "Under construction",
    "fid": "Final investment decision",
    "feasibility": "Feasibility study",
    "pre_fid": "Before investment decision",
    "stalled": "Stalled",
    "cancelled": "Cancelled",
}

PRODUCING_STATUSES: tuple[str, ...] = ("operating", "ramping")
"""Statuses whose plants produce today: "today's capacity"."""

PRE_CONSTRUCTION_STATUSES: tuple[str, ...] = ("fid", "feasibility", "pre_fid")
"""Decided or planned but not yet building."""

UNDECIDED_STATUSES: tuple[str, ...] = ("feasibility", "pre_fid", "stalled")
"""No final investment decision (or stopped)."""

PIPELINE_STATUSES: tuple[str, ...] = ("ramping", "construction", "fid", "feasibility", "pre_fid")
"""Plants still to be finished or ramped up: where money for new capacity goes."""

# --------------------------------------------------------------------------------------------------
# Products and money
# --------------------------------------------------------------------------------------------------
PRODUCT_COLUMNS: dict[str, str] = {"ndpr_oxide": "ndpr_oxide_tpa", "dytb_oxide": "dytb_oxide_tpa"}
"""Separated product -> projects-table column holding that product's nameplate capacity (t oxide/yr)."""

PRODUCT_LABELS: dict[str, str] = {"ndpr_oxide": "NdPr oxide", "dytb_oxide": "Dy+Tb oxide"}

STAGE_PRODUCT: dict[str, str] = {"separation": "ndpr_oxide", "heavy_separation": "dytb_oxide"}
"""Refining stage -> the separated product it is measured in."""

ATTRIBUTIONS: tuple[str, ...] = ("location", "owner")
"""Count a plant for the country where it stands, or for its owners (:func:`owner_shares`)."""

FUNDING_COLUMNS: dict[str, str] = {
    "United States": "funding_us_musd",
    "Japan": "funding_japan_musd",
    "Australia": "funding_australia_musd",
    "Other": "funding_other_musd",
}
"""Funder -> projects-table column of public money committed (US$ million)."""


# --------------------------------------------------------------------------------------------------
# The feasibility scorecard's pillars and the branches after a suspension of China's controls ends
# --------------------------------------------------------------------------------------------------
PILLAR_LABELS: dict[str, str] = {
    "resources": "Resources",
    "technology": "Technology",
    "market_finance": "Market and finance",
    "time": "Time",
    "policy_risk": "Policy risk",
}
"""Scorecard pillar -> its reader's name (the pillars in scoring order: ``models.scorecard.scoring.PILLARS``)."""

REGIME_LABELS: dict[str, str] = {"suspension_extended": "Suspension extended", "reimposed": "Controls reimposed"}
"""Branch after a suspension ends (``models.exposure.REGIMES``) -> its reader's name."""


# --------------------------------------------------------------------------------------------------
# Writing a share
# --------------------------------------------------------------------------------------------------
def percent(share: float | None, digits: int = 0) -> str:
    """A share (a fraction) as a percentage, written the same way in every briefing, table, chart description and
    index: ``0.913`` -> ``"91%"``; ``"n/a"`` when missing.

    A share that is not total (or not nil) is never written 100% (or 0%): it gets one more decimal
    (``0.999`` -> ``"99.9%"``, China's heavy-separation share, not a monopoly), as many as it takes up to three.
    """
    if share is None or share != share:
        return "n/a"
    value = float(share)
    for places in range(digits, digits + 4):
        text = f"{value:.{places}%}"
        if not ((text == f"{1:.{places}%}" and value < 1) or (text == f"{0:.{places}%}" and value > 0)):
            break
    return text
