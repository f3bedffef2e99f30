"""The field app (``/field/``) in Chromium at phone size, with a fake camera and no network.

One Chromium for the module, started with a fake camera that plays a video made from the
server's own plaque PNG of a 白马镇 household cluster, and a position next to that cluster.
The tests run in order on one browser profile (its IndexedDB and service worker carry over,
as on a phone): the collector logs in with signal, records a load with none, closes and
reopens the app, and sees it sent once the network is back; a forged plaque is refused on the
phone; a load from a phone whose clock runs fast is refused with the reason, and fixed; the
collection point's operator confirms the load from the intake list, offline. Every screen is
saved as a screenshot (see conftest).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import qrcode
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, DemoServer
from wasteflow.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

SOURCE = "WL-HH-500156101001-1"  # a household cluster on collector.baima's round
POINT = "WL-CP-500156101001"  # the round's collection point, run by operator.baima
MATERIAL = "film.agri"
TIMEOUT = 20_000


def y4m_of(png: bytes, path: Path, width: int = 640, height: int = 480, frames: int = 20) -> None:
    """A grey-scale Y4M video of an image centred on white (Chromium's fake camera input)."""
    img = Image.open(io.BytesIO(png)).convert("L")
    img.thumbnail((height - 40, height - 40))
    canvas = Image.new("L", (width, height), 255)
    canvas.paste(img, ((width - img.width) // 2, (height - img.height) // 2))
    luma = canvas.tobytes()
    chroma = bytes([128]) * (width // 2 * height // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)


def qr_png(text: str) -> bytes:
    buf = io.BytesIO()
    qrcode.make(text, box_size=8, border=4).save(buf, format="PNG")
    return buf.getvalue()


class Field:
    """The module's Chromium profile with a fake camera, and the helpers the tests share."""

    def __init__(self, context: Any, server: DemoServer, shots: list[Path], tmp: Path):
        self.context = context
        self.server = server
        self.shots = shots
        self.tmp = tmp
        self.errors: list[str] = []
        self.external: list[str] = []
        # What the app records is told apart by time (other browser tests record loads too).
        self.started = datetime.now(UTC) - timedelta(seconds=1)
        context.on("request", self._note_request)

    def _note_request(self, request: Any) -> None:
        url = request.url
        if not url.startswith((self.server.url, "data:", "blob:")):
            self.external.append(url)

    def page(self, viewport: dict[str, int] | None = None) -> Any:
        page = self.context.new_page()
        page.set_viewport_size(viewport or PHONE)
        page.set_default_timeout(TIMEOUT)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        return page

    def open(self, page: Any, hash_: str = "") -> None:
        page.goto(f"{self.server.url}/field/{hash_}")
        page.wait_for_selector("body[data-ready='1']")

    def shoot(self, page: Any, name: str) -> Path:
        width = page.viewport_size["width"]
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, name
        first = self.shots[0] / f"field-{name}.png"
        page.screenshot(path=str(first), full_page=True)
        for d in self.shots[1:]:
            shutil.copyfile(first, d / first.name)
        return first

    def login(self, page: Any, username: str) -> None:
        self.open(page)
        page.wait_for_selector("#login-form")
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#tabs:not([hidden])")

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
    profile = tempfile.mkdtemp(prefix="wf-field-")
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
        viewport=PHONE,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        permissions=["camera", "geolocation"],
        geolocation={"latitude": site["lat"] + 0.0003, "longitude": site["lon"]},
    )
    try:
        yield Field(context, demo_server, screenshot_dirs, tmp)
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


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
    assert page.locator("#outbox li").count() == 1

    # Closed and reopened with no network: the service worker serves the app, IndexedDB the
    # outbox.
    page.close()
    page = f.page()
    f.open(page, "#outbox")
    page.wait_for_selector("#outbox li[data-state='queued']")
    assert page.locator("#outbox li").count() == 1
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
    page.wait_for_selector(f"#intake li[data-code='{codes[0]}']")
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
