"""Opening the state file: its checks, its schema and the upgrade from older versions.

:func:`open_db` hands back a connection only to a file that is a sound SQLite database with
this client's tables (created when the file is new, upgraded when it is older). A file SQLite
calls corrupt (garbage, truncated, a damaged page) raises :class:`CorruptState`, for
:mod:`mobile_stub.recovery` to keep aside; anything else that makes the file unusable (a
directory, no permission, another program's database, a newer client's file) is a
:class:`~mobile_stub.i18n.UserError` and the file is left alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mobile_stub.i18n import UserError, msg

SCHEMA_VERSION = 2
KINDS = ("handover", "receipt", "correction")

_OUTBOX = """
CREATE TABLE IF NOT EXISTS {name} (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('handover', 'receipt', 'correction')),
    server          TEXT NOT NULL,
    username        TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    body            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    state           TEXT NOT NULL
        CHECK (state IN ('held', 'queued', 'sending', 'sent', 'refused', 'dropped')),
    scan_check      TEXT NOT NULL,
    note            TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    result          TEXT,
    code            TEXT,
    status          TEXT,
    manifest        TEXT,
    reason          TEXT,
    reason_field    TEXT,
    http_status     INTEGER,
    last_error      TEXT,
    history         TEXT NOT NULL DEFAULT '[]',
    problems        TEXT
)"""
# subject: the handover code a receipt or correction is for (a correction is sent to
# /handovers/{subject}/receipt/correct); "source → destination" for a handover.
# problems: why a held item is held, as [[message key, params], ...] (shown in either language);
# reason keeps the same in English, or the server's reason for a refusal.

_TABLES = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS session (
        server       TEXT NOT NULL,
        username     TEXT NOT NULL,
        token        TEXT NOT NULL,
        expires_at   TEXT,
        account      TEXT NOT NULL,
        logged_in_at TEXT NOT NULL,
        PRIMARY KEY (server, username)
    )""",
    """CREATE TABLE IF NOT EXISTS signing_key (
        server     TEXT NOT NULL,
        kid        TEXT NOT NULL,
        public_key TEXT NOT NULL,
        status     TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (server, kid)
    )""",
    """CREATE TABLE IF NOT EXISTS material (
        server          TEXT NOT NULL,
        code            TEXT NOT NULL,
        counts_units    INTEGER NOT NULL,
        max_handover_kg REAL NOT NULL,
        max_load_kg     REAL NOT NULL,
        name_zh         TEXT NOT NULL,
        name_en         TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (server, code)
    )""",
    """CREATE TABLE IF NOT EXISTS route (
        server  TEXT NOT NULL,
        code    TEXT NOT NULL,
        name_zh TEXT NOT NULL,
        name_en TEXT NOT NULL,
        PRIMARY KEY (server, code)
    )""",
    _OUTBOX.format(name="outbox"),
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (server, username, kind, state, id)",
    "CREATE INDEX IF NOT EXISTS outbox_subject ON outbox (server, subject)",
]

# SQLite's primary result codes for "this is not a (sound) database file".
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


class CorruptState(Exception):
    """SQLite says the state file is damaged (or not a database at all)."""

    def __init__(self, path: Path, detail: str):
        detail = " ".join(detail.replace("*** in database main ***", "").split())  # one line
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


def _corrupt(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()  # an sqlite3 module without error codes
    return "malformed" in text or "not a database" in text


@contextmanager
def tx(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken immediately so two processes never interleave."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _cannot_open(path: Path, why: object) -> UserError:
    return UserError("state.cannot_open", file=str(path), why=why)


def open_db(path: Path) -> sqlite3.Connection:
    """A checked connection to the state file at ``path`` (created if missing)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_open(path, exc.strerror or str(exc)) from None
    if path.is_dir():
        raise _cannot_open(path, msg("why.is_dir"))
    try:
        # Autocommit mode: every write opens its own explicit transaction, so what is
        # committed (and therefore survives a kill) is exactly what the code says.
        db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    except sqlite3.Error as exc:
        raise _cannot_open(path, str(exc)) from None
    try:
        db.row_factory = sqlite3.Row
        # Reads every page (not the indexes' contents): milliseconds for a phone's outbox,
        # and a damaged file is caught here rather than in the middle of a sync.
        found = [str(r[0]) for r in db.execute("PRAGMA quick_check(5)")]
        if found != ["ok"]:
            raise CorruptState(path, "; ".join(found))
        _version(db, path)  # before anything is written: another program's file stays as it is
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed scan survives the phone losing power, not only the app crashing.
        db.execute("PRAGMA synchronous=FULL")
        _ensure_schema(db, path)
    except sqlite3.DatabaseError as exc:
        db.close()
        if _corrupt(exc):
            raise CorruptState(path, str(exc)) from None
        raise _cannot_open(path, str(exc)) from None
    except BaseException:
        db.close()
        raise
    return db


def _tables(db: sqlite3.Connection) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(r[0]) for r in rows} - {"sqlite_sequence"}


def _version(db: sqlite3.Connection, path: Path) -> int | None:
    """The file's schema version (None: a new file); UserError for a file that is not this
    client's, or is a newer client's."""
    tables = _tables(db)
    if not tables:
        return None
    row = None
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is None or not str(row[0]).isdigit():
        raise UserError("state.foreign", file=str(path))
    version = int(row[0])
    if version > SCHEMA_VERSION:
        raise UserError("state.newer", file=str(path), version=version)
    return version


def _ensure_schema(db: sqlite3.Connection, path: Path) -> None:
    with tx(db):
        # Again, inside the write lock: another process may have just created or upgraded it.
        version = _version(db, path)
        if version == 1:
            _upgrade_from_1(db)
        for statement in _TABLES:
            db.execute(statement)
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('schema', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )


def _upgrade_from_1(db: sqlite3.Connection) -> None:
    """Version 1 had no receipt corrections (the outbox's CHECK), no ``problems``, no routes
    cache and no English material names. SQLite cannot change a CHECK: the outbox is copied
    into a new table, ids and keys unchanged."""
    db.execute(_OUTBOX.format(name="outbox_v2"))
    columns = [str(r[1]) for r in db.execute("PRAGMA table_info(outbox)")]
    names = ", ".join(columns)
    db.execute(f"INSERT INTO outbox_v2 ({names}) SELECT {names} FROM outbox")
    db.execute("DROP TABLE outbox")
    db.execute("ALTER TABLE outbox_v2 RENAME TO outbox")
    db.execute("ALTER TABLE material ADD COLUMN name_en TEXT NOT NULL DEFAULT ''")
