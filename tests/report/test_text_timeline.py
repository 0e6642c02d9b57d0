"""Key-judgment text of the refining-timeline briefing, tested directly (no notebook run)."""

from __future__ import annotations

from rare_earth_lib.report.text import timeline as timeline_text


def test_key_judgment_sentences():
    head = {
        "horizon_year": 2040,
        "coverage_threshold": 0.75,
        "ndpr_coverage_year_p10": 2029,
        "ndpr_coverage_year_p50": 2032,
        "ndpr_coverage_year_p90": None,
        "ndpr_share_never_reached": 0.25,
        "dytb_coverage_year_p10": None,
        "dytb_coverage_year_p50": None,
        "dytb_coverage_year_p90": None,
        "dytb_share_never_reached": 0.95,
        "ndpr_prob_by_2030": 0.2,
        "dytb_prob_by_2030": 0.0,
        "largest_driver": "Demand growth",
        "hindcast_coverage_rate": 0.6,
        "hindcast_n_inside": 3,
        "hindcast_n_decided": 5,
        "hindcast_n_open": 2,
    }
    refs = {"fan": "Figure 2", "coverage": "Figure 3", "tornado": "Figure 5", "hindcast": "Table 2"}
    text = timeline_text.key_judgment_sentences(head, refs, probability_by_year=2030)
    assert "in 2032 at the median (P10 2029, P50 2032, P90 not by 2040)" in text[0]
    assert "does not cover 75%" in text[1] and "95% of trials never reach it by 2040" in text[1]
    assert "20% for NdPr and 0% for Dy+Tb" in text[2]
    assert "is the demand growth (Figure 5)" in text[3]
    assert "3 of 5 decided outcomes (60%" in text[4]


def test_hindcast_text_reports_calibration_with_its_uncertainty_and_the_plain_fit():
    head = {
        "hindcast_n_inside": 4,
        "hindcast_n_decided": 5,
        "hindcast_n_open": 2,
        "hindcast_coverage_rate": 0.8,
        "hindcast_coverage_ci_low": 0.3426,
        "hindcast_coverage_ci_high": 0.9898,
        "slip_spread_calibrated": True,
        "slip_spread_factor": 1.7,
        "hindcast_coverage_rate_uncalibrated": 0.6,
    }
    cov = {"coverage_rate": 0.8, "n_total": 7, "n_decided": 5, "n_inside": 4, "n_early": 0, "n_late": 1, "n_open": 2}
    plain = {"NdPr oxide": {"p10": 2027, "p50": 2031, "p90": None, "horizon_year": 2045, "share_never": 0.3}}
    text = timeline_text.hindcast_paragraph(cov, head, plain)
    assert "widened x1.7" in text and "4 of 5 decided outcomes (80%; 90% interval 34%-99%" in text
    assert "the plain fit held 60%" in text
    assert "NdPr oxide P10 2027, P50 2031, P90 not by 2045, never by 2045 in 30% of trials" in text
    assert timeline_text.hindcast_paragraph({**cov, "coverage_rate": None}, head).startswith("Hindcast: none of the 7")
