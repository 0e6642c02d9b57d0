"""World separation/refining projection by country to 2035, and its benchmark against published projections.

Where the numbers come from (each a data-package row with its sources, or a parameter):

* **China.** Its output in the observation year is the latest monthly run-rate in ``chain_output`` (China, all
  producers: PrNd oxide, Dy oxide and Tb oxide, t in the month, SMM via low-grade copies [D64a-c]) times 12
  (derived: a monthly rate annualised). It then grows at the annual rate of the ``growth_rates`` row named by
  the parameter ``china_refining_growth_rate_id`` (default ``china_separation_quota_2024``: the 2024
  separation quota taken to grow with the 2023-25 mining-quota trend, 2.9%/yr, itself derived [D91, S1, S4]).
  The quota covers all rare earths; the projection assumes NdPr and Dy+Tb keep their share of it. China's
  path is the same in every trial (the data give one trend, not a distribution).
* **The alliance** (the timeline's definition and attribution): the timeline Monte Carlo's own per-trial
  capacity, ``run.result.capacity_tpa``. It is split by the country where each plant stands by re-running the
  timeline's :func:`~rare_earth_lib.models.timeline.simulate_trials` on the *same* pipeline, slip fit, parameters
  and seed with the nameplates of plants elsewhere set to zero: the random draws depend only on the seed and the
  pipeline's size, so every trial is the same trial and the parts add up to the run's capacity exactly
  (:func:`project` checks this).
* **Others** (every refining plant outside China whose capacity does not count for the alliance under the
  scenario's attribution: Estonia, France, a Canadian-owned plant in the US, ...): the projects table, capacities
  filled by the capacity model's one rule, simulated by the same :func:`simulate_trials` (same slip distribution,
  completion probabilities, ramp-up, control channels), on an independent random stream (seed + 1).
* **Base year** (the latest year with whole-year or annualised separated-oxide output outside China in
  ``chain_output``: 2025): China's run-rate grown one year against Lynas's and MP's observed output; producers
  without a published output (Energy Fuels, Neo, Solvay, Shin-Etsu Vietnam) are not counted, as in the fact
  base's own cross-check (China about 90% of NdPr and about 98% of Dy+Tb separation).

Shares are each country's capacity over the world's in the same trial and year, so they sum to 1 in every
trial and year. Capacity outside China is nameplate x ramp-up utilisation (the timeline's capacity), China's is
output; the published projections are shares of output.

:func:`benchmark_table` sets the model's P10/P50/P90 beside each published share in the ``projections`` table;
:func:`decompose_gap` splits the gap to IEA's 2030 China share into its causes (Shapley values over swapping
each assumption to the IEA-implied one, so the parts add up to the gap); :func:`projection_metrics` gives the
manifest metrics.

Modules: :mod:`.china` (China's path, the observed base year), :mod:`.model` (:func:`project`, the
:class:`WorldProjection` and its table), :mod:`.benchmark` (published projections, metrics, sources) and
:mod:`.decomposition` (the gap to IEA). Their public names are imported here.
"""

from rare_earth_lib.models.projection.benchmark import (
    IEA_CHINA_2030,
    IEA_CHINA_2035,
    PRODUCT_STAGE,
    WITHIN_POINTS,
    benchmark_table,
    projection_metrics,
    source_ids,
)
from rare_earth_lib.models.projection.china import (
    CHINA_PRODUCTS,
    ChinaPath,
    base_year_shares,
    china_growth,
    china_path,
    observed_outside_china,
)
from rare_earth_lib.models.projection.decomposition import IEA_GROUPS, Decomposition, decompose_gap
from rare_earth_lib.models.projection.model import (
    BENCHMARK_YEARS,
    END_YEAR,
    GROUP_ALLIANCE,
    GROUP_CHINA,
    GROUP_OTHERS,
    QUANTILES,
    TABLES,
    WorldProjection,
    others_pipeline,
    project,
    projection_table,
)

__all__ = [
    "BENCHMARK_YEARS",
    "CHINA_PRODUCTS",
    "ChinaPath",
    "Decomposition",
    "END_YEAR",
    "GROUP_ALLIANCE",
    "GROUP_CHINA",
    "GROUP_OTHERS",
    "IEA_CHINA_2030",
    "IEA_CHINA_2035",
    "IEA_GROUPS",
    "PRODUCT_STAGE",
    "QUANTILES",
    "TABLES",
    "WITHIN_POINTS",
    "WorldProjection",
    "base_year_shares",
    "benchmark_table",
    "china_growth",
    "china_path",
    "decompose_gap",
    "observed_outside_china",
    "others_pipeline",
    "project",
    "projection_metrics",
    "projection_table",
    "source_ids",
]
