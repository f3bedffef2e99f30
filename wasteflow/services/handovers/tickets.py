"""Receipts by ticket: a receiving site confirms a load by the ticket the recording phone
showed, whichever of the two phones reaches the server first.

A ticket names its load by the account that owns the signing device and the load's
idempotency key: the handover that load becomes is ``(recorded_by, idempotency_key)``.

- The load is already here (the collector synced first): the receipt applies to it at once,
  as a receipt by code would, after checking that the load says what the ticket says.
- It is not: the ticket's signature is checked, the receipt is checked against what the
  ticket says (caps, refusal reason, route), and kept as a ``PendingReceipt`` on the load's
  identity. The transaction that records the load (any of the scan paths, which all write
  through ``store._record_rows``) applies it: :func:`apply_pending`.

A load whose source, destination, material, mass or units differ from its ticket's is not
confirmed by it: the receipt by ticket is refused with the differences (a 422 if the load is
here; the pending receipt turns ``refused`` with them when the load arrives), and the site
confirms the load as it arrived, by its manifest or code. So is a ticket of a revoked device,
then too. Either order ends in the same handover state and the same audit trail of it.

Two phones, one load: the recording phone's sync inserts the handover (its foreign key takes
a share lock on the recorder's account row until it commits) and then looks for pending
receipts; the receipt by ticket first locks that same account row for update and then looks
for the handover. Whichever goes second waits for the first to commit and then sees what it
wrote, so a receipt is never left pending beside the load it names (PostgreSQL; on SQLite
writers take turns anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.errors import Conflict, Forbidden, Invalid, WasteflowError
from wasteflow.models import Account, AccountSite, Handover, Material, PendingReceipt, Site
from wasteflow.permissions import Action, require
from wasteflow.schemas import HandoverPublic, ReceiptCreate
from wasteflow.schemas_field import ReceiptByTicket, TicketLoad, TicketReceiptPublic
from wasteflow.services import devices, idempotency
from wasteflow.services.audit import record_event
from wasteflow.services.handovers.reading import handover_views
from wasteflow.services.handovers.receipts import (
    Declared,
    _confirm,
    _receipt_values,
    apply_receipt,
)
from wasteflow.services.handovers.rules import own_sites, receipt_hash
from wasteflow.services.handovers.store import _by_key, _get
from wasteflow.services.idempotency import Request, once
from wasteflow.tickets import Ticket, parse_ticket
from wasteflow.types import HandoverStatus, g_to_kg, kg_to_g, utcnow

_SESSION_KEY = "wasteflow.received_by_ticket"


def received_by_ticket(session: Session) -> set[int]:
    """Ids of handovers this session recorded whose pending receipt was applied as they were
    written: their answers are read back, not built from the request."""
    return session.info.setdefault(_SESSION_KEY, set())  # type: ignore[no-any-return]


class _Load:
    """What a ticket says, in the database's terms (ids, grams)."""

    def __init__(self, session: Session, ticket: Ticket) -> None:
        def site(code: str, what: str) -> Site:
            row = session.execute(
                sa.select(Site).where(col(Site.code) == code)
            ).scalar_one_or_none()
            if row is None:
                raise Invalid(f"ticket: its {what} {code} is not a registered site", field="ticket")
            return row

        self.from_site = site(ticket.from_site, "source")
        self.to_site = site(ticket.to_site, "destination")
        material = session.execute(
            sa.select(Material).where(col(Material.code) == ticket.material)
        ).scalar_one_or_none()
        if material is None:
            raise Invalid(f"ticket: unknown material {ticket.material!r}", field="ticket")
        self.material = material
        self.mass_g = kg_to_g(ticket.mass_kg)
        self.units = ticket.units


def _kg(grams: int) -> str:
    return format(g_to_kg(grams).normalize(), "f")


