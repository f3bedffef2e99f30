"""The 报表: the rates report as a district sends it upward, as an XLSX workbook.

Where ``wasteflow.exports`` writes the report as data (one row per region × indicator, for
another program), this writes it for people: one row per township, the indicators across, a
title block (title, period, units, who made it and when), the notes on what the figures rest
on below the table, and a workbook that prints: A4 landscape, one page wide, the header rows on
every page.

Two sheets, because a table of every rate with its target and verdict is already as wide as an
A4 page can hold legibly:

- the rates: each township's rank (排名, by targets met, as on the townships page), each rate
  indicator's rate (a number, ``0.0%``), its change against the same period a year before
  (同比, in percentage points) and against the period before (环比, for a month or a
  quarter), target (a number, ``%``) and verdict (达标 / 未达标 / a data check when a rate
  passes 100 %), plus the two quantities with their relative changes;
- the quantities behind them: each indicator's numerator and denominator under their own
  names (回收量, 使用量…) in tonnes, shown with two decimals.

Numbers are cells holding numbers with a number format, never text: an official who sums a
column, or a program that reads it, gets the figure. Masses are kg / 1000 rounded to the gram,
so nothing is lost to the display's two decimals.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from wasteflow.rates import INDICATORS

RATE_FORMAT = "0.0%"
TONNES_FORMAT = "#,##0.00"
RANK_FORMAT = "0"
# A change of rates in percentage points, and a relative change, always with their sign.
POINTS_FORMAT = "+0.0;-0.0;0.0"
RELATIVE_FORMAT = "+0.0%;-0.0%;0.0%"
# A rate above this is not a success but a sign of bad data (more recovered than used).
OVER_FULL = 1 + 1e-9

_WORDS: dict[str, tuple[str, str]] = {
    "sheet.rates": ("利用率报表", "rates"),
    "sheet.quantities": ("利用量与产生量", "quantities"),
    "title.quantities": ("（利用量与产生量）", " (quantities)"),
    "col.region": ("乡镇（街道）", "township"),
    "col.code": ("区划代码", "area code"),
    "col.rank": ("排名", "rank"),
    "col.yoy_points": ("同比（百分点）", "YoY (points)"),
    "col.mom_points": ("环比（百分点）", "{kind} (points)"),
    "col.yoy_relative": ("同比", "YoY"),
    "col.mom_relative": ("环比", "{kind}"),
    "col.rate": ("利用率", "rate"),
    "col.target_ge": ("目标（≥）", "target (≥)"),
    "col.target_le": ("目标（≤）", "target (≤)"),
    "col.verdict": ("达标情况", "verdict"),
    "col.tonnes": ("{name}（吨）", "{name} (t)"),
    "total": ("{name}（合计）", "{name} (total)"),
    "made_by": ("制表单位：{who}", "Made by: {who}"),
    "made_on": ("制表日期：{day}", "Date made: {day}"),
    "units": ("计量单位：吨、%", "Units: tonnes, %"),
    "period": ("统计期间：{start} 至 {end}", "Period: {start} to {end}"),
    "notes": ("注：", "Notes:"),
    "see_rates": (
        "比率、目标和达标情况见“利用率报表”工作表；质量以吨计，保留两位小数显示。",
        "Rates, targets and verdicts are on the 'rates' sheet; masses in tonnes, shown with "
        "two decimals.",
    ),
    "met": ("达标", "met"),
    "missed": ("未达标", "missed"),
    "no_target": ("无目标", "no target"),
    "no_data": ("无数据", "no data"),
    "not_applicable": ("不适用", "not applicable"),
    "over_full": ("超过100%，请核查数据", "over 100 %: check the data"),
}

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=16)
_HEAD_FILL = PatternFill("solid", fgColor="DDE6F0")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_CHECK_FILL = PatternFill("solid", fgColor="FFE08A")
_VERDICT_FONT = {
    "met": Font(color="1E6B2F"),
    "missed": Font(color="B00020", bold=True),
    "over_full": Font(color="7A4A00", bold=True),
    "no_data": Font(color="666666"),
    "not_applicable": Font(color="666666"),
    "no_target": Font(color="666666"),
}
_THIN = Side(style="thin", color="999999")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP_CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)


@dataclass(frozen=True)
class ReportHeading:
    """What the report says about itself, in the reader's language."""

    lang: str
    title: str
    period_start: str
    period_end: str
    made_by: str
    made_on: str
    notes: Sequence[str] = field(default_factory=tuple)
    # (region code, indicator) of the figures whose indicator does not apply to the region.
    not_applicable: frozenset[tuple[str, str]] = frozenset()
    # What the change against the period before is called in English (MoM or QoQ).
    mom_kind: str = "MoM"


