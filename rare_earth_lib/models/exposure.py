"""Exposure of alliance demand to China's rare-earth export controls.

Two steps.

1. :func:`control_states_on` says what state each measure is in on a date: not yet announced,
   announced (not yet effective), in force, suspended or ended. After a suspension's end date the
   state is an assumption set by the regime parameter: ``"suspension_extended"`` keeps the measure
   suspended, ``"reimposed"`` puts it back in force. Both are flagged ``assumed``.

2. :func:`licence_exposure` estimates, for each stage, the share of alliance demand that would need a
   Chinese licence. Method (all inputs explicit):

   * ``direct_china_share[s]``: share of the alliance's supply at stage ``s`` bought from China.
     A materials measure (No. 18, No. 57) in force makes the part of that supply containing its
     elements need a licence: ``direct_china_share[s] * coverage[s]``.
   * ``coverage[s]``: share of stage ``s`` products containing a listed element: 1 for heavy
     separation when Dy or Tb is listed, ``magnet_dytb_share`` for metal/alloy and magnets (magnets
     made with Dy/Tb), 0 for light separation (Nd, Pr, La and Ce are not listed) and mining.
   * Extraterritorial rule (No. 61) in force: the non-China supply ``1 - direct_china_share[s]``
     needs a licence when it contains Chinese-origin listed material worth at least the de minimis
     value share, or was made with Chinese technology. "Listed" means the elements that the
     materials measures in force list (Nos. 18 and 57), unless ``extraterritorial_scope`` is
     ``"all_rare_earths"``, which takes every element the measure's own row names. With ``chinese_input_share[s]`` the chance
     that its listed inputs are Chinese-origin and ``technology_derived_share`` the share made with
     Chinese process technology (independent), the caught share is
     ``coverage[s] * (1 - (1 - chinese_input_share[s] * tripped) * (1 - technology_derived_share))``,
     where ``tripped`` is 1 when ``chinese_content_value_share >= de minimis``.
   * The total is the sum of the direct and extraterritorial parts (they apply to disjoint supply).
   * A country-specific measure against Japan (January 2026 dual-use notice) in force adds an
     estimate of the share denied outright: Japan's share of the stage's alliance demand x its
     licensable direct share x ``japan_denial_share``.

Technology and equipment measures (the December 2023 catalogue ban, Nos. 56 and 62) do not gate
today's flows of material; they bar Chinese help to build or maintain plants. They are reported per
stage as ``technology_barred`` for the scorecard. A measure bites only the stages its ``stages``
column lists. Rows that ease controls (general licences) are never counted as restrictions
(:func:`is_easing`); they remain visible in the timeline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from rare_earth_lib.data.views import default_rows
from rare_earth_lib.domain import CHAIN_STAGES
from rare_earth_lib.models.concentration import check_stage

REGIMES: tuple[str, ...] = ("suspension_extended", "reimposed")
EXTRATERRITORIAL_SCOPES: tuple[str, ...] = ("listed_elements", "all_rare_earths")
EASING_MARKERS: tuple[str, ...] = ("general export licen", "general licen", "easing")
"""Words in a measure's name that mark it as an easing (e.g. general licences), not a restriction."""
STATES: tuple[str, ...] = ("not_announced", "announced", "in_force", "suspended", "ended")

HEAVY_LISTED = frozenset({"Dy", "Tb"})
"""Heavy elements whose listing makes magnet and heavy-separation products licensable."""

STAGE_ELEMENTS: dict[str, frozenset[str]] = {
    "mining": frozenset(),  # the alliance buys no ore from China; ore is not modelled as licensable here
    "separation": frozenset({"La", "Ce", "Pr", "Nd"}),
    "heavy_separation": frozenset({"Sm", "Gd", "Tb", "Dy", "Y", "Lu", "Ho", "Er", "Tm", "Eu", "Yb"}),
    "metal_alloy": frozenset({"Pr", "Nd", "Dy", "Tb"}),
    "magnet": frozenset({"Pr", "Nd", "Dy", "Tb"}),
}
"""Elements whose products each stage supplies to the alliance."""


def _to_date(value) -> dt.date | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def is_easing(measure: pd.Series) -> bool:
    """True when an export-control row describes an easing (general licences), not a restriction."""
    text = f"{measure.get('measure', '')} {measure.get('measure_id', '')}".lower().replace("_", " ")
    return any(marker in text for marker in EASING_MARKERS)


def check_regime(controls_regime: str) -> str:
    """Return ``controls_regime`` if known; else raise ValueError naming the argument."""
    if controls_regime not in REGIMES:
        raise ValueError(f"controls_regime: must be one of {', '.join(REGIMES)}, got {controls_regime!r}")
    return controls_regime


