"""Recording loads: one scan, scans arriving together (one transaction for the group), and a
phone's whole outbox (the batch), each idempotent by its key."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col

from wasteflow.config import get_settings
from wasteflow.db import unit_of_work
from wasteflow.errors import Conflict, Invalid, WasteflowError, describe_validation_errors
from wasteflow.models import Account, Handover
from wasteflow.permissions import Action, require
from wasteflow.schemas import (
    BatchItem,
    BatchResponse,
    BatchResult,
    ErrorBody,
    HandoverCreate,
    HandoverPublic,
)
from wasteflow.services import keys
from wasteflow.services.handovers.reading import handover_views
from wasteflow.services.handovers.rules import (
    _check_return,
    _lock_refused,
    _Lookups,
    _validate,
    _Validated,
    request_hash,
)
from wasteflow.services.handovers.store import (
    _CODE_ATTEMPTS,
    _by_key,
    _get_many,
    _record_rows,
    _replay,
)
from wasteflow.services.handovers.tickets import received_by_ticket
from wasteflow.types import Channel, HandoverStatus, g_to_kg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Scan:
    """One validated scan waiting for its group's transaction."""

    account: Account
    key: str
    digest: str
    validated: _Validated
    channel: Channel


_TAKEN = (0, "")  # a group's answer for a scan whose key was already taken: a replay


def _write_scans(session: Session, scans: Sequence[_Scan]) -> list[tuple[int, str]]:
    """Record many accounts' scans in one transaction: (id, code) of each, or ``_TAKEN``."""
    parts: dict[tuple[int | None, Channel], list[_Scan]] = {}
    firsts: dict[tuple[int | None, str], _Scan] = {}
    for scan in scans:
        # Retries of one request in one group: the first is written, the others are answered
        # as its replays (or refused, if their bodies differ) once it is committed.
        if firsts.setdefault((scan.account.id, scan.key), scan) is scan:
            parts.setdefault((scan.account.id, scan.channel), []).append(scan)
    inserted: dict[tuple[int | None, str], tuple[int, str]] = {}
    with unit_of_work(session):
        for (account_id, channel), part in parts.items():
            got = _record_rows(
                session,
                part[0].account,
                [(s.key, s.digest, s.validated) for s in part],
                channel,
            )
            inserted |= {(account_id, key): value for key, value in got.items()}
    return [
        inserted.get((s.account.id, s.key), _TAKEN)
        if firsts[(s.account.id, s.key)] is s
        else _TAKEN
        for s in scans
    ]


def record_handover(
    *,
    session: Session,
    account: Account,
    data: HandoverCreate,
    idempotency_key: str,
    channel: Channel = Channel.api,
) -> tuple[HandoverPublic, bool]:
    """Record one scanned load. Returns its public view and whether it was created now.

    The same ``idempotency_key`` with the same body returns the handover recorded the first
    time and changes nothing; with another body it is a Conflict. The API records scans that
    arrive together in one transaction: :func:`record_handovers`.
    """
    prepared = _prepare(session, account, data, idempotency_key, channel)
    if not isinstance(prepared, _Scan):
        return prepared
    return _answer(session, prepared, data, None)


def record_handovers(
    session: Session,
    scans: Sequence[tuple[Account, HandoverCreate, str]],
    channel: Channel = Channel.api,
) -> list[tuple[HandoverPublic, bool] | Exception]:
    """Record scans that arrived together, each ``(account, body, idempotency key)``, as
    :func:`record_handover` records one: each checked on its own, those that pass written in
    one transaction, and each answered on its own, with its view and whether it was created
    now, or with the error that refused it (returned, not raised). If the group's transaction
    fails, each of its scans is written alone, so that one bad scan cannot refuse the others.
    Returns are written alone (their check reads records)."""
    out: list[tuple[HandoverPublic, bool] | Exception | None] = [None] * len(scans)
    grouped: list[tuple[int, _Scan, HandoverCreate]] = []
    alone: list[tuple[int, _Scan, HandoverCreate]] = []
    for i, (account, data, key) in enumerate(scans):
        try:
            prepared = _prepare(session, account, data, key, channel)
        except Exception as exc:  # this scan's answer; the others go on
            out[i] = exc
            continue
        if isinstance(prepared, _Scan):
            (alone if data.returns else grouped).append((i, prepared, data))
        else:
            out[i] = prepared
    written: Sequence[tuple[int, str] | None] = [None] * len(grouped)
    if grouped:
        try:
            written = _write_scans(session, [scan for _, scan, _ in grouped])
        except Exception:
            log.exception("a group of %d scans failed; each is written alone", len(grouped))
    for (i, scan, data), got in zip(
        [*grouped, *alone], [*written, *[None] * len(alone)], strict=True
    ):
        try:
            out[i] = _answer(session, scan, data, got)
        except Exception as exc:
            out[i] = exc
    answers = [r for r in out if r is not None]
    assert len(answers) == len(scans)  # every scan answered
    return answers


