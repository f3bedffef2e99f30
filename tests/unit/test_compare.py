"""The comparison helpers: which periods a figure is compared with, and league-table ranks."""

from __future__ import annotations

from wasteflow.rates import parse_period
from wasteflow.rates.compare import change, competition_ranks, preceding, previous_year


def test_the_year_before_and_the_period_before() -> None:
    assert previous_year(parse_period("2025")).label == "2024"
    assert previous_year(parse_period("2025-Q1")).label == "2024-Q1"
    assert previous_year(parse_period("2025-02")).end.day == 29  # a leap February
    assert previous_year(parse_period("2025..2025-06")).label == "2024..2024-06"
    assert preceding(parse_period("2025-01")).label == "2024-12"  # type: ignore[union-attr]
    assert preceding(parse_period("2025-07")).label == "2025-06"  # type: ignore[union-attr]
    assert preceding(parse_period("2025-Q1")).label == "2024-Q4"  # type: ignore[union-attr]
    assert preceding(parse_period("2025")) is None  # the year before is the year-on-year
    assert preceding(parse_period("2025..2025-06")) is None


def test_ranks_share_ties_and_skip_after_them() -> None:
    ranks = competition_ranks({"a": 0.9, "b": 0.95, "c": 0.9, "d": 0.5, "e": None})
    assert ranks == {"a": 2, "b": 1, "c": 2, "d": 4, "e": None}
    # Where lower is better (raw landfill), the smallest is first.
    assert competition_ranks({"a": 0.1, "b": 0.0}, higher_is_better=False) == {"a": 2, "b": 1}


def test_change_is_none_without_both_values() -> None:
    assert change(0.75, 0.5) == (0.25, 0.5)
    assert change(0.75, None) == (None, None)
    assert change(10.0, 0.0) == (10.0, None)
