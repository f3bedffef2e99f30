"""Request-scoped dependencies: the database session and the current account."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Path, Query, Request, Response
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from wasteflow.db import new_session
from wasteflow.errors import Forbidden, Unauthorized
from wasteflow.models import Account
from wasteflow.services.accounts import account_for_token

T = TypeVar("T")

TOKEN_URL = "/api/v1/auth/token"
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    # Opens and closes only; each service commits its own unit of work.
    with new_session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

# Ids and offsets stay inside what the database columns hold (INTEGER ids on PostgreSQL): a
# number past them is a 422 naming it, not an overflow in the database driver.
MAX_INT = 2**31 - 1
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=500, description="rows to return")]
RowId = Annotated[int, Path(ge=1, le=MAX_INT, description="the record's id")]


PASSWORD_URL = "/api/v1/auth/password"


def current_account(session: Session, token: str | None, *, pending_ok: bool = False) -> Account:
    """The account of the bearer token. One whose password an admin reset may do nothing but
    change it (``pending_ok``: the operations that allow it)."""
    if not token:
        raise Unauthorized("missing bearer token: log in at " + TOKEN_URL)
    account = account_for_token(session=session, token=token)
    if account.must_change_password and not pending_ok:
        raise Forbidden(
            "password: an administrator reset this account's password; change it with "
            f"POST {PASSWORD_URL} before anything else",
            field="password",
        )
    return account


def get_current_account(
    session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Account:
    return current_account(session, token)


def get_account_pending_password(
    session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Account:
    return current_account(session, token, pending_ok=True)


CurrentAccount = Annotated[Account, Depends(get_current_account)]
# For changing one's password and logging out: allowed while a reset waits to be changed.
AccountPendingPassword = Annotated[Account, Depends(get_account_pending_password)]
BearerToken = Annotated[str | None, Depends(oauth2_scheme)]


async def as_account(
    request: Request, token: str | None, work: Callable[[Session, Account], T]
) -> T:
    """Run ``work(session, account)`` in one worker thread, with its own session.

    For a phone's outbox (a batch of scans): the session and account dependencies above each
    cost a thread-pool hop of their own (entering and leaving the session generator, resolving
    the account), and a sync route's answer is validated in yet another; an async route that
    hands its whole unit of work to one thread pays a single hop. (Single scans go further:
    those arriving together share one hop, ``api.batching``.)
    """

    def run() -> T:
        with new_session(request.app.state.engine) as session:
            return work(session, current_account(session, token))

    return await run_in_threadpool(run)


OptIdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{8,64}$",
        description="a fresh random key per request (a UUID); a retry sends the same key and "
        "gets the first answer (`Idempotent-Replayed: true`), never a second effect",
    ),
]


def answered(response: Response, made_now: bool, created: bool = False) -> None:
    """Status and headers of a write's answer: 201 for a record created now (when the
    operation creates one), 200 and ``Idempotent-Replayed`` for a retry of an earlier one."""
    if made_now:
        if created:
            response.status_code = 201
        return
    response.status_code = 200
    response.headers["Idempotent-Replayed"] = "true"
