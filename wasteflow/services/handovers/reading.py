"""Reading handovers: who may see one, their public views, a record's history and the register."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.errors import Forbidden, Invalid
from wasteflow.models import Account, Handover, Material, Site, TreatmentRoute
from wasteflow.permissions import Action, allowed
from wasteflow.schemas import HandoverPublic
from wasteflow.services import keys
from wasteflow.services.handovers.rules import acting_sites, own_sites
from wasteflow.services.handovers.store import get_handover
from wasteflow.types import WITHDRAWN, HandoverStatus, g_to_kg

# --- reading -------------------------------------------------------------------------------


def can_read(session: Session, account: Account, h: Handover) -> bool:
    if allowed(account.role, Action.read_all_records):
        return True
    if account.id in (h.recorded_by_id, h.received_by_id):
        return True
    mine = acting_sites(session, account)
    return h.from_site_id in mine or h.to_site_id in mine


def _labels(
    session: Session, key: Any, label: Any, pairs: Iterable[tuple[int | None, int | None]]
) -> dict[int | None, str]:
    """id → label (code, username) of the ids the rows name, in one query (none if none)."""
    ids = {i for pair in pairs for i in pair if i is not None}
    if not ids:
        return {}
    return dict(session.execute(sa.select(col(key), col(label)).where(col(key).in_(ids))).all())  # type: ignore[arg-type]


def handover_views(
    session: Session, rows: Sequence[Handover], with_manifest: bool = True
) -> list[HandoverPublic]:
    """Public views of handovers, with a handful of queries whatever their number."""
    if not rows:
        return []
    sites = _labels(session, Site.id, Site.code, [(r.from_site_id, r.to_site_id) for r in rows])
    materials = dict(session.execute(sa.select(col(Material.id), col(Material.code))).all())
    routes = dict(
        session.execute(sa.select(col(TreatmentRoute.id), col(TreatmentRoute.code))).all()
    )
    names = _labels(
        session, Account.id, Account.username, [(r.recorded_by_id, r.received_by_id) for r in rows]
    )
    codes = _labels(
        session, Handover.id, Handover.code, [(r.corrects_id, r.returns_id) for r in rows]
    )
    out = []
    for r in rows:
        flags = [
            f
            for f, on in (("far_scan", r.flag_far_scan), ("mass_discrepancy", r.flag_discrepancy))
            if on
        ]
        assert r.id is not None
        out.append(
            HandoverPublic(
                id=r.id,
                code=r.code,
                status=r.status,
                channel=r.channel,
                from_site=sites[r.from_site_id],
                to_site=sites[r.to_site_id],
                material=materials[r.material_id],
                declared_mass_kg=float(g_to_kg(r.declared_mass_g)),
                units=r.declared_units,
                mass_method=r.mass_method,
                device_time=r.device_time,
                day=r.day,
                recorded_at=r.recorded_at,
                recorded_by=names.get(r.recorded_by_id),
                lat=r.lat,
                lon=r.lon,
                scan_distance_m=r.scan_distance_m,
                flags=flags,
                received_mass_kg=_kg(r.received_mass_g),
                refused_mass_kg=_kg(r.refused_mass_g),
                accepted_mass_kg=_kg(r.accepted_mass_g),
                received_units=r.received_units,
                refusal_reason=r.refusal_reason,
                route=routes.get(r.route_id),
                received_at=r.received_at,
                received_by=names.get(r.received_by_id),
                cancelled_at=r.cancelled_at,
                cancel_reason=r.cancel_reason,
                corrects=codes.get(r.corrects_id),
                returns=codes.get(r.returns_id),
                manifest=keys.sign(session, "handover", r.code) if with_manifest else None,
            )
        )
    return out


def _kg(grams: int | None) -> float | None:
    return None if grams is None else float(g_to_kg(grams))


def read_handover(*, session: Session, account: Account, ref: str) -> HandoverPublic:
    h = get_handover(session=session, ref=ref)
    if not can_read(session, account, h):
        raise Forbidden(f"you may not read {h.code}: it does not touch a site you act for")
    return handover_views(session, [h])[0]


def history(*, session: Session, account: Account, ref: str) -> dict[str, Any]:
    """A handover with every audit event of it, and the records that name it."""
    from wasteflow.services import audit

    h = get_handover(session=session, ref=ref)
    if not can_read(session, account, h):
        raise Forbidden(f"you may not read {h.code}: it does not touch a site you act for")
    events = audit.history(session, entity="handover", entity_id=h.code)
    names = _labels(session, Account.id, Account.username, [(e.account_id, None) for e in events])
    successors = session.execute(
        sa.select(col(Handover.code), col(Handover.corrects_id), col(Handover.returns_id)).where(
            sa.or_(col(Handover.corrects_id) == h.id, col(Handover.returns_id) == h.id)
        )
    ).all()
    return {
        "handover": handover_views(session, [h])[0],
        "events": [
            {
                "id": e.id,
                "at": e.at,
                "account": names.get(e.account_id),
                "action": e.action,
                "before": e.before,
                "after": e.after,
                "hash": e.hash,
            }
            for e in events
        ],
        "corrected_by": next((c for c, cid, _ in successors if cid == h.id), None),
        "returned_by": [c for c, _, rid in successors if rid == h.id],
    }


def count_register(*, session: Session, account: Account, **filters: Any) -> int:
    """How many handovers the register with these filters holds for the account."""
    query = register_query(session=session, account=account, **filters)
    return int(
        session.execute(
            sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        ).scalar_one()
    )


def register_query(
    *,
    session: Session,
    account: Account,
    start: date | None = None,
    end: date | None = None,
    township: str | None = None,
    site: str | None = None,
    material: str | None = None,
    status: HandoverStatus | None = None,
    flag: str | None = None,
) -> sa.Select[Handover]:
    """The register's query: filtered, and limited to what the account may read.

    ``flag``: ``far_scan`` or ``mass_discrepancy`` (the handovers flagged so).
    """
    from wasteflow.services.catalogue import region_and_descendants

    stmt = sa.select(Handover)
    if start:
        stmt = stmt.where(col(Handover.day) >= start)
    if end:
        stmt = stmt.where(col(Handover.day) <= end)
    if status:
        stmt = stmt.where(col(Handover.status) == status)
    if flag:
        column = {
            "far_scan": col(Handover.flag_far_scan),
            "mass_discrepancy": col(Handover.flag_discrepancy),
        }
        if flag not in column:
            raise Invalid(f"flag: {flag!r} is not far_scan or mass_discrepancy", field="flag")
        stmt = stmt.where(column[flag].is_(True))
    if material:
        mid = session.execute(
            sa.select(col(Material.id)).where(col(Material.code) == material)
        ).scalar()
        if mid is None:
            raise Invalid(f"material: unknown material code {material!r}", field="material")
        stmt = stmt.where(col(Handover.material_id) == mid)
    if site:
        sid = session.execute(sa.select(col(Site.id)).where(col(Site.code) == site)).scalar()
        if sid is None:
            raise Invalid(f"site: no site with code {site!r}", field="site")
        stmt = stmt.where(
            sa.or_(col(Handover.from_site_id) == sid, col(Handover.to_site_id) == sid)
        )
    if township:
        in_region = sa.select(col(Site.id)).where(
            col(Site.region_id).in_(region_and_descendants(session, township, "township"))
        )
        stmt = stmt.where(
            sa.or_(
                col(Handover.from_site_id).in_(in_region),
                col(Handover.to_site_id).in_(in_region),
            )
        )
    if not allowed(account.role, Action.read_all_records):
        mine = list(acting_sites(session, account))
        stmt = stmt.where(
            sa.or_(
                col(Handover.from_site_id).in_(mine),
                col(Handover.to_site_id).in_(mine),
                col(Handover.recorded_by_id) == account.id,
                col(Handover.received_by_id) == account.id,
            )
        )
    return stmt


def list_handovers(
    *,
    session: Session,
    account: Account,
    limit: int = 50,
    offset: int = 0,
    **filters: Any,
) -> dict[str, Any]:
    """The handover register: filtered, newest first, paginated; limited to what one may read.

    Filters: ``start``, ``end`` (days, inclusive), ``township`` (a region code), ``site``,
    ``material``, ``status``.
    """
    stmt = register_query(session=session, account=account, **filters)
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = (
        session.execute(stmt.order_by(col(Handover.id).desc()).limit(limit).offset(offset))
        .scalars()
        .all()
    )
    return {
        "items": handover_views(session, rows, with_manifest=False),
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def iter_register(
    *, session: Session, account: Account, batch: int = 2000, **filters: Any
) -> Iterator[HandoverPublic]:
    """Every handover of the register, oldest first, read in batches by id (for exports)."""
    stmt = register_query(session=session, account=account, **filters)
    last = 0
    while True:
        rows = (
            session.execute(
                stmt.where(col(Handover.id) > last).order_by(col(Handover.id)).limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from handover_views(session, rows, with_manifest=False)
        last = rows[-1].id


@dataclass(frozen=True)
class OwnWork:
    """What a collector's, operator's or processor's day holds: the loads on their way to the
    account's sites (oldest first), and the loads it recorded today (newest first)."""

    awaiting: list[HandoverPublic]
    awaiting_total: int
    awaiting_kg: float
    today: list[HandoverPublic]
    today_total: int
    today_kg: float


