"""Anomalies as work: the list with each one's state, one anomaly with its history, and the
writes that assign, comment, close and reopen it (``wasteflow.services.anomaly_work``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from api.deps import CurrentAccount, OptIdemKey, SessionDep, answered
from wasteflow.schemas import ErrorBody
from wasteflow.schemas_anomalies import (
    AnomalyDetail,
    AnomalyList,
    AnomalyWork,
    AssignBody,
    CloseBody,
    CommentBody,
    ReopenBody,
)
from wasteflow.services import anomaly_work

router = APIRouter(prefix="/api/v1/anomalies", tags=["anomalies"])

AnomalyId = Annotated[
    str,
    Path(
        max_length=anomaly_work.MAX_KEY,
        description="the anomaly's stable id, as the list gives it",
        examples=["refused_load:HO-20251001-6GSMG"],
    ),
]
_READ_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    422: {"model": ErrorBody},
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = _READ_ERRORS | {409: {"model": ErrorBody}}


@router.get("", response_model=AnomalyList, responses=_READ_ERRORS)
def list_anomalies(
    session: SessionDep,
    account: CurrentAccount,
    period: Annotated[str, Query(description="2025, 2025-Q2 or 2025-03")],
    state: Literal["open", "assigned", "resolved", "dismissed", "all"] = "all",
    region: Annotated[
        str | None, Query(description="a region code; anomalies at its sites")
    ] = None,
    assignee: Annotated[str | None, Query(max_length=64, description="a username, or `me`")] = None,
) -> dict[str, Any]:
    """The period's anomalies with the work on each (state, assignee, closing reason) and the
    count in each state. Officials see every one; other accounts those at the sites they act
    for and those assigned to them."""
    return anomaly_work.list_anomalies(
        session=session,
        account=account,
        period=period,
        state=state,
        region=region,
        assignee=assignee,
    )


@router.get("/{anomaly_id}", response_model=AnomalyDetail, responses=_READ_ERRORS)
def get_anomaly(session: SessionDep, account: CurrentAccount, anomaly_id: AnomalyId) -> Any:
    """One anomaly, the work on it, its comments and every change (oldest first)."""
    return anomaly_work.anomaly_detail(session=session, account=account, key=anomaly_id)


@router.post("/{anomaly_id}/assign", response_model=AnomalyWork, responses=_WRITE_ERRORS)
def assign_anomaly(
    session: SessionDep,
    account: CurrentAccount,
    anomaly_id: AnomalyId,
    body: AssignBody,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> AnomalyWork:
    """Assign the anomaly to an official, admin, site operator or processor (officials and
    admins); a closed one must be reopened first."""
    work, made = anomaly_work.assign(
        session=session,
        actor=account,
        key=anomaly_id,
        assignee=body.assignee,
        note=body.note,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return work


@router.post(
    "/{anomaly_id}/comments",
    response_model=AnomalyWork,
    status_code=201,
    responses=_WRITE_ERRORS,
)
def comment_anomaly(
    session: SessionDep,
    account: CurrentAccount,
    anomaly_id: AnomalyId,
    body: CommentBody,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> AnomalyWork:
    """Add a comment (officials, admins and the account it is assigned to)."""
    work, made = anomaly_work.comment(
        session=session,
        actor=account,
        key=anomaly_id,
        text=body.text,
        idempotency_key=idempotency_key,
    )
    answered(response, made, created=True)
    return work


@router.post("/{anomaly_id}/close", response_model=AnomalyWork, responses=_WRITE_ERRORS)
def close_anomaly(
    session: SessionDep,
    account: CurrentAccount,
    anomaly_id: AnomalyId,
    body: CloseBody,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> AnomalyWork:
    """Close it as resolved or dismissed, with the reason (officials and admins; the account
    it is assigned to may close it as resolved)."""
    work, made = anomaly_work.close(
        session=session,
        actor=account,
        key=anomaly_id,
        resolution=body.resolution,
        reason=body.reason,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return work


@router.post("/{anomaly_id}/reopen", response_model=AnomalyWork, responses=_WRITE_ERRORS)
def reopen_anomaly(
    session: SessionDep,
    account: CurrentAccount,
    anomaly_id: AnomalyId,
    response: Response,
    body: ReopenBody | None = None,
    idempotency_key: OptIdemKey = None,
) -> AnomalyWork:
    """Open a closed anomaly again (officials and admins): assigned again to whoever had it,
    else open."""
    work, made = anomaly_work.reopen(
        session=session,
        actor=account,
        key=anomaly_id,
        reason=body.reason if body else None,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return work
