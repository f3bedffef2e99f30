"""Which days the demo covers: the last full year and the current one up to yesterday, or
one chosen year; and what a year still running has declared so far."""

from __future__ import annotations

from datetime import date

import pytest

from wasteflow.demo import demo_years
from wasteflow.demo.year import Year
from wasteflow.errors import Invalid


def spans(years: list[Year]) -> list[tuple[int, date]]:
    return [(y.year, y.end) for y in years]


def test_by_default_the_last_full_year_and_this_year_up_to_yesterday() -> None:
    years = demo_years(today=date(2026, 12, 7))
    assert spans(years) == [(2025, date(2025, 12, 31)), (2026, date(2026, 12, 6))]
    assert years[0].complete and not years[1].complete
    # On 1 January this year has no past day yet: the demo is last year alone.
    assert spans(demo_years(today=date(2027, 1, 1))) == [(2026, date(2026, 12, 31))]
    assert spans(demo_years(today=date(2027, 1, 2))) == [
        (2026, date(2026, 12, 31)),
        (2027, date(2027, 1, 1)),
    ]


def test_a_chosen_year_alone_whole_once_over_up_to_yesterday_while_it_runs() -> None:
    assert spans(demo_years(2025, today=date(2026, 12, 7))) == [(2025, date(2025, 12, 31))]
    assert spans(demo_years(2026, today=date(2026, 12, 7))) == [(2026, date(2026, 12, 6))]
    for year, today in ((2027, date(2026, 12, 7)), (2027, date(2027, 1, 1))):
        with pytest.raises(Invalid) as refused:
            demo_years(year, today=today)
        assert refused.value.field == "year" and str(year) in refused.value.detail


def test_a_running_year_declares_what_has_happened_so_far() -> None:
    whole = Year(2025, date(2025, 12, 31))
    assert whole.elapsed == 1 and whole.film_used_share() == 1
    # 2026-03-31: 90 of 365 days; film goes on the fields 1 March – 31 May (92 days).
    march = Year(2026, date(2026, 3, 31))
    assert march.elapsed == pytest.approx(90 / 365)
    assert march.film_used_share() == pytest.approx(31 / 92)
    assert Year(2026, date(2026, 2, 10)).film_used_share() == 0
    assert Year(2026, date(2026, 7, 1)).film_used_share() == 1
    assert Year(2024, date(2024, 12, 31)).elapsed == 1  # a leap year: 366 of 366
