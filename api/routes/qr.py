from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from api.deps import CurrentAccount, SessionDep
from api.routes.handovers import ERRORS
from wasteflow.permissions import Action, require
from wasteflow.schemas import CancelRequest, HandoverPublic, ScanResolve, SitePublic
from wasteflow.services import keys, plaques
from wasteflow.types import SiteKind

router = APIRouter(tags=["qr"])
Fmt = Literal["png", "svg"]


@router.get("/api/v1/qr/keys")
def list_keys(session: SessionDep, account: CurrentAccount) -> list[dict[str, Any]]:
    """Signing keys with their status; phones keep the public keys to check plaques offline."""
    require(account.role, Action.read_sites)
    return keys.key_views(session)


@router.post("/api/v1/qr/keys/rotate", status_code=201, responses=ERRORS)
def rotate_key(session: SessionDep, account: CurrentAccount) -> dict[str, Any]:
    """Retire the active key and start signing with a new one (admin)."""
    row = keys.rotate(session=session, actor=account)
    return {"kid": row.kid, "public_key": row.public_key, "status": "active"}


@router.post("/api/v1/qr/keys/{kid}/revoke", responses=ERRORS)
def revoke_key(
    session: SessionDep, account: CurrentAccount, kid: str, body: CancelRequest
) -> dict[str, Any]:
    """Revoke a key: every code it signed is refused from now on (admin)."""
    row = keys.revoke(session=session, actor=account, kid=kid, reason=body.reason)
    return {"kid": row.kid, "status": "revoked"}


@router.post("/api/v1/qr/resolve", responses=ERRORS)
def resolve_scan(
    session: SessionDep, account: CurrentAccount, body: ScanResolve
) -> dict[str, SitePublic | HandoverPublic | str | None]:
    """Check a scanned payload's signature and say what it denotes (a site or a handover)."""
    return plaques.resolve(session=session, account=account, payload=body.payload)


@router.get("/api/v1/sites/{code}/plaque", responses=ERRORS)
def site_plaque_payload(session: SessionDep, account: CurrentAccount, code: str) -> dict[str, str]:
    """The signed payload printed on a site's plaque (admins, and accounts acting for it)."""
    return {"site": code, "payload": plaques.site_payload(session, account, code)}


@router.get("/api/v1/sites/{code}/plaque.{fmt}", responses=ERRORS, response_class=Response)
def site_plaque_image(
    session: SessionDep, account: CurrentAccount, code: str, fmt: Fmt
) -> Response:
    """A site's plaque QR as PNG or SVG (admins, and accounts acting for it)."""
    data, media = plaques.image(plaques.site_payload(session, account, code), fmt)
    return Response(data, media_type=media)


@router.get("/api/v1/handovers/{ref}/manifest.{fmt}", responses=ERRORS, response_class=Response)
def manifest_image(session: SessionDep, account: CurrentAccount, ref: str, fmt: Fmt) -> Response:
    """A handover's manifest QR as PNG or SVG (it travels with the load)."""
    data, media = plaques.image(plaques.handover_payload(session, account, ref), fmt)
    return Response(data, media_type=media)


@router.get("/api/v1/plaques/sheet", response_class=HTMLResponse, responses=ERRORS)
def plaque_sheet(
    session: SessionDep,
    account: CurrentAccount,
    codes: Annotated[list[str] | None, Query(description="site codes")] = None,
    region: Annotated[str | None, Query(description="region code")] = None,
    kind: SiteKind | None = None,
    lang: Literal["zh", "en"] = "zh",
) -> HTMLResponse:
    """A printable A4 page of plaques: the QR, then site name, code and township (admin)."""
    return HTMLResponse(
        plaques.plaque_sheet(
            session=session, account=account, codes=codes, region=region, kind=kind, lang=lang
        )
    )
