"""Offline tickets, receipt corrections, returns and the intake's pages, on two phones.

Two Chromium profiles at 390×844: the operator of 白马镇's collection point (operator.baima)
sends film on to the film recycler, whose processor (processor.prfilm) receives it. With both
phones offline the operator records a load and shows its ticket; the processor scans it (a
photo of the operator's screen) and confirms. Then the phones sync, the receiver first for one
load and the sender first for the other, and the server links each receipt to its load. The
processor then corrects one receipt and sends the other's refused mass back, offline, through
the outbox; and once an administrator revokes the operator's phone, the processor's phone
refuses its tickets. Every new screen is saved in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DemoServer
from tests.browser.field_support import Phone, phone_context

pytestmark = pytest.mark.browser

POINT = "WL-CP-500156101001"  # operator.baima's collection point
RECYCLER = "WL-PR-FILM"  # processor.prfilm's film recycler
SENDER, RECEIVER = "operator.baima", "processor.prfilm"


@dataclass
class Pair:
    sender: Phone
    receiver: Phone
    plaque: Path  # the collection point's plaque, as a photo
    s: Any = None  # the sender's page
    r: Any = None  # the receiver's page
    loads: tuple[str, ...] = ()  # the two loads' codes, once linked
    tickets: tuple[Path, ...] = ()  # photos of their tickets
    device: str = ""  # the sender phone's device id, as its tickets say

    def handover(self, code: str) -> dict[str, Any]:
        with self.sender.server.api("official") as api:
            r = api.get(f"/handovers/{code}")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def offline(self, off: bool) -> None:
        for phone, page in ((self.sender, self.s), (self.receiver, self.r)):
            phone.context.set_offline(off)
            page.wait_for_selector("#net.off" if off else "#net.on")


@pytest.fixture(scope="module")
def pair(
    playwright: Any,
    demo_server: DemoServer,
    screenshot_dirs: list[Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("tickets")
    with demo_server.api(SENDER) as api:
        png = api.get(f"/sites/{POINT}/plaque.png")
    assert png.status_code == 200, png.text
    plaque = tmp / "point-plaque.png"
    plaque.write_bytes(png.content)
    with phone_context(playwright) as s, phone_context(playwright) as r:
        yield Pair(
            Phone(s, demo_server, screenshot_dirs, tmp),
            Phone(r, demo_server, screenshot_dirs, tmp),
            plaque,
        )


@pytest.fixture
def both(pair: Pair) -> Iterator[Pair]:
    """After each test: no script error on either phone, nothing asked of any other host."""
    for phone in (pair.sender, pair.receiver):
        phone.errors.clear()
        phone.external.clear()
    yield pair
    for phone in (pair.sender, pair.receiver):
        assert not phone.errors, phone.errors
        assert not phone.external, f"the app asked for external resources: {phone.external}"


def shoot(phone: Phone, page: Any, name: str, lang: str) -> None:
    phone.shoot(page, f"{name}-phone" if lang == "zh" else f"{name}-en-phone")


def record_and_show_ticket(p: Pair, kg: str, lang: str) -> Path:
    """The operator, offline, scans the point's plaque (a photo), records film for the
    recycler and shows the ticket; returns a photo of it, as the receiving phone sees it."""
    s = p.s
    s.click("#tabs a[href='#home']")
    s.click("#scan")
    s.set_input_files("#photo", str(p.plaque))
    s.wait_for_selector("#materials button")
    s.select_option("#dest", RECYCLER)
    s.click("#materials button[data-code='film.agri']")
    for key in kg:
        s.click(f".pad button[data-key='{key}']")
    s.click("#save")
    s.wait_for_selector("#ticket-qr svg, #ask[open]")
    if s.locator("#ask[open]").count():  # the same plaque and material minutes ago: add it
        s.click("#ask-yes")
        s.wait_for_selector("#ticket-qr svg")
    ticket = s.get_attribute("#ticket-qr", "data-ticket")
    assert f"/{POINT}/{RECYCLER}/film.agri/{kg}/" in ticket and "?d=" in ticket
    shoot(p.sender, s, "20-ticket", lang)
    p.device = ticket.split("?d=")[1].split("&")[0]
    photo = p.sender.tmp / f"ticket-{kg}.png"
    s.locator("#ticket-qr").screenshot(path=str(photo))
    return photo


def confirm_by_ticket(p: Pair, photo: Path, lang: str, refuse: bool) -> None:
    r = p.r
    r.click("#tabs a[href='#intake']")
    r.click("#scan-manifest")
    r.set_input_files("#photo", str(photo))
    r.wait_for_selector("#received")
    # Checked on the phone against the sender's device key from the bundle.
    assert r.inner_text("#verified").startswith("✓")
    assert r.input_value("#received") in ("42.5", "30")
    if refuse:
        r.fill("#received", "42")
        r.fill("#refused", "2")
        r.select_option("#reason", index=1)
    assert r.get_attribute("#routes button[data-route='recycling']", "aria-pressed") == "true"
    shoot(p.receiver, r, "21-ticket-receive-form", lang)
    r.click("#confirm")
    r.wait_for_selector("#scan-manifest")  # back on the intake list
    r.click("#tabs a[href='#outbox']")
    r.wait_for_selector("#outbox li[data-kind='ticket_receipt'][data-state='queued']")


def test_a_load_confirmed_by_ticket_offline_is_linked_whichever_phone_syncs_first(
    both: Pair,
) -> None:
    p = both
    p.s, p.r = p.sender.page(), p.receiver.page()
    p.sender.login(p.s, SENDER)
    p.receiver.login(p.r, RECEIVER)  # after the sender: its bundle has the sender's key
    codes, photos = [], []
    for lang, receiver_first, kg in (("zh", True, "42.5"), ("en", False, "30")):
        p.sender.set_lang(p.s, lang)
        p.receiver.set_lang(p.r, lang)
        p.offline(True)
        photo = record_and_show_ticket(p, kg, lang)
        confirm_by_ticket(p, photo, lang, refuse=receiver_first)
        p.s.click("#ticket-done")
        p.s.click("#tabs a[href='#outbox']")
        # The newest item of each outbox is this load, and its receipt by ticket.
        mine = p.s.get_attribute("#outbox li[data-kind='handover'] >> nth=0", "data-id")
        theirs = p.r.get_attribute("#outbox li[data-kind='ticket_receipt'] >> nth=0", "data-id")
        s_item, r_item = f"#outbox li[data-id='{mine}']", f"#outbox li[data-id='{theirs}']"
        if receiver_first:
            p.receiver.context.set_offline(False)
            # The server has no such load yet: the receipt waits for it.
            p.r.wait_for_selector(f"{r_item}[data-state='waiting']")
            shoot(p.receiver, p.r, "22-outbox-waiting", lang)
            p.receiver.set_lang(p.r, "en")
            p.r.wait_for_selector(f"{r_item}[data-state='waiting']")
            shoot(p.receiver, p.r, "22-outbox-waiting", "en")
            p.receiver.set_lang(p.r, lang)
            p.sender.context.set_offline(False)
            p.s.wait_for_selector(f"{s_item}[data-state='sent']")
            code = p.s.inner_text(f"{s_item} .state").split()[-1]
            # The load arrived already received: the pending receipt applied in its transaction.
            assert p.handover(code)["status"] == "partially_refused"
            p.r.click("#sync")
        else:
            p.sender.context.set_offline(False)
            p.s.wait_for_selector(f"{s_item}[data-state='sent']")
            code = p.s.inner_text(f"{s_item} .state").split()[-1]
            assert p.handover(code)["status"] == "in_transit"
            p.receiver.context.set_offline(False)
        p.r.wait_for_selector(f"{r_item}[data-state='sent']")
        assert p.r.inner_text(f"{r_item} .state").endswith(code)
        shoot(p.receiver, p.r, "23-outbox-linked", lang)
        h = p.handover(code)
        assert h["received_by"] == RECEIVER and h["route"] == "recycling"
        assert h["from_site"] == POINT and h["to_site"] == RECYCLER
        if receiver_first:
            assert (h["received_mass_kg"], h["refused_mass_kg"]) == (42, 2)
            assert h["status"] == "partially_refused" and h["refusal_reason"]
        else:
            assert (h["status"], h["received_mass_kg"]) == ("received", 30)
        codes.append(code)
        photos.append(photo)
    p.loads, p.tickets = tuple(codes), tuple(photos)


def test_the_processor_corrects_a_receipt_and_sends_refused_mass_back_offline(
    both: Pair,
) -> None:
    p = both
    refused, received = p.loads
    r = p.r
    for lang in ("en", "zh"):
        p.receiver.set_lang(r, lang)
        r.click("#tabs a[href='#intake']")
        r.click(".segments a[href='#received']")
        r.wait_for_selector(f"#received li[data-code='{refused}'] button[data-action='return']")
        shoot(p.receiver, r, "24-received", lang)
    # The two forms in English first, as they open; then in Chinese, filled in, offline.
    p.receiver.set_lang(r, "en")
    for hash_, name, ready in (
        (f"#correct/{received}", "25-correction-form", "#correction-reason"),
        (f"#return/{refused}", "26-return-form", "#save-return"),
    ):
        r.evaluate(f"location.hash = {hash_!r}")
        r.wait_for_selector(ready)
        shoot(p.receiver, r, name, "en")
    p.receiver.set_lang(r, "zh")
    r.evaluate("location.hash = '#received'")
    r.wait_for_selector(f"#received li[data-code='{received}']")
    p.receiver.context.set_offline(True)
    r.wait_for_selector("#net.off")

    r.click(f"#received li[data-code='{received}'] button[data-action='correct']")
    r.wait_for_selector("#correction-reason")
    assert r.input_value("#received") == "30"
    r.click("#submit-correction")
    assert "更正原因" in r.inner_text("#form-error")
    r.fill("#received", "29.5")
    r.fill("#correction-reason", "地磅读数输错")
    shoot(p.receiver, r, "25-correction-form", "zh")
    r.click("#submit-correction")
    r.wait_for_selector(f"#received li[data-code='{received}']")

    r.click(f"#received li[data-code='{refused}'] button[data-action='return']")
    r.wait_for_selector("#save-return")
    assert r.input_value("#kg") == "2" and "2.0 kg" in r.inner_text("#return-left")
    shoot(p.receiver, r, "26-return-form", "zh")
    r.click("#save-return")
    r.wait_for_selector("#ticket-qr svg")  # a return is a load: it has its ticket too
    r.click("#ticket-done")
    r.click("#tabs a[href='#outbox']")
    expect(r.locator("#outbox li[data-state='queued']")).to_have_count(2)
    p.receiver.context.set_offline(False)
    r.wait_for_selector("#outbox li[data-kind='correction'][data-state='sent']")
    r.wait_for_selector("#outbox li[data-kind='handover'][data-state='sent']")
    old = p.handover(received)
    assert old["status"] == "superseded"
    with p.sender.server.api("official") as api:
        history = api.get(f"/handovers/{received}/history").json()
        new = p.handover(history["corrected_by"])
        assert (new["received_mass_kg"], new["corrects"]) == (29.5, received)
        assert history["returned_by"] == []
        back = api.get(f"/handovers/{refused}/history").json()["returned_by"]
    [code] = back
    ret = p.handover(code)
    assert (ret["from_site"], ret["to_site"], ret["declared_mass_kg"]) == (RECYCLER, POINT, 2)
    assert ret["returns"] == refused and ret["recorded_by"] == RECEIVER
    p.receiver.set_lang(r, "zh")


def test_the_intake_list_is_paged_and_the_pages_read_stay_on_the_phone(both: Pair) -> None:
    p = both
    s = p.s
    for lang in ("en", "zh"):
        p.sender.set_lang(s, lang)
        s.click("#tabs a[href='#intake']")
        s.wait_for_selector("#intake-more")
        shoot(p.sender, s, "27-intake-more", lang)
    with p.sender.server.api(SENDER) as api:
        total = api.get("/field/intake", params={"limit": 1}).json()["total"]
    s.click("#refresh")  # the list as the server has it now (a return came back meanwhile)
    s.wait_for_function(
        f"() => document.getElementById('intake-total')?.textContent.startsWith('共 {total} 车')"
    )
    assert s.locator("#intake li").count() == 50 and total > 50
    assert s.inner_text("#intake-more") == f"还有 {total - 50} 车未显示"
    s.click("#load-more")
    shown = min(total, 100)
    s.wait_for_function(f"() => document.querySelectorAll('#intake li').length === {shown}")
    listed = s.eval_on_selector_all("#intake li", "els => els.map(e => e.dataset.code)")
    assert len(set(listed)) == shown
    with p.sender.server.api(SENDER) as api:
        oldest = api.get("/field/intake", params={"limit": shown}).json()["items"]
    assert listed == [h["code"] for h in oldest]  # oldest first, in the server's order
    # What was read stays on the phone: with no network the same list opens again.
    p.sender.context.set_offline(True)
    s.reload()
    s.wait_for_selector("body[data-ready='1']")
    s.click("#tabs a[href='#intake']")
    s.wait_for_function(f"() => document.querySelectorAll('#intake li').length === {shown}")
    if total > shown:
        assert s.locator("#load-more").is_disabled()
    p.sender.context.set_offline(False)


def test_a_revoked_phone_s_tickets_are_refused_on_the_receiving_phone(both: Pair) -> None:
    p = both
    with p.sender.server.api("admin") as api:
        devices = {
            d["device_id"]: d for d in api.get("/field/devices", params={"account": SENDER}).json()
        }
        assert devices[p.device]["status"] == "active"
        r = api.post(f"/field/devices/{p.device}/revoke", json={"reason": "手机丢失"})
    assert r.status_code == 200, r.text
    for page in (p.r, p.s):
        page.reload()  # with signal: the bundle is refreshed before the page says it is ready
        page.wait_for_selector("body[data-ready='1']")
    r_page = p.r
    for lang in ("zh", "en"):
        p.receiver.set_lang(r_page, lang)
        r_page.evaluate("location.hash = '#intake'")
        r_page.click("#scan-manifest")
        r_page.set_input_files("#photo", str(p.tickets[0]))
        r_page.wait_for_selector("#scan-error:not([hidden])")
        assert r_page.get_attribute("#scan-error", "data-reason") == "revoked_device"
        assert ("作废" if lang == "zh" else "revoked") in r_page.inner_text("#scan-error")
        shoot(p.receiver, r_page, "28-revoked-ticket", lang)
    # The revoked phone records its loads still, without a ticket.
    p.sender.set_lang(p.s, "zh")
    p.s.evaluate("location.hash = '#home'")
    p.s.click("#scan")
    p.s.set_input_files("#photo", str(p.plaque))
    p.s.wait_for_selector("#materials button")
    p.s.select_option("#dest", RECYCLER)
    p.s.click("#materials button[data-code='film.agri']")
    p.s.click(".pad button[data-key='5']")
    p.s.click("#save")
    p.s.wait_for_selector("#no-ticket, #ask[open]")
    if p.s.locator("#ask[open]").count():
        p.s.click("#ask-yes")
        p.s.wait_for_selector("#no-ticket")
    assert "作废" in p.s.inner_text("#no-ticket")
    shoot(p.sender, p.s, "29-no-ticket", "zh")
    p.sender.set_lang(p.s, "en")
    p.s.wait_for_selector("#no-ticket:has-text('revoked')")
    shoot(p.sender, p.s, "29-no-ticket", "en")
