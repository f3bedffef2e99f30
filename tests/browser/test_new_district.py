"""A new district goes live through the admin pages alone, from an empty database: the
README's "A new district, step by step" walked in Chromium, in Chinese.

Its own server over a fresh SQLite file, prepared as the README says (``wasteflow migrate``,
``load-reference``, ``create-account --username chief --role admin``), then the chief admin
logs in and, only on the dashboard's pages: organisations, the three sites (a village
collection point, a farm, a film recycler), a round, the accounts (a processor bound to the
farm refused next to its field), next year's coefficient set from the latest, the township's
plaque sheet, last year's ledger downloaded as the template, filled and imported (checked, then
confirmed), and last year's film rate on the township's page and the home page. The API is
read only to compare figures. The same district, step by step, is the API's end-to-end test
(tests/integration/test_admin_walk.py::test_a_new_district_goes_live_through_the_api), with
the same ledger worked by hand:

    film used, declared (the village, last year)               1,000 kg
    farm → collection point, 300 received whole                  300 kg
    farm → collection point, 250 received, 25 refused (wet)      225 kg
    collection point → recycler, 500 recycled                    not a first hop
    film recovered = 525 kg; rate = 525 / 1,000 = 52.5 %
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from tests.browser.conftest import PHONE, Browser, DemoServer, chromium_context
from tests.e2e.conftest import LiveServer
from wasteflow.schemas_admin import credit_check_character
from wasteflow.types import utcnow

pytestmark = pytest.mark.browser

CHIEF_PW = "chief first password"
STAFF_PW = "baima staff password"
TOWN, VILLAGE = "500156101", "500156101201"  # 白马镇 and a village of it (reference data)
LAST = utcnow().year - 1
AT = ("29.408", "107.552")


def credit_code(first17: str) -> str:
    return first17 + credit_check_character(first17)


ORGS = [  # code, name, kind, township, credit code
    ("BM-GOV", "白马镇环卫所", "government", TOWN, ""),
    ("FILM-CO", "武隆再生塑料有限公司", "enterprise", "", credit_code("91500156MA60ABCDE")),
    ("BM-COOP", "白马镇农机合作社", "cooperative", TOWN, ""),
]
SITES = [  # code, name, kind, region, organisation, capacity (kg), routes
    ("BM-CP-1", "白马村回收点", "collection_point", VILLAGE, "BM-GOV", "60000", []),
    ("BM-FARM-1", "白马村种植户", "source", VILLAGE, "", "", []),
    ("WL-FILM", "农膜再生利用中心", "processor", TOWN, "FILM-CO", "", ["recycling"]),
]
ACCOUNTS = [  # username, display name, role, organisation, field, binding typed
    ("plant.film", "农膜再生利用中心", "processor", "FILM-CO", "sites", "WL-FILM"),
    ("collector.bm", "白马村收运员", "collector", "BM-GOV", "rounds", "RD-BM-1"),
    ("operator.bm", "白马村回收点管理员", "site_operator", "BM-GOV", "sites", "BM-CP-1"),
]
LEDGER = [  # 行键, 交接时间, 交出, 接收, 物料, 申报, 实收, 拒收, 拒收原因, 处理方式
    ("a", f"{LAST}-04-02 09:00", "BM-FARM-1", "BM-CP-1", "废旧农膜", 300, 300, "", "", ""),
    ("b", f"{LAST}-05-06", "BM-FARM-1", "BM-CP-1", "废旧农膜", 250, 250, 25, "潮湿有泥", ""),
    ("c", f"{LAST}-06-09", "BM-CP-1", "WL-FILM", "废旧农膜", 500, 500, "", "", "再生利用"),
]
LEDGER_COLUMNS = ("行键", "交接时间", "交出站点", "接收站点", "物料", "申报重量(千克)",
                  "实收重量(千克)", "拒收重量(千克)", "拒收原因", "处理方式")  # fmt: skip
DECLARED = {"行键": "film-used", "类型": "农膜使用量", "区域代码": VILLAGE,
            "开始日期": f"{LAST}-01-01", "结束日期": f"{LAST}-12-31", "物料": "废旧农膜",
            "数量(千克)": "1000"}  # fmt: skip


def _wasteflow(server: LiveServer, *args: str, password: str | None = None) -> None:
    env = server.env | ({"WASTEFLOW_NEW_PASSWORD": password} if password else {})
    done = subprocess.run(
        [sys.executable, "-m", "wasteflow", *args],
        env=env,
        cwd=server.workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"wasteflow {' '.join(args)}: {done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """An empty database made ready as the README's first steps say, and served."""
    workdir = tmp_path_factory.mktemp("new-district")
    server = LiveServer(f"sqlite:///{workdir / 'district.db'}", workdir)
    _wasteflow(server, "migrate")
    _wasteflow(server, "load-reference")
    _wasteflow(server, "create-account", "--username", "chief", "--role", "admin",
               password=CHIEF_PW)  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chief(
    playwright: Any, empty_server: LiveServer, screenshot_dirs: list[Path]
) -> Iterator[Browser]:
    """A Chromium of its own for the new district (the other browser tests use the demo's)."""
    assert empty_server.proc is not None
    served = DemoServer(empty_server.url, empty_server.env, empty_server.log, empty_server.proc)
    with chromium_context(playwright) as context:
        yield Browser(context, served, screenshot_dirs)


