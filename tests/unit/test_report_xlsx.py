"""The 报表's comparison columns, read back with openpyxl: the rank (排名) beside each
township, the change against the same period a year before (同比) after each figure, and the
change against the quarter before (环比) for a quarter's report — numbers with formats, worked
here by hand."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from wasteflow.report_xlsx import ReportHeading, report_workbook


def _region(code: str, zh: str, en: str) -> dict[str, str]:
    return {"code": code, "name_zh": zh, "name_en": en, "level": "township"}


def _film(rate: float | None, met: bool | None) -> dict[str, Any]:
    return {
        "rate": rate,
        "numerator_kg": None if rate is None else rate * 10_000,
        "denominator_kg": None if rate is None else 10_000.0,
        "status": "ok" if rate is not None else "no_data",
        "met": met,
        "target": {"value": 0.9, "comparator": ">="},
        "basis": {},
    }


def _units(kg: float) -> dict[str, Any]:
    return {
        "rate": None,
        "numerator_kg": kg,
        "denominator_kg": None,
        "status": "ok",
        "met": None,
        "target": None,
        "basis": {},
    }


REPORT = {
    "indicators": [{"key": "film_recovery"}, {"key": "appliance_dismantled"}],
    "rows": [
        {
            "region": _region("500156", "武隆区", "Wulong"),
            "figures": {"film_recovery": _film(0.925, True), "appliance_dismantled": _units(22e3)},
        },
        {
            "region": _region("500156101", "白马镇", "Baima"),
            "figures": {"film_recovery": _film(0.9512, True), "appliance_dismantled": _units(12e3)},
        },
        {
            "region": _region("500156102", "江口镇", "Jiangkou"),
            "figures": {"film_recovery": _film(0.8, False), "appliance_dismantled": _units(10e3)},
        },
    ],
}


def _cmp(yoy: float | None, qoq: float | None, rel: float | None) -> dict[str, Any]:
    return {
        "film_recovery": {
            "yoy": {"change": yoy, "relative": None},
            "mom": {"change": qoq, "relative": None},
        },
        "appliance_dismantled": {
            "yoy": {"change": None, "relative": rel},
            "mom": {"change": None, "relative": None},
        },
    }


# 白马镇: 95.12 % now, 93.01 % in 2025 Q2 → +2.11 points; 12 t of appliances against 10 t →
# +20 %. 江口镇: 80 % against 84.5 % → −4.5 points; no figure the quarter before.
COMPARE = {
    "previous_year": {"label": "2025-Q2"},
    "previous_period": {"label": "2026-Q1"},
    "rows": [
        {"region": REPORT["rows"][0]["region"], "rank": None, "figures": _cmp(0.01, 0.0, 0.1)},
        {
            "region": REPORT["rows"][1]["region"],
            "rank": 1,
            "figures": _cmp(round(0.9512 - 0.9301, 6), -0.0033, (12e3 - 10e3) / 10e3),
        },
        {
            "region": REPORT["rows"][2]["region"],
            "rank": 2,
            "figures": _cmp(round(0.8 - 0.845, 6), None, None),
        },
    ],
}


def _book(
    compare: dict[str, Any] | None,
    report: dict[str, Any] = REPORT,
    not_applicable: frozenset[tuple[str, str]] = frozenset(),
) -> Any:
    heading = ReportHeading(
        lang="zh",
        title="武隆区 2026年第2季度 资源化利用情况报表",
        period_start="2026年4月1日",
        period_end="2026年6月30日",
        made_by="武隆区生态环境局",
        made_on="2026年7月1日",
        mom_kind="QoQ",
        not_applicable=not_applicable,
    )
    return load_workbook(io.BytesIO(report_workbook(report, heading, compare)))["利用率报表"]


def test_the_report_ranks_townships_and_shows_their_changes_as_numbers() -> None:
    ws = _book(COMPARE)
    assert [ws.cell(5, c).value for c in (1, 2, 3, 4)] == [
        "乡镇（街道）",
        "区划代码",
        "排名",
        "农膜回收率",
    ]
    assert [ws.cell(6, c).value for c in range(4, 9)] == [
        "利用率",
        "同比（百分点）",
        "环比（百分点）",
        "目标（≥）",
        "达标情况",
    ]
    assert [ws.cell(6, c).value for c in range(9, 12)] == ["拆解量（吨）", "同比", "环比"]
    assert ws.cell(5, 9).value == "废弃电器电子产品拆解量"
    assert ws.freeze_panes == "D7"  # names, codes and ranks stay in view
    rows = {ws.cell(r, 2).value: r for r in range(7, 10)}
    baima, jiangkou, total = rows["500156101"], rows["500156102"], rows["500156"]
    assert (ws.cell(baima, 3).value, ws.cell(jiangkou, 3).value) == (1, 2)
    assert ws.cell(baima, 3).number_format == "0"
    assert ws.cell(total, 3).value is None  # the district is not one of the ranked
    yoy = ws.cell(baima, 5)
    assert yoy.value == 2.11 and isinstance(yoy.value, float)
    assert yoy.number_format == "+0.0;-0.0;0.0"  # shown +2.1, as the townships page does
    assert ws.cell(baima, 6).value == -0.33
    assert ws.cell(jiangkou, 5).value == -4.5
    assert ws.cell(jiangkou, 6).value is None  # no figure the quarter before: an empty cell
    assert (ws.cell(baima, 7).value, ws.cell(baima, 8).value) == (0.9, "达标")
    rel = ws.cell(baima, 10)
    assert rel.value == 0.2 and rel.number_format == "+0.0%;-0.0%;0.0%"
    assert ws.cell(baima, 9).value == 12.0 and ws.cell(baima, 9).number_format == "#,##0.00"
    assert ws.auto_filter.ref == "A6:K8"  # the townships; the total stays put


def test_without_a_comparison_the_report_keeps_its_own_columns() -> None:
    ws = _book(None)
    assert [ws.cell(6, c).value for c in (3, 4, 5)] == ["利用率", "目标（≥）", "达标情况"]
    assert ws.freeze_panes == "C7"


def test_a_figure_that_does_not_apply_says_so_and_one_without_data_says_no_data() -> None:
    rows = [dict(r) for r in REPORT["rows"]]
    for n in (1, 2):
        rows[n] = rows[n] | {"figures": rows[n]["figures"] | {"film_recovery": _film(None, None)}}
    ws = _book(None, REPORT | {"rows": rows}, frozenset({("500156102", "film_recovery")}))
    verdicts = {ws.cell(r, 2).value: ws.cell(r, 5).value for r in range(7, 10)}
    assert verdicts["500156102"] == "不适用"  # no such sources in 江口镇, say
    assert verdicts["500156101"] == "无数据"  # it applies: nothing to compute it from yet
