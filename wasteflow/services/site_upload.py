"""Creating and updating many sites from one spreadsheet (CSV or XLSX, Chinese headers).

The whole file is read and every row checked before anything is kept, by the same rules as
the site endpoints: each row runs through :func:`sites.insert_site` (a new code) or
:func:`site_admin.apply_update` (a code that exists) in a savepoint of one transaction. A dry
run (the default) rolls the transaction back and answers the row-by-row report; applying
writes the file in that one transaction if every row is clean, or only its clean rows when
asked (``skip_invalid``). An update changes only the cells a row fills: an empty cell keeps
the site's value (clearing one is done on the site's own page). Each site created or changed
is audited as an edit is, and the upload itself once more (file name, digest, counts).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col

from wasteflow.db import unit_of_work
from wasteflow.errors import Invalid, WasteflowError, describe_validation_errors
from wasteflow.models import (
    Account,
    CollectionRound,
    Material,
    Organisation,
    Region,
    Site,
    TreatmentRoute,
)
from wasteflow.permissions import Action, require
from wasteflow.schemas import SiteCreate
from wasteflow.schemas_admin import SiteUpdate, SiteUploadIssue, SiteUploadReport, SiteUploadRow
from wasteflow.services import cache, idempotency
from wasteflow.services.audit import record_event
from wasteflow.services.idempotency import Request, once
from wasteflow.services.site_admin import apply_update
from wasteflow.services.sites import insert_site, site_public
from wasteflow.types import RegionLevel, SiteKind

MAX_ROWS = 5000
SHEET = "站点"


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    hint_zh: str
    hint_en: str


COLUMNS: tuple[Column, ...] = (
    Column("code", "站点编码", "site code",
           "必填。大写字母、数字和连字符，如 BM-CP-01。已有的编码：更新该站点",
           "Required. Capital letters, digits and hyphens, e.g. BM-CP-01. A code that exists "
           "updates that site"),
    Column("name", "站点名称", "name", "新站点必填", "Required for a new site"),
    Column("name_en", "英文名称", "English name", "可不填", "Optional"),
    Column("kind", "站点类型", "kind",
           "新站点必填：产生源、回收点、转运站、处理企业、处置场。已有站点的类型不能改",
           "Required for a new site: source, collection point, transfer station, processor, "
           "disposal site. An existing site's kind never changes"),
    Column("region", "所在村或乡镇", "village or township",
           "新站点必填：区划代码，或名称（重名时写 乡镇/村，如 白马镇/白马村）",
           "Required for a new site: the region code, or its name (township/village where "
           "names repeat)"),
    Column("organisation", "运营单位", "organisation", "单位编码或全称", "Its code or full name"),
    Column("lat", "纬度", "latitude", "十进制度，如 29.408；与经度一起填",
           "Decimal degrees, e.g. 29.408; with the longitude"),
    Column("lon", "经度", "longitude", "十进制度，如 107.552", "Decimal degrees, e.g. 107.552"),
    Column("address", "地址", "address", "可不填", "Optional"),
    Column("capacity_kg", "容量（千克）", "capacity (kg)", "最多可存放的千克数",
           "The most it can hold, in kg"),
    Column("materials", "接收物料", "materials accepted",
           "物料名称或编码，用顿号或逗号分隔，如 废旧农膜、其他垃圾；填写即替换原有",
           "Material names or codes separated by commas; replaces the list"),
    Column("routes", "处理方式", "treatment routes",
           "仅处理企业和处置场：处理方式名称或编码，如 再生利用；填写即替换原有",
           "Processors and disposal sites only: route names or codes; replaces the list"),
    Column("round", "收运线路", "collection round",
           "仅产生源：线路名称或编码", "Sources only: the round's name or code"),
)  # fmt: skip
BY_KEY = {c.key: c for c in COLUMNS}
KIND_NAMES = {
    SiteKind.source: ("产生源", "source"),
    SiteKind.collection_point: ("回收点", "collection point"),
    SiteKind.transfer_station: ("转运站", "transfer station"),
    SiteKind.processor: ("处理企业", "processor"),
    SiteKind.disposal: ("处置场", "disposal site"),
}
# The API's field names of the columns that name another record by code.
_FIELD_COLUMN = {
    "region_code": "region",
    "organisation_code": "organisation",
    "round_code": "round",
    "lat/lon": "lat",
}
# A new site's fields that follow from others or say nothing a person chose.
_NOT_SHOWN = {"id", "code", "township_code", "active", "synthetic"}
_LIST_SPLIT = re.compile(r"[,，;；、|\n]+")


def norm(text: str) -> str:
    """A header or name as compared: no spaces, ASCII brackets, lower case."""
    text = re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")").replace("／", "/")
    return text.lower()


_HEADERS = {norm(h): c.key for c in COLUMNS for h in (c.key, c.zh, c.en)}


# --- reading the file ----------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as text: a number typed into a code cell (500156101201) keeps its digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(data: bytes) -> list[list[str]]:
    # Excel on a Chinese Windows saves CSV as GB18030 (GBK); elsewhere UTF-8, often with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid("file: the CSV is neither UTF-8 nor GB18030 text", field="file")
    if "\x00" in text:  # binary, not text (and PostgreSQL text cannot hold U+0000)
        raise Invalid("file: the CSV holds NUL characters: it is not text", field="file")
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:  # a NUL byte, a field past the parser's limit
        raise Invalid("file: the CSV is neither UTF-8 nor GB18030 text", field="file") from exc


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        rows = [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise Invalid("file: not a readable XLSX workbook", field="file") from exc
    return rows


def read_rows(data: bytes, file_name: str) -> Iterator[tuple[int, dict[str, str]]]:
    """The file's rows as ``(row number, {column key: text})``, empty rows left out. A header
    that is not a column of the template is an error naming it (a misspelt column must not
    be dropped without a word)."""
    if not data:
        raise Invalid("file: the file is empty", field="file")
    is_xlsx = data[:4] == b"PK\x03\x04"
    if not is_xlsx and file_name.lower().endswith((".xlsx", ".xlsm")):
        raise Invalid("file: not a readable XLSX workbook", field="file")
    rows = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    if not rows:
        raise Invalid("file: the file has no header row", field="file")
    header = [norm(h) for h in rows[0]]
    unknown = [rows[0][i] for i, h in enumerate(header) if h and h not in _HEADERS]
    if unknown:
        raise Invalid(
            f"file: unknown column(s) {', '.join(unknown)}; use the template's headers",
            field="file",
        )
    keys = [_HEADERS.get(h) for h in header]
    if "code" not in keys:
        raise Invalid(f"file: the column {BY_KEY['code'].zh} is missing", field="file")
    if len(rows) - 1 > MAX_ROWS:
        raise Invalid(f"file: at most {MAX_ROWS} rows per upload", field="file")
    for number, row in enumerate(rows[1:], start=2):
        cells = {k: row[i].strip() for i, k in enumerate(keys) if k and i < len(row)}
        if any(cells.values()):
            yield number, cells


# --- names to codes ------------------------------------------------------------------------


class Names:
    """Every name or code a cell may hold, looked up once per upload."""

    def __init__(self, session: Session):
        self.kinds: dict[str, SiteKind] = {}
        for kind, (zh, en) in KIND_NAMES.items():
            for name in (kind.value, zh, en):
                self.kinds[norm(name)] = kind
        self.regions: dict[str, set[str]] = {}
        rows = session.execute(
            sa.select(
                col(Region.id),
                col(Region.code),
                col(Region.name_zh),
                col(Region.level),
                col(Region.parent_id),
            )
        ).all()
        names_by_id = {rid: name for rid, _, name, _, _ in rows}
        for _, code, name, level, parent in rows:
            if level == RegionLevel.district:
                continue
            keys = [code, name]
            if level == RegionLevel.village and parent in names_by_id:
                keys.append(f"{names_by_id[parent]}/{name}")
            for key in keys:
                self.regions.setdefault(norm(key), set()).add(code)
        self.organisations = self._by_code_and_name(session, Organisation, ("name",))
        self.rounds = self._by_code_and_name(session, CollectionRound, ("name",))
        self.materials = self._by_code_and_name(session, Material, ("name_zh", "name_en"))
        self.routes = self._by_code_and_name(session, TreatmentRoute, ("name_zh", "name_en"))

    @staticmethod
    def _by_code_and_name(
        session: Session,
        model: type[Organisation | CollectionRound | Material | TreatmentRoute],
        name_fields: tuple[str, ...],
    ) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        columns = [col(model.code), *(getattr(model, f) for f in name_fields)]
        for code, *names in session.execute(sa.select(*columns)):
            for key in (code, *names):
                if key:
                    found.setdefault(norm(key), set()).add(code)
        return found

    @staticmethod
    def one(table: dict[str, set[str]], text: str, what: str) -> str:
        codes = table.get(norm(text), set())
        if not codes:
            raise ValueError(f"no {what} named {text!r}")
        if len(codes) > 1:
            raise ValueError(
                f"{text!r} names several {what}s ({', '.join(sorted(codes))}); use its code"
            )
        return next(iter(codes))

    def many(self, table: dict[str, set[str]], text: str, what: str) -> list[str]:
        return [self.one(table, p.strip(), what) for p in _LIST_SPLIT.split(text) if p.strip()]


def _values(cells: dict[str, str], names: Names) -> tuple[dict[str, Any], list[SiteUploadIssue]]:
    """The API fields a row's filled cells give, and what could not be read."""
    out: dict[str, Any] = {}
    issues: list[SiteUploadIssue] = []
    readers = {
        "kind": lambda v: ("kind", names.kinds.get(norm(v)) or _bad_kind(v)),
        "region": lambda v: ("region_code", names.one(names.regions, v, "village or township")),
        "organisation": lambda v: (
            "organisation_code",
            names.one(names.organisations, v, "organisation"),
        ),
        "round": lambda v: ("round_code", names.one(names.rounds, v, "collection round")),
        "materials": lambda v: ("materials", names.many(names.materials, v, "material")),
        "routes": lambda v: ("routes", names.many(names.routes, v, "treatment route")),
        "capacity_kg": lambda v: ("capacity_kg", v.replace(",", "")),
        "code": lambda v: ("code", v.upper()),
    }
    for key, value in cells.items():
        if not value:
            continue
        try:
            field, parsed = readers[key](value) if key in readers else (key, value)
        except ValueError as exc:
            issues.append(_issue(key, str(exc)))
            continue
        out[field] = parsed
    return out, issues


