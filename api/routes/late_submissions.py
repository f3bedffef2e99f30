"""Late records with approval: a collector submits a scan older than the lateness window, an
admin approves it (it is recorded as the collector's scan) or rejects it with a reason."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Response

from api.deps import CurrentAccount, Limit, Offset, OptIdemKey, RowId, SessionDep, answered
from wasteflow.schemas import ErrorBody, Page
from wasteflow.services import late
from wasteflow.services.late import LateDecision, LateSubmissionCreate, LateSubmissionPublic

router = APIRouter(prefix="/api/v1/late-submissions", tags=["late submissions"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}
IdemKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{8,64}$",
        description="the scan's own key (a UUID): the approved load is recorded under it",
    ),
]
NoBody = Annotated[LateDecision | None, Body()]


@router.post(
    "",
    response_model=LateSubmissionPublic,
    status_code=202,
    responses=ERRORS | {200: {"model": LateSubmissionPublic, "description": "a replay"}},
)
def submit_late(
    session: SessionDep,
    account: CurrentAccount,
    body: LateSubmissionCreate,
    response: Response,
    idempotency_key: IdemKey,
) -> LateSubmissionPublic:
    """Submit a scan older than the lateness window (30 days) for an administrator's approval:
    202 with the submission, which waits as ``pending``. Every other rule of a scan is
    checked now; a retry with the same Idempotency-Key gets the same submission (200)."""
    view, made = late.submit_late(
        session=session, account=account, data=body, idempotency_key=idempotency_key
    )
    if not made:
        answered(response, made)
    return view


@router.get("", response_model=Page[LateSubmissionPublic], responses=ERRORS)
def list_late_submissions(
    session: SessionDep,
    account: CurrentAccount,
    state: Literal["pending", "approved", "rejected"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[LateSubmissionPublic]:
    """Late submissions, oldest first: all of them for admins, one's own for the others."""
    return late.list_late(session=session, account=account, state=state, limit=limit, offset=offset)


@router.get("/{submission_id}", response_model=LateSubmissionPublic, responses=ERRORS)
def get_late_submission(
    session: SessionDep, account: CurrentAccount, submission_id: RowId
) -> LateSubmissionPublic:
    return late.get_late(session=session, account=account, submission_id=submission_id)


@router.post("/{submission_id}/approve", response_model=LateSubmissionPublic, responses=ERRORS)
def approve_late_submission(
    session: SessionDep,
    account: CurrentAccount,
    submission_id: RowId,
    response: Response,
    body: NoBody = None,
    idempotency_key: OptIdemKey = None,
) -> LateSubmissionPublic:
    """Approve (admin): the load is recorded through the scan path as the submitter's, the
    lateness rule alone lifted; the approval is audited under the admin."""
    view, made = late.decide_late(
        session=session,
        account=account,
        submission_id=submission_id,
        approve=True,
        data=body or LateDecision(),
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return view


@router.post("/{submission_id}/reject", response_model=LateSubmissionPublic, responses=ERRORS)
def reject_late_submission(
    session: SessionDep,
    account: CurrentAccount,
    submission_id: RowId,
    body: LateDecision,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> LateSubmissionPublic:
    """Reject (admin) with a reason; nothing is recorded, and the rejection is audited."""
    view, made = late.decide_late(
        session=session,
        account=account,
        submission_id=submission_id,
        approve=False,
        data=body,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return view
