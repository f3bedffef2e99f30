"""Admins create accounts bound to sites; others cannot."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import PASSWORD, admin, make_account, make_site, unique
from wasteflow.types import Role, SiteKind


def test_admin_creates_an_operator_bound_to_a_site_who_can_log_in(
    client: TestClient, session: Session
) -> None:
    site = make_site(session, SiteKind.collection_point)
    username = unique("op").lower()
    r = client.post(
        "/api/v1/accounts",
        headers=admin(session).headers,
        json={
            "username": username,
            "display_name": "回收点操作员",
            "role": "site_operator",
            "password": PASSWORD,
            "sites": [site.code],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["sites"] == [site.code] and PASSWORD not in r.text
    assert "password_hash" not in r.text and "argon2" not in r.text
    login = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert login.status_code == 200 and login.json()["account"]["sites"] == [site.code]
    listed = client.get("/api/v1/accounts", headers=admin(session).headers).json()
    assert username in {a["username"] for a in listed}


def test_account_refusals(client: TestClient, session: Session) -> None:
    h = admin(session).headers
    base = {
        "username": unique("u").lower(),
        "display_name": "x",
        "role": "collector",
        "password": PASSWORD,
    }
    assert client.post("/api/v1/accounts", headers=h, json=base).status_code == 201
    r = client.post("/api/v1/accounts", headers=h, json=base)
    assert r.status_code == 409 and r.json()["field"] == "username"
    r = client.post(
        "/api/v1/accounts",
        headers=h,
        json=base | {"username": unique("u").lower(), "password": "short"},
    )
    assert r.status_code == 422 and r.json()["field"] == "password"
    r = client.post(
        "/api/v1/accounts",
        headers=h,
        json=base | {"username": unique("u").lower(), "role": "mayor"},
    )
    assert r.status_code == 422 and r.json()["field"] == "role"
    r = client.post(
        "/api/v1/accounts",
        headers=h,
        json=base | {"username": unique("u").lower(), "sites": ["NO-SUCH-SITE"]},
    )
    assert r.status_code == 422 and r.json()["field"] == "sites"
    official = make_account(session, Role.official)
    r = client.post(
        "/api/v1/accounts", headers=official.headers, json=base | {"username": unique("u").lower()}
    )
    assert r.status_code == 403
    assert client.get("/api/v1/accounts", headers=official.headers).status_code == 403
