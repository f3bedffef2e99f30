from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from api.deps import CurrentAccount, Limit, Offset, OptIdemKey, RowId, SessionDep, answered
from wasteflow.schemas import ErrorBody, Page
from wasteflow.schemas_declarations import (
    DeclarationCreate,
    DeclarationPublic,
    unwrap_kind_errors,
)
from wasteflow.services import declarations
from wasteflow.types import DeclarationKind, RecordStatus


class _DeclarationRoute(APIRoute):
    """Reports body errors by the field the client sent, not by the union member's tag."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise RequestValidationError(
                    unwrap_kind_errors(list(exc.errors())), body=exc.body
                ) from None

        return route_handler


router = APIRouter(
    prefix="/api/v1/declarations", tags=["declarations"], route_class=_DeclarationRoute
)

_WRITE_ERRORS: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorBody},
    422: {"model": ErrorBody},
}
Body_ = Annotated[DeclarationCreate, Body(description="fields depend on `kind`")]


@router.get("", response_model=Page[DeclarationPublic])
def list_declarations(
    session: SessionDep,
    account: CurrentAccount,
    kind: DeclarationKind | None = None,
    region: Annotated[
        str | None, Query(description="region code; includes regions under it")
    ] = None,
    site: Annotated[str | None, Query(description="source site code")] = None,
    material: Annotated[str | None, Query(description="material code")] = None,
    year: Annotated[
        int | None, Query(ge=1900, le=2999, description="periods overlapping that year")
    ] = None,
    status: Literal["active", "superseded", "all"] = "active",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[DeclarationPublic]:
    """Declarations (official, admin), oldest first, filtered and paginated."""
    return declarations.list_declarations(
        session=session,
        actor=account,
        kind=kind,
        region_code=region,
        site_code=site,
        material=material,
        year=year,
        status=None if status == "all" else RecordStatus(status),
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{declaration_id}", response_model=DeclarationPublic, responses={404: {"model": ErrorBody}}
)
def get_declaration(
    session: SessionDep, account: CurrentAccount, declaration_id: RowId
) -> DeclarationPublic:
    """One declaration by id, whatever its status (official, admin)."""
    return declarations.get_declaration(
        session=session, actor=account, declaration_id=declaration_id
    )


@router.post(
    "",
    response_model=DeclarationPublic,
    status_code=201,
    responses=_WRITE_ERRORS | {409: {"model": ErrorBody}},
)
def record_declaration(
    session: SessionDep,
    account: CurrentAccount,
    body: Body_,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> DeclarationPublic:
    """Record a declaration (admin): a denominator (manure produced and collectable straw are
    estimated), or utilisation a holder declares itself (`manure_self_use`,
    `straw_household_use`).

    A second active declaration of the same thing (kind, region, site, material, period; the
    animal of a head count, the use of households' straw, the mass basis of manure spread)
    is a 409 whose `existing_id` names the first: correct that one instead.
    """
    recorded, made = declarations.record_declaration(
        session=session, actor=account, data=body, idempotency_key=idempotency_key
    )
    answered(response, made, created=True)
    return recorded


@router.post(
    "/{declaration_id}/correct",
    response_model=DeclarationPublic,
    status_code=201,
    responses=_WRITE_ERRORS | {404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
def correct_declaration(
    session: SessionDep,
    account: CurrentAccount,
    declaration_id: RowId,
    body: Body_,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> DeclarationPublic:
    """Correct an active declaration with a full new body (admin); the old one is superseded.

    409 when the declaration was already superseded (`newest_id` names the one to correct),
    or when the new body declares what another active declaration does (`existing_id`).
    """
    recorded, made = declarations.correct_declaration(
        session=session,
        actor=account,
        declaration_id=declaration_id,
        data=body,
        idempotency_key=idempotency_key,
    )
    answered(response, made, created=True)
    return recorded