def _prepare(
    session: Session, account: Account, data: HandoverCreate, key: str, channel: Channel
) -> _Scan | tuple[HandoverPublic, bool]:
    """A scan checked and ready to write, or the answer to a retry the rules now refuse."""
    require(account.role, Action.record_handover)
    assert account.id is not None  # an authenticated account is a stored row
    digest = request_hash(data)
    # Validate before taking the write lock (on SQLite, one writer at a time): it reads only
    # cached reference data and checks the plaque's signature. A retry of a request accepted
    # earlier is answered as a replay even if the rules would refuse it now.
    try:
        validated = _validate(_Lookups(session, account), data, check_return=False)
    except WasteflowError:
        existing = _by_key(session, account.id, key)
        if existing is None:
            raise
        _replay(existing, digest, key)
        return handover_views(session, [existing])[0], False
    return _Scan(account, key, digest, validated, channel)


def _answer(
    session: Session, scan: _Scan, data: HandoverCreate, got: tuple[int, str] | None
) -> tuple[HandoverPublic, bool]:
    """The answer to a scan its group wrote (``got``: its id and code, or ``_TAKEN`` if its
    key was taken), or that must be written alone (``got`` None)."""
    if got is None:
        got = _record_alone(
            session, scan.account, data, scan.key, scan.digest, scan.validated, scan.channel
        )
    if got != _TAKEN:
        return _new_view(session, scan.validated, *got, scan.account, scan.channel), True
    assert scan.account.id is not None
    existing = _by_key(session, scan.account.id, scan.key)
    assert existing is not None  # a key is taken only by a committed row
    _replay(existing, scan.digest, scan.key)
    return handover_views(session, [existing])[0], False


def _record_alone(
    session: Session,
    account: Account,
    data: HandoverCreate,
    key: str,
    digest: str,
    validated: _Validated,
    channel: Channel,
) -> tuple[int, str]:
    """One scan in its own transaction: (id, code), or ``_TAKEN`` if its key was taken."""
    assert account.id is not None
    for attempt in range(_CODE_ATTEMPTS):
        try:
            with unit_of_work(session):
                # The insert itself says whether the key was taken (ON CONFLICT DO NOTHING):
                # no lookup first, except for a return, whose check must not refuse a retry.
                # Returns of one refused load take turns on its row, so the key is looked up
                # once the turn is ours: a retry racing its first try then finds the first's
                # row (and replays) instead of finding nothing left to send back.
                if data.returns:
                    refused = _lock_refused(session, data.returns)
                    if _by_key(session, account.id, key) is not None:
                        return _TAKEN
                    v = validated
                    v.row["returns_id"], v.row["returns_sender_id"] = _check_return(
                        session,
                        data.returns,
                        refused,
                        v.from_site,
                        v.material,
                        v.row["declared_mass_g"],
                    )
                inserted = _record_rows(
                    session, account, [(key, digest, validated)], channel, savepoint=False
                )
            return inserted.get(key, _TAKEN)
        except sa.exc.IntegrityError:
            if attempt == _CODE_ATTEMPTS - 1:
                raise  # not a code clash: something is wrong, say so
    raise AssertionError("unreachable")


