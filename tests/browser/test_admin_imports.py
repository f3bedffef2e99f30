"""The admin's import page in Chromium: the template downloaded, filled and uploaded, the
report read as a table, the clean rows confirmed; and the late-records page on a phone."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from tests.browser.conftest import PHONE, Browser


def test_a_filled_template_is_checked_reported_and_imported(
    browser: Browser, page: Any, tmp_path: Path
) -> None:
    browser.login(page, "admin")
    page.goto(browser.url("/dashboard/admin/imports?lang=zh"))
    assert page.inner_text("h1") == "导入历史台账"
    with page.expect_download() as got:
        page.click("a[href*='kind=handovers&format=xlsx']")
    template = tmp_path / "template.xlsx"
    got.value.save_as(template)
    wb = load_workbook(template)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    example = {h: c.value for h, c in zip(header, ws[2], strict=False)}
    assert wb.worksheets[1].title.startswith("说明")
    ws.delete_rows(2)
    run = uuid.uuid4().hex[:8]
    for i, (when, mass, material) in enumerate(
        [
            ("2023-04-02 08:30", "20", None),
            ("2023-05-02", "15.5", None),
            ("2023-06-02", "12", "旧电视机"),
        ]
    ):
        row = example | {"行键": f"{run}-{i}", "交接时间": when, "申报重量(千克)": mass}
        if material:
            row["物料"] = material
        ws.append([row.get(h) for h in header])
    ledger = tmp_path / "2023台账.xlsx"
    wb.save(ledger)
    page.set_input_files("#i-file", str(ledger))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#problems")
    cells = [td.inner_text() for td in page.locator("#problems tbody tr td").all()]
    assert cells[:2] == ["4", "物料"] and "旧电视机" in cells[2]
    browser.shoot(page, "admin-imports-report")
    page.click("#confirm-form button[type=submit]")
    done = page.inner_text("#import-done")
    assert "新增 2 行" in done
    first_past = page.locator("#past-imports tbody tr").first.inner_text()
    assert "2023台账.xlsx" in first_past


def test_late_records_page_on_a_phone(browser: Browser) -> None:
    phone = browser.new_page(PHONE)
    try:
        browser.login(phone, "admin")
        phone.goto(browser.url("/dashboard/admin/late?lang=en"))
        assert phone.inner_text("h1") == "Late records"
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways: {width}px"
        browser.shoot(phone, "admin-late-phone")
    finally:
        phone.close()
