"""Administering accounts: editing roles and bindings, disabling and enabling, resetting a
password (the user must change it before anything else), and a user changing their own.

Every change is an audit event (never a password or its hash). A change that should lock
someone out takes effect at once in the process that made it (its cached copies of the
account are dropped after the commit) and within the token cache's five seconds elsewhere;
disabling and resetting also revoke the account's tokens.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.errors import Conflict, Invalid
from wasteflow.models import (
    Account,
    AccountRound,
    AccountSite,
    ApiToken,
    CollectionRound,
    Organisation,
    Site,
)
from wasteflow.permissions import Action, require
from wasteflow.schemas import AccountPublic
from wasteflow.schemas_admin import AccountUpdate, PasswordChange, PasswordReset
from wasteflow.security import hash_password, token_hash, verify_password
from wasteflow.services import audit, cache, idempotency, logins
from wasteflow.services.accounts import (
    account_public,
    account_token_digests,
    check_bindings,
    get_account,
    ids_by_code,
)
from wasteflow.services.audit import changes, record_event
from wasteflow.services.idempotency import Request, once
from wasteflow.services.rounds import refuse_nulls
from wasteflow.types import Role, utcnow


def _locked(session: Session, username: str) -> Account:
    account = session.execute(
        sa.select(Account).where(col(Account.username) == username).with_for_update()
    ).scalar_one_or_none()
    if account is None:
        get_account(session=session, username=username)  # raises NotFound
    assert account is not None
    return account


def _forget(session: Session, username: str) -> None:
    """Drop this process's cached copies of the account (after the change is committed)."""
    account = get_account(session=session, username=username)
    assert account.id is not None
    cache.forget_account(session, account.id, account_token_digests(session, account.id))
    session.rollback()  # end the read


def _keep_an_admin(session: Session, actor: Account, account: Account, what: str) -> None:
    """An admin may not lock themselves out, nor leave the district without an active admin."""
    if account.id == actor.id:
        raise Conflict(f"{what}: not on your own account; ask another admin", field=what)
    others = session.execute(
        sa.select(sa.func.count())
        .select_from(Account)
        .where(col(Account.role) == Role.admin, col(Account.active), col(Account.id) != account.id)
    ).scalar_one()
    if not others:
        raise Conflict(f"{what}: {account.username} is the last active admin", field=what)


def _revoke_all(session: Session, account_id: int, keep: str | None = None) -> int:
    stmt = sa.update(ApiToken).where(
        col(ApiToken.account_id) == account_id, col(ApiToken.revoked_at).is_(None)
    )
    if keep is not None:
        stmt = stmt.where(col(ApiToken.token_hash) != keep)
    return int(session.execute(stmt.values(revoked_at=utcnow())).rowcount)  # type: ignore[attr-defined]


def update_account(
    *,
    session: Session,
    actor: Account,
    username: str,
    data: AccountUpdate,
    idempotency_key: str | None = None,
) -> tuple[AccountPublic, bool]:
    """Change an account's display name, role, organisation, sites or rounds (lists are
    replaced). The bindings it ends with must make sense for the role it ends with."""
    require(actor.role, Action.manage_accounts)
    refuse_nulls(data, ("display_name", "role", "sites", "rounds"))
    assert actor.id is not None
    body = data.model_dump(mode="json", exclude_unset=True)
    req = Request(actor.id, idempotency_key, "account.update", username, idempotency.digest(body))

    def apply() -> AccountPublic:
        account = _locked(session, username)
        assert account.id is not None
        before = account_public(session, account)
        if data.display_name is not None:
            account.display_name = data.display_name
        if data.role is not None and data.role != account.role:
            if account.role == Role.admin:
                _keep_an_admin(session, actor, account, "role")
            account.role = data.role
        if "organisation_code" in data.model_fields_set:
            account.organisation_id = (
                ids_by_code(session, Organisation, [data.organisation_code], "organisation_code")[0]
                if data.organisation_code
                else None
            )
        site_ids = (
            ids_by_code(session, Site, data.sites, "sites")
            if data.sites is not None
            else list(
                session.execute(
                    sa.select(col(AccountSite.site_id)).where(
                        col(AccountSite.account_id) == account.id
                    )
                ).scalars()
            )
        )
        round_ids = (
            ids_by_code(session, CollectionRound, data.rounds, "rounds")
            if data.rounds is not None
            else list(
                session.execute(
                    sa.select(col(AccountRound.round_id)).where(
                        col(AccountRound.account_id) == account.id
                    )
                ).scalars()
            )
        )
        check_bindings(session, account.role, site_ids, round_ids)
        if data.sites is not None:
            session.execute(sa.delete(AccountSite).where(col(AccountSite.account_id) == account.id))
            session.add_all(AccountSite(account_id=account.id, site_id=s) for s in site_ids)
        if data.rounds is not None:
            session.execute(
                sa.delete(AccountRound).where(col(AccountRound.account_id) == account.id)
            )
            session.add_all(AccountRound(account_id=account.id, round_id=r) for r in round_ids)
        session.flush()
        after = account_public(session, account)
        old, new = changes(before.model_dump(mode="json"), after.model_dump(mode="json"))
        if new:
            record_event(
                session,
                account_id=actor.id,
                action="account.update",
                entity="account",
                entity_id=account.id,
                before=old,
                after=new,
            )
        return after

    result = once(session, req, apply, AccountPublic)
    _forget(session, username)
    return result


