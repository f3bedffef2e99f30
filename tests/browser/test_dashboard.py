"""The officials' dashboard in a real browser, over the demo district.

The figures a page shows are checked against the API's report for the same period (bearer
token, JSON), both the exact values the page carries in data attributes and the text a reader
sees. Every page is saved as a screenshot (see conftest).
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import PHONE, Browser

pytestmark = pytest.mark.browser

PERIOD = "2026"  # the demo's latest year (see DEMO_AS_OF), which the dashboard picks by default
TOWNSHIPS = ["500156101", "500156003", "500156108", "500156212"]  # 白马, 仙女山, 平桥, 大洞河


def shown_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def shown_mass(kg: float | None) -> str:
    if kg is None:
        return "—"
    return f"{kg / 1000:,.1f} t" if abs(kg) >= 1000 else f"{kg:,.1f} kg"


def status_of(figure: dict[str, Any]) -> str:
    if figure["status"] == "no_data":
        return "no_data"
    if figure["rate"] is not None and figure["rate"] > 1:
        return "check"  # above 100 %: a data check, never 达标
    return {True: "met", False: "missed", None: "no_target"}[figure["met"]]


@pytest.fixture(scope="module")
def report(browser: Browser) -> dict[str, Any]:
    with browser.server.api() as api:
        r = api.get("/rates/report", params={"period": PERIOD})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_wrong_password_shows_an_error_and_the_login_works(browser: Browser, page: Any) -> None:
    browser.logout_all()
    page.goto(browser.url("/"))
    assert page.url.startswith(browser.url("/dashboard/login"))
    assert "合成演示数据 / synthetic demo data" in page.inner_text("#synthetic-banner")
    page.fill("#username", "official")
    page.fill("#password", "not-the-password")
    page.click("form.stack button[type=submit]")
    assert page.inner_text("#login-error").strip().endswith("用户名或密码错误。")
    browser.shoot(page, "01-login-wrong-password")
    browser.errors.clear()  # the 401 of the failed login is logged by the browser, as it should
    browser.login(page)
    assert page.url == browser.url("/dashboard")
    cookie = next(c for c in browser.context.cookies() if c["name"] == "wf_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_home_shows_the_apis_figures_and_trends(
    browser: Browser, page: Any, report: dict[str, Any]
) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard"))
    assert page.inner_text("h1") == "全区利用率与目标"
    assert page.input_value("#period") == PERIOD
    district = report["rows"][0]["figures"]
    for key, f in district.items():
        card = page.locator(f"#fig-{key}")
        if f["denominator_kg"] is not None:
            assert float(card.get_attribute("data-rate")) == f["rate"], key
            assert card.locator(".rate").inner_text() == shown_rate(f["rate"]), key
            assert card.locator(".denominator").inner_text() == shown_mass(f["denominator_kg"])
            assert card.locator(".numerator").inner_text() == shown_mass(f["numerator_kg"])
            badge = card.locator(".badge")
            assert badge.get_attribute("data-status") == status_of(f), key
            # Met or missed is said in words and an icon, not by colour alone.
            words = {"met": "达标", "missed": "未达标", "no_target": "无目标", "no_data": "无数据",
                     "not_applicable": "不适用", "check": "超过100%，请核查数据"}  # fmt: skip
            assert words[status_of(f)] in badge.inner_text()
        assert float(card.get_attribute("data-numerator-kg")) == f["numerator_kg"], key
        assert card.locator("a.records").get_attribute("href").startswith("/dashboard/records")
    # The district meets some targets and misses others, said with an icon and words.
    shown = {key: status_of(f) for key, f in district.items() if f["denominator_kg"] is not None}
    assert {"met", "missed"} <= set(shown.values())
    missed = next(key for key, status in shown.items() if status == "missed")
    badge = page.locator(f"#fig-{missed} .badge").text_content() or ""
    assert " ".join(badge.split()) == "✗ 未达标"
    # What each figure rests on, in words: the mass basis, the share shared out at pools,
    # placeholder coefficients, unverified straw-to-grain ratios.
    manure = page.inner_text("#fig-manure_utilisation .basis")
    share = district["manure_utilisation"]["basis"]["pooled_share"]
    assert "按粪（固体）口径计算" in manure and shown_rate(share) in manure
    assert "转化系数为占位值" in page.inner_text("#fig-household_resource_utilisation .basis")
    assert "玉米草谷比" in page.inner_text("#fig-straw_utilisation .basis")
    # The trends are fetched one after another once the page is shown.
    page.wait_for_function(
        "document.querySelectorAll('.trend[data-ready]').length === "
        "document.querySelectorAll('.trend').length",
        timeout=120_000,
    )
    assert page.locator("#fig-film_recovery .trend .plot-container svg").count() >= 1
    browser.shoot(page, "02-home")


def test_records_behind_a_figure(browser: Browser, page: Any, report: dict[str, Any]) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard"))
    page.click("#fig-film_recovery a.records")
    page.wait_for_url("**/dashboard/records?**")
    figure = report["rows"][0]["figures"]["film_recovery"]
    assert page.locator("#declaration-table tbody tr").count() == figure["records"]["declarations"]
    assert page.locator("#handover-table tbody tr").count() == 50
    assert f"{figure['records']['handovers']:,}" in page.inner_text("nav.pager")
    browser.shoot(page, "03-records")


def test_township_table_equals_the_api_and_sorts(
    browser: Browser, page: Any, report: dict[str, Any]
) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/townships"))
    rows = {r["region"]["code"]: r for r in report["rows"]}
    assert page.locator("#indicator-table tbody tr").count() == len(rows) - 1 == 26
    keys = [i["key"] for i in report["indicators"]]
    for code in [*TOWNSHIPS, report["region"]["code"]]:
        tr = page.locator(f"#indicator-table tr[data-region='{code}']")
        cells = tr.locator("td.fig")
        for i, key in enumerate(keys):
            f, cell = rows[code]["figures"][key], cells.nth(i)
            if f["rate"] is not None:
                assert float(cell.get_attribute("data-rate")) == f["rate"], (code, key)
                assert cell.locator(".rate").inner_text() == shown_rate(f["rate"])
            shown = cell.get_attribute("data-status")
            if status_of(f) == "no_data":  # or does not apply there (see test_readable)
                assert shown in ("no_data", "not_applicable"), (code, key)
            else:
                assert shown == status_of(f), (code, key)
    film = page.locator("#indicator-table thead th[data-key='film_recovery'] button.sort")

    def film_rates() -> list[float]:
        values = page.locator("#indicator-table tbody tr td.fig:nth-of-type(2)").evaluate_all(
            "cells => cells.map(c => c.getAttribute('data-sort'))"
        )
        return [float(v) for v in values if v]

    film.click()
    assert film_rates() == sorted(film_rates(), reverse=True)
    th = page.locator("#indicator-table thead th[data-key='film_recovery']")
    assert th.get_attribute("aria-sort") == "descending"
    film.focus()
    page.keyboard.press("Enter")  # sort buttons work from the keyboard too
    assert th.get_attribute("aria-sort") == "ascending"
    assert film_rates() == sorted(film_rates())
    best = min(rows[c]["figures"]["film_recovery"]["rate"] or 9 for c in rows if c != "500156")
    assert float(
        page.locator("#indicator-table tbody tr td.fig").first.get_attribute("data-rate")
    ) == (best)
    name = page.locator("#indicator-table thead th").first.locator("button.sort")
    name.click()
    assert page.locator("#indicator-table tbody tr th").first.inner_text().strip()
    browser.shoot(page, "04-townships")


def test_township_page(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/townships"))
    page.click("#indicator-table tr[data-region='500156101'] th a")
    page.wait_for_url("**/dashboard/townships/500156101?**")
    assert page.inner_text("h1").startswith("白马镇")
    with browser.server.api() as api:
        own = api.get("/rates/report", params={"period": PERIOD, "region": "500156101"}).json()
    top = own["rows"][0]["figures"]["film_recovery"]
    cell = page.locator("#indicator-table tfoot td").first
    assert float(cell.get_attribute("data-rate")) == top["rate"]
    assert page.locator("#indicator-table tbody tr").count() == len(own["rows"]) - 1
    assert page.locator("#site-table tbody tr").count() > 10
    assert page.locator("#anomaly-table tbody tr, p.notice").count() >= 1
    browser.shoot(page, "05-township")


def test_language_switch(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/townships"))
    assert page.inner_text("h1") == "各乡镇指标"
    page.click("a.lang-switch")
    assert page.inner_text("h1") == "Indicators by township"
    assert page.get_attribute("html", "lang") == "en"
    assert "Baima" in page.inner_text("#indicator-table")  # names from the data, in English
    assert "farm-film recovery rate" in page.inner_text("#indicator-table thead")
    page.goto(browser.url("/dashboard"))  # the choice is kept in a cookie
    assert page.inner_text("h1") == "District rates against targets"
    assert "synthetic demo data" in page.inner_text("#synthetic-banner")
    # The first trend is enough to see its words; the rest load one by one (see the home test).
    page.wait_for_selector("#fig-film_recovery .trend[data-ready]", timeout=60_000)
    assert "Year to date, month by month" in (
        page.locator("#fig-film_recovery .gtitle").text_content() or ""
    )
    browser.shoot(page, "06-home-english")
    page.goto(browser.url("/dashboard/flows"))
    assert page.inner_text("h1") == "Material flows"
    page.wait_for_selector("#sankey .plot-container svg .sankey")
    assert "Flows of farm film" in (page.locator("#sankey .gtitle").text_content() or "")
    browser.shoot(page, "07-flows-english")
    page.click("a.lang-switch")
    assert page.inner_text("h1") == "物料流向"
    assert page.get_attribute("html", "lang") == "zh-CN"


def test_flows_sankey(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/flows"))
    page.wait_for_selector("#sankey .plot-container svg .sankey")
    assert page.locator("#flow-table tbody tr").count() > 20
    page.select_option("#material", "manure")
    page.click("form.picker button[type=submit]")
    page.wait_for_url("**material=manure**")
    page.wait_for_selector("#sankey .plot-container svg .sankey")
    assert page.get_attribute("#sankey", "data-title").startswith("畜禽粪污流向")
    assert "畜禽粪污流向" in (page.locator("#sankey .gtitle").text_content() or "")
    browser.shoot(page, "08-flows")


def test_sites_scatter(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/sites"))
    page.wait_for_selector("#sites-map .plot-container")
    drawn = page.locator("#sites-map canvas, #sites-map svg .scatterlayer .point")
    assert drawn.count() >= 1
    assert "回收点" in (page.locator("#sites-map g.legend").text_content() or "")
    assert page.locator("#treating-table tbody tr").count() >= 10
    assert page.locator("#plaque-form").count() == 0  # officials do not print plaques
    browser.shoot(page, "09-sites")


def test_anomalies_lead_to_their_records(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/anomalies"))
    kinds = set(
        page.locator("#anomaly-table tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.kind)"
        )
    )
    planted = {"far_scan", "refused_load", "negative_stock", "mass_discrepancy"}
    assert planted | {"implausible_source"} <= kinds
    far = page.locator("#anomaly-table tr[data-kind='far_scan']").first
    assert "25.0 km" in far.locator("td.reason").inner_text()
    browser.shoot(page, "10-anomalies")
    page.locator("#anomaly-table tr[data-kind='refused_load'] a.code").first.click()
    page.wait_for_url("**/dashboard/handovers/HO-**")
    assert "拒收" in page.inner_text("h1")


def test_register_filters_and_pages(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/handovers"))
    assert page.locator("#handover-table tbody tr").count() == 50
    first = page.locator("#handover-table tbody tr").first.get_attribute("data-code")
    page.click("a[rel=next]")
    assert page.locator("#handover-table tbody tr").first.get_attribute("data-code") != first
    page.select_option("#f-status", "partially_refused")
    page.select_option("#f-period", PERIOD)
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**status=partially_refused**")
    states = page.locator("#handover-table td .state").all_inner_texts()
    assert states and set(states) == {"部分拒收"}
    browser.shoot(page, "11-handovers")


def test_handover_history_and_manifest(browser: Browser, page: Any) -> None:
    """A load recorded and received through the API shows who did what, before → after."""
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
    browser.login(page)
    page.goto(browser.url("/dashboard/handovers?site=WL-CP-500156101001&period=all"))
    page.click(f"#handover-table a:text('{code}')")
    page.wait_for_url(f"**/dashboard/handovers/{code}")
    history = page.locator("#history-table tbody tr")
    assert history.count() == 2
    text = page.inner_text("#history-table")
    assert "collector.baima" in text and "operator.baima" in text
    status = history.nth(1).locator("li[data-key='status']")
    assert status.locator(".before").inner_text() == "在途"
    assert status.locator(".after").inner_text() == "已接收"
    page.wait_for_function("document.getElementById('manifest-qr').naturalWidth > 0")
    browser.shoot(page, "12-handover")


def test_csv_exports_download_with_the_cookie_session(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/townships"))
    with page.expect_download() as info:
        page.click("p.exports a[data-format=csv]")
    body = Path(info.value.path()).read_bytes().decode("utf-8")
    assert body.startswith("\ufeff")  # Excel on a Chinese Windows needs the BOM
    table = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert table[0][:4] == ["区域代码", "区域", "指标代码", "指标"]
    assert len(table) == 1 + 27 * 11
    with page.expect_download() as info:
        page.click("p.exports a[data-format=xlsx]")  # the 报表, named in Chinese
    assert info.value.suggested_filename == f"武隆区{PERIOD}年资源化利用情况报表.xlsx"
    book = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert book["利用率报表"]["A1"].value == f"武隆区 {PERIOD}年 资源化利用情况报表"
    page.goto(browser.url("/dashboard/handovers?status=refused"))
    total = page.inner_text("nav.pager .count")
    with page.expect_download() as info:
        page.click("p.exports a[data-format=csv]")
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text("utf-8-sig"))))
    assert rows[0][0] == "交接编号"
    assert str(len(rows) - 1) in total.replace(",", "")
    assert {r[8] for r in rows[1:]} == {"refused"}


def test_other_roles_see_their_own_sites_only(browser: Browser, page: Any) -> None:
    browser.login(page, "operator.baima")
    page.goto(browser.url("/dashboard"))
    # Their own work first: the loads on their way to their sites, oldest first, as the API
    # lists them; the field app one tap away; no lock card.
    assert "仅限官员" not in page.inner_text("main")
    assert page.locator("main a[href='/field/']").count() == 1
    shown = page.locator("#awaiting tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
    own = page.locator("main table").last.locator("a.code").all_inner_texts()
    assert "WL-CP-500156101001" in own
    with browser.server.api("operator.baima") as api:
        loads = [api.get(f"/handovers/{code}").json() for code in shown]
    assert loads and all(h["status"] == "in_transit" and h["to_site"] in own for h in loads)
    times = [h["recorded_at"] for h in loads]
    assert times == sorted(times)  # oldest first
    assert page.locator("nav a[href='/dashboard/townships']").count() == 0
    browser.shoot(page, "13-home-site-operator")
    response = page.goto(browser.url("/dashboard/townships"))
    assert response.status == 403
    assert page.inner_text("h1").endswith("仅限官员")
    browser.shoot(page, "14-officials-only")
    page.goto(browser.url("/dashboard/handovers"))
    mine = int(page.inner_text("nav.pager .count").split("共")[1].split("条")[0].replace(",", ""))
    with browser.server.api() as api:
        everything = api.get("/handovers", params={"limit": 1}).json()["total"]
    assert 0 < mine < everything
    # The anomalies page is theirs too, limited to their own sites.
    response = page.goto(browser.url("/dashboard/anomalies"))
    assert response.status == 200
    with browser.server.api() as api:
        all_sites = {
            a["site"]
            for a in api.get("/flows/balance", params={"period": "2025"}).json()["anomalies"]
        }
    shown = page.inner_text("main")
    # No export button that would answer 403 (the district's anomaly export is officials').
    assert page.locator("main a[href^='/dashboard/export/anomalies']").count() == 0
    assert not [
        code
        for code in all_sites
        if code
        and not code.startswith("WL-CP-500156101")
        and not code.startswith("WL-TS-101")
        and code in shown
    ]
    browser.errors.clear()  # the 403 is logged by the browser, as it should be
    browser.logout_all()


def test_admin_prints_a_townships_plaques(browser: Browser, page: Any) -> None:
    browser.login(page, "admin")
    page.goto(browser.url("/dashboard/sites"))
    page.wait_for_selector("#sites-map .plot-container")
    page.select_option("#p-region", "500156101")
    page.select_option("#p-kind", "transfer_station")
    with page.expect_popup() as popup:
        page.click("#plaque-form button[type=submit]")
    sheet = popup.value
    sheet.wait_for_load_state()
    assert "WL-TS-101" in sheet.content()
    assert sheet.locator("svg").count() >= 1
    browser.shoot(sheet, "17-plaque-sheet")
    sheet.close()


def test_phone_width(browser: Browser) -> None:
    tab = browser.new_page(PHONE)
    try:
        browser.login(tab)
        tab.goto(browser.url("/dashboard"))
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, "the page scrolls sideways on a phone"
        tab.wait_for_selector("#fig-film_recovery .trend .plot-container")
        browser.shoot(tab, "15-home-phone")
        tab.goto(browser.url("/dashboard/townships"))
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        browser.shoot(tab, "16-townships-phone")
    finally:
        tab.close()


def test_logout_revokes_the_token(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/logout"))
    token = next(c["value"] for c in browser.context.cookies() if c["name"] == "wf_session")
    page.click("#logout-button")
    page.wait_for_url("**/dashboard/login?reason=logged_out")
    assert "您已退出登录" in page.inner_text("main")
    browser.shoot(page, "18-logged-out")
    assert not [c for c in browser.context.cookies() if c["name"] == "wf_session"]
    import httpx

    me = httpx.get(
        browser.url("/api/v1/auth/me"), headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert me.status_code == 401
    browser.user = None
    page.goto(browser.url("/dashboard/flows"))
    assert page.url.startswith(browser.url("/dashboard/login?next="))
