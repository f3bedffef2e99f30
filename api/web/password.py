"""Changing one's own password on the dashboard, and the change a reset forces.

After an admin resets a password, the user logs in with the temporary one and lands here:
every other page sends them back here until the password is changed (the API likewise
refuses everything but ``POST /auth/password``). Anyone logged in may change theirs too."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRouter
from pydantic import ValidationError

from api.deps import SessionDep
from api.web.admin_forms import FormState, Names, Posted, form_csrf, refused, text
from api.web.auth import HOME_PATH, PASSWORD_PATH, LoginRequired, safe_next, session_token
from api.web.core import DashboardRoute, PageContext, request_lang
from wasteflow.errors import Invalid, TooManyRequests, Unauthorized, WasteflowError
from wasteflow.schemas_admin import PasswordChange
from wasteflow.services import account_admin, accounts
from wasteflow.services.health import dataset

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

FIELDS = ("current_password", "new_password", "confirm_password")


def pending_context(request: Request, session: SessionDep) -> PageContext:
    """A logged-in page that an account waiting to change its password may open too."""
    token = session_token(request)
    if not token:
        raise LoginRequired(PASSWORD_PATH)
    try:
        account = accounts.account_for_token(session=session, token=token)
    except Unauthorized as exc:
        raise LoginRequired(PASSWORD_PATH, reason="session") from exc
    lang, from_query = request_lang(request)
    return PageContext(request, session, lang, from_query, dataset(session), account)


PendingPage = Annotated[PageContext, Depends(pending_context)]


def _page(ctx: PageContext, form: FormState, next_url: str, status_code: int = 200) -> HTMLResponse:
    token = session_token(ctx.request) or ""
    return ctx.render(
        "password.html",
        status_code=status_code,
        form=form,
        csrf=form_csrf(token),
        next_url=next_url,
        forced=ctx.user.must_change_password,
    )


@router.get(PASSWORD_PATH)
def password_form(ctx: PendingPage, next: str | None = None) -> HTMLResponse:
    return _page(ctx, FormState(), safe_next(next))


@router.post(PASSWORD_PATH)
def password_submit(ctx: PendingPage, posted: Posted) -> Response:
    """Change the password (the current one is asked again); the session stays, the
    account's other sessions end."""
    token = session_token(ctx.request) or ""
    if not secrets.compare_digest(form_csrf(token), str(posted.get("csrf") or "")):
        raise Invalid(ctx.t("admin.form_expired"), field="csrf")
    next_url = safe_next(text(posted, "next"))
    form = FormState()
    new, confirm = str(posted.get("new_password") or ""), str(posted.get("confirm_password") or "")
    if new != confirm:
        form.add("confirm_password", ctx.t("err.passwords_differ"), FIELDS)
        return _page(ctx, form, next_url, 422)
    try:
        data = PasswordChange.model_validate(
            {"current_password": str(posted.get("current_password") or ""), "new_password": new}
        )
        account_admin.change_password(
            session=ctx.session,
            account=ctx.user,
            token=token,
            data=data,
            client=ctx.request.client.host if ctx.request.client else None,
        )
    except TooManyRequests as exc:
        form.add("current_password", ctx.t("login.throttled", wait=exc.retry_after_s), FIELDS)
        return _page(ctx, form, next_url, 429)
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, Names(ctx), FIELDS)
        return _page(ctx, form, next_url, 422)
    target = next_url if next_url != PASSWORD_PATH else HOME_PATH
    sep = "&" if "?" in target else "?"
    return Response(status_code=303, headers={"Location": f"{target}{sep}done=password"})
