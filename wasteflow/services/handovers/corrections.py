"""The author's side before receipt: cancelling a load, or replacing it by a corrected record."""

from __future__ import annotations

from sqlmodel import Session

from wasteflow.errors import Conflict
from wasteflow.models import Account
from wasteflow.permissions import Action, require
from wasteflow.schemas import HandoverCreate, HandoverPublic
from wasteflow.services import idempotency
from wasteflow.services.audit import record_event
from wasteflow.services.handovers.reading import handover_views
from wasteflow.services.handovers.rules import _Lookups, _validate, request_hash
from wasteflow.services.handovers.scans import _new_view
from wasteflow.services.handovers.store import (
    _by_key,
    _check_author,
    _get,
    _record_rows,
    _withdraw,
    get_handover,
    on_handover,
)
from wasteflow.types import Channel, HandoverStatus


def cancel_handover(
    *,
    session: Session,
    account: Account,
    ref: str,
    reason: str,
    idempotency_key: str | None = None,
) -> tuple[HandoverPublic, bool]:
    """The author withdraws a load before it is received, saying why.

    Returns the handover and whether this call cancelled it (False: a retry with the same
    Idempotency-Key, answered as the first was)."""
    require(account.role, Action.cancel_handover)
    return on_handover(
        session,
        account,
        ref,
        idempotency_key,
        "handover.cancel",
        idempotency.digest({"reason": reason}),
        lambda code: _cancel(session, account, code, reason),
    )


def _cancel(session: Session, account: Account, code: str, reason: str) -> HandoverPublic:
    h = get_handover(session=session, ref=code)
    _check_author(h, account, "cancel")
    before = {"status": h.status}
    sealed = _withdraw(session, h, HandoverStatus.cancelled, account, reason)
    record_event(
        session,
        account_id=account.id,
        action="handover.cancel",
        entity="handover",
        entity_id=h.code,
        before=before,
        after={"status": HandoverStatus.cancelled, "reason": reason, "seal": sealed},
    )
    assert h.id is not None  # read from the database
    return handover_views(session, [_get(session, h.id)])[0]


def correct_handover(
    *, session: Session, account: Account, ref: str, data: HandoverCreate, idempotency_key: str
) -> tuple[HandoverPublic, bool]:
    """Replace an in-transit handover by a corrected one that names it."""
    require(account.role, Action.record_handover)
    digest = request_hash(data)
    return on_handover(
        session,
        account,
        ref,
        idempotency_key,
        "handover.correct",
        digest,
        lambda code: _correct(session, account, code, data, idempotency_key, digest),
    )


def _correct(
    session: Session,
    account: Account,
    code: str,
    data: HandoverCreate,
    key: str,
    digest: str,
) -> HandoverPublic:
    h = get_handover(session=session, ref=code)
    assert account.id is not None
    _check_author(h, account, "correct")
    validated = _validate(_Lookups(session, account), data)
    before = {"status": h.status}
    sealed = _withdraw(session, h, HandoverStatus.superseded, account, None)
    # The new record keeps the key (a record's key is unique for its author), so a key a
    # scan already used cannot also name a correction.
    inserted = _record_rows(session, account, [(key, digest, validated)], Channel.api, corrects=h)
    if key not in inserted:
        taken = _by_key(session, account.id, key)
        raise Conflict(
            f"Idempotency-Key: {key!r} was already used for handover "
            f"{taken.code if taken else '(another)'}; use a new key for a new request",
            field="Idempotency-Key",
        )
    new_id, new_code = inserted[key]
    record_event(
        session,
        account_id=account.id,
        action="handover.supersede",
        entity="handover",
        entity_id=h.code,
        before=before,
        after={"status": HandoverStatus.superseded, "corrected_by": new_code, "seal": sealed},
    )
    return _new_view(session, validated, new_id, new_code, account, Channel.api, corrects=h.code)
