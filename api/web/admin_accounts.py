"""Admin pages for accounts: the list (roles, organisation, sites and rounds, last login,
state), a new account, an account's page (display name, role, organisation, sites, rounds;
disable or enable; reset the password, shown once; its history).

Sites and rounds are bound by ticking those an account has and typing new ones (a list
suggests them by name); a binding the role cannot have is the service's refusal, shown next
to the field that names it."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.web import views
from api.web.admin_forms import (
    FormState,
    Names,
    Posted,
    check_posted,
    differs,
    done,
    form_context,
    or_none,
    refused,
    require_admin,
    text,
    texts,
)
from api.web.admin_views import ACCOUNT_FIELDS, event_rows
from api.web.core import DashboardRoute, Page, PageContext
from wasteflow.errors import Invalid, WasteflowError
from wasteflow.schemas import AccountCreate, AccountPublic
from wasteflow.schemas_admin import AccountUpdate, PasswordReset
from wasteflow.services import account_admin, accounts, site_admin
from wasteflow.types import Role

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

ACCOUNTS = "/dashboard/admin/accounts"
ROLES = [r.value for r in Role]
FORM_FIELDS = (
    "username",
    "display_name",
    "role",
    "organisation_code",
    "password",
    "sites",
    "rounds",
)
ADD_SLOTS = 3
# Letters and digits that cannot be mistaken for one another when read out or copied.
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def temporary_password() -> str:
    """A temporary password to read out or copy: 12 characters in three groups."""
    chars = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(12))
    return "-".join(chars[i : i + 4] for i in range(0, 12, 4))


# --- the list ------------------------------------------------------------------------------


@router.get(ACCOUNTS)
def account_list(ctx: Page, role: str = "", state: str = "") -> HTMLResponse:
    """Every account with its role, bindings, last login and state."""
    require_admin(ctx)
    if role and role not in ROLES:
        raise Invalid(f"role: one of {', '.join(ROLES)}", field="role")
    active = {"active": True, "disabled": False}.get(state)
    found = accounts.list_accounts(
        session=ctx.session,
        actor=ctx.user,
        role=Role(role) if role else None,
        active=active,
    )
    names = Names(ctx)
    names.load_sites(c for a in found for c in a.sites)
    return ctx.render(
        "admin/accounts.html",
        **form_context(ctx),
        rows=[_row(names, a) for a in found],
        roles=ROLES,
        filters={"role": role, "state": state},
    )


def _row(names: Names, a: AccountPublic) -> dict[str, Any]:
    return {
        "username": a.username,
        "display_name": a.display_name,
        "role": a.role.value,
        "organisation": names.organisation(a.organisation_code) if a.organisation_code else "",
        "sites": [names.site(c) for c in a.sites],
        "rounds": [names.round(c) for c in a.rounds],
        "last_login": views.local_time(a.last_login_at) if a.last_login_at else None,
        "active": a.active,
        "must_change": a.must_change_password,
    }


# --- the form ------------------------------------------------------------------------------


def _options(ctx: PageContext, names: Names) -> dict[str, Any]:
    """The suggestions for new bindings: every site and round by name (and code)."""
    if "account_options" in names.memo:
        return dict(names.memo["account_options"])
    offered: list[Any] = []
    offset = 0
    while True:
        page = site_admin.find_sites(
            session=ctx.session, actor=ctx.user, limit=500, offset=offset, active=True
        )
        offered += page.items
        offset += 500
        if offset >= page.total:
            break
    offered.sort(key=lambda s: (s.kind.value == "source", s.code))
    names.memo["account_options"] = {
        "site_options": [(ctx.t.site_name(s), s.code, s.kind.value) for s in offered],
        "round_options": sorted((r.name, r.code) for r in names.rounds.values()),
        "organisations": sorted(names.organisations.values(), key=lambda o: o.name),
        "roles": ROLES,
        "slots": range(ADD_SLOTS),
    }
    return dict(names.memo["account_options"])


def _resolve(
    typed: list[str], options: list[tuple[str, str]], found: list[str], unknown: list[str]
) -> None:
    """Codes of what was typed: ``名称 · CODE`` as suggested, a code, or a name that only
    one record has."""
    codes = {code for _, code in options}
    by_name: dict[str, set[str]] = {}
    for name, code in options:
        by_name.setdefault(name, set()).add(code)
    for entry in typed:
        code = entry.rsplit("·", 1)[-1].strip()
        if code in codes:
            found.append(code)
        elif entry.upper() in codes:
            found.append(entry.upper())
        elif len(by_name.get(entry, ())) == 1:
            found.append(next(iter(by_name[entry])))
        else:
            unknown.append(entry)


def _bindings(ctx: PageContext, names: Names, posted: Any, form: FormState) -> None:
    """The sites and rounds the form ends with: the ticked ones and the typed ones."""
    options = _options(ctx, names)
    for field, pairs in (
        ("sites", [(n, c) for n, c, _ in options["site_options"]]),
        ("rounds", options["round_options"]),
    ):
        chosen = texts(posted, field)
        unknown: list[str] = []
        _resolve(texts(posted, f"{field}_add"), pairs, chosen, unknown)
        form.values[field] = list(dict.fromkeys(chosen))
        form.values[f"{field}_add"] = unknown
        if unknown:
            sep = "、" if ctx.lang == "zh" else ", "
            form.add(field, ctx.t(f"err.unknown_{field}", names=sep.join(unknown)), FORM_FIELDS)


def _form_page(
    ctx: PageContext,
    names: Names,
    form: FormState,
    account: AccountPublic | None,
    status_code: int = 200,
    temp_password: str | None = None,
) -> HTMLResponse:
    names.load_sites(form.value("sites", []))
    history = None
    if account is not None:
        history = account_admin.account_history(
            session=ctx.session, actor=ctx.user, username=account.username
        )
    return ctx.render(
        "admin/account_form.html",
        status_code=status_code,
        **form_context(ctx),
        form=form,
        edited=account,  # not "account": the page's header names the one logged in
        names=names,
        own=account is not None and account.username == ctx.user.username,
        keys={k: uuid.uuid4().hex for k in ("state", "reset")},
        events=event_rows(names, history["events"], ACCOUNT_FIELDS) if history else [],
        temp_password=temp_password,
        local_time=views.local_time,
        **_options(ctx, names),
    )


def _values(posted: Any) -> dict[str, Any]:
    return {k: text(posted, k) for k in ("username", "display_name", "role", "organisation_code")}


@router.get(f"{ACCOUNTS}/new")
def new_account_form(ctx: Page, role: str = "collector") -> HTMLResponse:
    require_admin(ctx)
    form = FormState(values={"role": role if role in ROLES else "collector", "sites": []})
    return _form_page(ctx, Names(ctx), form, None)


@router.post(f"{ACCOUNTS}/new")
def new_account_submit(ctx: Page, posted: Posted) -> Response:
    key = check_posted(ctx, posted)
    names = Names(ctx)
    form = FormState(values=_values(posted), key=key or FormState().key)
    form.values["username"] = form.values["username"].lower()
    _bindings(ctx, names, posted, form)
    password = text(posted, "password")
    if form.failed:
        return _form_page(ctx, names, form, None, 422)
    body = form.values | {"password": password}
    body = {k: v for k, v in body.items() if k in FORM_FIELDS and v not in ("", None)}
    try:
        data = AccountCreate.model_validate(body)
        accounts.create_account(session=ctx.session, actor=ctx.user, data=data, idempotency_key=key)
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, names, FORM_FIELDS, hints={"username": ctx.t("hint.username")})
        return _form_page(ctx, names, form, None, 422)
    return done(f"{ACCOUNTS}/{data.username}", "created")


def _account(ctx: PageContext, username: str) -> AccountPublic:
    return account_admin.read_account(session=ctx.session, actor=ctx.user, username=username)


@router.get(f"{ACCOUNTS}/{{username}}")
def edit_account_form(ctx: Page, username: str) -> HTMLResponse:
    require_admin(ctx)
    account = _account(ctx, username)
    values = account.model_dump(mode="json") | {"role": account.role.value}
    values = {k: ("" if v is None else v) for k, v in values.items()}
    return _form_page(ctx, Names(ctx), FormState(values=values), account)


@router.post(f"{ACCOUNTS}/{{username}}")
def edit_account_submit(ctx: Page, username: str, posted: Posted) -> Response:
    """Send what differs from the account as it is: its role and bindings are checked
    together by the service (a binding the role cannot have is refused, naming it)."""
    key = check_posted(ctx, posted)
    account = _account(ctx, username)
    names = Names(ctx)
    form = FormState(values=_values(posted) | {"username": username}, key=key or FormState().key)
    _bindings(ctx, names, posted, form)
    if not form.values["display_name"]:
        form.add("display_name", ctx.t("err.required"), FORM_FIELDS)
    if form.failed:
        return _form_page(ctx, names, form, account, 422)
    now = account.model_dump(mode="json")
    wanted = {
        "display_name": form.values["display_name"],
        "role": form.values["role"],
        "organisation_code": or_none(form.values["organisation_code"]),
        "sites": form.values["sites"],
        "rounds": form.values["rounds"],
    }
    changed = {k: v for k, v in wanted.items() if differs(v, now[k])}
    try:
        account_admin.update_account(
            session=ctx.session,
            actor=ctx.user,
            username=username,
            data=AccountUpdate.model_validate(changed),
            idempotency_key=key,
        )
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, names, FORM_FIELDS)
        return _form_page(ctx, names, form, account, 422)
    return done(f"{ACCOUNTS}/{username}", "saved" if changed else "unchanged")


def _state_refused(
    ctx: PageContext, username: str, exc: WasteflowError, account: AccountPublic
) -> HTMLResponse:
    names = Names(ctx)
    values = account.model_dump(mode="json") | {"role": account.role.value}
    form = FormState(values={k: ("" if v is None else v) for k, v in values.items()})
    refused(form, exc, names, ())
    return _form_page(ctx, names, form, account, exc.status_code)


def _set_active(ctx: PageContext, username: str, posted: Any, active: bool) -> Response:
    key = check_posted(ctx, posted)
    account = _account(ctx, username)
    try:
        account_admin.set_active(
            session=ctx.session,
            actor=ctx.user,
            username=username,
            active=active,
            idempotency_key=key,
        )
    except WasteflowError as exc:
        return _state_refused(ctx, username, exc, account)
    return done(f"{ACCOUNTS}/{username}", "enabled" if active else "disabled")


@router.post(f"{ACCOUNTS}/{{username}}/disable")
def disable_account(ctx: Page, username: str, posted: Posted) -> Response:
    """It cannot log in, and its sessions end at once."""
    return _set_active(ctx, username, posted, False)


@router.post(f"{ACCOUNTS}/{{username}}/enable")
def enable_account(ctx: Page, username: str, posted: Posted) -> Response:
    return _set_active(ctx, username, posted, True)


@router.post(f"{ACCOUNTS}/{{username}}/password-reset")
def reset_password(ctx: Page, username: str, posted: Posted) -> Response:
    """Set a temporary password and show it this once (it is kept nowhere but hashed); the
    user must change it when logging in. A resent form shows no password: it was shown."""
    key = check_posted(ctx, posted)
    account = _account(ctx, username)
    password = temporary_password()
    try:
        changed, made = account_admin.reset_password(
            session=ctx.session,
            actor=ctx.user,
            username=username,
            data=PasswordReset(password=password),
            idempotency_key=key,
        )
    except WasteflowError as exc:
        return _state_refused(ctx, username, exc, account)
    values = changed.model_dump(mode="json") | {"role": changed.role.value}
    form = FormState(values={k: ("" if v is None else v) for k, v in values.items()})
    if not made:
        form.general.append(ctx.t("accounts_admin.reset_replayed"))
    return _form_page(ctx, Names(ctx), form, changed, temp_password=password if made else None)
