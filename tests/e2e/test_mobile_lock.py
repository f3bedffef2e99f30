"""Two ``sync`` runs on one state file never both send: the second waits, then says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mobile_stub import Phone
from tests.e2e.conftest import (
    CP,
    DEMO_PASSWORD,
    E2E,
    REPO,
    LossyProxy,
    assert_exactly_once,
    mobile,
)

pytestmark = pytest.mark.e2e

EN = os.environ | {"LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
SCANS = 30


def start_sync(state: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mobile_stub", "--state", str(state), "sync", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=EN,
    )


def batches(proxy: LossyProxy) -> int:
    return sum(1 for method, path, _ in proxy.log if path.endswith("/handovers/batch"))


def test_a_second_sync_waits_for_the_first_and_never_sends_the_same_scans(
    live: E2E, proxy: LossyProxy, tmp_path: Path
) -> None:
    district = live.district
    crew = district.new_crew(1)
    (source,) = crew.sources
    plaque = district.plaque(source)
    state = tmp_path / "phone.db"
    mobile(state, "login", proxy.url, crew.collector, env=EN)
    with Phone(state) as phone:
        for i in range(SCANS):
            phone.scan_handover(payload=plaque, to_site=CP, material="film.agri", kg=f"{20 + i}")

    # The first sync's batch reaches the server, which records it; its answer is held back.
    proxy.hold("/handovers/batch")
    first = start_sync(state)
    third: subprocess.Popen[str] | None = None
    try:
        assert proxy.held.wait(120), "the first sync never sent its batch"

        # A second run in the meantime waits a little, then gives up without sending.
        started = time.monotonic()
        second = mobile(state, "sync", "--wait", "1", check=False, env=EN)
        assert second.returncode == 4, second.stdout + second.stderr
        assert time.monotonic() - started >= 1.0
        assert second.stdout == ""
        assert second.stderr.strip() == (
            f"error: another sync is running on {state} (process {first.pid}); nothing was "
            "sent. Try again when it has finished."
        )
        zh = mobile(state, "--lang", "zh", "sync", "--wait", "0", check=False, env=EN)
        assert zh.returncode == 4 and "另一个同步正在运行" in zh.stderr
        # A third one is patient: it waits for the first to finish.
        third = start_sync(state, "--wait", "120")
        time.sleep(1.5)
        assert third.poll() is None, "the third sync did not wait"
        assert batches(proxy) == 1

        proxy.release.set()  # the held answer is lost: the first sync resends the same keys
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, out + err
        report = json.loads(out)
        assert (report["created"], report["duplicates"], report["pending"]) == (0, SCANS, 0)
        assert third is not None
        out, err = third.communicate(timeout=120)
        assert third.returncode == 0, out + err
        late = json.loads(out)
        assert (late["total"], late["batches"], late["sent"]) == (0, 0, 0)
    finally:
        for p in (first, third):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    assert batches(proxy) == 2, proxy.log  # the held request and its retry, by the first only
    sent = json.loads(mobile(state, "outbox", "--json", env=EN).stdout)
    assert len(sent) == SCANS and {i["state"] for i in sent} == {"sent"}
    assert_exactly_once(district, source, sent)


def test_a_killed_sync_leaves_no_lock_behind(live: E2E, tmp_path: Path) -> None:
    crew = live.district.new_crew(1)
    state = tmp_path / "phone.db"
    with Phone(state) as phone:
        phone.login(live.server.url, crew.collector, DEMO_PASSWORD)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from mobile_stub.locking import "
            "exclusive\nwith exclusive(Path(sys.argv[1])):\n    print('held', flush=True); "
            "time.sleep(600)",
            str(state),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=EN,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = mobile(state, "sync", "--wait", "0.3", check=False, env=EN)
        assert busy.returncode == 4 and f"(process {holder.pid})" in busy.stderr
    finally:
        holder.kill()
        holder.wait()
    # The kernel released the lock with the process: the next sync runs at once.
    done = mobile(state, "sync", "--wait", "0", check=False, env=EN)
    assert done.returncode == 0, done.stderr
    assert "sent 0 (0 new, 0 already there); 0 waiting" in done.stdout
