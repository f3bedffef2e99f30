from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import CurrentAccount, Limit, Offset, OptIdemKey, SessionDep, answered
from wasteflow.permissions import Action, require
from wasteflow.schemas import ErrorBody, Page, SiteCreate, SitePublic
from wasteflow.services import sites
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
