"""The field app (``/field/``) in Chromium at phone size, with a fake camera and no network.

One Chromium for the module, started with a fake camera that plays a video made from the
server's own plaque PNG of a 白马镇 household cluster, and a position next to that cluster.
The tests run in order on one browser profile (its IndexedDB and service worker carry over,
as on a phone): the collector logs in with signal, records a load with none, closes and
reopens the app, and sees it sent once the network is back; a forged plaque is refused on the
phone; a load from a phone whose clock runs fast is refused with the reason, and fixed; the
collection point's operator confirms the load from the intake list, offline. Every screen is
saved as a screenshot (see conftest). Tickets, corrections, returns and the intake's pages
are in test_field_tickets.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, DemoServer
from tests.browser.field_support import Phone, phone_context, qr_png, show_all_loads, y4m_of

pytestmark = pytest.mark.browser

SOURCE = "WL-HH-500156101001-1"  # a household cluster on collector.baima's round
POINT = "WL-CP-500156101001"  # the round's collection point, run by operator.baima
MATERIAL = "film.agri"


class Field(Phone):
    def handovers_from_source(self) -> list[dict[str, Any]]:
        with self.server.api("official") as api:
            r = api.get("/handovers", params={"site": SOURCE, "limit": 500})
        assert r.status_code == 200, r.text
        return [
            h
            for h in r.json()["items"]
            if h["from_site"] == SOURCE and datetime.fromisoformat(h["recorded_at"]) >= self.started
        ]


@pytest.fixture(scope="module")
def field(
    playwright: Any,
    demo_server: DemoServer,
    screenshot_dirs: list[Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Field]:
    tmp = tmp_path_factory.mktemp("field")
    with demo_server.api("collector.baima") as api:
        png = api.get(f"/sites/{SOURCE}/plaque.png")
        site = api.get(f"/sites/{SOURCE}").json()
    assert png.status_code == 200, png.text
    video = tmp / "plaque.y4m"
    y4m_of(png.content, video)
    position = {"latitude": site["lat"] + 0.0003, "longitude": site["lon"]}
    with phone_context(playwright, video, position) as context:
        yield Field(context, demo_server, screenshot_dirs, tmp)


@pytest.fixture
def checked(field: Field) -> Iterator[Field]:
    """After each test: no script error, nothing asked of any other host."""
    field.errors.clear()
    field.external.clear()
    yield field
    assert not field.errors, field.errors
    assert not field.external, f"the app asked for external resources: {field.external}"


def test_the_login_page_links_the_app_and_a_collector_logs_in(checked: Field) -> None:
    f = checked
    page = f.page()
    page.goto(f"{f.server.url}/dashboard/login")
    page.click("#field-link")
    page.wait_for_selector("#login-form")
    assert page.url == f"{f.server.url}/field/#login"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    f.shoot(page, "01-login-phone")
    page.fill("#username", "collector.baima")
    page.fill("#password", "wrong-password")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert page.inner_text("#login-error") == "用户名或密码错误。"
    f.login(page, "collector.baima")
    assert page.inner_text("h1").endswith("你好")
    assert "RD-" not in page.inner_text("main")  # rounds by name, not code
    assert page.locator("ul.rounds li").count() >= 1
    # The shell is cached by the service worker before anything goes offline.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    f.shoot(page, "02-home-phone")
    page.close()


def scan_and_record(page: Any, kg: str, material: str = MATERIAL) -> None:
    page.click("#scan")
    page.wait_for_selector("#materials button")  # the camera read the plaque
    assert page.inner_text("#verified").startswith("✓")
    page.click(f"#materials button[data-code='{material}']")
    assert "上限" in page.inner_text("#cap")
    for key in kg:
        page.click(f".pad button[data-key='{key}']")
    assert page.input_value("#dest") == POINT  # preset by the round
    page.wait_for_selector("#position:has-text('已定位')")


def test_a_load_recorded_offline_survives_a_reload_and_is_sent_once(checked: Field) -> None:
    f = checked
    page = f.page()
    f.open(page, "#home")
    f.context.set_offline(True)
    page.wait_for_selector("#net.off")
    scan_and_record(page, "18.4")
    f.shoot(page, "03-load-form-phone")
    page.click("#save")
    # Saved: the load's ticket, signed on the phone with no signal, for the receiving site.
    page.wait_for_selector("#ticket-qr svg")
    ticket = page.get_attribute("#ticket-qr", "data-ticket")
    assert "/q/T/" in ticket and f"/{SOURCE}/{POINT}/{MATERIAL}/18.4/" in ticket
    assert "18.4 kg" in page.inner_text("#ticket-load")
    f.shoot(page, "03b-ticket-phone")
    page.click("#tabs a[href='#outbox']")
    page.wait_for_selector("#outbox li[data-state='queued']")
    assert "等待发送" in page.inner_text("#outbox li")
    f.shoot(page, "04-outbox-queued-phone")

    # A second scan of the same plaque and material asks first; declining adds nothing.
    page.click("#tabs a[href='#home']")
    scan_and_record(page, "5")
    page.click("#save")
    page.wait_for_selector("#ask[open]")
    assert "再加一车" in page.inner_text("#ask")
    f.shoot(page, "05-duplicate-question-phone")
    page.click("#ask-no")
    page.click("#tabs a[href='#outbox']")
    expect(page.locator("#outbox li")).to_have_count(1)

    # Closed and reopened with no network: the service worker serves the app, IndexedDB the
    # outbox.
    page.close()
    page = f.page()
    f.open(page, "#outbox")
    page.wait_for_selector("#outbox li[data-state='queued']")
    expect(page.locator("#outbox li")).to_have_count(1)
    assert f.handovers_from_source() == []

    f.context.set_offline(False)
    page.wait_for_selector("#outbox li[data-state='sent']")
    state = page.inner_text("#outbox li .state")
    assert state.startswith("已发送 HO-"), state
    code = state.removeprefix("已发送 ").strip()
    f.shoot(page, "06-outbox-sent-phone")
    page.click("#sync")  # sending again changes nothing
    page.wait_for_selector("#last-sync")
    sent = f.handovers_from_source()
    assert [h["code"] for h in sent] == [code]
    assert sent[0]["declared_mass_kg"] == 18.4 and sent[0]["material"] == MATERIAL
    assert sent[0]["to_site"] == POINT and sent[0]["lat"] is not None
    assert sent[0]["scan_distance_m"] < 100
    page.close()


def test_a_forged_plaque_is_refused_on_the_phone(checked: Field) -> None:
    f = checked
    page = f.page()
    f.open(page, "#home")
    with f.server.api("collector.baima") as api:
        payload = api.get(f"/sites/{SOURCE}/plaque").json()["payload"]
    # The signature of one site presented under another site's code.
    forged = payload.replace(f"/S/{SOURCE}?", "/S/WL-HH-500156101001-2?")
    photo = f.tmp / "forged.png"
    photo.write_bytes(qr_png(forged))
    page.click("#scan")
    page.set_input_files("#photo", str(photo))
    page.wait_for_selector("#scan-error:not([hidden])")
    assert page.get_attribute("#scan-error", "data-reason") == "bad_signature"
    assert "伪造" in page.inner_text("#scan-error")
    f.shoot(page, "07-forged-plaque-phone")
    page.close()


def test_a_refused_load_says_why_and_the_clock_fix_sends_it(checked: Field) -> None:
    f = checked
    page = f.page()
    # This phone's clock runs 20 minutes fast: the server refuses its time.
    page.clock.set_system_time(datetime.now(UTC) + timedelta(minutes=20))
    f.open(page, "#home")
    scan_and_record(page, "7.5", "hh.recyclable")
    page.click("#save")
    page.wait_for_selector("#ticket-qr svg")
    page.click("#tabs a[href='#outbox']")
    page.wait_for_selector("#outbox li[data-state='refused']")
    why = page.inner_text("#outbox li[data-state='refused'] .state")
    assert why.startswith("被拒绝：device_time:") and "future" in why, why
    # The sync measured the clock from the server's Date: a warning, before the next scan too.
    page.wait_for_selector("#clock-warning:not([hidden])")
    assert "手机时间比服务器快" in page.inner_text("#clock-warning")
    f.shoot(page, "08-refused-clock-phone")
    page.click("button:has-text('按服务器时间校正')")
    page.wait_for_selector("#outbox li[data-state='sent'] >> nth=0")
    expect(page.locator("#outbox li[data-state='refused']")).to_have_count(0)
    assert len(f.handovers_from_source()) == 2
    page.clock.set_system_time(datetime.now(UTC))  # the clock is the context's, not the page's
    page.close()


def test_the_operator_confirms_the_load_from_the_intake_list_offline(checked: Field) -> None:
    f = checked
    page = f.page()
    f.open(page, "#home")
    page.click("#logout")
    page.wait_for_selector("#login-form")
    f.login(page, "operator.baima")
    page.click("#tabs a[href='#intake']")
    loads = f.handovers_from_source()
    codes = [h["code"] for h in sorted(loads, key=lambda h: h["recorded_at"])]
    # Oldest first, a page at a time: the demo's older loads come before today's.
    show_all_loads(page, codes[-1])
    listed = page.eval_on_selector_all("#intake li", "els => els.map(e => e.dataset.code)")
    assert [c for c in listed if c in codes] == codes  # oldest first
    f.shoot(page, "09-intake-phone")
    page.set_viewport_size(DESKTOP)
    f.shoot(page, "10-intake-desktop")
    page.set_viewport_size(PHONE)

    f.context.set_offline(True)
    page.wait_for_selector("#net.off")
    page.click(f"#intake li[data-code='{codes[0]}'] button")
    page.fill("#received", "18.1")
    page.fill("#refused", "0.6")
    page.wait_for_selector("#reason")
    page.click("#confirm")
    assert "拒收原因" in page.inner_text("#form-error")  # a refusal needs its reason
    page.select_option("#reason", "含泥沙杂质")
    f.shoot(page, "11-receive-form-phone")
    page.click("#confirm")
    page.wait_for_selector(f"#intake li.done[data-code='{codes[0]}']")
    page.click("#tabs a[href='#outbox']")
    assert "等待发送" in page.inner_text("#outbox li")
    f.context.set_offline(False)
    page.wait_for_selector("#outbox li[data-state='sent']")
    with f.server.api("official") as api:
        h = api.get(f"/handovers/{codes[0]}").json()
    assert h["status"] == "partially_refused"
    assert (h["received_mass_kg"], h["refused_mass_kg"]) == (18.1, 0.6)
    assert h["refusal_reason"] == "含泥沙杂质" and h["received_by"] == "operator.baima"
    f.shoot(page, "12-outbox-receipt-sent-phone")
    page.click("#lang")
    page.click("#tabs a[href='#intake']")
    page.wait_for_selector("#intake")
    assert page.inner_text("h1") == "Loads on their way"
    f.shoot(page, "13-intake-en-phone")
    page.close()
