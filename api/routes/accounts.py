from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from api.deps import CurrentAccount, OptIdemKey, SessionDep, answered
from wasteflow.schemas import AccountCreate, AccountPublic, ErrorBody
from wasteflow.schemas_admin import AccountHistory, AccountUpdate, PasswordReset
from wasteflow.services import account_admin, accounts
from wasteflow.types import Role

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])

_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


@router.get("", response_model=list[AccountPublic], responses={403: {"model": ErrorBody}})
def list_accounts(
    session: SessionDep,
    account: CurrentAccount,
    role: Role | None = None,
    active: bool | None = None,
    organisation: Annotated[str | None, Query(description="organisation code")] = None,
) -> list[AccountPublic]:
    """Every account with its bindings and last login (admin), filtered by role, by whether
    it is active and by organisation."""
    return accounts.list_accounts(
        session=session, actor=account, role=role, active=active, organisation=organisation
    )


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
    """Create an account bound to an organisation and to the sites it acts for (admin).
    Bindings that make no sense for the role (a processor bound to a farm, an official given
    sites, rounds for anyone but a collector) are a 422 naming them."""
    created, made = accounts.create_account(
        session=session, actor=account, data=body, idempotency_key=idempotency_key
    )
    answered(response, made, created=True)
    return created


@router.get(
    "/{username}",
    response_model=AccountPublic,
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
def get_account(session: SessionDep, account: CurrentAccount, username: str) -> AccountPublic:
    """One account (admin)."""
    return account_admin.read_account(session=session, actor=account, username=username)


@router.patch("/{username}", response_model=AccountPublic, responses=_WRITE_ERRORS)
def update_account(
    session: SessionDep,
    account: CurrentAccount,
    username: str,
    body: AccountUpdate,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> AccountPublic:
    """Edit an account (admin): display name, role, organisation, sites, rounds (lists are
    replaced). The bindings must make sense for the role; an admin cannot demote themselves
    or the last active admin. Takes effect on the account's next request."""
    changed, made = account_admin.update_account(
        session=session,
        actor=account,
        username=username,
        data=body,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return changed


@router.post("/{username}/disable", response_model=AccountPublic, responses=_WRITE_ERRORS)
def disable_account(
    session: SessionDep,
    account: CurrentAccount,
    username: str,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> AccountPublic:
    """Disable an account (admin): it cannot log in, and its tokens are revoked at once."""
    changed, made = account_admin.set_active(
        session=session,
        actor=account,
        username=username,
        active=False,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return changed


@router.post("/{username}/enable", response_model=AccountPublic, responses=_WRITE_ERRORS)
def enable_account(
    session: SessionDep,
    account: CurrentAccount,
    username: str,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> AccountPublic:
    """Enable a disabled account (admin): it logs in again."""
    changed, made = account_admin.set_active(
        session=session,
        actor=account,
        username=username,
        active=True,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return changed


@router.post("/{username}/password-reset", response_model=AccountPublic, responses=_WRITE_ERRORS)
def reset_password(
    session: SessionDep,
    account: CurrentAccount,
    username: str,
    body: PasswordReset,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> AccountPublic:
    """Set a temporary password (admin). The account's tokens are revoked and its login lock
    lifted; it logs in with the temporary password and must change it
    (`POST /api/v1/auth/password`) before anything else."""
    changed, made = account_admin.reset_password(
        session=session,
        actor=account,
        username=username,
        data=body,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return changed


@router.get(
    "/{username}/history",
    response_model=AccountHistory,
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
def account_history(session: SessionDep, account: CurrentAccount, username: str) -> dict[str, Any]:
    """Every change to an account, oldest first: who, when, before → after (admin)."""
    return account_admin.account_history(session=session, actor=account, username=username)
