"""Report periods: a year, a quarter, a month, or a range of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from wasteflow.errors import Invalid


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # inclusive

    @property
    def year(self) -> int:
        return self.start.year

    def months(self) -> list[Period]:
        out, d = [], self.start.replace(day=1)
        while d <= self.end:
            out.append(parse_period(f"{d:%Y-%m}"))
            d = (d + timedelta(days=32)).replace(day=1)
        return out


def parse_period(text: str) -> Period:
    """``2025`` (a year), ``2025-Q2`` (a quarter), ``2025-03`` (a month), or a range of them,
    ``2025..2025-06`` (from the start of the first to the end of the second)."""
    if ".." in text:
        first, _, last = text.partition("..")
        a, b = parse_period(first), parse_period(last)
        if b.end < a.start:
            raise Invalid(f"period: {text!r} ends before it starts", field="period")
        return Period(f"{a.label}..{b.label}", a.start, b.end)
    t = text.strip().upper()
    try:
        if len(t) == 4 and t.isdigit():
            y = int(t)
            return Period(t, date(y, 1, 1), date(y, 12, 31))
        if len(t) == 7 and t[4:6] == "-Q" and t[6] in "1234":
            y, q = int(t[:4]), int(t[6])
            start = date(y, 3 * q - 2, 1)
            end = (date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)) - timedelta(days=1)
            return Period(t, start, end)
        if len(t) == 7 and t[4] == "-":
            y, m = int(t[:4]), int(t[5:])
            start = date(y, m, 1)
            end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            return Period(t, start, end)
    except ValueError:
        pass
    raise Invalid(
        f"period: {text!r} is not a year (2025), quarter (2025-Q2) or month (2025-03)",
        field="period",
    )
