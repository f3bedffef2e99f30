"""The sites upload page: the template to download (empty, or with a township's sites to edit
and upload back), the file checked row by row with nothing written, then applied on a
second click. The checked file travels back with the page (base64 in the apply form), so
the apply step needs no state on the server and checks the file again, whole, as it writes.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from api.responses import attachment
from api.web.admin_errors import explain, reason_of
from api.web.admin_forms import Names, Posted, check_posted, done, form_context, require_admin
from api.web.admin_views import SITE_FIELDS, changes
from api.web.core import DashboardRoute, Page, PageContext
from wasteflow.errors import Invalid
from wasteflow.exports import XLSX_MEDIA
from wasteflow.schemas_admin import SiteUploadReport
from wasteflow.services import catalogue, site_upload, site_upload_template
from wasteflow.types import RegionLevel

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

UPLOAD = "/dashboard/admin/sites/upload"


def _page(
    ctx: PageContext,
    report: SiteUploadReport | None = None,
    data: bytes | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    names = Names(ctx)
    rows: list[dict[str, Any]] = []
    if report is not None:
        for item in report.items:
            rows.append(
                {
                    "row": item.row,
                    "code": item.code,
                    "name": item.name or "",
                    "action": item.action,
                    "errors": [(e.header, explain(ctx.t, e.reason, names)) for e in item.errors],
                    "changes": changes(
                        names,
                        None
                        if item.action == "create"
                        else {k: v[0] for k, v in item.changes.items()},
                        {k: v[1] for k, v in item.changes.items()},
                        SITE_FIELDS,
                    ),
                }
            )
    return ctx.render(
        "admin/site_upload.html",
        status_code=status_code,
        **form_context(ctx),
        report=report,
        rows=rows,
        data=base64.b64encode(data).decode() if data is not None else "",
        error=error,
        key=uuid.uuid4().hex,
        columns=site_upload.COLUMNS,
        townships=catalogue.list_regions(session=ctx.session, level=RegionLevel.township),
    )


@router.get(UPLOAD)
def upload_form(ctx: Page) -> HTMLResponse:
    require_admin(ctx)
    return _page(ctx)


@router.get(f"{UPLOAD}/template.xlsx")
def upload_template(ctx: Page, region: str = "", with_sites: bool = False) -> Response:
    """The template (Chinese headers and a sheet explaining them); with a township's sites
    filled in when asked."""
    require_admin(ctx)
    data = site_upload_template.template_xlsx(
        ctx.session, ctx.user, region_code=region or None, with_sites=with_sites
    )
    name = "站点上传模板.xlsx" if not with_sites else "站点.xlsx"
    return Response(data, media_type=XLSX_MEDIA, headers=attachment(name, "sites.xlsx"))


def _refused(ctx: PageContext, exc: Invalid, data: bytes | None) -> HTMLResponse:
    report = exc.extra.get("report")
    message = explain(ctx.t, reason_of(exc.detail, exc.field), Names(ctx))
    parsed = SiteUploadReport.model_validate(report) if report else None
    return _page(ctx, parsed, data if parsed else None, message, 422)


@router.post(UPLOAD)
def upload_check(ctx: Page, posted: Posted) -> HTMLResponse:
    """Check the file: every row as it would be written; nothing is kept."""
    check_posted(ctx, posted)
    upload = posted.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(ctx, error=ctx.t("upload.choose_file"), status_code=422)
    data = upload.file.read()
    try:
        report = site_upload.check_upload(
            session=ctx.session, actor=ctx.user, data=data, file_name=upload.filename
        )
    except Invalid as exc:
        return _refused(ctx, exc, None)
    return _page(ctx, report, data)


@router.post(f"{UPLOAD}/apply")
def upload_apply(ctx: Page, posted: Posted) -> Response:
    """Write the checked file (its clean rows only, if the admin ticked that)."""
    key = check_posted(ctx, posted)
    name = str(posted.get("file_name") or "upload")[:200]
    try:
        data = base64.b64decode(str(posted.get("data") or ""), validate=True)
    except binascii.Error:
        return _page(ctx, error=ctx.t("admin.form_expired"), status_code=422)
    try:
        report, _ = site_upload.apply_upload(
            session=ctx.session,
            actor=ctx.user,
            data=data,
            file_name=name,
            skip_invalid=posted.get("skip_invalid") == "1",
            idempotency_key=key,
        )
    except Invalid as exc:
        return _refused(ctx, exc, data)
    return done(
        "/dashboard/admin/sites",
        "uploaded" if report.applied else "unchanged",
        created=report.created,
        updated=report.updated,
    )
