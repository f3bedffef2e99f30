"""The field app's device keys, receipts by ticket and paged intake lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CurrentAccount, OptIdemKey, SessionDep, answered
from api.routes.handovers import ERRORS
from wasteflow.schemas import DevicePublic
from wasteflow.schemas_field import (
    DeviceCreate,
    DeviceRevoke,
    FieldLoads,
    IntakeView,
    ReceiptByTicket,
    TicketReceiptPublic,
    TicketReceipts,
)
from wasteflow.services import devices, field
from wasteflow.services.handovers import tickets
from wasteflow.types import utcnow

router = APIRouter(tags=["field"])


@router.post(
    "/api/v1/field/devices",
    response_model=DevicePublic,
    status_code=201,
    responses={
        **ERRORS,
        200: {"model": DevicePublic, "description": "this key was registered before: its device"},
    },
)
def register_device(
    session: SessionDep,
    account: CurrentAccount,
    body: DeviceCreate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> DevicePublic:
    """Register this phone's Ed25519 public key (at login): the answer's ``device_id`` goes
    in every ticket the phone signs. The same key again is answered with the same device."""
    view, created = devices.register(
        session=session, account=account, data=body, idempotency_key=idempotency_key
    )
    answered(response, created, created=True)
    return view


@router.get("/api/v1/field/devices", response_model=list[DevicePublic], responses=ERRORS)
def list_devices(
    session: SessionDep,
    account: CurrentAccount,
    username: Annotated[
        str | None,
        Query(alias="account", description="whose devices (admin); default: your own"),
    ] = None,
) -> list[DevicePublic]:
    """An account's registered phones, newest first, with their status."""
    return devices.list_devices(session=session, actor=account, username=username)


@router.post(
    "/api/v1/field/devices/{device_id}/revoke", response_model=DevicePublic, responses=ERRORS
)
def revoke_device(
    session: SessionDep,
    account: CurrentAccount,
    device_id: str,
    body: DeviceRevoke,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> DevicePublic:
    """Revoke a lost phone's key (admin): its tickets are refused from now on."""
    view, done = devices.revoke(
        session=session,
        actor=account,
        device_id=device_id,
        reason=body.reason,
        idempotency_key=idempotency_key,
    )
    answered(response, done)
    return view


@router.get("/api/v1/field/intake", response_model=FieldLoads, responses=ERRORS)
def field_intake(
    session: SessionDep,
    account: CurrentAccount,
    view: IntakeView = "in_transit",
    cursor: Annotated[str | None, Query(description="the previous page's `next`")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> FieldLoads:
    """One page of the loads on their way to your sites (oldest first), or of those received
    there in the last 30 days (newest first), with the whole list's count and kg."""
    return field.intake(session=session, account=account, view=view, cursor=cursor, limit=limit)


@router.post(
    "/api/v1/handovers/receipt/ticket",
    response_model=TicketReceiptPublic,
    responses={
        **ERRORS,
        202: {
            "model": TicketReceiptPublic,
            "description": "the load is not here yet: the receipt waits for it (pending)",
        },
    },
)
def confirm_receipt_by_ticket(
    session: SessionDep,
    account: CurrentAccount,
    body: ReceiptByTicket,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> TicketReceiptPublic:
    """Confirm intake by the load's ticket (the QR the recording phone shows): applied at once
    if the load is here (200), else kept until it arrives and applied then (202)."""
    view, done = tickets.confirm_by_ticket(
        session=session, account=account, data=body, idempotency_key=idempotency_key
    )
    answered(response, done)
    if done and view.state == "pending":
        response.status_code = 202
    return view


@router.get("/api/v1/handovers/receipt/tickets", response_model=TicketReceipts, responses=ERRORS)
def my_ticket_receipts(
    session: SessionDep,
    account: CurrentAccount,
    days: Annotated[int, Query(ge=1, le=90, description="resolved ones of these days")] = 14,
) -> TicketReceipts:
    """Your receipts by ticket that waited for their load: still waiting, or what became of
    them (applied to HO-…, or refused and why)."""
    since = utcnow() - timedelta(days=days)
    return TicketReceipts(
        items=tickets.ticket_receipts(session=session, account=account, since=since)
    )
