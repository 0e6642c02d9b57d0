"""Published projections, China's growth parameter, and the build analogs for the timeline's hindcast (issue 12)."""

from __future__ import annotations

import pandas as pd
import pytest

from rare_earth_lib.data import package as dp
from rare_earth_lib.domain import REFINING_STAGES


@pytest.fixture(scope="module")
def t():
    return dp.validate_package()


def test_iea_2030_refining_split_and_2035_china_share(t):
    pj = t["projections"].set_index("projection_id")
    split = {r: pj.loc[f"iea_gcmo2024_sep_{r}_2030", "share"] for r in ("china", "malaysia", "australia", "others")}
    assert split == {"china": 0.77, "malaysia": 0.12, "australia": 0.03, "others": pytest.approx(0.08)}
    assert sum(split.values()) == pytest.approx(1.0)
    assert pj.loc["iea_gcmo2024_sep_others_2030", "is_estimate"]  # derived remainder, said so
    assert pj.loc["iea_gcmo2025_sep_china_2035", ["year", "share"]].tolist() == [2035, 0.76]
    iea = pj[pj["forecaster"] == "IEA"]
    assert iea["via_secondary"].all()  # the primary IEA texts were not available


def test_every_projection_in_part_e_is_carried(t):
    pj = t["projections"]
    assert {"IEA", "IEA (per aggregators)", "Benchmark Mineral Intelligence", "Adamas Intelligence"} <= set(pj["forecaster"])
    assert pj["forecaster"].str.contains("Arafura").any()
    heavy = pj[pj["stage"] == "heavy_separation"].iloc[0]
    assert (heavy["year"], heavy["share"], heavy["base_share"]) == (2030, 0.91, 0.99)


def test_china_growth_default_is_the_quota_trend(t):
    g = t["growth_rates"]
    default = g[(g["region"] == "China") & (g["measure"] == "separation_quota") & g["is_default"]].iloc[0]
    mp = t["mine_production"]
    china = mp[(mp["country"] == "China") & mp["is_default"]].set_index("year")["tonnes_reo"]
    assert default["annual_growth"] == pytest.approx((china[2025] / china[2023]) ** 0.5 - 1, abs=1e-4)
    assert default["end_value"] == 254_000 and "Assumption" in default["method"]


def test_separating_projects_with_dates_are_build_analogs(t):
    p = t["projects"]
    separating = p["stages"].str.split(";").map(lambda s: bool(set(s) & set(REFINING_STAGES)))
    dated = p[["first_output_planned_date", "first_output_target_date"]].notna().any(axis=1)
    decided = p[["announced_date", "fid_date", "construction_start_date"]].notna().any(axis=1)
    wanted = set(p.loc[separating & dated & decided, "project_id"])
    covered = set(t["build_analogs"]["project_id"].dropna())
    assert wanted - covered == set()
    assert len(wanted) >= 10


def test_new_analogs_carry_planned_dates_and_censoring(t):
    a = t["build_analogs"].set_index("analog_id")
    for aid in (
        "shin_etsu_vietnam_refinery",
        "lynas_malaysia_hre_expansion",
        "ucore_louisiana",
        "ef_white_mesa_hre",
        "ef_phase2",
        "caremag_lacq",
    ):
        assert pd.notna(a.loc[aid, "planned_first_output_date"]), aid
    done = a.loc["shin_etsu_vietnam_refinery"]
    assert done["reached_first_output"] and done["actual_first_output_date"] == done["planned_first_output_date"]
    open_ = a.loc["lynas_malaysia_hre_expansion"]
    assert not open_["reached_first_output"] and open_["latest_target_first_output_date"] > open_["planned_first_output_date"]


def test_other_countries_separation_projects(t):
    p = t["projects"]
    sep = p[p["stages"].str.contains("separation") & p["is_rare_earth"]]
    countries = set(sep["country"])
    assert {"Malaysia", "Vietnam", "Estonia", "France"} <= countries
    assert sep.set_index("project_id").loc["vietnam_hre_refinery", "status"] == "stalled"
