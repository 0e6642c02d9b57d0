"""A share that is not total (or not nil) is never written 100% (or 0%), wherever a reader sees it; a year reads as a year.

China does 99.9% of heavy rare-earth separation (the data package's 2023 figure), not all of it: the prose, the
scorecard's basis sentences, the charts' text alternatives and the index's headline metrics all write shares through
:func:`rare_earth_lib.domain.percent`.
"""

from __future__ import annotations

import pytest

from rare_earth_lib.build import formatting
from rare_earth_lib.domain import percent
from rare_earth_lib.report import charts


@pytest.mark.parametrize(
    "share, digits, text",
    [
        (0.999, 0, "99.9%"),
        (0.9996, 0, "99.96%"),
        (0.99999, 0, "99.999%"),
        (1.0, 0, "100%"),
        (0.001, 0, "0.1%"),
        (0.00004, 0, "0.004%"),
        (0.0, 0, "0%"),
        (0.913, 0, "91%"),
        (0.9996, 1, "99.96%"),
        (None, 0, "n/a"),
        (float("nan"), 0, "n/a"),
    ],
)
def test_percent_adds_decimals_only_where_rounding_would_say_all_or_none(share, digits, text):
    assert percent(share, digits) == text


def test_the_index_writes_a_near_total_share_with_its_decimal():
    assert formatting.format_value("china_heavy_separation_share", 0.999) == "99.9%"
    assert formatting.format_value("china_heavy_separation_share", 1.0) == "100%"
    assert formatting.format_value("licence_exposure_share", 0.0004) == "0.04%"
    assert formatting.format_value("china_magnet_share", 0.94) == "94%"


def test_a_chart_text_alternative_writes_a_near_total_share_with_its_decimal():
    import altair as alt
    import pandas as pd

    data = pd.DataFrame({"region": ["China", "Alliance"], "share": [0.999, 0.001]})
    spec = alt.Chart(data).mark_bar().encode(x=alt.X("share:Q", title="Share", axis=alt.Axis(format="%")), y="region:N").to_dict()
    text = charts.describe(spec)
    assert "0.1% (Alliance)" in text and "99.9% (China)" in text and "100%" not in text


def test_the_scorecard_basis_sentence_writes_chinas_heavy_share_with_its_decimal(feasibility_on_the_package):
    assessment = feasibility_on_the_package.assessment
    share = assessment.figures["china_heavy_separation_share"]
    assert 0.995 <= share < 1, "the package's figure this test is about (99.9% in 2023)"
    sentence = assessment.scorecard.set_index("indicator").loc["nonchina_heavy_separation_share", "inputs"]
    assert sentence.startswith(f"China's heavy-separation share {percent(share)} [") and "100%" not in sentence


def test_a_chart_text_alternative_writes_years_as_years():
    """Years, whole or decimal (a first-output date), read as on the axis: 2013, not 2,013."""
    import altair as alt
    import pandas as pd

    data = pd.DataFrame({"plant": ["A", "B"], "first_output_year": [2013.4, 2031.0], "year": [2020, 2044], "tonnes": [2013.0, 12500.0]})
    first = alt.Chart(data).mark_point().encode(x=alt.X("first_output_year:Q", title="First output"), y="plant:N")
    whole = (
        alt.Chart(data).mark_point().encode(x=alt.X("year:Q", axis=alt.Axis(format="d"), title="When"), y=alt.Y("tonnes:Q", title="Tonnes"))
    )
    per_year = alt.Chart(data).mark_point().encode(x=alt.X("tonnes:Q", title="Capacity (t oxide per year)"), y="plant:N")
    text = charts.describe(first.to_dict()) + " " + charts.describe(whole.to_dict()) + " " + charts.describe(per_year.to_dict())
    assert "Capacity (t oxide per year): 2 values from 2,013 (A) to 12,500 (B)" in text, "a unit per year is not a year"
    assert "from 2013 (A) to 2031 (B)" in text and "from 2020 to 2044" in text, text
    assert "Tonnes: 2 values from 2,013 to 12,500" in text, "tonnes keep their thousands separator"


def test_a_layer_without_a_title_adds_no_sentence_on_an_axis_another_layer_titled():
    """Labels drawn beside bars share the bars' axis: the text alternative names the axis once, by its title, and
    never describes the labels' column as an unnamed "value" in thousands (the tornado's "from 2,026")."""
    import altair as alt
    import pandas as pd

    data = pd.DataFrame({"factor": ["A", "B"], "base_plot": [2030.0, 2030.0], "p50_plot": [2026.0, 2046.0], "setting": ["x0.5", "x2"]})
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(y="factor:N", x=alt.X("base_plot:Q", title="P50 coverage (year)", axis=alt.Axis(format="d")), x2="p50_plot:Q")
    )
    labels = alt.Chart().mark_text().encode(y="factor:N", x="p50_plot:Q", text="setting:N")
    rule = alt.Chart().mark_rule().encode(x="base_plot:Q")
    for layers in ((bars, labels, rule), (labels, rule, bars)):  # whichever layer comes first
        text = charts.describe(alt.layer(*layers, data=data).to_dict())
        assert text == "P50 coverage (year): 2 values from 2030 (A) to 2030 (A).", text
    alone = charts.describe(alt.Chart(data).mark_point().encode(x="p50_plot:Q", y="factor:N").to_dict())
    assert alone.startswith("value: 2 values from "), "with no titled layer beside it, the measure is still described"
