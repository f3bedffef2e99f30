"""The `wasteflow` command, run as a user runs it: a separate process, configured by env."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, PostgresServer, fresh_database_url


def _run(args: list[str], url: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wasteflow", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ | {"WASTEFLOW_DATABASE_URL": url} | env,
        timeout=300,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrate_load_reference_create_admin_and_verify_audit(
    backend: str, pg_server: PostgresServer, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, pg_server, tmp_path)
    r = _run(["migrate"], url, tmp_path)
    assert r.returncode == 0 and "schema is up to date" in r.stdout, r.stderr
    r = _run(["load-reference"], url, tmp_path)
    assert r.returncode == 0 and "27" not in r.stderr and "regions" in r.stdout, r.stderr
    r = _run(
        ["create-account", "--username", "chief", "--role", "admin"],
        url,
        tmp_path,
        WASTEFLOW_NEW_PASSWORD="a long enough password",
    )
    assert r.returncode == 0 and "created admin account 'chief'" in r.stdout, r.stderr
    r = _run(
        ["create-account", "--username", "chief", "--role", "admin"],
        url,
        tmp_path,
        WASTEFLOW_NEW_PASSWORD="a long enough password",
    )
    assert r.returncode == 1 and "taken" in r.stderr
    r = _run(
        ["create-account", "--username", "x", "--role", "mayor"],
        url,
        tmp_path,
        WASTEFLOW_NEW_PASSWORD="a long enough password",
    )
    assert r.returncode == 1 and "role" in r.stderr and "Traceback" not in r.stderr
    r = _run(["audit", "verify"], url, tmp_path)
    assert r.returncode == 0 and "hash chain intact: 2 events" in r.stdout, r.stderr
    assert "no signed checkpoint yet" in r.stdout and "audit log intact" in r.stdout
    r = _run(["audit", "checkpoint"], url, tmp_path)
    assert r.returncode == 0 and "checkpoint signed: 2 events" in r.stdout, r.stderr
    assert _run(["audit", "checkpoint"], url, tmp_path).stdout.startswith("nothing new")
    archive = tmp_path / "checkpoints.json"
    r = _run(["audit", "export", "-o", str(archive)], url, tmp_path)
    assert r.returncode == 0 and archive.exists(), r.stderr
    r = _run(["audit", "verify", "--checkpoints", str(archive)], url, tmp_path)
    assert r.returncode == 0 and "2 checkpoint(s) checked" in r.stdout, r.stdout + r.stderr


def test_demo_refuses_to_mix_into_a_database_with_real_sites(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'real.db'}"
    assert _run(["migrate"], url, tmp_path).returncode == 0
    assert _run(["load-reference"], url, tmp_path).returncode == 0
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO site (code, name, kind, region_id, active, synthetic, created_at) "
                "VALUES ('REAL-1', 'real', 'source', 1, 1, 0, '2025-01-01 00:00:00')"
            )
        )
    engine.dispose()
    r = _run(["demo", "--no-serve"], url, tmp_path)
    assert r.returncode == 1 and "real sites" in r.stderr


def test_demo_simulates_only_days_that_have_passed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    r = _run(["demo", "--no-serve", "--year", "2999"], url, tmp_path)
    assert r.returncode == 1 and "year: the demo simulates days that have passed" in r.stderr
    r = _run(["demo", "--no-serve", "--as-of", "1 April"], url, tmp_path)
    assert r.returncode == 2 and "--as-of" in r.stderr  # a date, YYYY-MM-DD


@pytest.mark.parametrize(
    ("url", "warned"),
    [("sqlite:///wasteflow.db", True), ("postgresql+psycopg://u@db.example/wf", False)],
)
def test_serve_says_that_several_workers_on_sqlite_serve_less(
    url: str, warned: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import wasteflow.cli as cli
    from wasteflow.config import get_settings

    served: list[int] = []
    monkeypatch.setattr(cli, "_serve", lambda host, port, workers: served.append(workers))
    monkeypatch.setenv("WASTEFLOW_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert served == [2]  # a note, not a refusal
    assert ("one worker serves more" in result.stderr) is warned
