"""Throttling password guesses: per account name and per client address.

Policy (stated in the README): failed logins are counted per account name (whether or not the
account exists, so a lock says nothing about which names do) and per client address. After
``login_account_free_failures`` failures of one name, or ``login_address_free_failures`` from
one address, each further failure locks that name or address for 30 s, doubled at every
failure, up to ``login_max_lock_s`` (15 min). While locked, a login is refused with 429 and
``Retry-After`` without the password being looked at. Failures older than
``login_forget_after_s`` are forgotten; a correct password once the lock has ended works and
clears the name's count (an address's count only fades: logging in to one's own account must
not reset the guesses made at others'). Each lock is an audit event.

Counts live in the database (``login_throttle``), so every worker and process sees the same.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.config import get_settings
from wasteflow.db import unit_of_work
from wasteflow.errors import TooManyRequests
from wasteflow.models import LoginThrottle
from wasteflow.services.audit import record_event
from wasteflow.types import utcnow

BASE_LOCK_S = 30


def keys_for(username: str, client: str | None) -> list[str]:
    """The throttle keys a login attempt counts against: its account name and its address."""
    keys = [f"account:{username.strip().lower()[:140]}"]
    if client:
        keys.append(f"address:{client[:140]}")
    return keys


def _rows(session: Session, keys: list[str], lock: bool = False) -> dict[str, LoginThrottle]:
    stmt = sa.select(LoginThrottle).where(col(LoginThrottle.key).in_(keys))
    if lock:
        stmt = stmt.with_for_update()
    return {r.key: r for r in session.execute(stmt).scalars()}


def check(session: Session, keys: list[str]) -> None:
    """Refuse (429) while any of the keys is locked, saying for how long."""
    now = utcnow()
    waits = [
        r.locked_until - now
        for r in _rows(session, keys).values()
        if r.locked_until is not None and r.locked_until > now
    ]
    session.rollback()  # end the read: the login's own transaction comes after
    if waits:
        seconds = math.ceil(max(waits).total_seconds())
        raise TooManyRequests(
            f"too many failed logins: try again in {seconds} s", retry_after_s=seconds
        )


def _free(key: str) -> int:
    s = get_settings()
    return (
        s.login_account_free_failures
        if key.startswith("account:")
        else (s.login_address_free_failures)
    )


def failed(session: Session, keys: list[str]) -> datetime | None:
    """Count a failed login against every key; lock those past their free failures. Returns
    the latest lock's end, if one was set."""
    settings = get_settings()
    now = utcnow()
    forget = timedelta(seconds=settings.login_forget_after_s)
    locked_until: datetime | None = None
    with unit_of_work(session):
        rows = _rows(session, keys, lock=True)
        for key in keys:
            row = rows.get(key)
            if row is None:
                row = LoginThrottle(key=key, failures=0, last_failure_at=now)
                session.add(row)
            elif row.last_failure_at < now - forget:
                row.failures, row.locked_until = 0, None
            row.failures += 1
            row.last_failure_at = now
            over = row.failures - _free(key)
            if over > 0:
                seconds = min(BASE_LOCK_S * 2 ** (over - 1), settings.login_max_lock_s)
                row.locked_until = now + timedelta(seconds=seconds)
                locked_until = max(locked_until or row.locked_until, row.locked_until)
                session.flush()
                record_event(
                    session,
                    account_id=None,
                    action="auth.throttle",
                    entity="login",
                    entity_id=key,
                    after={"failures": row.failures, "locked_for_s": seconds},
                )
    return locked_until


def succeeded(session: Session, keys: list[str]) -> None:
    """A correct password: the account name's count starts again (the address's fades)."""
    account_keys = [k for k in keys if k.startswith("account:")]
    with unit_of_work(session):
        session.execute(sa.delete(LoginThrottle).where(col(LoginThrottle.key).in_(account_keys)))