def _bad_kind(value: str) -> SiteKind:
    allowed = "、".join(zh for zh, _ in KIND_NAMES.values())
    raise ValueError(f"{value!r} is not a site kind; use one of {allowed}")


def _issue(column: str, reason: str) -> SiteUploadIssue:
    column = _FIELD_COLUMN.get(column, column)
    if column not in BY_KEY:
        column = "code"
    return SiteUploadIssue(column=column, header=BY_KEY[column].zh, reason=reason)


def _from_error(exc: WasteflowError) -> SiteUploadIssue:
    field = exc.field or "code"
    prefix = f"{field}: "
    reason = exc.detail[len(prefix) :] if exc.detail.startswith(prefix) else exc.detail
    if exc.detail.startswith("lat/lon: "):
        reason = exc.detail[len("lat/lon: ") :]
    return _issue(field, reason)


def _from_validation(exc: ValidationError) -> list[SiteUploadIssue]:
    _, items = describe_validation_errors(list(exc.errors()))
    return [
        _issue(
            i["field"].split(".")[0],
            "required for a new site" if i["reason"] == "required" else i["reason"],
        )
        for i in items
    ]


# --- checking and applying -----------------------------------------------------------------


class _Rollback(Exception):
    pass


def _row(
    session: Session, actor: Account, number: int, cells: dict[str, str], names: Names
) -> SiteUploadRow:
    """One row, run in a savepoint: kept if clean, rolled back with its errors if not."""
    values, issues = _values(cells, names)
    code = values.get("code")
    row = SiteUploadRow(row=number, code=code, name=cells.get("name") or None, action="invalid")
    existing = (
        session.execute(sa.select(Site).where(col(Site.code) == code)).scalar_one_or_none()
        if code
        else None
    )
    if existing is not None:
        row.name = row.name or existing.name
    if existing is not None and "kind" in values and values["kind"] != existing.kind:
        zh = KIND_NAMES[existing.kind][0]
        issues.append(_issue("kind", f"a site's kind never changes ({code} is a {zh})"))
    if existing is None and not code:
        issues.append(_issue("code", "required"))
    if issues:
        row.errors = issues
        return row
    try:
        with session.begin_nested():
            if existing is None:
                data = SiteCreate.model_validate(
                    {k: v for k, v in values.items() if k != "round_code"}
                )
                if data.kind != SiteKind.source and not data.materials:
                    raise Invalid(
                        f"materials: a {data.kind.value} must accept at least one material",
                        field="materials",
                    )
                made = insert_site(session, actor, data)
                if "round_code" in values:
                    made = apply_update(
                        session, actor, data.code, SiteUpdate(round_code=values["round_code"])
                    )
                row.action = "create"
                row.changes = {
                    k: [None, v]
                    for k, v in made.model_dump(mode="json").items()
                    if v not in (None, [], "") and k not in _NOT_SHOWN
                }
            else:
                edit = SiteUpdate.model_validate(
                    {k: v for k, v in values.items() if k not in ("code", "kind")}
                )
                before = site_public(session, [existing])[0].model_dump(mode="json")
                after = apply_update(session, actor, existing.code, edit).model_dump(mode="json")
                row.changes = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
                row.action = "update" if row.changes else "unchanged"
    except ValidationError as exc:
        row.errors = _from_validation(exc)
    except WasteflowError as exc:
        row.errors = [_from_error(exc)]
    return row


