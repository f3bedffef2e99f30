"""Sending the outbox: handovers in batches, then receipts and receipt corrections one by one.

Each step commits ``sending`` before the request and the server's per-item answer after it, so
a kill at any point leaves a state from which the next sync finishes the job with the same
idempotency keys: what the server already has comes back as ``duplicate``, never twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from mobile_stub.client import Api, ApiError, Unreachable
from mobile_stub.i18n import Msg, msg
from mobile_stub.store import PENDING, OutboxItem, Store

DEFAULT_CHUNK = 500


@dataclass
class SyncReport:
    """What one sync did, and what is left."""

    created: int = 0
    duplicates: int = 0
    refused: int = 0
    receipts: int = 0
    receipt_duplicates: int = 0
    receipts_refused: int = 0
    corrections: int = 0
    corrections_refused: int = 0
    batches: int = 0
    total: int = 0  # items waiting when the sync started (what ``done`` counts towards)
    done: int = 0  # of those, answered by the server (sent or refused)
    pending: int = 0  # still queued or sending for this account after the sync
    held: int = 0  # held locally until fixed (``outbox --retry``) or dropped
    stopped: str | None = None  # why the sync stopped before the outbox was empty (English)
    stopped_msg: Msg | None = field(default=None, compare=False)  # the same, to show

    @property
    def sent(self) -> int:
        """Handovers the server now holds from this sync (created now or before)."""
        return self.created + self.duplicates

    @property
    def ok(self) -> bool:
        return self.stopped is None

    def add(self, other: SyncReport) -> None:
        """Accumulate another report's counters (the simulator sums many syncs).

        ``pending`` and ``held`` describe one outbox at one moment, so they are not summed.
        """
        for f in fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, int) and f.name not in ("pending", "held"):
                setattr(self, f.name, mine + getattr(other, f.name))
        self.stopped = other.stopped or self.stopped
        self.stopped_msg = other.stopped_msg or self.stopped_msg

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "stopped_msg"}
        return out | {"sent": self.sent}


class _Stop(Exception):
    def __init__(self, why: Msg):
        super().__init__(str(why))
        self.why = why


def _stop_reason(exc: ApiError | Unreachable) -> Msg:
    if isinstance(exc, Unreachable):
        return msg("stop.unreachable", detail=str(exc))
    if exc.status == 401:
        return msg("stop.login", detail=exc.detail)
    return msg("stop.refused", detail=str(exc))


def _handover_outcome(result: dict[str, Any] | None) -> tuple[str, dict]:
    if result is None:
        return "missing", {}
    if result.get("result") in ("created", "duplicate"):
        h = result.get("handover") or {}
        return "sent", {
            "result": result["result"],
            "code": h.get("code"),
            "status": h.get("status"),
            "manifest": h.get("manifest"),
        }
    error = result.get("error") or {}
    return "refused", {
        "reason": error.get("detail") or "refused without a reason",
        "field": error.get("field"),
    }


def _send_chunk(store: Store, api: Api, rows: list[OutboxItem], report: SyncReport) -> None:
    ids = [r.id for r in rows]
    store.mark_sending(ids)
    items = [r.body | {"idempotency_key": r.idempotency_key} for r in rows]
    try:
        answer = api.post_batch(items)
        results = answer["results"]
    except ApiError as exc:
        # The whole request was refused before anything was recorded.
        store.mark_failed(ids, str(exc), requeue=True)
        raise _Stop(_stop_reason(exc)) from exc
    except Unreachable as exc:
        store.mark_failed(ids, str(exc), requeue=not exc.connected)
        raise _Stop(_stop_reason(exc)) from exc
    except (ValueError, KeyError, TypeError) as exc:  # a captive portal's HTML page, say
        store.mark_failed(ids, f"unexpected answer: {exc}", requeue=False)
        raise _Stop(msg("stop.not_batch", detail=str(exc))) from exc
    report.batches += 1
    by_key = {r.get("idempotency_key"): r for r in results if isinstance(r, dict)}
    sent, refused, missing = [], [], []
    for row in rows:
        outcome, values = _handover_outcome(by_key.get(row.idempotency_key))
        if outcome == "sent":
            sent.append((row.id, values))
            if values["result"] == "created":
                report.created += 1
            else:
                report.duplicates += 1
        elif outcome == "refused":
            refused.append((row.id, values))
            report.refused += 1
        else:
            missing.append(row.id)
    store.mark_sent(sent)
    store.mark_refused(refused)
    report.done += len(sent) + len(refused)
    if missing:
        # Should not happen; left pending rather than guessed, the next sync settles them.
        store.mark_failed(missing, "the batch answer had no result for this item", requeue=False)
        raise _Stop(msg("stop.missing", n=len(missing)))


def _send_one(store: Store, api: Api, row: OutboxItem, report: SyncReport) -> None:
    """A receipt (by its manifest) or a receipt correction (by the code it corrects)."""
    correction = row.kind == "correction"
    store.mark_sending([row.id])
    try:
        if correction:
            handover, replayed = api.post_correction(row.subject, row.body, row.idempotency_key)
        else:
            handover, replayed = api.post_receipt(row.body, row.idempotency_key)
    except ApiError as exc:
        if exc.status == 401:
            store.mark_failed([row.id], str(exc), requeue=True)
            raise _Stop(_stop_reason(exc)) from exc
        # A receipt is its own request: its 4xx is this item's refusal (already confirmed
        # by someone else, not a site you act for, a cancelled load, a receipt already
        # corrected...).
        store.mark_refused(
            [(row.id, {"reason": exc.detail, "field": exc.field, "http_status": exc.status})]
        )
        report.done += 1
        if correction:
            report.corrections_refused += 1
        else:
            report.receipts_refused += 1
        return
    except Unreachable as exc:
        store.mark_failed([row.id], str(exc), requeue=not exc.connected)
        raise _Stop(_stop_reason(exc)) from exc
    result = "duplicate" if replayed else ("corrected" if correction else "confirmed")
    store.mark_sent(
        [
            (
                row.id,
                {
                    "result": result,
                    "code": handover.get("code"),
                    "status": handover.get("status"),
                    "manifest": handover.get("manifest") if correction else None,
                    "http_status": 200 if replayed or not correction else 201,
                },
            )
        ]
    )
    report.done += 1
    if correction:
        report.corrections += 1
    else:
        report.receipts += 1
        report.receipt_duplicates += int(replayed)


def sync_outbox(
    store: Store,
    api: Api,
    *,
    username: str,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[SyncReport], None] | None = None,
) -> SyncReport:
    """Send every item of ``username`` on ``api.server`` that waits when the sync starts.

    Handovers go first (a receipt on this phone may be for a load it just sent), oldest first,
    ``chunk`` per request; then receipts and corrections, oldest first (a correction after the
    receipt it corrects). Items refused by the server are marked so and never sent again by a
    sync. The sync stops at the first whole-request failure, leaving the rest pending. Scans
    queued while it runs wait for the next sync, so ``done`` counts towards a fixed ``total``;
    ``progress`` is called after each request.
    """
    if not 1 <= chunk <= 5000:
        raise ValueError("chunk must be between 1 and 5000 items")
    report = SyncReport()
    server = api.server
    up_to = store.last_id()

    def waiting(kind: str | tuple[str, ...] | None, limit: int | None = None) -> list[OutboxItem]:
        return store.items(
            states=PENDING, kind=kind, server=server, username=username, up_to=up_to, limit=limit
        )

    report.total = len(waiting(None))
    try:
        while rows := waiting("handover", chunk):
            _send_chunk(store, api, rows, report)
            if progress:
                progress(report)
        for row in waiting(("receipt", "correction")):
            _send_one(store, api, row, report)
            if progress:
                progress(report)
    except _Stop as stop:
        report.stopped = str(stop)
        report.stopped_msg = stop.why
    counts = store.counts(server=server, username=username)
    report.pending = counts["queued"] + counts["sending"]
    report.held = counts["held"]
    return report
