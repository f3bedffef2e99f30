"""The field app under load and without its server, in Chromium at phone size.

A collector records 20 loads with no network (the same plaque and material each time, so the
app asks before every load after the first), closes and reopens the app still offline, and
once the network is back the server has exactly those 20 loads, each once, however often the
phone syncs. Then the app is opened from a server of its own that is stopped after the login:
the service worker still serves the app, the phone keeps the account's rounds, a load is
recorded into the outbox and waits there; once the server is back on the same port and
database the load is sent. Screens are saved as screenshots (see conftest).
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DemoServer, _free_port
from tests.browser.field_support import Phone, phone_context, y4m_of

pytestmark = pytest.mark.browser

COLLECTOR = "collector.baima"
# Two household clusters on collector.baima's round (test_field.py records from the first).
SOURCE = "WL-HH-500156101001-2"
OTHER_SOURCE = "WL-HH-500156101001-1"
POINT = "WL-CP-500156101001"  # the round's collection point
MATERIAL = "film.agri"
# Twenty distinct masses, each under film's cap for one handover (300 kg).
MASSES = [f"{5 + i}.{(7 * i) % 10}" for i in range(20)]


def handovers_since(server: DemoServer, source: str, since: datetime) -> list[dict[str, Any]]:
    """The loads from ``source`` the server recorded since ``since``."""
    with server.api("official") as api:
        r = api.get("/handovers", params={"site": source, "limit": 500})
    assert r.status_code == 200, r.text
    return [
        h
        for h in r.json()["items"]
        if h["from_site"] == source and datetime.fromisoformat(h["recorded_at"]) >= since
    ]


def site_position(server: DemoServer, code: str) -> dict[str, float]:
    """A position 30 m from the site, as the phone's geolocation reports it."""
    with server.api(COLLECTOR) as api:
        r = api.get(f"/sites/{code}")
    assert r.status_code == 200, r.text
    return {"latitude": r.json()["lat"] + 0.0003, "longitude": r.json()["lon"]}


def plaque_png(server: DemoServer, code: str) -> bytes:
    with server.api(COLLECTOR) as api:
        r = api.get(f"/sites/{code}/plaque.png")
    assert r.status_code == 200, r.text
    return r.content


def no_errors(phone: Phone) -> None:
    assert not phone.errors, phone.errors
    assert not phone.external, f"the app asked for external resources: {phone.external}"


def record(page: Any, kg: str) -> None:
    """Material and kg on the load form (the plaque is read), then save."""
    page.wait_for_selector("#materials button")
    assert page.inner_text("#verified").startswith("✓")
    page.click(f"#materials button[data-code='{MATERIAL}']")
    for key in kg:
        page.click(f".pad button[data-key='{key}']")
    assert page.input_value("#kg") == kg
    assert page.input_value("#dest") == POINT  # preset by the round
    page.wait_for_selector("#position:has-text('已定位')")
    page.click("#save")


# -- 20 loads offline ---------------------------------------------------------------------------


