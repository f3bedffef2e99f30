"""Browser fixtures: the demo district served by a real ``wasteflow serve``, and Debian's
headless Chromium driven by Playwright.

One demo database (SQLite) and one server for the whole session: building the demo (as of
``DEMO_AS_OF``) takes about a minute, and the dashboard mostly reads it (the tests that record
handovers add to it).
The browser is the system's ``/usr/bin/chromium`` (``playwright install`` cannot download
here); if it is missing or does not start, the tests fail: a dashboard that was never opened
in a browser is not tested.

Every request the pages make to anything but the test server is refused and recorded, so a
CDN script, web font or map tile that slips in fails the test that loaded it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import ensure_debian_packages
from wasteflow.demo import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_AS_OF = "2026-12-01"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoServer:
    """``python -m wasteflow serve`` over a freshly built demo database."""

    url: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes]
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, username: str) -> str:
        """A bearer token of a demo account (for comparing the pages with the API)."""
        if username not in self._tokens:
            r = httpx.post(
                f"{self.url}/api/v1/auth/token",
                data={"username": username, "password": DEMO_PASSWORD},
                timeout=30,
            )
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    def api(self, username: str = "official") -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {self.token(username)}"},
            timeout=60,
        )

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    workdir = tmp_path_factory.mktemp("browser-demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_")}
    env |= {
        "WASTEFLOW_DATABASE_URL": f"sqlite:///{workdir / 'demo.db'}",
        "WASTEFLOW_SECRET_KEY": "browser-tests-secret-not-for-production",
        "WASTEFLOW_ARGON2_TIME_COST": "1",
        "WASTEFLOW_ARGON2_MEMORY_KIB": "1024",
    }
    built = subprocess.run(
        # As of a fixed day: 2025 whole and 2026 to 30 November, whatever the date the
        # tests run on (the dashboard's default period is the demo's latest year, 2026).
        [sys.executable, "-m", "wasteflow", "demo", "--no-serve", "--as-of", DEMO_AS_OF],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, f"wasteflow demo failed:\n{built.stdout}\n{built.stderr}"
    port = _free_port()
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wasteflow", "serve", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = DemoServer(f"http://127.0.0.1:{port}", env, log, proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the server exited:\n{server.log_tail()}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"no server in 60 s:\n{server.log_tail()}"
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def screenshot_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Where screenshots go: under pytest's tmp path, and ``$WASTEFLOW_SCREENSHOTS`` if set."""
    dirs = [tmp_path_factory.mktemp("screenshots")]
    extra = os.environ.get("WASTEFLOW_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        dirs.append(Path(extra))
    return dirs


class Browser:
    """One Chromium profile for the session, with the helpers the tests share."""

    def __init__(self, context: Any, server: DemoServer, shots: list[Path]):
        self.context = context
        self.server = server
        self.shots = shots
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.user: str | None = None
        context.route("**/*", self._only_loopback)

    def _only_loopback(self, route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def new_page(self, viewport: dict[str, int] | None = None) -> Any:
        page = self.context.new_page()
        page.set_viewport_size(viewport or DESKTOP)
        page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        return page

    def url(self, path: str) -> str:
        return self.server.url + path

    def logout_all(self) -> None:
        self.context.clear_cookies()
        self.user = None

    def login(self, page: Any, username: str = "official") -> None:
        """Log in through the form (once per user; other tests reuse the session cookie)."""
        if self.user == username:
            return
        self.logout_all()
        page.goto(self.url("/dashboard/login"))
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORD)
        page.click("form.stack button[type=submit]")
        page.wait_for_url(self.url("/dashboard"))
        self.user = username

    def shoot(self, page: Any, name: str) -> Path:
        """A full-page screenshot, in every screenshot directory."""
        first = self.shots[0] / f"{name}.png"
        page.screenshot(path=str(first), full_page=True)
        for d in self.shots[1:]:
            shutil.copyfile(first, d / first.name)
        return first


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """One Playwright driver for the session: its sync API cannot be started twice at once."""
    # Without a Chinese font every page (and every printed PDF) shows empty boxes for 汉字.
    chinese_font = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").exists()
    ensure_debian_packages(
        Path(CHROMIUM).exists() and chinese_font,
        ["chromium", "fonts-wqy-microhei"],
        "Chromium or its Chinese font",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(
    playwright: Any, demo_server: DemoServer, screenshot_dirs: list[Path]
) -> Iterator[Browser]:
    """Headless Chromium from Debian's package; failing to start it fails the tests."""
    with chromium_context(playwright) as context:
        yield Browser(context, demo_server, screenshot_dirs)


@contextlib.contextmanager
def chromium_context(playwright: Any) -> Iterator[Any]:
    """A persistent Chromium profile of its own (Chinese, Shanghai time), removed after."""
    profile = tempfile.mkdtemp(prefix="wf-chromium-")
    try:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=DESKTOP,
            accept_downloads=True,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
    except Exception as exc:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.fail(f"headless Chromium did not start: {exc}")
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Browser) -> Iterator[Any]:
    """A fresh tab; after the test: no request left the machine, no script error."""
    browser.blocked.clear()
    browser.errors.clear()
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()
    assert not browser.blocked, f"the page asked for external resources: {browser.blocked}"
    assert not browser.errors, f"errors in the browser: {browser.errors}"
