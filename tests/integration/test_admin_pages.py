"""The admin pages as a browser's requests see them (TestClient, cookie session), on SQLite
and PostgreSQL: admins only (a 403 page for other roles, the login for nobody); every form
checks its token and writes once per key; a refusal comes back next to its field in the
reader's words, never as a 500; a reset password must be changed before any other page."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import PASSWORD, VILLAGE, make_account, make_site, unique
from wasteflow.schemas_admin import PasswordReset
from wasteflow.services import account_admin
from wasteflow.types import Role, SiteKind

ADMIN_PAGES = [
    "/dashboard/admin",
    "/dashboard/admin/sites",
    "/dashboard/admin/sites/new",
    "/dashboard/admin/sites/upload",
    "/dashboard/admin/accounts",
    "/dashboard/admin/accounts/new",
    "/dashboard/admin/organisations",
    "/dashboard/admin/rounds",
    "/dashboard/admin/coefficients",
    "/dashboard/admin/targets",
]


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/dashboard/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text[:300]
    return client.post(
        "/dashboard/login",
        data={"username": username, "password": password, "csrf": csrf.group(1)},
        follow_redirects=False,
    )


def form_token(client: TestClient, path: str) -> dict[str, str]:
    """The hidden fields of the first form on a page: its token and idempotency key."""
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    main = page.text[page.text.index("<main") :]  # the header's logout form has its own
    csrf = re.search(r'name="csrf" value="([^"]+)"', main)
    key = re.search(r'name="key" value="([^"]+)"', main)
    assert csrf and key
    return {"csrf": csrf.group(1), "key": key.group(1)}


@pytest.fixture
def admin_client(client: TestClient, session: Session) -> TestClient:
    boss = make_account(session, Role.admin)
    assert log_in(client, boss.account.username).status_code == 303
    return client


def test_only_admins_open_the_admin_pages(client: TestClient, session: Session) -> None:
    first = client.get("/dashboard/admin/sites", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/dashboard/login")
    for role in (Role.official, Role.site_operator, Role.collector):
        client.cookies.clear()
        assert log_in(client, make_account(session, role).account.username).status_code == 303
        for path in ADMIN_PAGES:
            r = client.get(path)
            assert r.status_code == 403, (role, path)
            assert "管理页面仅向管理员开放" in r.text
        home = client.get("/dashboard")
        assert 'id="nav-admin"' not in home.text
        posted = client.post("/dashboard/admin/sites/new", data={"code": "X"})
        assert posted.status_code == 403


def test_every_admin_page_opens_for_an_admin(admin_client: TestClient) -> None:
    for path in ADMIN_PAGES:
        for lang in ("zh", "en"):
            r = admin_client.get(path, params={"lang": lang})
            assert r.status_code == 200, (path, lang, r.text[:300])
            assert not re.search(r">\s*(admin|err|field|hint)\.[a-z_]+\s*<", r.text), path
    assert 'id="nav-admin"' in admin_client.get("/dashboard/admin").text


def test_a_form_without_its_token_changes_nothing(
    admin_client: TestClient, session: Session
) -> None:
    code = unique("PG")
    body = {"code": code, "name": "回收点", "kind": "collection_point", "region_code": VILLAGE,
            "materials": "film.agri"}  # fmt: skip
    r = admin_client.post("/dashboard/admin/sites/new", data=body | {"csrf": "forged"})
    assert r.status_code == 422 and "表单已过期" in r.text
    assert admin_client.get(f"/dashboard/admin/sites/{code}").status_code == 404


def test_a_site_made_through_the_form_once_per_key(admin_client: TestClient) -> None:
    code = unique("PG")
    hidden = form_token(admin_client, "/dashboard/admin/sites/new")
    body = hidden | {
        "code": code.lower(),  # typed in lower case: codes are capitals
        "name": "表单回收点",
        "kind": "collection_point",
        "region_code": VILLAGE,
        "lat": "29.41",
        "lon": "107.55",
        "capacity_kg": "12,000",
        "materials": ["film.agri", "hh.other"],
    }
    r = admin_client.post("/dashboard/admin/sites/new", data=body, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/dashboard/admin/sites/{code}?done=created"
    again = admin_client.post("/dashboard/admin/sites/new", data=body, follow_redirects=False)
    assert again.status_code == 303  # the resent form gets the first answer, not a 409
    page = admin_client.get(f"/dashboard/admin/sites/{code}?done=created")
    assert "已创建。" in page.text and 'value="12000"' in page.text
    history = admin_client.get(f"/dashboard/admin/sites/{code}/history")
    assert history.text.count('class="event-action"') == 1


def test_refusals_come_back_next_to_their_field(admin_client: TestClient, session: Session) -> None:
    farm = make_site(session, SiteKind.source)
    hidden = form_token(admin_client, "/dashboard/admin/accounts/new")
    body = hidden | {
        "username": unique("plant").lower(),
        "display_name": "处理企业账户",
        "role": "processor",
        "password": "a long password",
        "sites_add": farm.code,
    }
    r = admin_client.post("/dashboard/admin/accounts/new", data=body)
    assert r.status_code == 422
    error = re.search(r'<p class="field-error" id="e-sites">(.*?)</p>', r.text, re.S)
    assert error and "处理企业账户只能绑定" in error.group(1) and "产生源" in error.group(1)
    # An official given sites: the same field, other words.
    body |= {"role": "official", "key": uuid.uuid4().hex}
    r = admin_client.post("/dashboard/admin/accounts/new?lang=en", data=body)
    error = re.search(r'<p class="field-error" id="e-sites">(.*?)</p>', r.text, re.S)
    assert r.status_code == 422 and error
    assert "acts for every site through the role, not by binding" in error.group(1)
    # A site with one coordinate; a mistyped number; an unknown organisation (in Chinese again).
    hidden = form_token(admin_client, "/dashboard/admin/sites/new?lang=zh")
    site = hidden | {"code": unique("PG"), "name": "x", "kind": "collection_point",
                     "region_code": VILLAGE, "lat": "29.4", "materials": "film.agri"}  # fmt: skip
    r = admin_client.post("/dashboard/admin/sites/new", data=site)
    assert r.status_code == 422 and 'id="e-lat"' in r.text and "纬度和经度要么都填" in r.text
    r = admin_client.post("/dashboard/admin/sites/new", data=site | {"lon": "东经107"})
    assert r.status_code == 422 and 'id="e-lon"' in r.text and "请填写数字。" in r.text
    r = admin_client.post(
        "/dashboard/admin/sites/new",
        data=site | {"lon": "107.5", "organisation_code": "NO-SUCH-ORG"},
    )
    assert r.status_code == 422 and 'id="e-organisation_code"' in r.text
    assert "找不到：NO-SUCH-ORG。" in r.text


def test_a_reset_password_is_changed_before_anything_else(
    admin_client: TestClient, session: Session
) -> None:
    user = make_account(session, Role.collector).account.username
    hidden = form_token(admin_client, f"/dashboard/admin/accounts/{user}")
    page = admin_client.get(f"/dashboard/admin/accounts/{user}").text
    reset_key = re.search(r'id="reset-form">\s*<input[^>]*>\s*<input[^>]*value="([^"]+)"', page)
    assert reset_key
    r = admin_client.post(
        f"/dashboard/admin/accounts/{user}/password-reset",
        data={"csrf": hidden["csrf"], "key": reset_key.group(1)},
    )
    temporary = re.search(r'id="temp-password-value">([^<]+)<', r.text)
    assert r.status_code == 200 and temporary
    resent = admin_client.post(
        f"/dashboard/admin/accounts/{user}/password-reset",
        data={"csrf": hidden["csrf"], "key": reset_key.group(1)},
    )
    assert 'id="temp-password-value"' not in resent.text  # shown once

    admin_client.cookies.clear()
    r = log_in(admin_client, user, temporary.group(1))
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/password"
    r = admin_client.get("/dashboard/handovers", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/password?next=%2Fdashboard%2Fhandovers"
    page = admin_client.get(r.headers["location"])
    assert "管理员已为您重置密码" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text[page.text.index("<main") :])
    assert csrf
    change = {"csrf": csrf.group(1), "next": "/dashboard/handovers",
              "current_password": temporary.group(1)}  # fmt: skip
    r = admin_client.post(
        "/dashboard/password",
        data=change | {"new_password": "a new long password", "confirm_password": "different"},
    )
    assert r.status_code == 422 and "两次输入的新密码不一样" in r.text
    r = admin_client.post(
        "/dashboard/password",
        data=change
        | {"new_password": "a new long password"}
        | {"confirm_password": "a new long password"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/handovers?done=password"
    assert admin_client.get("/dashboard/handovers").status_code == 200


def test_one_waiting_to_change_a_reset_password_can_log_out(
    client: TestClient, session: Session
) -> None:
    boss = make_account(session, Role.admin).account
    user = make_account(session, Role.site_operator).account.username
    account_admin.reset_password(
        session=session, actor=boss, username=user, data=PasswordReset(password="temporary-42x")
    )
    assert log_in(client, user, "temporary-42x").headers["location"] == "/dashboard/password"
    page = client.get("/dashboard/password").text
    csrf = re.search(r'action="/dashboard/logout"[^>]*>\s*<input[^>]*value="([^"]+)"', page)
    assert csrf
    out = client.post("/dashboard/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].endswith("reason=logged_out")
    after = client.get("/dashboard/password", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/dashboard/login")
