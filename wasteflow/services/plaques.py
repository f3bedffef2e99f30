"""QR plaques and manifests: signed payloads for sites and handovers, images, sheets, scans."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from wasteflow.errors import Forbidden, Invalid
from wasteflow.models import Account, Handover, Region, Site
from wasteflow.permissions import Action, allowed, require
from wasteflow.qr_render import Plaque, render_plaque_sheet, render_png, render_svg
from wasteflow.services import handovers, keys
from wasteflow.services.catalogue import region_and_descendants
from wasteflow.services.sites import get_site, site_public
from wasteflow.types import SiteKind

MAX_SHEET = 600


def site_payload(session: Session, account: Account, code: str) -> str:
    """The signed payload printed on a site's plaque: for admins (who print plaques) and the
    accounts that act for the site (its operators, the collectors of its round), not for
    every account — a plaque's payload lets its holder record loads as leaving that site."""
    site = get_site(session=session, code=code)
    if not allowed(account.role, Action.manage_sites) and site.id not in handovers.acting_sites(
        session, account
    ):
        raise Forbidden(
            f"code: the plaque of {site.code} is for admins and for those who act for the site",
            field="code",
        )
    return keys.sign(session, "site", site.code)


def handover_payload(session: Session, account: Account, ref: str) -> str:
    """The signed payload of a handover's manifest (the QR that travels with the load)."""
    return handovers.read_handover(session=session, account=account, ref=ref).manifest or ""


def image(payload: str, fmt: str) -> tuple[bytes, str]:
    """A QR image of a payload: ``png`` or ``svg``, with its media type."""
    if fmt == "png":
        return render_png(payload), "image/png"
    if fmt == "svg":
        return render_svg(payload).encode(), "image/svg+xml"
    raise Invalid(f"format: {fmt!r} is not png or svg", field="format")


def resolve(*, session: Session, account: Account, payload: str) -> dict[str, Any]:
    """Check a scanned payload and say what it denotes: a site, or a handover."""
    require(account.role, Action.read_sites)
    parsed = keys.verify(session, payload, expected_kind=None)
    out: dict[str, Any] = {
        "kind": parsed.kind,
        "ident": parsed.ident,
        "kid": parsed.kid,
        "site": None,
        "handover": None,
    }
    if parsed.kind == "site":
        site = session.execute(
            sa.select(Site).where(col(Site.code) == parsed.ident)
        ).scalar_one_or_none()
        if site is None:
            raise Invalid(
                f"payload: site {parsed.ident} is signed but no longer registered", field="payload"
            )
        out["site"] = site_public(session, [site])[0]
    else:
        out["handover"] = handovers.read_handover(
            session=session, account=account, ref=parsed.ident
        )
    return out


def plaque_sheet(
    *,
    session: Session,
    account: Account,
    codes: list[str] | None = None,
    region: str | None = None,
    kind: SiteKind | None = None,
    lang: str = "zh",
) -> str:
    """A printable A4 page of plaques for the chosen sites (by codes, or region and kind)."""
    require(account.role, Action.manage_sites)
    if lang not in ("zh", "en"):
        raise Invalid("lang: zh or en", field="lang")
    stmt = sa.select(Site).where(col(Site.active).is_(True))
    if codes:
        stmt = stmt.where(col(Site.code).in_(codes))
    if region:
        stmt = stmt.where(col(Site.region_id).in_(region_and_descendants(session, region)))
    if kind:
        stmt = stmt.where(col(Site.kind) == kind)
    if not (codes or region or kind):
        raise Invalid("codes: choose sites by codes, region or kind", field="codes")
    sites = session.execute(stmt.order_by(col(Site.code)).limit(MAX_SHEET + 1)).scalars().all()
    if codes:
        missing = sorted(set(codes) - {s.code for s in sites})
        if missing:
            raise Invalid(f"codes: no active site {', '.join(missing)}", field="codes")
    if len(sites) > MAX_SHEET:
        raise Invalid(
            f"codes: more than {MAX_SHEET} sites; print a township at a time", field="codes"
        )
    township_names = _township_names(session, [s.region_id for s in sites], lang)
    plaques = [
        Plaque(
            payload=keys.sign(session, "site", s.code),
            site_name=s.name,
            site_code=s.code,
            township=township_names.get(s.region_id, ""),
        )
        for s in sites
    ]
    return render_plaque_sheet(plaques, lang=lang)


def _township_names(session: Session, region_ids: list[int], lang: str) -> dict[int, str]:
    parent = aliased(Region)
    name = col(Region.name_zh) if lang == "zh" else col(Region.name_en)
    pname = col(parent.name_zh) if lang == "zh" else col(parent.name_en)
    rows = session.execute(
        sa.select(col(Region.id), col(Region.level), name, pname)
        .outerjoin(parent, col(Region.parent_id) == parent.id)
        .where(col(Region.id).in_(set(region_ids)))
    ).all()
    return {
        rid: (own if level == "township" else par if level == "village" else own)
        for rid, level, own, par in rows
    }


def handover_exists(session: Session, code: str) -> bool:
    return (
        session.execute(sa.select(col(Handover.id)).where(col(Handover.code) == code)).first()
        is not None
    )