def set_active(
    *,
    session: Session,
    actor: Account,
    username: str,
    active: bool,
    idempotency_key: str | None = None,
) -> tuple[AccountPublic, bool]:
    """Disable an account (its tokens are revoked: its next request is refused) or enable it
    again (it logs in anew). Doing what is already done is a 409."""
    require(actor.role, Action.manage_accounts)
    assert actor.id is not None
    action = "account.enable" if active else "account.disable"
    req = Request(actor.id, idempotency_key, action, username, idempotency.digest({}))

    def apply() -> AccountPublic:
        account = _locked(session, username)
        assert account.id is not None
        if account.active == active:
            state = "enabled" if active else "disabled"
            raise Conflict(f"account {username} is already {state}", field="username")
        if not active and (account.role == Role.admin or account.id == actor.id):
            _keep_an_admin(session, actor, account, "username")
        account.active = active
        after: dict[str, Any] = {"active": active}
        if not active:
            after["tokens_revoked"] = _revoke_all(session, account.id)
        session.flush()
        record_event(
            session,
            account_id=actor.id,
            action=action,
            entity="account",
            entity_id=account.id,
            before={"active": not active},
            after=after,
        )
        return account_public(session, account)

    result = once(session, req, apply, AccountPublic)
    _forget(session, username)
    return result


def reset_password(
    *,
    session: Session,
    actor: Account,
    username: str,
    data: PasswordReset,
    idempotency_key: str | None = None,
) -> tuple[AccountPublic, bool]:
    """Set a temporary password: the account's tokens are revoked, its login lock lifted,
    and after logging in with it the user may do nothing but change it. (Not on one's own
    account: change it with POST /auth/password.) The request's digest leaves the password
    out, as an account's creation does."""
    require(actor.role, Action.manage_accounts)
    assert actor.id is not None
    req = Request(
        actor.id, idempotency_key, "account.password_reset", username, idempotency.digest({})
    )
    new_hash = hash_password(data.password)  # slow: before the transaction

    def apply() -> AccountPublic:
        account = _locked(session, username)
        assert account.id is not None
        if account.id == actor.id:
            raise Conflict(
                "username: not on your own account; change your password with "
                "POST /api/v1/auth/password",
                field="username",
            )
        was = account.must_change_password
        account.password_hash = new_hash
        account.must_change_password = True
        revoked = _revoke_all(session, account.id)
        session.flush()
        record_event(
            session,
            account_id=actor.id,
            action="account.password_reset",
            entity="account",
            entity_id=account.id,
            before={"must_change_password": was},
            after={"must_change_password": True, "tokens_revoked": revoked},
        )
        return account_public(session, account)

    result = once(session, req, apply, AccountPublic)
    logins.succeeded(session, logins.keys_for(username, None))  # a locked-out user gets in
    _forget(session, username)
    return result


class _WrongPassword(Exception):
    pass


def change_password(
    *,
    session: Session,
    account: Account,
    token: str,
    data: PasswordChange,
    client: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[AccountPublic, bool]:
    """A user changes their own password, giving the current one. Clears a reset's forced
    change; the account's other tokens are revoked (this one keeps working). A wrong current
    password counts as a failed login (and is throttled like one)."""
    assert account.id is not None
    keys = logins.keys_for(account.username, client)
    logins.check(session, keys)
    if data.new_password == data.current_password:
        raise Invalid("new_password: must differ from the current password", field="new_password")
    stored = session.execute(
        sa.select(col(Account.password_hash)).where(col(Account.id) == account.id)
    ).scalar_one()
    right = verify_password(stored, data.current_password)  # slow: before the transaction
    new_hash = hash_password(data.new_password) if right else ""
    req = Request(
        account.id, idempotency_key, "account.password", account.username, idempotency.digest({})
    )

    def apply() -> AccountPublic:
        row = _locked(session, account.username)
        assert row.id is not None
        if not right or row.password_hash != stored:  # wrong, or changed since it was checked
            raise _WrongPassword
        before = row.must_change_password
        row.password_hash = new_hash
        row.must_change_password = False
        revoked = _revoke_all(session, row.id, keep=token_hash(token))
        session.flush()
        record_event(
            session,
            account_id=row.id,
            action="account.password",
            entity="account",
            entity_id=row.id,
            before={"must_change_password": before},
            after={"must_change_password": False, "other_tokens_revoked": revoked},
        )
        return account_public(session, row)

    try:
        result = once(session, req, apply, AccountPublic)
    except _WrongPassword:
        logins.failed(session, keys)
        raise Invalid("current_password: wrong password", field="current_password") from None
    logins.succeeded(session, keys)
    _forget(session, account.username)
    return result


def account_history(*, session: Session, actor: Account, username: str) -> dict[str, Any]:
    """Every audit event of an account, oldest first (admins)."""
    require(actor.role, Action.manage_accounts)
    account = get_account(session=session, username=username)
    events = audit.history(session, entity="account", entity_id=account.id)
    return {"username": account.username, "events": audit.event_views(session, events)}


def read_account(*, session: Session, actor: Account, username: str) -> AccountPublic:
    require(actor.role, Action.manage_accounts)
    return account_public(session, get_account(session=session, username=username))
