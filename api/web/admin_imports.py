"""Admin pages: importing a ledger of history (upload, the validation report as a table, then
confirm; past imports) and the late scans awaiting approval (approve, or reject with a reason).

The uploaded file is checked first without writing anything; the admin then confirms. Between
the two the file waits on the server under its SHA-256 (the confirm form names the digest, not
the file), so the browser does not send it twice and what is written is exactly what was
checked. Forms carry the session's form token (the logout form's), as the other POST forms do.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from api.responses import attachment
from api.web import views
from api.web.auth import logout_csrf_ok
from api.web.core import DashboardRoute, Page, PageContext
from wasteflow.errors import Forbidden, Invalid, WasteflowError
from wasteflow.exports import CSV_MEDIA, XLSX_MEDIA
from wasteflow.permissions import Action, require
from wasteflow.services import cache, late, ledger_files
from wasteflow.services.import_batches import batch_records, get_batch, list_batches
from wasteflow.services.late import LateDecision
from wasteflow.services.ledger_import import ImportReport, import_ledger

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

IMPORTS_PATH = "/dashboard/admin/imports"
LATE_PATH = "/dashboard/admin/late"
Kind = Literal["handovers", "declarations"]
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _staging() -> Path:
    path = Path(tempfile.gettempdir()) / "wasteflow-staged-imports"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _admin(ctx: PageContext, action: Action) -> None:
    require(ctx.user.role, action)


def _check_form(ctx: PageContext, csrf: str) -> None:
    if not logout_csrf_ok(ctx.request, csrf):
        raise Forbidden("csrf: the form expired; open the page again")


def _imports_page(
    ctx: PageContext,
    *,
    report: ImportReport | None = None,
    error: str | None = None,
    staged: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    batches, total = list_batches(session=ctx.session, account=ctx.user, limit=50)
    return ctx.render(
        "admin_imports.html",
        status_code=status_code,
        report=report,
        error=error,
        staged=staged,
        batches=batches,
        total=total,
        local_time=views.local_time,
        pending=late.pending_count(ctx.session),
    )


@router.get(IMPORTS_PATH)
def imports_page(ctx: Page) -> HTMLResponse:
    """The upload form and the list of past imports."""
    _admin(ctx, Action.import_history)
    return _imports_page(ctx)


@router.get(IMPORTS_PATH + "/template")
def imports_template(
    ctx: Page, format: Literal["xlsx", "csv"] = "xlsx", kind: Kind = "handovers"
) -> Response:
    _admin(ctx, Action.import_history)
    if format == "csv":
        body, media = ledger_files.template_csv(ctx.session, kind), CSV_MEDIA
    else:
        body, media = ledger_files.template_xlsx(ctx.session, kind), XLSX_MEDIA
    return Response(
        body, media_type=media, headers=attachment(f"wasteflow-{kind}-template.{format}")
    )


@router.post(IMPORTS_PATH)
def imports_check(
    ctx: Page,
    file: Annotated[UploadFile | None, File()] = None,
    kind: Annotated[Kind, Form()] = "handovers",
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Check an uploaded ledger (nothing written) and show the report; a checked file waits
    under its digest for the admin's confirmation."""
    _admin(ctx, Action.import_history)
    _check_form(ctx, csrf)
    content = file.file.read() if file is not None else b""
    name = _file_name(file.filename if file is not None else None)
    try:
        report = import_ledger(
            session=ctx.session, account=ctx.user, kind=kind, file_name=name,
            content=content, dry_run=True,
        )  # fmt: skip
    except Invalid as exc:
        return _imports_page(ctx, error=exc.detail, status_code=422)
    staged = None
    if report.clean:
        (_staging() / f"{report.sha256}.{kind}").write_bytes(content)
        (_staging() / f"{report.sha256}.name").write_text(name, encoding="utf-8")
        staged = report.sha256
    return _imports_page(ctx, report=report, staged=staged)


@router.post(IMPORTS_PATH + "/confirm")
def imports_confirm(
    ctx: Page,
    sha256: Annotated[str, Form()] = "",
    kind: Annotated[Kind, Form()] = "handovers",
    clean_rows: Annotated[bool, Form()] = False,
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Write a checked ledger: the whole file, or its clean rows if the admin chose so."""
    _admin(ctx, Action.import_history)
    _check_form(ctx, csrf)
    path = _staging() / f"{sha256}.{kind}"
    if not _DIGEST.match(sha256) or not path.exists():
        return _imports_page(
            ctx, error="file: the checked file is gone; upload it again", status_code=422
        )
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != sha256:
        return _imports_page(
            ctx, error="file: the checked file changed; upload it again", status_code=422
        )
    name_path = _staging() / f"{sha256}.name"
    name = name_path.read_text(encoding="utf-8") if name_path.exists() else "ledger"
    try:
        report = import_ledger(
            session=ctx.session, account=ctx.user, kind=kind, file_name=name,
            content=content, accept_clean_rows=clean_rows,
        )  # fmt: skip
    except WasteflowError as exc:
        return _imports_page(ctx, error=exc.detail, status_code=exc.status_code)
    if report.written:
        path.unlink(missing_ok=True)
        name_path.unlink(missing_ok=True)
    return _imports_page(ctx, report=report)


@router.get(IMPORTS_PATH + "/{batch_id}")
def import_detail(ctx: Page, batch_id: int) -> HTMLResponse:
    _admin(ctx, Action.import_history)
    batch = get_batch(session=ctx.session, account=ctx.user, batch_id=batch_id)
    return ctx.render(
        "admin_imports_batch.html",
        batch=batch,
        records=batch_records(ctx.session, batch_id),
        local_time=views.local_time,
    )


def _file_name(raw: str | None) -> str:
    return (raw or "ledger").replace("\\", "/").rsplit("/", 1)[-1][:256] or "ledger"


# --- late scans awaiting approval ------------------------------------------------------------


@router.get(LATE_PATH)
def late_page(
    ctx: Page, state: Literal["pending", "approved", "rejected"] = "pending"
) -> HTMLResponse:
    _admin(ctx, Action.decide_late)
    page = late.list_late(session=ctx.session, account=ctx.user, state=state, limit=200)
    return ctx.render(
        "admin_imports_late.html",
        items=page.items,
        materials=cache.materials(ctx.session),
        total=page.total,
        state=state,
        local_time=views.local_time,
        done=ctx.request.query_params.get("done"),
    )


@router.post(LATE_PATH + "/{submission_id}")
def late_decide(
    ctx: Page,
    submission_id: int,
    decision: Annotated[Literal["approve", "reject"], Form()],
    reason: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _admin(ctx, Action.decide_late)
    _check_form(ctx, csrf)
    text = reason.strip() or None
    if text is not None and not 3 <= len(text) <= 256:
        raise Invalid("reason: 3 to 256 characters", field="reason")
    late.decide_late(
        session=ctx.session,
        account=ctx.user,
        submission_id=submission_id,
        approve=decision == "approve",
        data=LateDecision(reason=text),
    )
    return RedirectResponse(f"{LATE_PATH}?done={decision}", status_code=303)
