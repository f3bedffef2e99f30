"""Writing handover rows: inserting new loads with their totals and sealed audit events, reading
one back, and moving a row's state forward only if it is still the state read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.codes import random_handover_code
from wasteflow.db import core, insert_skipping
from wasteflow.errors import Conflict, Forbidden, NotFound
from wasteflow.models import Account, Handover
from wasteflow.schemas import HandoverPublic
from wasteflow.services.audit import record_events, seal
from wasteflow.services.handovers.rules import _Validated
from wasteflow.services.idempotency import Request, once
from wasteflow.services.totals import Deltas
from wasteflow.types import Channel, HandoverStatus, utcnow

_CODE_ATTEMPTS = 8

# --- recording ---------------------------------------------------------------------------


def _by_key(session: Session, account_id: int, key: str) -> Handover | None:
    return session.execute(
        sa.select(Handover).where(
            col(Handover.recorded_by_id) == account_id, col(Handover.idempotency_key) == key
        )
    ).scalar_one_or_none()


def _replay(existing: Handover, digest: str, key: str) -> None:
    if existing.request_hash != digest:
        raise Conflict(
            f"Idempotency-Key: {key!r} was already used for a different request "
            f"(handover {existing.code}); use a new key for a new handover",
            field="Idempotency-Key",
        )


@lru_cache(maxsize=4)
def _insert_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT (account, key) DO NOTHING RETURNING id, key, code — built once."""
    table = Handover.__table__  # type: ignore[attr-defined]
    return insert_skipping(
        dialect,
        table,
        ["recorded_by_id", "idempotency_key"],
        table.c.id,
        table.c.idempotency_key,
        table.c.code,
    )


def _insert(
    session: Session, rows: list[dict[str, Any]], savepoint: bool = True
) -> dict[str, tuple[int, str]]:
    """Insert rows, drawing new codes on the rare clash; skip keys already taken.

    Returns idempotency key → (id, code) for the rows inserted. Rows whose key was taken by a
    concurrent request in the meantime are left out, for the caller to treat as duplicates.
    ``savepoint=False`` saves the single scan's two extra statements: a code clash (about one
    in 30 million a day) then fails the whole transaction, and the caller runs it again.
    """
    stmt = _insert_statement(session.get_bind().dialect.name)
    for attempt in range(_CODE_ATTEMPTS):
        for r in rows:
            r["code"] = random_handover_code(r["day"])
        if not savepoint:
            return {k: (i, c) for i, k, c in core(session, stmt, rows)}
        try:
            with session.begin_nested():
                got = core(session, stmt, rows).all()  # inside the block: in its SAVEPOINT
            return {k: (i, c) for i, k, c in got}
        except sa.exc.IntegrityError:
            if attempt == _CODE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _record_rows(
    session: Session,
    account: Account,
    items: Sequence[tuple[str, str, _Validated]],
    channel: Channel,
    corrects: Handover | None = None,
    savepoint: bool = True,
) -> dict[str, tuple[int, str]]:
    now = utcnow()
    rows = []
    for key, digest, v in items:
        rows.append(
            v.row
            | {
                "idempotency_key": key,
                "request_hash": digest,
                "channel": channel,
                "recorded_at": now,
                "recorded_by_id": account.id,
                "status": HandoverStatus.in_transit,
                "corrects_id": corrects.id if corrects else None,
            }
        )
    inserted = _insert(session, rows, savepoint)
    for v in (item[2] for item in items):
        v.row["recorded_at"] = now  # for views built without reading the row back
    deltas = Deltas()
    events = []
    for (key, _digest, v), stored in zip(items, rows, strict=True):
        if key not in inserted:
            continue
        r = v.row
        deltas.add_handover(stored)
        events.append(
            {
                "account_id": account.id,
                "action": "handover.record",
                "entity": "handover",
                "entity_id": inserted[key][1],
                "at": now,
                "before": None,
                "after": {
                    "from_site": v.from_site.code,
                    "to_site": v.to_site.code,
                    "material": v.material.code,
                    "declared_mass_g": r["declared_mass_g"],
                    "units": r["declared_units"],
                    "mass_method": r["mass_method"],
                    "device_time": r["device_time"],
                    "status": HandoverStatus.in_transit,
                    "flags": ["far_scan"] if r["flag_far_scan"] else [],
                    "channel": channel,
                    "returns_id": r["returns_id"],
                    "corrects": corrects.code if corrects else None,
                    "seal": seal(stored),
                },
            }
        )
    deltas.apply(session)
    record_events(session, events)
    if inserted:
        # Receipts confirmed by these loads' tickets before the loads arrived apply now, in
        # this transaction (imported here: that module builds on this one).
        from wasteflow.services.handovers.tickets import apply_pending

        apply_pending(session, account, inserted)
    return inserted


