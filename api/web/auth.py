"""Dashboard sessions: the API's bearer token kept in a cookie, and CSRF checks for its forms.

The browser never sees the token from script: it lives in an HttpOnly, SameSite=Lax cookie,
so a page on another site can neither read it nor send it with a cross-site POST. The two
forms that change state (login, logout) are POST only and carry a token as well:

- login: a random value set in a short-lived cookie and repeated in the form (double
  submit), so a foreign page cannot log a browser into an account of its choosing;
- logout: a digest of the session token, which only a page rendered for that session knows.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from wasteflow.errors import Unauthorized
from wasteflow.models import Account
from wasteflow.services.accounts import account_for_token
from wasteflow.types import utcnow

SESSION_COOKIE = "wf_session"
LOGIN_CSRF_COOKIE = "wf_login_csrf"
LANG_COOKIE = "lang"
LOGIN_PATH = "/dashboard/login"
HOME_PATH = "/dashboard"
PASSWORD_PATH = "/dashboard/password"


class LoginRequired(Exception):
    """Raised by the dashboard's account dependency; the route class turns it into a redirect."""

    def __init__(self, next_url: str, reason: str | None = None):
        super().__init__(next_url)
        self.next_url = next_url
        self.reason = reason


def _secure(request: Request) -> bool:
    # Behind a TLS-terminating proxy the scheme is whatever uvicorn's --proxy-headers say.
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str, expires: datetime) -> None:
    max_age = max(0, int((expires - utcnow()).total_seconds()))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )


def new_login_csrf() -> str:
    """A fresh double-submit value for the login form (its hidden field and its cookie)."""
    return secrets.token_urlsafe(24)


def set_login_csrf(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        max_age=3600,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def login_csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(cookie and submitted and secrets.compare_digest(cookie, submitted))


def logout_csrf(token: str) -> str:
    """The logout form's token: derived from the session token, which scripts cannot read."""
    return hashlib.sha256(b"wasteflow-dashboard-logout:" + token.encode()).hexdigest()[:32]


def logout_csrf_ok(request: Request, submitted: str | None) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    return bool(token and submitted and secrets.compare_digest(logout_csrf(token), submitted))


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def account_from_cookie(request: Request, session: Session) -> Account:
    """The account of the session cookie, or :class:`LoginRequired` (with where to go back)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    token = session_token(request)
    if not token:
        raise LoginRequired(here)
    try:
        account = account_for_token(session=session, token=token)
    except Unauthorized as exc:
        raise LoginRequired(here, reason="session") from exc
    if account.must_change_password:  # logged in with a temporary password: change it first
        raise LoginRequired(here, reason="password")
    return account


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a dashboard path on this server, never another host."""
    if not value:
        return HOME_PATH
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value or not parts.path.startswith(HOME_PATH):
        return HOME_PATH
    return value


def login_redirect(request: Request, exc: LoginRequired) -> RedirectResponse:
    query = {"next": exc.next_url} if exc.next_url not in (HOME_PATH, "/") else {}
    if exc.reason == "password":
        return RedirectResponse(
            PASSWORD_PATH + (f"?{urlencode(query)}" if query else ""), status_code=303
        )
    if exc.reason:
        query["reason"] = exc.reason
    url = LOGIN_PATH + (f"?{urlencode(query)}" if query else "")
    response = RedirectResponse(url, status_code=303)
    if exc.reason == "session":
        clear_session_cookie(response, request)
    return response
