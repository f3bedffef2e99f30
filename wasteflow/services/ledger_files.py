"""Ledger files: the columns of an importable ledger, its template (CSV or XLSX, Chinese
headers with each column's English name documented), and reading an uploaded file into rows.

A ledger is one sheet (or one CSV) whose first row names the columns, in Chinese or by their
English names; each later non-empty row is a record. Cells are read as text and stripped;
what they mean is the import's business (``services.ledger_import``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session

from wasteflow.errors import Invalid
from wasteflow.services import cache
from wasteflow.services.xlsx_read import NotAWorkbook, sheet_rows
from wasteflow.types import DeclarationKind, MassBasis, StrawUse

KINDS = ("handovers", "declarations")
FORMATS = ("csv", "xlsx")
MAX_ROWS = 100_000
XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Column:
    zh: str
    name: str
    required: str  # "yes", "no" or when it is needed
    allowed: str
    example: str


# Mass methods and declaration kinds are written in Chinese in a ledger, or by their codes.
MASS_METHOD_ZH = {"称重": "weighed", "估算": "estimated"}
KIND_ZH = {
    "农膜使用量": DeclarationKind.film_used,
    "畜禽养殖量": DeclarationKind.livestock_headcount,
    "农作物产量": DeclarationKind.crop_output,
    "工业固废产生量": DeclarationKind.industrial_generated,
    "工业固废贮存利用量": DeclarationKind.industrial_from_storage,
    "生活垃圾清运量": DeclarationKind.household_collected,
    "粪污自行还田": DeclarationKind.manure_self_use,
    "秸秆农户分散利用": DeclarationKind.straw_household_use,
}
MASS_BASIS_ZH = {"粪": MassBasis.solids, "粪污": MassBasis.slurry}
STRAW_USE_BY_ZH = {
    "肥料化": StrawUse.fertiliser,
    "饲料化": StrawUse.feed,
    "燃料化": StrawUse.fuel,
    "基料化": StrawUse.substrate,
    "原料化": StrawUse.raw_material,
}

_ROW_KEY = Column(
    "行键",
    "row_key",
    "no",
    "your ledger's own id of the row (≤ 64 characters); the same key uploaded again adds "
    "nothing. Empty: the row's content is its key",
    "",
)

HANDOVER_COLUMNS = (
    _ROW_KEY,
    Column(
        "交接时间",
        "device_time",
        "yes",
        "local time (Asia/Shanghai) 2025-03-14 09:30, or a date 2025-03-14 (counted at 12:00), "
        "or ISO 8601 with an offset; any earlier date, never in the future",
        "2025-03-14 09:30",
    ),
    Column("交出站点", "from_site", "yes", "code of the sending site", ""),
    Column("接收站点", "to_site", "yes", "code of a site that accepts the material", ""),
    Column("物料", "material", "yes", "material code or its Chinese name", ""),
    Column(
        "申报重量(千克)",
        "declared_mass_kg",
        "yes",
        "kg > 0, at most 3 decimals, within the material's plausibility cap",
        "",
    ),
    Column("件数", "units", "for appliances", "whole number of items (appliances only)", ""),
    Column("称重方式", "mass_method", "yes", "称重 (weighed) or 估算 (estimated)", "称重"),
    Column("纬度", "lat", "no", "degrees, -90 … 90 (with 经度)", ""),
    Column("经度", "lon", "no", "degrees, -180 … 180 (with 纬度)", ""),
    Column(
        "实收重量(千克)",
        "received_mass_kg",
        "for a received load",
        "kg weighed at the receiving site; empty: the load lands in transit (在途), not received",
        "",
    ),
    Column("拒收重量(千克)", "refused_mass_kg", "no", "kg refused, ≤ received; empty: 0", ""),
    Column("拒收原因", "refusal_reason", "if refused", "why (3 … 256 characters)", ""),
    Column(
        "处理方式",
        "route",
        "at processors",
        "treatment route code or Chinese name, one the material may take and the receiving "
        "site runs",
        "",
    ),
    Column("实收件数", "received_units", "no", "items received (appliances only)", ""),
)

DECLARATION_COLUMNS = (
    _ROW_KEY,
    Column(
        "类型",
        "kind",
        "yes",
        "; ".join(f"{zh} ({k.value})" for zh, k in KIND_ZH.items()),
        "农膜使用量",
    ),
    Column("区域代码", "region_code", "yes", "district, township or village code", "500156"),
    Column("站点", "site_code", "no", "a source site in the region", ""),
    Column("开始日期", "period_start", "yes", "2025-01-01", "2025-01-01"),
    Column("结束日期", "period_end", "yes", "inclusive, at most one year after the start", ""),
    Column("物料", "material", "film, industrial, household, manure self-use", "code or name", ""),
    Column("数量(千克)", "quantity_kg", "kinds with a material", "kg, ≤ 3 decimals", ""),
    Column("畜种", "animal", "livestock", "coefficient subject, e.g. pig_fattening", ""),
    Column("头数", "heads", "livestock", "whole number", ""),
    Column("作物", "crop", "crop output, straw use", "e.g. maize", ""),
    Column("产量(千克)", "output_kg", "crop output", "grain output, kg", ""),
    Column("播种面积(亩)", "area_sown_mu", "crop output", "亩 > 0", ""),
    Column("还田面积(亩)", "area_returned_mu", "crop output", "亩, ≤ sown", ""),
    Column(
        "利用方式",
        "use",
        "straw use",
        "; ".join(f"{zh} ({u.value})" for zh, u in STRAW_USE_BY_ZH.items()),
        "",
    ),
    Column("计量基础", "mass_basis", "no", "粪 (solids) or 粪污 (slurry); empty: solids", ""),
    Column("土地面积(亩)", "land_area_mu", "manure self-use", "亩 > 0", ""),
    Column("系数集", "coefficient_set", "no", "coefficient set code; empty: automatic", ""),
)

COLUMNS = {"handovers": HANDOVER_COLUMNS, "declarations": DECLARATION_COLUMNS}


def check_kind(kind: str) -> tuple[Column, ...]:
    if kind not in COLUMNS:
        raise Invalid(
            f"kind: {kind!r} is not a ledger; use one of {', '.join(KINDS)}", field="kind"
        )
    return COLUMNS[kind]


def _invalid(detail: str, field: str = "file") -> Invalid:
    return Invalid(f"{field}: {detail}", field=field)


def column_label(kind: str, name: str) -> str:
    """A column's header as the template writes it, e.g. ``物料 (material)``."""
    for c in COLUMNS.get(kind, ()):
        if c.name == name:
            return c.zh
    return name


