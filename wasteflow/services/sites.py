"""Sites: where material is at some moment (sources, collection points, processors…)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from wasteflow.db import grouped
from wasteflow.errors import Conflict, Invalid, NotFound
from wasteflow.models import (
    Account,
    AccountSite,
    CollectionRound,
    Material,
    Organisation,
    Region,
    RoundSite,
    Site,
    SiteMaterial,
    SiteRoute,
    TreatmentRoute,
)
from wasteflow.permissions import Action, require
from wasteflow.schemas import Page, SiteCreate, SitePublic
from wasteflow.services import cache, idempotency
from wasteflow.services.audit import record_event
from wasteflow.services.catalogue import get_region, region_and_descendants
from wasteflow.services.idempotency import Request, once
from wasteflow.types import TREATING_KINDS, RegionLevel, SiteKind


def codes_to_ids(
    session: Session,
    model: type[Organisation | Material | TreatmentRoute | CollectionRound | Site],
    codes: Sequence[str],
    field: str,
) -> list[int]:
    codes = list(dict.fromkeys(codes))
    if not codes:
        return []
    found: dict[str, int] = dict(
        session.execute(
            sa.select(col(model.code), col(model.id)).where(col(model.code).in_(codes))
        ).all()
    )
    missing = [c for c in codes if c not in found]
    if missing:
        raise Invalid(f"{field}: unknown code(s) {', '.join(missing)}", field=field)
    return [found[c] for c in codes]


def check_routes_fit(session: Session, material_ids: list[int], routes: Sequence[str]) -> None:
    """A treating site must operate at least one route that one of its materials may take:
    a film plant that only composts could never confirm a receipt. (Routes that fit none of
    its materials are allowed beside one that fits: each receipt is checked on its own.)"""
    if not material_ids:
        return
    materials = session.execute(
        sa.select(Material).where(col(Material.id).in_(material_ids))
    ).scalars()
    usable = {r for m in materials for r in cache.material_routes(m)}
    # An empty set means reference data from before the lists; receipts say so.
    if usable and not usable & set(routes):
        raise Invalid(
            f"routes: none of {', '.join(routes)} is a route this site's materials may "
            f"take; they may go to {', '.join(sorted(usable))}",
            field="routes",
        )


def create_site(
    *, session: Session, actor: Account, data: SiteCreate, idempotency_key: str | None = None
) -> tuple[SitePublic, bool]:
    """Register a site with the materials it handles and, for processors, its routes.

    Returns the site and whether this call created it (False: a retry with the same
    Idempotency-Key, answered as the first was)."""
    require(actor.role, Action.manage_sites)
    assert actor.id is not None  # an authenticated account is a stored row
    req = Request(
        actor.id,
        idempotency_key,
        "site.create",
        data.code,
        idempotency.digest(data.model_dump(mode="json")),
    )
    return once(session, req, lambda: insert_site(session, actor, data), SitePublic)


def insert_site(session: Session, actor: Account, data: SiteCreate) -> SitePublic:
    """Check and insert a new site with its event, inside the caller's transaction (the
    create endpoint's, or a spreadsheet upload's savepoint)."""
    if data.routes and data.kind not in TREATING_KINDS:
        raise Invalid(
            "routes: only processor and disposal sites operate treatment routes", field="routes"
        )
    if data.kind in TREATING_KINDS and not data.routes:
        raise Invalid(
            f"routes: a {data.kind.value} site needs at least one treatment route", field="routes"
        )
    if (data.lat is None) != (data.lon is None):
        raise Invalid("lat/lon: give both coordinates or neither", field="lat")
    if session.execute(sa.select(col(Site.id)).where(col(Site.code) == data.code)).first():
        raise Conflict(f"code: a site {data.code!r} already exists", field="code")
    region = get_region(session=session, code=data.region_code)
    org_id = None
    if data.organisation_code:
        org_id = codes_to_ids(session, Organisation, [data.organisation_code], "organisation_code")[
            0
        ]
    material_ids = codes_to_ids(session, Material, data.materials, "materials")
    route_ids = codes_to_ids(session, TreatmentRoute, data.routes, "routes")
    if data.kind in TREATING_KINDS:
        check_routes_fit(session, material_ids, data.routes)
    site = Site.model_validate(
        data.model_dump(exclude={"region_code", "organisation_code", "materials", "routes"}),
        update={"region_id": region.id, "organisation_id": org_id},
    )
    session.add(site)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:  # created by a request committed since the check
        raise Conflict(f"code: a site {data.code!r} already exists", field="code") from exc
    assert site.id is not None
    session.add_all(SiteMaterial(site_id=site.id, material_id=m) for m in material_ids)
    session.add_all(SiteRoute(site_id=site.id, route_id=r) for r in route_ids)
    session.flush()
    public = site_public(session, [site])[0]
    cache.forget_site(session, site.code)
    record_event(
        session,
        account_id=actor.id,
        action="site.create",
        entity="site",
        entity_id=site.id,
        after=public.model_dump(mode="json"),
    )
    return public


def site_public(session: Session, sites: Sequence[Site]) -> list[SitePublic]:
    """Public views of sites, with three queries whatever the number of sites."""
    if not sites:
        return []
    ids = [s.id for s in sites]
    region_ids = {s.region_id for s in sites}
    parent = aliased(Region)
    regions = {
        rid: (code, level, pcode)
        for rid, code, level, pcode in session.execute(
            sa.select(col(Region.id), col(Region.code), col(Region.level), col(parent.code))
            .outerjoin(parent, col(Region.parent_id) == parent.id)
            .where(col(Region.id).in_(region_ids))
        )
    }
    org_ids = {s.organisation_id for s in sites if s.organisation_id}
    orgs = (
        dict(
            session.execute(
                sa.select(col(Organisation.id), col(Organisation.code)).where(
                    col(Organisation.id).in_(org_ids)
                )
            ).all()
        )
        if org_ids
        else {}
    )
    materials = grouped(
        session,
        sa.select(col(SiteMaterial.site_id), col(Material.code))
        .join(Material, col(Material.id) == SiteMaterial.material_id)
        .where(col(SiteMaterial.site_id).in_(ids))
        .order_by(col(Material.sort_order)),
    )
    on_round: dict[int, str] = dict(
        session.execute(
            sa.select(col(RoundSite.site_id), col(CollectionRound.code))
            .join(CollectionRound, col(CollectionRound.id) == RoundSite.round_id)
            .where(col(RoundSite.site_id).in_(ids))
        ).all()
    )
    routes = grouped(
        session,
        sa.select(col(SiteRoute.site_id), col(TreatmentRoute.code))
        .join(TreatmentRoute, col(TreatmentRoute.id) == SiteRoute.route_id)
        .where(col(SiteRoute.site_id).in_(ids))
        .order_by(col(TreatmentRoute.code)),
    )
    out = []
    for s in sites:
        code, level, pcode = regions[s.region_id]
        township = {RegionLevel.township: code, RegionLevel.village: pcode}.get(level)
        assert s.id is not None
        out.append(
            SitePublic(
                id=s.id,
                code=s.code,
                name=s.name,
                name_en=s.name_en,
                kind=s.kind,
                region_code=code,
                township_code=township,
                organisation_code=orgs.get(s.organisation_id),
                lat=s.lat,
                lon=s.lon,
                address=s.address,
                capacity_kg=s.capacity_kg,
                materials=materials[s.id],
                routes=routes[s.id],
                round_code=on_round.get(s.id),
                active=s.active,
                synthetic=s.synthetic,
            )
        )
    return out


def list_sites(
    *,
    session: Session,
    region_code: str | None = None,
    kind: SiteKind | None = None,
    material: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[SitePublic]:
    """Sites filtered by region (and everything under it), kind and material; paginated."""
    stmt = sa.select(Site)
    if region_code:
        stmt = stmt.where(col(Site.region_id).in_(region_and_descendants(session, region_code)))
    if kind:
        stmt = stmt.where(col(Site.kind) == kind)
    if material:
        material_id = session.execute(
            sa.select(col(Material.id)).where(col(Material.code) == material)
        ).scalar_one_or_none()
        if material_id is None:
            raise Invalid(f"material: unknown material code {material!r}", field="material")
        stmt = stmt.where(
            col(Site.id).in_(
                sa.select(col(SiteMaterial.site_id)).where(
                    col(SiteMaterial.material_id) == material_id
                )
            )
        )
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    page = (
        session.execute(stmt.order_by(col(Site.code)).limit(limit).offset(offset)).scalars().all()
    )
    return Page(items=site_public(session, page), total=total, limit=limit, offset=offset)


def account_sites(session: Session, account: Account) -> list[SitePublic]:
    """The sites an account acts for, by code, in one query (plus the views' three)."""
    rows = (
        session.execute(
            sa.select(Site)
            .join(AccountSite, col(AccountSite.site_id) == Site.id)
            .where(col(AccountSite.account_id) == account.id)
            .order_by(col(Site.code))
        )
        .scalars()
        .all()
    )
    return site_public(session, rows)


def get_site(*, session: Session, code: str, lock: bool = False) -> Site:
    """The site with this code, or NotFound; ``lock``: its row, locked for an edit."""
    stmt = sa.select(Site).where(col(Site.code) == code)
    if lock:
        stmt = stmt.with_for_update()
    site = session.execute(stmt).scalar_one_or_none()
    if site is None:
        raise NotFound(f"no site with code {code!r}")
    return site


def names_by_code(session: Session, codes: Iterable[str]) -> dict[str, SitePublic]:
    """Public views of the sites with these codes, by code (for pages that name sites)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = session.execute(sa.select(Site).where(col(Site.code).in_(wanted))).scalars().all()
    return {s.code: s for s in site_public(session, rows)}
