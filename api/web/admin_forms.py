"""What the admin pages share: the admin-only guard, the forms' token, reading a posted
form, a form's values and errors, names for codes, and notices after a redirect.

Every admin form is a POST that carries two hidden fields: ``csrf``, a digest of the session
token (which only a page rendered for that session knows; the cookie is SameSite=Lax too),
and ``key``, an idempotency key drawn when the form was rendered, so a double click or a
resent form is answered by the first write's answer instead of writing twice. A form that
fails comes back with its values and each error next to its field (422); one that succeeds
redirects (303) to a page that says what was done.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.web.admin_errors import explain, reason_of
from api.web.auth import session_token
from api.web.core import PageContext, url_with
from wasteflow.errors import Forbidden, Invalid, WasteflowError, describe_validation_errors
from wasteflow.rates import INDICATORS
from wasteflow.schemas import SitePublic
from wasteflow.services import catalogue, organisations, rounds, sites

ADMIN_HOME = "/dashboard/admin"


def form_csrf(token: str) -> str:
    """The admin forms' token: derived from the session token, which scripts cannot read."""
    return hashlib.sha256(b"wasteflow-dashboard-form:" + token.encode()).hexdigest()[:32]


def require_admin(ctx: PageContext) -> None:
    """Other roles get a 403 page saying the admin pages are for admins (in their words)."""
    if not ctx.is_admin:
        raise Forbidden(ctx.t("admin.only"))


async def read_form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(read_form)]


def check_posted(ctx: PageContext, posted: FormData) -> str | None:
    """Check the form's token (a foreign page cannot post a form of this session) and return
    its idempotency key."""
    require_admin(ctx)
    token = session_token(ctx.request)
    submitted = str(posted.get("csrf") or "")
    if not token or not secrets.compare_digest(form_csrf(token), submitted):
        raise Invalid(ctx.t("admin.form_expired"), field="csrf")
    key = str(posted.get("key") or "")
    return key if 8 <= len(key) <= 64 and key.replace("-", "").isalnum() else None


def differs(new: Any, old: Any) -> bool:
    """Whether a field changes (lists compare as sets: their order is the page's)."""
    if isinstance(new, list) and isinstance(old, list):
        return set(new) != set(old)
    return bool(new != old)


def text(posted: FormData, name: str) -> str:
    value = posted.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(posted: FormData, name: str) -> list[str]:
    return [v.strip() for v in posted.getlist(name) if isinstance(v, str) and v.strip()]


def or_none(value: str) -> str | None:
    return value or None


@dataclass
class FormState:
    """A form's values (as the inputs show them) and its errors, by field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def value(self, name: str, default: Any = "") -> Any:
        v = self.values.get(name)
        return default if v is None else v

    def has(self, name: str, item: str) -> bool:
        v = self.values.get(name)
        return item in v if isinstance(v, list | set | tuple) else v == item

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.general)

    def add(self, field_name: str | None, message: str, fields: Iterable[str]) -> None:
        """An error next to its field if the form has that field, else above the form."""
        if field_name and field_name in set(fields) and field_name not in self.errors:
            self.errors[field_name] = message
        elif message not in self.general:
            self.general.append(message)


class Names:
    """Names for the codes a page or an error shows, each catalogue read once per request."""

    def __init__(self, ctx: PageContext):
        self.ctx = ctx
        self.t = ctx.t
        self._sites: dict[str, SitePublic] = {}
        self.memo: dict[str, Any] = {}  # what a page computes once per request

    @cached_property
    def regions(self) -> dict[str, Any]:
        return {r.code: r for r in catalogue.list_regions(session=self.ctx.session)}

    @cached_property
    def materials(self) -> dict[str, Any]:
        return {m.code: m for m in catalogue.list_materials(session=self.ctx.session)}

    @cached_property
    def routes(self) -> dict[str, Any]:
        return {r.code: r for r in catalogue.list_routes(session=self.ctx.session)}

    @cached_property
    def organisations(self) -> dict[str, Any]:
        listed = organisations.list_organisations(session=self.ctx.session, actor=self.ctx.user)
        return {o.code: o for o in listed}

    @cached_property
    def rounds(self) -> dict[str, Any]:
        listed = rounds.list_rounds(session=self.ctx.session, account=self.ctx.user)
        return {r.code: r for r in listed}

    def load_sites(self, codes: Iterable[str]) -> None:
        wanted = set(codes) - set(self._sites)
        if wanted:
            self._sites |= sites.names_by_code(self.ctx.session, wanted)

    def site(self, code: str) -> str:
        self.load_sites([code])
        found = self._sites.get(code)
        return self.t.site_name(found) if found else code

    def site_record(self, code: str) -> SitePublic | None:
        self.load_sites([code])
        return self._sites.get(code)

    def site_kind(self, code: str) -> str | None:
        self.load_sites([code])
        found = self._sites.get(code)
        return found.kind.value if found else None

    def region(self, code: str | None) -> str:
        """A region's name; a village's with its township's (白马镇 白马村)."""
        if not code:
            return self.t("common.none")
        found = self.regions.get(code)
        if found is None:
            return code
        parent = self.regions.get(found.parent_code or "")
        own = self.t.name(found)
        if parent is not None and parent.level.value == "township":
            return f"{self.t.name(parent)} {own}"
        return own

    def organisation(self, code: str | None) -> str:
        if not code:
            return self.t("common.none")
        found = self.organisations.get(code)
        return found.name if found else code

    def round(self, code: str | None) -> str:
        if not code:
            return self.t("common.none")
        found = self.rounds.get(code)
        return found.name if found else code

    def material(self, code: str) -> str:
        found = self.materials.get(code)
        return self.t.name(found) if found else code

    def route(self, code: str) -> str:
        found = self.routes.get(code)
        return self.t.name(found) if found else code

    def coefficient(self, code: str) -> str:
        return self.t.coefficient(code)

    def indicator(self, key: str) -> str:
        found = INDICATORS.get(key)
        return self.t.name(found) if found else key

    def joined(self, kind: str, codes: Iterable[str]) -> str:
        sep = "、" if self.t.lang == "zh" else ", "
        fn = getattr(self, kind)
        return sep.join(fn(c) for c in codes) or self.t("common.none")