@pytest.fixture
def tab(chief: Browser) -> Iterator[Any]:
    """A fresh tab; after the test: no request left the machine, no script error."""
    chief.blocked.clear()
    chief.errors.clear()
    page = chief.new_page()
    try:
        yield page
    finally:
        page.close()
    assert not chief.blocked, f"the page asked for external resources: {chief.blocked}"
    assert not chief.errors, f"errors in the browser: {chief.errors}"


def submit(browser: Browser, page: Any, form: str, button: str) -> int:
    """Click a form's button and wait for the page it leads to; a refusal (4xx) is logged
    by the browser as an error, which is expected here."""
    with page.expect_navigation() as nav:
        page.click(f"{form} {button}")
    status = int(nav.value.status) if nav.value else 0
    if status >= 400:
        browser.errors[:] = [e for e in browser.errors if f"status of {status}" not in e]
    return status


def notice(page: Any) -> str:
    return page.inner_text("#notice").replace("✓", "").strip()


def api_get(server: LiveServer, path: str, **params: Any) -> Any:
    """A figure read from the API, as the chief (only to compare with the pages)."""
    token = server.token("chief", CHIEF_PW)
    r = httpx.get(
        f"{server.url}/api/v1{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_new_district_goes_live_through_the_admin_pages(
    chief: Browser, tab: Any, empty_server: LiveServer, tmp_path: Path
) -> None:
    page, b = tab, chief
    page.goto(b.url("/dashboard/login?lang=zh"))
    page.fill("#username", "chief")
    page.fill("#password", CHIEF_PW)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(b.url("/dashboard"))
    page.click("#nav-admin")
    page.wait_for_url("**/dashboard/admin")
    assert page.inner_text("h1") == "管理"
    b.shoot(page, "new-district-zh-desktop-admin")

    # 1. Organisations.
    for code, name, kind, town, credit in ORGS:
        page.goto(b.url("/dashboard/admin/organisations/new"))
        page.fill("#f-code", code)
        page.fill("#f-name", name)
        page.select_option("#f-kind", kind)
        page.select_option("#f-region_code", town)
        page.fill("#f-credit_code", credit)
        assert submit(b, page, "#organisation-form", "#save-organisation") == 200
        assert notice(page) == "已创建。", code
    listed = page.locator("#organisation-table tbody tr")
    assert sorted(listed.evaluate_all("r => r.map(x => x.dataset.code)")) == sorted(
        o[0] for o in ORGS
    )

    # 2. Sites: the village's collection point, its farm, the film recycler.
    for code, name, kind, region, org, capacity, routes in SITES:
        page.goto(b.url("/dashboard/admin/sites/new"))
        page.fill("#f-code", code)
        page.select_option("#f-kind", kind)
        page.fill("#f-name", name)
        page.select_option("#f-region_code", region)
        page.select_option("#f-organisation_code", org)
        page.fill("#f-lat", AT[0])
        page.fill("#f-lon", AT[1])
        page.fill("#f-capacity_kg", capacity)
        page.check("input[name=materials][value='film.agri']")
        for route in routes:
            page.check(f"input[name=routes][value='{route}']")
        submit(b, page, "#site-form", "#save-site")
        page.wait_for_url(f"**/dashboard/admin/sites/{code}?done=created")
        assert notice(page) == "已创建。", code
    page.goto(b.url(f"/dashboard/admin/sites?township={TOWN}"))
    rows = page.locator("#site-table tbody tr")
    assert sorted(rows.evaluate_all("r => r.map(x => x.dataset.code)")) == sorted(
        s[0] for s in SITES
    )

    # 3. A round: the collection point, its village and the farm.
    page.goto(b.url("/dashboard/admin/rounds/new"))
    page.fill("#f-code", "RD-BM-1")
    page.fill("#f-name", "白马村收运线路")
    page.select_option("#f-collection_point", "BM-CP-1")
    page.click(f"details.town-group:has(input[value='{VILLAGE}']) summary")
    page.check(f"input[name=villages][value='{VILLAGE}']")
    page.fill("#f-sources_add-0", "BM-FARM-1")
    submit(b, page, "#round-form", "#save-round")
    assert notice(page) == "已创建。"
    assert page.is_checked("input[name=sources][value='BM-FARM-1']")
    assert "白马村种植户" in page.inner_text("#f-sources")
    b.shoot(page, "new-district-zh-desktop-round")

    # 4. Accounts. A processor bound to the farm is refused, next to its sites, in words;
    # the same form then makes the recycler's account.
    page.goto(b.url("/dashboard/admin/accounts/new"))
    page.fill("#f-username", "plant.wrong")
    page.fill("#f-display_name", "x")
    page.select_option("#f-role", "processor")
    page.fill("#f-password", STAFF_PW)
    page.fill("#f-sites_add-0", "BM-FARM-1")
    assert submit(b, page, "#account-form", "#save-account") == 422
    refusal = page.inner_text("#e-sites")
    assert "处理企业账户只能绑定" in refusal and "白马村种植户（产生源）" in refusal
    b.shoot(page, "new-district-zh-desktop-account-refused")
    for username, display, role, org, binding, value in ACCOUNTS:
        if username != "plant.film":
            page.goto(b.url("/dashboard/admin/accounts/new"))
        else:  # the refused form, corrected
            page.uncheck("input[name=sites][value='BM-FARM-1']")
        page.fill("#f-username", username)
        page.fill("#f-display_name", display)
        page.select_option("#f-role", role)
        page.select_option("#f-organisation_code", org)
        page.fill("#f-password", STAFF_PW)
        page.fill(f"#f-{binding}_add-0", value)
        submit(b, page, "#account-form", "#save-account")
        page.wait_for_url(f"**/dashboard/admin/accounts/{username}?done=created")
        assert page.is_checked(f"input[name={binding}][value='{value}']"), username
    page.goto(b.url("/dashboard/admin/accounts"))
    table = page.locator("#account-table")
    for username, *_ in ACCOUNTS:
        assert "从未登录" in table.locator(f"tr[data-username='{username}']").inner_text()
    assert table.locator("tr[data-username='plant.wrong']").count() == 0
    assert "白马村收运线路" in table.locator("tr[data-username='collector.bm']").inner_text()
    page.goto(b.url("/dashboard/admin/rounds/RD-BM-1"))  # the round names who works it
    page.click(".lead a.collector")
    page.wait_for_url("**/dashboard/admin/accounts/collector.bm")

    # 5. Next year's coefficient set, made from the latest.
    page.goto(b.url("/dashboard/admin/coefficients"))
    assert page.input_value("#f-year") == "2026"
    submit(b, page, "#new-year-form", "#create-set")
    assert "已生成 2026 年的系数" in notice(page)
    assert page.locator("section.coef-set[data-year='2026'] tr[data-coef]").count() > 10
    assert [s["year"] for s in api_get(empty_server, "/coefficient-sets")] == [2025, 2026]

    # 6. The township's plaques, on a printable sheet: one per site, by name.
    page.goto(b.url(f"/dashboard/admin/sites?township={TOWN}"))
    with page.expect_popup() as popup:
        page.click("#township-plaques")
    sheet = popup.value
    sheet.wait_for_load_state()
    sheet.emulate_media(media="print")
    printed = sheet.inner_text("body")
    for _, name, *_ in SITES:
        assert name in printed, name
    assert sheet.locator("svg").count() == len(SITES)
    b.shoot(sheet, "new-district-zh-desktop-plaques")
    sheet.close()

    # 7. Last year's ledger: the template downloaded, filled, checked, then confirmed.
    page.goto(b.url("/dashboard/admin/imports"))
    with page.expect_download() as got:
        page.click("a[href*='kind=handovers&format=xlsx']")
    book = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
    sheet_rows = book.worksheets[0]
    header = [c.value for c in sheet_rows[1]]
    sheet_rows.delete_rows(2, sheet_rows.max_row)  # the example row
    for fill in LEDGER:
        row = dict(zip(LEDGER_COLUMNS, fill, strict=True)) | {"称重方式": "称重"}
        sheet_rows.append([row.get(h, "") for h in header])
    ledger = tmp_path / f"{LAST}年农膜台账.xlsx"
    book.save(ledger)
    page.select_option("#i-kind", "handovers")
    page.set_input_files("#i-file", str(ledger))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report")
    summary = page.locator("#report-summary tbody td").all_inner_texts()
    assert summary[:5] == [ledger.name, "3", "3", "0", "0"], summary
    assert page.locator("#problems").count() == 0
    b.shoot(page, "new-district-zh-desktop-import-check")
    page.click("#confirm-form button[type=submit]")
    assert "新增 3 行" in page.inner_text("#import-done")

    with page.expect_download() as got:
        page.click("a[href*='kind=declarations&format=csv']")
    text = Path(got.value.path()).read_bytes().decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert set(DECLARED) <= set(header), header
    declared = io.StringIO()
    csv.writer(declared).writerows([header, [DECLARED.get(h, "") for h in header]])
    page.select_option("#i-kind", "declarations")
    page.set_input_files(
        "#i-file",
        files=[{"name": f"{LAST}年农膜使用量.csv", "mimeType": "text/csv",
                "buffer": declared.getvalue().encode("utf-8")}],
    )  # fmt: skip
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report")
    page.click("#confirm-form button[type=submit]")
    assert "新增 1 行" in page.inner_text("#import-done")
    past = page.locator("#past-imports tbody tr").all_inner_texts()
    assert any(ledger.name in r for r in past) and len(past) == 2, past

    # 8. Last year's film rate: the village's and the township's, as the API has them.
    page.goto(b.url(f"/dashboard/townships/{TOWN}?period={LAST}"))
    assert page.inner_text("h1").startswith("白马镇")
    column = page.locator("#indicator-table thead th").evaluate_all(
        "ths => ths.findIndex(th => th.dataset.key === 'film_recovery')"
    )
    for region, cell in (
        (VILLAGE, f"#indicator-table tbody tr[data-region='{VILLAGE}'] > *"),
        (TOWN, "#indicator-table tfoot tr > *"),
    ):
        figure = api_get(
            empty_server, "/rates", indicator="film_recovery", period=str(LAST), region=region
        )
        assert figure["rate"] == pytest.approx(0.525), region
        assert (figure["numerator_kg"], figure["denominator_kg"]) == (525, 1000), region
        shown = page.locator(cell).nth(column)
        assert float(shown.get_attribute("data-rate")) == figure["rate"], region
        assert shown.locator(".rate").inner_text().replace(" ", "") == "52.5%", region
    b.shoot(page, "new-district-zh-desktop-township-last-year")
    page.goto(b.url(f"/dashboard?period={LAST}"))
    card = page.locator("#fig-film_recovery")
    assert float(card.get_attribute("data-rate")) == pytest.approx(0.525)
    assert "52.5" in card.inner_text()
    page.wait_for_selector("#fig-film_recovery .trend[data-ready]", timeout=60_000)
    b.shoot(page, "new-district-zh-desktop-home-last-year")

    # The key pages at phone width: none scrolls sideways.
    phone = b.new_page(PHONE)
    try:
        for name, path in (
            ("admin", "/dashboard/admin"),
            ("round", "/dashboard/admin/rounds/RD-BM-1"),
            ("imports", "/dashboard/admin/imports"),
            ("township-last-year", f"/dashboard/townships/{TOWN}?period={LAST}"),
        ):
            assert phone.goto(b.url(path)).status == 200, name
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"] + 1, f"{name} scrolls sideways on a phone: {width}"
            b.shoot(phone, f"new-district-zh-phone-{name}")
    finally:
        phone.close()
