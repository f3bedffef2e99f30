"""Check what the audit log vouches for: each handover row against its events, and the totals
against the handover rows.

Every event that writes a handover carries the *seal* of the row it left
(:func:`wasteflow.services.audit.seal`). A row whose seal today differs from its newest
event's was changed behind the application's back; a sealed code with no row was deleted; a
row with no sealed event was never recorded through it. The totals the reports read are then
summed again from the rows, per day, month and year, and each cell that differs is named.

Both checks read in pages of a bounded size, so they run in constant memory over any log.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.db import core
from wasteflow.models import AuditEvent, Handover
from wasteflow.services import period_data
from wasteflow.services.audit import SEALED_COLUMNS, seal
from wasteflow.types import WITHDRAWN

PAGE = 5_000
# Findings listed in full per check; beyond this only counted (one edit of a totals table can
# touch thousands of cells, and the first ones are enough to act on).
MAX_LISTED = 20


@dataclass(frozen=True)
class Finding:
    """One thing the verifier found wrong, named so a person can go and look."""

    check: str  # "handover" or "totals"
    subject: str  # a handover code, or a totals table and its key
    reason: str


@dataclass
class RecordsReport:
    handovers: int = 0
    total_cells: int = 0
    problems: int = 0

    def __post_init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, finding: Finding) -> None:
        self.problems += 1
        if len(self.findings) < MAX_LISTED:
            self.findings.append(finding)


# --- handover rows against their events ------------------------------------------------------


def _row_pages(session: Session) -> Iterator[list[dict[str, Any]]]:
    """Every handover row, as the seal reads it, in pages ordered by code."""
    table = Handover.__table__  # type: ignore[attr-defined]
    columns = [table.c[name] for name in SEALED_COLUMNS]
    last = ""
    while True:
        got = core(
            session,
            sa.select(*columns).where(table.c.code > last).order_by(table.c.code).limit(PAGE),
        ).all()
        if not got:
            return
        page = [dict(zip(SEALED_COLUMNS, r, strict=True)) for r in got]
        yield page
        last = page[-1]["code"]


def _seals(session: Session, after: str, upto: str | None) -> dict[str, str | None]:
    """The newest event's seal of each handover code in (after, upto]; None where none of a
    code's events carries one."""
    seal_of = AuditEvent.after["seal"].as_string()  # type: ignore[index]
    query = sa.select(col(AuditEvent.entity_id), seal_of).where(
        col(AuditEvent.entity) == "handover", col(AuditEvent.entity_id) > after
    )
    if upto is not None:
        query = query.where(col(AuditEvent.entity_id) <= upto)
    out: dict[str, str | None] = {}
    for code, value in session.execute(query.order_by(col(AuditEvent.id))):
        if value is not None or code not in out:
            out[code] = value
    return out


def check_handovers(session: Session, report: RecordsReport) -> None:
    """Compare each handover row with the seal its newest event carries."""
    after = ""
    pages = _row_pages(session)
    page = next(pages, None)
    while True:
        upto = page[-1]["code"] if page else None
        seals = _seals(session, after, upto)
        for row in page or ():
            report.handovers += 1
            code = row["code"]
            recorded = seals.pop(code, None)
            if recorded is None:
                report.add(Finding("handover", code, "has no audit event that seals its row"))
            elif recorded != seal(row):
                report.add(
                    Finding(
                        "handover",
                        code,
                        "its stored row differs from the one its last audit event sealed "
                        "(edited outside the application)",
                    )
                )
        for code in sorted(seals):
            if seals[code] is not None:
                report.add(Finding("handover", code, "has audit events but no row (deleted)"))
        if page is None:
            return
        after = upto or after
        page = next(pages, None)


# --- totals against the rows -----------------------------------------------------------------


def _month(day: date) -> date:
    return day.replace(day=1)


def _year(day: date) -> date:
    return day.replace(month=1, day=1)


_ROLL: dict[period_data.Grain, Callable[[date], date]] = {
    "day": lambda d: d,
    "month": _month,
    "year": _year,
}


def _raw_by_day(session: Session, family: period_data.Family) -> dict[tuple[Any, ...], list[int]]:
    """The family's totals summed again from the live handover rows, per day and key."""
    sums = family.raw_sums()
    out: dict[tuple[Any, ...], list[int]] = {}
    query = (
        sa.select(col(Handover.day), *sums.keys, sa.func.count(), *sums.values)
        .where(col(Handover.status).not_in(WITHDRAWN), sums.where)
        .group_by(col(Handover.day), *sums.keys)
    )
    n = len(sums.keys)
    for day, *rest in core(session, query):
        out[(day, *rest[:n])] = [int(v or 0) for v in rest[n:]]
    return out


def _stored(
    session: Session, family: period_data.Family, grain: period_data.Grain
) -> Iterator[tuple[Any, ...]]:
    table, when = family.table(grain)
    names: Sequence[str] = family.values
    columns = [getattr(table, k) for k in family.keys] + [getattr(table, v) for v in names]
    yield from core(session, sa.select(when, *columns))


def _rolled(
    daily: dict[tuple[Any, ...], list[int]], roll: Callable[[date], date], width: int
) -> dict[tuple[Any, ...], list[int]]:
    """Daily sums added up per month or year (``roll`` maps a day to its first day)."""
    out: dict[tuple[Any, ...], list[int]] = {}
    for (day, *key), values in daily.items():
        cell = out.setdefault((roll(day), *key), [0] * width)
        for i, v in enumerate(values):
            cell[i] += v
    return out


def check_totals(session: Session, report: RecordsReport) -> None:
    """Each totals cell (day, month, year) against the same sums taken from the rows."""
    for family in period_data.FAMILIES:
        daily = _raw_by_day(session, family)
        n = len(family.keys)
        for grain, roll in _ROLL.items():
            expected = _rolled(daily, roll, len(family.values))
            table = family.tables[grain].__tablename__
            name = functools.partial(_name, table)
            for stored in _stored(session, family, grain):
                report.total_cells += 1
                key, values = tuple(stored[: n + 1]), [int(v or 0) for v in stored[n + 1 :]]
                want = expected.pop(key, None)
                if want is None:
                    if any(values):
                        report.add(
                            Finding("totals", _name(table, key), "has no handovers behind it")
                        )
                elif want != values:
                    diff = ", ".join(
                        f"{column} {got} ≠ {exp}"
                        for column, got, exp in zip(family.values, values, want, strict=True)
                        if got != exp
                    )
                    report.add(
                        Finding("totals", _name(table, key), f"differs from its rows: {diff}")
                    )
            for key, want in expected.items():
                if any(want):
                    report.add(Finding("totals", name(key), "is missing though its rows are not"))


def _name(table: str, key: tuple[Any, ...]) -> str:
    when, *rest = key
    return f"{table} {when.isoformat()} {'/'.join(str(k) for k in rest)}"


def check_records(session: Session) -> RecordsReport:
    """Both checks, in constant memory for the rows (the totals check holds one family's daily
    sums at a time)."""
    report = RecordsReport()
    check_handovers(session, report)
    check_totals(session, report)
    return report
