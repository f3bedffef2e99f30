"""Pure declaration rules: periods, pro-rating by days, and error locations of the union."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from wasteflow.errors import Invalid
from wasteflow.estimates import collectable_straw
from wasteflow.schemas_declarations import DeclarationCreate, unwrap_kind_errors
from wasteflow.services.declarations import (
    check_period,
    one_year_after,
    overlap_share,
    prorate_g,
)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2024, 1, 1), date(2024, 12, 31)),  # a leap calendar year
        (date(2023, 7, 1), date(2024, 6, 30)),
        (date(2024, 2, 29), date(2025, 2, 28)),
        (date(2024, 5, 5), date(2024, 5, 5)),  # one day
    ],
)
def test_periods_up_to_a_year_are_accepted(start: date, end: date) -> None:
    check_period(start, end)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2024, 1, 2), date(2024, 1, 1)),
        (date(2024, 1, 1), date(2025, 1, 1)),
        (date(2024, 2, 29), date(2025, 3, 1)),
    ],
)
def test_backwards_or_longer_than_a_year_is_refused(start: date, end: date) -> None:
    with pytest.raises(Invalid) as err:
        check_period(start, end)
    assert err.value.field == "period_end"


def test_one_year_after_a_leap_day_is_the_first_of_march() -> None:
    assert one_year_after(date(2024, 2, 29)) == date(2025, 3, 1)
    assert one_year_after(date(2023, 3, 1)) == date(2024, 3, 1)


@pytest.mark.parametrize(
    ("window", "share"),
    [
        ((date(2024, 1, 1), date(2024, 12, 31)), Fraction(1)),
        ((date(2023, 1, 1), date(2025, 12, 31)), Fraction(1)),
        ((date(2024, 1, 1), date(2024, 1, 31)), Fraction(31, 366)),
        ((date(2023, 12, 1), date(2024, 1, 1)), Fraction(1, 366)),
        ((date(2024, 12, 31), date(2025, 6, 30)), Fraction(1, 366)),
        ((date(2025, 1, 1), date(2025, 12, 31)), Fraction(0)),
        ((date(2023, 1, 1), date(2023, 12, 31)), Fraction(0)),
    ],
)
def test_overlap_share_counts_days_inclusively(window: tuple[date, date], share: Fraction) -> None:
    assert overlap_share(date(2024, 1, 1), date(2024, 12, 31), *window) == share


def test_shares_of_a_partition_of_the_year_sum_to_one() -> None:
    months = [(date(2024, m, 1), date(2024 + m // 12, m % 12 + 1, 1)) for m in range(1, 13)]
    windows = [(a, date.fromordinal(b.toordinal() - 1)) for a, b in months]
    shares = [overlap_share(date(2023, 7, 1), date(2024, 6, 30), *w) for w in windows]
    assert sum(shares) == Fraction(182, 366)  # Jan–Jun 2024 of a period of 366 days


def test_prorate_rounds_half_to_even_grams() -> None:
    assert prorate_g(3, Fraction(1, 2)) == 2  # 1.5 → 2
    assert prorate_g(5, Fraction(1, 2)) == 2  # 2.5 → 2
    assert prorate_g(366_000, Fraction(31, 366)) == 31_000


@given(
    mass=st.integers(min_value=-(10**15), max_value=10**15),
    num=st.integers(min_value=0, max_value=400),
    den=st.integers(min_value=1, max_value=400),
)
def test_prorate_is_exactly_rounding_the_product_half_to_even(
    mass: int, num: int, den: int
) -> None:
    share = Fraction(num, den)
    assert prorate_g(mass, share) == round(mass * share)


def test_an_estimate_lists_the_unverified_coefficients_it_used() -> None:
    coeffs = {
        ("maize", "straw_grain_ratio"): (1.15, False),
        ("maize", "collectable_coefficient"): (0.81, True),
        ("rice", "straw_grain_ratio"): (0.95, False),  # not used for maize
    }
    straw = collectable_straw(coeffs, "maize", 1000.0)
    assert straw.unverified == ("maize.straw_grain_ratio",)
    assert straw.detail()["unverified_coefficients"] == ["maize.straw_grain_ratio"]


_ADAPTER: TypeAdapter[object] = TypeAdapter(DeclarationCreate)
_BASE = {"region_code": "500156", "period_start": "2024-01-01", "period_end": "2024-12-31"}


def _fields(value: object) -> list[str]:
    with pytest.raises(ValidationError) as err:
        _ADAPTER.validate_python(value)
    # FastAPI prefixes body errors with "body"; the rewriting keys on that.
    errors = [{**e, "loc": ("body", *e["loc"])} for e in err.value.errors()]
    return [".".join(map(str, e["loc"][1:])) for e in unwrap_kind_errors(errors)]


def test_union_errors_name_the_field_not_the_member() -> None:
    film = _BASE | {"kind": "film_used", "material": "film.agri", "quantity_kg": 1}
    assert _fields(film | {"heads": 3}) == ["heads"]
    assert _fields(film | {"quantity_kg": "0.0001"}) == ["quantity_kg"]
    assert _fields({k: v for k, v in film.items() if k != "material"}) == ["material"]
    assert _fields(film | {"kind": "compost"}) == ["kind"]
    assert _fields({k: v for k, v in film.items() if k != "kind"}) == ["kind"]


def test_non_body_errors_are_left_alone() -> None:
    errors = [{"loc": ("query", "film_used"), "type": "x"}, {"loc": ("body",), "type": "y"}]
    assert unwrap_kind_errors(errors) == errors
