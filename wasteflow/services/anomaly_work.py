"""Anomalies as work: assigning them, commenting on them, closing and reopening them.

An anomaly is computed afresh from the records on every read (``flows.find_anomalies``), so
the work on it is kept in a *case* (``AnomalyCase``) found again by the anomaly's **stable
key** (:func:`anomaly_key`), which names what the finding is about and nothing that a
recomputation changes (severity, masses, distances):

* a finding on one handover (``mass_discrepancy``, ``refused_load``, ``far_scan``) is that
  handover's: ``refused_load:HO-20251001-6GSMG``; it is the same in every period that holds
  the handover's day (its year, quarter or month);
* a finding on a period's totals (``negative_stock``, ``over_capacity``, ``stale_stock``,
  ``implausible_source``) is the site's (for ``implausible_source`` the village's, whose
  largest source may change), the material's (``-`` for none) and the period's:
  ``stale_stock:WL-PR-STRW:straw.rice:2025``. Stock that is stale at the end of 2025 and at
  the end of 2025-Q3 are two findings, each with its own work.

An anomaly nobody acted on has no case and is ``open``. The first assignment, comment or
closing makes its case (holding a copy of the finding, shown when later records no longer
show it: ``found`` false). States: open → assigned → resolved or dismissed → (reopened)
open or assigned. Every change is an audit event of entity ``anomaly_case``, which is the
case's history; every write may be retried with its ``Idempotency-Key``.

Who may do what: officials and admins assign, comment, close (resolved or dismissed) and
reopen; the account an anomaly is assigned to may comment and close it as resolved (not
dismiss it, nor reopen it); everyone else reads what they read today (officials: everything;
other accounts: the anomalies at the sites they act for, and those assigned to them).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.db import core, insert_skipping
from wasteflow.errors import Conflict, Forbidden, Invalid, NotFound, WasteflowError
from wasteflow.models import Account, Handover, Site
from wasteflow.models_anomalies import CLOSED_STATES, AnomalyCase, AnomalyComment, AnomalyState
from wasteflow.permissions import Action, allowed, require
from wasteflow.rates import Period, parse_period
from wasteflow.schemas_anomalies import AnomalyWork
from wasteflow.services import audit, flows, idempotency
from wasteflow.services.idempotency import Request, once
from wasteflow.services.rates import period_engine
from wasteflow.types import Role, utcnow

RECORD_KINDS = frozenset({"mass_discrepancy", "refused_load", "far_scan"})
ASSIGNABLE_ROLES = frozenset({Role.official, Role.admin, Role.site_operator, Role.processor})
STATES = tuple(s.value for s in AnomalyState)
ENTITY = "anomaly_case"
MAX_KEY = 160


def anomaly_key(anomaly: dict[str, Any], period: str) -> str:
    """The anomaly's stable key (see the module's docstring)."""
    kind = str(anomaly["kind"])
    detail = anomaly.get("detail") or {}
    if kind in RECORD_KINDS:
        code = (anomaly.get("handovers") or [None])[0] or detail.get("handover")
        if code:
            return f"{kind}:{code}"
    where = anomaly.get("site")
    if kind == "implausible_source" and detail.get("region"):
        where = detail["region"]
    return f"{kind}:{where or '-'}:{anomaly.get('material') or '-'}:{period}"


def _not_found(key: str) -> NotFound:
    return NotFound(f"id: no anomaly {key[:MAX_KEY]!r}", field="id")


def key_period(session: Session, key: str) -> tuple[Period, date | None]:
    """The period an anomaly key belongs to, and a handover finding's day."""
    kind, _, rest = key.partition(":")
    if len(key) > MAX_KEY or not rest or not kind.replace("_", "").isalpha():
        raise _not_found(key)
    if kind in RECORD_KINDS and ":" not in rest:
        day = session.execute(
            sa.select(col(Handover.day)).where(col(Handover.code) == rest)
        ).scalar_one_or_none()
        if day is None:
            raise _not_found(key)
        return parse_period(f"{day:%Y-%m}"), day
    parts = rest.split(":")
    if len(parts) != 3:
        raise _not_found(key)
    try:
        return parse_period(parts[2]), None
    except (WasteflowError, ValueError) as exc:
        raise _not_found(key) from exc