def control_states_on(export_controls: pd.DataFrame, on_date: dt.date | str, controls_regime: str = "suspension_extended") -> pd.DataFrame:
    """State of each export-control measure on ``on_date``.

    Rules, in order: not announced before ``announced_date``; ``ended`` when the data marks the
    measure ended; ``announced`` before ``effective_date`` (NaT effective = announced date);
    ``suspended`` between ``suspended_from`` and ``suspended_until``; after ``suspended_until`` the
    regime decides (``suspension_extended`` -> suspended, ``reimposed`` -> in force), flagged as
    assumed; otherwise ``in_force``.

    Args:
        export_controls: the ``export_controls`` table.
        on_date: the date to evaluate (date or ISO string).
        controls_regime: ``"suspension_extended"`` or ``"reimposed"``.

    Returns:
        The input columns plus state (one of :data:`STATES`), assumed (bool) and state_note (text).

    Raises:
        ValueError: bad ``controls_regime`` or unparseable ``on_date``.
    """
    check_regime(controls_regime)
    try:
        day = pd.Timestamp(on_date).date()
    except (ValueError, TypeError):
        raise ValueError(f"on_date: not a date: {on_date!r}") from None
    states, assumed, notes = [], [], []
    for _, row in export_controls.iterrows():
        announced = _to_date(row.get("announced_date"))
        effective = _to_date(row.get("effective_date")) or announced
        s_from = _to_date(row.get("suspended_from"))
        s_until = _to_date(row.get("suspended_until"))
        flag, note = False, ""
        if announced is not None and day < announced:
            state = "not_announced"
        elif str(row.get("status")) == "ended":
            state, note = "ended", "ended (per the data)"
        elif effective is not None and day < effective:
            state, note = "announced", f"effective {effective.isoformat()}"
        elif s_from is not None and day >= s_from and (s_until is None or day < s_until):
            state, note = "suspended", f"suspended until {s_until.isoformat()}" if s_until else "suspended"
        elif s_until is not None and day >= s_until:
            flag = True
            if controls_regime == "suspension_extended":
                state, note = "suspended", f"suspension assumed extended past {s_until.isoformat()}"
            else:
                state, note = "in_force", f"assumed reimposed from {s_until.isoformat()}"
        else:
            state = "in_force"
        states.append(state)
        assumed.append(flag)
        notes.append(note)
    out = export_controls.copy()
    out["state"] = states
    out["assumed"] = assumed
    out["state_note"] = notes
    return out


def measure_short_name(measure: str) -> str:
    """A measure's short display name: its title before the first colon, without the issuing ministry."""
    short = str(measure).split(":")[0].replace("MOFCOM/GAC ", "").replace("MOFCOM ", "").strip()
    return short[:1].upper() + short[1:]  # a label opens a row: "notice banning ..." -> "Notice banning ..."


def measure_names(export_controls: pd.DataFrame) -> dict[str, str]:
    """``measure_id`` -> display name (the table's ``display_name``, else the short title), for tables; readers never see ids."""
    names = (
        export_controls["display_name"]
        if "display_name" in export_controls.columns
        else pd.Series(index=export_controls.index, dtype=object)
    )
    short = export_controls["measure"].map(measure_short_name)
    return dict(zip(export_controls["measure_id"], names.where(names.notna() & (names.astype(str) != ""), short), strict=True))


def _split(value) -> set[str]:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return set()
    return {part.strip() for part in str(value).split(";") if part.strip()}


def stage_coverage(elements: set[str] | frozenset[str], stage: str, magnet_dytb_share: float) -> float:
    """Share (0..1) of a stage's products that contain an element in ``elements``.

    Args:
        elements: element symbols a measure lists.
        stage: one of :data:`CHAIN_STAGES`.
        magnet_dytb_share: share of NdFeB alloy/magnet demand made with Dy or Tb.

    Raises:
        ValueError: unknown stage; ``magnet_dytb_share`` outside [0, 1].
    """
    check_stage(stage)
    _check_fraction(magnet_dytb_share, "magnet_dytb_share")
    listed = set(elements) & STAGE_ELEMENTS[stage]
    if not listed:
        return 0.0
    if stage in ("metal_alloy", "magnet"):
        if listed & {"Nd", "Pr"}:
            return 1.0
        return float(magnet_dytb_share) if listed & HEAVY_LISTED else 0.0
    if stage == "heavy_separation":
        # What the alliance buys from heavy separation is Dy+Tb oxide (domain.STAGE_PRODUCT): a measure listing only other
        # heavy elements (No. 57: Ho, Er, Tm, Eu, Yb) makes none of it licensable.
        return 1.0 if listed & HEAVY_LISTED else 0.0
    return 1.0


