"""Editing sites: their details, materials, routes, organisation, region and round;
deactivating and reactivating them (never deleting: records keep pointing at them); and
each site's history. Every change is an audit event with the fields before and after."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.errors import Conflict, Invalid, NotFound
from wasteflow.models import (
    Account,
    AuditEvent,
    CollectionRound,
    Material,
    Organisation,
    RoundSite,
    Site,
    SiteMaterial,
    SiteRoute,
    TreatmentRoute,
)
from wasteflow.permissions import Action, require
from wasteflow.schemas import Page, SitePublic
from wasteflow.schemas_admin import SiteUpdate
from wasteflow.services import audit, cache, idempotency
from wasteflow.services.audit import changes, record_event
from wasteflow.services.catalogue import get_region, region_and_descendants
from wasteflow.services.idempotency import Request, once
from wasteflow.services.rounds import covers, get_round, refuse_nulls, round_villages
from wasteflow.services.sites import check_routes_fit, codes_to_ids, get_site, site_public
from wasteflow.types import TREATING_KINDS, SiteKind


def update_site(
    *,
    session: Session,
    actor: Account,
    code: str,
    data: SiteUpdate,
    idempotency_key: str | None = None,
) -> tuple[SitePublic, bool]:
    """Change the fields ``data`` names. The result must make sense as a whole, as a new site
    must: routes only at processors and disposal sites, at least one route there that one
    of its materials may take, both coordinates or neither, a round only for a source and
    only one that covers its village. Scans in this process see the change at once."""
    require(actor.role, Action.manage_sites)
    refuse_nulls(data, ("name", "region_code", "materials", "routes"))
    assert actor.id is not None
    body = data.model_dump(mode="json", exclude_unset=True)
    req = Request(actor.id, idempotency_key, "site.update", code, idempotency.digest(body))
    result = once(session, req, lambda: apply_update(session, actor, code, data), SitePublic)
    # After the commit: a request that read the site meanwhile may have cached the old one.
    cache.forget_site(session, code)
    if "round_code" in data.model_fields_set:
        cache.forget_acting_all()
    return result


def apply_update(session: Session, actor: Account, code: str, data: SiteUpdate) -> SitePublic:
    """Check and apply an edit with its event, inside the caller's transaction (the edit
    endpoint's, or a spreadsheet upload's savepoint)."""
    site = get_site(session=session, code=code, lock=True)
    assert site.id is not None
    before = site_public(session, [site])[0]
    given = data.model_fields_set
    for name in ("name", "name_en", "address", "capacity_kg", "lat", "lon"):
        if name in given:
            setattr(site, name, getattr(data, name))
    if (site.lat is None) != (site.lon is None):
        raise Invalid("lat/lon: give both coordinates or neither", field="lat")
    if data.region_code is not None:
        region = get_region(session=session, code=data.region_code)
        assert region.id is not None
        site.region_id = region.id
    if "organisation_code" in given:
        site.organisation_id = (
            codes_to_ids(session, Organisation, [data.organisation_code], "organisation_code")[0]
            if data.organisation_code
            else None
        )
    material_ids = _replace_materials(session, site, data.materials)
    routes = _replace_routes(session, site, data.routes)
    if site.kind in TREATING_KINDS and (data.materials is not None or data.routes is not None):
        check_routes_fit(session, material_ids, routes)
    _place_on_round(session, site, data)
    session.flush()
    after = site_public(session, [site])[0]
    old, new = changes(before.model_dump(mode="json"), after.model_dump(mode="json"))
    if new:
        record_event(
            session,
            account_id=actor.id,
            action="site.update",
            entity="site",
            entity_id=site.id,
            before=old,
            after=new,
        )
    return after


def _replace_materials(session: Session, site: Site, codes: list[str] | None) -> list[int]:
    """The site's materials after the edit (replaced when ``codes`` is given)."""
    assert site.id is not None
    if codes is None:
        return list(
            session.execute(
                sa.select(col(SiteMaterial.material_id)).where(col(SiteMaterial.site_id) == site.id)
            ).scalars()
        )
    ids = codes_to_ids(session, Material, codes, "materials")
    if not ids and site.kind != SiteKind.source:
        raise Invalid(
            f"materials: a {site.kind.value} must accept at least one material", field="materials"
        )
    session.execute(sa.delete(SiteMaterial).where(col(SiteMaterial.site_id) == site.id))
    session.add_all(SiteMaterial(site_id=site.id, material_id=m) for m in ids)
    return ids


