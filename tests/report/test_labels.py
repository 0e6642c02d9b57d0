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