# --- the template ----------------------------------------------------------------------------


def _examples(session: Session, kind: str) -> list[str]:
    """An example row made of this database's own codes, so that the template's example is a
    row that could be imported."""
    cols = COLUMNS[kind]
    values = {c.name: c.example for c in cols}
    if kind == "handovers":
        from wasteflow.services.ledger_import import example_handover

        values |= example_handover(session)
    return [values[c.name] for c in cols]


def template_csv(session: Session, kind: str) -> bytes:
    cols = check_kind(kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.zh for c in cols])
    writer.writerow(_examples(session, kind))
    # UTF-8 with a BOM: what Excel and WPS open as UTF-8 without asking.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(session: Session, kind: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    cols = check_kind(kind)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "数据 data"
    ws.append([c.zh for c in cols])
    ws.append(_examples(session, kind))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, c in enumerate(cols, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(12, len(c.zh) * 2 + 4)
    doc = wb.create_sheet("说明 instructions")
    doc.append(
        ["列 column", "英文名 name", "必填 required", "允许的值 allowed values", "示例 example"]
    )
    for c in cols:
        doc.append([c.zh, c.name, c.required, c.allowed, c.example])
    for cell in doc[1]:
        cell.font = Font(bold=True)
    doc.append([])
    for line in _notes(session, kind):
        doc.append([line])
    for letter, width in zip("ABCDE", (18, 20, 18, 90, 20), strict=True):
        doc.column_dimensions[letter].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _notes(session: Session, kind: str) -> list[str]:
    lines = [
        "第一行是列名（中文或英文名均可），之后每行一条记录；上传时先整体校验，逐行报告错误。",
        "Row 1 names the columns (Chinese or English names); one record per row after it. "
        "The whole file is checked first and every error is reported by row and column.",
        "删除示例行后再填写；同一行键再次上传不会重复导入。",
        "Delete the example row before filling in; a row key uploaded again adds nothing.",
    ]
    if kind == "handovers":
        lines += [
            "有实收重量的行按已接收导入；实收重量为空的行按在途导入。",
            "A row with 实收重量 lands as a received load; without it, in transit (在途).",
            "物料 materials: "
            + "; ".join(f"{m.code} {m.name_zh}" for m in cache.materials(session).values()),
            "处理方式 routes: "
            + "; ".join(f"{r.code} {r.name_zh}" for r in cache.routes(session).values()),
        ]
    return lines


# --- reading an upload ---------------------------------------------------------------------


@dataclass
class Sheet:
    """An uploaded ledger read into text: the column names (English) and each row with its
    number as a spreadsheet shows it (the header is row 1)."""

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]


