"""Request-scoped dependencies: the database session and the current account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from wasteflow.errors import Unauthorized
from wasteflow.models import Account
from wasteflow.services.accounts import account_for_token

TOKEN_URL = "/api/v1/auth/token"
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    # Opens and closes only; each service commits its own unit of work.
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_current_account(
    session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Account:
    if not token:
        raise Unauthorized("missing bearer token: log in at " + TOKEN_URL)
    return account_for_token(session=session, token=token)


CurrentAccount = Annotated[Account, Depends(get_current_account)]
BearerToken = Annotated[str | None, Depends(oauth2_scheme)]
