"""The flows page in Chromium: plants by name, townships' groups, tonnes in plain numbers,
the refused film load's return drawn in its own colour and labelled, and at phone width the
table before the chart. What the page shows is the API's Sankey."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PHONE, Browser

pytestmark = pytest.mark.browser

RECYCLER = "武隆区废旧农膜再生利用中心（示例）"


def sankey(browser: Browser, material: str = "film") -> dict[str, Any]:
    with browser.server.api() as api:
        r = api.get("/flows/sankey", params={"period": "2025", "material": material})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_flows_name_every_plant_in_tonnes_and_show_the_return(browser: Browser, page: Any) -> None:
    body = sankey(browser)
    browser.login(page)
    page.goto(browser.url("/dashboard/flows?period=2025&material=film"))
    page.wait_for_selector("#sankey .main-svg .sankey")
    labels = page.locator("#sankey .sankey-node .node-label").all_text_contents()
    plant = next(n for n in body["nodes"] if n["label"] == RECYCLER)
    assert f"{RECYCLER} {plant['value_kg'] / 1000:,.1f} 吨" in labels
    assert any(label.startswith("白马镇 回收点 ") for label in labels)
    assert not any(label.startswith("回收点") for label in labels)  # no merged node
    # Plain numbers: no SI suffix anywhere in the chart.
    text = " ".join(labels)
    assert not any(f"{d}{s} " in text for d in "0123456789" for s in "kMGm")
    # The table holds every link by material, in tonnes with two decimals.
    rows = page.locator("#flow-table tbody tr")
    assert rows.count() == sum(len(link["materials"]) for link in body["links"])
    back = page.locator("#flow-table tbody tr.returned")
    assert back.count() == 1 and "退回" in back.inner_text()
    ret = next(link for link in body["links"] if link["kind"] == "return")
    assert back.locator("td.num").inner_text() == f"{ret['value'] / 1000:,.2f}"
    assert "拒收后退回" in page.inner_text(".flow-legend")
    # The return is drawn in red, apart from the blue forward links.
    colours = page.locator("#sankey .sankey-link").evaluate_all(
        "links => links.map(l => getComputedStyle(l).fill)"
    )
    assert any("164, 14, 38" in c for c in colours) and any("11, 92, 171" in c for c in colours)
    browser.shoot(page, "flows-named")


def test_flows_at_phone_width_show_the_table_first(browser: Browser) -> None:
    page = browser.new_page(PHONE)
    try:
        browser.login(page)
        page.goto(browser.url("/dashboard/flows?period=2025&material=film"))
        page.wait_for_selector("#sankey .main-svg")
        table_top = page.locator("#flow-table").bounding_box()["y"]
        chart_top = page.locator("#sankey").bounding_box()["y"]
        assert table_top < chart_top
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        browser.shoot(page, "flows-phone")
    finally:
        page.close()
