"""The author's side before receipt: cancelling a load, or replacing it by a corrected record."""

from __future__ import annotations

from sqlmodel import Session

from wasteflow.db import unit_of_work
from wasteflow.errors import Conflict
from wasteflow.models import Account
from wasteflow.permissions import Action, require
from wasteflow.schemas import HandoverCreate, HandoverPublic
from wasteflow.services.audit import record_event
from wasteflow.services.handovers.reading import handover_views
from wasteflow.services.handovers.rules import _Lookups, _validate, request_hash
from wasteflow.services.handovers.scans import _new_view
from wasteflow.services.handovers.store import (
    _by_key,
    _check_author,
    _get,
    _record_rows,
    _replay,
    _withdraw,
    get_handover,
)
from wasteflow.types import Channel, HandoverStatus


def cancel_handover(*, session: Session, account: Account, ref: str, reason: str) -> HandoverPublic:
    """The author withdraws a load before it is received, saying why."""
    require(account.role, Action.cancel_handover)
    with unit_of_work(session):
        h = get_handover(session=session, ref=ref)
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
    for _attempt in range(2):
        try:
            return _correct_once(session, account, ref, data, idempotency_key, digest)
        except _KeyTakenMeanwhile:
            # Another request took the key between our look-up and our insert (a retry, or
            # another correction with the same key): its row is committed now, so the next
            # attempt answers as a replay, or 409 if it was for another handover or body.
            continue
    raise Conflict(
        f"Idempotency-Key: {idempotency_key!r} is being used by another request; retry",
        field="Idempotency-Key",
    )


class _KeyTakenMeanwhile(Exception):
    """The insert found its idempotency key taken by a request that committed meanwhile."""


def _correct_once(
    session: Session,
    account: Account,
    ref: str,
    data: HandoverCreate,
    idempotency_key: str,
    digest: str,
) -> tuple[HandoverPublic, bool]:
    with unit_of_work(session):
        h = get_handover(session=session, ref=ref)
        assert account.id is not None  # an authenticated account is a stored row
        existing = _by_key(session, account.id, idempotency_key)
        if existing is not None:
            _replay(existing, digest, idempotency_key)
            if existing.corrects_id != h.id:
                raise Conflict(
                    f"Idempotency-Key: {idempotency_key!r} was used for another handover",
                    field="Idempotency-Key",
                )
            return handover_views(session, [existing])[0], False
        _check_author(h, account, "correct")
        validated = _validate(_Lookups(session, account), data)
        before = {"status": h.status}
        sealed = _withdraw(session, h, HandoverStatus.superseded, account, None)
        inserted = _record_rows(
            session, account, [(idempotency_key, digest, validated)], Channel.api, corrects=h
        )
        if idempotency_key not in inserted:
            raise _KeyTakenMeanwhile  # rolls back the withdrawal above
        new_id, new_code = inserted[idempotency_key]
        record_event(
            session,
            account_id=account.id,
            action="handover.supersede",
            entity="handover",
            entity_id=h.code,
            before=before,
            after={"status": HandoverStatus.superseded, "corrected_by": new_code, "seal": sealed},
        )
        return _new_view(
            session, validated, new_id, new_code, account, Channel.api, corrects=h.code
        ), True


# Load fields a receipt correction carries over unchanged from the record it corrects.