def own_work(*, session: Session, account: Account, day: date, limit: int = 20) -> OwnWork:
    """A field account's own work for its home page."""
    mine = own_sites(session, account)
    waiting = sa.and_(
        col(Handover.to_site_id).in_(mine), col(Handover.status) == HandoverStatus.in_transit
    )
    recorded = sa.and_(
        col(Handover.recorded_by_id) == account.id,
        col(Handover.day) == day,
        col(Handover.status).not_in(WITHDRAWN),
    )

    def summary(where: Any) -> tuple[int, float]:
        n, grams = session.execute(
            sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(Handover.declared_mass_g), 0)
            ).where(where)
        ).one()
        return int(n), float(g_to_kg(int(grams)))

    def rows(where: Any, order: Any) -> list[HandoverPublic]:
        found = session.execute(sa.select(Handover).where(where).order_by(order).limit(limit))
        return handover_views(session, list(found.scalars()))

    awaiting_total, awaiting_kg = summary(waiting)
    today_total, today_kg = summary(recorded)
    return OwnWork(
        awaiting=rows(waiting, col(Handover.recorded_at)),
        awaiting_total=awaiting_total,
        awaiting_kg=awaiting_kg,
        today=rows(recorded, col(Handover.recorded_at).desc()),
        today_total=today_total,
        today_kg=today_kg,
    )
