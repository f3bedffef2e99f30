"""A damaged state file: kept aside, a fresh one started, and what can be read carried over.

When SQLite finds the state file corrupt (:class:`~mobile_stub.store_schema.CorruptState`),
:func:`open_store` renames it (with its ``-wal`` and ``-shm``) to
``<name>.corrupt-<local time>``, never deletes or edits it, starts a fresh file, and copies
into it whatever rows of the old one can still be read, from a temporary copy so the kept file
stays exactly as it was found. Outbox rows keep their ids, states and idempotency keys: a scan
the server already has comes back ``duplicate`` at the next sync, never as a second record. The
:class:`Recovery` it returns says all of it, and the command line prints it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mobile_stub.i18n import Msg, msg
from mobile_stub.locking import exclusive
from mobile_stub.store import Store
from mobile_stub.store_schema import CorruptState, tx

# Tables carried over, in this order; meta only for the login in use and the caches' ages.
SALVAGED = ("session", "signing_key", "material", "route", "outbox")
SIDE_FILES = ("-wal", "-shm")
LOCK_WAIT_S = 10.0


@dataclass
class Recovery:
    """What happened to a damaged state file."""

    original: Path
    kept_as: Path
    detail: str
    items: int = 0  # outbox rows carried over
    unsent: int = 0  # of those, not on the server yet (held, queued, sending, refused)
    outbox_read: str = "none"  # "all", "part" or "none" of the old outbox could be read
    session: bool = False  # the login was carried over
    unreadable: list[str] = field(default_factory=list)  # tables that could not be read

    def messages(self) -> list[Msg]:
        """What the user is told, most important first."""
        out = [
            msg(
                "state.corrupt", file=str(self.original), detail=self.detail, kept=str(self.kept_as)
            )
        ]
        if self.outbox_read == "all":
            out.append(msg("state.salvaged", items=self.items, unsent=self.unsent))
        elif self.outbox_read == "part":
            out.append(msg("state.salvaged_part", items=self.items, kept=str(self.kept_as)))
        else:
            out.append(msg("state.salvaged_none", kept=str(self.kept_as)))
        if not self.session:
            out.append(msg("state.login_again"))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "original": str(self.original),
            "kept_as": str(self.kept_as),
            "detail": self.detail,
            "items": self.items,
            "unsent": self.unsent,
            "outbox_read": self.outbox_read,
            "session": self.session,
        }


def open_store(path: Path) -> tuple[Store, Recovery | None]:
    """The state file's :class:`Store`; a damaged file is set aside first (see module doc)."""
    try:
        return Store(path), None
    except CorruptState as first:
        detail = first.detail
    with exclusive(path, LOCK_WAIT_S):
        try:  # another process may have set it aside while this one waited for the lock
            return Store(path), None
        except CorruptState as again:
            detail = again.detail
        kept = _set_aside(path)
        store = Store(path)
        try:
            recovery = Recovery(path, kept, detail)
            _salvage(kept, store, recovery)
        except BaseException:
            store.close()
            raise
    return store, recovery


def _set_aside(path: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    kept = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while kept.exists():
        n += 1
        kept = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, kept)
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, kept.with_name(kept.name + suffix))
    return kept


def _read(src: sqlite3.Connection, table: str) -> tuple[list[dict[str, Any]], bool]:
    """The rows of ``table`` that can be read, in rowid order, and whether that was all.

    Past a damaged page the scan seeks further on, in growing steps, so the rows after it
    are still found; a row that cannot be read is skipped. Each round moves past at least
    one row, so it ends.
    """
    rows: list[dict[str, Any]] = []
    whole, after = True, 0
    select = f"SELECT rowid AS _rowid, * FROM {table}"
    while True:
        try:
            for row in src.execute(f"{select} WHERE rowid > ? ORDER BY rowid", (after,)):
                data = dict(row)
                after = int(data.pop("_rowid"))
                rows.append(data)
            return rows, whole
        except sqlite3.DatabaseError:
            whole = False
        found = _next_readable(src, table, after)
        if found is None:
            return rows, whole
        try:
            row = src.execute(f"{select} WHERE rowid = ?", (found,)).fetchone()
            if row is not None:
                data = dict(row)
                data.pop("_rowid")
                rows.append(data)
        except sqlite3.DatabaseError:
            pass  # this one is lost; the next round starts after it
        after = found


def _next_readable(src: sqlite3.Connection, table: str, after: int) -> int | None:
    step = 1
    while step < 2**40:
        try:
            row = src.execute(
                f"SELECT rowid FROM {table} WHERE rowid >= ? ORDER BY rowid LIMIT 1",
                (after + step,),
            ).fetchone()
        except sqlite3.DatabaseError:
            step *= 2
            continue
        return None if row is None else int(row[0])
    return None


def _salvage(kept: Path, store: Store, recovery: Recovery) -> None:
    with tempfile.TemporaryDirectory(prefix="wasteflow-mobile-salvage-") as tmp:
        copy = Path(tmp) / "state.db"
        shutil.copyfile(kept, copy)
        wal = kept.with_name(kept.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, Path(tmp) / "state.db-wal")
        try:
            src = sqlite3.connect(copy)
            # Lets SQLite load a schema that names pages the file no longer has (a truncated
            # copy), so the tables that are intact can still be read. A temporary copy.
            src.execute("PRAGMA writable_schema = ON")
        except sqlite3.DatabaseError:
            recovery.unreadable = list(SALVAGED)
            return
        src.row_factory = sqlite3.Row
        try:
            _copy_tables(src, store, recovery)
        finally:
            src.close()


def _copy_tables(src: sqlite3.Connection, store: Store, recovery: Recovery) -> None:
    tables: dict[str, tuple[list[dict[str, Any]], bool]] = {}
    for table in (*SALVAGED, "meta"):
        tables[table] = _read(src, table)
        if not tables[table][1]:
            recovery.unreadable.append(table)
    with tx(store.db) as db:
        for table in SALVAGED:
            rows = tables[table][0]
            columns = {str(r[1]) for r in db.execute(f"PRAGMA table_info({table})")}
            for row in rows:
                values = {k: v for k, v in row.items() if k in columns}
                names = ", ".join(values)
                marks = ", ".join("?" * len(values))
                db.execute(
                    f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})",
                    list(values.values()),
                )
        for row in tables["meta"][0]:
            if row.get("key") == "current" or str(row.get("key", "")).startswith("keys_fetched:"):
                db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (row["key"], row["value"]),
                )
    outbox, whole = tables["outbox"]
    recovery.items = len(outbox)
    recovery.unsent = sum(1 for r in outbox if r.get("state") not in ("sent", "dropped"))
    recovery.outbox_read = "all" if whole else ("part" if outbox else "none")
    recovery.session = store.current_session() is not None
