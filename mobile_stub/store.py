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

from mobile_stub.i18n import Msg, UserError
from mobile_stub.store_schema import KINDS, SCHEMA_VERSION, open_db
from mobile_stub.store_schema import tx as _tx

__all__ = [
    "KINDS",
    "PENDING",
    "SCHEMA_VERSION",
    "STATES",
    "CachedMaterial",
    "CachedRoute",
    "OutboxItem",
    "Session",
    "Store",
]

STATES = ("held", "queued", "sending", "sent", "refused", "dropped")
PENDING = ("queued", "sending")


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
    problems: list[Msg] | None = None  # why a held item is held, to show in either language

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (``outbox --json``)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["problems"] = None if self.problems is None else [str(p) for p in self.problems]
        return out


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
    name_en: str = ""


@dataclass(frozen=True)
class CachedRoute:
    code: str
    name_zh: str
    name_en: str


class Store:
    """The SQLite file.

    One ``Store`` must not be used by two threads at once; it may move between threads (the
    simulator hands a phone from one worker to the next), hence ``check_same_thread=False``.
    Several processes may open the same file: writes take the lock (``BEGIN IMMEDIATE``).
    Opening checks the file (:func:`mobile_stub.store_schema.open_db`): a damaged one raises
    :class:`~mobile_stub.store_schema.CorruptState`.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.db = open_db(self.path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken immediately so two processes never interleave."""
        with _tx(self.db) as db:
            yield db

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
                " max_load_kg, name_zh, name_en) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        server,
                        m["code"],
                        int(bool(m["counts_units"])),
                        m["max_handover_kg"],
                        m["max_load_kg"],
                        m["name_zh"],
                        m.get("name_en") or "",
                    )
                    for m in materials
                ],
            )

    def replace_routes(self, server: str, routes: Iterable[dict[str, Any]]) -> None:
        """Replace the cached treatment routes of a server."""
        with self.tx() as db:
            db.execute("DELETE FROM route WHERE server = ?", (server,))
            db.executemany(
                "INSERT INTO route (server, code, name_zh, name_en) VALUES (?, ?, ?, ?)",
                [(server, r["code"], r["name_zh"], r["name_en"]) for r in routes],
            )

    def routes(self, server: str) -> dict[str, CachedRoute]:
        rows = self.db.execute(
            "SELECT code, name_zh, name_en FROM route WHERE server = ? ORDER BY code", (server,)
        ).fetchall()
        return {r["code"]: CachedRoute(r["code"], r["name_zh"], r["name_en"]) for r in rows}

    def materials(self, server: str) -> dict[str, CachedMaterial]:
        rows = self.db.execute("SELECT * FROM material WHERE server = ?", (server,)).fetchall()
        return {
            r["code"]: CachedMaterial(
                code=r["code"],
                counts_units=bool(r["counts_units"]),
                max_handover_kg=r["max_handover_kg"],
                max_load_kg=r["max_load_kg"],
                name_zh=r["name_zh"],
                name_en=r["name_en"],
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
        held: Sequence[Msg] = (),
        note: str | None = None,
    ) -> OutboxItem:
        """Commit a scan to the outbox with a fresh idempotency key; returns the new row.

        With ``held`` problems the row is kept ``held`` (not sent) with them as its reason.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        at = now_iso()
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO outbox (kind, server, username, idempotency_key, body, subject,"
                " state, scan_check, note, reason, problems, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    server,
                    username,
                    new_key(),
                    json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    subject,
                    "held" if held else "queued",
                    scan_check,
                    note,
                    "; ".join(str(p) for p in held) or None,
                    _problems_json(held),
                    at,
                    at,
                ),
            )
            item_id = cur.lastrowid
        assert item_id is not None
        return self.get(item_id)

    def get(self, item_id: int) -> OutboxItem:
        """One row by id; UserError when there is none."""
        row = self.db.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise UserError("outbox.no_item", id=item_id)
        return _item(row)

    def items(
        self,
        *,
        states: Sequence[str] | None = None,
        kind: str | Sequence[str] | None = None,
        server: str | None = None,
        username: str | None = None,
        subject: str | None = None,
        up_to: int | None = None,
        limit: int | None = None,
    ) -> list[OutboxItem]:
        """Rows in id order (oldest first), filtered (``up_to``: ids at most this)."""
        sql, args = "SELECT * FROM outbox WHERE 1 = 1", list[Any]()
        kinds = [kind] if isinstance(kind, str) else kind
        for column, values in (("state", states), ("kind", kinds)):
            if values:
                sql += f" AND {column} IN ({','.join('?' * len(values))})"
                args += list(values)
        for column, value in (("server", server), ("username", username), ("subject", subject)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        if up_to is not None:
            sql += " AND id <= ?"
            args.append(up_to)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_item(r) for r in self.db.execute(sql, args).fetchall()]

    def last_id(self) -> int:
        """The newest row's id (0 for an empty outbox)."""
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0])

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
                " problems = NULL, reason_field = NULL, last_error = NULL, updated_at = ?"
                " WHERE id = ?",
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
            raise UserError("outbox.cannot_retry", id=item_id, state=Msg(f"state.{item.state}"))
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
                " problems = NULL,"
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
            raise UserError("outbox.cannot_drop", id=item_id, state=Msg(f"state.{item.state}"))
        history = [*item.history, {"at": now_iso(), "state": item.state, "reason": item.reason}]
        with self.tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'dropped', history = ?, updated_at = ? WHERE id = ?",
                (json.dumps(history, ensure_ascii=False), now_iso(), item_id),
            )
        return self.get(item_id)


def _problems_json(problems: Sequence[Msg]) -> str | None:
    if not problems:
        return None
    return json.dumps([p.as_json() for p in problems], ensure_ascii=False)


def _item(row: sqlite3.Row) -> OutboxItem:
    data = dict(row)
    data["body"] = json.loads(data["body"])
    data["history"] = json.loads(data["history"])
    raw = data.get("problems")
    data["problems"] = None if raw is None else [Msg.from_json(p) for p in json.loads(raw)]
    return OutboxItem(**data)


def _put_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
