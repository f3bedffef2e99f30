"""Request and response bodies of the field app's own endpoints: device keys, receipts by
ticket, and the paged intake lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from wasteflow.schemas import HandoverPublic, ReceiptCreate, Strict


class DeviceCreate(Strict):
    """What a phone registers at login: the public half of the key it just made."""

    public_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")] = Field(
        description="raw Ed25519 public key (32 bytes), base64url without padding"
    )
    label: Annotated[str, StringConstraints(max_length=128)] | None = Field(
        default=None, description="what the phone calls itself, for the admin's list"
    )


class DeviceRevoke(Strict):
    reason: Annotated[str, StringConstraints(min_length=3, max_length=256)]


class TicketLoad(BaseModel):
    """What a load's ticket says (signed by the phone that recorded the load)."""

    ident: str = Field(description="the ticket's identity: device id and the load's key")
    device_id: str
    recorded_by: str = Field(description="the account that owns the device")
    from_site: str
    to_site: str
    material: str
    declared_mass_kg: float
    units: int | None
    device_time: datetime


class ReceiptByTicket(ReceiptCreate):
    ticket: Annotated[str, StringConstraints(min_length=1, max_length=420)] = Field(
        description="the scanned text of the load's ticket QR"
    )


class TicketReceiptPublic(BaseModel):
    """A receipt confirmed by ticket: ``applied`` to its handover, ``pending`` until the load
    reaches the server, or ``refused`` when the load that arrived disagrees with the ticket."""

    state: Literal["applied", "pending", "refused"]
    ticket: TicketLoad
    handover: HandoverPublic | None = Field(
        default=None, description="the load, once the server has it"
    )
    reason: str | None = Field(default=None, description="why a pending receipt was refused")
    received_mass_kg: float
    refused_mass_kg: float
    refusal_reason: str | None
    route: str | None
    received_at: datetime
    received_by: str


class FieldLoad(HandoverPublic):
    returned_kg: float = Field(
        default=0, description="refused mass already sent back (returns not withdrawn)"
    )


class FieldLoads(BaseModel):
    """One page of loads for the field app's intake: ``next`` fetches the following page."""

    items: list[FieldLoad]
    total: int = Field(description="how many loads the whole list holds")
    total_kg: float = Field(description="their declared kg")
    next: str | None = Field(description="cursor of the next page, None on the last")


class TicketReceipts(BaseModel):
    items: list[TicketReceiptPublic]


IntakeView = Literal["in_transit", "received"]
