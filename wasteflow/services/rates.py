"""Rates for officials: load a period's totals, compute the figures, attach targets and links.

A report reads the per-day totals that recording keeps up to date (``flow_daily``,
``treatment_daily``), so its cost grows with sites × days, not with handovers. The same
figures can be recomputed from the raw handover table (``source="raw"``); a test checks that
both agree.

A period's computed state (its totals read and its attributions solved) is kept per process
and keyed by the data's version: the id of the newest audit event. Every change the product
makes to records, declarations, sites or reference data appends an event in the same
transaction (serialised by the chain's lock), so an unchanged version means unchanged inputs,
and any write, by any worker, makes the next read compute afresh. Officials reading a closed
year again and again are then answered from memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, Literal, overload
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.db import core
from wasteflow.models import (
    AuditEvent,
    CoefficientSet,
    Declaration,
    FlowDaily,
    FlowMonthly,
    FlowYearly,
    Handover,
    Material,
    Region,
    Site,
    Target,
    TreatmentDaily,
    TreatmentMonthly,
    TreatmentRoute,
    TreatmentYearly,
)
from wasteflow.permissions import Action, require
from wasteflow.rates import (
    INDICATORS,
    DeclarationRow,
    Figure,
    FlowRow,
    LRUMemo,
    Period,
    PeriodData,
    RateEngine,
    RegionInfo,
    RouteInfo,
    SiteInfo,
    TreatmentRow,
    check_indicator,
    parse_period,
)
from wasteflow.services.coefficients import coefficient_set_for, read_coefficients
from wasteflow.services.declarations import denominators, overlap_share, prorate_g
from wasteflow.types import (
    WITHDRAWN,
    DeclarationKind,
    HandoverStatus,
    Indicator,
    RegionLevel,
    RouteClass,
)

Source = Literal["totals", "raw"]


# --- loading a period --------------------------------------------------------------------------


Grain = Literal["day", "month", "year"]


def _grain(start: date, end: date | None = None) -> Grain:
    """The coarsest totals that cover from ``start`` (to ``end``, inclusive) exactly: every
    report period is whole months, and a year's reads one row per site pair and material."""
    after = end + timedelta(days=1) if end is not None else start
    if (start.month, start.day) == (1, 1) and (after.month, after.day) == (1, 1):
        return "year"
    if start.day == 1 and after.day == 1:
        return "month"
    return "day"


_FLOW_TOTALS: dict[Grain, Any] = {"day": FlowDaily, "month": FlowMonthly, "year": FlowYearly}
_TREATMENT_TOTALS: dict[Grain, Any] = {
    "day": TreatmentDaily,
    "month": TreatmentMonthly,
    "year": TreatmentYearly,
}


def _flow_table(grain: Grain) -> tuple[Any, Any]:
    """The flow totals of that grain, with the column that dates a row."""
    table = _FLOW_TOTALS[grain]
    return table, col(getattr(table, grain))


def _treatment_table(grain: Grain) -> tuple[Any, Any]:
    table = _TREATMENT_TOTALS[grain]
    return table, col(getattr(table, grain))


def _sum(column: Any) -> Any:
    # SUM of a BIGINT is NUMERIC on PostgreSQL (Decimal in Python): cast back, so rows are
    # plain ints on both backends without converting every value in Python.
    return sa.cast(sa.func.sum(column), sa.BigInteger)


def _one_row_each(grain: Grain, start: date, end: date) -> bool:
    """Whether the period is one unit of the grain (a year of yearly totals…): then each site
    pair and material has one row, and there is nothing to sum."""
    if grain == "year":
        return start.year == end.year
    if grain == "month":
        return (start.year, start.month) == (end.year, end.month)
    return start == end