def record_batch(
    *, session: Session, account: Account, items: list[Any], channel: Channel = Channel.batch
) -> BatchResponse:
    """Record an offline phone's outbox: each item gets its own result.

    A bad item is reported and skipped; the good ones are recorded, in bulk.
    """

    require(account.role, Action.record_handover)
    assert account.id is not None  # an authenticated account is a stored row
    limit = get_settings().batch_max_items
    if len(items) > limit:
        raise Invalid(f"items: at most {limit} per batch, got {len(items)}", field="items")
    results: list[BatchResult | None] = [None] * len(items)
    parsed: list[tuple[int, str, str, BatchItem]] = []
    for i, raw in enumerate(items):
        key = raw.get("idempotency_key") if isinstance(raw, dict) else None
        try:
            item = BatchItem.model_validate(raw)
        except ValidationError as exc:
            detail, errs = describe_validation_errors(exc.errors())
            results[i] = BatchResult(
                index=i,
                idempotency_key=key if isinstance(key, str) else None,
                result="error",
                error=ErrorBody(error="Invalid", detail=detail, field=errs[0]["field"]),
            )
            continue
        parsed.append((i, item.idempotency_key, request_hash(item), item))

    with unit_of_work(session):
        existing = _existing_keys(session, account.id, [p[1] for p in parsed])
        look = _Lookups(session, account)
        look.sites([p[3].to_site for p in parsed])
        to_insert: list[tuple[str, str, _Validated]] = []
        pending: dict[str, tuple[int, str]] = {}  # key → (index, digest) of this batch
        dup_of: dict[int, str] = {}
        for i, key, digest, item in parsed:
            try:
                if key in existing:
                    _replay(existing[key], digest, key)
                    dup_of[i] = key
                    continue
                if key in pending:
                    if pending[key][1] != digest:
                        raise Conflict(
                            f"idempotency_key: {key!r} appears twice in this batch "
                            "with different contents",
                            field="idempotency_key",
                        )
                    dup_of[i] = key
                    continue
                to_insert.append((key, digest, _validate(look, item)))
                pending[key] = (i, digest)
            except WasteflowError as exc:
                results[i] = BatchResult(
                    index=i, idempotency_key=key, result="error", error=ErrorBody(**exc.to_dict())
                )
        inserted = _record_rows(session, account, to_insert, channel) if to_insert else {}
        raced = [k for k, _, _ in to_insert if k not in inserted]
        if raced:  # taken by a concurrent request since we looked: duplicates, if same body
            existing |= _existing_keys(session, account.id, raced)
        # New rows' views come from what the batch holds (nothing is read back); only the
        # duplicates' stored rows are read.
        views = {
            inserted[key][0]: _new_view(session, v, *inserted[key], account, channel)
            for key, _, v in to_insert
            if key in inserted
        }
        stored = [h.id for h in existing.values() if h.id not in views]
        views |= {v.id: v for v in handover_views(session, _get_many(session, stored))}
        for i, key, digest, _item in parsed:
            if results[i] is not None:
                continue
            if key in inserted and i not in dup_of:
                results[i] = BatchResult(
                    index=i, idempotency_key=key, result="created", handover=views[inserted[key][0]]
                )
                continue
            target = existing.get(key)
            hid = target.id if target is not None else inserted[key][0]
            assert hid is not None  # ``existing`` holds stored rows, which have their ids
            try:
                if target is not None:
                    _replay(target, digest, key)
                results[i] = BatchResult(
                    index=i, idempotency_key=key, result="duplicate", handover=views[hid]
                )
            except Conflict as exc:
                results[i] = BatchResult(
                    index=i, idempotency_key=key, result="error", error=ErrorBody(**exc.to_dict())
                )
    final = [r for r in results if r is not None]
    return BatchResponse(
        created=sum(r.result == "created" for r in final),
        duplicates=sum(r.result == "duplicate" for r in final),
        errors=sum(r.result == "error" for r in final),
        results=final,
    )


def _existing_keys(session: Session, account_id: int, keys_: list[str]) -> dict[str, Handover]:
    found: dict[str, Handover] = {}
    unique = list(dict.fromkeys(keys_))
    for i in range(0, len(unique), 500):
        for h in session.execute(
            sa.select(Handover).where(
                col(Handover.recorded_by_id) == account_id,
                col(Handover.idempotency_key).in_(unique[i : i + 500]),
            )
        ).scalars():
            found[h.idempotency_key] = h
    return found


def _new_view(
    session: Session,
    v: _Validated,
    hid: int,
    code: str,
    account: Account,
    channel: Channel,
    corrects: str | None = None,
) -> HandoverPublic:
    """The view of a handover just recorded, from what the request already holds: the hot
    path of a scan reads nothing back (unless a receipt by its ticket was waiting for it)."""
    if hid in received_by_ticket(session):
        return handover_views(session, [_get_many(session, [hid])[0]])[0]
    r = v.row
    return HandoverPublic(
        id=hid,
        code=code,
        status=HandoverStatus.in_transit,
        channel=channel,
        from_site=v.from_site.code,
        to_site=v.to_site.code,
        material=v.material.code,
        declared_mass_kg=float(g_to_kg(r["declared_mass_g"])),
        units=r["declared_units"],
        mass_method=r["mass_method"],
        device_time=r["device_time"],
        day=r["day"],
        recorded_at=r["recorded_at"],
        recorded_by=account.username,
        lat=r["lat"],
        lon=r["lon"],
        scan_distance_m=r["scan_distance_m"],
        flags=["far_scan"] if r["flag_far_scan"] else [],
        corrects=corrects,
        returns=v.returns_code,
        manifest=keys.sign(session, "handover", code),
    )
