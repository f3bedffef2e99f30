"""The README's first command, as a new user runs it: the demo server on SQLite, for real."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

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
        assert (tmp_path / "wasteflow.db").exists()
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "/docs" in out and "official" in out  # the welcome text names the docs and accounts