def _flows_from_totals(session: Session, start: date, end: date) -> list[FlowRow]:
    grain = _grain(start, end)
    f, when = _flow_table(grain)
    keys = (f.from_site_id, f.to_site_id, f.material_id)
    values = (
        f.handovers,
        f.declared_g,
        f.in_transit_g,
        f.received_g,
        f.refused_g,
        f.accepted_g,
        f.accepted_units,
    )
    if _one_row_each(grain, start, end):
        # Read in the primary key's order without GROUP BY: a third of the time on SQLite.
        stmt = sa.select(*keys, *values).where(when == start, f.handovers > 0)
    else:
        stmt = (
            sa.select(*keys, *map(_sum, values))
            .where(when >= start, when <= end)
            .group_by(*keys)
            .having(sa.func.sum(f.handovers) > 0)
        )
    return [FlowRow._make(r) for r in core(session, stmt).all()]


def _flows_from_raw(session: Session, start: date, end: date) -> list[FlowRow]:
    h = Handover
    received = col(h.status).not_in((*WITHDRAWN, HandoverStatus.in_transit))
    rows = core(
        session,
        sa.select(
            col(h.from_site_id),
            col(h.to_site_id),
            col(h.material_id),
            sa.func.count(),
            sa.func.sum(col(h.declared_mass_g)),
            sa.func.sum(
                sa.case(
                    (col(h.status) == HandoverStatus.in_transit, col(h.declared_mass_g)), else_=0
                )
            ),
            sa.func.sum(sa.case((received, col(h.received_mass_g)), else_=0)),
            sa.func.sum(sa.case((received, col(h.refused_mass_g)), else_=0)),
            sa.func.sum(sa.case((received, col(h.accepted_mass_g)), else_=0)),
            sa.func.sum(
                sa.case(
                    (
                        sa.and_(received, col(h.accepted_mass_g) > 0),
                        sa.func.coalesce(col(h.received_units), 0),
                    ),
                    else_=0,
                )
            ),
        )
        .where(col(h.day) >= start, col(h.day) <= end, col(h.status).not_in(WITHDRAWN))
        .group_by(col(h.from_site_id), col(h.to_site_id), col(h.material_id)),
    ).all()
    return [FlowRow(*(int(v or 0) for v in r)) for r in rows]


def _treatments_from_totals(session: Session, start: date, end: date) -> list[TreatmentRow]:
    t, when = _treatment_table(_grain(start, end))
    rows = core(
        session,
        sa.select(
            t.site_id,
            t.material_id,
            t.route_id,
            sa.func.sum(t.handovers),
            sa.func.sum(t.accepted_g),
            sa.func.sum(t.accepted_units),
        )
        .where(when >= start, when <= end)
        .group_by(t.site_id, t.material_id, t.route_id),
    ).all()
    return [TreatmentRow(*(int(v or 0) for v in r)) for r in rows]


def _treatments_from_raw(session: Session, start: date, end: date) -> list[TreatmentRow]:
    h = Handover
    rows = core(
        session,
        sa.select(
            col(h.to_site_id),
            col(h.material_id),
            col(h.route_id),
            sa.func.count(),
            sa.func.sum(col(h.accepted_mass_g)),
            sa.func.sum(sa.func.coalesce(col(h.received_units), 0)),
        )
        .where(
            col(h.day) >= start,
            col(h.day) <= end,
            col(h.route_id).is_not(None),
            col(h.accepted_mass_g) > 0,
        )
        .group_by(col(h.to_site_id), col(h.material_id), col(h.route_id)),
    ).all()
    return [TreatmentRow(*(int(v or 0) for v in r)) for r in rows]


def _opening_stock(
    session: Session, before: date, materials: dict[int, tuple[str, str]], kinds: dict[int, str]
) -> dict[tuple[int, str], float]:
    """Stock held at pools when the period starts, as the balance counts it: everything
    received, less what was sent on (on the sender's scale) or treated."""
    f, f_when = _flow_table(_grain(before))
    t, t_when = _treatment_table(_grain(before))
    stock: dict[tuple[int, int], int] = defaultdict(int)
    parts = (
        (col(f.to_site_id), col(f.material_id), col(f.received_g), f_when, 1),
        (col(f.from_site_id), col(f.material_id), col(f.declared_g), f_when, -1),
        (col(t.site_id), col(t.material_id), col(t.accepted_g), t_when, -1),
    )
    for site_col, material_col, mass_col, when, sign in parts:
        for site, mat, g in core(
            session,
            sa.select(site_col, material_col, sa.func.sum(mass_col))
            .where(when < before)
            .group_by(site_col, material_col),
        ):
            stock[(site, mat)] += sign * int(g or 0)
    return {
        (site, materials[mat][0]): g / 1000
        for (site, mat), g in stock.items()
        if g > 0 and kinds.get(site) != "source"
    }