def refused(
    form: FormState,
    exc: WasteflowError | ValidationError,
    names: Names,
    fields: Iterable[str],
    aliases: dict[str, str] | None = None,
    hints: dict[str, str] | None = None,
) -> None:
    """Put a service's refusal (or a model's validation errors) on the form, each next to
    its field in the page's words. ``aliases``: the API's field → the form's input."""
    aliases = aliases or {}
    hints = hints or {}
    fields = list(fields)
    if isinstance(exc, ValidationError):
        _, items = describe_validation_errors(list(exc.errors()))
        pairs = [(i["field"].split(".")[0], i["reason"]) for i in items]
    else:
        pairs = [(exc.field or "", reason_of(exc.detail, exc.field))]
    for name, reason in pairs:
        target = aliases.get(name, name)
        form.add(target, explain(names.t, reason, names, hints.get(target)), fields)


def pager(path: str, query: dict[str, Any], total: int, offset: int, limit: int) -> dict[str, Any]:
    """Where a list's previous and next pages are, and which rows this one shows."""
    return {
        "total": total,
        "first": offset + 1 if total else 0,
        "last": min(offset + limit, total),
        "prev": url_with(path, query | {"offset": max(0, offset - limit) or None})
        if offset > 0
        else None,
        "next": url_with(path, query | {"offset": offset + limit})
        if offset + limit < total
        else None,
    }


def done(path: str, what: str, **params: Any) -> RedirectResponse:
    """Back to a page after a write, saying what was done (a word from a fixed list)."""
    return RedirectResponse(url_with(path, {"done": what, **params}), status_code=303)


DONE = frozenset(
    {
        "created",
        "saved",
        "unchanged",
        "deactivated",
        "reactivated",
        "disabled",
        "enabled",
        "uploaded",
        "set_created",
        "value_added",
    }
)


def done_notice(ctx: PageContext) -> str | None:
    """What the redirect says was done: a word from a fixed list, with its counts."""
    query = ctx.request.query_params
    what = query.get("done")
    if what not in DONE:
        return None
    counts = {
        k: int(v) for k in ("year", "created", "updated") if (v := query.get(k, "")).isdigit()
    }
    return ctx.t(f"done.{what}", **({"year": "", "created": 0, "updated": 0} | counts))


def form_context(ctx: PageContext) -> dict[str, Any]:
    """What every admin template gets: the form token and the notice of a redirect."""
    token = session_token(ctx.request)
    return {"csrf": form_csrf(token) if token else "", "notice": done_notice(ctx)}
