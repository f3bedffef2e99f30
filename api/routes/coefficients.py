from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import CurrentAccount, OptIdemKey, RowId, SessionDep, answered
from wasteflow.schemas import ErrorBody
from wasteflow.schemas_admin import (
    CoefficientCreate,
    CoefficientSetFromLatest,
    CoefficientSetPublic,
    CoefficientUpdate,
    TargetCreate,
    TargetPublic,
    TargetUpdate,
    Year,
)
from wasteflow.services import reference_admin

router = APIRouter(prefix="/api/v1", tags=["reference"])

_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
}
YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]


@router.get("/coefficient-sets", response_model=list[CoefficientSetPublic])
def list_coefficient_sets(
    session: SessionDep, account: CurrentAccount, year: YearQuery = None
) -> list[CoefficientSetPublic]:
    """Every coefficient set by year, each value with its unit, source and verified flag."""
    return reference_admin.list_sets(session=session, actor=account, year=year)


@router.get(
    "/coefficient-sets/{code}",
    response_model=CoefficientSetPublic,
    responses={404: {"model": ErrorBody}},
)
def get_coefficient_set(
    session: SessionDep, account: CurrentAccount, code: str
) -> CoefficientSetPublic:
    """One coefficient set with every value."""
    return reference_admin.read_set(session=session, actor=account, code=code)


@router.post(
    "/coefficient-sets/{year}/from-latest",
    response_model=CoefficientSetPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE_ERRORS,
)
def create_coefficient_set(
    session: SessionDep,
    account: CurrentAccount,
    year: Annotated[Year, Path(description="the year the new set is for")],
    response: Response,
    body: CoefficientSetFromLatest | None = None,
    idempotency_key: OptIdemKey = None,
) -> CoefficientSetPublic:
    """Create a year's coefficient set (admin) as a copy of the set the year uses now (the
    latest earlier one): figures of that year use it from now on. Edit its values next."""
    created, made = reference_admin.create_from_latest(
        session=session,
        actor=account,
        year=year,
        data=body or CoefficientSetFromLatest(),
        idempotency_key=idempotency_key,
    )
    answered(response, made, created=True)
    return created


@router.post(
    "/coefficient-sets/{code}/values",
    response_model=CoefficientSetPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE_ERRORS,
)
def add_coefficient(
    session: SessionDep,
    account: CurrentAccount,
    code: str,
    body: CoefficientCreate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> CoefficientSetPublic:
    """Add a coefficient the set does not have yet (admin), with its unit, source and
    verified flag; one it has already is a 409 (edit it with PATCH)."""
    changed, made = reference_admin.add_value(
        session=session, actor=account, code=code, data=body, idempotency_key=idempotency_key
    )
    answered(response, made, created=True)
    return changed


@router.patch(
    "/coefficient-sets/{code}/values/{subject}/{parameter}",
    response_model=CoefficientSetPublic,
    responses=_WRITE_ERRORS,
)
def update_coefficient(
    session: SessionDep,
    account: CurrentAccount,
    code: str,
    subject: str,
    parameter: str,
    body: CoefficientUpdate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> CoefficientSetPublic:
    """Edit one value of a set (admin): a new value comes with its source and verified flag;
    a verified value names its own source."""
    changed, made = reference_admin.update_value(
        session=session,
        actor=account,
        code=code,
        subject=subject,
        parameter=parameter,
        data=body,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return changed


@router.get("/targets", response_model=list[TargetPublic], responses={422: {"model": ErrorBody}})
def list_targets(
    session: SessionDep,
    account: CurrentAccount,
    year: YearQuery = None,
    indicator: Annotated[str | None, Query(max_length=32)] = None,
) -> list[TargetPublic]:
    """Every target; with `year`, the one that applies to each indicator and region that year
    (a plan's target carried past its last year says `carried_forward`)."""
    return reference_admin.list_targets(
        session=session, actor=account, year=year, indicator=indicator
    )


@router.post(
    "/targets",
    response_model=TargetPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE_ERRORS,
)
def create_target(
    session: SessionDep,
    account: CurrentAccount,
    body: TargetCreate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> TargetPublic:
    """Set an indicator's target for a run of years (admin); one overlapping another of the
    same indicator and region is a 409 naming it (`existing_id`)."""
    created, made = reference_admin.create_target(
        session=session, actor=account, data=body, idempotency_key=idempotency_key
    )
    answered(response, made, created=True)
    return created


@router.patch("/targets/{target_id}", response_model=TargetPublic, responses=_WRITE_ERRORS)
def update_target(
    session: SessionDep,
    account: CurrentAccount,
    target_id: RowId,
    body: TargetUpdate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> TargetPublic:
    """Edit a target's value, comparator, source or last year (admin)."""
    changed, made = reference_admin.update_target(
        session=session,
        actor=account,
        target_id=target_id,
        data=body,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return changed
