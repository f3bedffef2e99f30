from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import CurrentAccount, SessionDep
from api.routes.handovers import ERRORS
from wasteflow.permissions import Action, require
from wasteflow.services import checkpoints
from wasteflow.services.audit_verify import AuditReport, verify

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class Checkpoint(BaseModel):
    at: datetime
    events: int = Field(description="events in the chain up to and including its head")
    last_event_id: int = Field(description="the chain's head event when it was signed")
    head_hash: str
    public_key: str = Field(description="hex of the Ed25519 key that signed it")
    signature: str = Field(description="hex Ed25519 signature of the fields above")


class CheckpointExport(BaseModel):
    format: str = Field(description=checkpoints.EXPORT_FORMAT)
    exported_at: str
    public_keys: list[str]
    checkpoints: list[Checkpoint]


@router.get("/verify", responses=ERRORS)
def verify_audit_chain(
    session: SessionDep,
    account: CurrentAccount,
    records: Annotated[
        bool, Query(description="also check each handover row and the totals against the log")
    ] = True,
) -> AuditReport:
    """Verify the audit log: its hash chain, its signed checkpoints, and (unless
    `records=false`) each handover row and the totals against it."""
    require(account.role, Action.verify_audit)
    return verify(session, records=records)


@router.get("/checkpoints", responses=ERRORS)
def export_checkpoints(session: SessionDep, account: CurrentAccount) -> CheckpointExport:
    """Every signed checkpoint, to archive outside the system
    (`wasteflow audit verify --checkpoints FILE` checks the chain against it)."""
    require(account.role, Action.verify_audit)
    return CheckpointExport.model_validate(checkpoints.export(session))


@router.post("/checkpoints", responses=ERRORS)
def sign_checkpoint(session: SessionDep, account: CurrentAccount) -> Checkpoint | None:
    """Sign the chain's present length and head now; `null` if nothing was added since the
    last checkpoint (signing again adds nothing)."""
    require(account.role, Action.sign_checkpoint)
    cp = checkpoints.sign(session)
    return None if cp is None else Checkpoint.model_validate(cp, from_attributes=True)
