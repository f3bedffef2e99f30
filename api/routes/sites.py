from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from api.deps import CurrentAccount, Limit, Offset, OptIdemKey, SessionDep, answered
from wasteflow.permissions import Action, require
from wasteflow.schemas import ErrorBody, Page, SiteCreate, SitePublic
from wasteflow.schemas_admin import SiteHistory, SiteUpdate, StatusChange
from wasteflow.services import site_admin, sites
from wasteflow.types import SiteKind

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])


@router.get("", response_model=Page[SitePublic])
def list_sites(
    session: SessionDep,
    account: CurrentAccount,
    region: Annotated[
        str | None, Query(description="region code; includes regions under it")
    ] = None,
    kind: SiteKind | None = None,
    material: Annotated[str | None, Query(description="material code the site handles")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[SitePublic]:
    """Sites, filtered and paginated (ordered by code)."""
    require(account.role, Action.read_sites)
    return sites.list_sites(
        session=session,
        region_code=region,
        kind=kind,
        material=material,
        limit=limit,
        offset=offset,
    )


@router.get("/{code}", response_model=SitePublic, responses={404: {"model": ErrorBody}})
def get_site(session: SessionDep, account: CurrentAccount, code: str) -> SitePublic:
    """One site by its code."""
    require(account.role, Action.read_sites)
    return sites.site_public(session, [sites.get_site(session=session, code=code)])[0]


@router.post(
    "",
    response_model=SitePublic,
    status_code=status.HTTP_201_CREATED,
    responses={403: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def create_site(
    session: SessionDep,
    account: CurrentAccount,
    body: SiteCreate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> SitePublic:
    """Register a site (admin)."""
    site, made = sites.create_site(
        session=session, actor=account, data=body, idempotency_key=idempotency_key
    )
    answered(response, made, created=True)
    return site


_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


@router.patch("/{code}", response_model=SitePublic, responses=_WRITE_ERRORS)
def update_site(
    session: SessionDep,
    account: CurrentAccount,
    code: str,
    body: SiteUpdate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> SitePublic:
    """Edit a site (admin): only the fields given change; `null` clears one that may be empty.
    Lists (materials, routes) are replaced. Its code and kind never change."""
    site, made = site_admin.update_site(
        session=session, actor=account, code=code, data=body, idempotency_key=idempotency_key
    )
    answered(response, made)
    return site


@router.post("/{code}/deactivate", response_model=SitePublic, responses=_WRITE_ERRORS)
def deactivate_site(
    session: SessionDep,
    account: CurrentAccount,
    code: str,
    response: Response,
    body: StatusChange | None = None,
    idempotency_key: OptIdemKey = None,
) -> SitePublic:
    """Deactivate a site (admin): no new load may leave or reach it; loads on their way can
    still be confirmed. Its records stay as they are."""
    site, made = site_admin.set_active(
        session=session,
        actor=account,
        code=code,
        active=False,
        reason=body.reason if body else None,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return site


@router.post("/{code}/reactivate", response_model=SitePublic, responses=_WRITE_ERRORS)
def reactivate_site(
    session: SessionDep,
    account: CurrentAccount,
    code: str,
    response: Response,
    body: StatusChange | None = None,
    idempotency_key: OptIdemKey = None,
) -> SitePublic:
    """Reactivate a deactivated site (admin)."""
    site, made = site_admin.set_active(
        session=session,
        actor=account,
        code=code,
        active=True,
        reason=body.reason if body else None,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return site


@router.get(
    "/{code}/history",
    response_model=SiteHistory,
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
def site_history(session: SessionDep, account: CurrentAccount, code: str) -> dict[str, Any]:
    """A site and every change to it, oldest first: who, when, before → after (admins and
    officials)."""
    return site_admin.site_history(session=session, actor=account, code=code)
