"""Pages a district official reads in Chinese, checked for what makes them readable: names
rather than internal codes, Chinese punctuation, quantities by their names, plain numbers in
charts, headers that never break inside a word (tables scroll instead, at phone width too),
不适用 apart from 无数据, a handover's history in labelled values, and the records page's
export. Every page is saved as a screenshot at desktop and phone width."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import DESKTOP, PHONE, Browser

pytestmark = pytest.mark.browser

PAGES = {
    "home": "/dashboard",
    "townships": "/dashboard/townships",
    "township": "/dashboard/townships/500156101",
    "records": "/dashboard/records?indicator=film_recovery&region=500156101",
    "register": "/dashboard/handovers",
    "sites": "/dashboard/sites",
}
# What must never be on screen where a name exists: material and route codes, indicator
# keys, stored field names, a raw dump (``declared_mass_g=18400``). Demo accounts' user
# names (collector.baima) are names people log in with, and stay.
CODE = re.compile(
    r"\b(?:film|manure|straw|hh|isw|rec|appliance)\.[a-z_]+\b"
    r"|\b[a-z]+(?:_[a-z]+)+\b"
    r"|\w+=\S"
)
USERNAME = re.compile(r"\b(?:collector|operator|processor)\.[a-z0-9]+\b")
# A Chinese character next to a half-width colon or bracket: Chinese text uses ：（）.
HALF_WIDTH = re.compile(r"[\u4e00-\u9fff][:()]|[:(][\u4e00-\u9fff]")


def main_text(page: Any) -> str:
    """What the page says, without user names and formulas (math keeps its ASCII brackets)."""
    text = page.evaluate(
        """() => {
            const main = document.querySelector('main').cloneNode(true);
            main.querySelectorAll('.formula').forEach(f => f.remove());
            document.body.appendChild(main);  // innerText needs a laid-out element
            main.style.position = 'absolute';
            main.style.left = '-99999px';
            const text = main.innerText;
            main.remove();
            return text;
        }"""
    )
    return USERNAME.sub("", text)


def words_broken_in_headers(page: Any) -> list[str]:
    """Header words laid out on more than one line. A word is a run of text between spaces
    and ``<wbr>`` (where a long Chinese header may wrap), so only a break inside one counts.
    """
    return page.evaluate(
        """() => {
            const broken = [];
            for (const th of document.querySelectorAll('thead th')) {
                const walk = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
                for (let node = walk.nextNode(); node; node = walk.nextNode()) {
                    const text = node.textContent;
                    const re = /\\S+/g;
                    let m;
                    while ((m = re.exec(text))) {
                        const range = document.createRange();
                        range.setStart(node, m.index);
                        range.setEnd(node, m.index + m[0].length);
                        const tops = new Set(
                            [...range.getClientRects()].filter(r => r.width > 0)
                                .map(r => Math.round(r.top)));
                        if (tops.size > 1) broken.push(m[0]);
                    }
                }
            }
            return broken;
        }"""
    )


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_read_in_chinese_without_codes(browser: Browser, page: Any, name: str) -> None:
    browser.login(page)
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.goto(browser.url(PAGES[name]))
        text = main_text(page)
        assert not CODE.findall(text), f"{name}: internal codes on screen {CODE.findall(text)}"
        assert not HALF_WIDTH.findall(text), f"{name}: half-width punctuation in Chinese"
        for word in ("分子", "分母", "背后的记录", "收入"):
            assert word not in text, f"{name}: {word!r} is on screen"
        # Headers: one line per word; a table too wide scrolls inside its frame, the page
        # never sideways.
        assert not words_broken_in_headers(page), f"{name} ({width}): a header word breaks"
        styles = page.locator("thead th").evaluate_all(
            "ths => ths.map(th => [getComputedStyle(th).whiteSpace, "
            "getComputedStyle(th).wordBreak])"
        )
        assert all(ws == "nowrap" or wb == "keep-all" for ws, wb in styles), name
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
        browser.shoot(page, f"40-readable-{name}-{width}")
    page.set_viewport_size(DESKTOP)


def test_a_wide_table_scrolls_in_its_frame_at_phone_width(browser: Browser) -> None:
    tab = browser.new_page(PHONE)
    try:
        browser.login(tab)
        tab.goto(browser.url("/dashboard/townships"))
        frame = tab.locator("#indicator-table").locator("xpath=..")
        assert frame.evaluate("f => f.scrollWidth > f.clientWidth + 100")
        assert frame.evaluate("f => getComputedStyle(f).overflowX") == "auto"
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    finally:
        tab.close()


def test_home_names_each_quantity_and_charts_plain_numbers(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard"))
    film = page.locator("#fig-film_recovery .facts dt").all_inner_texts()
    assert film[:2] == ["回收量", "使用量"]
    manure = page.locator("#fig-manure_utilisation .facts dt").all_inner_texts()
    assert manure[:2] == ["利用量", "产生量"]
    assert page.locator("#fig-film_recovery a.records").inner_text() == "查看明细记录"
    assert "系数集：2025年系数集" in page.inner_text("#fig-manure_utilisation")
    page.wait_for_function(
        "document.querySelectorAll('.trend[data-ready]').length === "
        "document.querySelectorAll('.trend').length",
        timeout=120_000,
    )
    axes = page.locator(".trend.js-plotly-plot").evaluate_all(
        """els => els.map(el => ({
            format: el._fullLayout.yaxis.tickformat,
            exponent: el.layout.yaxis.exponentformat,
            ticks: [...el.querySelectorAll('.ytick text')].map(t => t.textContent)}))"""
    )
    assert len(axes) == page.locator(".trend").count() == 11
    for axis in axes:
        assert axis["format"] and "s" not in axis["format"], axis
        assert axis["exponent"] == "none"
        # Plain numbers: 0, 20, 1,500, 0.5 %, never 1.5k or 500m.
        assert all(re.fullmatch(r"−?[\d,]+(\.\d+)? ?%?", t) for t in axis["ticks"]), axis
    tonnes = page.locator("#fig-appliance_dismantled .trend .gtitle").text_content() or ""
    assert tonnes.endswith("吨")
    page.goto(browser.url("/dashboard/sites"))
    page.wait_for_selector("#sites-map .plot-container")
    ticks = page.locator("#sites-map .xtick text, #sites-map .ytick text").all_text_contents()
    assert ticks and all(re.fullmatch(r"[\d.]+°[EN]", t) for t in ticks), ticks


def test_not_applicable_apart_from_no_data(browser: Browser, page: Any) -> None:
    """凤山街道 has no factory: its bulk industrial waste rate does not apply (不适用). A year
    before the demo's first has no data at all, but where there are farms the rates apply:
    无数据. Villages have no household rate: household waste is declared per township."""
    browser.login(page)
    with browser.server.api() as api:
        fig = api.get(
            "/rates",
            params={"indicator": "industrial_utilisation", "region": "500156001", "period": "2026"},
        ).json()
    assert fig["status"] == "no_data"
    page.goto(browser.url("/dashboard/townships"))
    row = page.locator("#indicator-table tr[data-region='500156001'] td.fig")
    keys = page.locator("#indicator-table thead th[data-key]").evaluate_all(
        "ths => ths.map(th => th.dataset.key)"
    )
    industrial = row.nth(keys.index("industrial_utilisation"))
    assert industrial.get_attribute("data-status") == "not_applicable"
    assert "不适用" in industrial.inner_text()
    assert "不适用" in page.inner_text(".compare-notes")
    page.goto(browser.url("/dashboard/townships?period=2024"))
    row = page.locator("#indicator-table tr[data-region='500156001'] td.fig")
    assert row.nth(keys.index("film_recovery")).get_attribute("data-status") == "no_data"
    assert "无数据" in row.nth(keys.index("film_recovery")).inner_text()
    assert row.nth(keys.index("industrial_utilisation")).get_attribute("data-status") == (
        "not_applicable"
    )
    page.goto(browser.url("/dashboard/townships/500156101"))
    village = page.locator("#indicator-table tbody tr").first.locator("td.fig")
    assert village.nth(keys.index("household_safe_treatment")).get_attribute("data-status") == (
        "not_applicable"
    )
    browser.shoot(page, "41-township-not-applicable")


def test_register_reads_as_names_and_fixed_decimals(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/handovers"))
    assert page.input_value("#f-period") == "2026"  # the demo's latest year by default
    first = page.locator("#handover-table tbody tr").first
    assert first.locator("td.site").first.inner_text().split("\n")[0].endswith("（示例）")
    masses = page.locator("#handover-table td.num").all_inner_texts()
    assert masses and all(re.fullmatch(r"[\d,]+\.\d|—", m) for m in masses), masses
    methods = set(page.locator("#handover-table tbody td:nth-child(7)").all_inner_texts())
    assert methods <= {"过磅", "估算"} and methods
    page.select_option("#f-period", "all")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**period=all**")
    with browser.server.api() as api:
        total = api.get("/handovers", params={"limit": 1}).json()["total"]
    assert f"{total:,}" in page.inner_text("nav.pager .count")


def test_history_is_labelled_before_and_after_in_local_time(browser: Browser, page: Any) -> None:
    """A load recorded, received and then corrected: the history says 申报重量：18.4 kg and
    接收重量：18.2 kg → 18.0 kg, never declared_mass_g=18400."""
    server = browser.server
    with server.api("collector.baima") as collector, server.api("operator.baima") as operator:
        plaque = collector.get("/sites/WL-HH-500156101001-1/plaque").json()["payload"]
        made = collector.post(
            "/handovers",
            json={
                "source_plaque": plaque,
                "to_site": "WL-CP-500156101001",
                "material": "film.agri",
                "declared_mass_kg": 18.4,
                "mass_method": "weighed",
                "device_time": datetime.now(UTC).isoformat(),
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert made.status_code == 201, made.text
        code = made.json()["code"]
        got = operator.post(f"/handovers/{code}/receipt", json={"received_mass_kg": 18.2})
        assert got.status_code == 200, got.text
        fixed = operator.post(
            f"/handovers/{code}/receipt/correct",
            json={
                "received_mass_kg": 18.0,
                "refused_mass_kg": 0.5,
                "refusal_reason": "混有泥土",
                "reason": "称重时输错了",
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert fixed.status_code == 201, fixed.text
        new = fixed.json()["code"]
        recorded = collector.get(f"/handovers/{code}").json()["recorded_at"]
    browser.login(page)
    page.goto(browser.url(f"/dashboard/handovers/{code}"))
    text = page.inner_text("#history-table")
    assert "申报重量：18.4 kg" in text and "物料：废旧农膜" in text
    assert "状态：在途 → 已接收" in text and "原因：称重时输错了" in text
    assert "_g" not in text and "seal" not in text and "=" not in text
    # The server's time zone (the default, Asia/Shanghai): times are shown as the district
    # reads them, never in UTC.
    local = datetime.fromisoformat(recorded).astimezone(ZoneInfo("Asia/Shanghai"))
    first = page.locator("#history-table tbody tr").first.inner_text()
    assert local.strftime("%Y-%m-%d %H:%M") in first
    facts = page.inner_text("#h-facts + dl")
    assert "白马生成社区01回收点（示例）" in facts and "film.agri" not in facts
    browser.shoot(page, "42-history-receipt")
    page.goto(browser.url(f"/dashboard/handovers/{new}"))
    text = page.inner_text("#history-table")
    assert "接收重量：18.2 kg → 18.0 kg" in text
    assert "拒收重量：0.0 kg → 0.5 kg" in text and "拒收原因：— → 混有泥土" in text
    assert page.locator(f"#history-table a[href='/dashboard/handovers/{code}']").count() == 1
    browser.shoot(page, "43-history-correction")


@pytest.mark.parametrize(("part", "fmt"), [("handovers", "csv"), ("declarations", "xlsx")])
def test_records_page_exports_its_tables(browser: Browser, page: Any, part: str, fmt: str) -> None:
    browser.login(page)
    page.goto(browser.url(PAGES["records"]))
    assert page.inner_text("h1") == "农膜回收率的明细记录"
    assert page.inner_text("#r-decl") == "申报（使用量）"
    assert page.inner_text("#r-ho") == "交接（回收量的来源）"
    total = int(page.inner_text("nav.pager .count").split("共")[1].split("条")[0].replace(",", ""))
    declarations = page.locator("#declaration-table tbody tr").count()
    link = page.locator(f"p.exports a[href*='part={part}'][data-format={fmt}]")
    with page.expect_download() as info:
        link.click()
    data = Path(info.value.path()).read_bytes()
    if fmt == "csv":
        assert data.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    else:
        book = load_workbook(io.BytesIO(data))
        assert book.sheetnames == ["申报"]
        rows = [[c.value for c in r] for r in book.active.iter_rows()]
    if part == "handovers":
        assert rows[0][:3] == ["交接编号", "日期", "移出站点"] and len(rows) - 1 == total
        shown = page.locator("#handover-table tbody tr").first.get_attribute("data-code")
        assert shown in {r[0] for r in rows[1:]}
    else:
        assert rows[0][:4] == ["编号", "申报类型", "区划代码", "所在区域"]
        assert len(rows) - 1 == declarations
        assert {r[1] for r in rows[1:]} == {"农膜使用量"}
        assert all(isinstance(r[6], float) for r in rows[1:])  # numbers, not text
