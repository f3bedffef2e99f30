"""The one idempotent unit every write goes through.

A write is one transaction that (1) claims the request's Idempotency-Key together with the
digest of its body, (2) makes its state change — conditional on the state it read, so of two
different requests racing one wins and the other gets 409 — and (3) stores the answer with the
claim. A request whose key is already claimed makes no change: it gets the stored answer
(``Idempotent-Replayed``), or a 409 naming ``Idempotency-Key`` when it is another operation, on
another record or with another body than the one that claimed the key.

Racing retries are safe on both databases: on PostgreSQL the second claim waits on the unique
index until the first transaction ends (it then replays its answer, or takes the claim if the
first failed and rolled back); on SQLite writers take turns. A refused request (any 4xx) rolls
back with its claim, so fixing the request and sending it again with the same key works.

Scans, batches and returns claim their key on the handover row they create instead (its unique
``(account, key)`` index), many in one statement on the hot path: the row is their stored
answer. Everything else claims here. A write sent without a key still runs as one
transaction with its conditional state change; it is simply not replayable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session

from wasteflow.db import core, insert_skipping, unit_of_work
from wasteflow.errors import Conflict
from wasteflow.models import IdempotentRequest
from wasteflow.types import utcnow

M = TypeVar("M", bound=BaseModel)


def digest(body: Any) -> str:
    """The identity of a request body: SHA-256 of its canonical JSON (sorted keys)."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Request:
    """What identifies one write: who, the key they sent, what it does to which record, and
    the digest of its body."""

    account_id: int
    key: str | None
    operation: str
    target: str
    digest: str


@lru_cache(maxsize=4)
def _claim_statement(dialect: str) -> Any:
    table = IdempotentRequest.__table__  # type: ignore[attr-defined]
    return insert_skipping(dialect, table, ["account_id", "key"], table.c.key)


def _claimed(session: Session, req: Request) -> dict[str, Any] | None:
    """Claim the key; None if this request took it, else the claim that holds it."""
    row = {
        "account_id": req.account_id,
        "key": req.key,
        "operation": req.operation,
        "target": req.target,
        "request_hash": req.digest,
        "at": utcnow(),
    }
    if core(session, _claim_statement(session.get_bind().dialect.name), row).first():
        return None
    table = IdempotentRequest.__table__  # type: ignore[attr-defined]
    held = core(
        session,
        sa.select(table).where(table.c.account_id == req.account_id, table.c.key == req.key),
    ).one()
    return dict(held._mapping)


def _refuse_mismatch(req: Request, held: dict[str, Any]) -> None:
    same_write = (held["operation"], held["target"]) == (req.operation, req.target)
    if not same_write:
        raise Conflict(
            f"Idempotency-Key: {req.key!r} was already used for {held['operation']} of "
            f"{held['target']}; use a new key for a new request",
            field="Idempotency-Key",
        )
    if held["request_hash"] != req.digest:
        raise Conflict(
            f"Idempotency-Key: {req.key!r} was already used for {req.operation} of "
            f"{req.target} with other values; use a new key for a new request",
            field="Idempotency-Key",
        )


def once(
    session: Session,
    req: Request,
    apply: Callable[[], M],
    answer_type: type[M],
) -> tuple[M, bool]:
    """Run ``apply`` (the state change, returning the answer) at most once per key.

    Returns the answer and whether this call made the change (False: a replay of the answer
    stored by the call that did). ``apply`` runs inside this transaction and must not commit.
    """
    with unit_of_work(session):
        if req.key is None:
            return apply(), True
        held = _claimed(session, req)
        if held is not None:
            _refuse_mismatch(req, held)
            return answer_type.model_validate(held["answer"]), False
        answer = apply()
        table = IdempotentRequest.__table__  # type: ignore[attr-defined]
        core(
            session,
            sa.update(table)
            .where(table.c.account_id == req.account_id, table.c.key == req.key)
            .values(answer=answer.model_dump(mode="json")),
        )
        return answer, True
