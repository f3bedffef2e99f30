"""The phone's local state: one SQLite file holding the session, caches and the outbox.

The outbox is the reason this file exists. A scan becomes a row, with its idempotency key and
the exact body to send, and that row is committed before any byte goes to the network; a
row's state only moves forward::

    held ──retry──▶ queued ──▶ sending ──▶ sent
                      ▲           │  └────▶ refused ──retry──▶ queued
                      └───────────┘ (connection never made)     (or dropped, by hand)

``sending`` is written (and committed) before a request leaves, so a client killed mid-sync
finds those rows on restart and sends them again with the same keys: the server answers
``duplicate`` for what it had already recorded. Nothing is ever deleted: ``drop`` is a state.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
STATES = ("held", "queued", "sending", "sent", "refused", "dropped")
PENDING = ("queued", "sending")
KINDS = ("handover", "receipt")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS session (
    server       TEXT NOT NULL,
    username     TEXT NOT NULL,
    token        TEXT NOT NULL,
    expires_at   TEXT,
    account      TEXT NOT NULL,
    logged_in_at TEXT NOT NULL,
    PRIMARY KEY (server, username)
);
CREATE TABLE IF NOT EXISTS signing_key (
    server     TEXT NOT NULL,
    kid        TEXT NOT NULL,
    public_key TEXT NOT NULL,
    status     TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (server, kid)
);
CREATE TABLE IF NOT EXISTS material (
    server          TEXT NOT NULL,
    code            TEXT NOT NULL,
    counts_units    INTEGER NOT NULL,
    max_handover_kg REAL NOT NULL,
    max_load_kg     REAL NOT NULL,
    name_zh         TEXT NOT NULL,
    PRIMARY KEY (server, code)
);
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('handover', 'receipt')),
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
    history         TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (server, username, kind, state, id);
"""


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_key() -> str:
    """A fresh idempotency key (a random UUID): one per scan, kept for every resend."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class OutboxItem:
    """One queued scan (a handover or a receipt) and what became of it."""

    id: int
    kind: str
    server: str
    username: str
    idempotency_key: str
    body: dict[str, Any]
    subject: str
    state: str
    scan_check: str
    note: str | None
    created_at: str
    updated_at: str
    attempts: int
    result: str | None
    code: str | None
    status: str | None
    manifest: str | None
    reason: str | None
    reason_field: str | None
    http_status: int | None
    last_error: str | None
    history: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (``outbox --json``)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Session:
    """A stored login: the bearer token for one account on one server."""

    server: str
    username: str
    token: str
    expires_at: str | None
    account: dict[str, Any]
    logged_in_at: str


@dataclass(frozen=True)
class CachedMaterial:
    code: str
    counts_units: bool
    max_handover_kg: float
    max_load_kg: float
    name_zh: str


class Store:
    """The SQLite file.

    One ``Store`` must not be used by two threads at once; it may move between threads (the
    simulator hands a phone from one worker to the next), hence ``check_same_thread=False``.
    Several processes may open the same file: writes take the lock (``BEGIN IMMEDIATE``).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every write below opens its own explicit transaction, so what is
        # committed (and therefore survives a kill) is exactly what the code says.
        self.db = sqlite3.connect(
            self.path, isolation_level=None, timeout=30, check_same_thread=False
        )
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed scan survives the phone losing power, not only the app crashing.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)  # idempotent (IF NOT EXISTS); commits on its own
        with self.tx():
            self.db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
            )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken immediately so two processes never interleave."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta and session ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def save_session(
        self, server: str, username: str, token: str, expires_at: str | None, account: dict
    ) -> None:
        """Store the token for (server, username) and make it the current session."""
        with self.tx() as db:
            db.execute(
                "INSERT INTO session (server, username, token, expires_at, account, logged_in_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (server, username) DO UPDATE SET"
                " token = excluded.token, expires_at = excluded.expires_at,"
                " account = excluded.account, logged_in_at = excluded.logged_in_at",
                (server, username, token, expires_at, json.dumps(account), now_iso()),
            )
            _put_meta(db, "current", json.dumps({"server": server, "username": username}))

    def current_session(self) -> Session | None:
        """The session of the last login, or None."""
        raw = self.get_meta("current")
        if raw is None:
            return None
        cur = json.loads(raw)
        row = self.db.execute(
            "SELECT * FROM session WHERE server = ? AND username = ?",
            (cur["server"], cur["username"]),
        ).fetchone()
        if row is None:
            return None
        return Session(
            server=row["server"],
            username=row["username"],
            token=row["token"],
            expires_at=row["expires_at"],
            account=json.loads(row["account"]),
            logged_in_at=row["logged_in_at"],
        )

    def forget_session(self, server: str, username: str) -> None:
        """Delete a stored token (logout); queued items of that account stay."""
        with self.tx() as db:
            db.execute("DELETE FROM session WHERE server = ? AND username = ?", (server, username))
            db.execute("DELETE FROM meta WHERE key = 'current'")

    # -- caches ---------------------------------------------------------------------------

    def replace_keys(self, server: str, keys: Iterable[dict[str, Any]]) -> None:
        """Replace the cached public keys of a server with what it just listed."""
        at = now_iso()
        with self.tx() as db:
            db.execute("DELETE FROM signing_key WHERE server = ?", (server,))
            db.executemany(
                "INSERT INTO signing_key (server, kid, public_key, status, fetched_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(server, k["kid"], k["public_key"], k["status"], at) for k in keys],
            )
            _put_meta(db, f"keys_fetched:{server}", at)

    def keys(self, server: str) -> list[dict[str, str]]:
        rows = self.db.execute(
            "SELECT kid, public_key, status FROM signing_key WHERE server = ?", (server,)
        ).fetchall()
        return [dict(r) for r in rows]

    def replace_materials(self, server: str, materials: Iterable[dict[str, Any]]) -> None:
        """Replace the cached materials catalogue of a server."""
        with self.tx() as db:
            db.execute("DELETE FROM material WHERE server = ?", (server,))
            db.executemany(
                "INSERT INTO material (server, code, counts_units, max_handover_kg,"
                " max_load_kg, name_zh) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        server,
                        m["code"],
                        int(bool(m["counts_units"])),
                        m["max_handover_kg"],
                        m["max_load_kg"],
                        m["name_zh"],
                    )
                    for m in materials
                ],
            )

    def materials(self, server: str) -> dict[str, CachedMaterial]:
        rows = self.db.execute("SELECT * FROM material WHERE server = ?", (server,)).fetchall()
        return {
            r["code"]: CachedMaterial(
                code=r["code"],
                counts_units=bool(r["counts_units"]),
                max_handover_kg=r["max_handover_kg"],
                max_load_kg=r["max_load_kg"],
                name_zh=r["name_zh"],
            )
            for r in rows
        }

    # -- outbox ---------------------------------------------------------------------------

    def enqueue(
        self,
        *,
        kind: str,
        server: str,
        username: str,
        body: dict[str, Any],
        subject: str,
        scan_check: str,
        held_reason: str | None = None,
        note: str | None = None,
    ) -> OutboxItem:
        """Commit a scan to the outbox with a fresh idempotency key; returns the new row."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        at = now_iso()
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO outbox (kind, server, username, idempotency_key, body, subject,"
                " state, scan_check, note, reason, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    server,
                    username,
                    new_key(),
                    json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    subject,
                    "held" if held_reason else "queued",
                    scan_check,
                    note,
                    held_reason,
                    at,
                    at,
                ),
            )
            item_id = cur.lastrowid
        assert item_id is not None
        return self.get(item_id)

    def get(self, item_id: int) -> OutboxItem:
        """One row by id; KeyError when there is none."""
        row = self.db.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise KeyError(f"no outbox item #{item_id}")
        return _item(row)

    def items(
        self,
        *,
        states: Sequence[str] | None = None,
        kind: str | None = None,
        server: str | None = None,
        username: str | None = None,
        limit: int | None = None,
    ) -> list[OutboxItem]:
        """Rows in id order (oldest first), filtered."""
        sql, args = "SELECT * FROM outbox WHERE 1 = 1", list[Any]()
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args += list(states)
        for column, value in (("kind", kind), ("server", server), ("username", username)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_item(r) for r in self.db.execute(sql, args).fetchall()]

    def counts(self, *, server: str | None = None, username: str | None = None) -> dict[str, int]:
        """Number of rows per state."""
        sql, args = "SELECT state, count(*) AS n FROM outbox WHERE 1 = 1", []
        if server is not None:
            sql += " AND server = ?"
            args.append(server)
        if username is not None:
            sql += " AND username = ?"
            args.append(username)
        rows = self.db.execute(sql + " GROUP BY state", args).fetchall()
        out = dict.fromkeys(STATES, 0)
        out |= {r["state"]: r["n"] for r in rows}
        return out

    def mark_sending(self, ids: Sequence[int]) -> None:
        """Committed before the request leaves: a crash after this re-sends the same keys."""
        at = now_iso()
        with self.tx() as db:
            db.executemany(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?"
                " WHERE id = ? AND state IN ('queued', 'sending')",
                [(at, i) for i in ids],
            )

    def mark_sent(self, results: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Record the server's acceptance: ``(id, {result, code, status, manifest})``."""
        at = now_iso()
        with self.tx() as db:
            db.executemany(
                "UPDATE outbox SET state = 'sent', result = ?, code = ?, status = ?,"
                " manifest = COALESCE(?, manifest), http_status = ?, reason = NULL,"
                " reason_field = NULL, last_error = NULL, updated_at = ? WHERE id = ?",
                [
                    (
                        r["result"],
                        r.get("code"),
                        r.get("status"),
                        r.get("manifest"),
                        r.get("http_status"),
                        at,
                        i,
                    )
                    for i, r in results
                ],
            )

    def mark_refused(self, results: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Record the server's refusal of single items: ``(id, {reason, field, http_status})``.

        Refused rows are never sent again by ``sync``; only ``retry`` requeues them.
        """
        at = now_iso()
        with self.tx() as db:
            db.executemany(
                "UPDATE outbox SET state = 'refused', result = 'error', reason = ?,"
                " reason_field = ?, http_status = ?, updated_at = ? WHERE id = ?",
                [(r["reason"], r.get("field"), r.get("http_status"), at, i) for i, r in results],
            )

    def mark_failed(self, ids: Sequence[int], error: str, *, requeue: bool) -> None:
        """A whole request failed; the rows stay pending with the reason.

        ``requeue`` when it is certain nothing reached the server (the connection was never
        made, or the server refused the whole request); otherwise they stay ``sending``, which
        says "maybe recorded, will be confirmed by the next sync".
        """
        at = now_iso()
        state_sql = "'queued'" if requeue else "state"
        with self.tx() as db:
            db.executemany(
                f"UPDATE outbox SET state = {state_sql}, last_error = ?, updated_at = ?"
                " WHERE id = ? AND state IN ('queued', 'sending')",
                [(error, at, i) for i in ids],
            )

    def set_scan_check(self, item_id: int, scan_check: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE outbox SET scan_check = ? WHERE id = ?", (scan_check, item_id))

    def requeue(
        self, item_id: int, *, body: dict[str, Any] | None = None, note: str | None = None
    ) -> OutboxItem:
        """Put a held or refused row back in the queue (``retry``).

        With a new ``body`` (the user fixed it) the row also gets a new idempotency key: its
        old key was never recorded by the server (a refused item is not stored), but a new key
        makes sure the fixed body can never meet the old one. The old values go to ``history``.
        """
        item = self.get(item_id)
        if item.state not in ("held", "refused"):
            raise ValueError(
                f"item {item_id} is {item.state}; only held or refused items can be retried"
            )
        entry = {
            "at": now_iso(),
            "state": item.state,
            "reason": item.reason,
            "idempotency_key": item.idempotency_key,
            "body": item.body if body is not None else None,
        }
        history = [*item.history, entry]
        key = new_key() if body is not None else item.idempotency_key
        with self.tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'queued', body = ?, idempotency_key = ?,"
                " reason = NULL, reason_field = NULL, http_status = NULL, result = NULL,"
                " last_error = NULL, note = COALESCE(?, note), history = ?, updated_at = ?"
                " WHERE id = ?",
                (
                    json.dumps(
                        item.body if body is None else body,
                        ensure_ascii=False,
                        separators=(",", ":"),
                    ),
                    key,
                    note,
                    json.dumps(history, ensure_ascii=False),
                    entry["at"],
                    item_id,
                ),
            )
        return self.get(item_id)

    def drop(self, item_id: int) -> OutboxItem:
        """Mark a held, queued or refused row as dropped by the user (kept, never sent)."""
        item = self.get(item_id)
        if item.state not in ("held", "refused", "queued"):
            raise ValueError(
                f"item {item_id} is {item.state}; only held, queued or refused items can be "
                "dropped (a sending item may already be on the server)"
            )
        history = [*item.history, {"at": now_iso(), "state": item.state, "reason": item.reason}]
        with self.tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'dropped', history = ?, updated_at = ? WHERE id = ?",
                (json.dumps(history, ensure_ascii=False), now_iso(), item_id),
            )
        return self.get(item_id)


def _item(row: sqlite3.Row) -> OutboxItem:
    data = dict(row)
    data["body"] = json.loads(data["body"])
    data["history"] = json.loads(data["history"])
    return OutboxItem(**data)


def _put_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
