"""Coefficient sets and targets by year, as an administrator keeps them.

Everyone reads them. An admin creates a year's coefficient set as a copy of the set that year
uses now (the latest earlier one), so nothing moves until a value is edited; then edits
values, each with its source and whether it is verified. Figures of a year use its own set
from the moment it exists (``services.coefficients.choose_coefficient_set``); a declaration
already estimated keeps the values it used. Targets run over years; two of one indicator and
region may not overlap.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.errors import Conflict, Invalid, NotFound
from wasteflow.models import Account, Coefficient, CoefficientSet, Declaration, Region, Target
from wasteflow.permissions import Action, require
from wasteflow.rates.indicators import check_indicator
from wasteflow.reference import DISTRICT
from wasteflow.schemas_admin import (
    CoefficientCreate,
    CoefficientPublic,
    CoefficientSetFromLatest,
    CoefficientSetPublic,
    CoefficientUpdate,
    TargetCreate,
    TargetPublic,
    TargetUpdate,
)
from wasteflow.services import idempotency
from wasteflow.services.audit import changes, record_event
from wasteflow.services.catalogue import get_region
from wasteflow.services.coefficients import choose_coefficient_set, read_coefficient_info
from wasteflow.services.idempotency import Request, once
from wasteflow.services.targets import targets_for


def _lock_region(session: Session, code: str) -> Region:
    """The region, its row locked: a region's sets and targets are written one at a time, so
    two admins cannot both make a year's set, or overlapping targets, each unseen by the
    other (SQLite's writers take turns anyway)."""
    region = get_region(session=session, code=code)
    session.execute(sa.select(col(Region.id)).where(col(Region.id) == region.id).with_for_update())
    return region


def _region_codes(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(
            sa.select(col(Region.id), col(Region.code)).where(col(Region.id).in_(ids))
        ).all()
    )


def set_view(session: Session, cset: CoefficientSet) -> CoefficientSetPublic:
    """A set with every value, its unit, source and verified flag."""
    assert cset.id is not None
    info = read_coefficient_info(session, cset.id)
    used = session.execute(
        sa.select(sa.func.count())
        .select_from(Declaration)
        .where(col(Declaration.coefficient_set_id) == cset.id)
    ).scalar_one()
    return CoefficientSetPublic(
        code=cset.code,
        name=cset.name,
        year=cset.year,
        region_code=_region_codes(session, {cset.region_id})[cset.region_id],
        source=cset.source,
        declarations=used,
        coefficients=[
            CoefficientPublic(
                subject=subject,
                parameter=parameter,
                value=c.value,
                unit=c.unit,
                verified=c.verified,
                source=c.source,
                own_source=c.own_source,
                note=c.note,
            )
            for (subject, parameter), c in sorted(info.items())
        ],
    )


def list_sets(
    *, session: Session, actor: Account, year: int | None = None
) -> list[CoefficientSetPublic]:
    """Every coefficient set (or one year's), by year then code."""
    require(actor.role, Action.read_reference)
    stmt = sa.select(CoefficientSet).order_by(col(CoefficientSet.year), col(CoefficientSet.code))
    if year is not None:
        stmt = stmt.where(col(CoefficientSet.year) == year)
    return [set_view(session, s) for s in session.execute(stmt).scalars()]


def _get_set(session: Session, code: str) -> CoefficientSet:
    found = session.execute(
        sa.select(CoefficientSet).where(col(CoefficientSet.code) == code)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no coefficient set {code!r}")
    return found


def read_set(*, session: Session, actor: Account, code: str) -> CoefficientSetPublic:
    require(actor.role, Action.read_reference)
    return set_view(session, _get_set(session, code))


def _with_year(text: str, old: int, new: int) -> str | None:
    """``text`` with its year ``old`` put as ``new``; None if it does not name ``old``."""
    swapped = re.sub(rf"(?<!\d){old}(?!\d)", str(new), text)
    return swapped if swapped != text else None


def create_from_latest(
    *,
    session: Session,
    actor: Account,
    year: int,
    data: CoefficientSetFromLatest,
    idempotency_key: str | None = None,
) -> tuple[CoefficientSetPublic, bool]:
    """Create ``year``'s set for a region (the district by default) as a copy of the set the
    year uses now: the latest earlier one. Its values keep their sources and verified flags
    until edited. A year that has its set already is a 409."""
    require(actor.role, Action.manage_reference)
    assert actor.id is not None
    body = data.model_dump(mode="json") | {"year": year}
    req = Request(
        actor.id, idempotency_key, "coefficient_set.create", str(year), idempotency.digest(body)
    )

    def apply() -> CoefficientSetPublic:
        region = _lock_region(session, data.region_code or str(DISTRICT["code"]))
        assert region.id is not None
        own = session.execute(
            sa.select(col(CoefficientSet.code)).where(
                col(CoefficientSet.year) == year, col(CoefficientSet.region_id) == region.id
            )
        ).scalar()
        if own is not None:
            raise Conflict(
                f"year: {region.code} has a coefficient set for {year} already: {own}; edit "
                "its values",
                field="year",
            )
        try:
            source = choose_coefficient_set(session, year=year, region_id=region.id).set
        except NotFound as exc:
            raise Invalid(
                f"region_code: no coefficient set covers {region.code} to copy from",
                field="region_code",
            ) from exc
        code = data.code or _with_year(source.code, source.year, year) or f"{source.code}-{year}"
        if session.execute(
            sa.select(col(CoefficientSet.id)).where(col(CoefficientSet.code) == code)
        ).first():
            raise Conflict(f"code: a coefficient set {code!r} already exists", field="code")
        name = data.name or _with_year(source.name, source.year, year) or f"{source.name} ({year})"
        new = CoefficientSet(
            code=code, name=name[:128], year=year, region_id=region.id, source=source.source
        )
        session.add(new)
        try:
            session.flush()
        except sa.exc.IntegrityError as exc:  # the same code, made by a request since
            raise Conflict(
                f"code: a coefficient set {code!r} already exists", field="code"
            ) from exc
        values = session.execute(
            sa.select(Coefficient).where(col(Coefficient.set_id) == source.id)
        ).scalars()
        copied = [
            Coefficient.model_validate(
                c.model_dump(exclude={"id", "set_id"}), update={"set_id": new.id}
            )
            for c in values
        ]
        session.add_all(copied)
        session.flush()
        record_event(
            session,
            account_id=actor.id,
            action="coefficient_set.create",
            entity="coefficient_set",
            entity_id=code,
            after={
                "code": code,
                "year": year,
                "region_code": region.code,
                "copied_from": source.code,
                "values": len(copied),
            },
        )
        return set_view(session, new)

    return once(session, req, apply, CoefficientSetPublic)


def update_value(
    *,
    session: Session,
    actor: Account,
    code: str,
    subject: str,
    parameter: str,
    data: CoefficientUpdate,
    idempotency_key: str | None = None,
) -> tuple[CoefficientSetPublic, bool]:
    """Change one coefficient: its value (with its source and verified flag, both said
    again), whether it is verified, its source or its note. A verified value names its own
    source."""
    require(actor.role, Action.manage_reference)
    assert actor.id is not None
    given = data.model_fields_set
    if data.value is not None and not {"source", "verified"} <= given:
        raise Invalid(
            "source: a new value needs its source and whether it is verified (give source "
            "and verified with it)",
            field="source" if "source" not in given else "verified",
        )
    if "verified" in given and data.verified is None:
        raise Invalid("verified: may not be null; leave it out to keep it", field="verified")
    if "value" in given and data.value is None:
        raise Invalid("value: may not be null; leave it out to keep it", field="value")
    body = data.model_dump(mode="json", exclude_unset=True)
    target = f"{code}:{subject}.{parameter}"[:64]
    req = Request(actor.id, idempotency_key, "coefficient.update", target, idempotency.digest(body))

    def apply() -> CoefficientSetPublic:
        cset = _get_set(session, code)
        row = session.execute(
            sa.select(Coefficient)
            .where(
                col(Coefficient.set_id) == cset.id,
                col(Coefficient.subject) == subject,
                col(Coefficient.parameter) == parameter,
            )
            .with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"{code} has no coefficient {subject}.{parameter}")
        fields = ("value", "verified", "source", "note")
        before = {k: getattr(row, k) for k in fields}
        for name in given:
            setattr(row, name, getattr(data, name))
        if row.verified and not row.source:
            raise Invalid(
                f"source: a verified value names its own source ({subject}.{parameter} has none)",
                field="source",
            )
        session.flush()
        old, new = changes(before, {k: getattr(row, k) for k in fields})
        if new:
            record_event(
                session,
                account_id=actor.id,
                action="coefficient.update",
                entity="coefficient_set",
                entity_id=cset.code,
                before={"subject": subject, "parameter": parameter} | old,
                after={"subject": subject, "parameter": parameter} | new,
            )
        return set_view(session, cset)

    return once(session, req, apply, CoefficientSetPublic)


def add_value(
    *,
    session: Session,
    actor: Account,
    code: str,
    data: CoefficientCreate,
    idempotency_key: str | None = None,
) -> tuple[CoefficientSetPublic, bool]:
    """Add a coefficient a set does not have (with its unit, source and verified flag); one
    it has already is a 409: edit that one."""
    require(actor.role, Action.manage_reference)
    assert actor.id is not None
    body = data.model_dump(mode="json")
    target = f"{code}:{data.subject}.{data.parameter}"[:64]
    req = Request(actor.id, idempotency_key, "coefficient.create", target, idempotency.digest(body))

    def apply() -> CoefficientSetPublic:
        cset = _get_set(session, code)
        session.execute(
            sa.select(col(CoefficientSet.id))
            .where(col(CoefficientSet.id) == cset.id)
            .with_for_update()
        )
        if session.execute(
            sa.select(col(Coefficient.id)).where(
                col(Coefficient.set_id) == cset.id,
                col(Coefficient.subject) == data.subject,
                col(Coefficient.parameter) == data.parameter,
            )
        ).first():
            raise Conflict(
                f"parameter: {code} has {data.subject}.{data.parameter} already; edit its value",
                field="parameter",
            )
        row = Coefficient.model_validate(body, update={"set_id": cset.id})
        session.add(row)
        try:
            session.flush()
        except sa.exc.IntegrityError as exc:  # added by a request committed since the check
            raise Conflict(
                f"parameter: {code} has {data.subject}.{data.parameter} already; edit its value",
                field="parameter",
            ) from exc
        record_event(
            session,
            account_id=actor.id,
            action="coefficient.create",
            entity="coefficient_set",
            entity_id=cset.code,
            after=body,
        )
        return set_view(session, cset)

    return once(session, req, apply, CoefficientSetPublic)


# --- targets -----------------------------------------------------------------------------


def _target_views(
    session: Session, rows: list[Target], carried: dict[int, bool] | None = None
) -> list[TargetPublic]:
    codes = _region_codes(session, {t.region_id for t in rows})
    return [
        TargetPublic(
            id=t.id,  # type: ignore[arg-type]
            indicator=t.indicator,
            region_code=codes[t.region_id],
            year_from=t.year_from,
            year_to=t.year_to,
            comparator=t.comparator,
            value=t.value,
            source=t.source,
            carried_forward=None if carried is None else carried.get(t.id or 0),
        )
        for t in rows
    ]


def list_targets(
    *,
    session: Session,
    actor: Account,
    year: int | None = None,
    indicator: str | None = None,
) -> list[TargetPublic]:
    """Every target; or, for a year, the one that applies to each indicator and region (a
    target of the plan carried past its last year says so)."""
    require(actor.role, Action.read_reference)
    if indicator is not None:
        check_indicator(indicator)
    stmt = sa.select(Target).order_by(
        col(Target.indicator), col(Target.region_id), col(Target.year_from)
    )
    carried: dict[int, bool] | None = None
    if year is not None:
        applying = targets_for(session=session, year=year)
        carried = {t.target_id: t.carried_forward for t in applying.values()}
        stmt = stmt.where(col(Target.id).in_(list(carried)))
    if indicator is not None:
        stmt = stmt.where(col(Target.indicator) == indicator)
    return _target_views(session, list(session.execute(stmt).scalars()), carried)


def _refuse_overlap(session: Session, t: Target) -> None:
    other = session.execute(
        sa.select(col(Target.id), col(Target.year_from), col(Target.year_to)).where(
            col(Target.indicator) == t.indicator,
            col(Target.region_id) == t.region_id,
            col(Target.year_from) <= t.year_to,
            col(Target.year_to) >= t.year_from,
            col(Target.id) != (t.id or 0),
        )
    ).first()
    if other is not None:
        raise Conflict(
            f"year_from: target {other[0]} of {t.indicator} covers {other[1]}–{other[2]} "
            "already; edit it, or start after it ends",
            field="year_from",
            extra={"existing_id": other[0]},
        )


def create_target(
    *, session: Session, actor: Account, data: TargetCreate, idempotency_key: str | None = None
) -> tuple[TargetPublic, bool]:
    """Set the target of an indicator and region (the district by default) for a run of
    years that no other target of it covers."""
    require(actor.role, Action.manage_reference)
    check_indicator(data.indicator)
    if data.year_to < data.year_from:
        raise Invalid("year_to: must not be before year_from", field="year_to")
    assert actor.id is not None
    body = data.model_dump(mode="json")
    target = f"{data.indicator}:{data.year_from}"
    req = Request(actor.id, idempotency_key, "target.create", target, idempotency.digest(body))

    def apply() -> TargetPublic:
        region = _lock_region(session, data.region_code or str(DISTRICT["code"]))
        row = Target.model_validate(
            data.model_dump(exclude={"region_code"}), update={"region_id": region.id}
        )
        _refuse_overlap(session, row)
        session.add(row)
        session.flush()
        public = _target_views(session, [row])[0]
        record_event(
            session,
            account_id=actor.id,
            action="target.create",
            entity="target",
            entity_id=row.id,
            after=public.model_dump(mode="json", exclude={"carried_forward"}),
        )
        return public

    return once(session, req, apply, TargetPublic)


def update_target(
    *,
    session: Session,
    actor: Account,
    target_id: int,
    data: TargetUpdate,
    idempotency_key: str | None = None,
) -> tuple[TargetPublic, bool]:
    """Change a target's value, comparator, source or last year."""
    require(actor.role, Action.manage_reference)
    for name in data.model_fields_set:
        if getattr(data, name) is None:
            raise Invalid(f"{name}: may not be null; leave it out to keep it", field=name)
    assert actor.id is not None
    body: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)
    req = Request(
        actor.id, idempotency_key, "target.update", str(target_id), idempotency.digest(body)
    )

    def apply() -> TargetPublic:
        row = session.execute(
            sa.select(Target).where(col(Target.id) == target_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no target {target_id}")
        session.execute(
            sa.select(col(Region.id)).where(col(Region.id) == row.region_id).with_for_update()
        )
        before = _target_views(session, [row])[0].model_dump(mode="json")
        for name in data.model_fields_set:
            setattr(row, name, getattr(data, name))
        if row.year_to < row.year_from:
            raise Invalid("year_to: must not be before year_from", field="year_to")
        _refuse_overlap(session, row)
        session.flush()
        public = _target_views(session, [row])[0]
        old, new = changes(before, public.model_dump(mode="json"))
        if new:
            record_event(
                session,
                account_id=actor.id,
                action="target.update",
                entity="target",
                entity_id=row.id,
                before=old,
                after=new,
            )
        return public

    return once(session, req, apply, TargetPublic)
