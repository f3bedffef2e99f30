"""What every dashboard page shares: templates, the request's context, errors as pages.

Pages are server-rendered (Jinja2). A page's context knows the language, the account, whether
the data set is the synthetic demo (for the banner and the default period) and how to render.
Errors raised by the services inside a dashboard route become HTML pages in the reader's
language through :class:`DashboardRoute`, so the API's JSON error handlers stay as they are.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.deps import SessionDep
from api.web import i18n
from api.web.auth import (
    LANG_COOKIE,
    LoginRequired,
    account_from_cookie,
    login_redirect,
    logout_csrf,
    session_token,
)
from wasteflow.config import get_settings
from wasteflow.errors import WasteflowError, describe_validation_errors
from wasteflow.models import Account
from wasteflow.permissions import Action, allowed
from wasteflow.rates import INDICATORS, parse_period
from wasteflow.services.health import dataset

log = logging.getLogger("wasteflow.dashboard")

WEB_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = WEB_ROOT / "templates"
STATIC_DIR = WEB_ROOT / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters.update(
    pct=i18n.pct,
    mass=i18n.mass,
    kg=i18n.kg,
    words=i18n.header_words,
    number=i18n.number,
    target=i18n.target_text,
    points=i18n.points,
    relative=i18n.relative,
)
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True

# Pages may load only what this server serves: no CDN, no web font, no map tile, so the
# dashboard works on a network with no internet (and a stray external URL fails loudly).
# Plotly's WebGL traces compile shaders through Function(), hence 'unsafe-eval'.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def asset_version(name: str) -> str:
    """A content hash for a static file's URL, so browsers may cache it for a year."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    return f"/dashboard/static/{name}?v={asset_version(name)}"


def plotly_url() -> str:
    import plotly

    return f"/dashboard/static/plotly-{plotly.__version__}.min.js"


templates.env.globals.update(
    asset_url=asset_url,
    plotly_url=plotly_url,
    # Indicators that count kilograms (and units) rather than a rate against a target.
    quantity_indicators=frozenset(k for k, d in INDICATORS.items() if not d.has_rate),
    # Each indicator's definition: its numerator and denominator by name (回收量, 使用量…).
    indicator_defs=INDICATORS,
)


def request_lang(request: Request) -> tuple[str, bool]:
    """The reader's language (query, then cookie, then Chinese) and whether the query chose it."""
    chosen = i18n.pick_lang(request.query_params.get("lang"))
    if chosen:
        return chosen, True
    return i18n.pick_lang(request.cookies.get(LANG_COOKIE)) or i18n.DEFAULT_LANG, False


def default_period(dataset: dict[str, Any] | None) -> str:
    """The demo's year when the data is the demo, else the current local year."""
    if dataset and dataset.get("kind") == "demo" and dataset.get("year"):
        return str(dataset["year"])
    return str(datetime.now(ZoneInfo(get_settings().timezone)).year)


