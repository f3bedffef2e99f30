"""Admin pages for sites: the list (by township, kind, state, name or code), a new site, a
site's edit page (details, village, organisation, materials, routes, round), deactivating and
reactivating it with a reason, its history, and its plaque."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.deps import Offset
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
    pager,
    refused,
    require_admin,
    text,
    texts,
)
from api.web.admin_views import SITE_FIELDS, event_rows
from api.web.core import DashboardRoute, Page, PageContext
from wasteflow.errors import Invalid, WasteflowError
from wasteflow.schemas import SiteCreate, SitePublic
from wasteflow.schemas_admin import SiteUpdate, StatusChange
from wasteflow.services import catalogue, plaques, site_admin, sites
from wasteflow.types import TREATING_KINDS, RegionLevel, SiteKind

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

SITES = "/dashboard/admin/sites"
PAGE_SIZE = 50
STATES = {"active": True, "inactive": False}
# The form's inputs, named as the API's fields so a refusal lands next to its input.
FORM_FIELDS = (
    "code",
    "name",
    "name_en",
    "kind",
    "region_code",
    "organisation_code",
    "lat",
    "lon",
    "address",
    "capacity_kg",
    "materials",
    "routes",
    "round_code",
    "reason",
)
ALIASES = {"lat/lon": "lat"}


def _hints(ctx: PageContext) -> dict[str, str]:
    return {"code": ctx.t("hint.code")}


# --- the list ------------------------------------------------------------------------------


@router.get(SITES)
def site_list(
    ctx: Page,
    township: str = "",
    kind: str = "",
    state: str = "",
    q: str = "",
    offset: Offset = 0,
) -> HTMLResponse:
    """Every site, filtered; each row leads to its edit page and history."""
    require_admin(ctx)
    if kind and kind not in views.SITE_KINDS:
        raise Invalid(f"kind: one of {', '.join(views.SITE_KINDS)}", field="kind")
    if state and state not in STATES:
        raise Invalid("state: active or inactive", field="state")
    q = q.strip()[:64]
    found = site_admin.find_sites(
        session=ctx.session,
        actor=ctx.user,
        region_code=township or None,
        kind=SiteKind(kind) if kind else None,
        active=STATES.get(state),
        text=q or None,
        limit=PAGE_SIZE,
        offset=offset,
    )
    names = Names(ctx)
    query = {"township": township, "kind": kind, "state": state, "q": q}
    return ctx.render(
        "admin/sites.html",
        **form_context(ctx),
        rows=[_row(names, s) for s in found.items],
        filters=query,
        townships=catalogue.list_regions(session=ctx.session, level=RegionLevel.township),
        kinds=views.SITE_KINDS,
        pager=pager(SITES, query, found.total, offset, PAGE_SIZE),
    )


def _row(names: Names, s: SitePublic) -> dict[str, Any]:
    return {
        "code": s.code,
        "name": names.t.site_name(s),
        "kind": s.kind.value,
        "where": names.region(s.region_code),
        "organisation": names.organisation(s.organisation_code) if s.organisation_code else "",
        "round": names.round(s.round_code) if s.round_code else "",
        "active": s.active,
    }


# --- the form's choices ---------------------------------------------------------------------


def _choices(ctx: PageContext, names: Names, site: SitePublic | None) -> dict[str, Any]:
    """What the site form offers: villages under their townships, organisations, materials
    by indicator, routes, and (for a source) the rounds that cover its village first."""
    regions = list(names.regions.values())
    towns = [r for r in regions if r.level == RegionLevel.township]
    villages: dict[str, list[Any]] = {}
    for r in regions:
        if r.level == RegionLevel.village and r.parent_code:
            villages.setdefault(r.parent_code, []).append(r)
    by_indicator: dict[str, list[Any]] = {}
    for m in names.materials.values():
        by_indicator.setdefault(m.indicator.value, []).append(m)
    covering: list[Any] = []
    other: list[Any] = []
    if site is not None and site.kind == SiteKind.source:
        here = {site.region_code, site.township_code}
        for r in sorted(names.rounds.values(), key=lambda r: r.name):
            fits = not r.villages or here & set(r.villages)
            (covering if fits else other).append(r)
    return {
        "region_groups": [(town, villages.get(town.code, [])) for town in towns],
        "organisations": sorted(names.organisations.values(), key=lambda o: o.name),
        "material_groups": list(by_indicator.items()),
        # Utilisation first, then disposal, then storage: the order a processor thinks in.
        "routes": sorted(
            names.routes.values(),
            key=lambda r: (["utilisation", "disposal", "storage"].index(r.route_class), r.code),
        ),
        "rounds_covering": covering,
        "rounds_other": other,
        "kinds": views.SITE_KINDS,
        "treating": [k.value for k in TREATING_KINDS],
    }


def _posted_values(posted: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        k: text(posted, k) for k in FORM_FIELDS if k not in ("materials", "routes")
    }
    values["code"] = values["code"].upper()
    values["capacity_kg"] = values["capacity_kg"].replace(",", "").replace("，", "")
    values["materials"] = texts(posted, "materials")
    values["routes"] = texts(posted, "routes")
    return values


def _form_page(
    ctx: PageContext,
    names: Names,
    form: FormState,
    site: SitePublic | None,
    status_code: int = 200,
) -> HTMLResponse:
    return ctx.render(
        "admin/site_form.html",
        status_code=status_code,
        **form_context(ctx),
        form=form,
        site=site,
        site_name=ctx.t.site_name(site) if site else None,
        state_key=uuid.uuid4().hex,  # the state form's own: the edit form has its key
        **_choices(ctx, names, site),
    )


# --- a new site ------------------------------------------------------------------------------


@router.get(f"{SITES}/new")
def new_site_form(ctx: Page, kind: str = "collection_point") -> HTMLResponse:
    require_admin(ctx)
    form = FormState(values={"kind": kind if kind in views.SITE_KINDS else "collection_point"})
    return _form_page(ctx, Names(ctx), form, None)


@router.post(f"{SITES}/new")
def new_site_submit(ctx: Page, posted: Posted) -> Response:
    key = check_posted(ctx, posted)
    names = Names(ctx)
    values = _posted_values(posted)
    form = FormState(values=values, key=key or FormState().key)
    body = {k: v for k, v in values.items() if k not in ("round_code", "reason") and v != ""}
    try:
        data = SiteCreate.model_validate(body)
        if data.kind != SiteKind.source and not data.materials:
            raise Invalid(
                f"materials: a {data.kind.value} must accept at least one material",
                field="materials",
            )
        created, _ = sites.create_site(
            session=ctx.session, actor=ctx.user, data=data, idempotency_key=key
        )
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, names, FORM_FIELDS, ALIASES, _hints(ctx))
        return _form_page(ctx, names, form, None, status_code=422)
    return done(f"{SITES}/{created.code}", "created")


# --- editing a site --------------------------------------------------------------------------


def _shown(value: Any) -> Any:
    """A value as its input shows it: empty for none, 5000 rather than 5000.0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _current_values(site: SitePublic) -> dict[str, Any]:
    return {k: _shown(v) for k, v in site.model_dump(mode="json").items()}