@pytest.fixture
def collector_phone(
    playwright: Any,
    demo_server: DemoServer,
    screenshot_dirs: list[Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Phone]:
    tmp = tmp_path_factory.mktemp("field-many")
    video = tmp / "plaque.y4m"
    y4m_of(plaque_png(demo_server, SOURCE), video)
    with phone_context(playwright, video, site_position(demo_server, SOURCE)) as context:
        phone = Phone(context, demo_server, screenshot_dirs, tmp)
        yield phone
        no_errors(phone)


def test_twenty_loads_recorded_offline_survive_a_reload_and_arrive_once_each(
    collector_phone: Phone,
) -> None:
    f = collector_phone
    page = f.page()
    f.login(page, COLLECTOR)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    f.context.set_offline(True)
    page.wait_for_selector("#net.off")

    for n, kg in enumerate(MASSES, start=1):
        page.click("#tabs a[href='#home']")
        page.click("#scan")  # the fake camera plays the plaque
        record(page, kg)
        if n > 1:
            # The same plaque and material within minutes: the app asks first.
            page.wait_for_selector("#ask[open]")
            assert "再加一车" in page.inner_text("#ask")
            if n == 2:
                f.shoot(page, "many-01-another-load-phone")
            page.click("#ask-yes")
        page.wait_for_selector("#ticket-qr svg")
        assert f"{kg} kg" in page.inner_text("#ticket-load")
    page.click("#tabs a[href='#outbox']")
    expect(page.locator("#outbox li[data-state='queued']")).to_have_count(20)
    f.shoot(page, "many-02-outbox-20-queued-phone")

    # Closed and reopened with no network: all 20 still wait, nothing reached the server.
    page.close()
    page = f.page()
    f.open(page, "#outbox")
    expect(page.locator("#outbox li[data-state='queued']")).to_have_count(20)
    assert all("等待发送" in s for s in page.locator("#outbox li .state").all_inner_texts())
    assert handovers_since(f.server, SOURCE, f.started) == []

    f.context.set_offline(False)
    page.wait_for_selector("#net.on")
    expect(page.locator("#outbox li[data-state='sent']")).to_have_count(20, timeout=60_000)
    states = page.locator("#outbox li .state").all_inner_texts()
    assert all(s.startswith("已发送 HO-") for s in states), states
    phone_codes = {s.removeprefix("已发送 ").strip() for s in states}
    assert len(phone_codes) == 20
    f.shoot(page, "many-03-outbox-20-sent-phone")

    page.click("#sync")  # sending again changes nothing
    page.wait_for_selector("#last-sync")
    expect(page.locator("#outbox li[data-state='sent']")).to_have_count(20)
    sent = handovers_since(f.server, SOURCE, f.started)
    assert len(sent) == 20
    assert {h["code"] for h in sent} == phone_codes
    assert sorted(h["declared_mass_kg"] for h in sent) == sorted(float(kg) for kg in MASSES)
    assert {(h["material"], h["to_site"]) for h in sent} == {(MATERIAL, POINT)}
    assert {h["recorded_by"] for h in sent} == {COLLECTOR}
    page.close()


# -- the server stopped -------------------------------------------------------------------------


class OwnServer:
    """``wasteflow serve`` on a copy of the demo database, which this test may stop."""

    def __init__(self, demo: DemoServer, workdir: Path):
        db = workdir / "own.db"
        src = demo.env["WASTEFLOW_DATABASE_URL"].removeprefix("sqlite:///")
        with sqlite3.connect(src) as a, sqlite3.connect(db) as b:
            a.backup(b)  # consistent even while the demo server writes
        self.env = demo.env | {"WASTEFLOW_DATABASE_URL": f"sqlite:///{db}"}
        self.workdir = workdir
        self.port = _free_port()
        self.server: DemoServer | None = None

    def start(self) -> DemoServer:
        log = self.workdir / "server.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "wasteflow", "serve", "--port", str(self.port)],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = DemoServer(f"http://127.0.0.1:{self.port}", self.env, log, proc)
        self.server = server
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the server exited:\n{server.log_tail()}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    return server
            assert time.monotonic() < deadline, f"no server in 60 s:\n{server.log_tail()}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.server is None:
            return
        proc = self.server.proc
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self.server = None


@pytest.fixture
def own_server(
    demo_server: DemoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OwnServer]:
    own = OwnServer(demo_server, tmp_path_factory.mktemp("field-own-server"))
    try:
        yield own
    finally:
        own.stop()


def test_the_app_works_after_its_server_is_stopped(
    playwright: Any,
    own_server: OwnServer,
    screenshot_dirs: list[Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = own_server.start()
    tmp = tmp_path_factory.mktemp("field-nosrv")
    plaque = tmp / "plaque.png"
    plaque.write_bytes(plaque_png(server, OTHER_SOURCE))
    position = site_position(server, OTHER_SOURCE)
    with phone_context(playwright, None, position) as context:
        f = Phone(context, server, screenshot_dirs, tmp)
        page = f.page()
        f.login(page, COLLECTOR)
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        rounds = page.inner_text("ul.rounds")
        assert rounds.strip()

        # The server is really gone: nothing answers on its port.
        own_server.stop()
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.url}/healthz", timeout=2)

        # The browser thinks it is online; only the service worker can answer.
        shell = page.reload()
        assert shell is not None and shell.from_service_worker
        page.wait_for_selector("body[data-ready='1']")
        assert page.inner_text("h1").endswith("你好")
        assert page.inner_text("ul.rounds") == rounds  # the account's rounds, as kept
        f.shoot(page, "nosrv-01-home-server-stopped-phone")

        page.click("#scan")
        page.set_input_files("#photo", str(plaque))  # a photo of the plaque
        record(page, "12.5")
        page.wait_for_selector("#ticket-qr svg")
        assert "12.5 kg" in page.inner_text("#ticket-load")
        page.click("#tabs a[href='#outbox']")
        page.wait_for_selector("#outbox li[data-state='queued']")
        expect(page.locator("#outbox li")).to_have_count(1)
        page.wait_for_selector("#net.off")  # sending it failed, and the app says so
        assert page.inner_text("#outbox li .state") == "等待发送"
        f.shoot(page, "nosrv-02-outbox-queued-server-stopped-phone")

        # The server comes back on the same port and database: the load is sent, once.
        server = own_server.start()
        assert handovers_since(server, OTHER_SOURCE, f.started) == []
        page.click("#sync")
        page.wait_for_selector("#outbox li[data-state='sent']")
        state = page.inner_text("#outbox li .state")
        assert state.startswith("已发送 HO-"), state
        page.wait_for_selector("#net.on")
        f.shoot(page, "nosrv-03-outbox-sent-server-back-phone")
        sent = handovers_since(server, OTHER_SOURCE, f.started)
        assert [h["code"] for h in sent] == [state.removeprefix("已发送 ").strip()]
        assert sent[0]["declared_mass_kg"] == 12.5 and sent[0]["material"] == MATERIAL
        assert sent[0]["to_site"] == POINT and sent[0]["recorded_by"] == COLLECTOR
        page.close()
        no_errors(f)
