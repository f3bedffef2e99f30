from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import CurrentAccount, OptIdemKey, SessionDep, answered
from wasteflow.schemas import AccountCreate, AccountPublic, ErrorBody
from wasteflow.services import accounts

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


@router.get("", response_model=list[AccountPublic], responses={403: {"model": ErrorBody}})
def list_accounts(session: SessionDep, account: CurrentAccount) -> list[AccountPublic]:
    """Every account (admin)."""
    return accounts.list_accounts(session=session, actor=account)


@router.post(
    "",
    response_model=AccountPublic,
    status_code=status.HTTP_201_CREATED,
    responses={403: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def create_account(
    session: SessionDep,
    account: CurrentAccount,
    body: AccountCreate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> AccountPublic:
    """Create an account bound to an organisation and to the sites it acts for (admin)."""
    created, made = accounts.create_account(
        session=session, actor=account, data=body, idempotency_key=idempotency_key
    )
    answered(response, made, created=True)
    return created
