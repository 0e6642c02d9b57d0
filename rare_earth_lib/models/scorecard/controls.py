"""Export controls in the assessment: licence exposure on the exposure date, both branches, and the coding table.

The data end on their as-of date; China's suspension of Nos. 55-58, 61 and 62 ran until 2026-11-10 and the
data say nothing after it. So exposure is computed for both branches after that date (suspension extended,
controls reimposed) and the briefing shows them side by side, saying which one its scenario assumes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rare_earth_lib.data.views import default_rows, ids_of, join_ids
from rare_earth_lib.domain import REGION_NAMES, STAGE_LABELS
from rare_earth_lib.models import exposure as expo
from rare_earth_lib.models.scorecard.supply import latest

MIDSTREAM: tuple[str, ...] = ("separation", "heavy_separation", "metal_alloy", "magnet")


@dataclass(frozen=True)
class Exposure:
    """Licence exposure under one controls regime: states on the exposure date, per-stage shares, direct supply."""

    regime: str
    states: pd.DataFrame
    exposure: pd.DataFrame
    direct: pd.DataFrame


def demand_weights(demand: pd.DataFrame, per_region: pd.DataFrame, year: int) -> pd.DataFrame:
    """Alliance demand per region and midstream stage (t/yr), to weight import-source shares."""
    weights = []
    for stage, product in (("separation", "ndpr_oxide"), ("heavy_separation", "dytb_oxide")):
        sel = per_region[(per_region["product"] == product) & (per_region["year"] == year)]
        weights += [{"region": r, "stage": stage, "weight": float(t)} for r, t in zip(sel["region"], sel["tonnes"], strict=True)]
    magnets = default_rows(demand[(demand["product"] == "ndfeb_magnet") & demand["region"].isin(list(REGION_NAMES))])
    if "segment" in magnets.columns:
        magnets = magnets[magnets["segment"].fillna("all") == "all"]
    for region, grp in magnets.groupby("region"):
        tonnes = float(latest(grp, year)["tonnes"].iloc[0])
        weights += [{"region": region, "stage": s, "weight": tonnes} for s in ("metal_alloy", "magnet")]
    return pd.DataFrame(weights, columns=["region", "stage", "weight"])


def direct_supply(trade_exposure: pd.DataFrame, weights: pd.DataFrame, chain: pd.DataFrame, year: int) -> pd.DataFrame:
    """Share of alliance supply bought from China per midstream stage; China's world share where no trade figure."""
    direct = expo.direct_china_share_by_stage(trade_exposure, weights, year=year)
    by_stage = chain.set_index("stage")
    missing = [
        {
            "stage": stage,
            "direct_china_share": float(by_stage.at[stage, "china_share"]),
            "basis": "China's world share (no trade figure)",
            "source_ids": by_stage.at[stage, "source_ids"],
            "trade_rows": (),
        }
        for stage in MIDSTREAM
        if stage not in set(direct["stage"])
    ]
    return pd.concat([direct, pd.DataFrame(missing, columns=direct.columns)], ignore_index=True) if missing else direct


def exposure_under(
    regime: str, export_controls: pd.DataFrame, on_date: dt.date, direct: pd.DataFrame, weights: pd.DataFrame, chain: pd.DataFrame, p: Any
) -> Exposure:
    """Licence exposure per stage on ``on_date`` if, after a suspension's end, ``regime`` holds."""
    states = expo.control_states_on(export_controls, on_date, regime)
    direct_share = direct.set_index("stage")["direct_china_share"]
    heavy_china = float(chain.set_index("stage").at["heavy_separation", "china_share"])
    inputs_share = {"separation": 0.0, "heavy_separation": 0.0, "metal_alloy": heavy_china, "magnet": heavy_china}
    total = weights.groupby("stage")["weight"].sum()
    japan = weights[weights["region"] == "japan"].groupby("stage")["weight"].sum()
    japan_share = {s: float(japan.get(s, 0.0) / total[s]) if total.get(s, 0) > 0 else 0.0 for s in direct_share.index}
    exposure = expo.licence_exposure(
        states,
        direct_share,
        inputs_share,
        magnet_dytb_share=p.magnet_dytb_share,
        technology_derived_share=p.technology_derived_share,
        chinese_content_value_share=p.chinese_content_value_share,
        japan_demand_share=japan_share,
        japan_denial_share=p.japan_denial_share,
        extraterritorial_scope=p.extraterritorial_scope,
    )
    exposure.insert(1, "label", exposure["stage"].map(STAGE_LABELS))
    measure_ids = states.set_index("measure_id")["source_ids"]
    direct_ids = direct.set_index("stage")["source_ids"]
    exposure["source_ids"] = [
        join_ids([*(measure_ids.get(m) for m in ids_of(ms)), direct_ids.get(stage)])
        for stage, ms in zip(exposure["stage"], exposure["measures"], strict=True)
    ]
    return Exposure(regime, states, exposure, direct)


