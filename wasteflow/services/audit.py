"""The append-only, hash-chained audit log.

Each event's ``hash`` is SHA-256 over the previous event's hash and the event's canonical
JSON, so deleting, reordering or editing any event breaks every hash after it;
:func:`verify_chain` finds the first break. Database triggers (see the migrations) also refuse
UPDATE and DELETE on the table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.db import core
from wasteflow.models import AuditEvent
from wasteflow.types import utcnow

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


def _last_hash(session: Session) -> str:
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends so two transactions never chain onto the same predecessor.
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})
    last = session.execute(
        sa.select(col(AuditEvent.hash)).order_by(col(AuditEvent.id).desc()).limit(1)
    ).scalar()
    return last or GENESIS


def record_events(session: Session, events: list[dict[str, Any]]) -> None:
    """Append events (dicts with account_id, action, entity, entity_id, before, after).

    Call inside the use case's unit of work, after its other writes, so the chain lock is held
    for as short a time as possible.
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
    core(session, sa.insert(AuditEvent.__table__), rows)  # type: ignore[attr-defined]


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


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Recompute every hash in id order; report the first event that does not match."""
    prev = GENESIS
    count = 0
    last_id = 0
    while True:
        rows = (
            session.execute(
                sa.select(AuditEvent)
                .where(col(AuditEvent.id) > last_id)
                .order_by(col(AuditEvent.id))
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return ChainReport(events=count, ok=True)
        for ev in rows:
            assert ev.id is not None
            if ev.prev_hash != prev:
                return ChainReport(count, False, ev.id, "prev_hash does not match the event before")
            expected = _digest(
                prev,
                at=ev.at,
                account_id=ev.account_id,
                action=ev.action,
                entity=ev.entity,
                entity_id=ev.entity_id,
                before=ev.before,
                after=ev.after,
            )
            if expected != ev.hash:
                return ChainReport(count, False, ev.id, "hash does not match the event's content")
            prev = ev.hash
            count += 1
            last_id = ev.id


def history(session: Session, *, entity: str, entity_id: Any) -> list[AuditEvent]:
    """Every event of one record, oldest first."""
    return list(
        session.execute(
            sa.select(AuditEvent)
            .where(col(AuditEvent.entity) == entity, col(AuditEvent.entity_id) == str(entity_id))
            .order_by(col(AuditEvent.id))
        ).scalars()
    )