def _check_fraction(value: float, argument: str) -> float:
    value = float(value)
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"{argument}: must be a share in [0, 1], got {value!r}")
    return value


def _stage_series(values: Mapping[str, float] | pd.Series, argument: str) -> pd.Series:
    series = pd.Series(values, dtype=float)
    for stage, value in series.items():
        check_stage(str(stage), argument)
        _check_fraction(value, argument)
    return series


def _stage_measures(
    stage: str, in_force: pd.DataFrame, listed: set[str], input_share: float, settings: Mapping[str, object]
) -> tuple[float, float, float, bool, list[str]]:
    """What the measures in force do at one stage: direct coverage, extraterritorial caught share, Japan coverage,
    whether Chinese technology is barred, and the ids of the measures that bite (see :func:`licence_exposure`)."""
    cov_direct, extra_caught, japan_cov, barred, ids = 0.0, 0.0, 0.0, False, []
    for _, m in in_force.iterrows():
        if stage not in _split(m.get("stages")) or is_easing(m):
            continue
        scope = str(m.get("scope"))
        elements = _split(m.get("elements"))
        if scope == "extraterritorial" and settings["extraterritorial_scope"] == "listed_elements":
            elements = elements & listed
        if scope in ("technology", "equipment"):
            barred = True
            ids.append(str(m["measure_id"]))
            continue
        coverage = stage_coverage(elements, stage, float(settings["magnet_dytb_share"]))
        if coverage == 0:
            continue
        ids.append(str(m["measure_id"]))
        if scope in ("materials", "extraterritorial"):
            cov_direct = max(cov_direct, coverage)  # China-origin items themselves are covered by either
        if scope == "extraterritorial":
            threshold = m.get("de_minimis_value_share")
            threshold = float(settings["default_de_minimis_value_share"]) if threshold is None or pd.isna(threshold) else float(threshold)
            tripped = 1.0 if float(settings["chinese_content_value_share"]) >= threshold else 0.0
            tech = float(settings["technology_derived_share"]) if bool(m.get("technology_rule", True)) else 0.0
            extra_caught = max(extra_caught, coverage * (1 - (1 - input_share * tripped) * (1 - tech)))
        elif scope == "country_specific":
            japan_cov = max(japan_cov, coverage)
    return cov_direct, extra_caught, japan_cov, barred, ids


def licence_exposure(
    states: pd.DataFrame,
    direct_china_share: Mapping[str, float] | pd.Series,
    chinese_input_share: Mapping[str, float] | pd.Series,
    magnet_dytb_share: float,
    technology_derived_share: float,
    chinese_content_value_share: float,
    japan_demand_share: Mapping[str, float] | pd.Series | None = None,
    japan_denial_share: float = 0.0,
    default_de_minimis_value_share: float = 0.001,
    extraterritorial_scope: str = "listed_elements",
) -> pd.DataFrame:
    """Share of alliance demand at each stage that would need a Chinese licence (see module doc).

    Args:
        states: output of :func:`control_states_on` (needs measure_id, state, scope, elements,
            stages, de_minimis_value_share, technology_rule).
        direct_china_share: stage -> share of alliance supply bought from China (0..1). Stages
            present here are the stages reported.
        chinese_input_share: stage -> chance that non-China producers' listed inputs are
            Chinese-origin (0..1); missing stages count 0.
        magnet_dytb_share: share of NdFeB alloy/magnet demand made with Dy or Tb (0..1).
        technology_derived_share: share of non-China supply made with Chinese process technology (0..1).
        chinese_content_value_share: value share of Chinese-origin listed content in a non-China
            product that has any (0..1), compared with the de minimis threshold.
        japan_demand_share: stage -> Japan's share of alliance demand (0..1); None = 0.
        japan_denial_share: share of Japan's licensable direct supply denied under a country-specific
            measure (0..1).
        default_de_minimis_value_share: threshold when the measure row gives none.
        extraterritorial_scope: ``"listed_elements"`` (default): the extraterritorial rule catches
            only elements that a materials measure in force lists (No. 61 applies to "listed" items,
            i.e. those of Nos. 18 and 57); ``"all_rare_earths"``: every element the measure row names.

    Returns:
        One row per stage: stage, direct_china_share, licence_share_direct,
        licence_share_extraterritorial, licence_share (total, 0..1), denied_share_japan,
        technology_barred (bool), measures (semicolon list of measure ids that bite in force).

    Raises:
        ValueError: any share outside [0, 1] or an unknown stage (naming the argument).
    """
    direct = _stage_series(direct_china_share, "direct_china_share")
    inputs = _stage_series(chinese_input_share, "chinese_input_share")
    japan = _stage_series(japan_demand_share if japan_demand_share is not None else {}, "japan_demand_share")
    settings = _licence_settings(
        magnet_dytb_share=magnet_dytb_share,
        technology_derived_share=technology_derived_share,
        chinese_content_value_share=chinese_content_value_share,
        japan_denial_share=japan_denial_share,
        default_de_minimis_value_share=default_de_minimis_value_share,
        extraterritorial_scope=extraterritorial_scope,
    )
    in_force = states[states["state"] == "in_force"]
    listed = _listed_elements(in_force)
    rows = []
    for stage in [s for s in CHAIN_STAGES if s in direct.index]:
        d = float(direct[stage])
        cov_direct, extra_caught, japan_cov, barred, ids = _stage_measures(stage, in_force, listed, float(inputs.get(stage, 0.0)), settings)
        direct_part = d * cov_direct
        extra_part = (1 - d) * extra_caught
        denied = float(japan.get(stage, 0.0)) * d * max(cov_direct, japan_cov) * float(japan_denial_share) if japan_cov > 0 else 0.0
        rows.append(
            {
                "stage": stage,
                "direct_china_share": d,
                "licence_share_direct": direct_part,
                "licence_share_extraterritorial": extra_part,
                "licence_share": min(1.0, direct_part + extra_part),
                "denied_share_japan": denied,
                "technology_barred": barred,
                "measures": ";".join(dict.fromkeys(ids)),
            }
        )
    return pd.DataFrame(rows)


