from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentAccount, SessionDep
from wasteflow.schemas import FieldBundle
from wasteflow.services import field

router = APIRouter(prefix="/api/v1/field", tags=["field"])


@router.get("/bundle", response_model=FieldBundle)
def field_bundle(
    session: SessionDep,
    account: CurrentAccount,
    device: Annotated[str | None, Query(description="this phone's device id")] = None,
) -> FieldBundle:
    """Everything the field app keeps to work offline: the account, its sites, its collection
    rounds with their sources and collection point, materials, routes and plaque keys; for a
    receiving site the device keys of the phones that send it loads, and revoked devices."""
    return field.bundle(session=session, account=account, device=device)
