"""One verification of everything the audit log vouches for, as one report.

1. the hash chain, event by event (:func:`wasteflow.services.audit.verify_chain`);
2. the chain against every signed checkpoint, in the database and in an archive the caller
   gives (:mod:`wasteflow.services.checkpoints`): truncation and recomputation;
3. each handover row against the seal of its newest event, and the totals against the rows
   (:mod:`wasteflow.services.audit_records`): rows and totals edited behind the application.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel import Session

from wasteflow.services import audit_records, checkpoints
from wasteflow.services.audit import verify_chain


class CheckpointsReport(BaseModel):
    checked: int = Field(description="checkpoints compared with the chain")
    latest_at: datetime | None = Field(description="when the newest checkpoint was signed")
    latest_events: int | None = Field(description="events the newest checkpoint covers")
    unprotected_events: int = Field(
        description="events after the newest checkpoint: a cut among them cannot be detected "
        "until the next checkpoint"
    )
    problems: list[str]


class FindingOut(BaseModel):
    check: str = Field(description="handover or totals")
    subject: str = Field(description="the handover's code, or the totals table and key")
    reason: str


class RecordsReport(BaseModel):
    handovers: int = Field(description="handover rows compared with their events")
    total_cells: int = Field(description="totals cells compared with the rows")
    problems: int
    findings: list[FindingOut] = Field(description=f"the first {audit_records.MAX_LISTED}")


class AuditReport(BaseModel):
    ok: bool = Field(description="true when nothing below is wrong")
    events: int = Field(description="events whose hash was recomputed")
    first_bad_id: int | None = Field(description="the first event whose link is broken")
    reason: str | None = Field(description="why that link is broken")
    checkpoints: CheckpointsReport
    records: RecordsReport | None = Field(description="absent when not asked for")


def verify(
    session: Session,
    *,
    archive: list[checkpoints.Mark] | None = None,
    records: bool = True,
) -> AuditReport:
    """Verify the chain, its checkpoints (with an archive's, if given) and the records."""
    stored = checkpoints.stored_marks(session)
    marks = stored + list(archive or [])
    chain = verify_chain(session, heads={m.last_event_id for m in marks})
    trusted = {k for k in (checkpoints.own_public_key(),) if k}
    trusted |= {m.public_key for m in archive or []}
    problems = checkpoints.check_marks(marks, chain.heads, trusted) if chain.ok else []
    newest = max(stored, key=lambda m: m.last_event_id, default=None)
    report_records = None
    if records:
        found = audit_records.check_records(session)
        report_records = RecordsReport(
            handovers=found.handovers,
            total_cells=found.total_cells,
            problems=found.problems,
            findings=[FindingOut(**f.__dict__) for f in found.findings],
        )
    return AuditReport(
        ok=chain.ok and not problems and not (report_records and report_records.problems),
        events=chain.events,
        first_bad_id=chain.first_bad_id,
        reason=chain.reason,
        checkpoints=CheckpointsReport(
            checked=len(marks) if chain.ok else 0,
            latest_at=newest.at if newest else None,
            latest_events=newest.events if newest else None,
            unprotected_events=chain.events - (newest.events if newest else 0),
            problems=problems,
        ),
        records=report_records,
    )