def url_with(path: str, params: dict[str, Any]) -> str:
    """A path with the non-empty query parameters."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return path + (f"?{urlencode(kept)}" if kept else "")


@dataclass
class PageContext:
    """One request of one page: who reads, in which language, over which data set."""

    request: Request
    session: Session
    lang: str
    lang_from_query: bool
    dataset: dict[str, Any] | None
    account: Account | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def t(self) -> i18n.Translator:
        return i18n.Translator(self.lang)

    @property
    def user(self) -> Account:
        """The logged-in account, on pages behind the login."""
        if self.account is None:
            raise LoginRequired(self.request.url.path)
        return self.account

    @property
    def officials(self) -> bool:
        """Officials and admins read every rate and record; other roles their own sites."""
        return self.account is not None and allowed(self.account.role, Action.read_all_records)

    @property
    def is_admin(self) -> bool:
        return self.account is not None and allowed(self.account.role, Action.manage_sites)

    @property
    def synthetic(self) -> bool:
        return bool(self.dataset and self.dataset.get("synthetic"))

    @property
    def default_period(self) -> str:
        return default_period(self.dataset)

    def period(self, value: str | None) -> str:
        """The period asked for (checked by the rates' own parser), or the default."""
        return parse_period(value).label if value else self.default_period

    def period_choices(self, selected: str) -> list[dict[str, Any]]:
        """Years around the default, each with its quarters and months, for the picker."""
        base = int(self.default_period)
        now = datetime.now(ZoneInfo(get_settings().timezone)).year
        years = sorted({base - 1, base, now, int(selected[:4])}, reverse=True)
        t = self.t
        groups = []
        for y in years:
            options = [(str(y), t("period.year"))]
            options += [(f"{y}-Q{q}", t("period.quarter", q=q)) for q in range(1, 5)]
            options += [(f"{y}-{m:02d}", t("period.month", m=m)) for m in range(1, 13)]
            groups.append({"year": y, "options": options})
        return groups

    def switch_lang_url(self) -> str:
        params = dict(self.request.query_params)
        params["lang"] = self.t.other
        return url_with(self.request.url.path, params)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        token = session_token(self.request)
        response = templates.TemplateResponse(
            self.request,
            template,
            {
                "ctx": self,
                "t": self.t,
                "lang": self.lang,
                "account": self.account,
                "logout_csrf": logout_csrf(token) if token and self.account else None,
                "path": self.request.url.path,
                **context,
            },
            status_code=status_code,
            headers=SECURITY_HEADERS | self.extra_headers,
        )
        if self.lang_from_query:
            response.set_cookie(
                LANG_COOKIE, self.lang, max_age=365 * 86400, path="/", samesite="lax"
            )
        return response

    def officials_only(self) -> HTMLResponse:
        """The page other roles get instead of rates: a clear 403, not an error."""
        return self.render("officials_only.html", status_code=403)


def _dataset(session: Session) -> dict[str, Any] | None:
    return dataset(session)


def public_context(request: Request, session: SessionDep) -> PageContext:
    """The context of a page anyone may open (the login page)."""
    lang, from_query = request_lang(request)
    return PageContext(request, session, lang, from_query, _dataset(session))


def page_context(request: Request, session: SessionDep) -> PageContext:
    """The context of a page that needs a logged-in account (else: to the login page)."""
    account = account_from_cookie(request, session)
    lang, from_query = request_lang(request)
    return PageContext(request, session, lang, from_query, _dataset(session), account)


PublicPage = Annotated[PageContext, Depends(public_context)]
Page = Annotated[PageContext, Depends(page_context)]


def _error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    lang, _ = request_lang(request)
    with Session(request.app.state.engine) as session:
        ctx = PageContext(request, session, lang, False, _dataset(session))
        title_key = f"error.{status_code}"
        return ctx.render(
            "error.html",
            status_code=status_code,
            title_key=title_key if ctx.t.has(title_key) else "error.title",
            detail=detail,
        )


async def error_response(request: Request, status_code: int, detail: str) -> Response:
    if request.url.path.startswith("/dashboard/data/"):
        return JSONResponse({"error": status_code, "detail": detail}, status_code=status_code)
    return await run_in_threadpool(_error_page, request, status_code, detail)


class DashboardRoute(APIRoute):
    """A route whose failures are pages: login redirects, and errors in the reader's language."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                if request.url.path.startswith("/dashboard/data/"):
                    return JSONResponse({"error": 401, "detail": "log in"}, status_code=401)
                return login_redirect(request, exc)
            except WasteflowError as exc:
                return await error_response(request, exc.status_code, exc.detail)
            except RequestValidationError as exc:
                detail, _ = describe_validation_errors(list(exc.errors()))
                return await error_response(request, 422, detail)
            except Exception:
                # A bug: log it whole; the reader gets a page saying it happened, not a trace.
                log.exception("dashboard error on %s %s", request.method, request.url.path)
                return await error_response(request, 500, "the server failed; the error was logged")

        return guarded
