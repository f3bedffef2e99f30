"""Password guesses are throttled per account name and per client address (429 with
Retry-After, growing locks, an audit event), and a right password after the lock works."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import PASSWORD, make_account
from wasteflow.config import get_settings
from wasteflow.models import AuditEvent, LoginThrottle
from wasteflow.types import Role, utcnow


def _token(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _end_locks(session: Session, key: str) -> None:
    """Move the key's lock into the past, as if its window had gone by."""
    session.rollback()
    session.execute(
        sa.update(LoginThrottle)
        .where(LoginThrottle.key == key)
        .values(locked_until=utcnow() - timedelta(seconds=1))
    )
    session.commit()


def test_an_account_is_locked_after_five_wrong_passwords_and_opens_again(
    client: TestClient, session: Session
) -> None:
    name = make_account(session, Role.official).account.username
    for _ in range(5):
        assert _token(client, name, "wrong password!").status_code == 401
    r = _token(client, name, "wrong password!")
    assert r.status_code == 401  # the sixth failure is counted, and locks
    locked = _token(client, name, PASSWORD)  # even the right password waits
    assert locked.status_code == 429, locked.text
    assert 0 < int(locked.headers["Retry-After"]) <= 30
    assert locked.json()["error"] == "TooManyRequests"
    session.rollback()
    events = (
        session.execute(
            sa.select(AuditEvent).where(
                AuditEvent.action == "auth.throttle", AuditEvent.entity_id == f"account:{name}"
            )
        )
        .scalars()
        .all()
    )
    assert [e.after["locked_for_s"] for e in events] == [30]
    # Once the window has passed: one more wrong password locks twice as long…
    _end_locks(session, f"account:{name}")
    assert _token(client, name, "wrong password!").status_code == 401
    again = _token(client, name, PASSWORD)
    assert again.status_code == 429 and 30 < int(again.headers["Retry-After"]) <= 60
    # …and the right one, after it, logs in and clears the count.
    _end_locks(session, f"account:{name}")
    assert _token(client, name, PASSWORD).status_code == 200
    session.rollback()
    assert session.get(LoginThrottle, f"account:{name}") is None


def test_guesses_at_names_that_do_not_exist_are_locked_alike(client: TestClient) -> None:
    for _ in range(6):
        _token(client, "nobody-by-this-name", "whatever123")
    r = _token(client, "nobody-by-this-name", "whatever123")
    assert r.status_code == 429  # says nothing about whether the name exists


def test_an_address_guessing_at_many_accounts_is_locked(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "login_address_free_failures", 8)
    monkeypatch.setattr(get_settings(), "login_account_free_failures", 100)
    session.rollback()
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == "address:testclient"))
    session.commit()
    victims = [make_account(session, Role.collector).account.username for _ in range(3)]
    statuses = [_token(client, v, "wrong password!").status_code for v in victims * 3]
    assert statuses == [401] * 9  # the ninth failure locks the address
    r = _token(client, victims[0], PASSWORD)
    assert r.status_code == 429, r.text
    # The dashboard's login form says it in words, with the same Retry-After.
    page = client.get("/dashboard/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post(
        "/dashboard/login",
        data={"username": victims[1], "password": PASSWORD, "csrf": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert "密码错误次数过多" in r.text
    session.rollback()
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == "address:testclient"))
    session.commit()