# --- receipt, cancel, correct --------------------------------------------------------------


def _get(session: Session, hid: int) -> Handover:
    h = session.get(Handover, hid, populate_existing=True)
    assert h is not None
    return h


def _get_many(session: Session, ids: list[int | None]) -> list[Handover]:
    out: list[Handover] = []
    clean = [i for i in ids if i is not None]
    for i in range(0, len(clean), 500):
        out += (
            session.execute(
                sa.select(Handover)
                .where(col(Handover.id).in_(clean[i : i + 500]))
                .execution_options(populate_existing=True)
            )
            .scalars()
            .all()
        )
    return out


# Ids are BIGINT: a longer number names no handover (and would overflow the driver).
_MAX_ID = 2**63 - 1


def get_handover(*, session: Session, ref: str) -> Handover:
    """A handover by its code (``HO-…``) or its numeric id (ASCII digits only: ``³`` or
    ``١٢٣`` is no id, and a number past any id is not found)."""
    stmt = sa.select(Handover)
    if ref.isascii() and ref.isdigit():
        if len(ref) > 19 or int(ref) > _MAX_ID:
            raise NotFound(f"no handover {ref}")
        stmt = stmt.where(col(Handover.id) == int(ref))
    else:
        stmt = stmt.where(col(Handover.code) == ref)
    h = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if h is None:
        raise NotFound(f"no handover {ref}")
    return h


def _state_conflict(h: Handover) -> Conflict:
    if h.status == HandoverStatus.cancelled:
        return Conflict(f"{h.code} was cancelled ({h.cancel_reason}); it cannot change any more")
    if h.status == HandoverStatus.superseded:
        return Conflict(f"{h.code} was corrected and is superseded; act on its correction")
    return Conflict(
        f"{h.code} was already confirmed ({h.status.value}) at "
        f"{h.received_at.isoformat() if h.received_at else '?'}; a handover is "
        "confirmed once (the receiving site may correct its receipt: "
        f"POST /api/v1/handovers/{h.code}/receipt/correct)"
    )


def _move(session: Session, h: Handover, **values: Any) -> dict[str, Any]:
    """Set ``values`` on a handover if its state is still the one read (a conditional UPDATE:
    of two requests racing, the loser gets the state conflict). Returns its row as it was."""
    before = h.model_dump()
    result = session.execute(
        sa.update(Handover)
        .where(col(Handover.id) == h.id, col(Handover.status) == before["status"])
        .values(**values)
    )
    assert isinstance(result, sa.CursorResult)  # an UPDATE's result always is
    if result.rowcount != 1:
        raise _state_conflict(get_handover(session=session, ref=h.code))
    return before


def _withdraw(
    session: Session, h: Handover, status: HandoverStatus, account: Account, reason: str | None
) -> str:
    """Take an in-transit handover out of the totals (cancelled or superseded); return the
    seal of the row it leaves."""
    values: dict[str, Any] = {"status": status}
    if status == HandoverStatus.cancelled:
        values |= {"cancelled_at": utcnow(), "cancelled_by_id": account.id, "cancel_reason": reason}
    before = _move(session, h, **values)
    deltas = Deltas()
    deltas.add_handover(before, sign=-1)
    deltas.apply(session)
    return seal(before | values)


def _check_author(h: Handover, account: Account, what: str) -> None:
    if h.recorded_by_id != account.id:
        raise Forbidden(f"only the account that recorded {h.code} may {what} it")
    if h.status != HandoverStatus.in_transit:
        raise _state_conflict(h)


def on_handover(
    session: Session,
    account: Account,
    ref: str,
    key: str | None,
    operation: str,
    digest: str,
    apply: Callable[[str], HandoverPublic],
) -> tuple[HandoverPublic, bool]:
    """One write to the handover ``ref`` (code or id) through the idempotent unit: its key
    claimed for ``operation`` on that handover's code with ``digest``; ``apply`` gets the code
    and makes the change. Returns the answer and whether this call made it."""
    code = get_handover(session=session, ref=ref).code
    assert account.id is not None  # an authenticated account is a stored row
    req = Request(account.id, key, operation, code, digest)
    return once(session, req, lambda: apply(code), HandoverPublic)
