"""The dashboard's anomaly pages: the list filtered by the state of the work on each, one
anomaly with its history and the forms that assign, comment, close and reopen it.

The forms post to this server (no script needed) and call the same service as the API
(``wasteflow.services.anomaly_work``): the same rules, audit events and idempotency. Each
form carries the session-bound token the logout form carries (a digest of the session
cookie, which a page on another site cannot know) and a fresh idempotency key, so a form
sent twice (a double click, a reload of the answer) acts once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.web import views
from api.web.auth import logout_csrf_ok
from api.web.core import DashboardRoute, Page, PageContext, url_with
from wasteflow.errors import Conflict, Forbidden, Invalid, NotFound
from wasteflow.permissions import Action, allowed
from wasteflow.services import anomaly_work, catalogue
from wasteflow.types import RegionLevel

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PeriodQ = Annotated[str | None, Query(description="2025, 2025-Q2 or 2025-03")]
STATE_TABS = ("all", *anomaly_work.STATES)
LIST_PATH = "/dashboard/anomalies"


def page_url(key: str) -> str:
    return f"{LIST_PATH}/{quote(key, safe=':')}"


@router.get(LIST_PATH)
def anomalies(
    ctx: Page,
    period: PeriodQ = None,
    township: str | None = None,
    state: str = "all",
    assignee: str | None = None,
) -> HTMLResponse:
    """What the mass balance and the records flag, in words, with the records behind each and
    the state of the work on it (officials: everywhere; other accounts: at the sites they act
    for, and what is assigned to them)."""
    label = ctx.period(period)
    if state not in STATE_TABS:
        raise Invalid(f"state: one of {', '.join(STATE_TABS)}", field="state")
    work = anomaly_work.list_anomalies(
        session=ctx.session,
        account=ctx.user,
        period=label,
        state=state,
        region=township or None,
        assignee=assignee or None,
    )
    materials = views.by_code(catalogue.list_materials(session=ctx.session))
    base = {"period": label, "township": township}
    tabs = [
        {
            "state": s,
            "count": work["counts"][s],
            "url": url_with(LIST_PATH, base | {"state": None if s == "all" else s}),
            "current": s == state and not assignee,
        }
        for s in STATE_TABS
    ]
    mine = {
        "count": work["counts"]["assigned_to_me"],
        "url": url_with(LIST_PATH, base | {"state": "assigned", "assignee": "me"}),
        "current": assignee == "me",
    }
    return ctx.render(
        "anomalies.html",
        period=label,
        township=township or "",
        state=state,
        assignee=assignee or "",
        tabs=tabs,
        mine=mine,
        townships=catalogue.list_regions(session=ctx.session, level=RegionLevel.township),
        rows=views.anomaly_rows(work["items"], ctx.t, materials, label),
        page_url=page_url,
    )


def home_counts(ctx: PageContext, period: str) -> dict[str, Any]:
    """The home page's anomaly counts (open, assigned to the reader) and where they link."""
    counts = anomaly_work.list_anomalies(session=ctx.session, account=ctx.user, period=period)[
        "counts"
    ]
    return {
        "open": counts["open"],
        "mine": counts["assigned_to_me"],
        "open_url": url_with(LIST_PATH, {"period": period, "state": "open"}),
        "mine_url": url_with(LIST_PATH, {"period": period, "state": "assigned", "assignee": "me"}),
        "all_url": url_with(LIST_PATH, {"period": period}),
    }


