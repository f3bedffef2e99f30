"""The admin pages (管理) in a real browser, over the demo district: a new township's set-up
walked through in Chinese — an organisation (typed with the keyboard only), a site, a round,
an account bound to it (a binding its role cannot have refused next to its field), next year's
coefficient set with a value edited, a target made and edited, a site deactivated and
reactivated and its history read, sites uploaded from a file, a password reset and the forced
change — then every page again in English and at phone width. Other roles get a 403 page.

The walk works in 鸭江镇 and on 2026's coefficients and targets, which the other browser
tests do not read, so their figures stay as they were.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import DESKTOP, PHONE, Browser
from wasteflow.schemas_admin import credit_check_character

pytestmark = pytest.mark.browser

TOWN, VILLAGE, VILLAGE2 = "500156105", "500156105201", "500156105202"  # 鸭江镇, its 村01, 村02
POINT = "WL-CP-500156105201"  # the demo's collection point of 村01
ORG, SITE, ROUND, USER = "YJ-COOP", "YJ-FARM-1", "RD-YJ-1", "yj.collector"
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
PAGES = {
    "index": "/dashboard/admin",
    "organisations": "/dashboard/admin/organisations",
    "sites": f"/dashboard/admin/sites?township={TOWN}",
    "site": f"/dashboard/admin/sites/{SITE}",
    "site-history": f"/dashboard/admin/sites/{SITE}/history",
    "upload": "/dashboard/admin/sites/upload",
    "rounds": f"/dashboard/admin/rounds?township={TOWN}",
    "round": f"/dashboard/admin/rounds/{ROUND}",
    "accounts": "/dashboard/admin/accounts",
    "account": f"/dashboard/admin/accounts/{USER}",
    "coefficients": "/dashboard/admin/coefficients?year=2026",
    "coefficient": "/dashboard/admin/coefficients/WL-2026/rice/straw_grain_ratio",
    "targets": "/dashboard/admin/targets",
}


# Submits a form as a browser resends one: the same fields, the same idempotency key.
RESEND = """([action, csrf, key]) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  for (const [name, value] of [["csrf", csrf], ["key", key]]) {
    const input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""


def field_error(page: Any, name: str) -> str:
    return page.inner_text(f"#e-{name}").strip()


def submit(browser: Browser, page: Any, form: str, button: str) -> int:
    """Click a form's button and wait for its answer: a redirect to a page that says what
    was done, or the form again with its errors (a 4xx, which the browser logs: expected)."""
    with page.expect_navigation() as nav:
        page.click(f"{form} {button}")
    status = int(nav.value.status) if nav.value else 0
    if status >= 400:
        browser.errors[:] = [e for e in browser.errors if f"status of {status}" not in e]
    return status


def notice(page: Any) -> str:
    return page.inner_text("#notice").replace("✓", "").strip()


def test_other_roles_get_a_403_page(browser: Browser, page: Any) -> None:
    for user in ("official", "operator.baima"):
        browser.login(page, user)
        page.goto(browser.url("/dashboard"))
        assert page.locator("#nav-admin").count() == 0  # no menu item leading to a 403
        response = page.goto(browser.url("/dashboard/admin/sites"))
        assert response.status == 403
        assert "管理页面仅向管理员开放" in page.inner_text("main")
    browser.shoot(page, "admin-zh-desktop-locked")
    browser.errors.clear()  # the browser logs the 403, as it should
    browser.logout_all()


def test_a_township_is_set_up_through_the_admin_pages(browser: Browser, page: Any) -> None:
    browser.login(page, "admin")
    page.goto(browser.url("/dashboard?lang=zh"))
    page.click("#nav-admin")
    page.wait_for_url("**/dashboard/admin")
    assert page.inner_text("h1") == "管理"
    links = page.locator("#admin-parts a").evaluate_all("a => a.map(x => x.pathname)")
    assert {"/dashboard/admin/imports", "/dashboard/admin/late"} <= set(links)
    browser.shoot(page, "admin-zh-desktop-index")

    # An organisation, typed with the keyboard only; a mistyped credit code is caught.
    page.goto(browser.url("/dashboard/admin/organisations/new"))
    first17 = "93500156MA5YJC00P"
    right = first17 + credit_check_character(first17)
    wrong = first17 + ("0" if right[-1] != "0" else "1")
    page.focus("#f-code")
    page.keyboard.type(ORG)
    page.keyboard.press("Tab")
    page.keyboard.type("鸭江镇农机合作社")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # enterprise → cooperative
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type(wrong)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    browser.errors.clear()  # the 422 of the refused form, logged by the browser
    assert field_error(page, "credit_code").endswith("最后一位校验位不符：代码可能输错了。")
    assert page.get_attribute("#f-credit_code", "aria-invalid") == "true"
    assert page.input_value("#f-name") == "鸭江镇农机合作社"  # what was typed stays
    browser.shoot(page, "admin-zh-desktop-organisation-error")
    page.fill("#f-credit_code", right)
    page.select_option("#f-region_code", TOWN)
    submit(browser, page, "#organisation-form", "#save-organisation")
    assert notice(page) == "已创建。"
    row = page.locator(f"#organisation-table tr[data-code='{ORG}']")
    assert "合作社" in row.inner_text() and "鸭江镇" in row.inner_text()

    # A site: both coordinates or neither, said next to the latitude.
    page.goto(browser.url("/dashboard/admin/sites"))
    page.click("#new-site")
    page.fill("#f-code", SITE)
    page.select_option("#f-kind", "source")
    page.fill("#f-name", "鸭江村01种植户")
    page.select_option("#f-region_code", VILLAGE)
    page.select_option("#f-organisation_code", ORG)
    page.fill("#f-lat", "29.35")
    page.check("input[name=materials][value='film.agri']")
    submit(browser, page, "#site-form", "#save-site")
    assert field_error(page, "lat").endswith("纬度和经度要么都填，要么都不填。")
    assert page.is_checked("input[name=materials][value='film.agri']")
    browser.shoot(page, "admin-zh-desktop-site-error")
    page.fill("#f-lon", "107.62")
    submit(browser, page, "#site-form", "#save-site")
    page.wait_for_url(f"**/dashboard/admin/sites/{SITE}?done=created")
    assert notice(page) == "已创建。"
    assert page.input_value("#f-region_code") == VILLAGE

    # A round for the village's collection point, with the new site on it.
    page.goto(browser.url("/dashboard/admin/rounds/new"))
    page.fill("#f-code", ROUND)
    page.fill("#f-name", "鸭江村01收运线路")
    page.select_option("#f-collection_point", POINT)
    page.click(f"details.town-group:has(input[value='{VILLAGE}']) summary")
    page.check(f"input[name=villages][value='{VILLAGE}']")
    page.fill("#f-sources_add-0", SITE)
    submit(browser, page, "#round-form", "#save-round")
    assert notice(page) == "已创建。"
    assert page.is_checked(f"input[name=sources][value='{SITE}']")
    assert "鸭江村01种植户" in page.inner_text("#f-sources")
    browser.shoot(page, "admin-zh-desktop-round")

    # An account: a processor bound to a farm is refused, next to the sites, in words.
    page.goto(browser.url("/dashboard/admin/accounts/new"))
    page.fill("#f-username", USER)
    page.fill("#f-display_name", "鸭江回收员")
    page.select_option("#f-role", "processor")
    page.select_option("#f-organisation_code", ORG)
    page.fill("#f-password", "yajiang-first-pw")
    page.fill("#f-sites_add-0", f"鸭江村01种植户 · {SITE}")
    submit(browser, page, "#account-form", "#save-account")
    refusal = field_error(page, "sites")
    assert "处理企业账户只能绑定" in refusal and "鸭江村01种植户（产生源）" in refusal
    assert SITE not in refusal.replace(f"（{SITE}）", "")  # named, not coded
    assert "#f-sites" in page.locator("#form-errors a").first.get_attribute("href")
    browser.shoot(page, "admin-zh-desktop-account-refused")
    page.select_option("#f-role", "collector")
    page.uncheck(f"input[name=sites][value='{SITE}']")
    page.fill("#f-password", "yajiang-first-pw")
    page.fill("#f-rounds_add-0", ROUND)
    submit(browser, page, "#account-form", "#save-account")
    page.wait_for_url(f"**/dashboard/admin/accounts/{USER}?done=created")
    assert page.is_checked(f"input[name=rounds][value='{ROUND}']")
    page.goto(browser.url("/dashboard/admin/accounts?role=collector"))
    row = page.locator(f"#account-table tr[data-username='{USER}']")
    assert "鸭江村01收运线路" in row.inner_text() and "从未登录" in row.inner_text()

    # Next year's coefficients, from the latest set; a value edited with its source.
    page.goto(browser.url("/dashboard/admin/coefficients"))
    assert page.input_value("#f-year") == "2026"
    submit(browser, page, "#new-year-form", "#create-set")
    assert "已生成 2026 年的系数" in notice(page)
    section = page.locator("section.coef-set[data-year='2026']")
    rice = section.locator("tr[data-coef='rice.straw_grain_ratio']")
    assert "未核实" in rice.inner_text() and "稻谷草谷比" in rice.inner_text()
    rice.locator("a").click()
    page.fill("#f-value", "1.05")
    page.check("#f-verified")
    submit(browser, page, "#coefficient-form", "#save-coefficient")
    assert field_error(page, "source") == "✗ 改了数值，请写明新数值的来源。"
    page.fill("#f-source", "武隆区农业农村委 2026 年秸秆资源台账")
    submit(browser, page, "#coefficient-form", "#save-coefficient")
    assert notice(page) == "已保存。"
    rice = page.locator("section[data-year='2026'] tr[data-coef='rice.straw_grain_ratio']")
    assert rice.locator(".value").inner_text() == "1.05" and "已核实" in rice.inner_text()
    assert "2026 年秸秆资源台账" in rice.inner_text()
    browser.shoot(page, "admin-zh-desktop-coefficients")

    # A target for 2026–2030: overlapping the plan's is refused, then made and edited.
    page.goto(browser.url("/dashboard/admin/targets/new"))
    page.select_option("#f-indicator", "film_recovery")
    page.fill("#f-year_from", "2025")
    page.fill("#f-value", "92")
    page.fill("#f-source", "武隆区“十五五”生态环境保护规划")
    submit(browser, page, "#target-form", "#save-target")
    assert "已有 2021–2025 年的目标" in field_error(page, "year_from")
    page.fill("#f-year_from", "2026")
    page.fill("#f-year_to", "2030")
    submit(browser, page, "#target-form", "#save-target")
    row = page.locator("#target-table tr[data-indicator='film_recovery']").last
    assert "2026–2030" in row.inner_text() and row.locator(".value").inner_text() == "≥ 92 %"
    row.locator("a").click()
    page.fill("#f-value", "93")
    submit(browser, page, "#target-form", "#save-target")
    assert notice(page) == "已保存。"
    row = page.locator("#target-table tr[data-indicator='film_recovery']").last
    assert row.locator(".value").inner_text() == "≥ 93 %"
    browser.shoot(page, "admin-zh-desktop-targets")

    # The site: moving it off its round's village is refused (say which round), then an
    # edit, a deactivation and a reactivation, each in its history.
    page.goto(browser.url(f"/dashboard/admin/sites/{SITE}"))
    page.select_option("#f-region_code", VILLAGE2)
    submit(browser, page, "#site-form", "#save-site")
    assert "鸭江村01收运线路" in field_error(page, "region_code")
    page.select_option("#f-region_code", VILLAGE)
    page.fill("#f-name", "鸭江村01种植大户")
    page.fill("#f-capacity_kg", "5000")
    submit(browser, page, "#site-form", "#save-site")
    assert notice(page) == "已保存。"
    page.fill("#f-reason", "农户外出务工，暂停收运")
    submit(browser, page, "#state-form", "#deactivate")
    assert notice(page).startswith("站点已停用")
    assert "停用" in page.inner_text(".lead")
    page.goto(browser.url(f"/dashboard/admin/sites?township={TOWN}&state=inactive"))
    assert page.locator(f"#site-table tr[data-code='{SITE}']").count() == 1
    page.goto(browser.url(f"/dashboard/admin/sites/{SITE}"))
    submit(browser, page, "#state-form", "#reactivate")
    assert notice(page) == "站点已重新启用。"
    page.click("#site-history")
    events = page.locator("#site-events li.event")
    actions = events.locator(".event-action").all_inner_texts()
    assert actions == ["创建站点", "修改站点", "停用站点", "重新启用站点"]
    edit = events.nth(1).inner_text()
    assert "鸭江村01种植户" in edit and "鸭江村01种植大户" in edit and "5.0 t" in edit
    stop = events.nth(2)
    assert stop.locator(".before").first.inner_text() == "启用"
    assert stop.locator(".after").first.inner_text() == "停用"
    assert "农户外出务工，暂停收运" in stop.inner_text()
    created = events.nth(0).inner_text()
    for shown in ("鸭江镇 鸭江生成村01", "废旧农膜", "鸭江镇农机合作社", "产生源"):
        assert shown in created, shown
    for when in events.locator(".event-head .muted").all_inner_texts():
        assert LOCAL_TIME.match(when.split(" · ")[0]), when
    everything = page.inner_text("#site-events")
    for raw in ("region_code", "materials", "organisation_code", "film.agri", "True", "None"):
        assert raw not in everything, raw
    browser.shoot(page, "admin-zh-desktop-site-history")
    page.goto(browser.url(f"/dashboard/admin/sites/{SITE}"))
    with page.expect_popup() as popup:
        page.click("#site-plaque")
    assert popup.value.locator("svg").count() >= 1
    popup.value.close()

    # Sites from a file: the template, a check that writes nothing, then the clean row.
    page.goto(browser.url("/dashboard/admin/sites/upload"))
    with page.expect_download() as info:
        page.click("#template-link")
    book = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    header = [c.value for c in book["站点"][1]]
    assert header[:4] == ["站点编码", "站点名称", "英文名称", "站点类型"]
    csv_text = (
        "站点编码,站点名称,站点类型,所在村或乡镇,接收物料,运营单位\n"
        f"YJ-CP-UP,鸭江村02回收点（新）,回收点,鸭江镇/鸭江生成村02,废旧农膜、其他垃圾,{ORG}\n"
        f"YJ-CP-BAD,坏行,回收点,{VILLAGE2},废膜,\n"
    )
    page.set_input_files(
        "#f-file",
        files=[{"name": "站点.csv", "mimeType": "text/csv", "buffer": csv_text.encode("utf-8")}],
    )
    submit(browser, page, "#upload-form", "#check-file")
    rows = page.locator("#upload-rows tbody tr")
    assert rows.nth(0).get_attribute("data-action") == "create"
    assert rows.nth(1).get_attribute("data-action") == "invalid"
    assert "接收物料：没有名为“废膜”的物料。" in rows.nth(1).inner_text().replace("\n", "")
    browser.shoot(page, "admin-zh-desktop-upload-report")
    page.check("#skip-invalid")
    submit(browser, page, "#apply-form", "#apply-upload")
    assert notice(page) == "已写入：新建 1 个站点，更新 0 个。"
    page.goto(browser.url("/dashboard/admin/sites?q=YJ-CP"))
    codes = page.locator("#site-table tbody tr").evaluate_all("r => r.map(x => x.dataset.code)")
    assert codes == ["YJ-CP-UP"]

    # A password reset: shown once; the user logs in with it and must change it first.
    page.goto(browser.url(f"/dashboard/admin/accounts/{USER}"))
    sent = [page.input_value(f"#reset-form input[name={n}]") for n in ("csrf", "key")]
    submit(browser, page, "#reset-form", "#reset-password")
    temporary = page.inner_text("#temp-password-value").strip()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", temporary)
    browser.shoot(page, "admin-zh-desktop-password-reset")
    with page.expect_navigation():  # the same form sent again: no second reset, no password
        page.evaluate(RESEND, [f"/dashboard/admin/accounts/{USER}/password-reset", *sent])
    assert page.locator("#temp-password").count() == 0
    assert "临时密码只显示一次" in page.inner_text("#form-errors")
    browser.logout_all()
    page.goto(browser.url("/dashboard/login"))
    page.fill("#username", USER)
    page.fill("#password", temporary)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/dashboard/password**")
    assert "管理员已为您重置密码" in page.inner_text("#forced-change")
    page.goto(browser.url("/dashboard/handovers"))  # every page leads back here
    assert page.url.startswith(browser.url("/dashboard/password"))
    page.fill("#f-current_password", temporary)
    page.fill("#f-new_password", "yajiang-own-password")
    page.fill("#f-confirm_password", "yajiang-own-password")
    submit(browser, page, "#password-form", "#change-password")
    assert page.inner_text("#password-changed") == "密码已修改。"
    browser.logout_all()


def test_every_admin_page_in_english_and_at_phone_width(browser: Browser) -> None:
    """The pages the walk made, in both languages, desktop and phone: no raw key, no page
    wider than the phone, and a form's refusal in English words."""
    for lang, viewport, size in (
        ("zh", DESKTOP, "desktop"),
        ("zh", PHONE, "phone"),
        ("en", DESKTOP, "desktop"),
        ("en", PHONE, "phone"),
    ):
        tab = browser.new_page(viewport)
        try:
            browser.login(tab, "admin")
            tab.goto(browser.url(f"/dashboard/admin?lang={lang}"))
            for name, path in PAGES.items():
                response = tab.goto(browser.url(path))
                assert response.status == 200, (name, response.status)
                text = tab.inner_text("main")
                assert not re.search(r"\b(admin|field|hint|err|done|coefs)\.[a-z_]+\b", text), name
                if lang == "en":
                    assert not re.search(r"[\u4e00-\u9fff]{2,}", tab.inner_text(".admin-tabs"))
                if size == "phone":
                    width = tab.evaluate("document.documentElement.scrollWidth")
                    assert width <= PHONE["width"] + 1, f"{name} scrolls sideways on a phone"
                browser.shoot(tab, f"admin-{lang}-{size}-{name}")
            if lang == "en" and size == "desktop":
                tab.goto(browser.url("/dashboard/admin/sites/new"))
                assert submit(browser, tab, "#site-form", "#save-site") == 422
                assert field_error(tab, "code") == "✗ Required."
                assert field_error(tab, "region_code") == "✗ Required."
                browser.shoot(tab, "admin-en-desktop-site-errors")
        finally:
            tab.close()
    tab = browser.new_page()
    tab.goto(browser.url("/dashboard/admin?lang=zh"))  # the other tests read Chinese
    tab.close()