def _mismatch(session: Session, want: Mapping[str, Any], h: Handover) -> str | None:
    """How a handover differs from what its ticket says, as a refusal (None: it agrees)."""
    sites = dict(
        session.execute(
            sa.select(col(Site.id), col(Site.code)).where(
                col(Site.id).in_(
                    {want["from_site_id"], want["to_site_id"], h.from_site_id, h.to_site_id}
                )
            )
        ).all()
    )
    materials = dict(
        session.execute(
            sa.select(col(Material.id), col(Material.code)).where(
                col(Material.id).in_({want["material_id"], h.material_id})
            )
        ).all()
    )
    diffs = []
    for field, label in (("from_site_id", "source"), ("to_site_id", "destination")):
        if want[field] != getattr(h, field):
            diffs.append(
                f"{label} {sites[want[field]]} on the ticket, {sites[getattr(h, field)]} recorded"
            )
    if want["material_id"] != h.material_id:
        diffs.append(
            f"material {materials[want['material_id']]} on the ticket, "
            f"{materials[h.material_id]} recorded"
        )
    if want["declared_mass_g"] != h.declared_mass_g:
        diffs.append(
            f"{_kg(want['declared_mass_g'])} kg on the ticket, {_kg(h.declared_mass_g)} kg recorded"
        )
    if want["declared_units"] != h.declared_units:
        diffs.append(f"{want['declared_units']} units on the ticket, {h.declared_units} recorded")
    if not diffs:
        return None
    return (
        f"ticket: {h.code} was recorded otherwise than its ticket says ({'; '.join(diffs)}); "
        "the ticket does not confirm it: confirm the load as it arrived, by its manifest or code"
    )


def _newest(session: Session, h: Handover) -> Handover:
    """The newest record of a load: a load corrected before receipt continues as its
    correction."""
    while h.status == HandoverStatus.superseded:
        nxt = session.execute(
            sa.select(Handover).where(col(Handover.corrects_id) == h.id)
        ).scalar_one_or_none()
        if nxt is None:
            break
        h = nxt
    return h


def _ticket_load(ticket: Ticket, owner: Account) -> TicketLoad:
    return TicketLoad(
        ident=ticket.ident,
        device_id=ticket.device_id,
        recorded_by=owner.username,
        from_site=ticket.from_site,
        to_site=ticket.to_site,
        material=ticket.material,
        declared_mass_kg=float(ticket.mass_kg),
        units=ticket.units,
        device_time=ticket.device_time,
    )


def confirm_by_ticket(
    *,
    session: Session,
    account: Account,
    data: ReceiptByTicket,
    idempotency_key: str | None = None,
) -> tuple[TicketReceiptPublic, bool]:
    """Confirm a load's intake by its ticket (see the module's text). Returns the receipt
    (applied, or pending until the load arrives) and whether this call made it."""
    require(account.role, Action.confirm_receipt)
    assert account.id is not None
    ticket, owner = devices.check_ticket(session, data.ticket)
    load = _Load(session, ticket)
    if load.to_site.id not in own_sites(session, account):
        raise Forbidden(
            f"ticket: this load goes to {load.to_site.code}, a site you do not act for",
            field="ticket",
        )
    receipt = ReceiptCreate.model_validate(data.model_dump(exclude={"ticket"}))
    digest = receipt_hash(receipt)
    req = Request(
        account.id,
        idempotency_key,
        "handover.receipt_ticket",
        f"ticket:{ticket.ident}",
        idempotency.digest({"ticket": ticket.text, "receipt": digest}),
    )
    answer, made = once(
        session,
        req,
        lambda: _receive(session, account, owner, ticket, load, receipt, idempotency_key, digest),
        TicketReceiptPublic,
    )
    if not made and answer.state == "pending":
        # A retry of a receipt that waited: say what became of it since.
        assert owner.id is not None
        answer = _pending_view(session, owner.id, ticket.key) or answer
    return answer, made


