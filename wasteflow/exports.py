"""CSV, XLSX and GeoJSON exports of reports and registers (Chinese headers by default).

CSV is UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it without mojibake.
XLSX is written by openpyxl in write-only mode (constant memory).

Text a user typed (a refusal reason, a site name) is never a formula in an official's
spreadsheet: a CSV cell that begins with ``= + - @``, a tab or a carriage return gets a
leading apostrophe (the spreadsheet shows the text as typed), and XLSX cells hold text as
text, never as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from wasteflow.errors import Invalid

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA = "text/csv; charset=utf-8"
XLSX_MAX_ROWS = 200_000

REPORT_COLUMNS: list[tuple[str, str, str]] = [  # key, Chinese header, English header
    ("region_code", "区域代码", "region code"),
    ("region_name", "区域", "region"),
    ("indicator", "指标代码", "indicator code"),
    ("indicator_name", "指标", "indicator"),
    ("period", "期间", "period"),
    ("numerator_kg", "分子（千克）", "numerator (kg)"),
    ("denominator_kg", "分母（千克）", "denominator (kg)"),
    ("rate_percent", "比率（%）", "rate (%)"),
    ("target_percent", "目标（%）", "target (%)"),
    ("met", "是否达标", "target met"),
    ("status", "数据状态", "data status"),
    ("formula", "公式", "formula"),
    ("coefficient_sets", "系数集", "coefficient sets"),
    ("handovers", "交接记录数", "handovers"),
    ("declarations", "申报记录数", "declarations"),
]

REGISTER_COLUMNS: list[tuple[str, str, str]] = [
    ("code", "交接编号", "handover code"),
    ("day", "日期", "day"),
    ("from_site", "移出站点", "from site"),
    ("to_site", "接收站点", "to site"),
    ("material", "物料", "material"),
    ("declared_mass_kg", "申报重量（千克）", "declared (kg)"),
    ("units", "件数", "units"),
    ("mass_method", "计量方式", "weighed or estimated"),
    ("status", "状态", "status"),
    ("received_mass_kg", "接收重量（千克）", "received (kg)"),
    ("refused_mass_kg", "拒收重量（千克）", "refused (kg)"),
    ("accepted_mass_kg", "接受重量（千克）", "accepted (kg)"),
    ("route", "处理方式", "treatment route"),
    ("refusal_reason", "拒收原因", "refusal reason"),
    ("flags", "异常标记", "flags"),
    ("recorded_by", "记录人", "recorded by"),
    ("received_by", "接收人", "received by"),
    ("channel", "来源", "channel"),
]

_MET = {
    "zh": {True: "达标", False: "未达标", None: "—"},
    "en": {True: "met", False: "missed", None: "—"},
}
_STATUS = {"zh": {"ok": "有数据", "no_data": "无数据"}, "en": {"ok": "ok", "no_data": "no data"}}


def headers(columns: Sequence[tuple[str, str, str]], lang: str) -> list[str]:
    """The column headers of an export, in Chinese (``zh``) or English (``en``)."""
    if lang not in ("zh", "en"):
        raise Invalid("lang: zh or en", field="lang")
    return [zh if lang == "zh" else en for _, zh, en in columns]


def report_rows(report: dict[str, Any], lang: str) -> Iterator[list[Any]]:
    """The report as one row per region × indicator."""
    for row in report["rows"]:
        region = row["region"]
        for key, f in row["figures"].items():
            target = f["target"]
            yield [
                region["code"],
                region["name_zh" if lang == "zh" else "name_en"],
                key,
                f["name_zh" if lang == "zh" else "name_en"],
                f["period"]["label"],
                f["numerator_kg"],
                f["denominator_kg"],
                None if f["rate"] is None else round(f["rate"] * 100, 2),
                None if target is None else f"{target['comparator']} {target['value'] * 100:g}",
                _MET[lang][f["met"]],
                _STATUS[lang][f["status"]],
                f["formula"] if lang == "zh" else f["formula_text"],
                ", ".join(f["coefficient_sets"]),
                f["records"]["handovers"],
                f["records"]["declarations"],
            ]


def report_file(report: dict[str, Any], fmt: str, lang: str) -> tuple[bytes, str, str]:
    """The rates report as CSV or XLSX: (content, media type, file name)."""
    header = headers(REPORT_COLUMNS, lang)
    name = f"wasteflow-rates-{report['region']['code']}-{report['period']['label']}"
    rows = report_rows(report, lang)
    if fmt == "csv":
        return b"".join(csv_chunks(header, rows)), CSV_MEDIA, name + ".csv"
    return (
        xlsx_bytes(header, rows, "rates" if lang == "en" else "利用率"),
        XLSX_MEDIA,
        name + ".xlsx",
    )


def register_row(item: dict[str, Any]) -> list[Any]:
    out = []
    for key, _, _ in REGISTER_COLUMNS:
        value: Any = item.get(key)
        if isinstance(value, list):
            value = ",".join(value)
        elif hasattr(value, "value"):
            value = value.value
        out.append(value)
    return out


def csv_chunks(
    header: list[str], rows: Iterable[Sequence[Any]], rows_per_chunk: int = 2000
) -> Iterator[bytes]:
    """CSV in chunks (for streaming), starting with a UTF-8 byte-order mark."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow(["" if v is None else neutralised(v) for v in row])
        if n % rows_per_chunk == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


# What makes a spreadsheet read a cell as a formula (or, for tab and CR, a new cell).
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> Any:
    """A CSV cell that no spreadsheet reads as a formula: text beginning with ``= + - @``, a
    tab or a carriage return gets a leading apostrophe; numbers and other text pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_LEAD):
        return "'" + value
    return value


def too_many_rows(count: int) -> Invalid:
    """The error for an XLSX export of more rows than it may hold (say it before building)."""
    return Invalid(
        f"format: {count:,} rows are more than an XLSX export holds ({XLSX_MAX_ROWS:,}); "
        "export CSV, or narrow the filters",
        field="format",
    )


def xlsx_bytes(header: list[str], rows: Iterable[Sequence[Any]], sheet: str) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(header)
    for n, row in enumerate(rows, start=1):
        if n > XLSX_MAX_ROWS:
            raise too_many_rows(n)
        ws.append([_cell(ws, v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(ws: Any, value: Any) -> Any:
    if hasattr(value, "value"):  # enums
        return value.value
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones: cells hold UTC
    if isinstance(value, str) and value.startswith("="):
        # openpyxl would store it as a formula: keep it text.
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value
