"""Reader-facing tables and figure frames of the refining-timeline briefing, built from its results.

The notebook shows these; nothing here computes a model result, it only arranges and labels what
:func:`rare_earth_lib.models.timeline.briefing_results` returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib import domain
from rare_earth_lib.models import demand as demand_model
from rare_earth_lib.models import timeline as tl
from rare_earth_lib.models.buildout import MODEL_ESTIMATE
from rare_earth_lib.report.labels import display_name
from rare_earth_lib.report.text.timeline import share_text

PRODUCT_LABEL = {"ndpr_oxide": "NdPr oxide", "dytb_oxide": "Dy+Tb oxide"}


def _year(value: Any, horizon: int) -> str:
    return tl.year_text(None if pd.isna(value) else int(value), horizon)


def coverage_distribution(results: Any) -> pd.DataFrame:
    """Share of trials first covering the threshold in each year (and never), both products."""
    run, today = results.run, results.today
    return pd.concat(
        [tl.coverage_distribution(run.result, p, today).assign(product=PRODUCT_LABEL[p]) for p in tl.PRODUCTS], ignore_index=True
    )


def threshold_frame(results: Any, params: Any) -> pd.DataFrame:
    """The coverage year for 25%, 50%, 75% and 100% of demand, from the same simulation."""
    horizon, by_year = params.horizon_year, params.probability_by_year
    rows = pd.concat(
        [
            tl.coverage_by_threshold(results.run.result, p, (0.25, 0.5, 0.75, 1.0), by_year).assign(product=PRODUCT_LABEL[p])
            for p in tl.PRODUCTS
        ],
        ignore_index=True,
    )
    forecast = by_year > results.today.year
    return pd.DataFrame(
        {
            "Product": rows["product"],
            "Share of demand": rows["threshold"].map("{:.0%}".format),
            f"Never by {horizon}": rows["share_never"].map(share_text),
            "P10": rows["p10"].map(lambda v: _year(v, horizon)),
            "P50": rows["p50"].map(lambda v: _year(v, horizon)),
            "P90": rows["p90"].map(lambda v: _year(v, horizon)),
            f"P(by {by_year})": rows["prob_by_year"].map(share_text) if forecast else "not a forecast (year under way or past)",
        }
    )


def pipeline_counts(pipeline: pd.DataFrame) -> dict[str, int]:
    """Counts the pipeline paragraph states: plants, producing, capacity estimated, target missed by the data date,
    target come by the build date with its outcome after the data date."""
    notes = pipeline["capacity_basis_note"]
    return {
        "plants": len(pipeline),
        "producing": int(pipeline["status"].isin(["operating", "ramping"]).sum()),
        "estimated": int(notes.str.startswith(MODEL_ESTIMATE).sum()),
        "target_passed": int(pipeline["target_passed"].sum()),
        "target_after_data": int(pipeline["target_after_data"].sum()) if "target_after_data" in pipeline else 0,
    }


def project_frame(pipeline: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, str]:
    """The projects table and the note listing how each estimated capacity was obtained."""
    target_text = tl.format_decimal_year(pipeline["target_first_output_year"])
    after_data = pipeline["target_after_data"] if "target_after_data" in pipeline else np.zeros(len(pipeline), dtype=bool)
    mark = np.where(
        pipeline["target_passed"],
        " (missed by the data date)",
        np.where(after_data, " (its stated period ran past the data date; outcome unknown)", ""),
    )
    # A plant with no first-output target of its own shows its plan (the model's latest public date falls back to it).
    word = np.where(pipeline["target_first_output_year"] == pipeline["planned_first_output_year"], "planned ", "target ")
    first_output = tl.format_decimal_year(pipeline["actual_first_output_year"]).fillna((word + target_text + mark).fillna("none public"))
    frame = pd.DataFrame(
        {
            "Project": pipeline["label"],
            "Counts for": pipeline["counts_for"],
            "Status": pipeline["status"].map(display_name),
            "NdPr oxide t/yr": pipeline["ndpr_oxide_tpa"].where(pipeline["ndpr_oxide_tpa"] > 0),
            "Dy+Tb oxide t/yr": pipeline["dytb_oxide_tpa"].where(pipeline["dytb_oxide_tpa"] > 0),
            "Capacity": np.select(
                [pipeline["capacity_basis_note"].str.startswith("stated"), pipeline["capacity_basis_note"].str.startswith(MODEL_ESTIMATE)],
                ["stated", MODEL_ESTIMATE],
                "estimate",
            ),
            "Planned": tl.format_decimal_year(pipeline["planned_first_output_year"]),
            "First output": first_output,
            "Simulated P50 (all trials)": tl.format_decimal_year(pipeline["sim_first_output_p50_year"]).fillna(f"not built by {horizon}"),
            "Built by horizon": pipeline["share_built"].map(share_text),
            "P(built)": pipeline["completion_probability"].map("{:.0%}".format),
            "Capex (own currency, million)": pipeline["capex"],
            "Public US$m": pipeline["public_funding_musd"].map(lambda v: f"{v:,.0f}" if v == v and v > 0 else "—"),
        }
    )
    rules = "; ".join(
        f"{row.label}: {row.capacity_basis_note}" for row in pipeline.itertuples() if not row.capacity_basis_note.startswith("stated")
    )
    return frame, rules or "none"


def capacity_frame(results: Any, product: str) -> pd.DataFrame:
    """Capacity percentiles by year with the as-announced path, for one product's fan chart."""
    announced = results.announced
    return tl.capacity_percentiles(results.run.result, product).merge(
        announced[announced["product"] == product][["year", "capacity_tpa"]].rename(columns={"capacity_tpa": "announced_tpa"}), on="year"
    )


