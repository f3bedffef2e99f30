"""Building the demo: which days it covers, and loading it in one transaction.

By default the demo holds the last full year and the current year up to today (its last
day is yesterday: today's loads are the visitor's to record), so a load recorded now lands
in a year the demo's figures already cover. ``year`` builds that year alone: the whole of it
once it is over, up to today while it runs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.bulk import bulk_insert, reset_sequence
from wasteflow.config import get_settings
from wasteflow.db import unit_of_work
from wasteflow.demo.data import DEFAULT_SEED, PLANTED, DemoReport
from wasteflow.demo.days import Days
from wasteflow.demo.district import District
from wasteflow.demo.sim import Sim
from wasteflow.demo.year import Year, declare_household_waste, drift, plan_year
from wasteflow.errors import Conflict, Invalid
from wasteflow.models import Declaration, Meta, Site
from wasteflow.services.audit import record_event
from wasteflow.services.checkpoints import write_checkpoint
from wasteflow.services.imports import import_handovers
from wasteflow.types import utcnow


def local_today() -> date:
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def demo_years(year: int | None = None, today: date | None = None) -> list[Year]:
    """The years the demo simulates, each with its last day.

    No ``year``: the last full year, then the current one up to the day before ``today``
    (on 1 January, the current year has no day yet and is left out). A ``year`` before this
    one: all of it; this year: up to yesterday; a later one is refused."""
    today = today or local_today()
    yesterday = today - timedelta(days=1)
    if year is None:
        years = [Year(today.year - 1, date(today.year - 1, 12, 31))]
        if yesterday.year == today.year:
            years.append(Year(today.year, yesterday))
        return years
    if year > today.year or (year == today.year and yesterday.year != year):
        raise Invalid(
            f"year: the demo simulates days that have passed; {year} has none yet", field="year"
        )
    return [Year(year, min(date(year, 12, 31), yesterday))]


def load_demo(
    *,
    session: Session,
    seed: int = DEFAULT_SEED,
    year: int | None = None,
    today: date | None = None,
) -> DemoReport:
    """Generate the synthetic district and load it in one transaction (bulk paths).

    ``today`` (default: the local date) is the day the demo is built as of: tests pin it so
    their figures do not move with the calendar."""
    started = datetime.now(UTC)
    years = demo_years(year, today)
    report = DemoReport(
        seed=seed, years=[y.year for y in years], first_day=years[0].start, last_day=years[-1].end
    )
    rng = random.Random(seed)
    tz = ZoneInfo(get_settings().timezone)
    with unit_of_work(session):
        if session.execute(sa.select(col(Site.id)).limit(1)).first():
            raise Conflict(
                "the demo loads only into a database with no sites yet: "
                "use `wasteflow demo --reset` or point WASTEFLOW_DATABASE_URL "
                "at a new database"
            )
        district = District(session, rng, Sim(rng, years[0].year, tz), report)
        district.build()
        days = Days(district, report.last_day)
        perf = district.perf
        digests: dict[str, str] = {}
        with _roomy_cache(session):
            for n, y in enumerate(years):
                if n:
                    perf = drift(perf, rng)
                plan_year(district, y, perf)
                days.run(y)
                declare_household_waste(district, y)
                # Each year's rows go in once it is run: memory holds one year, not all.
                digests[str(y.year)] = _insert_handovers(session, district, report)
            _insert_declarations(session, district, report)
        if years[0].complete:
            missing = set(PLANTED) - days.planted_by_year[years[0].year]
            assert not missing, f"planted anomalies not placed: {missing}"
        session.merge(
            Meta(
                key="dataset",
                value={
                    "synthetic": True,
                    "kind": "demo",
                    "seed": seed,
                    # The latest year: the dashboard's default period.
                    "year": report.year,
                    "years": report.years,
                    "first_day": report.first_day.isoformat(),
                    "last_day": report.last_day.isoformat(),
                    "label": "合成演示数据 synthetic demo data: not real records of 武隆区",
                    "generated_at": utcnow().isoformat(),
                    "planted_anomalies": PLANTED,
                },
            )
        )
        record_event(
            session,
            account_id=None,
            action="demo.load",
            entity="dataset",
            entity_id="demo",
            after={
                "seed": seed,
                "years": report.years,
                "last_day": report.last_day.isoformat(),
                "sites": report.sites,
                "handovers": report.handovers,
                "declarations": report.declarations,
                "rows_sha256": digests,
            },
        )
        write_checkpoint(session)  # the demo's chain is signed as it was loaded
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    return report


@contextmanager
def _roomy_cache(session: Session) -> Iterator[None]:
    """On SQLite, a page cache of 128 MiB while the rows go in (the default 2 MiB makes every
    index insert of a half-million-row load read its pages back from the file)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA cache_size=-131072")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")


def _insert_handovers(session: Session, district: District, report: DemoReport) -> str:
    """The rows run so far (with their totals and sealed audit events); their digest."""
    rows = district.sim.handovers
    imported = import_handovers(session, rows, label="demo-load")
    report.handovers += imported.rows
    rows.clear()
    return imported.digest


def _insert_declarations(session: Session, district: District, report: DemoReport) -> None:
    conn = session.connection()
    bulk_insert(conn, Declaration.__table__, district.declarations)  # type: ignore[attr-defined]
    reset_sequence(conn, Declaration.__table__)  # type: ignore[attr-defined]
    report.declarations = len(district.declarations)
