"""Display tables of the alliance-feasibility briefing: reader-facing names, labelled dates, no double-counted money.

Each function returns a frame ready to show, with a ``source_ids`` column the briefing drops before showing the
table and passes as its sources.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from rare_earth_lib.data.views import join_ids
from rare_earth_lib.domain import ALLIANCE, FUNDING_COLUMNS, STAGE_LABELS, STATUS_LABELS
from rare_earth_lib.models.exposure import measure_names
from rare_earth_lib.models.scorecard import INDICATOR_LABELS, PILLAR_LABELS
from rare_earth_lib.report.text.feasibility import QUALIFIER_WORDS, REGIME_LABELS, pct, round_sig

PRODUCT_NAMES = {"ndpr_oxide": "NdPr oxide", "dytb_oxide": "Dy+Tb oxide", "dy_oxide": "Dy oxide", "tb_oxide": "Tb oxide"}


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.2f}"


def _residual(value: float) -> str:
    """A residual share (100% minus the measured ones) is not a measurement: below 0.5% it reads n/a."""
    if value is None or value != value or value < 0.005:
        return "n/a (residual)"
    return f"{pct(value)} (residual)"


def chain_table(result: Any) -> pd.DataFrame:
    """Shares by stage: China, the alliance by plant location and by owner side by side, partner hosts, others.

    The columns China + Alliance (scenario's attribution) + Partner hosts + Others sum to 100%; the alliance-owned
    part of partner hosts is a subset of the alliance column and is labelled so.
    """
    chain = result.chain
    by = {a: frame.set_index("stage") for a, frame in result.chain_by_attribution.items()}
    return pd.DataFrame(
        {
            "Stage": chain["label"],
            "Year": chain["year"].astype(int),
            "China": [
                pct(share) if pd.isna(dyear) else f"{pct(share)} (about {pct(derived)} in {int(dyear)}, derived)"
                for share, derived, dyear in zip(
                    chain["china_share"], chain["china_share_derived"], chain["china_share_derived_year"], strict=True
                )
            ],
            "Alliance, by plant location": chain["stage"].map(by["location"]["alliance_share"]).map(pct),
            "Alliance, by owner": chain["stage"].map(by["owner"]["alliance_share"]).map(pct),
            "Partner hosts (not alliance-owned part)": chain["partners_share"].map(pct),
            "Others (residual: 100% minus the rest)": chain["others_share"].map(_residual),
            "Subset of the alliance: alliance-owned plants in partner hosts": chain["alliance_in_partner_hosts_share"].map(pct),
            "HHI (0-10,000)": chain["hhi"].round(0).astype(int),
            "Partner hosts": chain["partners"].str.replace(";", ", ").replace("", "—"),
            "Includes estimates": chain["includes_estimates"].map({True: "yes", False: "no"}),
            "source_ids": chain["source_ids"],
        }
    )


def self_sufficiency_table(result: Any) -> pd.DataFrame:
    """Capacity today against demand per stage, like for like, for the three demand cases."""
    s = result.self_sufficiency
    return pd.DataFrame(
        {
            "Stage": s["label"],
            "Countries compared": s["countries"],
            "Alliance capacity today (t/yr)": [
                f"n/a (no tonnage: {r['capacity_untallied']})"
                if r["capacity_untallied"] and not r["capacity_tpa"] > 0
                else _num(r["capacity_tpa"]) + (f" + n/a (no tonnage: {r['capacity_untallied']})" if r["capacity_untallied"] else "")
                for _, r in s.iterrows()
            ],
            "Demand: low / central / high (t/yr)": [
                " / ".join(_num(r[f"demand_{c}_t"]) for c in ("low", "central", "high")) for _, r in s.iterrows()
            ],
            "Capacity / demand: low / central / high": [
                " / ".join(_ratio(r[f"ratio_{c}"]) for c in ("low", "central", "high")) for _, r in s.iterrows()
            ],
            "Demand year": s["demand_years"],
            "Demand basis": s["demand_basis"],
            "Not compared: no demand figure (t/yr)": [
                f"{r['left_out']}: {_num(r['left_out_tpa'])}" if r["left_out"] else "—" for _, r in s.iterrows()
            ],
            "Alliance-owned, located in China (t/yr; never counted)": s["alliance_owned_in_china_tpa"].map(_num),
            "Capacity basis": s["capacity_basis"],
            "source_ids": s["source_ids"],
        }
    )


def capacity_table(result: Any, stages: tuple[str, ...] = ("separation", "heavy_separation")) -> pd.DataFrame:
    """Today's alliance separation capacity plant by plant: nameplate, latest observed rate and what counts today."""
    c = result.capacity[result.capacity["stage"].isin(stages)]
    return pd.DataFrame(
        {
            "Plant": c["company"] + ", " + c["site"],
            "Stage": c["stage"].map(STAGE_LABELS),
            "Located in": c["country"],
            "Counted for": c["counted_for"] + c["share"].map(lambda s: "" if s >= 1 else f" ({s:.0%} share)"),
            "Status": c["status"].map(STATUS_LABELS),
            "Nameplate (t/yr)": c["nameplate_tpa"].map(_num),
            "Nameplate basis": c["nameplate_basis"],
            "Latest observed rate (t/yr)": c["observed_tpa"].map(lambda v: _num(v, 1 if v == v and v < 10 else 0)),
            "Counted today (t/yr)": c["today_tpa"].map(lambda v: _num(v, 1 if v < 10 else 0)),
            "Basis of today's figure": c["today_basis"],
            "source_ids": c["source_ids"],
        }
    ).reset_index(drop=True)


def _funding_date_label(row: Mapping[str, Any]) -> str:
    """When the public money was committed (the funding dates as the sources state them), never a project milestone."""
    stated = row.get("funding_dates_as_stated")
    if stated is not None and pd.notna(stated) and str(stated).strip():
        return str(stated)
    return "not stated in the sources"


_PRECISION_TEXT = {"end_of_half": "by the end of", "end_of_year": "by the end of"}


def _deadline_label(f: Mapping[str, Any], as_of: dt.date) -> str:
    """A framework deadline with its stated precision; past at the data date, or after it with the outcome unknown."""
    deadline = f.get("deadline_date")
    if deadline is None or pd.isna(deadline):
        return "—"
    day = pd.Timestamp(deadline).date()
    precision = f.get("deadline_precision")
    stated = f.get("deadline_text")
    if precision in _PRECISION_TEXT and stated is not None and pd.notna(stated):
        text = f"{stated} (by {day.isoformat()})"
    else:
        text = day.isoformat()
    if day <= as_of:
        return text + " (passed at the data date)"
    return text + " (after the data date: outcome not known)"


def commitments_table(tables: Mapping[str, pd.DataFrame], as_of: dt.date) -> pd.DataFrame:
    """Frameworks and public project funding of the partners, each sum shown once, each date labelled.

    A framework whose commitment is the same money as a project's public funding (the JARE-Lynas line) shows
    the project row's amount only. "Date committed" is when the money was signed, announced or awarded (a
    project's funding dates as the sources state them, never a project milestone). A deadline keeps its stated
    precision ("Operational H2 2026" is met by 2026-12-31) and says whether it had passed at the data date or
    falls after it, when its outcome is not known.
    """
    frameworks, projects = tables["frameworks"], tables["projects"]
    projects = projects[projects["is_rare_earth"].astype("boolean").fillna(True).astype(bool)] if "is_rare_earth" in projects else projects
    project_sums = {
        (f, round(float(v), 1)) for f, col in FUNDING_COLUMNS.items() for v in pd.to_numeric(projects[col], errors="coerce").dropna()
    }
    rows = []
    for _, f in frameworks.iterrows():
        parties = [x.strip() for x in str(f["parties"]).split(";") if x.strip()]
        if not set(parties) & set(ALLIANCE):
            continue
        amount = f.get("commitment_musd")
        same = pd.notna(amount) and any((p, round(float(amount), 1)) in project_sums for p in parties)
        rows.append(
            {
                "Partner(s)": " + ".join(parties),
                "Kind": "framework",
                "Commitment": str(f["name"]),
                "US$ million": "same money as the project row below" if same else _num(amount),
                "Date committed": f"{pd.Timestamp(f['signed_date']).date().isoformat()} ({f.get('date_kind') or 'signed'})"
                if pd.notna(f.get("signed_date"))
                else "—",
                "Deadline": _deadline_label(f, as_of),
                "source_ids": str(f["source_ids"]),
            }
        )
    for funder in ALLIANCE:
        amounts = pd.to_numeric(projects[FUNDING_COLUMNS[funder]], errors="coerce")
        for idx in projects.index[amounts.fillna(0) > 0]:
            p = projects.loc[idx]
            conditional = bool(p.get("funding_is_conditional")) if pd.notna(p.get("funding_is_conditional")) else False
            rows.append(
                {
                    "Partner(s)": funder,
                    "Kind": "project funding" + (" (conditional)" if conditional else ""),
                    "Commitment": f"{p['company']}: {p['site']} ({STATUS_LABELS.get(p['status'], p['status'])})",
                    "US$ million": _num(amounts[idx]),
                    "Date committed": _funding_date_label(p),
                    "Deadline": "—",
                    "source_ids": str(p["source_ids"]),
                }
            )
    return pd.DataFrame(rows)


def _value(value: float | None, unit: str) -> str:
    """An indicator's value as shown: shares as percentages (as in the text), years whole, ratios to two significant figures."""
    if value is None or pd.isna(value):
        return "not reached"
    if unit == "fraction":
        return pct(value)
    if unit == "years":
        return f"{value:.0f}"
    return f"{round_sig(value):,g}"


def scorecard_table(result: Any) -> pd.DataFrame:
    """Indicators with value, scale, score and inputs, then the pillar scores."""
    card = result.scorecard
    rows = pd.DataFrame(
        {
            "Pillar": card["pillar"].map(PILLAR_LABELS),
            "Indicator": card["indicator"].map(INDICATOR_LABELS),
            "Value": [_value(v, u) for v, u in zip(card["value"], card["unit"], strict=True)],
            "Unit": card["unit"].replace({"fraction": "share"}),
            "Scale": card["thresholds"],
            "Score": card["score"].round(0).astype(int),
            "Inputs": card["inputs"],
            "source_ids": card["source_ids"],
        }
    )
    pillars = pd.DataFrame(
        {
            "Pillar": result.pillars["label"],
            "Indicator": "pillar score",
            "Score": result.pillars["score"].round(0).astype(int),
            "Inputs": result.pillars["band"],
            "source_ids": "",
        }
    )
    return pd.concat([rows, pillars], ignore_index=True).fillna("")


def branches_table(result: Any) -> pd.DataFrame:
    """Licence share per stage under both branches after the suspension's end, the scenario's marked."""
    b = result.branches
    chosen = result.params.controls_regime
    out = {"Stage": b["label"]}
    for regime, label in REGIME_LABELS.items():
        out[label + (" (this scenario)" if regime == chosen else "")] = b[regime].map(pct)
    exp = result.exposure.set_index("stage")
    out["Bought from China (scenario)"] = b["stage"].map(exp["direct_china_share"]).map(pct)
    out["Measures that bite (scenario)"] = b["stage"].map(exp["measures"]).map(lambda m: _measure_names(m, result.control_states))
    out["source_ids"] = b["source_ids"]
    return pd.DataFrame(out)


def _measure_names(ids: str, states: pd.DataFrame) -> str:
    names = measure_names(states)
    picked = [names.get(i, i) for i in str(ids).split(";") if i]
    return "; ".join(picked) or "—"


def coding_table(result: Any) -> pd.DataFrame:
    """How each rare-earth export control is coded (elements, stages, effect, de minimis, state), with sources."""
    c = result.control_coding
    return pd.DataFrame(
        {
            "Measure": c["measure"],
            "Elements": c["elements"],
            "Stages it applies to (as coded)": c["stages"],
            "Effect": c["effect"],
            "De minimis": c["de_minimis"],
            f"State on {result.figures['exposure_date']}": c["state"],
            "source_ids": c["source_ids"],
        }
    )


def prices_table(result: Any) -> pd.DataFrame:
    """China-linked and ex-China prices side by side, the one used as the market price marked."""
    prices = result.prices
    used = "europe" if result.params.market_price_basis == "ex_china" else "annual_average"
    return pd.DataFrame(
        {
            "Product": prices["product"].map(PRODUCT_NAMES),
            "Price basis": prices["label"],
            "Year": prices["year"],
            "US$/kg": prices["usd_per_kg"].map(lambda v: _num(v, 1 if v < 10 else 0)),
            "Used here": [
                "market price (the choice)"
                if b == used and p == "ndpr_oxide"
                else ("premium comparison" if b in ("europe", "annual_average") else "")
                for b, p in zip(prices["basis"], prices["product"], strict=True)
            ],
            "source_ids": prices["source_ids"],
        }
    )


def floors_table(result: Any) -> pd.DataFrame:
    """Each price instrument on the volume it covers, who pays, the price basis of the modelled cost, and the observed cost."""
    frames = [
        result.floors,
        result.subsidy.assign(government="not stated", payer_note="not stated", price_basis=result.figures["market_label"]),
    ]
    f = pd.concat(frames, ignore_index=True)
    observed = [
        f"US${_num(m)} million over {period} (about US${_num(round_sig(y))} million a year), {basis}"
        if isinstance(period, str) and period
        else ("not in the data" if gov != "not stated" else "—")
        for m, period, y, basis, gov in zip(
            f.get("observed_musd", pd.Series(index=f.index, dtype=float)),
            f.get("observed_period", pd.Series("", index=f.index)).fillna(""),
            f.get("observed_musd_per_year", pd.Series(index=f.index, dtype=float)),
            f.get("observed_basis", pd.Series("", index=f.index)).fillna(""),
            f["government"],
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "Instrument": f["instrument"],
            "Paid by": f["payer_note"],
            "Volume covered": f["covers"],
            "t/yr": f["volume_t"].map(lambda v: _num(round_sig(v))),
            "Target US$/kg": f["target_usd_per_kg"].map(_num),
            "Market US$/kg (price basis)": [f"{_num(m)} ({b})" for m, b in zip(f["market_usd_per_kg"], f["price_basis"], strict=True)],
            "Modelled US$ million per year": f["cost_musd_per_year"].map(lambda v: _num(round_sig(v))),
            "Observed cost": observed,
            "source_ids": f["source_ids"],
        }
    )


def heavy_gap_table(result: Any) -> pd.DataFrame:
    """The Dy and Tb premium of ex-China over China-linked prices on the alliance's demand."""
    h = result.heavy_gap
    return pd.DataFrame(
        {
            "Product": h["product"].map(PRODUCT_NAMES),
            f"Alliance demand {result.figures['gap_year']} (t/yr)": h["volume_t"].map(lambda v: _num(round_sig(v))),
            "Ex-China US$/kg": h["ex_china_usd_per_kg"].map(_num),
            "China-linked US$/kg": h["china_usd_per_kg"].map(_num),
            "Premium, US$ million per year (upper bound)": h["cost_musd_per_year"].map(lambda v: _num(round_sig(v))),
            "source_ids": h["source_ids"],
        }
    )


def _musd_range(low: float, high: float) -> str:
    """A capex range in US$ million to two significant figures; one figure when the ends round alike."""
    lo, hi = round_sig(low), round_sig(high)
    return f"US${_num(lo)} million" if lo == hi else f"US${_num(lo)}–{_num(hi)} million"


def capex_table(result: Any) -> pd.DataFrame:
    """Greenfield capex per tonne of recent plants, then the gap each product leaves and its capex range.

    A plant whose capacity of the product is not published shows "not computable" (its capex covers a product
    split the sources do not give); a range whose ends round alike shows one figure; a product with no gap says so.
    """
    i = result.capex_intensity
    per_t = []
    for lo, hi in zip(i["usd_per_tpa_low"], i["usd_per_tpa_high"], strict=True):
        if lo != lo:
            per_t.append("not computable (the plant's capacity of this product is not published)")
        else:
            a, b = round_sig(lo), round_sig(hi)
            per_t.append(_num(a) if a == b else f"{_num(a)}–{_num(b)}")
    plants = pd.DataFrame(
        {
            "Item": i["company"] + " (" + i["status"].map(STATUS_LABELS) + ")",
            "Product": i["product"].map(PRODUCT_NAMES),
            "Capacity (t/yr)": i["capacity_tpa"].map(_num) + i["capacity_estimated"].map({True: " (estimate)", False: ""}),
            "US$ per t/yr": per_t,
            "source_ids": i["source_ids"],
        }
    )
    g = result.capex_gap
    capex = []
    for _, r in g.iterrows():
        if r["gap_tpa"] <= 0:
            capex.append("no gap: capacity today meets the need")
        elif r["capex_musd_low"] != r["capex_musd_low"]:
            capex.append("not computable (no plant with a per-tonne figure)")
        else:
            n = int(r.get("plants", 0) or 0)
            basis = "one plant's estimate" if n <= 1 else f"{n} plants' estimates"
            capex.append(f"capex {_musd_range(r['capex_musd_low'], r['capex_musd_high'])} (low confidence: {basis})")
    gaps = pd.DataFrame(
        {
            "Item": "Gap to fill by " + str(result.figures["gap_year"]) + ": " + g["gap_tpa"].map(lambda v: _num(round_sig(v))) + " t/yr",
            "Product": g["product"].map(PRODUCT_NAMES),
            "Capacity (t/yr)": "needed " + g["needed_tpa"].map(lambda v: _num(round_sig(v))) + ", today " + g["operating_tpa"].map(_num),
            "US$ per t/yr": capex,
            "source_ids": g["source_ids"],
        }
    )
    return pd.concat([plants, gaps], ignore_index=True)


def _money_basis(p: Any) -> str:
    """How recorded public money becomes counted money (one basis for every table and sentence)."""
    return (
        f"counting conditional commitments (letters of interest, conditional loans) at {pct(p.conditional_funding_share)}"
        f" and US money at {pct(p.us_support_factor())} (the share of it assumed to flow)"
    )


def money_basis(p: Any) -> str:
    """The public-money basis in words, for captions and prose: "as recorded, counting conditional ..."."""
    return "as recorded, " + _money_basis(p)


def money_table(result: Any) -> pd.DataFrame:
    """Public money by funder: what counts against the separation gap, and what is shown apart (and why)."""
    m, p = result.public_money, result.params
    basis = f"conditional at {pct(p.conditional_funding_share)}, US money at {pct(p.us_support_factor())}"
    counts_col, apart_col = f"Counts against the separation gap (US$ M; {basis})", f"Shown apart (US$ M; {basis})"
    rows = []
    for funder, grp in m.groupby("funder", sort=False):
        counts = grp[grp["separation_in_alliance"]]
        apart = grp[~grp["separation_in_alliance"]]
        reason = "other governments" if funder not in ALLIANCE else "mines, alloy, magnets or plants not counted for the alliance"
        rows.append(
            {
                "Funder": funder,
                counts_col: _num(round_sig(counts["counted_musd"].sum())),
                apart_col: _num(round_sig(apart["counted_musd"].sum())),
                "Why apart": reason if not apart.empty else "—",
                "source_ids": join_ids(grp),
            }
        )
    rows.append(
        {
            "Funder": "US frameworks (share judged to reach rare earths)",
            counts_col: "0",
            apart_col: _num(round_sig(result.figures["framework_money_musd"])),
            "Why apart": "not assigned to any project in the data",
            "source_ids": result.figures["framework_ids"],
        }
    )
    return pd.DataFrame(rows)


def claims_table(result: Any, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """What the October 2025 public reporting claimed for the alliance, tested one by one against the data."""
    f, projects = result.figures, tables["projects"]
    aus_sep = result.capacity[
        (result.capacity["country"] == "Australia") & result.capacity["stage"].isin(["separation", "heavy_separation"])
    ]
    japan_sep = projects[(projects["country"] == "Japan") & projects["stages"].str.contains("separation")]
    japan_known = pd.to_numeric(japan_sep["ndpr_oxide_tpa"], errors="coerce").notna().any()
    trilateral = projects[projects["owner_country"].fillna("").map(lambda o: len({x.strip() for x in o.split(";")} & set(ALLIANCE)) >= 2)]
    tri_ree = trilateral[trilateral["is_rare_earth"].astype("boolean").fillna(True).astype(bool)]
    us_rows = result.public_money[result.public_money["funder"] == "United States"]
    us_money, us_recorded = us_rows["counted_musd"].sum(), us_rows["committed_musd"].sum()
    rows = [
        (
            "Australia supplies the ore",
            f"Australia mined {_num(f['australia_mine_t_reo'])} t REO; the alliance together mined {pct(f['alliance_mining_share'])} of world output.",
            "supported",
            join_ids(result.chain[result.chain["stage"] == "mining"]),
        ),
        (
            "Rare earths are separated on Australian soil today",
            f"{_num(aus_sep['today_tpa'].sum())} t/yr of separation located in Australia produces today; Lynas separates its ore in Malaysia.",
            "not supported today" if aus_sep["today_tpa"].sum() == 0 else "supported",
            join_ids(projects[(projects["country"] == "Australia") & projects["stages"].str.contains("separation")]),
        ),
        (
            "Japan brings refining technology and capacity",
            "Japanese separation capacity in the data: "
            + ("a tonnage is recorded" if japan_known else "listed plants but no separation tonnage (not found in the sources)"),
            "partly supported" if not japan_known else "supported",
            join_ids(japan_sep),
        ),
        (
            "The United States brings the market and the money",
            f"US public money for rare-earth projects, counted as in the money table: US${_num(round_sig(us_money))} million"
            f" (US${_num(round_sig(us_recorded))} million as recorded, before {_money_basis(result.params)}); alliance NdPr demand today is"
            f" {_num(f['ndpr_demand_today_low_t'])}–{_num(f['ndpr_demand_today_high_t'])} t (low to high estimate).",
            "supported (money); demand uncertain",
            join_ids(result.public_money[result.public_money["funder"] == "United States"]),
        ),
        (
            "A trilateral rare-earth refinery in Australia",
            f"Projects owned by two or more alliance members: {len(trilateral)}, of which rare-earth projects: {len(tri_ree)}.",
            "not supported" if tri_ree.empty else "partly supported",
            join_ids(trilateral) if not trilateral.empty else "",
        ),
    ]
    return pd.DataFrame(rows, columns=["Claim (Oct 2025 reporting)", "What the data show", "Verdict", "source_ids"])


SOURCE_GRADES = {"P": "primary", "S": "secondary", "L": "low"}
"""The data's one-letter source grades, in the words the appendix's source list uses."""


def grade_words(note: str) -> str:
    """A data note with its coded source grade in the appendix's words (``"L-grade summary"`` -> ``"low-grade summary"``)."""
    return re.sub(r"\b([PSL])-grade\b", lambda m: f"{SOURCE_GRADES[m.group(1)]}-grade", note)


def japan_trade_table(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """China's share of Japan's rare-earth imports as each source reports it (sources disagree: all shown, with notes)."""
    trade = tables["trade_exposure"]
    # every source's figure, not only the default row per year: the sources disagree and the table shows them all
    japan = trade[(trade["importer"] == "japan") & (trade["partner"] == "China")].sort_values("year_end", kind="stable")
    marks = japan.get("share_qualifier", pd.Series("eq", index=japan.index))
    return pd.DataFrame(
        {
            "Period": japan["period"],
            "China's share of Japan's rare-earth imports": [
                f"{QUALIFIER_WORDS.get(str(q), '')}{pct(v)}" for q, v in zip(marks, japan["share"], strict=True)
            ],
            "Basis": japan["basis"] if "basis" in japan.columns else "",
            "Note": japan["note"].fillna("").astype(str).str.replace(r"\s*\[[A-Z]+\d+[a-z]?\]", "", regex=True).map(grade_words)
            if "note" in japan.columns
            else "",
            "source_ids": japan["source_ids"],
        }
    ).reset_index(drop=True)
