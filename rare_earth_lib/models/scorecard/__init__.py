"""Feasibility scorecard: can the US-Japan-Australia alliance cut its dependence on Chinese refining?

* :mod:`.scoring`: the 0-100 scale, pillars, overall index and bottleneck;
* :mod:`.indicators`: each indicator's value from its inputs, with a sentence saying how;
* :mod:`.supply`, :mod:`.controls`, :mod:`.finance`: the assessment's steps (shares and self-sufficiency,
  export-control exposure, prices, floors, capex and public money);
* :mod:`.assess`: :func:`assess`, the one call that computes a briefing's results.
"""

from rare_earth_lib.models.scorecard.assess import ASSESSMENT_TABLES, Assessment, assess, summarise_scorecard
from rare_earth_lib.models.scorecard.indicators import feasibility_values
from rare_earth_lib.models.scorecard.run import FeasibilityRun, run_feasibility
from rare_earth_lib.models.scorecard.scoring import (
    BANDS,
    INDICATOR_LABELS,
    INDICATORS,
    PILLAR_LABELS,
    PILLARS,
    band,
    bottleneck,
    build_scorecard,
    indicator_frame,
    overall_index,
    pillar_scores,
    score_linear,
    weakest_indicator,
)
from rare_earth_lib.models.scorecard.supply import chain_shares

__all__ = [
    "ASSESSMENT_TABLES",
    "BANDS",
    "INDICATORS",
    "INDICATOR_LABELS",
    "PILLARS",
    "PILLAR_LABELS",
    "Assessment",
    "FeasibilityRun",
    "assess",
    "band",
    "bottleneck",
    "build_scorecard",
    "chain_shares",
    "feasibility_values",
    "indicator_frame",
    "overall_index",
    "pillar_scores",
    "run_feasibility",
    "score_linear",
    "summarise_scorecard",
    "weakest_indicator",
]