def _replace_routes(session: Session, site: Site, codes: list[str] | None) -> list[str]:
    """The site's route codes after the edit (replaced when ``codes`` is given)."""
    assert site.id is not None
    if codes is None:
        return list(
            session.execute(
                sa.select(col(TreatmentRoute.code))
                .join(SiteRoute, col(SiteRoute.route_id) == TreatmentRoute.id)
                .where(col(SiteRoute.site_id) == site.id)
            ).scalars()
        )
    if codes and site.kind not in TREATING_KINDS:
        raise Invalid(
            f"routes: a {site.kind.value} operates no treatment route; only processor and "
            "disposal sites do",
            field="routes",
        )
    if site.kind in TREATING_KINDS and not codes:
        raise Invalid(
            f"routes: a {site.kind.value} site needs at least one treatment route", field="routes"
        )
    ids = codes_to_ids(session, TreatmentRoute, codes, "routes")
    session.execute(sa.delete(SiteRoute).where(col(SiteRoute.site_id) == site.id))
    session.add_all(SiteRoute(site_id=site.id, route_id=r) for r in ids)
    return list(dict.fromkeys(codes))


def _place_on_round(session: Session, site: Site, data: SiteUpdate) -> None:
    """Put a source on the round ``data`` names (off its old one), or off any round; and
    keep a source that moved inside its round's villages."""
    assert site.id is not None
    if "round_code" in data.model_fields_set:
        if data.round_code is not None and site.kind != SiteKind.source:
            raise Invalid(
                f"round_code: {site.code} is a {site.kind.value}; only sources are on "
                "collection rounds",
                field="round_code",
            )
        session.execute(sa.delete(RoundSite).where(col(RoundSite.site_id) == site.id))
        if data.round_code is None:
            return
        try:
            target = get_round(session, data.round_code)
        except NotFound as exc:
            raise Invalid(
                f"round_code: no collection round {data.round_code!r}", field="round_code"
            ) from exc
        assert target.id is not None
        if not covers(session, round_villages(session, target.id), site.region_id):
            raise Invalid(
                f"round_code: {site.code} lies outside the villages of {target.code}",
                field="round_code",
            )
        session.add(RoundSite(round_id=target.id, site_id=site.id))
        try:
            session.flush()
        except sa.exc.IntegrityError as exc:  # put on a round by a request since
            raise Conflict(
                f"round_code: {site.code} was just put on another round", field="round_code"
            ) from exc
        return
    if data.region_code is not None:
        on = session.execute(
            sa.select(col(CollectionRound.id), col(CollectionRound.code))
            .join(RoundSite, col(RoundSite.round_id) == CollectionRound.id)
            .where(col(RoundSite.site_id) == site.id)
        ).first()
        if on and not covers(session, round_villages(session, on[0]), site.region_id):
            raise Invalid(
                f"region_code: {site.code} is on round {on[1]}, which does not cover "
                f"{data.region_code}; move it to another round too (round_code)",
                field="region_code",
            )


def set_active(
    *,
    session: Session,
    actor: Account,
    code: str,
    active: bool,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[SitePublic, bool]:
    """Deactivate a site (no new load may leave or reach it; loads already on their way can
    still be confirmed there) or reactivate it. Doing what is already done is a 409."""
    require(actor.role, Action.manage_sites)
    assert actor.id is not None
    action = "site.reactivate" if active else "site.deactivate"
    req = Request(actor.id, idempotency_key, action, code, idempotency.digest({"reason": reason}))

    def apply() -> SitePublic:
        site = get_site(session=session, code=code, lock=True)
        if site.active == active:
            state = "active" if active else "inactive"
            raise Conflict(f"site {code} is already {state}", field="code")
        site.active = active
        session.flush()
        after: dict[str, Any] = {"active": active}
        if reason:
            after["reason"] = reason
        record_event(
            session,
            account_id=actor.id,
            action=action,
            entity="site",
            entity_id=site.id,
            before={"active": not active},
            after=after,
        )
        return site_public(session, [site])[0]

    result = once(session, req, apply, SitePublic)
    cache.forget_site(session, code)
    return result


def site_history(*, session: Session, actor: Account, code: str) -> dict[str, Any]:
    """A site and every audit event of it, oldest first: its creation, each edit (the fields
    before and after), each deactivation and reactivation."""
    require(actor.role, Action.read_site_history)
    site = get_site(session=session, code=code)
    events: list[AuditEvent] = audit.history(session, entity="site", entity_id=site.id)
    return {"site": site_public(session, [site])[0], "events": audit.event_views(session, events)}


def find_sites(
    *,
    session: Session,
    actor: Account,
    region_code: str | None = None,
    kind: SiteKind | None = None,
    active: bool | None = None,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[SitePublic]:
    """Sites for an admin's list: by region (and the regions under it), kind, whether active,
    and a piece of their code or name (Chinese or English); paginated, by code."""
    require(actor.role, Action.manage_sites)
    stmt = sa.select(Site)
    if region_code:
        stmt = stmt.where(col(Site.region_id).in_(region_and_descendants(session, region_code)))
    if kind is not None:
        stmt = stmt.where(col(Site.kind) == kind)
    if active is not None:
        stmt = stmt.where(col(Site.active) == active)
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            sa.or_(
                col(Site.code).ilike(like, escape="\\"),
                col(Site.name).ilike(like, escape="\\"),
                col(Site.name_en).ilike(like, escape="\\"),
            )
        )
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(col(Site.code)).limit(limit).offset(offset)).scalars()
    return Page(items=site_public(session, list(rows)), total=total, limit=limit, offset=offset)