def _reference(session: Session, period: Period) -> PeriodData:
    """The parts of a period's data that are not flows: regions, sites, catalogue, the
    household conversion coefficients."""
    # Plain columns, not ORM rows: every report reads all of these.
    regions = {
        r.id: RegionInfo(r.id, r.code, RegionLevel(r.level), r.parent_id, r.name_zh, r.name_en)
        for r in core(
            session,
            sa.select(
                col(Region.id),
                col(Region.code),
                col(Region.level),
                col(Region.parent_id),
                col(Region.name_zh),
                col(Region.name_en),
            ),
        )
    }
    # SiteKind is a StrEnum: its value is the plain string the graph compares.
    sites = {
        sid: SiteInfo(sid, code, name, str(kind), region_id, lat, lon, capacity, name_en)
        for sid, code, name, kind, region_id, lat, lon, capacity, name_en in core(
            session,
            sa.select(
                col(Site.id),
                col(Site.code),
                col(Site.name),
                col(Site.kind),
                col(Site.region_id),
                col(Site.lat),
                col(Site.lon),
                col(Site.capacity_kg),
                col(Site.name_en),
            ),
        )
    }
    materials = {
        m.id: (m.code, Indicator(m.indicator).value)
        for m in core(
            session, sa.select(col(Material.id), col(Material.code), col(Material.indicator))
        )
    }
    routes = {
        r.id: RouteInfo(r.code, RouteClass(r.route_class).value, r.safe_treatment)
        for r in core(
            session,
            sa.select(
                col(TreatmentRoute.id),
                col(TreatmentRoute.code),
                col(TreatmentRoute.route_class),
                col(TreatmentRoute.safe_treatment),
            ),
        )
    }
    data = PeriodData(
        period=period,
        regions=regions,
        sites=sites,
        materials=materials,
        routes=routes,
        flows=[],
        treatments=[],
        declarations=[],
    )
    district = next((r for r in regions.values() if r.level == RegionLevel.district), None)
    if district is not None:
        cset = coefficient_set_for(session, year=period.year, region_id=district.id)
        assert cset.id is not None  # read from the database
        coeffs = read_coefficients(session, cset.id)
        data.conversion = {
            subject: value
            for (subject, param), (value, _) in coeffs.items()
            if param == "household_conversion_coefficient"
        }
        data.conversion_set = cset.code
    return data


def load_period(session: Session, period: Period, *, source: Source = "totals") -> PeriodData:
    """Everything the rates of a period need, read in a handful of queries."""
    data = _reference(session, period)
    if source == "totals":
        data.flows = _flows_from_totals(session, period.start, period.end)
        data.treatments = _treatments_from_totals(session, period.start, period.end)
    else:
        data.flows = _flows_from_raw(session, period.start, period.end)
        data.treatments = _treatments_from_raw(session, period.start, period.end)
    data.declarations = _declarations(session, period, data.regions)
    data.opening_stock = _opening_stock(
        session, period.start, data.materials, {s.id: s.kind for s in data.sites.values()}
    )
    return data


