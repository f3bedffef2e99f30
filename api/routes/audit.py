from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentAccount, SessionDep
from api.routes.handovers import ERRORS
from wasteflow.permissions import Action, require
from wasteflow.services.audit import verify_chain

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/verify", responses=ERRORS)
def verify_audit_chain(session: SessionDep, account: CurrentAccount) -> dict[str, Any]:
    """Recompute the audit log's hash chain and report the first broken link, if any."""
    require(account.role, Action.verify_audit)
    return verify_chain(session).__dict__
