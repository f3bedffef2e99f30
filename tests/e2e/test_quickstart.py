"""The README's first command, as a new user runs it: the demo server on SQLite, for real."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_wasteflow_demo_serves_the_district(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_")}
    # Run from an empty directory, with no configuration: exactly the quick start.
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasteflow", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo server did not come up in 240 s"
            time.sleep(0.5)
        health = httpx.get(f"{base}/healthz").json()
        assert health["dataset"]["synthetic"] is True
        assert httpx.get(f"{base}/docs").status_code == 200
        bad = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "official", "password": "wrong"}
        )
        assert bad.status_code == 401
        from wasteflow.demo import DEMO_PASSWORD

        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "official", "password": DEMO_PASSWORD}
        ).json()
        h = {"Authorization": f"Bearer {token['access_token']}"}
        townships = httpx.get(
            f"{base}/api/v1/regions", params={"level": "township"}, headers=h
        ).json()
        assert len(townships) == 26
        sites = httpx.get(f"{base}/api/v1/sites", params={"kind": "processor"}, headers=h).json()
        assert sites["total"] >= 10 and all(s["synthetic"] for s in sites["items"])
        # The last full year and this year up to yesterday: the README's load of today counts
        # in this year's figures, which the demo already fills.
        from wasteflow.demo import demo_years

        years = demo_years()
        assert health["dataset"]["years"] == [y.year for y in years]
        assert health["dataset"]["last_day"] == years[-1].end.isoformat()
        _readme_handover(base)
        assert (tmp_path / "wasteflow.db").exists()
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "/docs" in out and "official" in out  # the welcome text names the docs and accounts


def _readme_handover(base: str) -> None:
    """The README's "A handover, end to end", then its figure of the year."""
    from wasteflow.demo import DEMO_PASSWORD

    api = f"{base}/api/v1"

    def login(user: str) -> dict[str, str]:
        r = httpx.post(f"{api}/auth/token", data={"username": user, "password": DEMO_PASSWORD})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    collector, operator, official = (
        login(u) for u in ("collector.baima", "operator.baima", "official")
    )
    from wasteflow.config import get_settings

    now = datetime.now(ZoneInfo(get_settings().timezone))  # the day the server counts it for
    figure = {"indicator": "film_recovery", "region": "500156101", "period": f"{now:%Y}"}
    before = httpx.get(f"{api}/rates", params=figure, headers=official).json()
    plaque = httpx.get(f"{api}/sites/WL-HH-500156101001-1/plaque", headers=collector).json()
    r = httpx.post(
        f"{api}/handovers",
        headers=collector | {"Idempotency-Key": str(uuid.uuid4())},
        json={
            "source_plaque": plaque["payload"],
            "to_site": "WL-CP-500156101001",
            "material": "film.agri",
            "declared_mass_kg": 18.4,
            "mass_method": "weighed",
            "device_time": now.isoformat(timespec="seconds"),
            "lat": 29.4311,
            "lon": 107.5455,
        },
    )
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = httpx.post(
        f"{api}/handovers/{code}/receipt", json={"received_mass_kg": 18.2}, headers=operator
    )
    assert r.status_code == 200, r.text
    after = httpx.get(f"{api}/rates", params=figure, headers=official).json()
    assert after["numerator_kg"] == pytest.approx((before["numerator_kg"] or 0) + 18.2)
    assert after["records"]["handovers"] == before["records"]["handovers"] + 1