def load_months(session: Session, period: Period, *, cumulative: bool = False) -> list[PeriodData]:
    """The period's data month by month, from one read of the monthly totals; each month's
    opening stock is the last month's closing.

    ``cumulative``: each entry covers the period's start to the end of its month (year to
    date), which reads right for seasonal flows: farm film is laid in spring and recovered
    in autumn, so a month on its own shows 0 % and then 200 %.
    """
    base = _reference(session, period)
    kinds = {s.id: s.kind for s in base.sites.values()}
    f, t = FlowMonthly, TreatmentMonthly
    flows: dict[date, list[FlowRow]] = defaultdict(list)
    for month, *values in core(
        session,
        sa.select(
            col(f.month),
            col(f.from_site_id),
            col(f.to_site_id),
            col(f.material_id),
            col(f.handovers),
            col(f.declared_g),
            col(f.in_transit_g),
            col(f.received_g),
            col(f.refused_g),
            col(f.accepted_g),
            col(f.accepted_units),
        ).where(col(f.month) >= period.start, col(f.month) <= period.end, col(f.handovers) > 0),
    ):
        flows[month].append(FlowRow(*values))
    treatments: dict[date, list[TreatmentRow]] = defaultdict(list)
    for month, *values in core(
        session,
        sa.select(
            col(t.month),
            col(t.site_id),
            col(t.material_id),
            col(t.route_id),
            col(t.handovers),
            col(t.accepted_g),
            col(t.accepted_units),
        ).where(col(t.month) >= period.start, col(t.month) <= period.end),
    ):
        treatments[month].append(TreatmentRow(*values))
    opening = _opening_stock(session, period.start, base.materials, kinds)
    months = period.months()
    if cumulative:
        months = [Period(f"{period.label}..{m.label}", period.start, m.end) for m in months]
        flows, treatments = _running_totals(flows, treatments, months)
    declared = _declarations(session, period, base.regions, months)
    out = []
    for month, m_declared in zip(months, declared, strict=True):
        key = month.end.replace(day=1)
        m_flows, m_treated = flows.get(key, []), treatments.get(key, [])
        out.append(
            PeriodData(
                period=month,
                regions=base.regions,
                sites=base.sites,
                materials=base.materials,
                routes=base.routes,
                flows=m_flows,
                treatments=m_treated,
                declarations=m_declared,
                opening_stock=opening,
                conversion=base.conversion,
                conversion_set=base.conversion_set,
            )
        )
        if not cumulative:
            opening = _carry(opening, m_flows, m_treated, base.materials, kinds)
    return out


def _running_totals(
    flows: dict[date, list[FlowRow]],
    treatments: dict[date, list[TreatmentRow]],
    months: list[Period],
) -> tuple[dict[date, list[FlowRow]], dict[date, list[TreatmentRow]]]:
    """Each month's rows summed with every month before it in the period."""
    flow_sum: dict[tuple[int, int, int], list[int]] = {}
    treat_sum: dict[tuple[int, int, int], list[int]] = {}
    out_f: dict[date, list[FlowRow]] = {}
    out_t: dict[date, list[TreatmentRow]] = {}
    for m in months:
        key = m.end.replace(day=1)
        for fl in flows.get(key, []):
            acc = flow_sum.setdefault((fl.src, fl.dst, fl.material_id), [0] * 7)
            for i, v in enumerate(
                (
                    fl.handovers,
                    fl.declared_g,
                    fl.in_transit_g,
                    fl.received_g,
                    fl.refused_g,
                    fl.accepted_g,
                    fl.accepted_units,
                )
            ):
                acc[i] += v
        for tr in treatments.get(key, []):
            acc = treat_sum.setdefault((tr.site, tr.material_id, tr.route_id), [0] * 3)
            for i, v in enumerate((tr.handovers, tr.accepted_g, tr.accepted_units)):
                acc[i] += v
        out_f[key] = [FlowRow(*k, *v) for k, v in flow_sum.items()]
        out_t[key] = [TreatmentRow(*k, *v) for k, v in treat_sum.items()]
    return out_f, out_t


def _carry(
    opening: dict[tuple[int, str], float],
    flows: list[FlowRow],
    treatments: list[TreatmentRow],
    materials: dict[int, tuple[str, str]],
    kinds: dict[int, str],
) -> dict[tuple[int, str], float]:
    """Closing stock of pools = opening + received − sent − treated (the next opening)."""
    grams: dict[tuple[int, str], float] = defaultdict(float)
    for key, kg in opening.items():
        grams[key] += kg * 1000
    for fl in flows:
        grams[(fl.dst, materials[fl.material_id][0])] += fl.received_g
        grams[(fl.src, materials[fl.material_id][0])] -= fl.declared_g
    for tr in treatments:
        grams[(tr.site, materials[tr.material_id][0])] -= tr.accepted_g
    return {k: g / 1000 for k, g in grams.items() if g > 0 and kinds.get(k[0]) != "source"}


