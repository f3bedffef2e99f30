"""The append-only, hash-chained audit log.

Each event's ``hash`` is SHA-256 over the previous event's hash and the event's canonical
JSON, so deleting, reordering or editing any event breaks every hash after it;
:func:`verify_chain` finds the first break. Database triggers (see the migrations) also refuse
UPDATE and DELETE on the table.

What the chain alone cannot catch is caught elsewhere: a truncated or wholly recomputed chain
by signed checkpoints (:mod:`wasteflow.services.checkpoints`), and an edited handover row by
its *seal* (:func:`seal`, the digest of every stored column, carried by each event that
changes the row) (:mod:`wasteflow.services.audit_records`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.bulk import bulk_insert
from wasteflow.db import core
from wasteflow.models import Account, AuditEvent, Handover
from wasteflow.types import UTCDateTime, utcnow

GENESIS = "0" * 64
# Any constant works: it names the one advisory lock that orders appends on PostgreSQL.
_PG_CHAIN_LOCK = 0x57A57E


def _plain(value: Any) -> Any:
    """Reduce a value to JSON natives, exactly as it will read back from the database (what
    ``json.loads(json.dumps(value, default=str))`` gives, without the round trip: this runs
    for every handover of a batch)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, str):  # enums of str
        return str.__str__(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def _column_defaults() -> tuple[tuple[str, ...], tuple[Any, ...], tuple[int, ...]]:
    names: list[str] = []
    defaults: list[Any] = []
    times: list[int] = []
    for column in Handover.__table__.columns:  # type: ignore[attr-defined]
        if column.name == "id":  # drawn by the database; the code names the row
            continue
        field = Handover.model_fields[column.name]
        if isinstance(column.type, UTCDateTime):
            times.append(len(names))
        names.append(column.name)
        defaults.append(None if field.is_required() or field.default_factory else field.default)
    return tuple(names), tuple(defaults), tuple(times)


SEALED_COLUMNS, _SEAL_DEFAULTS, _SEAL_TIMES = _column_defaults()


def seal(row: Mapping[str, Any]) -> str:
    """The digest of a handover row as stored: every column but ``id``, in table order (a
    column missing from ``row`` counts as its default, as the insert leaves it).

    Each audit event that writes a handover carries the seal of the row it left, so the
    verifier can tell a row edited behind the application's back, and name it. The values are
    encoded as JSON by orjson (str enums as their values, timestamps in UTC), so a row reads
    the same from the write's own dict as from either database.
    """
    pairs = zip(SEALED_COLUMNS, _SEAL_DEFAULTS, strict=True)
    values = [row.get(name, default) for name, default in pairs]
    for i in _SEAL_TIMES:
        when = values[i]
        if when is not None and when.utcoffset():
            values[i] = when.astimezone(UTC)
    return hashlib.sha256(orjson.dumps(values)).hexdigest()


def _digest(
    prev_hash: str,
    *,
    at: datetime,
    account_id: int | None,
    action: str,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
) -> str:
    body = json.dumps(
        {
            "at": at.isoformat(timespec="microseconds"),
            "account_id": account_id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "before": before,
            "after": after,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def chain_lock(session: Session) -> None:
    """Hold the chain's lock to the end of the transaction (PostgreSQL; SQLite writes one
    transaction at a time anyway), so two appends never chain onto the same predecessor."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})


def _last_hash(session: Session) -> str:
    chain_lock(session)
    last = session.execute(
        sa.select(col(AuditEvent.hash)).order_by(col(AuditEvent.id).desc()).limit(1)
    ).scalar()
    return last or GENESIS


def record_events(session: Session, events: list[dict[str, Any]], *, bulk: bool = False) -> None:
    """Append events (dicts with account_id, action, entity, entity_id, before, after).

    Call inside the use case's unit of work, after its other writes, so the chain lock is held
    for as short a time as possible. ``bulk`` writes them through the bulk path (COPY on
    PostgreSQL), for the tens of thousands of events of an import.
    """
    if not events:
        return
    prev = _last_hash(session)
    rows = []
    for ev in events:
        at = ev.get("at") or utcnow()
        before, after = _plain(ev.get("before")), _plain(ev.get("after"))
        entity_id = str(ev["entity_id"])
        h = _digest(
            prev,
            at=at,
            account_id=ev.get("account_id"),
            action=ev["action"],
            entity=ev["entity"],
            entity_id=entity_id,
            before=before,
            after=after,
        )
        rows.append(
            {
                "at": at,
                "account_id": ev.get("account_id"),
                "action": ev["action"],
                "entity": ev["entity"],
                "entity_id": entity_id,
                "before": before,
                "after": after,
                "prev_hash": prev,
                "hash": h,
            }
        )
        prev = h
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    if bulk:
        bulk_insert(session.connection(), table, rows)
    else:
        core(session, sa.insert(table), rows)


def record_event(
    session: Session,
    *,
    account_id: int | None,
    action: str,
    entity: str,
    entity_id: Any,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one event; see :func:`record_events`."""
    record_events(
        session,
        [
            {
                "account_id": account_id,
                "action": action,
                "entity": entity,
                "entity_id": entity_id,
                "before": before,
                "after": after,
            }
        ],
    )


@dataclass(frozen=True)
class ChainReport:
    events: int
    ok: bool
    first_bad_id: int | None = None
    reason: str | None = None
    # For each event id asked for (checkpoints' heads) that the walk passed: the events
    # counted up to and including it, and its stored hash.
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)


def verify_chain(
    session: Session, *, batch: int = 5000, heads: Collection[int] = ()
) -> ChainReport:
    """Recompute every hash in id order; report the first event that does not match, and
    where the chain stood at each of ``heads`` (event ids, e.g. checkpoints' heads)."""
    wanted = set(heads)
    seen: dict[int, tuple[int, str]] = {}
    prev = GENESIS
    count = 0
    last_id = 0
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    columns = (t.c.id, t.c.at, t.c.account_id, t.c.action, t.c.entity, t.c.entity_id)
    while True:
        rows = core(
            session,
            sa.select(*columns, t.c.before, t.c.after, t.c.prev_hash, t.c.hash)
            .where(t.c.id > last_id)
            .order_by(t.c.id)
            .limit(batch),
        ).all()
        if not rows:
            return ChainReport(events=count, ok=True, heads=seen)
        for ev_id, at, account_id, action, entity, entity_id, before, after, prev_hash, h in rows:
            if prev_hash != prev:
                return ChainReport(count, False, ev_id, "prev_hash does not match the event before")
            expected = _digest(
                prev,
                at=at,
                account_id=account_id,
                action=action,
                entity=entity,
                entity_id=entity_id,
                before=before,
                after=after,
            )
            if expected != h:
                return ChainReport(count, False, ev_id, "hash does not match the event's content")
            prev = h
            count += 1
            last_id = ev_id
            if last_id in wanted:
                seen[last_id] = (count, h)


def history(session: Session, *, entity: str, entity_id: Any) -> list[AuditEvent]:
    """Every event of one record, oldest first."""
    return list(
        session.execute(
            sa.select(AuditEvent)
            .where(col(AuditEvent.entity) == entity, col(AuditEvent.entity_id) == str(entity_id))
            .order_by(col(AuditEvent.id))
        ).scalars()
    )


def changes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields an edit changed: their values before and after (both empty: no change)."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def event_views(session: Session, events: list[AuditEvent]) -> list[dict[str, Any]]:
    """Events as the API shows them: who by username, when, what, before → after."""
    ids = {e.account_id for e in events if e.account_id is not None}
    names = (
        dict(
            session.execute(
                sa.select(col(Account.id), col(Account.username)).where(col(Account.id).in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    return [
        {
            "id": e.id,
            "at": e.at,
            "account": names.get(e.account_id),
            "action": e.action,
            "before": e.before,
            "after": e.after,
            "hash": e.hash,
        }
        for e in events
    ]
