"""What the field app (``/field``) downloads at login to work with no network.

One read of everything a phone needs for a day out of signal: the account, the sites it acts
for, its collection rounds with their sources and collection point, the materials catalogue,
the treatment routes and the public plaque signing keys; for receiving sites also the device
keys of the phones that send them loads (to check the tickets they scan) and the revoked
device ids, and the plaques of the account's own sites (a refused load goes back from there).
The page keeps it in IndexedDB; the server still checks every record that arrives, so a stale
bundle can only cause a refusal the outbox shows, never a wrong record.

The intake lists are paged: the loads on their way to the account's sites, oldest first, by a
cursor on their ids (a load received meanwhile cannot make the next page skip one), and the
loads received there lately, newest first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.db import grouped
from wasteflow.errors import Invalid
from wasteflow.models import (
    Account,
    AccountRound,
    AccountSite,
    CollectionRound,
    FlowYearly,
    Handover,
    RoundSite,
    Site,
    SiteMaterial,
)
from wasteflow.permissions import Action, allowed, require
from wasteflow.schemas import FieldBundle, FieldRound, SitePublic
from wasteflow.schemas_field import FieldLoad, FieldLoads, IntakeView
from wasteflow.services import catalogue, devices, keys, sites
from wasteflow.services.accounts import account_public
from wasteflow.services.handovers import handover_views, own_sites
from wasteflow.types import WITHDRAWN, HandoverStatus, Role, SiteKind, g_to_kg, utcnow

# How far back the list of received loads goes (a receipt is corrected soon, or not at all).
RECEIVED_DAYS = 30
_RECEIVED = (HandoverStatus.received, HandoverStatus.partially_refused, HandoverStatus.refused)


def _rounds(session: Session, account: Account) -> list[CollectionRound]:
    """A collector's own rounds; a site operator's also the rounds ending at its sites."""
    stmt = (
        sa.select(CollectionRound)
        .join(AccountRound, col(AccountRound.round_id) == CollectionRound.id)
        .where(col(AccountRound.account_id) == account.id)
    )
    rows = {r.id: r for r in session.execute(stmt).scalars()}
    if account.role == Role.site_operator:
        own = sa.select(col(AccountSite.site_id)).where(col(AccountSite.account_id) == account.id)
        ending_here = sa.select(CollectionRound).where(
            col(CollectionRound.collection_point_id).in_(own)
        )
        rows |= {r.id: r for r in session.execute(ending_here).scalars()}
    return sorted(rows.values(), key=lambda r: r.code)


def bundle(*, session: Session, account: Account, device: str | None = None) -> FieldBundle:
    """The account's offline bundle (see the module's text); ``device``: this phone's device
    id, whose status the bundle says (and which is marked seen)."""
    require(account.role, Action.read_sites)
    rounds = _rounds(session, account)
    members = grouped(
        session,
        sa.select(col(RoundSite.round_id), col(RoundSite.site_id)).where(
            col(RoundSite.round_id).in_([r.id for r in rounds])
        ),
    )
    wanted = {sid for ids in members.values() for sid in ids}
    wanted |= {r.collection_point_id for r in rounds if r.collection_point_id is not None}
    rows = (
        session.execute(sa.select(Site).where(col(Site.id).in_(wanted)).order_by(col(Site.code)))
        .scalars()
        .all()
        if wanted
        else []
    )
    views = dict(zip([s.id for s in rows], sites.site_public(session, rows), strict=True))
    field_rounds = []
    for r in rounds:
        assert r.id is not None
        cp = views.get(r.collection_point_id) if r.collection_point_id else None
        members_here = (views[sid] for sid in members[r.id] if sid in views)
        field_rounds.append(
            FieldRound(
                code=r.code,
                name=r.name,
                collection_point=cp,
                sources=sorted(members_here, key=lambda s: s.code),
            )
        )
    own = sites.account_sites(session, account)
    receiving = allowed(account.role, Action.confirm_receipt)
    return FieldBundle(
        account=account_public(session, account),
        sites=own,
        rounds=field_rounds,
        materials=catalogue.list_materials(session=session),
        routes=catalogue.list_routes(session=session),
        keys=keys.key_views(session),
        server_time=utcnow(),
        device=devices.seen(session, account, device),
        sender_devices=devices.sender_devices(session, {s.id for s in own}) if receiving else [],
        revoked_devices=devices.revoked_ids(session) if receiving else [],
        destinations=_onward(session, own),
        sender_sites=_senders(session, own) if receiving else [],
        plaques={s.code: keys.sign(session, "site", s.code) for s in own if s.active},
    )


def _senders(session: Session, own: list[SitePublic]) -> list[SitePublic]:
    """The sites that have sent loads to the account's sites (by the yearly totals)."""
    if not own:
        return []
    ids = sa.select(col(FlowYearly.from_site_id)).where(
        col(FlowYearly.to_site_id).in_([s.id for s in own])
    )
    rows = (
        session.execute(
            sa.select(Site)
            .where(col(Site.id).in_(ids))
            .order_by(col(Site.code))
            .limit(MAX_DESTINATIONS)
        )
        .scalars()
        .all()
    )
    return sites.site_public(session, list(rows))