def _licence_settings(
    *,
    magnet_dytb_share: float,
    technology_derived_share: float,
    chinese_content_value_share: float,
    japan_denial_share: float,
    default_de_minimis_value_share: float,
    extraterritorial_scope: str,
) -> dict[str, object]:
    """Check :func:`licence_exposure`'s scalar settings (each share in [0, 1], a known scope) and gather the ones
    :func:`_stage_measures` reads."""
    for value, name in (
        (magnet_dytb_share, "magnet_dytb_share"),
        (technology_derived_share, "technology_derived_share"),
        (chinese_content_value_share, "chinese_content_value_share"),
        (japan_denial_share, "japan_denial_share"),
        (default_de_minimis_value_share, "default_de_minimis_value_share"),
    ):
        _check_fraction(value, name)
    if extraterritorial_scope not in EXTRATERRITORIAL_SCOPES:
        raise ValueError(f"extraterritorial_scope: must be one of {', '.join(EXTRATERRITORIAL_SCOPES)}, got {extraterritorial_scope!r}")
    return {
        "magnet_dytb_share": magnet_dytb_share,
        "technology_derived_share": float(technology_derived_share),
        "chinese_content_value_share": chinese_content_value_share,
        "default_de_minimis_value_share": default_de_minimis_value_share,
        "extraterritorial_scope": extraterritorial_scope,
    }


def _listed_elements(in_force: pd.DataFrame) -> set[str]:
    """Elements listed by a materials measure in force (easings excluded): what the extraterritorial rule can catch."""
    materials = in_force[(in_force["scope"] == "materials") & ~in_force.apply(is_easing, axis=1)] if not in_force.empty else in_force
    return set().union(*[_split(v) for v in materials["elements"]]) if not materials.empty else set()


def mean_licence_share(
    exposure: pd.DataFrame, stages: tuple[str, ...] = ("separation", "heavy_separation", "metal_alloy", "magnet")
) -> float:
    """Unweighted mean of ``licence_share`` over the midstream stages present (0..1); NaN if none."""
    sel = exposure[exposure["stage"].isin(list(stages))]
    return float(sel["licence_share"].mean()) if not sel.empty else float("nan")


