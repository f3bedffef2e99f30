"""Crashes mid-sync: a killed client, and a server whose answer never comes back."""

from __future__ import annotations

import json
import signal
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from mobile_stub import Phone, RetryPolicy
from mobile_stub.store import Store
from tests.e2e.conftest import (
    CP,
    DEMO_PASSWORD,
    E2E,
    LossyProxy,
    assert_exactly_once,
    mobile,
    mobile_popen,
)

pytestmark = pytest.mark.e2e

FAST = RetryPolicy(attempts=5, base_delay=0.05, max_delay=0.5, deadline=30)
SCANS, CHUNK, ANSWERED = 2000, 100, 5


def test_a_client_killed_mid_sync_sends_every_scan_exactly_once(
    live: E2E, proxy: LossyProxy, tmp_path: Path
) -> None:
    district = live.district
    crew = district.new_crew(1)
    (source,) = crew.sources
    plaque = district.plaque(source)
    state = tmp_path / "phone.db"
    mobile(state, "login", proxy.url, crew.collector)
    # A long day offline: 2,000 scans, each with its own mass so the server's register shows
    # which scan is which. Queued through the Python API: 2,000 CLI processes would take long.
    start = datetime.now().astimezone() - timedelta(hours=6)
    with Phone(state) as phone:
        for i in range(SCANS):
            phone.scan_handover(
                payload=plaque,
                to_site=CP,
                material="film.agri",
                kg=Decimal("1.000") + Decimal(i) / 1000,
                device_time=start + timedelta(seconds=10 * i),
            )

    # The server records the sixth batch but its answer never reaches the phone, which is
    # killed while it waits: the worst moment, the server has rows the phone does not know of.
    proxy.hold("/handovers/batch", skip=ANSWERED)
    sync = mobile_popen(state, "sync", "--chunk", str(CHUNK))
    try:
        assert proxy.held.wait(120), "the sync never reached the sixth batch"
        sync.send_signal(signal.SIGKILL)
        assert sync.wait(30) == -signal.SIGKILL
    finally:
        if sync.poll() is None:
            sync.kill()
    with Store(state) as store:
        counts = store.counts()
    assert (counts["sent"], counts["sending"], counts["queued"]) == (
        ANSWERED * CHUNK,
        CHUNK,
        SCANS - (ANSWERED + 1) * CHUNK,
    )
    assert len(district.register(source)) == (ANSWERED + 1) * CHUNK

    # Restarted, the phone sends the "sending" chunk again with the same keys, then the rest.
    report = json.loads(mobile(state, "sync", "--chunk", str(CHUNK), "--json").stdout)
    assert (report["created"], report["duplicates"], report["refused"], report["pending"]) == (
        SCANS - (ANSWERED + 1) * CHUNK,
        CHUNK,
        0,
        0,
    )
    with Store(state) as store:
        sent = store.items(states=["sent"])
        assert len(sent) == SCANS
    assert_exactly_once(district, source, [i.as_dict() for i in sent])
    masses = sorted(h["declared_mass_kg"] for h in district.register(source))
    assert masses == [float(Decimal("1.000") + Decimal(i) / 1000) for i in range(SCANS)]


def test_an_answer_lost_after_the_server_committed_creates_no_duplicates(
    live: E2E, proxy: LossyProxy, tmp_path: Path
) -> None:
    district = live.district
    crew = district.new_crew(2)
    plaques = {code: district.plaque(code) for code in crew.sources}
    with Phone(tmp_path / "collector.db", retry=FAST) as phone:
        phone.login(proxy.url, crew.collector, DEMO_PASSWORD)
        for i in range(40):
            phone.scan_handover(
                payload=plaques[crew.sources[i % 2]],
                to_site=CP,
                material="hh.recyclable",
                kg=f"{20 + i}.5",
            )
        # The server commits the batch and dies before answering (the proxy resets the
        # connection once it has the server's whole answer); the phone retries on its own.
        proxy.lose("/handovers/batch")
        report = phone.sync()
        assert report.ok, report.stopped
        assert (report.created, report.duplicates, report.batches) == (0, 40, 1)
        batches = [e for e in proxy.log if e[1].endswith("/handovers/batch")]
        assert [e[2] for e in batches] == ["lose", "pass"]
        sent = phone.outbox(states=["sent"])
        assert len(sent) == 40
        for source in crew.sources:
            assert_exactly_once(
                district, source, [i.as_dict() for i in sent if i.subject.startswith(source)]
            )

    # The same for a receipt: confirmed once, even though its first answer was lost.
    with Phone(tmp_path / "operator.db", retry=FAST) as operator:
        operator.login(proxy.url, "operator.baima", DEMO_PASSWORD)
        for item in sent[:3]:
            operator.scan_receipt(payload=item.manifest, received_kg=item.body["declared_mass_kg"])
        proxy.lose("/handovers/receipt")
        report = operator.sync()
        assert report.ok, report.stopped
        assert (report.receipts, report.receipt_duplicates, report.receipts_refused) == (3, 1, 0)
        assert {i.status for i in operator.outbox(states=["sent"])} == {"received"}
    for item in sent[:3]:
        history = district.admin.get(f"/handovers/{item.code}/history").json()
        assert history["handover"]["status"] == "received"
        receipts = [e for e in history["events"] if e["action"] == "handover.receive"]
        assert len(receipts) == 1


def test_server_errors_are_retried_with_growing_jittered_waits_then_given_up(
    live: E2E, proxy: LossyProxy, tmp_path: Path
) -> None:
    district = live.district
    crew = district.new_crew(1)
    (source,) = crew.sources
    plaque = district.plaque(source)
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, base_delay=0.2, max_delay=1.0, deadline=60)
    with Phone(tmp_path / "phone.db", retry=policy, sleep=waits.append) as phone:
        phone.login(proxy.url, crew.collector, DEMO_PASSWORD)

        def scan(n: int) -> None:
            for i in range(n):
                phone.scan_handover(payload=plaque, to_site=CP, material="film.agri", kg=5 + i)

        def batches() -> list[str]:
            return [e[2] for e in proxy.log if e[1].endswith("/handovers/batch")]

        scan(5)
        proxy.fail("/handovers/batch", 2)  # the upstream restarts: two 503s, then it is back
        report = phone.sync()
        assert report.ok, report.stopped
        assert (report.created, report.duplicates) == (5, 0)
        assert batches() == ["fail", "fail", "pass"]
        # Full jitter under an exponential ceiling: base 0.2 s, then 0.4 s.
        assert len(waits) == 2 and 0 <= waits[0] <= 0.2 and 0 <= waits[1] <= 0.4

        scan(2)
        proxy.fail("/handovers/batch", 10)  # down for good: give up after 4 attempts
        report = phone.sync()
        assert not report.ok and "HTTP 503" in (report.stopped or "")
        assert batches()[3:] == ["fail"] * 4 and report.pending == 2
        # The server may have seen them: they stay "sending", to be confirmed by the next sync.
        waiting = phone.outbox(states=["sending"])
        assert len(waiting) == 2 and all("HTTP 503" in (i.last_error or "") for i in waiting)

        proxy.rules.clear()
        report = phone.sync()
        assert (report.ok, report.created, report.pending) == (True, 2, 0)
    assert len(district.register(source)) == 7
