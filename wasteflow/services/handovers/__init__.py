"""Handovers: record a load, confirm its receipt, cancel or correct it, send refused mass back.

Every rule a client can break raises a ``WasteflowError`` naming the field; every change is
one transaction that also moves the per-day totals and appends an audit event sealing the row
it leaves. Nothing is edited in place or deleted: a state moves forward (``in_transit`` →
``received`` | ``partially_refused`` | ``refused``, or ``cancelled`` / ``superseded``), and a
correction is a new handover naming the one it replaces: before receipt the author corrects
the load, after it the receiving site corrects its receipt (a mis-keyed weight, a wrong route).

By use case: ``rules`` (what a new load must satisfy), ``store`` (rows, totals and events
written together; conditional state moves), ``scans`` (one scan, grouped scans, the batch),
``receipts`` (intake and its correction), ``corrections`` (cancel and correct before
receipt), ``reading`` (views, history, the register).
"""

from wasteflow.services.handovers.corrections import cancel_handover, correct_handover
from wasteflow.services.handovers.reading import (
    can_read,
    count_register,
    handover_views,
    history,
    iter_register,
    list_handovers,
    own_work,
    read_handover,
    register_query,
)
from wasteflow.services.handovers.receipts import confirm_receipt, correct_receipt
from wasteflow.services.handovers.rules import (
    acting_sites,
    distance_m,
    own_sites,
    receipt_hash,
    request_hash,
)
from wasteflow.services.handovers.scans import record_batch, record_handover, record_handovers
from wasteflow.services.handovers.store import get_handover

__all__ = [
    "acting_sites",
    "can_read",
    "cancel_handover",
    "confirm_receipt",
    "correct_handover",
    "correct_receipt",
    "count_register",
    "distance_m",
    "get_handover",
    "handover_views",
    "history",
    "iter_register",
    "list_handovers",
    "own_sites",
    "own_work",
    "read_handover",
    "receipt_hash",
    "record_batch",
    "record_handover",
    "record_handovers",
    "register_query",
    "request_hash",
]
