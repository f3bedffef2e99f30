"""Smoke test of the benchmarks: ``bench/run.py --scale small`` runs and prints every table.

Speed is measured by the benchmarks themselves (bench/README.md), never asserted here: this
only checks that they still execute against the code as it is, on SQLite and on PostgreSQL.
One run covers both backends so that their demo districts are built side by side.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    BACKENDS,
    PG_ADMIN_URL,
    PostgresServer,
    ensure_debian_packages,
)

REPO = Path(__file__).resolve().parents[2]
PER_BACKEND = ("ingest", "batch", "report", "memory", "import")


@pytest.fixture(scope="module")
def small_run(
    pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    # The ingest benchmark drives the server with wrk.
    ensure_debian_packages(shutil.which("wrk") is not None, ["wrk"], "wrk")
    backends = ["sqlite"] if pg_server.error else ["sqlite", "postgresql"]
    workdir = tmp_path_factory.mktemp("bench")
    out = workdir / "small.json"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--scale",
            "small",
            "--backend",
            ",".join(backends),
            "--postgres-url",
            PG_ADMIN_URL,
            "--json",
            str(out),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return {"done": done, "json": json.loads(out.read_text()) if out.exists() else None}


def _output(done: subprocess.CompletedProcess[str]) -> str:
    out, err = done.stdout[-4000:], done.stderr[-4000:]
    return f"exit {done.returncode}\n--- stdout\n{out}\n--- stderr\n{err}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_small_scale_runs_every_benchmark(
    backend: str, small_run: dict[str, Any], pg_server: PostgresServer
) -> None:
    if backend == "postgresql":
        pg_server.require()
    done = small_run["done"]
    assert done.returncode == 0, _output(done)
    for bench in PER_BACKEND:
        assert re.search(rf"^### {bench} · {backend} · ", done.stdout, re.M), (
            f"no {bench} table for {backend}\n{_output(done)}"
        )
    assert re.search(r"^### graph · ", done.stdout, re.M), _output(done)
    tables = {(t["bench"], t["backend"]) for t in small_run["json"]["benchmarks"]}
    assert {(b, backend) for b in PER_BACKEND} <= tables
