from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentAccount, SessionDep
from wasteflow.schemas import FieldBundle
from wasteflow.services import field

router = APIRouter(prefix="/api/v1/field", tags=["field"])


@router.get("/bundle", response_model=FieldBundle)
def field_bundle(session: SessionDep, account: CurrentAccount) -> FieldBundle:
    """Everything the field app keeps to work offline: the account, its sites, its collection
    rounds with their sources and collection point, materials, routes and plaque keys."""
    return field.bundle(session=session, account=account)
