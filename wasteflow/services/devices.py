"""Phones' signing keys: registered at login, listed and revoked by an admin, and what a
ticket's signature is checked against.

At login the field app makes an Ed25519 key pair in WebCrypto, keeps the private half in
IndexedDB (not extractable: no script can read it out, not even the app's own) and registers
the public half here; the server answers with the device id the phone prints in its tickets.
A device belongs to the account that registered it: a ticket names the load by the device's
account and the load's idempotency key, so a phone can only vouch for its own account's loads.
An admin revokes a lost phone's key; from then on its tickets are refused, here at once and
on receiving phones once they have refreshed their bundle.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.db import unit_of_work
from wasteflow.errors import Conflict, Invalid, NotFound
from wasteflow.models import (
    Account,
    AccountRound,
    AccountSite,
    CollectionRound,
    DeviceKey,
    FlowYearly,
    RoundSite,
)
from wasteflow.permissions import Action, require
from wasteflow.qr import QRError
from wasteflow.schemas import DevicePublic, SenderDevice
from wasteflow.schemas_field import DeviceCreate
from wasteflow.services import idempotency
from wasteflow.services.accounts import get_account
from wasteflow.services.audit import record_event
from wasteflow.services.idempotency import Request, once
from wasteflow.tickets import DeviceKeyInfo, Ticket, new_device_id, parse_ticket, verify_ticket
from wasteflow.types import utcnow

MAX_SENDER_DEVICES = 500
MAX_REVOKED = 1000
_ID_ATTEMPTS = 8


def _views(session: Session, rows: list[DeviceKey]) -> list[DevicePublic]:
    ids = {i for r in rows for i in (r.account_id, r.revoked_by_id) if i is not None}
    names = (
        dict(
            session.execute(
                sa.select(col(Account.id), col(Account.username)).where(col(Account.id).in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    return [
        DevicePublic(
            device_id=r.device_id,
            account=names[r.account_id],
            label=r.label,
            public_key=r.public_key,
            status="revoked" if r.revoked_at else "active",
            created_at=r.created_at,
            last_seen_at=r.last_seen_at,
            revoked_at=r.revoked_at,
            revoked_by=names.get(r.revoked_by_id),
            revoke_reason=r.revoke_reason,
        )
        for r in rows
    ]


def register(
    *,
    session: Session,
    account: Account,
    data: DeviceCreate,
    idempotency_key: str | None = None,
) -> tuple[DevicePublic, bool]:
    """Register a phone's public key for ``account``. Returns the device and whether this call
    registered it: the same key registered again by the same account (a retry, with or
    without its Idempotency-Key) gets the same device; another account's key is a 409."""
    require(account.role, Action.record_handover)
    account_id = account.id
    assert account_id is not None  # an authenticated account is a stored row
    req = Request(
        account_id,
        idempotency_key,
        "device.register",
        "-",
        idempotency.digest(data.model_dump(mode="json")),
    )

    fresh = False

    def apply() -> DevicePublic:
        nonlocal fresh
        held = session.execute(
            sa.select(DeviceKey).where(col(DeviceKey.public_key) == data.public_key)
        ).scalar_one_or_none()
        if held is not None:
            if held.account_id != account.id:
                raise Conflict(
                    "public_key: this key is registered to another account; make a new one",
                    field="public_key",
                )
            if held.revoked_at is not None:
                raise Conflict(
                    "public_key: this key was revoked; make a new one", field="public_key"
                )
            held.last_seen_at = utcnow()
            session.add(held)
            return _views(session, [held])[0]
        for _ in range(_ID_ATTEMPTS):
            device_id = new_device_id()
            clash = session.execute(
                sa.select(col(DeviceKey.id)).where(col(DeviceKey.device_id) == device_id)
            ).first()
            if clash is None:
                break
        else:  # pragma: no cover - two billion ids
            raise Conflict("no free device id; try again")
        now = utcnow()
        row = DeviceKey(
            device_id=device_id,
            account_id=account_id,
            public_key=data.public_key,
            label=data.label,
            created_at=now,
            last_seen_at=now,
        )
        session.add(row)
        session.flush()
        record_event(
            session,
            account_id=account.id,
            action="device.register",
            entity="device",
            entity_id=device_id,
            after={"account": account.username, "public_key": data.public_key, "label": data.label},
        )
        fresh = True
        return _views(session, [row])[0]

    view, _made = once(session, req, apply, DevicePublic)
    return view, fresh


def list_devices(*, session: Session, actor: Account, username: str | None) -> list[DevicePublic]:
    """An account's devices, newest first: an admin's for any account, anyone else's own."""
    if username is None or username == actor.username:
        target = actor
    else:
        require(actor.role, Action.manage_accounts)
        target = get_account(session=session, username=username)
    rows = (
        session.execute(
            sa.select(DeviceKey)
            .where(col(DeviceKey.account_id) == target.id)
            .order_by(col(DeviceKey.id).desc())
        )
        .scalars()
        .all()
    )
    return _views(session, list(rows))