def _history_rows(ctx: PageContext, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each change to the case in words: when (local time), who, what."""
    t = ctx.t
    rows = []
    for e in events:
        before, after = e.get("before") or {}, e.get("after") or {}
        action = str(e["action"]).removeprefix("anomaly.")
        lines = []
        if action == "assign":
            if before.get("assignee"):
                what = t("awork.ev.reassign", before=before["assignee"], who=after.get("assignee"))
            else:
                what = t("awork.ev.assign", who=after.get("assignee"))
            if after.get("note"):
                lines.append(t("awork.ev.note", text=after["note"]))
        elif action == "comment":
            what = t("awork.ev.comment")
            lines.append(str(after.get("text") or ""))
        elif action == "close":
            what = t("awork.ev.close", state=t(f"awork.state.{after.get('state')}"))
            lines.append(t("awork.ev.reason", text=after.get("reason") or ""))
        else:
            what = t("awork.ev.reopen")
            if after.get("reason"):
                lines.append(t("awork.ev.reason", text=after["reason"]))
        rows.append(
            {
                "at": views.local_time(e["at"]),
                "who": e.get("account") or "—",
                "action": action,
                "what": what,
                "lines": lines,
            }
        )
    return rows


def _detail_page(
    ctx: PageContext, key: str, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    found = anomaly_work.anomaly_detail(session=ctx.session, account=ctx.user, key=key)
    a = found["anomaly"]
    materials = views.by_code(catalogue.list_materials(session=ctx.session))
    row = views.anomaly_rows([a], ctx.t, materials, found["period"])[0]
    manager = allowed(ctx.user.role, Action.manage_anomalies)
    assignee = (a["assignee"] or {}).get("username")
    is_assignee = assignee is not None and assignee == ctx.user.username
    closed = a["state"] in ("resolved", "dismissed")
    return ctx.render(
        "anomaly.html",
        status_code=status_code,
        a=a,
        row=row,
        period=found["period"],
        key=key,
        action_url=page_url(key),
        history=_history_rows(ctx, found["history"]),
        closed_at=views.local_time(a["closed_at"]) if a["closed_at"] else None,
        can_assign=manager and not closed,
        can_comment=manager or is_assignee,
        can_close=(manager or is_assignee) and not closed,
        can_dismiss=manager,
        can_reopen=manager and closed,
        people=anomaly_work.assignable_accounts(ctx.session) if manager and not closed else [],
        error=error,
        saved=ctx.request.query_params.get("saved") == "1" and not error,
        form_key=uuid.uuid4().hex,
    )


@router.get(LIST_PATH + "/{key}")
def anomaly(ctx: Page, key: str) -> HTMLResponse:
    """One anomaly: what was found, the work on it (history in local time) and its forms."""
    return _detail_page(ctx, key)


def _submit(
    ctx: PageContext, key: str, csrf: str, form_key: str, act: Callable[[str | None], Any]
) -> Response:
    """Run one form's change; back to the anomaly's page (303), or the page again with what
    was wrong, in the reader's language, and nothing changed."""
    if not logout_csrf_ok(ctx.request, csrf):
        return _detail_page(ctx, key, error="awork.err.expired", status_code=400)
    idem = form_key if 8 <= len(form_key) <= 64 and form_key.isalnum() else None
    try:
        act(idem)
    except Invalid as exc:
        known = {
            "reason": "awork.err.reason",
            "text": "awork.err.text",
            "assignee": "awork.err.assignee",
        }
        message = known.get(exc.field or "", "awork.err.invalid")
        return _detail_page(ctx, key, error=message, status_code=422)
    except Forbidden:
        return _detail_page(ctx, key, error="awork.err.forbidden", status_code=403)
    except Conflict:
        return _detail_page(ctx, key, error="awork.err.conflict", status_code=409)
    except NotFound:
        raise
    return RedirectResponse(page_url(key) + "?saved=1#history", status_code=303)


@router.post(LIST_PATH + "/{key}/assign")
def assign_form(
    ctx: Page,
    key: str,
    assignee: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    return _submit(
        ctx,
        key,
        csrf,
        form_key,
        lambda idem: anomaly_work.assign(
            session=ctx.session,
            actor=ctx.user,
            key=key,
            assignee=assignee.strip(),
            note=note.strip()[:1000] or None,
            idempotency_key=idem,
        ),
    )


@router.post(LIST_PATH + "/{key}/comment")
def comment_form(
    ctx: Page,
    key: str,
    text: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    return _submit(
        ctx,
        key,
        csrf,
        form_key,
        lambda idem: anomaly_work.comment(
            session=ctx.session, actor=ctx.user, key=key, text=text, idempotency_key=idem
        ),
    )


@router.post(LIST_PATH + "/{key}/close")
def close_form(
    ctx: Page,
    key: str,
    resolution: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    return _submit(
        ctx,
        key,
        csrf,
        form_key,
        lambda idem: anomaly_work.close(
            session=ctx.session,
            actor=ctx.user,
            key=key,
            resolution=resolution,
            reason=reason,
            idempotency_key=idem,
        ),
    )


@router.post(LIST_PATH + "/{key}/reopen")
def reopen_form(
    ctx: Page,
    key: str,
    reason: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    return _submit(
        ctx,
        key,
        csrf,
        form_key,
        lambda idem: anomaly_work.reopen(
            session=ctx.session, actor=ctx.user, key=key, reason=reason, idempotency_key=idem
        ),
    )