_ONWARD_KINDS = (SiteKind.transfer_station, SiteKind.processor, SiteKind.disposal)
MAX_DESTINATIONS = 300


def _onward(session: Session, own: list[SitePublic]) -> list[SitePublic]:
    """Where the account's collection points and transfer stations send loads on: the active
    transfer stations and treating sites that take a material they handle."""
    senders = [s for s in own if s.kind in (SiteKind.collection_point, SiteKind.transfer_station)]
    if not senders:
        return []
    handled = sa.select(col(SiteMaterial.material_id)).where(
        col(SiteMaterial.site_id).in_([s.id for s in senders])
    )
    rows = (
        session.execute(
            sa.select(Site)
            .where(
                col(Site.kind).in_(_ONWARD_KINDS),
                col(Site.active).is_(True),
                col(Site.id).not_in([s.id for s in own]),
                col(Site.id).in_(
                    sa.select(col(SiteMaterial.site_id)).where(
                        col(SiteMaterial.material_id).in_(handled)
                    )
                ),
            )
            .order_by(col(Site.kind), col(Site.code))
            .limit(MAX_DESTINATIONS)
        )
        .scalars()
        .all()
    )
    return sites.site_public(session, list(rows))


def _returned(session: Session, ids: list[int]) -> dict[int, int]:
    """Grams already sent back of each refused load (returns not withdrawn)."""
    if not ids:
        return {}
    rows = session.execute(
        sa.select(col(Handover.returns_id), sa.func.sum(col(Handover.declared_mass_g)))
        .where(col(Handover.returns_id).in_(ids), col(Handover.status).not_in(WITHDRAWN))
        .group_by(col(Handover.returns_id))
    ).all()
    return {int(i): int(g) for i, g in rows}


def intake(
    *,
    session: Session,
    account: Account,
    view: IntakeView = "in_transit",
    cursor: str | None = None,
    limit: int = 50,
) -> FieldLoads:
    """One page of the receiving site's lists (see the module's text): ``in_transit`` (oldest
    first; ``cursor`` is the last id seen) or ``received`` in the last RECEIVED_DAYS days
    (newest receipt first; ``cursor`` is how many were seen)."""
    require(account.role, Action.confirm_receipt)
    if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) < 19):
        raise Invalid(f"cursor: {cursor!r} is not a cursor this list gave", field="cursor")
    mine = own_sites(session, account)
    if view == "in_transit":
        where = sa.and_(
            col(Handover.to_site_id).in_(mine), col(Handover.status) == HandoverStatus.in_transit
        )
        order: list[Any] = [col(Handover.id)]
    else:
        since = utcnow() - timedelta(days=RECEIVED_DAYS)
        where = sa.and_(
            col(Handover.to_site_id).in_(mine),
            col(Handover.status).in_(_RECEIVED),
            col(Handover.received_at) >= since,
        )
        order = [col(Handover.received_at).desc(), col(Handover.id).desc()]
    total, grams = session.execute(
        sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(Handover.declared_mass_g), 0)
        ).where(where)
    ).one()
    stmt = sa.select(Handover).where(where).order_by(*order).limit(limit + 1)
    start = int(cursor or 0)
    paged = col(Handover.id) > start
    stmt = stmt.where(paged) if view == "in_transit" else stmt.offset(start)
    rows = list(session.execute(stmt).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    returned = _returned(session, [r.id for r in rows if r.id is not None and r.refused_mass_g])
    items = [
        FieldLoad(**v.model_dump(), returned_kg=float(g_to_kg(returned.get(v.id, 0))))
        for v in handover_views(session, rows, with_manifest=False)
    ]
    if not more:
        following = None
    elif view == "in_transit":
        following = str(rows[-1].id)
    else:
        following = str(start + limit)
    return FieldLoads(
        items=items, total=int(total), total_kg=float(g_to_kg(int(grams))), next=following
    )