def analog_frame(results: Any, as_of: Any) -> pd.DataFrame:
    """Past builds with their slips and hindcast windows, for the dumbbell chart."""
    hindcast = results.hindcast[["analog_id", "predicted_p10_year", "predicted_p50_year", "predicted_p90_year", "outcome"]]
    view = tl.analog_table(results.run.slips, as_of).merge(hindcast.rename(columns={"outcome": "hindcast"}), on="analog_id")
    return view.assign(
        planned=tl.format_decimal_year(view["planned_year"]),
        result=tl.format_decimal_year(view["outcome_year"]),
        slip=view["slip_years"].map("{:.1f} years".format) + np.where(view["censored"], " so far", ""),
        window=tl.format_decimal_year(view["predicted_p10_year"]) + " to " + tl.format_decimal_year(view["predicted_p90_year"]),
    )


def hindcast_frame(hindcast: pd.DataFrame) -> pd.DataFrame:
    """The leave-one-out hindcast table."""
    return pd.DataFrame(
        {
            "Build": hindcast["project"],
            "Decision": tl.format_decimal_year(hindcast["decision_year"]),
            "Planned": tl.format_decimal_year(hindcast["planned_year"]),
            "Actual": tl.format_decimal_year(hindcast["actual_year"]),
            "Hindcast P10": tl.format_decimal_year(hindcast["predicted_p10_year"]),
            "P50": tl.format_decimal_year(hindcast["predicted_p50_year"]),
            "P90": tl.format_decimal_year(hindcast["predicted_p90_year"]),
            "Outcome": hindcast["outcome"],
        }
    )


def sobol_frame(sobol: Any) -> pd.DataFrame:
    """Sobol indices as a reader table: one row per input, first-order and total index per output (with the
    bootstrap half-width), the range explored."""
    idx = sobol.indices
    out = idx.drop_duplicates("input")[["input", "label", "low", "high", "distribution"]].set_index("input")
    table = pd.DataFrame({"Input": out["label"], "Range explored": out["low"].map("{:g}".format) + " to " + out["high"].map("{:g}".format)})

    def fmt(v: float, c: float) -> str:
        # one decimal: at the base sample sizes used the bootstrap half-width is a tenth or more; an estimate
        # below zero is sampling noise around an index that cannot be negative, shown as 0.0
        return "—" if not np.isfinite(v) else f"{max(v, 0.0):.1f} ± {c:.1f}"

    for output, rows in idx.groupby("output", sort=False):
        rows = rows.set_index("input")
        name = rows["output_label"].iloc[0]
        low, high = getattr(sobol, "output_range", {}).get(output, (0.0, 1.0))
        constant = low == high  # the output takes one value over every sampled point: no index exists, a dash
        table[f"{name}: first order"] = ["—" if constant else fmt(rows.at[i, "S1"], rows.at[i, "S1_conf"]) for i in out.index]
        table[f"{name}: total"] = ["—" if constant else fmt(rows.at[i, "ST"], rows.at[i, "ST_conf"]) for i in out.index]
    return table.reset_index(drop=True)


