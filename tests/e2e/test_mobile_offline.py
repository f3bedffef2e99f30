"""No signal: the server is down while the collector scans; everything waits and arrives once."""

from __future__ import annotations

from pathlib import Path

import pytest

from mobile_stub import Phone, RetryPolicy
from tests.e2e.conftest import CP, DEMO_PASSWORD, E2E, assert_exactly_once

pytestmark = pytest.mark.e2e

FAST = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2, deadline=10)


def test_scans_made_while_the_server_is_down_arrive_once(live: E2E, tmp_path: Path) -> None:
    district, server = live.district, live.server
    crew = district.new_crew(3)
    printed = {code: district.plaque(code) for code in crew.sources}
    with Phone(tmp_path / "phone.db", retry=FAST) as phone:
        phone.login(server.url, crew.collector, DEMO_PASSWORD)
        # After the phone's last sync the keys rotate and one plaque is reprinted: its key is
        # unknown offline, so its scans are queued "unverified offline" for the server to judge.
        assert district.admin.post("/qr/keys/rotate").status_code == 201
        reprinted = crew.sources[2]
        printed[reprinted] = district.plaque(reprinted)
        server.stop()

        items = [
            phone.scan_handover(
                payload=printed[crew.sources[i % 3]],
                to_site=CP,
                material="film.agri",
                kg=f"{10 + i / 10:.1f}",
                lat=29.4221,
                lon=107.5400,
            )
            for i in range(30)
        ]
        assert {i.state for i in items} == {"queued"}
        checks = {i.subject.split(" → ")[0]: i.scan_check for i in items}
        assert checks == {
            crew.sources[0]: "verified",
            crew.sources[1]: "verified",
            reprinted: "unverified offline",
        }

        report = phone.sync()
        assert not report.ok and "unreachable" in (report.stopped or "")
        assert report.sent == 0 and report.pending == 30
        # The connection was refused, so nothing can have arrived: the items are plainly queued.
        assert phone.store.counts()["queued"] == 30

        server.start()
        report = phone.sync(refresh=True)
        assert report.ok, report.stopped
        assert (report.created, report.duplicates, report.refused, report.pending) == (30, 0, 0, 0)
        sent = phone.outbox(states=["sent"])
        assert len(sent) == 30
        # With the new key fetched, the reprinted plaque checks out offline too.
        assert {i.scan_check for i in sent} == {"verified"}
        for source in crew.sources:
            assert_exactly_once(
                district, source, [i.as_dict() for i in sent if i.subject.startswith(source)]
            )
        again = phone.sync()
        assert (again.batches, again.sent) == (0, 0)
