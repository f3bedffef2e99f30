"""Shared fixtures: one database per backend per test run, built by the Alembic migrations.

SQLite lives in a temporary file. PostgreSQL gets a fresh database on the server named by
``WASTEFLOW_TEST_POSTGRES_URL`` (default: the local server's ``test`` database is used only to
create ``wf_test_<random>`` and drop it afterwards). If that server cannot be reached the
PostgreSQL tests are skipped with the reason, unless ``WASTEFLOW_REQUIRE_POSTGRES=1`` (CI sets
it), in which case they fail.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

# Cheap password hashing for tests (production keeps argon2's defaults); set before any
# settings are read.
os.environ.setdefault("WASTEFLOW_ARGON2_TIME_COST", "1")
os.environ.setdefault("WASTEFLOW_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("WASTEFLOW_SECRET_KEY", "test-secret-not-for-production")
# Every test client logs in from the same address: the address throttle would lock the whole
# suite out after its wrong-password tests. The throttle's own tests set it back.
os.environ.setdefault("WASTEFLOW_LOGIN_ADDRESS_FREE_FAILURES", "1000000")
# The audit checkpoint key of the test run, never in the checkout (one per run and worker).
os.environ.setdefault(
    "WASTEFLOW_AUDIT_KEY_FILE",
    str(Path(tempfile.mkdtemp(prefix="wasteflow-tests-")) / "wasteflow-audit.key"),
)

import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy.engine import Engine, make_url

from wasteflow.db import make_engine, new_session, upgrade

# CI must be reproducible: by default Hypothesis draws the same examples on every run (a red run
# can be replayed exactly). HYPOTHESIS_PROFILE=explore searches new examples each run.
settings.register_profile("repeatable", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

PG_ADMIN_URL = os.environ.get(
    "WASTEFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("WASTEFLOW_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


class PostgresServer:
    """Creates and drops throwaway databases on the test PostgreSQL server."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.created: list[str] = []
        self.error: str | None = None
        try:
            self._admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # any failure to connect means: no PostgreSQL here
            self.error = (
                f"PostgreSQL at {make_url(admin_url).render_as_string()} unreachable: {exc}"
            )

    def require(self) -> None:
        """Skip the test, saying why, when the server is unreachable; fail it instead where
        PostgreSQL is required (CI)."""
        if self.error:
            if REQUIRE_PG:
                pytest.fail(self.error + " (WASTEFLOW_REQUIRE_POSTGRES=1)")
            pytest.skip(self.error)

    def create(self) -> str:
        self.require()
        name = f"wf_test_{secrets.token_hex(4)}"
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self.error:
            return
        with self._admin.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer(PG_ADMIN_URL)
    yield server
    server.drop_all()


def ensure_debian_packages(present: bool, packages: list[str], what: str) -> None:
    """Install Debian packages a tier needs when they are missing and this user may (root,
    with apt), so the README's test command passes on a fresh machine; otherwise fail and
    say how to fix it."""
    if present:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail(
            f"{what} is missing: run `apt-get install -y {' '.join(packages)}` "
            "(as root) and run the tests again"
        )
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    # Test workers (pytest -n) may want the same packages at once: apt-get takes dpkg's lock
    # and fails at once if another holds it, so they take turns here, and one that waited
    # installs only what is still missing.
    with open(Path(tempfile.gettempdir()) / "wasteflow-tests-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        installed = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}\n", *packages], capture_output=True, text=True
        ).stdout.count("install ok installed")
        if installed == len(packages):
            return
        print(f"\n{what} is missing: installing {' '.join(packages)} with apt-get…", flush=True)
        for step in (["apt-get", "update"], ["apt-get", "install", "-y", *packages]):
            done = subprocess.run(
                [step[0], "-o", "DPkg::Lock::Timeout=300", *step[1:]],
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                pytest.fail(f"`{' '.join(step)}` failed: {done.stderr[-2000:]}")


T = TypeVar("T")


def run_async(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())`` on a thread of its own: the browser tier's Playwright keeps an
    event loop running on the main thread for the whole session, where ``asyncio.run``
    refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


def fresh_database_url(backend: str, pg_server: PostgresServer, tmp_dir: Path) -> str:
    """A new, empty database of the given backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_dir / f'wf-{secrets.token_hex(4)}.db'}"
    return pg_server.create()


def fresh_engine(
    request: pytest.FixtureRequest,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
) -> Engine:
    """A database of its own for a module (``request.param`` names the backend), migrated by
    Alembic, with the reference data: for tests whose figures must hold only their records."""
    from wasteflow.services.reference import load_reference

    url = fresh_database_url(request.param, pg_server, tmp_path_factory.mktemp(name))
    upgrade(url)
    engine = make_engine(url)
    with new_session(engine) as session:
        load_reference(session=session)
    return engine


@pytest.fixture(scope="session")
def _engines(
    pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest,
    _engines: dict[str, Engine],
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Engine:
    """A migrated database with the reference data, shared by the tests of one backend.

    Tests share it, so they create what they need with unique codes (tests/factories.py) and
    assert on what they created.
    """
    backend = request.param
    if backend not in _engines:
        url = fresh_database_url(backend, pg_server, tmp_path_factory.mktemp("db"))
        upgrade(url)
        eng = make_engine(url)
        from wasteflow.services.reference import load_reference

        with new_session(eng) as session:
            load_reference(session=session)
        _engines[backend] = eng
    return _engines[backend]


@pytest.fixture
def session(engine: Engine):  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        yield s


@pytest.fixture
def client(engine: Engine):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.main import create_app

    with TestClient(create_app(engine)) as c:
        yield c