def branches(by_regime: Mapping[str, Exposure]) -> pd.DataFrame:
    """Licence share per midstream stage under each regime, side by side (one column per regime)."""
    frames = [e.exposure.set_index("stage")["licence_share"].rename(regime) for regime, e in by_regime.items()]
    out = pd.concat(frames, axis=1).reset_index()
    out.insert(1, "label", out["stage"].map(STAGE_LABELS))
    out["source_ids"] = [join_ids([e.exposure.set_index("stage").at[s, "source_ids"] for e in by_regime.values()]) for s in out["stage"]]
    return out


def restriction_counts(states: pd.DataFrame) -> dict[str, int]:
    """How many rare-earth restrictions are in force / suspended, and technology-or-equipment measures in force of all."""
    easing = states.apply(expo.is_easing, axis=1)
    ree = states["elements"].fillna("").astype(str).str.len().gt(0) & ~easing
    tech = states[states["scope"].isin(["technology", "equipment"]) & ~easing]
    return {
        "in_force": int(((states["state"] == "in_force") & ree).sum()),
        "suspended": int(((states["state"] == "suspended") & ree).sum()),
        "technology_in_force": int((tech["state"] == "in_force").sum()),
        "technology_total": max(1, len(tech)),
    }


_EFFECT = {
    "materials": "export licence for the listed items",
    "extraterritorial": "licence for foreign-made items with Chinese content (de minimis) or made with Chinese technology",
    "technology": "export licence for the technology",
    "equipment": "export licence for the equipment",
    "country_specific": "ban on exports to listed end users",
}


def _state_text(state: str, note: str, assumed: bool, as_of: dt.date | None, on_date: dt.date | None) -> str:
    words = state.replace("_", " ")
    if as_of is not None and on_date is not None and on_date > as_of:
        # after the data end every state is an assumption: the branch's for suspended measures, else the last known one
        why = f"{note}; this scenario's branch" if assumed and note else f"last known status on {as_of.isoformat()}"
        return f"assumed {words} ({why})"
    return note if note.startswith(words) else words + (f" ({note})" if note else "")


def coding_table(
    export_controls: pd.DataFrame, states: pd.DataFrame, as_of: dt.date | None = None, on_date: dt.date | None = None
) -> pd.DataFrame:
    """How each rare-earth measure is coded in the model: elements, stages, de minimis, licence or ban, state, sources.

    Measures without rare-earth elements (Nos. 55 and 58) are left out. The effect column says whether a measure
    requires a licence or bans outright; the 2023 catalogue lists technologies whose export is prohibited or
    needs a licence (its name says so). When ``on_date`` lies after the data's ``as_of`` date, every state is
    labelled "assumed": a suspended measure's by the scenario's branch, every other by its last known status.
    """
    rows = states[states["elements"].fillna("").astype(str).str.len() > 0]
    effect = [
        "prohibited or restricted (licence) technologies" if "Prohibited" in str(name) else _EFFECT.get(str(scope), str(scope))
        for name, scope in zip(rows["measure"], rows["scope"], strict=True)
    ]
    stages = rows["stages"].fillna("").map(lambda s: ", ".join(STAGE_LABELS.get(x, x) for x in ids_of(s)) or "—")
    de_minimis = rows["de_minimis_value_share"].map(lambda v: "—" if pd.isna(v) else f"{v:.1%} of value")
    return pd.DataFrame(
        {
            "measure": rows["measure"].astype(str),
            "elements": rows["elements"].astype(str).str.replace(";", ", "),
            "stages": stages,
            "effect": effect,
            "de_minimis": de_minimis,
            "state": [
                _state_text(state, note, bool(flag), as_of, on_date)
                for state, note, flag in zip(
                    rows["state"], rows["state_note"].fillna(""), rows.get("assumed", pd.Series(False, index=rows.index)), strict=True
                )
            ],
            "source_ids": rows["source_ids"].astype(str),
        }
    ).reset_index(drop=True)
