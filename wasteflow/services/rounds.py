"""Collection rounds: the sources a collector visits, in the villages the round covers, for
one collection point. A source is on one round at most (a unique index keeps it so)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.db import grouped
from wasteflow.errors import Conflict, Forbidden, Invalid, NotFound
from wasteflow.models import (
    Account,
    AccountRound,
    AccountSite,
    CollectionRound,
    Region,
    RoundRegion,
    RoundSite,
    Site,
)
from wasteflow.permissions import Action, allowed, require
from wasteflow.schemas_admin import RoundCreate, RoundPublic, RoundUpdate
from wasteflow.services import cache, idempotency
from wasteflow.services.audit import changes, record_event
from wasteflow.services.idempotency import Request, once
from wasteflow.types import RegionLevel, SiteKind


def get_round(session: Session, code: str, *, lock: bool = False) -> CollectionRound:
    stmt = sa.select(CollectionRound).where(col(CollectionRound.code) == code)
    if lock:
        stmt = stmt.with_for_update()
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no collection round {code!r}")
    return found


def round_views(session: Session, rounds: Sequence[CollectionRound]) -> list[RoundPublic]:
    """Public views of rounds, in four queries whatever their number."""
    ids = [r.id for r in rounds]
    if not ids:
        return []
    points = dict(
        session.execute(
            sa.select(col(Site.id), col(Site.code)).where(
                col(Site.id).in_({r.collection_point_id for r in rounds})
            )
        ).all()
    )
    villages = grouped(
        session,
        sa.select(col(RoundRegion.round_id), col(Region.code))
        .join(Region, col(Region.id) == RoundRegion.region_id)
        .where(col(RoundRegion.round_id).in_(ids))
        .order_by(col(Region.code)),
    )
    sources = grouped(
        session,
        sa.select(col(RoundSite.round_id), col(Site.code))
        .join(Site, col(Site.id) == RoundSite.site_id)
        .where(col(RoundSite.round_id).in_(ids))
        .order_by(col(Site.code)),
    )
    collectors = grouped(
        session,
        sa.select(col(AccountRound.round_id), col(Account.username))
        .join(Account, col(Account.id) == AccountRound.account_id)
        .where(col(AccountRound.round_id).in_(ids))
        .order_by(col(Account.username)),
    )
    out = []
    for r in rounds:
        assert r.id is not None
        out.append(
            RoundPublic(
                code=r.code,
                name=r.name,
                collection_point=points.get(r.collection_point_id),
                villages=villages[r.id],
                sources=sources[r.id],
                collectors=collectors[r.id],
            )
        )
    return out


def _visible(session: Session, account: Account) -> sa.ColumnElement[bool] | None:
    """Which rounds an account may read: every one (admins, officials), else a collector's
    own and those of the collection points an operator runs; None: all."""
    if allowed(account.role, Action.read_all_records):
        return None
    own = sa.select(col(AccountRound.round_id)).where(col(AccountRound.account_id) == account.id)
    points = sa.select(col(AccountSite.site_id)).where(col(AccountSite.account_id) == account.id)
    return sa.or_(
        col(CollectionRound.id).in_(own), col(CollectionRound.collection_point_id).in_(points)
    )


def list_rounds(
    *, session: Session, account: Account, collection_point: str | None = None
) -> list[RoundPublic]:
    """The rounds the account may read, by code; optionally those of one collection point."""
    stmt = sa.select(CollectionRound).order_by(col(CollectionRound.code))
    where = _visible(session, account)
    if where is not None:
        stmt = stmt.where(where)
    if collection_point is not None:
        stmt = stmt.join(Site, col(Site.id) == CollectionRound.collection_point_id).where(
            col(Site.code) == collection_point
        )
    return round_views(session, session.execute(stmt).scalars().all())


def read_round(*, session: Session, account: Account, code: str) -> RoundPublic:
    found = get_round(session, code)
    where = _visible(session, account)
    if (
        where is not None
        and session.execute(
            sa.select(col(CollectionRound.id)).where(col(CollectionRound.id) == found.id, where)
        ).first()
        is None
    ):
        raise Forbidden(f"you may not read round {code}: you neither work it nor run its point")
    return round_views(session, [found])[0]


# --- writes ------------------------------------------------------------------------------


def _collection_point(session: Session, code: str) -> Site:
    site = session.execute(sa.select(Site).where(col(Site.code) == code)).scalar_one_or_none()
    if site is None:
        raise Invalid(f"collection_point: no site {code!r}", field="collection_point")
    if site.kind not in (SiteKind.collection_point, SiteKind.transfer_station):
        raise Invalid(
            f"collection_point: {code} is a {site.kind.value}; a round's loads go to a "
            "collection point or transfer station",
            field="collection_point",
        )
    return site


def _villages(session: Session, codes: list[str]) -> list[int]:
    codes = list(dict.fromkeys(codes))
    rows = session.execute(
        sa.select(col(Region.code), col(Region.id), col(Region.level)).where(
            col(Region.code).in_(codes)
        )
    ).all()
    found = {code: (rid, level) for code, rid, level in rows}
    missing = [c for c in codes if c not in found]
    if missing:
        raise Invalid(f"villages: unknown region code(s) {', '.join(missing)}", field="villages")
    wide = [c for c in codes if found[c][1] == RegionLevel.district]
    if wide:
        raise Invalid(
            f"villages: {', '.join(wide)} is the whole district; name villages or townships",
            field="villages",
        )
    return [found[c][0] for c in codes]


def covers(session: Session, village_ids: Sequence[int], region_id: int) -> bool:
    """Whether a round of these villages (or townships) covers a site in ``region_id``; a
    round that names no villages covers everything."""
    if not village_ids or region_id in village_ids:
        return True
    parent = session.execute(
        sa.select(col(Region.parent_id)).where(col(Region.id) == region_id)
    ).scalar()
    return parent in village_ids


def round_villages(session: Session, round_id: int) -> list[int]:
    return list(
        session.execute(
            sa.select(col(RoundRegion.region_id)).where(col(RoundRegion.round_id) == round_id)
        ).scalars()
    )


def _place_sources(
    session: Session, round_id: int, codes: list[str], village_ids: Sequence[int], field: str
) -> None:
    """Make ``codes`` the round's sources: each must be a source in its villages and on no
    other round (409 naming it and the round it is on)."""
    codes = list(dict.fromkeys(codes))
    sites = {
        s.code: s
        for s in session.execute(sa.select(Site).where(col(Site.code).in_(codes))).scalars()
    }
    missing = [c for c in codes if c not in sites]
    if missing:
        raise Invalid(f"{field}: unknown site code(s) {', '.join(missing)}", field=field)
    for code in codes:
        site = sites[code]
        if site.kind != SiteKind.source:
            raise Invalid(
                f"{field}: {code} is a {site.kind.value}; only sources are on collection rounds",
                field=field,
            )
        if not covers(session, village_ids, site.region_id):
            raise Invalid(f"{field}: {code} lies outside the round's villages", field=field)
    ids = [sites[c].id for c in codes]
    elsewhere = session.execute(
        sa.select(col(Site.code), col(CollectionRound.code))
        .join(RoundSite, col(RoundSite.site_id) == Site.id)
        .join(CollectionRound, col(CollectionRound.id) == RoundSite.round_id)
        .where(col(RoundSite.site_id).in_(ids), col(RoundSite.round_id) != round_id)
        .order_by(col(Site.code))
    ).all()
    if elsewhere:
        on = ", ".join(f"{s} (on {r})" for s, r in elsewhere)
        raise Conflict(
            f"{field}: a source is on one round only: {on}; take it off that round first",
            field=field,
        )
    session.execute(sa.delete(RoundSite).where(col(RoundSite.round_id) == round_id))
    session.add_all(RoundSite(round_id=round_id, site_id=i) for i in ids)  # type: ignore[misc]
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:  # placed on another round by a request since
        raise Conflict(
            f"{field}: one of {', '.join(codes)} was just put on another round", field=field
        ) from exc


def _check_sources_covered(session: Session, round_id: int, village_ids: Sequence[int]) -> None:
    outside = [
        code
        for code, region_id in session.execute(
            sa.select(col(Site.code), col(Site.region_id))
            .join(RoundSite, col(RoundSite.site_id) == Site.id)
            .where(col(RoundSite.round_id) == round_id)
            .order_by(col(Site.code))
        )
        if not covers(session, village_ids, region_id)
    ]
    if outside:
        raise Invalid(
            f"villages: the round's sources {', '.join(outside)} lie outside them; take them "
            "off the round or keep their villages",
            field="villages",
        )


def create_round(
    *, session: Session, actor: Account, data: RoundCreate, idempotency_key: str | None = None
) -> tuple[RoundPublic, bool]:
    """Create a collection round for a collection point, with its villages and sources."""
    require(actor.role, Action.manage_rounds)
    assert actor.id is not None
    req = Request(
        actor.id,
        idempotency_key,
        "round.create",
        data.code,
        idempotency.digest(data.model_dump(mode="json")),
    )

    def apply() -> RoundPublic:
        if session.execute(
            sa.select(col(CollectionRound.id)).where(col(CollectionRound.code) == data.code)
        ).first():
            raise Conflict(f"code: a round {data.code!r} already exists", field="code")
        point = _collection_point(session, data.collection_point)
        village_ids = _villages(session, data.villages)
        new = CollectionRound(code=data.code, name=data.name, collection_point_id=point.id)
        session.add(new)
        try:
            session.flush()
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"code: a round {data.code!r} already exists", field="code") from exc
        assert new.id is not None
        session.add_all(RoundRegion(round_id=new.id, region_id=v) for v in village_ids)
        _place_sources(session, new.id, data.sources, village_ids, "sources")
        public = round_views(session, [new])[0]
        record_event(
            session,
            account_id=actor.id,
            action="round.create",
            entity="round",
            entity_id=new.code,
            after=public.model_dump(mode="json"),
        )
        return public

    result = once(session, req, apply, RoundPublic)
    cache.forget_acting_all()
    return result


def update_round(
    *,
    session: Session,
    actor: Account,
    code: str,
    data: RoundUpdate,
    idempotency_key: str | None = None,
) -> tuple[RoundPublic, bool]:
    """Change a round's name, collection point, villages or sources (lists are replaced)."""
    require(actor.role, Action.manage_rounds)
    refuse_nulls(data, ("name", "collection_point", "villages", "sources"))
    assert actor.id is not None
    body = data.model_dump(mode="json", exclude_unset=True)
    req = Request(actor.id, idempotency_key, "round.update", code, idempotency.digest(body))

    def apply() -> RoundPublic:
        found = get_round(session, code, lock=True)
        assert found.id is not None
        before = round_views(session, [found])[0].model_dump(mode="json")
        if data.name is not None:
            found.name = data.name
        if data.collection_point is not None:
            found.collection_point_id = _collection_point(session, data.collection_point).id
        village_ids = round_villages(session, found.id)
        if data.villages is not None:
            village_ids = _villages(session, data.villages)
            session.execute(sa.delete(RoundRegion).where(col(RoundRegion.round_id) == found.id))
            session.add_all(RoundRegion(round_id=found.id, region_id=v) for v in village_ids)
        if data.sources is not None:
            _place_sources(session, found.id, data.sources, village_ids, "sources")
        elif data.villages is not None:
            _check_sources_covered(session, found.id, village_ids)
        session.flush()
        public = round_views(session, [found])[0]
        old, new = changes(before, public.model_dump(mode="json"))
        if new:
            record_event(
                session,
                account_id=actor.id,
                action="round.update",
                entity="round",
                entity_id=found.code,
                before=old,
                after=new,
            )
        return public

    result = once(session, req, apply, RoundPublic)
    cache.forget_acting_all()  # who may record from which source follows the rounds
    return result


def refuse_nulls(data: object, fields: Sequence[str]) -> None:
    """An edit may not empty a field that must have a value: 422 naming it."""
    given: set[str] = getattr(data, "model_fields_set", set())
    for name in fields:
        if name in given and getattr(data, name) is None:
            raise Invalid(f"{name}: may not be null; leave it out to keep it", field=name)