def demand_frame(results: Any, params: Any, demand: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demand table by region (anchors, values in the first simulated year and the probability year) and
    the anchors behind it (for its sources)."""
    run, by_year = results.run, params.probability_by_year
    anchors = pd.concat(
        [demand_model.demand_anchors(demand, p, anchor_rule=params.demand_anchor_rule) for p in tl.PRODUCTS], ignore_index=True
    )
    regional = run.demand_by_region
    start_values = regional[regional["year"] == params.start_year].set_index(["region", "product"])["tonnes"]
    by_values = regional[regional["year"] == by_year].set_index(["region", "product"])["tonnes"]
    keys = list(zip(anchors["region"], anchors["product"], strict=True))
    frame = pd.DataFrame(
        {
            "Region": anchors["region"].map(domain.REGION_NAMES),
            "Product": anchors["product"].map(PRODUCT_LABEL),
            "Anchor year": anchors["anchor_year"].map(lambda v: "-" if pd.isna(v) else str(int(v))),
            "Anchor t": anchors["anchor_tonnes"],
            "Kind": anchors["anchor_kind"],
            f"Estimate {params.start_year} t": [start_values[k] for k in keys],
            f"Estimate {by_year} t": [by_values[k] for k in keys],
            "How the anchor was obtained": anchors["method"],
        }
    )
    return frame, anchors


def demand_check_sentence(demand: pd.DataFrame, params: Any, ref: str) -> str:
    """The demand estimate checked against independent figures: the US NdPr estimate back-cast against US
    apparent consumption, and the alliance NdPr estimate against the world proxy ("" when neither exists)."""
    history = demand_model.scenario_demand(demand, range(params.start_year - 10, params.start_year), params)
    cross = demand_model.demand_cross_check(demand, history)
    us_check = cross[(cross["check"].str.startswith("US")) & (cross["product"] == "ndpr_oxide")].sort_values("year")
    world_check = cross[(cross["check"] == "alliance share of world") & (cross["product"] == "ndpr_oxide")].sort_values("year")
    text = ""
    if len(us_check):
        recent = us_check.tail(2)
        verdict = (
            "more than the US used of all rare earths together, so the company-claim anchor looks high"
            if (recent["ratio"] > 1).all()
            else "less than the US used of all rare earths together, of which NdPr is one part, so this check does not contradict it"
            if (recent["ratio"] <= 1).all()
            else "on either side of what the US used of all rare earths together, so this check neither confirms nor contradicts it"
        )
        text += (
            "As a check against independent figures, the US NdPr estimate back-cast to "
            + ", ".join(f"{int(r.year)} is {r.ratio:.1f} times" for r in recent.itertuples())
            + f" US apparent consumption of all rare earths in those years (USGS; the last is a USGS estimate): {verdict}; the "
            f"sensitivity's lowest-figure anchor and demand scale explore a smaller demand ({ref})."
        )
    if len(world_check):
        text += (
            f" The alliance NdPr estimate for {int(world_check['year'].iloc[-1])} is {world_check['ratio'].iloc[-1]:.0%} of the "
            "world NdPr proxy (China's oxide output run-rate)."
        )
    return text.strip()


def scenario_method_sentences(params: Any) -> str:
    """The scenario's own switches in the methods (US policy reversal, faster decisions), or ""."""
    parts = []
    if params.us_funding_withdrawn:
        parts.append(
            f"US policy reversal: from {params.us_withdrawal_year}, each US-funded plant not yet producing stops with probability "
            f"{params.us_backed_stop_share:.0%}, or slips another {params.us_backed_extra_slip_years:g} year(s)."
        )
    if params.decision_speedup_years:
        parts.append(
            f"Faster decisions bring first output of FID, feasibility and pre-FID plants forward by {params.decision_speedup_years:g} year(s)."
        )
    return " ".join(parts)


def methods_values(results: Any, params: Any, tables: dict[str, pd.DataFrame], ref: str) -> dict[str, str]:
    """Display strings for the methods appendix, each named, so the appendix's sentences live in markdown.

    Args:
        results: :func:`rare_earth_lib.models.timeline.briefing_results` output.
        params: the validated parameter model.
        tables: ``projects``, ``build_analogs``, ``demand``.
        ref: "Figure N" of the tornado (named by the demand check).
    """
    from rare_earth_lib.models import buildout
    from rare_earth_lib.models.timeline.calibration import TARGET_COVERAGE

    run, fit, sobol = results.run, results.run.slip_fit, results.sobol
    q10, q50, q90 = fit.quantile([0.1, 0.5, 0.9])
    analog_util = buildout.analog_first_year_utilisation(tables["build_analogs"])["first_year_utilisation"].mean()
    n_inputs = int(sobol.indices["input"].nunique())
    return {
        "n_observed": str(fit.n_observed),
        "n_censored": str(fit.n_censored),
        # builds not producing whose planned date had not come by the data date: no slip yet, left out of the fit
        "n_not_due": str(int(run.slips["censored"].astype(bool).sum()) - fit.n_censored),
        "offset": f"{fit.offset_years:g}",
        "mu": f"{fit.mu:.2f}",
        "sigma_plain": f"{fit.sigma / run.spread_factor:.2f}",
        "spread": f"{run.spread_factor:g}",
        "sigma": f"{fit.sigma:.2f}",
        "target": f"{TARGET_COVERAGE:.0%}",
        "slip_p10": f"{q10:.1f}",
        "slip_p50": f"{q50:.1f}",
        "slip_p90": f"{q90:.1f}",
        "slip_multiplier": f"{params.slip_multiplier:g}",
        "min_build": f"{params.min_build_years_undecided:g}",
        "first_year_util": f"{params.first_year_utilisation:.0%}",
        "analog_util": f"{analog_util:.0%}",
        "mature_util": f"{params.mature_utilisation:.0%}",
        "years_to_nameplate": f"{params.years_to_nameplate:g}",
        "completion": ", ".join(f"{display_name(k).lower()} {v:.0%}" for k, v in params.completion_probabilities().items()),
        "scenario": scenario_method_sentences(params),
        "n_trials": f"{params.n_trials:,}",
        "seed": str(params.seed),
        "anchor_rule": params.demand_anchor_rule,
        "ndpr_growth": f"{params.ndpr_demand_growth_rate:.1%}",
        "dytb_growth": f"{params.dytb_demand_growth_rate:.1%}",
        "break_year": str(params.demand_growth_break_year),
        "long_growth": f"{params.long_run_demand_growth_rate:.1%}",
        "demand_scale": f"{params.demand_scale:g}",
        "demand_sigma": f"{params.demand_uncertainty_sigma:g}",
        "demand_check": demand_check_sentence(tables["demand"], params, ref),
        "sobol_inputs": str(n_inputs),
        "sobol_n_base": str(sobol.n_base),
        "sobol_evaluations": f"{sobol.n_evaluations:,}",
        "sobol_trials": f"{sobol.n_trials:,}",
        "sobol_trial_total": f"{sobol.n_evaluations * sobol.n_trials:,}",
        "sobol_overflow": str(params.horizon_year + 1),
    }


def mature_sentence(projects: pd.DataFrame, params: Any, as_of: Any) -> str:
    """Mature utilisation as the parameter it is, and the evidence on it in the data package (:func:`tl.mature_evidence`)."""
    evidence = tl.mature_evidence(projects, params, as_of)
    text = f"Mature output is {params.mature_utilisation:.0%} of nameplate, a parameter (its basis is in the parameter appendix)"
    if evidence.empty:
        return text + "; no plant in the data is past its ramp-up with both a stated nameplate and a whole year's output."
    parts = [
        f"{row.project} made {row.observed_tpa:,.0f} t in its latest whole year against {row.nameplate_tpa:,.0f} t/yr of nameplate"
        f" ({row.utilisation:.1%}; {row.source_ids.replace(';', ', ')})"
        for row in evidence.itertuples()
    ]
    which = "the one plant" if len(parts) == 1 else "the plants"
    return f"{text}; in the data, {which} outside China past the ramp-up with a stated nameplate and a whole year's output: {'; '.join(parts)}."
