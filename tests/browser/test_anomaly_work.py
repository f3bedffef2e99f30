"""Anomalies as work, in Chromium, as an official and the plant's operator would do it: the
home page's counts lead to the filtered list, the official assigns the refused film load to
the film recycler's account with a note, the operator finds it under 指派给我, comments and
closes it as resolved (dismissing is not offered), the official sees it resolved with its
history in local time and reopens it. The figures on the pages are the API's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import PHONE, Browser

pytestmark = pytest.mark.browser

PERIOD = "2025"
PLANT = "processor.prfilm"


def work(browser: Browser, user: str = "official", **params: str) -> dict[str, Any]:
    with browser.server.api(user) as api:
        r = api.get("/anomalies", params={"period": PERIOD} | params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def refused_film(browser: Browser) -> dict[str, Any]:
    items = work(browser)["items"]
    return next(a for a in items if a["kind"] == "refused_load" and a["material"] == "film.agri")


def test_an_official_assigns_and_the_plant_resolves_a_refused_load(
    browser: Browser, page: Any
) -> None:
    anomaly = refused_film(browser)
    if anomaly["state"] != "open":  # a rerun on the same server: start from an open one
        with browser.server.api() as api:
            if anomaly["state"] in ("resolved", "dismissed"):
                api.post(f"/anomalies/{anomaly['id']}/reopen", json={})
    browser.login(page, "official")
    page.goto(browser.url(f"/dashboard?period={PERIOD}"))
    counts = work(browser)["counts"]
    todo = page.locator("#todo-open")
    assert todo.get_attribute("data-count") == str(counts["open"])
    assert todo.inner_text() == f"待处理 {counts['open']} 条"
    todo.click()
    page.wait_for_url("**/dashboard/anomalies?**state=open**")
    states = page.locator("#anomaly-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.state)"
    )
    assert states and set(states) == {"open"} and len(states) == counts["open"]
    assert page.locator("#state-tabs a[aria-current=page]").get_attribute("data-state") == "open"

    page.locator(f"#anomaly-table tr[data-id='{anomaly['id']}'] a.work-link").click()
    page.wait_for_selector("#assign-form")
    assert page.inner_text("#work-state") == "待处理"
    assert "尚无人处理此异常" in page.inner_text("#history")
    page.select_option("#assignee-select", PLANT)
    page.fill("#assign-note", "请核实退回的泥沙膜重量")
    page.click("#assign-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert page.inner_text("#work-state") == "已指派"
    assert PLANT in page.inner_text("#assignee")
    first = page.locator("#work-history tbody tr").first
    assert first.get_attribute("data-action") == "assign"
    assert f"指派给 {PLANT}" in first.inner_text()
    assert "说明：请核实退回的泥沙膜重量" in first.inner_text()
    # Local time, to the minute (the server's UTC stamp read in Asia/Shanghai).
    with browser.server.api() as api:
        detail = api.get(f"/anomalies/{anomaly['id']}").json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", first.locator("td").first.inner_text())
    stamp = detail["history"][-1]["at"]
    assert first.locator("td").first.inner_text()[11:13] == f"{(int(stamp[11:13]) + 8) % 24:02d}"
    browser.shoot(page, "anomaly-assigned")

    # A close without a reason is refused on the server too (the browser's check removed),
    # in words, and changes nothing.
    page.evaluate("document.getElementById('close-reason').removeAttribute('required')")
    page.click("#close-form button[type=submit]")
    assert page.inner_text("#form-error") == "请写明关闭原因。"
    assert page.inner_text("#work-state") == "已指派"
    browser.errors.clear()  # the 422 of that page, which the browser logs, as it should

    # The plant's operator: its home counts what is assigned to it, and leads there.
    browser.login(page, PLANT)
    page.goto(browser.url(f"/dashboard?period={PERIOD}"))
    mine = page.locator("#todo-mine")
    assert mine.get_attribute("data-count") == "1"
    mine.click()
    page.wait_for_url("**assignee=me**")
    assert page.locator("#anomaly-table tbody tr").count() == 1
    page.locator("#anomaly-table a.work-link").click()
    page.wait_for_selector("#comment-form")
    assert page.locator("#assign-form").count() == 0
    assert page.locator("#close-form input[value=dismissed]").count() == 0
    page.fill("#comment-text", "已复称：泥沙膜 95.4 kg 已退回白马镇回收点")
    page.click("#comment-form button[type=submit]")
    page.wait_for_selector("#saved")
    page.fill("#close-reason", "退回已入账，回收点已提醒农户清理泥沙")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert page.inner_text("#work-state") == "已解决"
    assert page.locator("#close-form, #reopen-form").count() == 0
    assert "退回已入账" in page.inner_text("#closed-reason")
    actions = page.locator("#work-history tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    )
    assert actions == ["assign", "comment", "close"]
    browser.shoot(page, "anomaly-resolved-by-the-plant")

    # The official: the list's tab counts follow, and the anomaly may be reopened.
    browser.login(page, "official")
    page.goto(browser.url(f"/dashboard/anomalies?period={PERIOD}&state=resolved"))
    counts = work(browser)["counts"]
    tab = page.locator("#state-tabs a[data-state=resolved] .count")
    assert tab.inner_text() == str(counts["resolved"]) and counts["resolved"] >= 1
    assert page.locator(f"#anomaly-table tr[data-id='{anomaly['id']}']").count() == 1
    page.goto(browser.url(f"/dashboard/anomalies/{anomaly['id']}?lang=en"))
    assert page.inner_text("#work-state") == "Resolved"
    browser.shoot(page, "anomaly-history-english")
    page.fill("#reopen-reason", "The plant's weighbridge record is missing")
    page.click("#reopen-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert page.inner_text("#work-state") == "Assigned"
    page.goto(browser.url(f"/dashboard/anomalies/{anomaly['id']}?lang=zh"))
    assert work(browser)["counts"]["assigned"] >= 1


def test_the_anomaly_page_at_phone_width(browser: Browser) -> None:
    anomaly = refused_film(browser)
    page = browser.new_page(PHONE)
    try:
        browser.login(page, "official")
        page.goto(browser.url(f"/dashboard/anomalies/{anomaly['id']}"))
        page.wait_for_selector("#comment-form")
        # One column, as wide as the phone: nothing to scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        browser.shoot(page, "anomaly-phone")
    finally:
        page.close()