def _found(session: Session, p: Period) -> dict[str, dict[str, Any]]:
    return {anomaly_key(a, p.label): a for a in flows.find_anomalies(session, p)}


def _refs(session: Session, ids: set[int | None] | set[int]) -> dict[int, dict[str, str]]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(
            col(Account.id), col(Account.username), col(Account.display_name), col(Account.role)
        ).where(col(Account.id).in_(wanted))
    )
    return {
        i: {"username": u, "display_name": d, "role": str(Role(r).value)} for i, u, d, r in rows
    }


def _comment_counts(session: Session, case_ids: list[int]) -> dict[int, int]:
    if not case_ids:
        return {}
    c = AnomalyComment
    return dict(
        session.execute(  # type: ignore[arg-type]
            sa.select(col(c.case_id), sa.func.count())
            .where(col(c.case_id).in_(case_ids))
            .group_by(col(c.case_id))
        ).all()
    )


def _item(
    key: str,
    anomaly: dict[str, Any],
    case: AnomalyCase | None,
    found: bool,
    refs: dict[int, dict[str, str]],
    comments: int,
) -> dict[str, Any]:
    return {
        "id": key,
        "kind": anomaly["kind"],
        "severity": anomaly.get("severity") or "warning",
        "site": anomaly.get("site"),
        "site_name": anomaly.get("site_name"),
        "site_name_en": anomaly.get("site_name_en"),
        "material": anomaly.get("material"),
        "handovers": list(anomaly.get("handovers") or []),
        "detail": dict(anomaly.get("detail") or {}),
        "found": found,
        "state": case.state.value if case else AnomalyState.open.value,
        "assignee": refs.get(case.assignee_id) if case and case.assignee_id else None,
        "reason": case.reason if case else None,
        "closed_by": refs.get(case.closed_by_id) if case and case.closed_by_id else None,
        "closed_at": case.closed_at if case else None,
        "updated_at": case.updated_at if case else None,
        "comments": comments,
    }


def _site_ids(session: Session, codes: set[str]) -> dict[str, tuple[int, int]]:
    """Site code → (id, region id)."""
    if not codes:
        return {}
    rows = session.execute(
        sa.select(col(Site.code), col(Site.id), col(Site.region_id)).where(
            col(Site.code).in_(codes)
        )
    )
    return {code: (sid, rid) for code, sid, rid in rows}


def _cases_in(session: Session, p: Period) -> dict[str, AnomalyCase]:
    c = AnomalyCase
    found = session.execute(
        sa.select(c).where(sa.or_(col(c.period) == p.label, col(c.day).between(p.start, p.end)))
    ).scalars()
    return {case.key: case for case in found}


