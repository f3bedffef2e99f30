"""Sites from a spreadsheet: the upload (a dry run by default) and its template."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from api.deps import CurrentAccount, OptIdemKey, SessionDep, answered
from api.responses import attachment
from wasteflow.exports import XLSX_MEDIA
from wasteflow.schemas import ErrorBody
from wasteflow.schemas_admin import SiteUploadReport
from wasteflow.services import site_upload, site_upload_template

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])


@router.post(
    "/upload",
    response_model=SiteUploadReport,
    responses={
        400: {"model": ErrorBody, "description": "the body is not multipart form data"},
        403: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)
def upload_sites(
    session: SessionDep,
    account: CurrentAccount,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX")],
    response: Response,
    dry_run: Annotated[
        bool, Query(description="check every row and write nothing (the default)")
    ] = True,
    skip_invalid: Annotated[
        bool, Query(description="when applying: write the clean rows, skip those with errors")
    ] = False,
    idempotency_key: OptIdemKey = None,
) -> SiteUploadReport:
    """Create and update sites from a spreadsheet with the template's Chinese headers (admin).
    A row whose code exists updates that site with the cells it fills; a new code creates a
    site. Every row is checked as the site endpoints check it and answered row by row
    (`items`: row, action, errors by column, changes before → after). With `dry_run=false`
    the file is written in one transaction, only if every row is clean (else a 422 whose
    `report` says which rows), or its clean rows with `skip_invalid=true`."""
    data = file.file.read()
    name = file.filename or "upload"
    if dry_run:
        return site_upload.check_upload(session=session, actor=account, data=data, file_name=name)
    report, made = site_upload.apply_upload(
        session=session,
        actor=account,
        data=data,
        file_name=name,
        skip_invalid=skip_invalid,
        idempotency_key=idempotency_key,
    )
    answered(response, made)
    return report


@router.get(
    "/upload/template",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA: {}}}, 403: {"model": ErrorBody}},
)
def upload_template(
    session: SessionDep,
    account: CurrentAccount,
    with_sites: Annotated[bool, Query(description="fill in the existing sites")] = False,
    region: Annotated[str | None, Query(description="only the sites of this region")] = None,
) -> Response:
    """The upload template (XLSX, Chinese headers, a sheet explaining each column) (admin);
    with `with_sites`, the existing sites in it, to edit and upload back."""
    data = site_upload_template.template_xlsx(
        session, account, region_code=region, with_sites=with_sites
    )
    return Response(
        data, media_type=XLSX_MEDIA, headers=attachment("站点上传模板.xlsx", "sites.xlsx")
    )
