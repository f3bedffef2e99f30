from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import (
    AccountPendingPassword,
    BearerToken,
    CurrentAccount,
    OptIdemKey,
    SessionDep,
    answered,
)
from wasteflow.schemas import AccountPublic, ErrorBody, TokenResponse
from wasteflow.schemas_admin import PasswordChange
from wasteflow.services import account_admin, accounts

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={
        401: {"model": ErrorBody, "description": "wrong username or password"},
        429: {"model": ErrorBody, "description": "too many failed logins; see Retry-After"},
    },
)
def login(
    request: Request,
    session: SessionDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenResponse:
    """OAuth2 password flow: exchange a username and password for a bearer token. Repeated
    wrong passwords for a name or from an address are refused for a while (429)."""
    token, expires, account = accounts.login(
        session=session,
        username=form.username,
        password=form.password,
        client=request.client.host if request.client else None,
    )
    return TokenResponse(
        access_token=token, expires_at=expires, account=accounts.account_public(session, account)
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: SessionDep, account: AccountPendingPassword, token: BearerToken) -> None:
    """Revoke the bearer token this request carries."""
    assert token is not None  # CurrentAccount already refused a missing token
    accounts.revoke_token(session=session, token=token)


@router.get("/me", response_model=AccountPublic)
def me(session: SessionDep, account: CurrentAccount) -> AccountPublic:
    """The account the bearer token belongs to, with the sites it acts for."""
    return accounts.account_public(session, account)


@router.post(
    "/password",
    response_model=AccountPublic,
    responses={
        409: {"model": ErrorBody},
        429: {"model": ErrorBody, "description": "too many wrong passwords; see Retry-After"},
    },
)
def change_password(
    request: Request,
    session: SessionDep,
    account: AccountPendingPassword,
    token: BearerToken,
    body: PasswordChange,
    response: Response,
    idempotency_key: OptIdemKey = None,
) -> AccountPublic:
    """Change one's own password, giving the current one: the only call an account whose
    password an admin reset may make. Its other tokens are revoked; this one keeps working.
    A wrong current password counts as a failed login."""
    assert token is not None  # the dependency already refused a missing token
    changed, made = account_admin.change_password(
        session=session,
        account=account,
        token=token,
        data=body,
        client=request.client.host if request.client else None,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return changed