def list_anomalies(
    *,
    session: Session,
    account: Account,
    period: str,
    state: str = "all",
    region: str | None = None,
    assignee: str | None = None,
) -> dict[str, Any]:
    """The period's anomalies with the work on each, and how many are in each state.

    ``assignee``: a username, or ``me``. Officials see every anomaly; other accounts those
    at the sites they act for and those assigned to them. Cases of the period whose anomaly
    the records no longer show are listed too (``found`` false), so work never vanishes.
    """
    require(account.role, Action.read_own_records)
    if state not in (*STATES, "all"):
        raise Invalid(f"state: one of {', '.join(STATES)} or all", field="state")
    p = parse_period(period)
    inside = period_engine(session, p).within(region) if region else None
    found = _found(session, p)
    cases = _cases_in(session, p)
    mine = flows._visible_sites(session, account)
    anomalies = dict(found)
    for key, held in cases.items():
        anomalies.setdefault(key, held.snapshot)
    sites = _site_ids(session, {str(a["site"]) for a in anomalies.values() if a.get("site")})
    refs = _refs(
        session,
        {c.assignee_id for c in cases.values()} | {c.closed_by_id for c in cases.values()},
    )
    counts = _comment_counts(session, [c.id for c in cases.values() if c.id is not None])
    items = []
    for key, a in anomalies.items():
        case = cases.get(key)
        site = sites.get(str(a.get("site") or ""))
        if inside is not None and (site is None or site[1] not in inside):
            continue
        assigned_here = case is not None and case.assignee_id == account.id
        if mine is not None and not assigned_here and (site is None or site[0] not in mine):
            continue
        items.append(
            _item(key, a, case, key in found, refs, counts.get(case.id or 0, 0) if case else 0)
        )
    tally = Counter(i["state"] for i in items)
    totals = {s: tally.get(s, 0) for s in STATES} | {"all": len(items)}
    totals["assigned_to_me"] = sum(
        1
        for i in items
        if i["state"] == "assigned" and (i["assignee"] or {}).get("username") == account.username
    )
    if state != "all":
        items = [i for i in items if i["state"] == state]
    if assignee:
        who = account.username if assignee == "me" else assignee
        items = [i for i in items if (i["assignee"] or {}).get("username") == who]
    items.sort(key=lambda i: (i["severity"] != "error", i["kind"], str(i["site"]), i["id"]))
    return {"period": p.label, "state": state, "region": region, "counts": totals, "items": items}


def _case(session: Session, key: str, *, lock: bool = False) -> AnomalyCase | None:
    query = sa.select(AnomalyCase).where(col(AnomalyCase.key) == key)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def _visible(session: Session, account: Account, anomaly: dict[str, Any], case: Any) -> bool:
    mine = flows._visible_sites(session, account)
    if mine is None or (case is not None and case.assignee_id == account.id):
        return True
    site = _site_ids(session, {str(anomaly.get("site") or "")}).get(str(anomaly.get("site")))
    return site is not None and site[0] in mine


def anomaly_detail(*, session: Session, account: Account, key: str) -> dict[str, Any]:
    """One anomaly, the work on it, its comments and its history (every change, oldest
    first). One the account may not read is not found, as one that does not exist."""
    require(account.role, Action.read_own_records)
    p, _ = key_period(session, key)
    found = _found(session, p)
    case = _case(session, key)
    anomaly = found.get(key) or (case.snapshot if case else None)
    if anomaly is None or not _visible(session, account, anomaly, case):
        raise _not_found(key)
    comments: list[AnomalyComment] = []
    events: list[Any] = []
    if case is not None:
        comments = list(
            session.execute(
                sa.select(AnomalyComment)
                .where(col(AnomalyComment.case_id) == case.id)
                .order_by(col(AnomalyComment.id))
            ).scalars()
        )
        history = audit.history(session, entity=ENTITY, entity_id=case.id)
        events = audit.event_views(session, history)
    ids: set[int | None] = {c.account_id for c in comments}
    if case is not None:
        ids |= {case.assignee_id, case.closed_by_id}
    refs = _refs(session, ids)
    return {
        "anomaly": _item(key, anomaly, case, key in found, refs, len(comments)),
        "period": p.label,
        "comments": [{"author": refs[c.account_id], "at": c.at, "text": c.text} for c in comments],
        "history": events,
    }


def assignable_accounts(session: Session) -> list[Account]:
    """Active accounts an anomaly may be assigned to: officials, admins, site operators and
    processors (by role, then name)."""
    order = [Role.official, Role.admin, Role.site_operator, Role.processor]
    found = session.execute(
        sa.select(Account).where(
            col(Account.active).is_(True), col(Account.role).in_(list(ASSIGNABLE_ROLES))
        )
    ).scalars()
    return sorted(found, key=lambda a: (order.index(a.role), a.username))


# --- writes --------------------------------------------------------------------------------