def verdict(figure: Mapping[str, Any], applies: bool = True) -> str:
    """What a figure's verdict cell says: met, missed, no_target, no_data (not_applicable
    when the indicator does not apply to the region), or over_full when its rate passes
    100 % (never a plain 达标: such a rate means the records are wrong)."""
    if figure.get("status") == "no_data" or figure.get("rate") is None:
        return "no_data" if applies else "not_applicable"
    if figure["rate"] > OVER_FULL:
        return "over_full"
    if figure.get("met") is True:
        return "met"
    if figure.get("met") is False:
        return "missed"
    return "no_target"


def _w(lang: str, key: str, **values: Any) -> str:
    zh, en = _WORDS[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def _name(item: Mapping[str, Any], lang: str) -> str:
    return str(item["name_zh"] if lang == "zh" else item["name_en"] or item["name_zh"])


def _tonnes(kg: float | None) -> float | None:
    return None if kg is None else round(kg / 1000, 6)


def _target_format(value: float) -> str:
    return "0%" if abs(value * 100 - round(value * 100)) < 1e-9 else "0.0%"


def report_workbook(
    report: Mapping[str, Any],
    heading: ReportHeading,
    compare: Mapping[str, Any] | None = None,
) -> bytes:
    """The report (``wasteflow.services.rates.report``'s dict) as the 报表's XLSX bytes; with
    the comparison of the same period (``wasteflow.services.comparisons.comparison``), its
    ranks and changes too."""
    lang = heading.lang
    keys = [i["key"] for i in report["indicators"]]
    rows = report["rows"]
    total, townships = rows[0], rows[1:]
    wb = Workbook()
    rates_ws = wb.active
    assert rates_ws is not None
    rates_ws.title = _w(lang, "sheet.rates")
    _rates_sheet(rates_ws, keys, townships, total, heading, _Compare.of(compare))
    _quantities_sheet(
        wb.create_sheet(_w(lang, "sheet.quantities")), keys, townships, total, heading
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- the two sheets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compare:
    """The comparison's rows by region code, and which changes it has (a year's report has no
    环比: the year before is its 同比)."""

    rows: Mapping[str, Mapping[str, Any]]
    mom: bool

    @classmethod
    def of(cls, compare: Mapping[str, Any] | None) -> _Compare | None:
        if compare is None:
            return None
        rows = {r["region"]["code"]: r for r in compare["rows"]}
        return cls(rows, compare.get("previous_period") is not None)

    def changes(self) -> list[str]:
        return ["yoy", "mom"] if self.mom else ["yoy"]

    def figure(self, code: str, key: str) -> Mapping[str, Any]:
        return self.rows.get(code, {}).get("figures", {}).get(key) or {}


@dataclass
class _Column:
    header: str  # second header row
    width: float
    group: str | None = None  # first header row (an indicator), merged over its columns


def _rates_columns(
    keys: list[str], total: Mapping[str, Any], lang: str, compare: _Compare | None, kind: str
) -> list[_Column]:
    cols: list[_Column] = []
    changes = compare.changes() if compare else []
    for key in keys:
        ind = INDICATORS[key]
        name = ind.name_zh if lang == "zh" else ind.name_en
        if not ind.has_rate:
            unit = ind.numerator[0 if lang == "zh" else 1]
            cols.append(_Column(_w(lang, "col.tonnes", name=unit), 12, name))
            cols += [_Column(_w(lang, f"col.{c}_relative", kind=kind), 8, name) for c in changes]
            continue
        target = total["figures"][key].get("target") or {}
        le = target.get("comparator") == "<="
        cols.append(_Column(_w(lang, "col.rate"), 9, name))
        cols += [_Column(_w(lang, f"col.{c}_points", kind=kind), 9, name) for c in changes]
        cols += [
            _Column(_w(lang, "col.target_le" if le else "col.target_ge"), 9, name),
            _Column(_w(lang, "col.verdict"), 10, name),
        ]
    return cols


def _change_cell(
    ws: Worksheet, row: int, column: int, change: Mapping[str, Any] | None, rate: bool, bold: bool
) -> None:
    """A change against an earlier period: percentage points for a rate (the difference × 100,
    so the cell reads as the townships page does), a fraction shown in per cent for a mass."""
    value = None
    if change:
        if rate and change.get("change") is not None:
            value = round(change["change"] * 100, 4)
        elif not rate:
            value = change.get("relative")
    _number(ws, row, column, value, POINTS_FORMAT if rate else RELATIVE_FORMAT, bold)


def _rates_sheet(
    ws: Worksheet,
    keys: list[str],
    townships: Sequence[Mapping[str, Any]],
    total: Mapping[str, Any],
    heading: ReportHeading,
    compare: _Compare | None = None,
) -> None:
    lang = heading.lang
    cols = _rates_columns(keys, total, lang, compare, heading.mom_kind)
    lead = 3 if compare else 2
    first, last = _table(ws, cols, townships, total, heading, heading.title, lead)
    changes = compare.changes() if compare else []

    def fill(row: int, region_row: Mapping[str, Any], bold: bool) -> None:
        code = region_row["region"]["code"]
        if compare is not None:
            rank = compare.rows.get(code, {}).get("rank")
            _number(ws, row, 3, rank, RANK_FORMAT, bold).alignment = _WRAP_CENTRE
        c = lead + 1
        for key in keys:
            f = region_row["figures"][key]
            has_rate = INDICATORS[key].has_rate
            if not has_rate:
                _number(ws, row, c, _tonnes(f["numerator_kg"]), TONNES_FORMAT, bold)
                c += 1
            else:
                rate_cell = _number(ws, row, c, f["rate"], RATE_FORMAT, bold)
                c += 1
            for which in changes:
                assert compare is not None
                _change_cell(ws, row, c, compare.figure(code, key).get(which), has_rate, bold)
                c += 1
            if not has_rate:
                continue
            v = verdict(f, (code, key) not in heading.not_applicable)
            target = f.get("target")
            if target is not None:
                _number(ws, row, c, target["value"], _target_format(target["value"]), bold)
            else:
                _number(ws, row, c, None, RATE_FORMAT, bold)
            cell = ws.cell(row=row, column=c + 1, value=_w(lang, v))
            cell.font = _VERDICT_FONT[v]
            cell.alignment = _WRAP_CENTRE
            cell.border = _BOX
            if v == "over_full":
                rate_cell.fill = cell.fill = _CHECK_FILL
                ws.row_dimensions[row].height = 30  # the warning takes two lines
            c += 2

    _fill_rows(ws, townships, total, first, fill, lang)
    _notes(ws, last + 2, len(cols) + lead, [*heading.notes], lang)


def _quantities_sheet(
    ws: Worksheet,
    keys: list[str],
    townships: Sequence[Mapping[str, Any]],
    total: Mapping[str, Any],
    heading: ReportHeading,
) -> None:
    lang = heading.lang
    i = 0 if lang == "zh" else 1
    cols: list[_Column] = []
    for key in keys:
        ind = INDICATORS[key]
        name = ind.name_zh if lang == "zh" else ind.name_en
        cols.append(_Column(_w(lang, "col.tonnes", name=ind.numerator[i]), 12, name))
        if ind.denominator is not None:
            cols.append(_Column(_w(lang, "col.tonnes", name=ind.denominator[i]), 12, name))
    title = heading.title + _w(lang, "title.quantities")
    first, last = _table(ws, cols, townships, total, heading, title)

    def fill(row: int, region_row: Mapping[str, Any], bold: bool) -> None:
        c = 3
        for key in keys:
            f = region_row["figures"][key]
            _number(ws, row, c, _tonnes(f["numerator_kg"]), TONNES_FORMAT, bold)
            c += 1
            if INDICATORS[key].denominator is not None:
                _number(ws, row, c, _tonnes(f["denominator_kg"]), TONNES_FORMAT, bold)
                c += 1

    _fill_rows(ws, townships, total, first, fill, lang)
    _notes(ws, last + 2, len(cols) + 2, [_w(lang, "see_rates")], lang)


# --- what both sheets share -------------------------------------------------------------------

HEAD_ROW = 5  # the indicators' names; the row below names each column
FIRST_ROW = HEAD_ROW + 2


def _table(
    ws: Worksheet,
    cols: list[_Column],
    townships: Sequence[Mapping[str, Any]],
    total: Mapping[str, Any],
    heading: ReportHeading,
    title: str,
    lead: int = 2,
) -> tuple[int, int]:
    """The title block and the two header rows; set widths, freeze panes, filter and print
    setup. ``lead`` columns come first: the township, its code and (with comparisons) its
    rank. Returns the first data row and the total's row."""
    lang = heading.lang
    width = len(cols) + lead
    end = get_column_letter(width)
    ws["A1"] = title
    ws["A1"].font = _TITLE
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A1:{end}1")
    ws.row_dimensions[1].height = 30
    ws["A2"] = _w(lang, "period", start=heading.period_start, end=heading.period_end)
    ws.merge_cells(f"A2:{end}2")
    # Who and when on the left, the units on the right: the line above a 报表's table.
    third = max(1, width // 3)
    spans = [(1, third), (third + 1, 2 * third), (2 * third + 1, width)]
    words = [
        _w(lang, "made_by", who=heading.made_by),
        _w(lang, "made_on", day=heading.made_on),
        _w(lang, "units"),
    ]
    for (start, stop), text in zip(spans, words, strict=True):
        ws.cell(row=3, column=start, value=text)
        if stop > start:
            ws.merge_cells(start_row=3, start_column=start, end_row=3, end_column=stop)
    ws.cell(row=3, column=spans[2][0]).alignment = Alignment(horizontal="right")

    head, sub = HEAD_ROW, HEAD_ROW + 1
    names = [_w(lang, "col.region"), _w(lang, "col.code"), _w(lang, "col.rank")][:lead]
    for c, text in enumerate(names, start=1):
        _head(ws, head, c, text)
        _head(ws, sub, c, None)
        ws.merge_cells(start_row=head, start_column=c, end_row=sub, end_column=c)
    ws.column_dimensions["A"].width = 16 if lang == "zh" else 22
    ws.column_dimensions["B"].width = 12
    if lead > 2:
        ws.column_dimensions["C"].width = 7
    c = lead + 1
    while c - lead - 1 < len(cols):
        group = cols[c - lead - 1].group
        span = 1
        while c - lead - 1 + span < len(cols) and cols[c - lead - 1 + span].group == group:
            span += 1
        _head(ws, head, c, group)
        for k in range(span):
            col = cols[c - lead - 1 + k]
            if k:
                _head(ws, head, c + k, None)
            _head(ws, sub, c + k, col.header)
            ws.column_dimensions[get_column_letter(c + k)].width = col.width
        if span > 1:
            ws.merge_cells(start_row=head, start_column=c, end_row=head, end_column=c + span - 1)
        c += span
    ws.row_dimensions[head].height = 48 if lang == "zh" else 62
    ws.row_dimensions[sub].height = 32

    last_township = FIRST_ROW + len(townships) - 1
    total_row = last_township + 1
    ws.freeze_panes = ws.cell(row=FIRST_ROW, column=lead + 1)
    # The filter covers the townships only: sorting them never moves the total.
    ws.auto_filter.ref = f"A{sub}:{end}{max(last_township, sub)}"
    ws.print_title_rows = f"{head}:{sub}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "第 &P 页，共 &N 页" if lang == "zh" else "Page &P of &N"
    return FIRST_ROW, total_row


def _fill_rows(
    ws: Worksheet,
    townships: Sequence[Mapping[str, Any]],
    total: Mapping[str, Any],
    first: int,
    fill: Any,
    lang: str,
) -> None:
    for n, r in enumerate([*townships, total]):
        row = first + n
        is_total = n == len(townships)
        name = _name(r["region"], lang)
        if is_total:
            name = _w(lang, "total", name=name)
        a = ws.cell(row=row, column=1, value=name)
        b = ws.cell(row=row, column=2, value=r["region"]["code"])
        for cell in (a, b):
            cell.border = _BOX
            cell.font = _BOLD if is_total else Font()
        # Codes are identifiers, not numbers: text keeps them exact in every program.
        b.number_format = "@"
        if is_total:
            a.fill = b.fill = _TOTAL_FILL
        fill(row, r, is_total)


def _head(ws: Worksheet, row: int, column: int, text: str | None) -> None:
    cell = ws.cell(row=row, column=column, value=text)
    cell.font = _BOLD
    cell.fill = _HEAD_FILL
    cell.alignment = _WRAP_CENTRE
    cell.border = _BOX


def _number(ws: Worksheet, row: int, column: int, value: Any, fmt: str, bold: bool) -> Any:
    cell = ws.cell(row=row, column=column, value=value)
    cell.number_format = fmt
    cell.border = _BOX
    cell.alignment = Alignment(horizontal="right", vertical="center")
    if bold:
        cell.font = _BOLD
    return cell


def _notes(ws: Worksheet, row: int, width: int, notes: list[str], lang: str) -> None:
    """The notes under the table, one merged and wrapped row each."""
    if not notes:
        return
    ws.cell(row=row, column=1, value=_w(lang, "notes")).font = _BOLD
    # The merged row is about this many characters wide (CJK characters count double).
    chars = sum(
        (ws.column_dimensions[get_column_letter(c)].width or 9) for c in range(1, width + 1)
    )
    for n, text in enumerate(notes, start=1):
        r = row + n
        cell = ws.cell(row=r, column=1, value=f"{n}. {text}")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        wide = sum(2 if ord(ch) > 0x2E80 else 1 for ch in cell.value)
        ws.row_dimensions[r].height = 15 * max(1, -(-wide // max(20, int(chars))))
