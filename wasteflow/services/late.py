"""Late records with approval: a scan older than the lateness window is not refused outright
but kept, exactly as sent, until an admin approves it (it is then recorded through the scan
path as the collector's own load, the lateness rule alone lifted) or rejects it with a reason.

Every other rule of a scan is checked when it is submitted and again when it is approved
(sites, materials, caps and plaques may have changed meanwhile). Submitting, approving and
rejecting are each one idempotent transaction with an audit event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, Field, StringConstraints
from sqlmodel import Session, col

from wasteflow.config import get_settings
from wasteflow.errors import Conflict, Forbidden, Invalid, NotFound
from wasteflow.models import Account, LateSubmission
from wasteflow.permissions import Action, allowed, require
from wasteflow.schemas import HandoverCreate, Page, Strict
from wasteflow.services import idempotency
from wasteflow.services.audit import record_event
from wasteflow.services.handovers.rules import _Lookups, _validate, request_hash
from wasteflow.services.handovers.store import _record_rows
from wasteflow.services.idempotency import Request, once
from wasteflow.types import Channel, g_to_kg, kg_to_g, utcnow

STATES = ("pending", "approved", "rejected")
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=256)]


class LateSubmissionCreate(Strict):
    """A late scan and why it is late."""

    scan: HandoverCreate = Field(description="the scan's body, exactly as for POST /handovers")
    reason: Reason = Field(description="why the load is recorded this late")


class LateDecision(Strict):
    reason: Reason | None = Field(
        default=None, description="why: required to reject, optional to approve"
    )


class LateSubmissionPublic(BaseModel):
    id: int
    state: str = Field(description="pending, approved or rejected")
    submitted_by: str
    submitted_at: datetime
    reason: str
    from_site: str | None = Field(description="the site the scanned plaque names")
    to_site: str
    material: str
    declared_mass_kg: float
    device_time: datetime
    scan: dict[str, Any] = Field(description="the scan's body as submitted")
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    handover: str | None = Field(default=None, description="the handover an approval recorded")


def _window() -> timedelta:
    return timedelta(days=get_settings().device_time_window_days)


def submit_late(
    *,
    session: Session,
    account: Account,
    data: LateSubmissionCreate,
    idempotency_key: str,
) -> tuple[LateSubmissionPublic, bool]:
    """Keep a late scan for approval; every rule but lateness is checked now. Returns the
    submission and whether this call made it (False: a retry with the same key)."""
    require(account.role, Action.record_handover)
    assert account.id is not None  # an authenticated account is a stored row
    scan = data.scan
    if scan.device_time >= utcnow() - _window():
        raise Invalid(
            f"scan.device_time: within {_window().days} days, not late; record it with "
            "POST /api/v1/handovers",
            field="scan.device_time",
        )
    try:
        validated = _validate(_Lookups(session, account), scan, late_ok=True)
    except (Invalid, Forbidden) as exc:
        exc.detail = f"scan.{exc.detail}"
        exc.field = f"scan.{exc.field}" if exc.field else "scan"
        raise
    from_code = validated.from_site.code
    account_id = account.id
    body = {"scan": request_hash(scan), "reason": data.reason}
    req = Request(account.id, idempotency_key, "late.submit", "-", idempotency.digest(body))

    def apply() -> LateSubmissionPublic:
        row = LateSubmission(
            account_id=account_id,
            idempotency_key=idempotency_key,
            request=scan.model_dump(mode="json"),
            reason=data.reason,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        record_event(
            session,
            account_id=account.id,
            action="late.submit",
            entity="late_submission",
            entity_id=row.id,
            after={"state": "pending", "reason": data.reason, "from_site": from_code}
            | {"request": row.request},
        )
        return _views(session, [row.id])[0]

    return once(session, req, apply, LateSubmissionPublic)


def decide_late(
    *,
    session: Session,
    account: Account,
    submission_id: int,
    approve: bool,
    data: LateDecision,
    idempotency_key: str | None = None,
) -> tuple[LateSubmissionPublic, bool]:
    """Approve (record the load as the collector's scan) or reject (with a reason) a pending
    late submission, in one transaction audited under the deciding admin."""
    require(account.role, Action.decide_late)
    assert account.id is not None
    if not approve and not data.reason:
        raise Invalid("reason: say why the late record is rejected", field="reason")
    operation = "late.approve" if approve else "late.reject"
    req = Request(
        account.id,
        idempotency_key,
        operation,
        str(submission_id),
        idempotency.digest(data.model_dump(mode="json")),
    )
    return once(
        session,
        req,
        lambda: _decide(session, account, submission_id, approve, data),
        LateSubmissionPublic,
    )


def _decide(
    session: Session, admin: Account, submission_id: int, approve: bool, data: LateDecision
) -> LateSubmissionPublic:
    sub = session.execute(
        sa.select(LateSubmission)
        .where(col(LateSubmission.id) == submission_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if sub is None:
        raise NotFound(f"no late submission {submission_id}")
    if sub.state != "pending":
        raise Conflict(
            f"late submission {submission_id} was already {sub.state} at "
            f"{sub.decided_at.isoformat() if sub.decided_at else '?'}"
        )
    collector = session.get(Account, sub.account_id)
    assert collector is not None and collector.id is not None
    code = None
    if approve:
        if not collector.active:
            raise Conflict(f"{collector.username} is disabled; its late record cannot be recorded")
        scan = HandoverCreate.model_validate(sub.request)
        try:
            validated = _validate(_Lookups(session, collector), scan, late_ok=True)
        except (Invalid, Forbidden) as exc:
            raise Conflict(
                f"the late record no longer passes the rules of a scan ({exc.detail}); "
                "reject it, or have it submitted again"
            ) from None
        inserted = _record_rows(
            session, collector, [(sub.idempotency_key, request_hash(scan), validated)], Channel.api
        )
        if sub.idempotency_key not in inserted:
            raise Conflict(
                f"{collector.username} already recorded a handover with the key "
                f"{sub.idempotency_key!r}: this load is recorded already"
            )
        code = inserted[sub.idempotency_key][1]
    values = {
        "state": "approved" if approve else "rejected",
        "decided_by_id": admin.id,
        "decided_at": utcnow(),
        "decision_reason": data.reason,
        "handover_code": code,
    }
    done = session.execute(
        sa.update(LateSubmission)
        .where(col(LateSubmission.id) == submission_id, col(LateSubmission.state) == "pending")
        .values(**values)
    )
    assert isinstance(done, sa.CursorResult)
    if done.rowcount != 1:
        raise Conflict(f"late submission {submission_id} was decided meanwhile")
    record_event(
        session,
        account_id=admin.id,
        action="late.approve" if approve else "late.reject",
        entity="late_submission",
        entity_id=submission_id,
        before={"state": "pending"},
        after={
            "state": values["state"],
            "decided_by": admin.username,
            "reason": data.reason,
            "submitted_by": collector.username,
            "handover": code,
        },
    )
    return _views(session, [submission_id])[0]


def _views(session: Session, ids: list[int]) -> list[LateSubmissionPublic]:
    from sqlalchemy.orm import aliased

    submitter, decider = aliased(Account), aliased(Account)
    rows = session.execute(
        sa.select(LateSubmission, col(submitter.username), col(decider.username))
        .join(submitter, col(submitter.id) == LateSubmission.account_id)
        .outerjoin(decider, col(decider.id) == LateSubmission.decided_by_id)
        .where(col(LateSubmission.id).in_(ids))
        .order_by(col(LateSubmission.id))
        .execution_options(populate_existing=True)
    ).all()
    return [_public(session, s, by, dec) for s, by, dec in rows]


def _public(
    session: Session, s: LateSubmission, by: str, decider: str | None
) -> LateSubmissionPublic:
    from wasteflow.services import keys

    scan = s.request
    try:
        from_site: str | None = keys.verify(
            session, scan["source_plaque"], expected_kind="site", field="scan.source_plaque"
        ).ident
    except Invalid:
        from_site = None
    assert s.id is not None
    return LateSubmissionPublic(
        id=s.id,
        state=s.state,
        submitted_by=by,
        submitted_at=s.submitted_at,
        reason=s.reason,
        from_site=from_site,
        to_site=scan["to_site"],
        material=scan["material"],
        declared_mass_kg=float(g_to_kg(kg_to_g(scan["declared_mass_kg"]))),
        device_time=datetime.fromisoformat(scan["device_time"]),
        scan=scan,
        decided_by=decider,
        decided_at=s.decided_at,
        decision_reason=s.decision_reason,
        handover=s.handover_code,
    )


def list_late(
    *,
    session: Session,
    account: Account,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[LateSubmissionPublic]:
    """Late submissions, oldest first: every one for admins, one's own for the others."""
    stmt = sa.select(col(LateSubmission.id))
    if not allowed(account.role, Action.decide_late):
        stmt = stmt.where(col(LateSubmission.account_id) == account.id)
    if state is not None:
        stmt = stmt.where(col(LateSubmission.state) == state)
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    ids = list(
        session.execute(stmt.order_by(col(LateSubmission.id)).limit(limit).offset(offset)).scalars()
    )
    return Page(items=_views(session, ids), total=total, limit=limit, offset=offset)


def get_late(*, session: Session, account: Account, submission_id: int) -> LateSubmissionPublic:
    views = _views(session, [submission_id])
    if not views or (
        not allowed(account.role, Action.decide_late) and views[0].submitted_by != account.username
    ):
        raise NotFound(f"no late submission {submission_id}")
    return views[0]


def pending_count(session: Session) -> int:
    return session.execute(
        sa.select(sa.func.count()).where(col(LateSubmission.state) == "pending")
    ).scalar_one()