def _open_case(
    session: Session, key: str, anomaly: dict[str, Any] | None, day: date | None, p: Period
) -> AnomalyCase:
    """The anomaly's case, locked for the change (made now if nobody acted on it before)."""
    if anomaly is not None:
        site = _site_ids(session, {str(anomaly.get("site") or "")}).get(str(anomaly.get("site")))
        now = utcnow()
        table = AnomalyCase.__table__  # type: ignore[attr-defined]
        statement = insert_skipping(session.get_bind().dialect.name, table, ["key"], table.c.id)
        core(
            session,
            statement,
            {
                "key": key,
                "kind": str(anomaly["kind"]),
                "period": None if day else p.label,
                "day": day,
                "site_id": site[0] if site else None,
                "state": AnomalyState.open.value,
                "created_at": now,
                "updated_at": now,
                "snapshot": anomaly,
            },
        )
    case = _case(session, key, lock=True)
    if case is None:
        raise _not_found(key)
    if anomaly is not None:
        case.snapshot = anomaly
    return case


def _target(key: str) -> str:
    """What an idempotent request names as its target (the key, or its digest if longer than
    the column holds)."""
    return key if len(key) <= 64 else "anomaly#" + hashlib.sha256(key.encode()).hexdigest()[:48]


def _write(
    session: Session,
    actor: Account,
    key: str,
    operation: str,
    body: dict[str, Any],
    idempotency_key: str | None,
    change: Callable[[AnomalyCase, dict[int, dict[str, str]]], dict[str, Any]],
) -> tuple[AnomalyWork, bool]:
    """Apply ``change`` to the anomaly's case once per key; ``change`` checks who may do it
    and whether the case is in a state that allows it, changes it and says what the audit
    event holds (before and after)."""
    assert actor.id is not None
    p, day = key_period(session, key)
    found = _found(session, p)  # computed before the write transaction: it only reads
    anomaly = found.get(key)
    req = Request(actor.id, idempotency_key, operation, _target(key), idempotency.digest(body))

    def apply() -> AnomalyWork:
        case = _open_case(session, key, anomaly, day, p)
        if not _visible(session, actor, case.snapshot, case):
            raise _not_found(key)
        refs = _refs(session, {case.assignee_id, case.closed_by_id})
        before = {"state": case.state.value}
        event = change(case, refs)
        case.updated_at = utcnow()
        session.flush()
        audit.record_event(
            session,
            account_id=actor.id,
            action=operation,
            entity=ENTITY,
            entity_id=case.id,
            before=before | event.get("before", {}),
            after={"anomaly": key, "state": case.state.value} | event.get("after", {}),
        )
        refs = _refs(session, {case.assignee_id, case.closed_by_id})
        comments = _comment_counts(session, [case.id or 0]).get(case.id or 0, 0)
        return AnomalyWork.model_validate(
            _item(key, case.snapshot, case, anomaly is not None, refs, comments)
        )

    return once(session, req, apply, AnomalyWork)


def _is_assignee(case: AnomalyCase, actor: Account) -> bool:
    return case.assignee_id is not None and case.assignee_id == actor.id


def _username(refs: dict[int, dict[str, str]], account_id: int | None) -> str | None:
    return refs[account_id]["username"] if account_id in refs else None