def _receive(
    session: Session,
    account: Account,
    owner: Account,
    ticket: Ticket,
    load: _Load,
    receipt: ReceiptCreate,
    key: str | None,
    digest: str,
) -> TicketReceiptPublic:
    assert owner.id is not None and account.id is not None
    # Taken before looking for the load: see the module's text.
    session.execute(sa.select(col(Account.id)).where(col(Account.id) == owner.id).with_for_update())
    want = {
        "from_site_id": load.from_site.id,
        "to_site_id": load.to_site.id,
        "material_id": load.material.id,
        "declared_mass_g": load.mass_g,
        "declared_units": load.units,
    }
    h = _by_key(session, owner.id, ticket.key)

    def answer(state: str, at: datetime, view: HandoverPublic | None = None) -> TicketReceiptPublic:
        return TicketReceiptPublic(
            state=state,  # type: ignore[arg-type]
            ticket=_ticket_load(ticket, owner),
            handover=view,
            received_mass_kg=float(receipt.received_mass_kg),
            refused_mass_kg=float(receipt.refused_mass_kg),
            refusal_reason=receipt.refusal_reason,
            route=receipt.route,
            received_at=at,
            received_by=account.username,
        )

    if h is not None:
        h = _newest(session, h)
        problem = _mismatch(session, want, h)
        if problem:
            raise Invalid(problem, field="ticket", extra={"handover": h.code})
        view = _confirm(session, account, h.code, receipt, key, digest, ticket=ticket.ident)
        assert view.received_at is not None
        return answer("applied", view.received_at, view)
    held = session.execute(
        sa.select(PendingReceipt).where(
            col(PendingReceipt.recorder_id) == owner.id,
            col(PendingReceipt.idempotency_key) == ticket.key,
        )
    ).scalar_one_or_none()
    if held is not None:
        by = session.get(Account, held.received_by_id)
        raise Conflict(
            f"ticket: this load was already confirmed by its ticket "
            f"({by.username if by else '?'}, {held.received_at:%Y-%m-%d %H:%M} UTC); "
            "a load is confirmed once"
        )
    # Checked now against what the ticket says, so the phone hears of a bad receipt today,
    # not when the load arrives.
    standin = Declared(declared_mass_g=load.mass_g, declared_units=load.units)
    _receipt_values(session, standin, load.to_site, load.material, receipt)
    now = utcnow()
    row = PendingReceipt(
        recorder_id=owner.id,
        idempotency_key=ticket.key,
        device_id=ticket.device_id,
        ticket=ticket.text,
        device_time=ticket.device_time,
        receipt=receipt.model_dump(mode="json"),
        receipt_key=key,
        receipt_hash=digest,
        received_by_id=account.id,
        received_at=now,
        **want,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        account_id=account.id,
        action="handover.receipt_pending",
        entity="ticket",
        entity_id=ticket.ident,
        after={
            "recorded_by": owner.username,
            "from_site": ticket.from_site,
            "to_site": ticket.to_site,
            "material": ticket.material,
            "declared_mass_g": load.mass_g,
            "units": load.units,
            "receipt": receipt.model_dump(mode="json"),
        },
    )
    return answer("pending", now)


def apply_pending(
    session: Session, account: Account, inserted: Mapping[str, tuple[int, str]]
) -> None:
    """Apply the pending receipts of loads just recorded by ``account`` (idempotency key →
    (id, code)), in the transaction that recorded them. A receipt the load now refutes
    (another mass, material, source or destination; a revoked device; a receiver who no
    longer acts for the site or a route no longer run) turns ``refused`` with the reason, and
    the load stays in transit: the recording is never refused for a receipt's sake."""
    if not inserted:
        return
    pending = (
        session.execute(
            sa.select(PendingReceipt).where(
                col(PendingReceipt.recorder_id) == account.id,
                col(PendingReceipt.idempotency_key).in_(list(inserted)),
                col(PendingReceipt.state) == "pending",
            )
        )
        .scalars()
        .all()
    )
    for p in pending:
        hid, code = inserted[p.idempotency_key]
        h = _get(session, hid)
        ident = f"{p.device_id}:{p.idempotency_key}"
        want = {
            "from_site_id": p.from_site_id,
            "to_site_id": p.to_site_id,
            "material_id": p.material_id,
            "declared_mass_g": p.declared_mass_g,
            "declared_units": p.declared_units,
        }
        problem = _mismatch(session, want, h)
        if problem is None and devices.device_revoked(session, p.device_id):
            problem = f"ticket: device {p.device_id} was revoked; its tickets are refused"
        if problem is None and not _acts_for(session, p.received_by_id, h.to_site_id):
            problem = "ticket: the account that confirmed it no longer acts for the site"
        if problem is None:
            try:
                with session.begin_nested():
                    apply_receipt(
                        session,
                        h,
                        p.received_by_id,
                        ReceiptCreate.model_validate(p.receipt),
                        p.receipt_key,
                        p.receipt_hash,
                        at=p.received_at,
                        ticket=ident,
                    )
            except WasteflowError as exc:
                problem = f"receipt: {exc.detail}"
        _resolve(session, p, hid, code, problem)
        if problem is None:
            received_by_ticket(session).add(hid)


