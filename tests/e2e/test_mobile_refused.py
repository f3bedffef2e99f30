"""A scan the server refuses stays in the outbox with the reason, and is not sent again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobile_stub import Phone
from tests.e2e.conftest import CP, DEMO_PASSWORD, E2E, mobile

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the client's English words; a Chinese locale would change them."""
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def _outbox(state: Path) -> dict[float, dict[str, Any]]:
    """The outbox by declared mass (each scan of this test has its own)."""
    items = json.loads(mobile(state, "outbox", "--json").stdout)
    return {i["body"]["declared_mass_kg"]: i for i in items}


def test_a_refused_scan_stays_visible_with_its_reason_and_is_not_resent(
    live: E2E, tmp_path: Path
) -> None:
    district = live.district
    crew = district.new_crew(1)
    (source,) = crew.sources
    payload = district.plaque(source)
    state = tmp_path / "phone.db"
    mobile(state, "login", live.server.url, crew.collector)

    def scan(kg: str, check: bool = True) -> Any:
        return mobile(state, "scan", "--payload", payload, "--to", CP, "--material",
                      "film.agri", "--kg", kg, check=check)  # fmt: skip

    scan("600")  # a typo on the scale: 600 kg of film from one household, above the cap
    scan("12.5")
    held = scan("3.1415", check=False)  # what the server would certainly refuse stays here
    assert held.returncode == 3, held.stdout + held.stderr
    assert "at most 3 decimals" in held.stderr

    first = mobile(state, "sync")  # a refusal is an answer, not a failure: exit 0
    assert "refused 1" in first.stdout and "1 held until fixed" in first.stdout
    items = _outbox(state)
    refused, good, kept = items[600], items[12.5], items[3.1415]
    assert (refused["state"], refused["reason_field"], refused["attempts"]) == (
        "refused",
        "declared_mass_kg",
        1,
    )
    assert "plausibility cap" in refused["reason"]
    assert good["state"] == "sent" and good["code"].startswith("HO-")
    assert (kept["state"], kept["attempts"]) == ("held", 0)
    listing = mobile(state, "outbox").stdout
    assert f"#{refused['id']}" in listing and "refused: declared_mass_kg: 600" in listing

    second = json.loads(mobile(state, "sync", "--json").stdout)
    assert (second["batches"], second["sent"], second["refused"]) == (0, 0, 0)
    again = _outbox(state)[600]
    assert (again["state"], again["attempts"], again["updated_at"]) == (
        "refused",
        1,
        refused["updated_at"],
    )
    assert [h["declared_mass_kg"] for h in district.register(source)] == [12.5]

    # The collector checks the scale: it was 60 kg. The fixed scan gets a new key; the held
    # one is given up. Both stay listed with what happened to them.
    requeued = mobile(state, "outbox", "--retry", str(refused["id"]), "--kg", "60").stdout
    assert requeued.startswith(f"requeued #{refused['id']}")
    mobile(state, "drop", str(kept["id"]))
    third = json.loads(mobile(state, "sync", "--json").stdout)
    assert (third["created"], third["refused"], third["pending"], third["held"]) == (1, 0, 0, 0)
    final = json.loads(mobile(state, "outbox", "--json").stdout)
    assert [i["state"] for i in final] == ["sent", "sent", "dropped"]
    fixed = final[0]
    assert fixed["body"]["declared_mass_kg"] == 60.0
    assert fixed["idempotency_key"] != refused["idempotency_key"]
    assert fixed["history"][0]["reason"] == refused["reason"]
    assert sorted(h["declared_mass_kg"] for h in district.register(source)) == [12.5, 60.0]


def test_a_request_refused_as_a_whole_stops_the_sync_and_keeps_every_item(
    live: E2E, tmp_path: Path
) -> None:
    district = live.district
    crew = district.new_crew(1)
    (source,) = crew.sources
    payload = district.plaque(source)
    with Phone(tmp_path / "phone.db") as phone:
        phone.login(live.server.url, crew.collector, DEMO_PASSWORD)
        for kg in ("5", "6", "7"):
            phone.scan_handover(payload=payload, to_site=CP, material="film.agri", kg=kg)
        # The token is revoked behind the phone's back (say, it was reported lost).
        revoked = httpx.post(
            f"{live.server.url}/api/v1/auth/logout",
            headers={"Authorization": f"Bearer {phone.session().token}"},
        )
        assert revoked.status_code == 204
        report = phone.sync()
        assert not report.ok and "log in again" in (report.stopped or "")
        items = phone.outbox()
        assert {i.state for i in items} == {"queued"}
        assert all("401" in (i.last_error or "") for i in items)
        assert district.register(source) == []

        phone.login(live.server.url, crew.collector, DEMO_PASSWORD)
        report = phone.sync()
        assert (report.ok, report.created, report.pending) == (True, 3, 0)
    assert sorted(h["declared_mass_kg"] for h in district.register(source)) == [5, 6, 7]
