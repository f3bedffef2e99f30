"""Loading a period's data for the rates: totals, treatments by sender, returns by lot,
opening stock, declarations, reference rows.

A report reads the per-day, per-month or per-year totals that recording keeps up to date
(``flow_*``, ``treatment_*``, ``return_*``), so its cost grows with sites × periods, not with
handovers. The same rows can be recomputed from the raw handover table (``source="raw"``); a
test checks that both agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal, NamedTuple, overload

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.db import core
from wasteflow.models import (
    CoefficientSet,
    FlowDaily,
    FlowMonthly,
    FlowYearly,
    Handover,
    Material,
    Region,
    ReturnDaily,
    ReturnMonthly,
    ReturnYearly,
    Site,
    TreatmentDaily,
    TreatmentMonthly,
    TreatmentRoute,
    TreatmentYearly,
)
from wasteflow.rates import (
    CoefficientsUsed,
    DeclarationRow,
    FlowRow,
    Period,
    PeriodData,
    RegionInfo,
    ReturnRow,
    RouteInfo,
    SiteInfo,
    TreatmentRow,
)
from wasteflow.services.coefficients import choose_coefficient_set, read_coefficients
from wasteflow.services.declarations import (
    declaration_details,
    denominators,
    overlap_share,
    prorate_g,
)
from wasteflow.types import (
    WITHDRAWN,
    DeclarationKind,
    HandoverStatus,
    Indicator,
    MassMethod,
    RegionLevel,
    RouteClass,
)

Source = Literal["totals", "raw"]
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


# How each family's totals are summed from live handover rows (the check on the totals).

_H = Handover
_RECEIVED = col(_H.status).in_(
    (HandoverStatus.received, HandoverStatus.partially_refused, HandoverStatus.refused)
)


def _if(condition: Any, value: Any) -> Any:
    return sa.func.sum(sa.case((condition, value), else_=0))


@dataclass(frozen=True)
class RawSums:
    """How a family's totals are summed from live handover rows: the handover columns that
    key a row (in the family's key order), the sums after the count (in its value order), and
    which handovers count."""

    keys: tuple[Any, ...]
    values: tuple[Any, ...]
    where: Any


def _flow_sums() -> RawSums:
    accepted = col(_H.accepted_mass_g)
    return RawSums(
        (col(_H.from_site_id), col(_H.to_site_id), col(_H.material_id)),
        (
            sa.func.sum(col(_H.declared_mass_g)),
            _if(col(_H.status) == HandoverStatus.in_transit, col(_H.declared_mass_g)),
            _if(_RECEIVED, col(_H.received_mass_g)),
            _if(_RECEIVED, col(_H.refused_mass_g)),
            _if(_RECEIVED, accepted),
            _if(sa.and_(_RECEIVED, accepted > 0), sa.func.coalesce(col(_H.received_units), 0)),
            _if(sa.and_(_RECEIVED, col(_H.mass_method) == MassMethod.estimated), accepted),
        ),
        sa.true(),
    )


def _treatment_sums() -> RawSums:
    return RawSums(
        (col(_H.to_site_id), col(_H.from_site_id), col(_H.material_id), col(_H.route_id)),
        (
            sa.func.sum(col(_H.accepted_mass_g)),
            sa.func.sum(sa.func.coalesce(col(_H.received_units), 0)),
        ),
        sa.and_(_RECEIVED, col(_H.route_id).is_not(None), col(_H.accepted_mass_g) > 0),
    )


def _return_sums() -> RawSums:
    return RawSums(
        (
            col(_H.returns_sender_id),
            col(_H.from_site_id),
            col(_H.to_site_id),
            col(_H.material_id),
        ),
        (
            sa.func.sum(col(_H.declared_mass_g)),
            _if(col(_H.status) == HandoverStatus.in_transit, col(_H.declared_mass_g)),
            _if(_RECEIVED, col(_H.received_mass_g)),
        ),
        col(_H.returns_id).is_not(None),
    )


@dataclass(frozen=True)
class Family:
    """One kind of totals: its tables by grain, the columns that key a row after the date,
    the columns summed, and the row tuple the rates read."""

    tables: dict[Grain, Any]
    keys: tuple[str, ...]
    values: tuple[str, ...]
    row: Callable[..., NamedTuple]
    raw_sums: Callable[[], RawSums]  # how its totals are summed from the handover rows

    def table(self, grain: Grain) -> tuple[Any, Any]:
        """The totals of that grain, with the column that dates a row."""
        table = self.tables[grain]
        return table, col(getattr(table, grain))


FLOWS = Family(
    {"day": FlowDaily, "month": FlowMonthly, "year": FlowYearly},
    ("from_site_id", "to_site_id", "material_id"),
    FlowRow._fields[3:],
    FlowRow,
    _flow_sums,
)
TREATMENTS = Family(
    {"day": TreatmentDaily, "month": TreatmentMonthly, "year": TreatmentYearly},
    ("site_id", "from_site_id", "material_id", "route_id"),
    TreatmentRow._fields[4:],
    TreatmentRow,
    _treatment_sums,
)
RETURNS = Family(
    {"day": ReturnDaily, "month": ReturnMonthly, "year": ReturnYearly},
    ("sender_site_id", "from_site_id", "to_site_id", "material_id"),
    ReturnRow._fields[4:],
    ReturnRow,
    _return_sums,
)


def _sum(column: Any) -> Any:
    # SUM of a BIGINT is NUMERIC on PostgreSQL (Decimal in Python): cast back, so rows are
    # plain ints on both backends without converting every value in Python.
    return sa.cast(sa.func.sum(column), sa.BigInteger)


def _one_row_each(grain: Grain, start: date, end: date) -> bool:
    """Whether the period is one unit of the grain (a year of yearly totals…): then each key
    has one row, and there is nothing to sum."""
    if grain == "year":
        return start.year == end.year
    if grain == "month":
        return (start.year, start.month) == (end.year, end.month)
    return start == end


def from_totals(session: Session, family: Family, start: date, end: date) -> list[Any]:
    """The family's rows of the period, summed per key from its coarsest exact totals."""
    grain = _grain(start, end)
    t, when = family.table(grain)
    keys = [getattr(t, k) for k in family.keys]
    values = [getattr(t, v) for v in family.values]
    if _one_row_each(grain, start, end):
        # Read in the primary key's order without GROUP BY: a third of the time on SQLite.
        stmt = sa.select(*keys, *values).where(when == start, t.handovers > 0)
    else:
        stmt = (
            sa.select(*keys, *map(_sum, values))
            .where(when >= start, when <= end)
            .group_by(*keys)
            .having(sa.func.sum(t.handovers) > 0)
        )
    return [family.row._make(r) for r in core(session, stmt).all()]  # type: ignore[attr-defined]


# --- the same rows from the raw handovers (the check on the totals) -------------------------

FAMILIES = (FLOWS, TREATMENTS, RETURNS)


def _raw(session: Session, family: Family, start: date, end: date) -> list[Any]:
    """Live handovers of the period, counted and summed per key, as the family's rows."""
    sums = family.raw_sums()
    rows = core(
        session,
        sa.select(*sums.keys, sa.func.count(), *sums.values)
        .where(col(_H.day) >= start, col(_H.day) <= end, col(_H.status).not_in(WITHDRAWN))
        .where(sums.where)
        .group_by(*sums.keys),
    ).all()
    return [family.row(*(int(v or 0) for v in r)) for r in rows]


def flows_from_raw(session: Session, start: date, end: date) -> list[FlowRow]:
    return _raw(session, FLOWS, start, end)


def treatments_from_raw(session: Session, start: date, end: date) -> list[TreatmentRow]:
    return _raw(session, TREATMENTS, start, end)


def returns_from_raw(session: Session, start: date, end: date) -> list[ReturnRow]:
    return _raw(session, RETURNS, start, end)


# --- opening stock ---------------------------------------------------------------------------


def _storage_routes(routes: dict[int, RouteInfo]) -> set[int]:
    """Routes under which a treating site keeps what it accepts (its stock, not a fate)."""
    return {rid for rid, r in routes.items() if r.route_class == RouteClass.storage.value}


def _opening_stock(
    session: Session, before: date, data: PeriodData
) -> dict[tuple[int, str], float]:
    """Stock held at pools and treating sites when the period starts, as the balance counts
    it: everything received, less what was sent on (on the sender's scale) or treated (what a
    treating site keeps in storage stays its stock)."""
    grain = _grain(before)
    f, f_when = FLOWS.table(grain)
    t, t_when = TREATMENTS.table(grain)
    stored = _storage_routes(data.routes)
    stock: dict[tuple[int, int], int] = defaultdict(int)
    parts = (
        (col(f.to_site_id), col(f.material_id), col(f.received_g), f_when, 1, sa.true()),
        (col(f.from_site_id), col(f.material_id), col(f.declared_g), f_when, -1, sa.true()),
        (
            col(t.site_id),
            col(t.material_id),
            col(t.accepted_g),
            t_when,
            -1,
            col(t.route_id).not_in(stored) if stored else sa.true(),
        ),
    )
    for site_col, material_col, mass_col, when, sign, keep in parts:
        for site, mat, g in core(
            session,
            sa.select(site_col, material_col, sa.func.sum(mass_col))
            .where(when < before, keep)
            .group_by(site_col, material_col),
        ):
            stock[(site, mat)] += sign * int(g or 0)
    return _held(stock, data)


def _opening_stored(
    session: Session, before: date, data: PeriodData
) -> dict[tuple[int, str], float]:
    """The part of each treating site's opening stock kept under a storage route: what it
    accepted into storage, less what it shipped on (returns of refused mass aside), never
    more than it holds."""
    stored_routes = _storage_routes(data.routes)
    if not stored_routes:
        return {}
    grain = _grain(before)
    t, t_when = TREATMENTS.table(grain)
    f, f_when = FLOWS.table(grain)
    r, r_when = RETURNS.table(grain)
    kept: dict[tuple[int, int], int] = defaultdict(int)
    parts = (
        (t.site_id, t.material_id, t.accepted_g, t_when, 1, col(t.route_id).in_(stored_routes)),
        (f.from_site_id, f.material_id, f.declared_g, f_when, -1, sa.true()),
        (r.from_site_id, r.material_id, r.declared_g, r_when, 1, sa.true()),  # not shipped on
    )
    for site_col, material_col, mass_col, when, sign, keep in parts:
        for site, mat, g in core(
            session,
            sa.select(site_col, material_col, sa.func.sum(mass_col))
            .where(when < before, keep)
            .group_by(site_col, material_col),
        ):
            if data.sites[site].kind in ("processor", "disposal"):
                kept[(site, mat)] += sign * int(g or 0)
    held = data.opening_stock
    out = {}
    for key, kg in _held({k: max(g, 0) for k, g in kept.items()}, data).items():
        if held.get(key):
            out[key] = min(kg, held[key])
    return out


def _held(stock: Mapping[tuple[int, int], float], data: PeriodData) -> dict[tuple[int, str], float]:
    """Grams per (site, material id) → kg per (site, material code), what is held at sites
    that hold stock (not sources)."""
    return {
        (site, data.materials[mat][0]): g / 1000
        for (site, mat), g in stock.items()
        if g > 0 and data.sites[site].kind != "source"
    }


def _carry(
    opening: dict[tuple[int, str], float],
    data: PeriodData,
) -> dict[tuple[int, str], float]:
    """Closing stock = opening + received − sent − treated (the next period's opening)."""
    code = {c: mid for mid, (c, _) in data.materials.items()}
    stored = _storage_routes(data.routes)
    grams: dict[tuple[int, int], float] = defaultdict(float)
    for (site, material), kg in opening.items():
        grams[(site, code[material])] += kg * 1000
    for fl in data.flows:
        grams[(fl.dst, fl.material_id)] += fl.received_g
        grams[(fl.src, fl.material_id)] -= fl.declared_g
    for tr in data.treatments:
        if tr.route_id not in stored:
            grams[(tr.site, tr.material_id)] -= tr.accepted_g
    return _held(grams, data)


# --- a period, a month at a time -------------------------------------------------------------


def load_period(session: Session, period: Period, *, source: Source = "totals") -> PeriodData:
    """Everything the rates of a period need, read in a handful of queries."""
    data = _reference(session, period)
    start, end = period.start, period.end
    if source == "totals":
        data.flows = from_totals(session, FLOWS, start, end)
        data.treatments = from_totals(session, TREATMENTS, start, end)
        data.returns = from_totals(session, RETURNS, start, end)
    else:
        data.flows = flows_from_raw(session, start, end)
        data.treatments = treatments_from_raw(session, start, end)
        data.returns = returns_from_raw(session, start, end)
    data.declarations = _declarations(session, period, data.regions)
    data.opening_stock = _opening_stock(session, period.start, data)
    data.opening_stored = _opening_stored(session, period.start, data)
    return data


def _by_month(session: Session, family: Family, period: Period) -> dict[date, list[Any]]:
    """The family's monthly rows of the period, by month (one read)."""
    t, when = family.table("month")
    out: dict[date, list[Any]] = defaultdict(list)
    for month, *values in core(
        session,
        sa.select(when, *(getattr(t, c) for c in (*family.keys, *family.values))).where(
            when >= period.start, when <= period.end, t.handovers > 0
        ),
    ):
        out[month].append(family.row(*values))
    return out


def load_months(session: Session, period: Period, *, cumulative: bool = False) -> list[PeriodData]:
    """The period's data month by month, from one read of the monthly totals; each month's
    opening stock is the last month's closing.

    ``cumulative``: each entry covers the period's start to the end of its month (year to
    date), which reads right for seasonal flows: farm film is laid in spring and recovered
    in autumn, so a month on its own shows 0 % and then 200 %.
    """
    base = _reference(session, period)
    rows = [_by_month(session, family, period) for family in (FLOWS, TREATMENTS, RETURNS)]
    opening = _opening_stock(session, period.start, base)
    months = period.months()
    if cumulative:
        months = [Period(f"{period.label}..{m.label}", period.start, m.end) for m in months]
        rows = [
            _running_totals(by_month, family, months)
            for by_month, family in zip(rows, (FLOWS, TREATMENTS, RETURNS), strict=True)
        ]
    declared = _declarations(session, period, base.regions, months)
    out = []
    for month, m_declared in zip(months, declared, strict=True):
        key = month.end.replace(day=1)
        data = replace(
            base,
            period=month,
            flows=rows[0].get(key, []),
            treatments=rows[1].get(key, []),
            returns=rows[2].get(key, []),
            declarations=m_declared,
            opening_stock=opening,
        )
        out.append(data)
        if not cumulative:
            opening = _carry(opening, data)
    return out


def _running_totals(
    by_month: dict[date, list[Any]], family: Family, months: list[Period]
) -> dict[date, list[Any]]:
    """Each month's rows summed with every month before it in the period."""
    n_keys = len(family.keys)
    sums: dict[tuple[int, ...], list[int]] = {}
    out: dict[date, list[Any]] = {}
    for m in months:
        key = m.end.replace(day=1)
        for row in by_month.get(key, []):
            acc = sums.setdefault(tuple(row[:n_keys]), [0] * len(family.values))
            for i, v in enumerate(row[n_keys:]):
                acc[i] += v
        out[key] = [family.row(*k, *v) for k, v in sums.items()]
    return out


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
    materials: dict[int, tuple[str, str]] = {}
    attributes: dict[int, dict[str, Any]] = {}
    for mid, code, indicator, attrs in core(
        session,
        sa.select(
            col(Material.id), col(Material.code), col(Material.indicator), col(Material.attributes)
        ),
    ):
        materials[mid] = (code, Indicator(indicator).value)
        attributes[mid] = attrs or {}
    routes = {
        r.id: RouteInfo(r.code, RouteClass(r.route_class).value, r.safe_treatment, r.straw_use)
        for r in core(
            session,
            sa.select(
                col(TreatmentRoute.id),
                col(TreatmentRoute.code),
                col(TreatmentRoute.route_class),
                col(TreatmentRoute.safe_treatment),
                col(TreatmentRoute.straw_use),
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
        material_attributes=attributes,
        material_routes={
            mid: frozenset(attrs.get("routes") or ()) for mid, attrs in attributes.items()
        },
    )
    district = next((r for r in regions.values() if r.level == RegionLevel.district), None)
    if district is not None:
        choice = choose_coefficient_set(session, year=period.year, region_id=district.id)
        cset = choice.set
        assert cset.id is not None  # read from the database
        coeffs = read_coefficients(session, cset.id)
        data.coefficients = CoefficientsUsed(cset.code, cset.year, choice.fallback, choice.note())
        data.conversion = {
            subject: value
            for (subject, param), (value, _) in coeffs.items()
            if param == "household_conversion_coefficient"
        }
        data.conversion_set = cset.code
        data.conversion_unverified = frozenset(
            subject
            for (subject, param), (_, verified) in coeffs.items()
            if param == "household_conversion_coefficient" and not verified
        )
        data.solids_share = _solids_shares(attributes, coeffs)
    return data


def _solids_shares(
    attributes: dict[int, dict[str, Any]], coeffs: Mapping[tuple[str, str], tuple[float, bool]]
) -> dict[int, tuple[float, bool]]:
    """Each slurry manure material's solids share: kg of manure in a kg of slurry (manure ÷
    (manure + wastewater), per head and day), from its animal's coefficients; animals of one
    material share it (pig: sows and fattening pigs alike), else their mean is taken."""
    out = {}
    for mid, attrs in attributes.items():
        if attrs.get("basis") != "slurry":
            continue
        shares, verified = [], True
        for animal in attrs.get("animals") or ():
            manure = coeffs.get((animal, "manure_kg_per_head_day"))
            water = coeffs.get((animal, "wastewater_l_per_head_day"))
            if manure and water and manure[0] + water[0] > 0:
                shares.append(manure[0] / (manure[0] + water[0]))
                verified = verified and manure[1] and water[1]
        if shares:
            out[mid] = (sum(shares) / len(shares), verified)
    return out


# Declarations whose ``detail`` the figures read.
_DETAILED = frozenset(
    {
        DeclarationKind.crop_output,
        DeclarationKind.livestock_headcount,
        DeclarationKind.manure_self_use,
        DeclarationKind.straw_household_use,
    }
)


def _from_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    if not detail:
        return {}
    return {
        "mass_basis": detail.get("mass_basis"),
        "use": detail.get("use"),
        "unverified": tuple(detail.get("unverified_coefficients") or ()),
    }


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
    details = declaration_details(session, [d.declaration_id for d in rows if d.kind in _DETAILED])

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
                            float(details.get(d.declaration_id, {}).get("field_return_kg") or 0)
                            * 1000
                            * (share.numerator / share.denominator)
                        ),
                        **_from_detail(details.get(d.declaration_id)),
                    )
                )
        return out

    if months is None:
        return window(period.start, period.end)
    return [window(m.start, m.end) for m in months]