def read_ledger(kind: str, file_name: str, content: bytes, max_rows: int = MAX_ROWS) -> Sheet:
    """Read an uploaded CSV or XLSX file, refusing one that is not a ledger of ``kind`` with
    a 422 naming ``file`` and why."""
    cols = check_kind(kind)
    if not content:
        raise _invalid("the file is empty")
    if content.startswith(XLSX_MAGIC):
        lines = _xlsx_lines(content)
    elif file_name.lower().endswith((".xlsx", ".xls")):
        raise _invalid(f"{file_name} is not an XLSX workbook (save it as .xlsx or CSV)")
    else:
        lines = _csv_lines(content)
    first = next(lines, None)
    if first is None or first[0] != 1 or not any(first[1]):
        raise _invalid("the file has no header row (row 1 names the columns)")
    header = first[1]
    by_label = {c.zh: c.name for c in cols} | {c.name: c.name for c in cols}
    names: list[str | None] = []
    unknown = []
    for cell in header:
        label = cell.strip()
        if not label:
            names.append(None)
            continue
        name = by_label.get(label) or by_label.get(label.split("(")[0].strip())
        if name is None:
            unknown.append(label)
        names.append(name)
    if unknown:
        raise _invalid(
            f"unknown column(s) {', '.join(unknown)}; a {kind} ledger has the columns "
            + ", ".join(f"{c.zh} ({c.name})" for c in cols)
        )
    seen = [n for n in names if n]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        raise _invalid(f"column(s) given twice: {', '.join(twice)}")
    missing = [c for c in cols if c.required == "yes" and c.name not in seen]
    if missing:
        raise _invalid(
            "missing required column(s) " + ", ".join(f"{c.zh} ({c.name})" for c in missing)
        )
    rows: list[tuple[int, dict[str, str]]] = []
    for number, cells in lines:
        values = {n: v.strip() for n, v in zip(names, cells, strict=False) if n and v and v.strip()}
        if not values:
            continue
        if len(rows) >= max_rows:
            raise _invalid(f"more than {max_rows} rows; split the ledger into several files")
        rows.append((number, values))
    if not rows:
        raise _invalid("the file has a header but no rows")
    return Sheet(seen, rows)


def _csv_lines(content: bytes) -> Iterator[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise _invalid("the file is neither UTF-8 nor GB18030 text")
    if "\x00" in text:
        raise _invalid("not a CSV text file (it holds NUL characters); upload CSV or XLSX")
    try:
        return enumerate(list(csv.reader(io.StringIO(text, newline=""))), start=1)
    except csv.Error as exc:
        raise _invalid(f"not readable as CSV ({exc})") from None


def _xlsx_lines(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        yield from sheet_rows(content)
    except NotAWorkbook as exc:
        raise _invalid(f"not a readable XLSX workbook: {exc}") from None
