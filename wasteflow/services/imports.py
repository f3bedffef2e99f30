"""The bulk path for handovers: stream rows in, keep the totals, in constant memory.

For loading history (a migration from another system, the demo, benchmarks): rows are written
in chunks with the backend's bulk path (``executemany`` on SQLite, ``COPY`` on PostgreSQL) and
each chunk's totals are upserted before the next chunk is read, so memory does not grow with
the number of rows. Every row gets its own audit event carrying its seal (as a scan's does), and
one more event records the import with a digest of everything loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from wasteflow.bulk import bulk_insert, chunks, reset_sequence
from wasteflow.models import Handover
from wasteflow.services.audit import record_event, record_events, seal
from wasteflow.services.totals import Deltas
from wasteflow.types import utcnow

CHUNK = 50_000


@dataclass
class ImportReport:
    rows: int = 0
    digest: str = ""


def import_handovers(
    session: Session,
    rows: Iterable[Mapping[str, Any]],
    *,
    account_id: int | None = None,
    label: str = "import",
    chunk: int = CHUNK,
    batch_id: int | None = None,
) -> ImportReport:
    """Insert handover rows (dicts of stored columns) and their totals; the caller commits.

    Rows are taken as they are: validation is the job of whoever produced them (the demo
    generator, a converter from another system). Explicit ``id`` values are allowed; the id
    sequence is moved past them on PostgreSQL.

    ``batch_id`` names the uploaded ledger (``import_batch``) the rows came from, in every
    event. One call is one transaction with one audit event (the digest of all its rows), so memory
    stays flat but the database holds the whole call until it commits: 9 M rows in one call
    grew SQLite's WAL past 4 GB (bench/README.md). Split very large loads into several calls.
    """
    conn = session.connection()
    table = Handover.__table__  # type: ignore[attr-defined]
    digest = hashlib.sha256()
    report = ImportReport()
    explicit_ids = False
    action = f"handover.{label}"
    for batch in chunks(rows, chunk):
        deltas = Deltas()
        events = []
        now = utcnow()
        for r in batch:
            deltas.add_handover(r)
            digest.update(f"{r['code']}|{r['declared_mass_g']}|{r['status']}".encode())
            events.append(
                {
                    "at": now,
                    "account_id": account_id,
                    "action": action,
                    "entity": "handover",
                    "entity_id": r["code"],
                    "after": {"seal": seal(r), "import": label}
                    | ({"batch": batch_id} if batch_id is not None else {}),
                }
            )
        explicit_ids = explicit_ids or "id" in batch[0]
        bulk_insert(conn, table, batch)
        deltas.apply(session)
        record_events(session, events, bulk=True)
        report.rows += len(batch)
    if explicit_ids:
        reset_sequence(conn, table)
    report.digest = digest.hexdigest()
    record_event(
        session,
        account_id=account_id,
        action=f"import.{label}",
        entity="import",
        entity_id=label if batch_id is None else f"{label}:{batch_id}",
        after={"rows": report.rows, "sha256": report.digest}
        | ({"batch": batch_id} if batch_id is not None else {}),
    )
    return report
