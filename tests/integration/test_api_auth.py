"""Logging in, bearer tokens, and the one error shape."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import PASSWORD, make_account
from wasteflow.db import head_revision
from wasteflow.models import ApiToken
from wasteflow.security import token_hash
from wasteflow.types import Role, utcnow


def _login(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_password_login_returns_a_bearer_token_for_me(client: TestClient, session: Session) -> None:
    actor = make_account(session, Role.official)
    r = _login(client, actor.account.username, PASSWORD)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["account"]["role"] == "official"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == actor.account.username
    # Only the hash is stored.
    session.rollback()  # end this session's read snapshot: the login happened after it
    stored = session.execute(sa.select(ApiToken.token_hash)).scalars().all()
    assert body["access_token"] not in stored and token_hash(body["access_token"]) in stored


def test_wrong_password_and_unknown_user_are_both_401_with_the_error_shape(
    client: TestClient, session: Session
) -> None:
    actor = make_account(session, Role.collector)
    for username, password in (
        (actor.account.username, "wrong password!"),
        ("nobody-here", PASSWORD),
    ):
        r = _login(client, username, password)
        assert r.status_code == 401
        assert r.json() == {"error": "Unauthorized", "detail": "wrong username or password"}
        assert r.headers["www-authenticate"] == "Bearer"


def test_missing_bad_revoked_and_expired_tokens_are_refused(
    client: TestClient, session: Session
) -> None:
    assert client.get("/api/v1/auth/me").status_code == 401
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nonsense"}).json()["detail"]
        == "unknown or malformed token"
    )

    actor = make_account(session, Role.collector)
    assert client.post("/api/v1/auth/logout", headers=actor.headers).status_code == 204
    r = client.get("/api/v1/auth/me", headers=actor.headers)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]

    other = make_account(session, Role.collector)
    session.execute(
        sa.update(ApiToken)
        .where(ApiToken.token_hash == token_hash(other.token))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    r = client.get("/api/v1/auth/me", headers=other.headers)
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_login_form_missing_fields_is_422_naming_them(client: TestClient) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "x"})
    assert r.status_code == 422
    assert r.json()["error"] == "Invalid" and "password: required" in r.json()["detail"]


def test_unknown_route_and_wrong_method_use_the_error_shape(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "NotFound"
    r = client.delete("/healthz")
    assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed"


def test_healthz_reports_database_and_schema(client: TestClient, engine: sa.Engine) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"] == engine.dialect.name
    assert body["schema_revision"] == head_revision() and body["schema_up_to_date"] is True


def test_openapi_lists_stable_operation_ids_and_the_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"login", "list_sites", "create_site", "create_account", "list_regions"} <= ops
    assert "ErrorBody" in spec["components"]["schemas"]
