from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import Engine

from api.batching import Batcher
from api.deps import (
    BearerToken,
    CurrentAccount,
    Limit,
    Offset,
    OptIdemKey,
    SessionDep,
    answered,
    as_account,
    current_account,
)
from api.responses import register_download
from wasteflow.db import new_session
from wasteflow.models import Account
from wasteflow.schemas import (
    BatchRequest,
    BatchResponse,
    CancelRequest,
    ErrorBody,
    HandoverCreate,
    HandoverHistory,
    HandoverPublic,
    Page,
    ReceiptByManifest,
    ReceiptCorrection,
    ReceiptCreate,
)
from wasteflow.services import handovers
from wasteflow.types import HandoverStatus

router = APIRouter(prefix="/api/v1/handovers", tags=["handovers"])

IdemKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{8,64}$",
        description="a fresh random key per handover (a UUID); a retry sends the same key",
    ),
]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}


def _created_status(created: bool) -> tuple[int, dict[str, str]]:
    """201 for a record made now; 200 and Idempotent-Replayed for a retry of an earlier one."""
    if created:
        return status.HTTP_201_CREATED, {}
    return status.HTTP_200_OK, {"Idempotent-Replayed": "true"}


def _json(
    model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    # The model is the declared response model already: dumped once, not re-validated.
    return Response(model.model_dump_json(), status_code, headers, media_type="application/json")


Scan = tuple[str | None, HandoverCreate, str]  # bearer token, body, Idempotency-Key


def _record_scans(engine: Engine, scans: Sequence[Scan]) -> list[Any]:
    """A group of scans, in one worker thread and one session: each authenticated and
    recorded on its own terms (``services.handovers.record_handovers``), each answered."""
    out: list[Any] = [None] * len(scans)
    todo: list[tuple[int, Account, HandoverCreate, str]] = []
    with new_session(engine) as session:
        for i, (token, body, key) in enumerate(scans):
            try:
                todo.append((i, current_account(session, token), body, key))
            except Exception as exc:  # this request's answer (401); the others go on
                out[i] = exc
        recorded = handovers.record_handovers(session, [(a, b, k) for _, a, b, k in todo])
    for (i, *_), answer in zip(todo, recorded, strict=True):
        out[i] = answer
    return out


def _scan_batcher(request: Request) -> Batcher[Scan, tuple[HandoverPublic, bool]]:
    state = request.app.state
    if getattr(state, "scan_batcher", None) is None:
        engine = state.engine
        state.scan_batcher = Batcher(lambda scans: _record_scans(engine, scans))
    return state.scan_batcher  # type: ignore[no-any-return]


@router.post("", response_model=HandoverPublic, status_code=201, responses=ERRORS)
async def record_handover(
    request: Request, token: BearerToken, body: HandoverCreate, idempotency_key: IdemKey
) -> Response:
    """Record a scanned load: 201 when created, 200 (Idempotent-Replayed) for a retry.

    Scans arriving together are checked, written and answered in one worker thread
    (``api.batching``), each with its own answer; each answer means its record is stored."""
    view, created = await _scan_batcher(request).submit((token, body, idempotency_key))
    return _json(view, *_created_status(created))


@router.post("/batch", response_model=BatchResponse, responses=ERRORS)
async def record_batch(request: Request, token: BearerToken, body: BatchRequest) -> Response:
    """An offline phone's outbox: each item has its own result (created, duplicate, error)."""
    result = await as_account(
        request,
        token,
        lambda session, account: handovers.record_batch(
            session=session, account=account, items=body.items
        ),
    )
    return _json(result)


@router.get("", response_model=Page[HandoverPublic], responses=ERRORS)
def list_handovers(
    session: SessionDep,
    account: CurrentAccount,
    start: Annotated[date | None, Query(alias="from", description="first day, inclusive")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day, inclusive")] = None,
    township: Annotated[str | None, Query(description="region code")] = None,
    site: str | None = None,
    material: str | None = None,
    status: HandoverStatus | None = None,
    flag: Annotated[
        Literal["far_scan", "mass_discrepancy"] | None,
        Query(description="only handovers flagged so"),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The handover register, newest first."""
    return handovers.list_handovers(
        session=session,
        account=account,
        start=start,
        end=end,
        township=township,
        site=site,
        material=material,
        status=status,
        flag=flag,
        limit=limit,
        offset=offset,
    )


@router.get("/export", responses=ERRORS, response_class=Response)
def export_handovers(
    session: SessionDep,
    account: CurrentAccount,
    format: Literal["csv", "xlsx"] = "csv",
    lang: Literal["zh", "en"] = "zh",
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    township: str | None = None,
    site: str | None = None,
    material: str | None = None,
    status: HandoverStatus | None = None,
    flag: Annotated[
        Literal["far_scan", "mass_discrepancy"] | None,
        Query(description="only handovers flagged so"),
    ] = None,
) -> Response:
    """The handover register as CSV (streamed, any size) or XLSX, Chinese headers by default."""
    filters: dict[str, Any] = {
        "start": start,
        "end": end,
        "township": township,
        "site": site,
        "material": material,
        "status": status,
        "flag": flag,
    }
    return register_download(session, account, filters, format, lang)


@router.post("/receipt", response_model=HandoverPublic, responses=ERRORS)
def confirm_receipt_by_manifest(
    session: SessionDep,
    account: CurrentAccount,
    body: ReceiptByManifest,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> HandoverPublic:
    """Confirm intake by the scanned manifest QR of the load."""
    view, done = handovers.confirm_receipt(
        session=session,
        account=account,
        manifest=body.manifest,
        data=body,
        idempotency_key=idempotency_key,
    )
    answered(response, done)
    return view


@router.get("/{ref}", response_model=HandoverPublic, responses=ERRORS)
def get_handover(session: SessionDep, account: CurrentAccount, ref: str) -> HandoverPublic:
    """One handover by code or id, with its manifest payload."""
    return handovers.read_handover(session=session, account=account, ref=ref)


@router.get("/{ref}/history", response_model=HandoverHistory, responses=ERRORS)
def handover_history(session: SessionDep, account: CurrentAccount, ref: str) -> dict[str, Any]:
    """Every audit event of a handover, and the records that correct or return it."""
    return handovers.history(session=session, account=account, ref=ref)


@router.post("/{ref}/receipt", response_model=HandoverPublic, responses=ERRORS)
def confirm_receipt(
    session: SessionDep,
    account: CurrentAccount,
    ref: str,
    body: ReceiptCreate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> HandoverPublic:
    """Confirm the weighed intake at the receiving site (once)."""
    view, done = handovers.confirm_receipt(
        session=session, account=account, ref=ref, data=body, idempotency_key=idempotency_key
    )
    answered(response, done)
    return view


@router.post(
    "/{ref}/receipt/correct", response_model=HandoverPublic, status_code=201, responses=ERRORS
)
def correct_receipt(
    session: SessionDep,
    account: CurrentAccount,
    ref: str,
    body: ReceiptCorrection,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> HandoverPublic:
    """Correct a confirmed receipt (receiving site): a new record with the corrected intake
    names the one it corrects, which becomes superseded; the reason is kept."""
    view, created = handovers.correct_receipt(
        session=session, account=account, ref=ref, data=body, idempotency_key=idempotency_key
    )
    answered(response, created, created=True)
    return view


@router.post("/{ref}/cancel", response_model=HandoverPublic, responses=ERRORS)
def cancel_handover(
    session: SessionDep,
    account: CurrentAccount,
    ref: str,
    body: CancelRequest,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> HandoverPublic:
    """The author withdraws a load before receipt, with a reason."""
    view, done = handovers.cancel_handover(
        session=session,
        account=account,
        ref=ref,
        reason=body.reason,
        idempotency_key=idempotency_key,
    )
    answered(response, done)
    return view


@router.post("/{ref}/correct", response_model=HandoverPublic, status_code=201, responses=ERRORS)
def correct_handover(
    session: SessionDep,
    account: CurrentAccount,
    ref: str,
    body: Annotated[HandoverCreate, Body()],
    idempotency_key: IdemKey,
    response: Response,
) -> HandoverPublic:
    """Replace an in-transit handover by a corrected record that names it."""
    view, created = handovers.correct_handover(
        session=session, account=account, ref=ref, data=body, idempotency_key=idempotency_key
    )
    answered(response, created, created=True)
    return view
