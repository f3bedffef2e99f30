"""Accounts, logins and bearer tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.config import get_settings
from wasteflow.db import unit_of_work
from wasteflow.errors import Conflict, Invalid, NotFound, Unauthorized
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
from wasteflow.schemas import AccountCreate, AccountPublic
from wasteflow.security import dummy_hash, hash_password, new_token, token_hash, verify_password
from wasteflow.services import cache, idempotency, logins
from wasteflow.services.audit import record_event
from wasteflow.services.idempotency import Request, once
from wasteflow.types import TREATING_KINDS, Role, SiteKind, utcnow


def ids_by_code(
    session: Session,
    model: type[Organisation | Site | CollectionRound],
    codes: list[str],
    field: str,
) -> list[int]:
    if not codes:
        return []
    found: dict[str, int] = dict(
        session.execute(
            sa.select(col(model.code), col(model.id)).where(col(model.code).in_(codes))
        ).all()
    )
    missing = sorted(set(codes) - set(found))
    if missing:
        raise Invalid(f"{field}: unknown code(s) {', '.join(missing)}", field=field)
    return [found[c] for c in dict.fromkeys(codes)]


def create_account(
    *,
    session: Session,
    actor: Account | None,
    data: AccountCreate,
    idempotency_key: str | None = None,
) -> tuple[AccountPublic, bool]:
    """Create an account bound to an organisation, its sites and rounds.

    ``actor`` is None only for the CLI's bootstrap of the first admin. Returns the account
    and whether this call created it (False: a retry with the same Idempotency-Key). The
    request's digest leaves the password out: it must not be kept, even hashed without salt.
    """
    if actor is not None:
        require(actor.role, Action.manage_accounts)
    body = data.model_dump(mode="json", exclude={"password"})
    req = Request(
        actor.id if actor and actor.id is not None else 0,
        idempotency_key if actor is not None else None,
        "account.create",
        data.username,
        idempotency.digest(body),
    )
    return once(session, req, lambda: _create(session, actor, data), AccountPublic)


def _create(session: Session, actor: Account | None, data: AccountCreate) -> AccountPublic:
    if session.execute(
        sa.select(col(Account.id)).where(col(Account.username) == data.username)
    ).first():
        raise Conflict(f"username: {data.username!r} is taken", field="username")
    org_id = None
    if data.organisation_code:
        codes = [data.organisation_code]
        org_id = ids_by_code(session, Organisation, codes, "organisation_code")[0]
    site_ids = ids_by_code(session, Site, data.sites, "sites")
    round_ids = ids_by_code(session, CollectionRound, data.rounds, "rounds")
    check_bindings(session, data.role, site_ids, round_ids)
    account = Account(
        username=data.username,
        display_name=data.display_name,
        role=data.role,
        organisation_id=org_id,
        password_hash=hash_password(data.password),
    )
    session.add(account)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:  # taken by a request committed since the check
        raise Conflict(f"username: {data.username!r} is taken", field="username") from exc
    assert account.id is not None
    session.add_all(AccountSite(account_id=account.id, site_id=s) for s in site_ids)
    session.add_all(AccountRound(account_id=account.id, round_id=r) for r in round_ids)
    public = account_public(session, account)
    record_event(
        session,
        account_id=actor.id if actor else None,
        action="account.create",
        entity="account",
        entity_id=account.id,
        after=public.model_dump(mode="json"),
    )
    return public


def account_public(session: Session, account: Account) -> AccountPublic:
    sites = (
        session.execute(
            sa.select(col(Site.code))
            .join(AccountSite, col(AccountSite.site_id) == Site.id)
            .where(col(AccountSite.account_id) == account.id)
            .order_by(col(Site.code))
        )
        .scalars()
        .all()
    )
    rounds = (
        session.execute(
            sa.select(col(CollectionRound.code))
            .join(AccountRound, col(AccountRound.round_id) == CollectionRound.id)
            .where(col(AccountRound.account_id) == account.id)
            .order_by(col(CollectionRound.code))
        )
        .scalars()
        .all()
    )
    org = session.get(Organisation, account.organisation_id) if account.organisation_id else None
    assert account.id is not None
    return AccountPublic(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        organisation_code=org.code if org else None,
        sites=list(sites),
        rounds=list(rounds),
        active=account.active,
        created_at=account.created_at,
        last_login_at=account.last_login_at,
        must_change_password=account.must_change_password,
    )


def login(
    *,
    session: Session,
    username: str,
    password: str,
    label: str = "login",
    client: str | None = None,
) -> tuple[str, datetime, Account]:
    """Check a password and issue a bearer token. Wrong username or password: Unauthorized;
    too many wrong ones for the name or the ``client`` address: TooManyRequests (429), see
    :mod:`wasteflow.services.logins`."""
    keys = logins.keys_for(username, client)
    logins.check(session, keys)
    account = session.execute(
        sa.select(Account).where(col(Account.username) == username)
    ).scalar_one_or_none()
    if account is None:
        verify_password(dummy_hash(), password)  # same cost as a wrong password
        logins.failed(session, keys)
        raise Unauthorized("wrong username or password")
    if not verify_password(account.password_hash, password):
        logins.failed(session, keys)
        raise Unauthorized("wrong username or password")
    if not account.active:
        raise Unauthorized("this account is disabled")
    logins.succeeded(session, keys)
    token = new_token()
    now = utcnow()
    expires = now + timedelta(hours=get_settings().token_ttl_hours)
    with unit_of_work(session):
        session.add(
            ApiToken(
                account_id=account.id, token_hash=token_hash(token), label=label, expires_at=expires
            )
        )
        session.execute(
            sa.update(Account).where(col(Account.id) == account.id).values(last_login_at=now)
        )
    account.last_login_at = now
    return token, expires, account


def account_for_token(*, session: Session, token: str) -> Account:
    """The active account a bearer token belongs to, or Unauthorized.

    Looked up once every few seconds per token and process (``services.cache``): a revocation
    here is immediate, one made by another worker takes effect within five seconds.
    """
    digest = token_hash(token)

    def load() -> tuple[Account, Any, Any] | None:
        row = session.execute(
            sa.select(Account, col(ApiToken.expires_at), col(ApiToken.revoked_at))
            .join(ApiToken, col(ApiToken.account_id) == Account.id)
            .where(col(ApiToken.token_hash) == digest)
        ).first()
        if row is None:
            return None
        # A detached copy: cached entries are shared between requests and threads.
        return Account.model_validate(row[0]), row[1], row[2]

    found = cache.token(session, digest, load)
    if found is not None and found[0].must_change_password:
        # Rare, and it must end the moment the password is changed (on any worker): read
        # afresh rather than trusting a copy up to five seconds old.
        cache.forget_token(session, digest)
        found = cache.token(session, digest, load)
    if found is None:
        raise Unauthorized("unknown or malformed token")
    account, expires_at, revoked_at = found
    if revoked_at is not None:
        raise Unauthorized("this token was revoked")
    if expires_at <= utcnow():
        raise Unauthorized("this token has expired: log in again")
    if not account.active:
        raise Unauthorized("this account is disabled")
    return account


# What each role may be bound to: the kinds of site it acts for, and whether it works rounds.
BINDABLE_KINDS: dict[Role, frozenset[SiteKind]] = {
    Role.collector: frozenset({SiteKind.source}),
    Role.site_operator: frozenset(
        {SiteKind.source, SiteKind.collection_point, SiteKind.transfer_station}
    ),
    Role.processor: frozenset(TREATING_KINDS),
    Role.official: frozenset(),
    Role.admin: frozenset(),
}
WORKS_ROUNDS = frozenset({Role.collector})


def check_bindings(session: Session, role: Role, site_ids: list[int], round_ids: list[int]) -> None:
    """Refuse (422, naming ``sites`` or ``rounds``) bindings that make no sense for the role:
    a processor acts for processors and disposal sites, a site operator for collection
    points, transfer stations and sources (a factory's waste manager), a collector for
    sources and rounds; officials and admins act for no site. Only collectors work rounds."""
    role = Role(role)
    if site_ids:
        kinds = BINDABLE_KINDS[role]
        if not kinds:
            codes = session.execute(
                sa.select(col(Site.code)).where(col(Site.id).in_(site_ids)).order_by(col(Site.code))
            ).scalars()
            raise Invalid(
                f"sites: an {role.value} acts for every site through the role, for none by "
                f"binding; remove {', '.join(codes)}",
                field="sites",
            )
        wrong = session.execute(
            sa.select(col(Site.code), col(Site.kind))
            .where(col(Site.id).in_(site_ids), col(Site.kind).not_in(list(kinds)))
            .order_by(col(Site.code))
        ).all()
        if wrong:
            named = ", ".join(f"{code} ({SiteKind(kind).value})" for code, kind in wrong)
            allowed_kinds = ", ".join(sorted(k.value for k in kinds))
            raise Invalid(
                f"sites: a {role.value} acts for {allowed_kinds} sites, not {named}",
                field="sites",
            )
    if round_ids and role not in WORKS_ROUNDS:
        hint = (
            " (the rounds of the collection points it runs come with them)"
            if role == Role.site_operator
            else ""
        )
        raise Invalid(f"rounds: only collectors work collection rounds{hint}", field="rounds")


def account_token_digests(session: Session, account_id: int) -> list[str]:
    """The digests of an account's tokens that have not expired (to forget their cache)."""
    return list(
        session.execute(
            sa.select(col(ApiToken.token_hash)).where(
                col(ApiToken.account_id) == account_id, col(ApiToken.expires_at) > utcnow()
            )
        ).scalars()
    )


def revoke_token(*, session: Session, token: str) -> None:
    with unit_of_work(session):
        session.execute(
            sa.update(ApiToken)
            .where(
                col(ApiToken.token_hash) == token_hash(token), col(ApiToken.revoked_at).is_(None)
            )
            .values(revoked_at=utcnow())
        )
    cache.forget_token(session, token_hash(token))


def get_account(*, session: Session, username: str) -> Account:
    account = session.execute(
        sa.select(Account).where(col(Account.username) == username)
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(f"no account {username!r}")
    return account


def list_accounts(
    *,
    session: Session,
    actor: Account,
    role: Role | None = None,
    active: bool | None = None,
    organisation: str | None = None,
) -> list[AccountPublic]:
    """Every account (admins), by username, with its bindings and last login; filtered by
    role, by whether it is active, and by organisation code."""
    require(actor.role, Action.manage_accounts)
    stmt = sa.select(Account).order_by(col(Account.username))
    if role is not None:
        stmt = stmt.where(col(Account.role) == role)
    if active is not None:
        stmt = stmt.where(col(Account.active) == active)
    if organisation is not None:
        stmt = stmt.join(Organisation, col(Organisation.id) == Account.organisation_id).where(
            col(Organisation.code) == organisation
        )
    accounts = session.execute(stmt).scalars().all()
    return [account_public(session, a) for a in accounts]


def acting_site_ids(session: Session, account_id: int) -> set[int]:
    """Sites an account is bound to directly (rounds add sources; see the handover rules)."""
    direct = (
        session.execute(
            sa.select(col(AccountSite.site_id)).where(col(AccountSite.account_id) == account_id)
        )
        .scalars()
        .all()
    )
    return set(direct)


def organisation_name(*, session: Session, account: Account) -> str | None:
    """The name of the organisation an account works for (a report's 制表单位), if any."""
    if account.organisation_id is None:
        return None
    org = session.get(Organisation, account.organisation_id)
    return org.name if org else None