def clean_name(file_name: str) -> str:
    """A file name as kept in the report and the audit log: printable, at most 200."""
    return "".join(c for c in file_name if c.isprintable())[:200] or "upload"


def _check_all(
    session: Session, actor: Account, data: bytes, file_name: str, dry_run: bool
) -> SiteUploadReport:
    names = Names(session)
    file_name = clean_name(file_name)
    items: list[SiteUploadRow] = []
    seen: dict[str, int] = {}
    for number, cells in read_rows(data, file_name):
        code = cells.get("code", "").upper()
        if code and code in seen:
            items.append(
                SiteUploadRow(
                    row=number,
                    code=code,
                    action="invalid",
                    errors=[_issue("code", f"{code} is on row {seen[code]} already")],
                )
            )
            continue
        if code:
            seen[code] = number
        items.append(_row(session, actor, number, cells, names))
    count = {a: sum(1 for i in items if i.action == a) for a in ("create", "update", "unchanged")}
    return SiteUploadReport(
        file_name=file_name,
        digest=hashlib.sha256(data).hexdigest(),
        dry_run=dry_run,
        applied=False,
        rows=len(items),
        created=count["create"],
        updated=count["update"],
        unchanged=count["unchanged"],
        invalid=sum(1 for i in items if i.action == "invalid"),
        items=items,
    )


