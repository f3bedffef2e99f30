"""What the field app (``/field``) downloads at login to work with no network.

One read of everything a phone needs for a day out of signal: the account, the sites it acts
for, its collection rounds with their sources and collection point, the materials catalogue,
the treatment routes and the public plaque signing keys. The page keeps it in IndexedDB; the
server still checks every record that arrives, so a stale bundle can only cause a refusal the
outbox shows, never a wrong record.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.db import grouped
from wasteflow.models import Account, AccountRound, AccountSite, CollectionRound, RoundSite, Site
from wasteflow.permissions import Action, require
from wasteflow.schemas import FieldBundle, FieldRound
from wasteflow.services import catalogue, keys, sites
from wasteflow.services.accounts import account_public
from wasteflow.types import Role, utcnow


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


def bundle(*, session: Session, account: Account) -> FieldBundle:
    """The account's offline bundle (see the module's text)."""
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
    return FieldBundle(
        account=account_public(session, account),
        sites=sites.account_sites(session, account),
        rounds=field_rounds,
        materials=catalogue.list_materials(session=session),
        routes=catalogue.list_routes(session=session),
        keys=keys.key_views(session),
        server_time=utcnow(),
    )
