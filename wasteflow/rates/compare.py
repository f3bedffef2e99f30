"""Comparisons officials read beside a figure: the same period a year before (同比), the
period just before (环比), and ranks among townships (排名). Pure: periods and numbers in,
numbers out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wasteflow.rates.periods import Period, parse_period

# A rate above this is bad data (more recovered than used), not a success.
OVER_FULL = 1 + 1e-9


def _shift(label: str, years: int) -> str:
    return f"{int(label[:4]) + years:04d}{label[4:]}"


def previous_year(p: Period) -> Period:
    """The same period one year earlier: ``2025-03`` → ``2024-03``, ``2025..2025-06`` →
    ``2024..2024-06``."""
    if ".." in p.label:
        first, _, last = p.label.partition("..")
        return parse_period(f"{_shift(first, -1)}..{_shift(last, -1)}")
    return parse_period(_shift(p.label, -1))


def preceding(p: Period) -> Period | None:
    """The period just before, of the same kind: the month before a month, the quarter before
    a quarter. None for a year (the year before is the year-on-year) and for a range."""
    label = p.label
    if ".." in label or len(label) == 4:
        return None
    year = int(label[:4])
    if label[5] == "Q":
        q = int(label[6])
        return parse_period(f"{year}-Q{q - 1}" if q > 1 else f"{year - 1}-Q4")
    month = int(label[5:])
    return parse_period(f"{year}-{month - 1:02d}" if month > 1 else f"{year - 1}-12")


def over_full(figure: Mapping[str, Any]) -> bool:
    """The rate passes 100 %: the records or declarations need checking."""
    rate = figure.get("rate")
    return rate is not None and rate > OVER_FULL


def change(current: float | None, before: float | None) -> tuple[float | None, float | None]:
    """The difference ``current − before`` and its ratio to ``before`` (None where either is
    missing; the ratio also where ``before`` is 0). Rounded to 6 places, as rates are."""
    if current is None or before is None:
        return None, None
    diff = current - before
    return round(diff, 6), (round(diff / before, 6) if before else None)


def competition_ranks(
    values: Mapping[str, float | None], higher_is_better: bool = True
) -> dict[str, int | None]:
    """Rank keys by value, ties sharing a rank and the next rank skipping (1, 2, 2, 4), as
    league tables do. A key without a value has no rank."""
    ranked = sorted(
        ((v, k) for k, v in values.items() if v is not None),
        key=lambda vk: -vk[0] if higher_is_better else vk[0],
    )
    out: dict[str, int | None] = dict.fromkeys(values)
    previous: float | None = None
    rank = 0
    for n, (v, k) in enumerate(ranked, start=1):
        if previous is None or abs(v - previous) > 1e-12:
            rank, previous = n, v
        out[k] = rank
    return out