def check_upload(
    *, session: Session, actor: Account, data: bytes, file_name: str
) -> SiteUploadReport:
    """A dry run: every row checked as it would be written, then nothing kept."""
    require(actor.role, Action.manage_sites)
    report: SiteUploadReport | None = None
    try:
        with unit_of_work(session):
            report = _check_all(session, actor, data, file_name, dry_run=True)
            raise _Rollback
    except _Rollback:
        pass
    assert report is not None
    return report


def apply_upload(
    *,
    session: Session,
    actor: Account,
    data: bytes,
    file_name: str,
    skip_invalid: bool = False,
    idempotency_key: str | None = None,
) -> tuple[SiteUploadReport, bool]:
    """Write the file in one transaction: every row, or nothing when a row has errors (a 422
    carrying the report as ``report``), unless ``skip_invalid`` keeps the clean rows. The
    same file sent again with its key is answered as the first time."""
    require(actor.role, Action.manage_sites)
    assert actor.id is not None
    digest = hashlib.sha256(data).hexdigest()
    file_name = clean_name(file_name)
    body = {"file": digest, "name": file_name, "skip_invalid": skip_invalid}
    req = Request(actor.id, idempotency_key, "site.upload", digest[:32], idempotency.digest(body))

    def apply() -> SiteUploadReport:
        report = _check_all(session, actor, data, file_name, dry_run=False)
        if report.invalid and not skip_invalid:
            raise Invalid(
                f"file: {report.invalid} row(s) have errors; nothing was written",
                field="file",
                extra={"report": report.model_dump(mode="json")},
            )
        report.applied = bool(report.created or report.updated)
        if report.applied:
            record_event(
                session,
                account_id=actor.id,
                action="site.upload",
                entity="site_upload",
                entity_id=digest[:32],
                after={
                    "file_name": file_name,
                    "digest": digest,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "skipped": report.invalid,
                },
            )
        return report

    report, made = once(session, req, apply, SiteUploadReport)
    for item in report.items:  # a scan in this process sees the new details at once
        if item.code and item.action in ("create", "update"):
            cache.forget_site(session, item.code)
    cache.forget_acting_all()
    return report, made
