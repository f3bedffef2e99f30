"""The officials' reports in a real browser: the townships page printed to PDF by Chromium,
and the comparisons on the townships page.

A printed page is checked in the PDF itself (page size and orientation from each page's
MediaBox, the text on each page), and its first page is rendered to PNG with poppler's
``pdftoppm`` (when installed) beside the screenshots, to be looked at.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from typing import Any

import pytest
from pypdf import PdfReader

from tests.browser.conftest import Browser

pytestmark = pytest.mark.browser

A4_LANDSCAPE = (842, 595)  # points: 297 mm × 210 mm


def printed(browser: Browser, page: Any, name: str) -> PdfReader:
    """The page printed by Chromium as its print stylesheet lays it out (A4 from ``@page``),
    saved beside the screenshots, its first page also as PNG."""
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    page.emulate_media(media="screen")
    first = browser.shots[0] / f"{name}.pdf"
    first.write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-l", "2", str(first), str(first.with_suffix(""))],
            check=True,
            timeout=60,
        )
    for d in browser.shots[1:]:
        for made in browser.shots[0].glob(f"{name}*"):
            shutil.copyfile(made, d / made.name)
    return PdfReader(io.BytesIO(pdf))


def words(pdf_page: Any) -> str:
    """A PDF page's text without white space (a header may wrap inside a word)."""
    return "".join(pdf_page.extract_text().split())


def assert_a4_landscape(reader: PdfReader) -> None:
    for n, p in enumerate(reader.pages, start=1):
        size = (round(float(p.mediabox.width)), round(float(p.mediabox.height)))
        assert size == A4_LANDSCAPE, f"page {n} is {size} pt, not A4 landscape"


def test_townships_page_prints_on_a4_landscape(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/townships"))
    page.emulate_media(media="print")
    # Navigation, pickers and buttons are not printed; the table is, whole.
    for hidden in ("header.top", "form.picker", "p.exports", "footer.foot"):
        assert not page.locator(hidden).is_visible(), hidden
    styles = page.evaluate(
        """() => {
            const t = document.getElementById('indicator-table');
            const s = e => getComputedStyle(e);
            return {thead: s(t.tHead).display, tr: s(t.tBodies[0].rows[0]).breakInside,
                    wrap: s(t.parentElement).overflowX};
        }"""
    )
    assert styles == {"thead": "table-header-group", "tr": "avoid", "wrap": "visible"}
    reader = printed(browser, page, "30-townships-print")
    assert_a4_landscape(reader)
    text = "".join(words(p) for p in reader.pages)
    assert "各乡镇指标" in text and "白马镇" in text and "大洞河乡" in text
    # Every column fits across the paper: laid out at the page's width between its margins
    # (297 mm − 2 × 10 mm at 96 px per inch), nothing reaches past the right margin.
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 1047, "height": 700})
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.emulate_media(media="screen")
    assert width <= 1047, f"the printed table is {width} px wide, the paper holds 1047"
    # Every page that holds rows of the table starts them under its header.
    for p in reader.pages:
        if "镇" in words(p):
            assert "农膜回收率" in words(p)


def test_a_long_township_page_repeats_its_header_on_every_page(browser: Browser, page: Any) -> None:
    browser.login(page)
    page.goto(browser.url("/dashboard/townships/500156101"))
    reader = printed(browser, page, "31-township-print")
    assert_a4_landscape(reader)
    assert len(reader.pages) >= 2
    # A row of a sites table reads code, name (…（示例）), kind; anomalies name sites too,
    # but never followed by a kind.
    site_row = re.compile(r"WL-[A-Z]{2}-\S*?（示例）(?:回收点|转运站|处理企业|处置场|产生源)")
    for n, p in enumerate(reader.pages[1:], start=2):
        if site_row.search(words(p)):  # rows of a sites table: its header is there too
            assert "代码名称" in words(p), f"page {n} has rows without a header"


def test_townships_compare_rank_and_flag_rates_over_100(browser: Browser, page: Any) -> None:
    """The townships page shows the API's comparison: a rank column, the change against the
    month before, and 鸭江镇's 100.1 % film rate in 2025 as a data check, not 达标."""
    with browser.server.api() as api:
        year = api.get("/rates/compare", params={"period": "2025"}).json()
        june = api.get("/rates/compare", params={"period": "2025-06"}).json()
    browser.login(page)
    page.goto(browser.url("/dashboard/townships?period=2025"))
    ranks = {r["region"]["code"]: r["rank"] for r in year["rows"][1:]}
    shown = page.locator("#indicator-table tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.region, r.querySelector('td.rank').dataset.rank])"
    )
    assert {code: int(rank) if rank else None for code, rank in shown} == ranks
    assert page.locator("#indicator-table thead th.rank").inner_text().startswith("排名")
    film = page.locator("#indicator-table tr[data-region='500156105'] td.fig").first
    assert film.get_attribute("data-status") == "check"
    assert "超过100%，请核查数据" in film.inner_text() and "✓" not in film.inner_text()
    assert "2024年没有数据，无法计算同比" in page.inner_text(".compare-notes")
    assert "1 个比率超过100%" in page.inner_text(".compare-notes")
    # Sorting by rank puts the first first.
    page.click("#indicator-table thead th.rank button.sort")
    first = page.locator("#indicator-table tbody tr td.rank").first.get_attribute("data-rank")
    assert first == "1"
    browser.shoot(page, "32-townships-compare")
    page.goto(browser.url("/dashboard/townships?period=2025-06"))
    baima = next(r for r in june["rows"] if r["region"]["code"] == "500156101")
    manure = baima["figures"]["manure_utilisation"]
    cell = page.locator("#indicator-table tr[data-region='500156101'] td.fig").nth(1)
    change = manure["mom"]["change"]
    assert float(cell.locator(".delta").get_attribute("data-change")) == change
    shown_points = f"{round(change * 100, 1):+.1f}".replace("-", "−")
    assert cell.locator(".delta").inner_text() == f"环比 {shown_points}"
    assert "环比：与2025年5月相比" in page.inner_text(".compare-notes")
    browser.shoot(page, "33-townships-month")
    page.click("a.lang-switch")
    assert "MoM: against May 2025" in page.inner_text(".compare-notes")
    assert page.locator("#indicator-table thead th.rank").inner_text().startswith("Rank")
    browser.shoot(page, "34-townships-month-english")
    page.click("a.lang-switch")


@pytest.mark.parametrize(
    ("path", "drawn"),
    [("/docs", ".swagger-ui .info .title"), ("/redoc", "[role=main] h1, .api-info h1")],
)
def test_api_docs_render_with_no_internet(
    browser: Browser, page: Any, path: str, drawn: str
) -> None:
    """The test browser reaches nothing but the test server (see conftest): a CDN script
    would fail the test, and the page would stay blank."""
    page.goto(browser.url(path))
    page.wait_for_selector(drawn, timeout=30_000)
    assert "wasteflow" in page.locator(drawn).first.inner_text()
    # The first screen only: the whole document is some 50,000 pixels tall.
    for d in browser.shots:
        page.screenshot(path=str(d / f"35-api{path.replace('/', '-')}.png"))