@overload
def _declarations(
    session: Session, period: Period, regions: dict[int, RegionInfo], months: None = None
) -> list[DeclarationRow]: ...
@overload
def _declarations(
    session: Session, period: Period, regions: dict[int, RegionInfo], months: list[Period]
) -> list[list[DeclarationRow]]: ...
def _declarations(
    session: Session,
    period: Period,
    regions: dict[int, RegionInfo],
    months: list[Period] | None = None,
) -> list[DeclarationRow] | list[list[DeclarationRow]]:
    """The period's denominators, pro-rated to it (or, with ``months``, to each month: one
    read for all of them)."""
    rows = denominators(
        session,
        kind=list(DeclarationKind),
        region_ids=list(regions),
        start=period.start,
        end=period.end,
    )
    set_codes = dict(
        session.execute(sa.select(col(CoefficientSet.id), col(CoefficientSet.code))).all()
    )
    crop_ids = [d.declaration_id for d in rows if d.kind == DeclarationKind.crop_output]
    field_return: dict[int, float] = {}
    for i in range(0, len(crop_ids), 500):
        for did, detail in session.execute(
            sa.select(col(Declaration.id), col(Declaration.detail)).where(
                col(Declaration.id).in_(crop_ids[i : i + 500])
            )
        ):
            field_return[did] = float((detail or {}).get("field_return_kg") or 0)

    def window(start: date, end: date) -> list[DeclarationRow]:
        whole = (start, end) == (period.start, period.end)  # then ``denominators`` pro-rated
        out = []
        for d in rows:
            share = d.share if whole else overlap_share(d.period_start, d.period_end, start, end)
            if share:
                out.append(
                    DeclarationRow(
                        id=d.declaration_id,
                        kind=d.kind,
                        region_id=d.region_id,
                        material_id=d.material_id,
                        prorated_g=d.prorated_g if whole else prorate_g(d.mass_g, share),
                        coefficient_set=set_codes.get(d.coefficient_set_id),
                        # num / den is float(share), without Fraction's slow generic path
                        field_return_g=round(
                            field_return.get(d.declaration_id, 0.0)
                            * 1000
                            * (share.numerator / share.denominator)
                        ),
                    )
                )
        return out

    if months is None:
        return window(period.start, period.end)
    return [window(m.start, m.end) for m in months]


# --- targets and presentation -----------------------------------------------------------------


def _targets(session: Session, year: int) -> dict[tuple[str, int], Target]:
    rows = session.execute(
        sa.select(Target).where(col(Target.year_from) <= year, col(Target.year_to) >= year)
    ).scalars()
    return {(t.indicator, t.region_id): t for t in rows}


def _target_for(
    engine: RateEngine, targets: dict[tuple[str, int], Target], indicator: str, region: RegionInfo
) -> Target | None:
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
    targets: dict[tuple[str, int], Target],
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
        else {"value": target.value, "comparator": target.comparator, "source": target.source},
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
    "manure_utilisation": [DeclarationKind.livestock_headcount],
    "straw_utilisation": [DeclarationKind.crop_output],
    "industrial_utilisation": [
        DeclarationKind.industrial_generated,
        DeclarationKind.industrial_from_storage,
    ],
}


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
    sources = sa.select(col(Site.id)).where(
        col(Site.kind) == "source", col(Site.region_id).in_(region_ids)
    )
    stmt = sa.select(Handover).where(
        col(Handover.day) >= p.start,
        col(Handover.day) <= p.end,
        col(Handover.material_id).in_(materials),
        col(Handover.from_site_id).in_(sources),
        col(Handover.status).not_in(WITHDRAWN),
    )
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