def _acts_for(session: Session, account_id: int, site_id: int) -> bool:
    return (
        session.execute(
            sa.select(col(AccountSite.site_id)).where(
                col(AccountSite.account_id) == account_id, col(AccountSite.site_id) == site_id
            )
        ).first()
        is not None
    )


def _resolve(session: Session, p: PendingReceipt, hid: int, code: str, problem: str | None) -> None:
    state = "applied" if problem is None else "refused"
    session.execute(
        sa.update(PendingReceipt)
        .where(col(PendingReceipt.id) == p.id)
        .values(state=state, handover_id=hid, resolved_at=utcnow(), reason=problem)
    )
    if problem is not None:
        record_event(
            session,
            account_id=p.received_by_id,
            action="handover.receipt_ticket_refused",
            entity="ticket",
            entity_id=f"{p.device_id}:{p.idempotency_key}",
            before={"state": "pending"},
            after={"state": "refused", "handover": code, "reason": problem},
        )


def _pending_view(session: Session, recorder_id: int, key: str) -> TicketReceiptPublic | None:
    p = session.execute(
        sa.select(PendingReceipt).where(
            col(PendingReceipt.recorder_id) == recorder_id,
            col(PendingReceipt.idempotency_key) == key,
        )
    ).scalar_one_or_none()
    return pending_views(session, [p])[0] if p is not None else None


def pending_views(session: Session, rows: list[PendingReceipt]) -> list[TicketReceiptPublic]:
    """Public views of receipts by ticket that waited for their load."""
    if not rows:
        return []
    ids = {i for p in rows for i in (p.recorder_id, p.received_by_id)}
    names = dict(
        session.execute(
            sa.select(col(Account.id), col(Account.username)).where(col(Account.id).in_(ids))
        ).all()
    )
    handovers = {
        h.id: h
        for h in handover_views(
            session,
            list(
                session.execute(
                    sa.select(Handover).where(
                        col(Handover.id).in_([p.handover_id for p in rows if p.handover_id])
                    )
                ).scalars()
            ),
        )
    }
    out = []
    for p in rows:
        t = parse_ticket(p.ticket)
        r = p.receipt
        out.append(
            TicketReceiptPublic(
                state=p.state,  # type: ignore[arg-type]
                ticket=TicketLoad(
                    ident=t.ident,
                    device_id=p.device_id,
                    recorded_by=names[p.recorder_id],
                    from_site=t.from_site,
                    to_site=t.to_site,
                    material=t.material,
                    declared_mass_kg=float(t.mass_kg),
                    units=t.units,
                    device_time=t.device_time,
                ),
                handover=handovers.get(p.handover_id) if p.handover_id else None,
                reason=p.reason,
                received_mass_kg=float(Decimal(str(r["received_mass_kg"]))),
                refused_mass_kg=float(Decimal(str(r.get("refused_mass_kg", 0)))),
                refusal_reason=r.get("refusal_reason"),
                route=r.get("route"),
                received_at=p.received_at,
                received_by=names[p.received_by_id],
            )
        )
    return out


def ticket_receipts(
    *, session: Session, account: Account, since: datetime, limit: int = 100
) -> list[TicketReceiptPublic]:
    """The account's receipts by ticket that waited for their load: those still waiting, and
    those resolved since ``since`` (applied or refused), newest first."""
    rows = (
        session.execute(
            sa.select(PendingReceipt)
            .where(
                col(PendingReceipt.received_by_id) == account.id,
                sa.or_(
                    col(PendingReceipt.state) == "pending",
                    col(PendingReceipt.resolved_at) >= since,
                ),
            )
            .order_by(col(PendingReceipt.id).desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    return pending_views(session, list(rows))
