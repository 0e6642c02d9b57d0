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
