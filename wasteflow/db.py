"""Engine, sessions, the unit of work, and schema migrations.

SQLite is the embedded default and PostgreSQL the production database; the same code runs on
both. On SQLite every write transaction takes a process-wide lock and starts with
``BEGIN IMMEDIATE``: pooled connections then queue for the single write lock instead of
backing off by sleeping, and a transaction never fails half-way by upgrading a stale read
snapshot to a write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import Session

from wasteflow import state
from wasteflow.config import get_settings

_immediate: ContextVar[bool] = ContextVar("wasteflow_sqlite_immediate", default=False)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # As many connections as the server has worker threads (40): a request must never
            # wait for a pooled connection held by one that waits for the write lock. SQLite
            # connections cost a file handle each.
            pool_size=40,
            max_overflow=10,
            **kwargs,
        )
        _configure_sqlite(engine)
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        engine = sa.create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **kwargs)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours (see module docstring).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


def new_session(engine: Engine | None = None) -> Session:
    return Session(engine or get_engine(), expire_on_commit=False)


def core(session: Session, stmt: Any, params: Any = None) -> Any:
    """Execute a Core statement on the session's connection, inside its transaction.

    For plain-column reads and table inserts on hot paths: the ORM's result and bulk-insert
    machinery costs several times the statement itself there. The connection is asked for at
    each call, so a call inside ``session.begin_nested()`` runs inside its SAVEPOINT (a
    connection taken before the block would not).
    """
    conn = session.connection()
    return conn.execute(stmt) if params is None else conn.execute(stmt, params)


def grouped(session: Session, stmt: Any) -> defaultdict[Any, list[Any]]:
    """The (key, value) rows of ``stmt`` gathered into a list per key, in the rows' order
    (e.g. each site's material codes for many sites in one query); a key with no row reads
    as an empty list."""
    out: defaultdict[Any, list[Any]] = defaultdict(list)
    for key, value in session.execute(stmt):
        out[key].append(value)
    return out


def insert_skipping(dialect: str, table: sa.Table, keys: list[str], *returning: Any) -> Any:
    """``INSERT … ON CONFLICT (keys) DO NOTHING RETURNING …`` in the backend's dialect: the
    claim of a unique key that tells, by what it returns, whether this statement took it."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=keys).returning(*returning)


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Run one use case's writes as one transaction: commit on success, roll back on error.

    Services wrap their writes in this and commit nowhere else.
    """
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    if not is_sqlite(engine):
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return
    lock = state.write_lock(engine)
    # End any read transaction taken before (loading the account, validating): the write
    # transaction must start fresh with BEGIN IMMEDIATE, and a request waiting for the lock
    # must not hold a pooled connection the lock's holder may need.
    session.commit()
    with lock:
        token = _immediate.set(True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            _immediate.reset(token)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@lru_cache
def head_revision() -> str:
    """The newest migration's revision: what an up-to-date database reports."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Create or upgrade the schema through the Alembic migrations."""
    command.upgrade(alembic_config(url or get_settings().database_url), revision)