def revoke(
    *,
    session: Session,
    actor: Account,
    device_id: str,
    reason: str,
    idempotency_key: str | None = None,
) -> tuple[DevicePublic, bool]:
    """Revoke a device (admin): its tickets are refused from now on, already pending receipts
    of its tickets included. Audited; a second revocation is a 409."""
    require(actor.role, Action.manage_accounts)
    assert actor.id is not None
    req = Request(
        actor.id,
        idempotency_key,
        "device.revoke",
        device_id[:64],
        idempotency.digest({"reason": reason}),
    )

    def apply() -> DevicePublic:
        row = session.execute(
            sa.select(DeviceKey).where(col(DeviceKey.device_id) == device_id)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no device {device_id!r}")
        if row.revoked_at is not None:
            raise Conflict(f"device {device_id!r} was already revoked at {row.revoked_at:%Y-%m-%d}")
        # Conditional on the row still being active: of two revocations racing, one wins.
        done = session.execute(
            sa.update(DeviceKey)
            .where(col(DeviceKey.id) == row.id, col(DeviceKey.revoked_at).is_(None))
            .values(revoked_at=utcnow(), revoked_by_id=actor.id, revoke_reason=reason)
        )
        assert isinstance(done, sa.CursorResult)
        if done.rowcount != 1:
            raise Conflict(f"device {device_id!r} was already revoked")
        session.refresh(row)
        record_event(
            session,
            account_id=actor.id,
            action="device.revoke",
            entity="device",
            entity_id=device_id,
            before={"status": "active"},
            after={"status": "revoked", "reason": reason},
        )
        return _views(session, [row])[0]

    return once(session, req, apply, DevicePublic)


def seen(session: Session, account: Account, device_id: str | None) -> DevicePublic | None:
    """The account's device ``device_id`` (its status for the phone's bundle), marked seen
    now; None if there is no such device of this account (the phone registers a new one)."""
    if not device_id:
        return None
    row = session.execute(
        sa.select(DeviceKey).where(
            col(DeviceKey.device_id) == device_id, col(DeviceKey.account_id) == account.id
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.revoked_at is None:
        with unit_of_work(session):
            session.execute(
                sa.update(DeviceKey)
                .where(col(DeviceKey.id) == row.id)
                .values(last_seen_at=utcnow())
            )
        session.refresh(row)
    return _views(session, [row])[0]


def sender_devices(session: Session, site_ids: set[int]) -> list[SenderDevice]:
    """Active devices of the accounts that send loads to these sites: those acting for a site
    that has sent them loads (the yearly totals), the collectors of a round whose sources
    have, or that ends at one of them."""
    if not site_ids:
        return []
    senders = (
        sa.select(col(FlowYearly.from_site_id))
        .where(col(FlowYearly.to_site_id).in_(site_ids))
        .distinct()
    )
    acting = sa.select(col(AccountSite.account_id)).where(col(AccountSite.site_id).in_(senders))
    on_rounds = (
        sa.select(col(AccountRound.account_id))
        .join(CollectionRound, col(CollectionRound.id) == AccountRound.round_id)
        .join(RoundSite, col(RoundSite.round_id) == CollectionRound.id, isouter=True)
        .where(
            sa.or_(
                col(CollectionRound.collection_point_id).in_(site_ids),
                col(RoundSite.site_id).in_(senders),
            )
        )
    )
    accounts = sa.union(acting, on_rounds).subquery()
    rows = session.execute(
        sa.select(
            col(DeviceKey.device_id),
            col(Account.username),
            col(Account.display_name),
            col(DeviceKey.public_key),
        )
        .join(Account, col(Account.id) == DeviceKey.account_id)
        .where(
            col(DeviceKey.account_id).in_(sa.select(accounts.c[0])),
            col(DeviceKey.revoked_at).is_(None),
            col(Account.active).is_(True),
        )
        .order_by(col(DeviceKey.id).desc())
        .limit(MAX_SENDER_DEVICES)
    ).all()
    return [
        SenderDevice(device_id=d, account=u, display_name=n, public_key=k) for d, u, n, k in rows
    ]


def revoked_ids(session: Session) -> list[str]:
    return list(
        session.execute(
            sa.select(col(DeviceKey.device_id))
            .where(col(DeviceKey.revoked_at).is_not(None))
            .order_by(col(DeviceKey.revoked_at).desc())
            .limit(MAX_REVOKED)
        ).scalars()
    )


def check_ticket(session: Session, text: str, field: str = "ticket") -> tuple[Ticket, Account]:
    """A scanned ticket verified against its device's key, and the account that owns the
    device (whose load it names). A refusal is a 422 naming ``field`` with the reason."""
    try:
        parsed = parse_ticket(text.strip())
        row = session.execute(
            sa.select(DeviceKey).where(col(DeviceKey.device_id) == parsed.device_id)
        ).scalar_one_or_none()
        info = (
            DeviceKeyInfo(row.device_id, row.public_key, row.revoked_at is not None)
            if row is not None
            else None
        )
        ticket = verify_ticket(text.strip(), info)
    except QRError as exc:
        raise Invalid(
            f"{field}: {exc} ({exc.reason})", field=field, extra={"reason": exc.reason}
        ) from exc
    assert row is not None  # verified, so registered
    owner = session.get(Account, row.account_id)
    assert owner is not None
    return ticket, owner


def device_revoked(session: Session, device_id: str) -> bool:
    return bool(
        session.execute(
            sa.select(col(DeviceKey.revoked_at)).where(col(DeviceKey.device_id) == device_id)
        ).scalar()
    )