def timeline_frame(states: pd.DataFrame, as_of: dt.date | str) -> pd.DataFrame:
    """Long frame of dated events for a timeline chart of the controls.

    Args:
        states: output of :func:`control_states_on` (or the raw ``export_controls`` table).
        as_of: the data's as-of date; events after it are dropped (a suspension's end date after it is
            kept and marked as scheduled).

    Returns:
        DataFrame: measure_id, measure, scope, event (announced|effective|suspended|suspension ends),
        date, scheduled (bool: the date lies after ``as_of``), source_ids. Sorted by date.
    """
    day = pd.Timestamp(as_of)
    out = []
    for _, row in states.iterrows():
        for column, event in (
            ("announced_date", "announced"),
            ("effective_date", "effective"),
            ("suspended_from", "suspended"),
            ("suspended_until", "suspension ends"),
        ):
            when = row.get(column)
            if when is None or pd.isna(when):
                continue
            when = pd.Timestamp(when)
            scheduled = bool(when > day)
            if scheduled and event != "suspension ends" and event != "effective":
                continue
            out.append(
                {
                    "measure_id": row["measure_id"],
                    "measure": row["measure"],
                    "scope": row["scope"],
                    "event": event,
                    "date": when,
                    "scheduled": scheduled,
                    "source_ids": row["source_ids"],
                }
            )
    frame = pd.DataFrame(out, columns=["measure_id", "measure", "scope", "event", "date", "scheduled", "source_ids"])
    return frame.sort_values(["date", "measure_id"], kind="stable").reset_index(drop=True)


TRADE_PRODUCTS_BY_STAGE: dict[str, tuple[str, ...]] = {
    "separation": ("ndpr_oxide", "ree_compounds_metals", "ree_total"),
    "heavy_separation": ("dytb_oxide", "dysprosium", "terbium", "ree_compounds_metals", "ree_total"),
    "metal_alloy": ("ndfeb_alloy", "ndfeb_magnet", "ree_compounds_metals", "ree_total"),
    "magnet": ("ndfeb_magnet", "ree_compounds_metals", "ree_total"),
}
"""Per stage, the trade_exposure products that stand for it, most specific first."""


def direct_china_share_by_stage(
    trade_exposure: pd.DataFrame,
    region_weights: pd.DataFrame,
    year: int | None = None,
) -> pd.DataFrame:
    """Share of alliance supply bought from China at each stage, from import-source shares.

    For each importer and stage the most specific product of :data:`TRADE_PRODUCTS_BY_STAGE` that
    the importer has a default China row for is used, at its latest ``year_end`` not after
    ``year``. Importers are weighted by their demand at that stage (``region_weights``); an importer
    with no demand figure, or no trade row, drops out of the average. Mining is not listed: the
    alliance exports ore and concentrate rather than importing it.

    Args:
        trade_exposure: the ``trade_exposure`` table (importer, product, year_end, partner, share,
            is_default, source_ids).
        region_weights: DataFrame with columns region (importer code), stage, weight (t/yr of
            demand; any non-negative weights).
        year: latest year to use (None = latest).

    Returns:
        DataFrame: stage, direct_china_share (0..1), basis (text: importer:product:year used),
        source_ids, trade_rows (tuple of the index labels in ``trade_exposure`` of the rows used, so that
        a reader can be told when a figure used is only a bound, "below 60%"). A stage with no usable
        row is left out.

    Raises:
        ValueError: a negative weight or a share outside [0, 1] (naming the argument).
    """
    if (pd.to_numeric(region_weights["weight"], errors="coerce").fillna(0) < 0).any():
        raise ValueError("region_weights: weights must be >= 0")
    rows = trade_exposure[trade_exposure["partner"] == "China"]
    rows = default_rows(rows)
    if year is not None:
        rows = rows[rows["year_end"] <= year]
    if ((rows["share"] < 0) | (rows["share"] > 1)).any():
        raise ValueError("trade_exposure: shares must lie in [0, 1]")
    out = []
    for stage, products in TRADE_PRODUCTS_BY_STAGE.items():
        parts = []
        for _, w in region_weights[region_weights["stage"] == stage].iterrows():
            weight = w["weight"]
            if pd.isna(weight) or weight <= 0:
                continue
            mine = rows[rows["importer"] == w["region"]]
            for product in products:
                cand = mine[mine["product"] == product]
                if not cand.empty:
                    row = cand.sort_values("year_end", kind="stable").iloc[-1]
                    parts.append(
                        (
                            float(weight),
                            float(row["share"]),
                            f"{w['region']}:{product}:{int(row['year_end'])}",
                            str(row["source_ids"]),
                            row.name,
                        )
                    )
                    break
        if parts:
            total = sum(p[0] for p in parts)
            share = sum(p[0] * p[1] for p in parts) / total
            ids = sorted({i for p in parts for i in p[3].split(";") if i})
            out.append(
                {
                    "stage": stage,
                    "direct_china_share": share,
                    "basis": "; ".join(p[2] for p in parts),
                    "source_ids": ";".join(ids),
                    "trade_rows": tuple(p[4] for p in parts),
                }
            )
    return pd.DataFrame(out, columns=["stage", "direct_china_share", "basis", "source_ids", "trade_rows"])


# --------------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------------
EVENT_ORDER: tuple[str, ...] = ("announced", "effective", "suspended", "suspension ends")
