"""Importing history: the ledger template, uploads (checked whole, then written in one
transaction) and the list of past uploads. Admins only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from api.deps import CurrentAccount, Limit, Offset, RowId, SessionDep
from api.responses import attachment
from wasteflow.errors import Invalid
from wasteflow.exports import CSV_MEDIA, XLSX_MEDIA
from wasteflow.permissions import Action, require
from wasteflow.schemas import ErrorBody, Page
from wasteflow.services import ledger_files
from wasteflow.services.import_batches import get_batch, list_batches
from wasteflow.services.ledger_import import ImportBatchPublic, ImportReport, import_ledger

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])

Kind = Literal["handovers", "declarations"]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 413, 422)
}


@router.get(
    "/template",
    response_class=Response,
    responses=ERRORS
    | {200: {"content": {XLSX_MEDIA: {}, CSV_MEDIA: {}}, "description": "the template"}},
)
def download_template(
    session: SessionDep,
    account: CurrentAccount,
    format: Literal["xlsx", "csv"] = "xlsx",
    kind: Kind = "handovers",
) -> Response:
    """The ledger template: Chinese headers and an example row; the XLSX has a second sheet
    listing each column (its English name, whether it is required, the values allowed)."""
    require(account.role, Action.import_history)
    name = f"wasteflow-{kind}-template.{format}"
    if format == "csv":
        body, media = ledger_files.template_csv(session, kind), CSV_MEDIA
    else:
        body, media = ledger_files.template_xlsx(session, kind), XLSX_MEDIA
    return Response(body, media_type=media, headers=attachment(name))


@router.post(
    "",
    response_model=ImportReport,
    responses=ERRORS | {201: {"model": ImportReport, "description": "rows written"}},
)
def upload_ledger(
    session: SessionDep,
    account: CurrentAccount,
    response: Response,
    file: Annotated[UploadFile, File(description="the ledger, CSV (UTF-8 or GB18030) or XLSX")],
    kind: Annotated[Kind, Form(description="what the ledger holds")] = "handovers",
    dry_run: Annotated[bool, Query(description="only check the file; write nothing")] = False,
    accept_clean_rows: Annotated[
        bool,
        Query(
            description="write the rows that pass and report the others (default: a file "
            "with any problem writes nothing)"
        ),
    ] = False,
) -> ImportReport:
    """Upload a ledger of past handovers or declarations, checked whole first.

    The answer reports every problem by row, column and why. With problems and without
    ``accept_clean_rows`` nothing is written (422, the report under ``report``). Written rows
    are one transaction; rows imported by an earlier upload (the same 行键, or the same
    content) are counted as ``already`` and not added again. 201 when rows were written."""
    require(account.role, Action.import_history)
    report = import_ledger(
        session=session,
        account=account,
        kind=kind,
        file_name=(file.filename or "ledger").replace("\\", "/").rsplit("/", 1)[-1][:256],
        content=file.file.read(),
        dry_run=dry_run,
        accept_clean_rows=accept_clean_rows,
    )
    if report.problems and not report.written and not dry_run:
        first = report.problems[0]
        raise Invalid(
            f"file: {report.refused} of {report.rows} rows have problems, nothing was written "
            f"(first: row {first.row}, {first.column} ({first.field}): {first.why}); fix them, "
            "or upload with accept_clean_rows=true to write the others",
            field="file",
            extra={"report": report.model_dump(mode="json")},
        )
    if report.written and report.added:
        response.status_code = 201
    return report


@router.get("", response_model=Page[ImportBatchPublic], responses=ERRORS)
def list_imports(
    session: SessionDep, account: CurrentAccount, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """Past uploads, newest first."""
    items, total = list_batches(session=session, account=account, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/{batch_id}", response_model=ImportBatchPublic, responses=ERRORS)
def get_import(session: SessionDep, account: CurrentAccount, batch_id: RowId) -> ImportBatchPublic:
    """One upload: who sent which file (its SHA-256), when, and what came of its rows."""
    return get_batch(session=session, account=account, batch_id=batch_id)
