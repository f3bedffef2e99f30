"""Read the reference catalogue: regions, materials and treatment routes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from wasteflow.errors import Invalid, NotFound
from wasteflow.models import Material, Region, TreatmentRoute
from wasteflow.schemas import MaterialPublic, RegionPublic, RoutePublic
from wasteflow.services import cache
from wasteflow.types import Indicator, RegionLevel


def list_regions(
    *,
    session: Session,
    level: RegionLevel | None = None,
    parent_code: str | None = None,
    code: str | None = None,
) -> list[RegionPublic]:
    parent = aliased(Region)
    stmt = (
        sa.select(Region, col(parent.code))
        .outerjoin(parent, col(Region.parent_id) == col(parent.id))
        .order_by(col(Region.code))
    )
    if level is not None:
        stmt = stmt.where(col(Region.level) == level)
    if parent_code is not None:
        stmt = stmt.where(col(parent.code) == parent_code)
    if code is not None:
        stmt = stmt.where(col(Region.code) == code)
    return [
        RegionPublic(**r.model_dump(exclude={"parent_id"}), parent_code=pcode)
        for r, pcode in session.execute(stmt).all()
    ]


def region_public(*, session: Session, code: str) -> RegionPublic:
    found = list_regions(session=session, code=code)
    if not found:
        raise NotFound(f"no region with code {code!r}")
    return found[0]


def get_region(*, session: Session, code: str, field: str = "region_code") -> Region:
    """The region a request names (in a body or a filter): an unknown code is invalid input,
    a 422 naming ``field``."""
    region = session.execute(sa.select(Region).where(col(Region.code) == code)).scalar_one_or_none()
    if region is None:
        raise Invalid(f"{field}: no region with code {code!r}", field=field)
    return region


def region_and_descendants(session: Session, code: str, field: str = "region") -> list[int]:
    """Ids of a region and every region under it (district → township → village)."""
    ids = [get_region(session=session, code=code, field=field).id]
    frontier = list(ids)
    while frontier:
        children = (
            session.execute(sa.select(col(Region.id)).where(col(Region.parent_id).in_(frontier)))
            .scalars()
            .all()
        )
        ids.extend(children)
        frontier = list(children)
    return [i for i in ids if i is not None]


def list_materials(*, session: Session, indicator: Indicator | None = None) -> list[MaterialPublic]:
    stmt = sa.select(Material).order_by(col(Material.sort_order))
    if indicator is not None:
        stmt = stmt.where(col(Material.indicator) == indicator)
    return [MaterialPublic(**m.model_dump()) for m in session.execute(stmt).scalars()]


def list_routes(*, session: Session) -> list[RoutePublic]:
    stmt = sa.select(TreatmentRoute).order_by(col(TreatmentRoute.code))
    return [RoutePublic(**r.model_dump()) for r in session.execute(stmt).scalars()]


# --- which routes a material may take --------------------------------------------------------


def material_route(
    session: Session, material: Material | cache.MaterialRef, code: str
) -> cache.RouteRef:
    """The treatment route ``code``, if it exists and is one ``material`` may be treated under
    (its ``attributes.routes``, filled by the reference loader from ``data/materials.json``).

    Refuses, naming ``route``: a code that is no route at all (listing the routes there are),
    and a route that is not a use of the material (film is never composted, manure never
    recycled), listing the material's routes. Whether a site operates the route is the
    caller's question.
    """
    known = cache.routes(session)
    route = known.get(code)
    if route is None:
        raise Invalid(
            f"route: there is no treatment route {code!r}; the routes are "
            f"{', '.join(sorted(known))}",
            field="route",
        )
    allowed = (
        material.routes
        if isinstance(material, cache.MaterialRef)
        else cache.material_routes(material)
    )
    if not allowed:
        raise Invalid(
            f"route: this database has no list of the routes {material.code} may take; "
            "an administrator must run `wasteflow load-reference`",
            field="route",
        )
    if code not in allowed:
        raise Invalid(
            f"route: {material.name_zh} ({material.code}) cannot go to {route.name_zh} "
            f"({code}); its routes are {', '.join(allowed)}",
            field="route",
        )
    return route
