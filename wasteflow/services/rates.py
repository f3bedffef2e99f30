"""Rates for officials: compute the figures of a period, attach targets, basis and links.

A period's data is loaded by ``wasteflow.services.period_data`` from the totals that recording
keeps up to date (or, with ``source="raw"``, recomputed from every handover: a test checks
that both agree).

A period's computed state (its totals read and its attributions solved) is kept per process
and keyed by the data's version: the id of the newest audit event. Every change the product
makes to records, declarations, sites or reference data appends an event in the same
transaction (serialised by the chain's lock), so an unchanged version means unchanged inputs,
and any write, by any worker, makes the next read compute afresh. Officials reading a closed
year again and again are then answered from memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.models import (
    AuditEvent,
    Handover,
    Material,
    Region,
    Site,
)
from wasteflow.permissions import Action, require
from wasteflow.rates import (
    INDICATORS,
    Figure,
    LRUMemo,
    Period,
    RateEngine,
    RegionInfo,
    check_indicator,
    parse_period,
)
from wasteflow.services.declarations import denominators
from wasteflow.services.period_data import Source, load_months, load_period
from wasteflow.services.targets import TargetInfo, targets_for
from wasteflow.types import (
    WITHDRAWN,
    DeclarationKind,
    RegionLevel,
)

# --- targets and presentation -----------------------------------------------------------------


def _targets(session: Session, year: int) -> dict[tuple[str, int], TargetInfo]:
    """The targets that apply in ``year`` (a plan's last targets stand after it ends)."""
    return targets_for(session=session, year=year)


def _target_for(
    engine: RateEngine,
    targets: dict[tuple[str, int], TargetInfo],
    indicator: str,
    region: RegionInfo,
) -> TargetInfo | None:
    """The target of the region, or of the nearest region above it."""
    r: RegionInfo | None = region
    while r is not None:
        t = targets.get((indicator, r.id))
        if t is not None:
            return t
        r = engine.d.regions.get(r.parent_id) if r.parent_id is not None else None
    return None


def present(
    fig: Figure,
    engine: RateEngine,
    targets: dict[tuple[str, int], TargetInfo],
    period: Period,
    base_url: str = "/api/v1",
) -> dict[str, Any]:
    """A figure as officials read it: numbers, target, met or not, formula, the records."""
    ind = INDICATORS[fig.indicator]
    region = engine.region(fig.region_code)
    target = _target_for(engine, targets, fig.indicator, region) if ind.has_rate else None
    met = None
    if target is not None and fig.rate is not None:
        met = (
            fig.rate >= target.value - 1e-12
            if target.comparator == ">="
            else fig.rate <= target.value + 1e-12
        )
    query = urlencode(
        {"indicator": fig.indicator, "region": fig.region_code, "period": period.label}
    )
    return {
        "indicator": fig.indicator,
        "name_zh": ind.name_zh,
        "name_en": ind.name_en,
        "region": {
            "code": region.code,
            "name_zh": region.name_zh,
            "name_en": region.name_en,
            "level": region.level,
        },
        "period": {"label": period.label, "start": period.start, "end": period.end},
        "numerator_kg": fig.numerator_kg,
        "denominator_kg": fig.denominator_kg,
        "rate": None if fig.rate is None else round(fig.rate, 6),
        "status": fig.status,
        "target": None
        if target is None
        else {
            "value": target.value,
            "comparator": target.comparator,
            "source": target.source,
            "years": [target.year_from, target.year_to],
            # No target covers the year: the plan's last one stands until a new one is set.
            "carried_forward": target.carried_forward,
        },
        "met": met,
        "formula": ind.formula,
        "formula_text": ind.formula_text,
        "coefficient_sets": fig.coefficient_sets,
        "records": {
            "handovers": fig.handovers,
            "declarations": fig.declarations,
            "url": f"{base_url}/rates/records?{query}",
        },
        "components": fig.components,
        "basis": fig.basis,
    }


# The few newest computed periods, keyed by the data's version (see the module's text).
_periods = LRUMemo(max_entries=16)


def data_version(session: Session) -> tuple[str, int, str]:
    """What identifies the state of the data: the database and its newest audit event (an
    index lookup). The event's hash covers its time and its predecessor, so two databases
    never share a version even at the same event count."""
    newest = session.execute(
        sa.select(col(AuditEvent.id), col(AuditEvent.hash))
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    ).first()
    bind = session.get_bind()
    where = bind.url.render_as_string(hide_password=True) if hasattr(bind, "url") else ""
    return (where, *newest) if newest else (where, 0, "")


def period_engine(session: Session, period: Period, source: Source = "totals") -> RateEngine:
    """The rate engine of a period, computed once per version of the data (``raw``: always
    recomputed, it is the check on the totals)."""
    if source == "raw":
        return RateEngine(load_period(session, period, source=source))
    key = ("period", data_version(session), period.start, period.end)
    return _periods.get(key, lambda: RateEngine(load_period(session, period)))


def month_engines(session: Session, period: Period, cumulative: bool) -> list[RateEngine]:
    """A rate engine per month of the period (``cumulative``: period to date), cached alike."""
    key = ("months", data_version(session), period.start, period.end, cumulative)
    return _periods.get(
        key,
        lambda: [RateEngine(d) for d in load_months(session, period, cumulative=cumulative)],
    )


def rate(
    *,
    session: Session,
    account: Any,
    indicator: str,
    region: str,
    period: str,
    source: Source = "totals",
) -> dict[str, Any]:
    """One indicator for one region and period."""
    require(account.role, Action.read_all_records)
    check_indicator(indicator)
    p = parse_period(period)
    engine = period_engine(session, p, source)
    fig = engine.figure(indicator, region)
    return present(fig, engine, _targets(session, p.year), p)


def report(
    *,
    session: Session,
    account: Any,
    period: str,
    region: str | None = None,
    indicators: Iterable[str] | None = None,
    source: Source = "totals",
) -> dict[str, Any]:
    """Every indicator × every township of the district (or of ``region``), plus the total."""
    require(account.role, Action.read_all_records)
    p = parse_period(period)
    keys = list(indicators or INDICATORS)
    if source == "raw":
        return _report(session, p, region, keys, source)
    key = ("report", data_version(session), p.start, p.end, region, tuple(keys))
    return _periods.get(key, lambda: _report(session, p, region, keys, source))


def _report(
    session: Session, p: Period, region: str | None, keys: list[str], source: Source
) -> dict[str, Any]:
    engine = period_engine(session, p, source)
    targets = _targets(session, p.year)
    district = next(r for r in engine.d.regions.values() if r.level == RegionLevel.district)
    top = engine.region(region) if region else district
    children = (engine.d.regions[c] for c in engine.children.get(top.id, []))
    rows = [top, *sorted(children, key=lambda r: r.code)]
    return {
        "period": {"label": p.label, "start": p.start, "end": p.end},
        "region": {"code": top.code, "name_zh": top.name_zh, "name_en": top.name_en},
        "indicators": [
            {"key": k, "name_zh": INDICATORS[k].name_zh, "name_en": INDICATORS[k].name_en}
            for k in keys
        ],
        "rows": [
            {
                "region": {
                    "code": r.code,
                    "name_zh": r.name_zh,
                    "name_en": r.name_en,
                    "level": r.level,
                },
                "figures": {k: present(engine.figure(k, r.code), engine, targets, p) for k in keys},
            }
            for r in rows
        ],
        "source": source,
    }


def trend(
    *,
    session: Session,
    account: Any,
    indicator: str,
    region: str,
    period: str,
    cumulative: bool = False,
) -> list[dict[str, Any]]:
    """The indicator month by month over the period (``cumulative``: year to date)."""
    return trends(
        session=session,
        account=account,
        indicators=[indicator],
        region=region,
        period=period,
        cumulative=cumulative,
    )[indicator]


def trends(
    *,
    session: Session,
    account: Any,
    indicators: Iterable[str] | None,
    region: str,
    period: str,
    cumulative: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Several indicators month by month, from one read of the period and one computation
    per month (``cumulative``: each month shows the period to date)."""
    require(account.role, Action.read_all_records)
    keys = list(indicators or INDICATORS)
    for key in keys:
        check_indicator(key)
    p = parse_period(period)
    targets = _targets(session, p.year)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    for engine in month_engines(session, p, cumulative):
        for key in keys:
            out[key].append(present(engine.figure(key, region), engine, targets, engine.d.period))
    return out


def _indicator_materials(session: Session, indicator: str) -> list[int]:
    key = {
        "film_recovery": "film",
        "manure_utilisation": "manure",
        "straw_utilisation": "straw",
        "industrial_utilisation": "industrial",
        "construction_waste_utilisation": "construction",
        "appliance_dismantled": "appliance",
        "recyclables_recovered": "recyclable",
    }.get(indicator, "household" if indicator.startswith("household_") else None)
    if key is None:
        from wasteflow.errors import Invalid

        raise Invalid(f"indicator: unknown indicator {indicator!r}", field="indicator")
    return list(
        session.execute(sa.select(col(Material.id)).where(col(Material.indicator) == key)).scalars()
    )


_DECLARATION_KINDS = {
    "film_recovery": [DeclarationKind.film_used],
    "manure_utilisation": [DeclarationKind.livestock_headcount, DeclarationKind.manure_self_use],
    "straw_utilisation": [DeclarationKind.crop_output, DeclarationKind.straw_household_use],
    "industrial_utilisation": [
        DeclarationKind.industrial_generated,
        DeclarationKind.industrial_from_storage,
    ],
    "construction_waste_utilisation": [DeclarationKind.industrial_generated],
}


def _record_handovers(materials: list[int], region_ids: list[int], p: Any) -> sa.Select[Any]:
    """The handovers a figure counts: its material leaving the region's sources."""
    sources = sa.select(col(Site.id)).where(
        col(Site.kind) == "source", col(Site.region_id).in_(region_ids)
    )
    return sa.select(Handover).where(
        col(Handover.day) >= p.start,
        col(Handover.day) <= p.end,
        col(Handover.material_id).in_(materials),
        col(Handover.from_site_id).in_(sources),
        col(Handover.status).not_in(WITHDRAWN),
    )


def iter_record_handovers(
    *,
    session: Session,
    account: Any,
    indicator: str,
    region: str,
    period: str,
    chunk: int = 5000,
) -> Iterator[Any]:
    """Every handover :func:`records` pages through, in its order, a chunk at a time (for
    the records page's export)."""
    from wasteflow.services.catalogue import region_and_descendants
    from wasteflow.services.handovers import handover_views

    require(account.role, Action.read_all_records)
    stmt = _record_handovers(
        _indicator_materials(session, indicator),
        region_and_descendants(session, region),
        parse_period(period),
    ).order_by(col(Handover.id))
    last = 0
    while True:
        rows = session.execute(stmt.where(col(Handover.id) > last).limit(chunk)).scalars().all()
        if not rows:
            return
        yield from handover_views(session, list(rows), with_manifest=False)
        last = rows[-1].id or last


def records(
    *,
    session: Session,
    account: Any,
    indicator: str,
    region: str,
    period: str,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The records behind a figure: the declarations of its denominator, and the handovers in
    which its material left the region's sources (each leads on to its fate via its history)."""
    from wasteflow.services.catalogue import region_and_descendants
    from wasteflow.services.handovers import handover_views

    require(account.role, Action.read_all_records)
    p = parse_period(period)
    materials = _indicator_materials(session, indicator)
    region_ids = region_and_descendants(session, region)
    kinds = _DECLARATION_KINDS.get(
        indicator,
        [DeclarationKind.household_collected] if indicator.startswith("household_") else [],
    )
    region_codes = dict(session.execute(sa.select(col(Region.id), col(Region.code))).all())
    decls = (
        denominators(
            session,
            kind=kinds,
            region_ids=region_ids,
            start=p.start,
            end=p.end,
            material_ids=materials,
        )
        if kinds
        else []
    )
    stmt = _record_handovers(materials, region_ids, p)
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = (
        session.execute(stmt.order_by(col(Handover.id)).limit(limit).offset(offset)).scalars().all()
    )
    return {
        "indicator": indicator,
        "region": region,
        "period": p.label,
        "declarations": [
            {
                "id": d.declaration_id,
                "kind": d.kind,
                "region_id": d.region_id,
                "region_code": region_codes.get(d.region_id),
                "site_id": d.site_id,
                "period_start": d.period_start,
                "period_end": d.period_end,
                "mass_kg": d.mass_g / 1000,
                "share": float(d.share),
                "counted_kg": d.prorated_g / 1000,
                "basis": d.basis,
                "url": f"/api/v1/declarations/{d.declaration_id}",
            }
            for d in decls
        ],
        "handovers": {
            "items": handover_views(session, rows, with_manifest=False),
            "total": total,
            "limit": limit,
            "offset": offset,
        },
    }
