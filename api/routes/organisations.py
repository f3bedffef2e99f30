from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from api.deps import CurrentAccount, OptIdemKey, SessionDep, answered
from wasteflow.schemas import ErrorBody
from wasteflow.schemas_admin import (
    OrganisationCreate,
    OrganisationPublic,
    OrganisationUpdate,
    RoundCreate,
    RoundPublic,
    RoundUpdate,
)
from wasteflow.services import organisations, rounds
from wasteflow.types import OrganisationKind

router = APIRouter(prefix="/api/v1", tags=["organisations"])

_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


@router.get("/organisations", response_model=list[OrganisationPublic])
def list_organisations(
    session: SessionDep,
    account: CurrentAccount,
    kind: OrganisationKind | None = None,
    region: Annotated[
        str | None, Query(description="region code; includes regions under it")
    ] = None,
) -> list[OrganisationPublic]:
    """Companies, cooperatives and governments that run sites (everyone reads them)."""
    return organisations.list_organisations(
        session=session, actor=account, kind=kind, region=region
    )


@router.post(
    "/organisations",
    response_model=OrganisationPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE_ERRORS,
)
def create_organisation(
    session: SessionDep,
    account: CurrentAccount,
    body: OrganisationCreate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> OrganisationPublic:
    """Register an organisation (admin)."""
    created, made = organisations.create_organisation(
        session=session, actor=account, data=body, idempotency_key=idempotency_key
    )
    answered(response, made, created=True)
    return created


@router.get(
    "/organisations/{code}",
    response_model=OrganisationPublic,
    responses={404: {"model": ErrorBody}},
)
def get_organisation(session: SessionDep, account: CurrentAccount, code: str) -> OrganisationPublic:
    """One organisation, with how many sites and accounts it has."""
    return organisations.read_organisation(session=session, actor=account, code=code)


@router.patch("/organisations/{code}", response_model=OrganisationPublic, responses=_WRITE_ERRORS)
def update_organisation(
    session: SessionDep,
    account: CurrentAccount,
    code: str,
    body: OrganisationUpdate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> OrganisationPublic:
    """Edit an organisation's name, kind, region or credit code (admin)."""
    changed, made = organisations.update_organisation(
        session=session, actor=account, code=code, data=body, idempotency_key=idempotency_key
    )
    answered(response, made)
    return changed


@router.get("/rounds", response_model=list[RoundPublic], tags=["rounds"])
def list_rounds(
    session: SessionDep,
    account: CurrentAccount,
    collection_point: Annotated[str | None, Query(description="site code")] = None,
) -> list[RoundPublic]:
    """Collection rounds: every one for admins and officials; a collector's own; those of
    the collection points an operator runs."""
    return rounds.list_rounds(session=session, account=account, collection_point=collection_point)


@router.post(
    "/rounds",
    response_model=RoundPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE_ERRORS,
    tags=["rounds"],
)
def create_round(
    session: SessionDep,
    account: CurrentAccount,
    body: RoundCreate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> RoundPublic:
    """Create a collection round (admin): its collection point, villages and sources. A
    source already on another round is a 409 naming it."""
    created, made = rounds.create_round(
        session=session, actor=account, data=body, idempotency_key=idempotency_key
    )
    answered(response, made, created=True)
    return created


@router.get(
    "/rounds/{code}",
    response_model=RoundPublic,
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
    tags=["rounds"],
)
def get_round(session: SessionDep, account: CurrentAccount, code: str) -> RoundPublic:
    """One collection round, with its sources and collectors."""
    return rounds.read_round(session=session, account=account, code=code)


@router.patch(
    "/rounds/{code}", response_model=RoundPublic, responses=_WRITE_ERRORS, tags=["rounds"]
)
def update_round(
    session: SessionDep,
    account: CurrentAccount,
    code: str,
    body: RoundUpdate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> RoundPublic:
    """Edit a round (admin): name, collection point, villages, sources (lists replaced)."""
    changed, made = rounds.update_round(
        session=session, actor=account, code=code, data=body, idempotency_key=idempotency_key
    )
    answered(response, made)
    return changed
