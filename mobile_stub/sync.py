"""Sending the outbox: handovers in batches, then receipts one by one.

Each step commits ``sending`` before the request and the server's per-item answer after it, so
a kill at any point leaves a state from which the next sync finishes the job with the same
idempotency keys: what the server already has comes back as ``duplicate``, never twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from mobile_stub.client import Api, ApiError, Unreachable
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
    batches: int = 0
    pending: int = 0  # still queued or sending for this account after the sync
    held: int = 0  # held locally until fixed (``outbox --retry``) or dropped
    stopped: str | None = None  # why the sync stopped before the outbox was empty

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

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"sent": self.sent}


class _Stop(Exception):
    pass


def _stop_reason(exc: ApiError | Unreachable, what: str) -> str:
    if isinstance(exc, Unreachable):
        return f"server unreachable ({exc}); the {what} stay in the outbox and will be resent"
    if exc.status == 401:
        return (
            f"the server refused the login ({exc.detail}); log in again with "
            f"`wasteflow-mobile login`, the {what} stay in the outbox"
        )
    return f"the server refused the whole request: {exc}; the {what} stay in the outbox"


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
        raise _Stop(_stop_reason(exc, "items")) from exc
    except Unreachable as exc:
        store.mark_failed(ids, str(exc), requeue=not exc.connected)
        raise _Stop(_stop_reason(exc, "items")) from exc
    except (ValueError, KeyError, TypeError) as exc:  # a captive portal's HTML page, say
        store.mark_failed(ids, f"unexpected answer: {exc}", requeue=False)
        raise _Stop(f"the server's answer was not a batch result ({exc})") from exc
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
    if missing:
        # Should not happen; left pending rather than guessed, the next sync settles them.
        store.mark_failed(missing, "the batch answer had no result for this item", requeue=False)
        raise _Stop(f"the batch answer lacked {len(missing)} item(s); they stay in the outbox")


def _send_receipt(store: Store, api: Api, row: OutboxItem, report: SyncReport) -> None:
    store.mark_sending([row.id])
    try:
        handover, replayed = api.post_receipt(row.body, row.idempotency_key)
    except ApiError as exc:
        if exc.status == 401:
            store.mark_failed([row.id], str(exc), requeue=True)
            raise _Stop(_stop_reason(exc, "receipts")) from exc
        # A receipt is its own request: its 4xx is this item's refusal (already confirmed
        # by someone else, not a site you act for, a cancelled load...).
        store.mark_refused(
            [(row.id, {"reason": exc.detail, "field": exc.field, "http_status": exc.status})]
        )
        report.receipts_refused += 1
        return
    except Unreachable as exc:
        store.mark_failed([row.id], str(exc), requeue=not exc.connected)
        raise _Stop(_stop_reason(exc, "receipts")) from exc
    store.mark_sent(
        [
            (
                row.id,
                {
                    "result": "duplicate" if replayed else "confirmed",
                    "code": handover.get("code"),
                    "status": handover.get("status"),
                    "http_status": 200,
                },
            )
        ]
    )
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
    """Send every pending item of ``username`` on ``api.server``; returns what happened.

    Handovers go first (a receipt on this phone may be for a load it just sent), oldest first,
    ``chunk`` per request. Items refused by the server are marked so and never sent again by
    a sync. The sync stops at the first whole-request failure, leaving the rest pending.
    """
    if not 1 <= chunk <= 5000:
        raise ValueError("chunk must be between 1 and 5000 items")
    report = SyncReport()
    server = api.server
    try:
        while rows := store.items(
            states=PENDING, kind="handover", server=server, username=username, limit=chunk
        ):
            _send_chunk(store, api, rows, report)
            if progress:
                progress(report)
        for row in store.items(states=PENDING, kind="receipt", server=server, username=username):
            _send_receipt(store, api, row, report)
    except _Stop as stop:
        report.stopped = str(stop)
    counts = store.counts(server=server, username=username)
    report.pending = counts["queued"] + counts["sending"]
    report.held = counts["held"]
    return report
