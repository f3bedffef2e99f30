"""What the field app's browser tests share: phones (Chromium profiles at 390×844 with a fake
camera), a video of a QR for the camera, and the helpers that drive the app."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import qrcode
from PIL import Image

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, DemoServer
from wasteflow.demo import DEMO_PASSWORD

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


@contextmanager
def phone_context(
    playwright: Any, video: Path | None = None, geolocation: dict[str, float] | None = None
) -> Iterator[Any]:
    """A phone: its own Chromium profile (IndexedDB, service worker), a fake camera playing
    ``video`` (or Chromium's own test pattern), Chinese locale, Shanghai time."""
    profile = tempfile.mkdtemp(prefix="wf-phone-")
    camera = [f"--use-file-for-fake-video-capture={video}"] if video else []
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            *camera,
        ],
        viewport=PHONE,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        permissions=["camera", "geolocation"],
        geolocation=geolocation,
    )
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


class Phone:
    """One phone's profile, and the helpers the tests share."""

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

    def set_lang(self, page: Any, lang: str) -> None:
        want = "zh-CN" if lang == "zh" else "en"
        if page.locator("html").get_attribute("lang") != want:
            page.click("#lang")
            page.wait_for_function(f"() => document.documentElement.lang === {want!r}")


def show_all_loads(page: Any, code: str) -> None:
    """Page the intake list (oldest first) until the load ``code`` is listed."""
    page.wait_for_selector("#intake li")
    while not page.locator(f"#intake li[data-code='{code}']").count():
        more = page.locator("#load-more")
        assert more.count(), f"{code} is not in the intake list and there is no more to load"
        before = page.locator("#intake li").count()
        more.click()
        page.wait_for_function(f"() => document.querySelectorAll('#intake li').length > {before}")
