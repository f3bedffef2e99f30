from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import BearerToken, CurrentAccount, SessionDep
from wasteflow.schemas import AccountPublic, ErrorBody, TokenResponse
from wasteflow.services import accounts

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
def logout(session: SessionDep, account: CurrentAccount, token: BearerToken) -> None:
    """Revoke the bearer token this request carries."""
    assert token is not None  # CurrentAccount already refused a missing token
    accounts.revoke_token(session=session, token=token)


@router.get("/me", response_model=AccountPublic)
def me(session: SessionDep, account: CurrentAccount) -> AccountPublic:
    """The account the bearer token belongs to, with the sites it acts for."""
    return accounts.account_public(session, account)