@router.get(f"{SITES}/{{code}}")
def edit_site_form(ctx: Page, code: str) -> HTMLResponse:
    require_admin(ctx)
    site = sites.site_public(ctx.session, [sites.get_site(session=ctx.session, code=code)])[0]
    return _form_page(ctx, Names(ctx), FormState(values=_current_values(site)), site)


@router.post(f"{SITES}/{{code}}")
def edit_site_submit(ctx: Page, code: str, posted: Posted) -> Response:
    """Send the fields that differ from the site as it is (an edit of nothing is no event)."""
    key = check_posted(ctx, posted)
    site = sites.site_public(ctx.session, [sites.get_site(session=ctx.session, code=code)])[0]
    names = Names(ctx)
    values = _posted_values(posted)
    values["code"], values["kind"] = site.code, site.kind.value
    form = FormState(values=values, key=key or FormState().key)
    editable = ["name", "name_en", "region_code", "organisation_code", "lat", "lon", "address"]
    editable += ["capacity_kg", "materials"]
    if site.kind in TREATING_KINDS:
        editable.append("routes")
    if site.kind == SiteKind.source:
        editable.append("round_code")
    for required in ("name", "region_code"):
        if not values[required]:
            form.add(required, ctx.t("err.required"), FORM_FIELDS)
    if form.failed:
        return _form_page(ctx, names, form, site, status_code=422)
    candidate = {k: (values[k] if values[k] != "" else None) for k in editable}
    try:
        typed = SiteUpdate.model_validate(candidate)
        now = site.model_dump()
        changed = {k: getattr(typed, k) for k in editable if differs(getattr(typed, k), now[k])}
        site_admin.update_site(
            session=ctx.session,
            actor=ctx.user,
            code=code,
            data=SiteUpdate.model_validate(changed),
            idempotency_key=key,
        )
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, names, FORM_FIELDS, ALIASES, _hints(ctx))
        return _form_page(ctx, names, form, site, status_code=422)
    return done(f"{SITES}/{code}", "saved" if changed else "unchanged")


def _set_active(ctx: PageContext, code: str, posted: Any, active: bool) -> Response:
    key = check_posted(ctx, posted)
    site = sites.site_public(ctx.session, [sites.get_site(session=ctx.session, code=code)])[0]
    names = Names(ctx)
    reason = text(posted, "reason")
    form = FormState(values=_current_values(site) | {"reason": reason})
    try:
        checked = StatusChange.model_validate({"reason": or_none(reason)})
        site_admin.set_active(
            session=ctx.session,
            actor=ctx.user,
            code=code,
            active=active,
            reason=checked.reason,
            idempotency_key=key,
        )
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, names, FORM_FIELDS, {"code": "reason"})
        return _form_page(ctx, names, form, site, status_code=422)
    return done(f"{SITES}/{code}", "reactivated" if active else "deactivated")


@router.post(f"{SITES}/{{code}}/deactivate")
def deactivate_site(ctx: Page, code: str, posted: Posted) -> Response:
    """No new load may leave or reach it; its records stay as they are."""
    return _set_active(ctx, code, posted, False)


@router.post(f"{SITES}/{{code}}/reactivate")
def reactivate_site(ctx: Page, code: str, posted: Posted) -> Response:
    return _set_active(ctx, code, posted, True)


# --- history and plaque ------------------------------------------------------------------------


@router.get(f"{SITES}/{{code}}/history")
def site_history(ctx: Page, code: str) -> HTMLResponse:
    """Every change to the site, oldest first: when (local time), who, each field labelled
    before → after."""
    require_admin(ctx)
    found = site_admin.site_history(session=ctx.session, actor=ctx.user, code=code)
    names = Names(ctx)
    site = found["site"]
    return ctx.render(
        "admin/site_history.html",
        site=site,
        site_name=ctx.t.site_name(site),
        where=names.region(site.region_code),
        events=event_rows(names, found["events"], SITE_FIELDS),
    )


@router.get(f"{SITES}/{{code}}/plaque")
def site_plaque(ctx: Page, code: str) -> HTMLResponse:
    """The site's plaque on a printable A4 page (the plaque service's sheet of one)."""
    require_admin(ctx)
    html = plaques.plaque_sheet(session=ctx.session, account=ctx.user, codes=[code], lang=ctx.lang)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
