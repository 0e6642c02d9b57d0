"""Labels inside sentences: ordinary words lose their capital, symbols and abbreviations keep theirs."""

import pytest

from rare_earth_lib.report.labels import in_sentence


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Demand scale", "demand scale"),
        ("Slip multiplier", "slip multiplier"),
        ("Dy+Tb demand growth", "Dy+Tb demand growth"),
        ("NdPr demand growth", "NdPr demand growth"),
        ("P(built) at feasibility", "P(built) at feasibility"),
        ("US funding", "US funding"),
        ("A", "a"),
    ],
)
def test_a_label_inside_a_sentence_keeps_only_the_capitals_of_symbols(label: str, expected: str) -> None:
    assert in_sentence(label) == expected


def test_the_index_names_explored_inputs_and_lists_of_them_by_their_labels() -> None:
    """A text metric holding ids (``strongest_input``, the ";"-joined ``prim_box1_inputs``) reads by the inputs' labels,
    which come from their one definition, the exploration space."""
    from rare_earth_lib.build.formatting import format_value
    from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE
    from rare_earth_lib.report.labels import display_name

    assert display_name("demand_scale") == EXPLORATION_SPACE["demand_scale"].label == "Demand scale"
    assert format_value("strongest_input", "slip_multiplier") == "Slip multiplier"
    assert format_value("prim_box1_inputs", "demand_scale;dytb_demand_growth_rate") == "Demand scale, Dy+Tb demand growth"
    assert format_value("controls_regime", "suspension_extended") == "Suspension extended"
    assert format_value("scenario_seen", "base") == "base", "a text that is no id stays as it is"