def assign(
    *,
    session: Session,
    actor: Account,
    key: str,
    assignee: str,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[AnomalyWork, bool]:
    """Give the anomaly to an official, admin, site operator or processor (officials and
    admins). Assigning a closed one is a 409 (reopen it first), and so is assigning it to
    whoever has it already."""
    require(actor.role, Action.manage_anomalies)

    def change(case: AnomalyCase, refs: dict[int, dict[str, str]]) -> dict[str, Any]:
        target = session.execute(
            sa.select(Account).where(col(Account.username) == assignee)
        ).scalar_one_or_none()
        if target is None:
            raise Invalid(f"assignee: no account {assignee!r}", field="assignee")
        if not target.active:
            raise Invalid(f"assignee: the account {assignee!r} is disabled", field="assignee")
        if Role(target.role) not in ASSIGNABLE_ROLES:
            raise Invalid(
                f"assignee: {assignee!r} is a {Role(target.role).value}; anomalies go to an "
                "official, admin, site operator or processor",
                field="assignee",
            )
        if case.state in CLOSED_STATES:
            raise Conflict(
                f"id: the anomaly is {case.state.value}; reopen it before assigning it",
                field="id",
            )
        if case.assignee_id == target.id:
            raise Conflict(
                f"assignee: the anomaly is already assigned to {assignee}", field="assignee"
            )
        before = {"assignee": _username(refs, case.assignee_id)}
        case.assignee_id = target.id
        case.state = AnomalyState.assigned
        after: dict[str, Any] = {"assignee": target.username}
        if note:
            after["note"] = note
        return {"before": before, "after": after}

    body = {"assignee": assignee, "note": note}
    return _write(session, actor, key, "anomaly.assign", body, idempotency_key, change)


def comment(
    *,
    session: Session,
    actor: Account,
    key: str,
    text: str,
    idempotency_key: str | None = None,
) -> tuple[AnomalyWork, bool]:
    """Add a note (officials, admins, and the account the anomaly is assigned to)."""
    require(actor.role, Action.read_own_records)
    text = text.strip()
    if not text:
        raise Invalid("text: write the comment", field="text")

    def change(case: AnomalyCase, refs: dict[int, dict[str, str]]) -> dict[str, Any]:
        if not (allowed(actor.role, Action.manage_anomalies) or _is_assignee(case, actor)):
            raise Forbidden(
                "only officials, admins and the account it is assigned to comment on an anomaly"
            )
        assert actor.id is not None and case.id is not None
        note = AnomalyComment(case_id=case.id, account_id=actor.id, text=text)
        session.add(note)
        session.flush()
        return {"after": {"comment": note.id, "text": text}}

    return _write(session, actor, key, "anomaly.comment", {"text": text}, idempotency_key, change)


def close(
    *,
    session: Session,
    actor: Account,
    key: str,
    resolution: str,
    reason: str,
    idempotency_key: str | None = None,
) -> tuple[AnomalyWork, bool]:
    """Close the anomaly as ``resolved`` (dealt with) or ``dismissed`` (no problem), saying
    why. Officials and admins do either; the assignee may close it as resolved."""
    require(actor.role, Action.read_own_records)
    if resolution not in ("resolved", "dismissed"):
        raise Invalid("resolution: resolved or dismissed", field="resolution")
    reason = reason.strip()
    if not reason:
        raise Invalid("reason: say why the anomaly is closed", field="reason")

    def change(case: AnomalyCase, refs: dict[int, dict[str, str]]) -> dict[str, Any]:
        if not allowed(actor.role, Action.manage_anomalies):
            if not _is_assignee(case, actor):
                raise Forbidden(
                    "only officials, admins and the account it is assigned to close an anomaly"
                )
            if resolution != "resolved":
                raise Forbidden(
                    "resolution: the account an anomaly is assigned to closes it as resolved; "
                    "dismissing it is for officials and admins",
                    field="resolution",
                )
        if case.state in CLOSED_STATES:
            raise Conflict(f"id: the anomaly is already {case.state.value}", field="id")
        case.state = AnomalyState(resolution)
        case.reason = reason
        case.closed_by_id = actor.id
        case.closed_at = utcnow()
        return {"after": {"reason": reason}}

    body = {"resolution": resolution, "reason": reason}
    return _write(session, actor, key, "anomaly.close", body, idempotency_key, change)


def reopen(
    *,
    session: Session,
    actor: Account,
    key: str,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[AnomalyWork, bool]:
    """Open a closed anomaly again (officials and admins): assigned again to whoever had it,
    or open if nobody did."""
    require(actor.role, Action.manage_anomalies)
    reason = (reason or "").strip() or None

    def change(case: AnomalyCase, refs: dict[int, dict[str, str]]) -> dict[str, Any]:
        if case.state not in CLOSED_STATES:
            raise Conflict(f"id: the anomaly is {case.state.value}, not closed", field="id")
        before = {"reason": case.reason}
        case.state = AnomalyState.assigned if case.assignee_id else AnomalyState.open
        case.reason = None
        case.closed_by_id = None
        case.closed_at = None
        return {"before": before, "after": {"reason": reason} if reason else {}}

    body = {"reason": reason}
    return _write(session, actor, key, "anomaly.reopen", body, idempotency_key, change)
