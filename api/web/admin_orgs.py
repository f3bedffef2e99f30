"""Admin pages for organisations (companies, cooperatives, township governments) and
collection rounds (a collector's villages and sources, for one collection point): list,
create, edit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

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
from api.web.core import DashboardRoute, Page, PageContext
from wasteflow.errors import WasteflowError
from wasteflow.schemas_admin import (
    OrganisationCreate,
    OrganisationPublic,
    OrganisationUpdate,
    RoundCreate,
    RoundPublic,
    RoundUpdate,
)
from wasteflow.services import organisations, rounds, site_admin
from wasteflow.types import OrganisationKind, RegionLevel, SiteKind

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

ORGS = "/dashboard/admin/organisations"
ROUNDS = "/dashboard/admin/rounds"
ORG_KINDS = [k.value for k in OrganisationKind]
ORG_FIELDS = ("code", "name", "kind", "region_code", "credit_code")
ROUND_FIELDS = ("code", "name", "collection_point", "villages", "sources")
ADD_SLOTS = 3


def _regions(names: Names) -> list[tuple[Any, list[Any]]]:
    """Townships, each with its villages (for the region pickers)."""
    regions = list(names.regions.values())
    villages: dict[str, list[Any]] = {}
    for r in regions:
        if r.level == RegionLevel.village and r.parent_code:
            villages.setdefault(r.parent_code, []).append(r)
    towns = [r for r in regions if r.level == RegionLevel.township]
    return [(town, villages.get(town.code, [])) for town in towns]


# --- organisations -------------------------------------------------------------------------


@router.get(ORGS)
def organisation_list(ctx: Page) -> HTMLResponse:
    require_admin(ctx)
    names = Names(ctx)
    listed = sorted(names.organisations.values(), key=lambda o: (o.kind, o.name))
    return ctx.render(
        "admin/organisations.html",
        **form_context(ctx),
        rows=[(o, names.region(o.region_code) if o.region_code else "") for o in listed],
    )


def _org_page(
    ctx: PageContext,
    names: Names,
    form: FormState,
    org: OrganisationPublic | None,
    status_code: int = 200,
) -> HTMLResponse:
    return ctx.render(
        "admin/organisation_form.html",
        status_code=status_code,
        **form_context(ctx),
        form=form,
        org=org,
        kinds=ORG_KINDS,
        region_groups=_regions(names),
    )


def _org_values(posted: Any) -> dict[str, Any]:
    values = {k: text(posted, k) for k in ORG_FIELDS}
    values["code"] = values["code"].upper()
    values["credit_code"] = values["credit_code"].upper().replace(" ", "")
    return values


@router.get(f"{ORGS}/new")
def new_organisation_form(ctx: Page) -> HTMLResponse:
    require_admin(ctx)
    return _org_page(ctx, Names(ctx), FormState(values={"kind": "enterprise"}), None)


@router.post(f"{ORGS}/new")
def new_organisation_submit(ctx: Page, posted: Posted) -> Response:
    key = check_posted(ctx, posted)
    names = Names(ctx)
    form = FormState(values=_org_values(posted), key=key or FormState().key)
    try:
        data = OrganisationCreate.model_validate({k: v for k, v in form.values.items() if v})
        organisations.create_organisation(
            session=ctx.session, actor=ctx.user, data=data, idempotency_key=key
        )
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, names, ORG_FIELDS, hints={"code": ctx.t("hint.code")})
        return _org_page(ctx, names, form, None, 422)
    return done(ORGS, "created")


@router.get(f"{ORGS}/{{code}}")
def edit_organisation_form(ctx: Page, code: str) -> HTMLResponse:
    require_admin(ctx)
    org = organisations.read_organisation(session=ctx.session, actor=ctx.user, code=code)
    values = {k: v or "" for k, v in org.model_dump(mode="json").items()}
    return _org_page(ctx, Names(ctx), FormState(values=values), org)


@router.post(f"{ORGS}/{{code}}")
def edit_organisation_submit(ctx: Page, code: str, posted: Posted) -> Response:
    key = check_posted(ctx, posted)
    org = organisations.read_organisation(session=ctx.session, actor=ctx.user, code=code)
    names = Names(ctx)
    form = FormState(values=_org_values(posted) | {"code": code}, key=key or FormState().key)
    if not form.values["name"]:
        form.add("name", ctx.t("err.required"), ORG_FIELDS)
        return _org_page(ctx, names, form, org, 422)
    now = org.model_dump(mode="json")
    wanted = {k: or_none(form.values[k]) for k in ("name", "kind", "region_code", "credit_code")}
    changed = {k: v for k, v in wanted.items() if v != now[k]}
    try:
        organisations.update_organisation(
            session=ctx.session,
            actor=ctx.user,
            code=code,
            data=OrganisationUpdate.model_validate(changed),
            idempotency_key=key,
        )
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, names, ORG_FIELDS)
        return _org_page(ctx, names, form, org, 422)
    return done(ORGS, "saved" if changed else "unchanged")


# --- collection rounds ---------------------------------------------------------------------


@router.get(ROUNDS)
def round_list(ctx: Page, township: str = "", q: str = "") -> HTMLResponse:
    """Every round with its collection point, villages, sources and collectors; by the
    collection point's township and by a piece of its name or code."""
    require_admin(ctx)
    names = Names(ctx)
    listed = sorted(names.rounds.values(), key=lambda r: r.name)
    names.load_sites(r.collection_point for r in listed if r.collection_point)
    q = q.strip()[:64]
    rows = []
    for r in listed:
        point = names.site_record(r.collection_point) if r.collection_point else None
        if township and (point is None or point.township_code != township):
            continue
        if q and q.lower() not in f"{r.name} {r.code}".lower():
            continue
        rows.append(
            {
                "round": r,
                "point": names.site(r.collection_point) if r.collection_point else "",
                "villages": names.joined("region", r.villages[:4]),
                "more_villages": max(0, len(r.villages) - 4),
            }
        )
    return ctx.render(
        "admin/rounds.html",
        **form_context(ctx),
        rows=rows,
        filters={"township": township, "q": q},
        townships=[town for town, _ in _regions(names)],
    )


def _round_choices(ctx: PageContext, names: Names) -> dict[str, Any]:
    """Collection points and transfer stations by township; every active source to add."""
    if "round_choices" in names.memo:
        return dict(names.memo["round_choices"])
    points: dict[str, list[Any]] = {}
    sources: list[tuple[str, str]] = []
    for kind in (SiteKind.collection_point, SiteKind.transfer_station, SiteKind.source):
        offset = 0
        while True:
            page = site_admin.find_sites(
                session=ctx.session, actor=ctx.user, kind=kind, active=True, limit=500,
                offset=offset,
            )  # fmt: skip
            for s in page.items:
                if kind == SiteKind.source:
                    sources.append((ctx.t.site_name(s), s.code))
                else:
                    points.setdefault(s.township_code or "", []).append(s)
            offset += 500
            if offset >= page.total:
                break
    names.memo["round_choices"] = {
        "point_groups": [
            (town, sorted(points.get(town.code, []), key=lambda s: s.name))
            for town, _ in _regions(names)
            if town.code in points
        ],
        "source_options": sorted(sources),
        "region_groups": _regions(names),
        "slots": range(ADD_SLOTS),
    }
    return dict(names.memo["round_choices"])


def _round_page(
    ctx: PageContext,
    names: Names,
    form: FormState,
    found: RoundPublic | None,
    status_code: int = 200,
) -> HTMLResponse:
    names.load_sites(form.value("sources", []))
    return ctx.render(
        "admin/round_form.html",
        status_code=status_code,
        **form_context(ctx),
        form=form,
        found=found,
        names=names,
        **_round_choices(ctx, names),
    )


def _round_values(ctx: PageContext, names: Names, posted: Any, form: FormState) -> None:
    form.values.update({k: text(posted, k) for k in ("code", "name", "collection_point")})
    form.values["code"] = form.values["code"].upper()
    form.values["villages"] = texts(posted, "villages")
    chosen = texts(posted, "sources")
    options = _round_choices(ctx, names)["source_options"]
    codes = {code for _, code in options}
    by_name: dict[str, set[str]] = {}
    for name, code in options:
        by_name.setdefault(name, set()).add(code)
    unknown = []
    for entry in texts(posted, "sources_add"):
        code = entry.rsplit("·", 1)[-1].strip().upper()
        if code in codes:
            chosen.append(code)
        elif len(by_name.get(entry, ())) == 1:
            chosen.append(next(iter(by_name[entry])))
        else:
            unknown.append(entry)
    form.values["sources"] = list(dict.fromkeys(chosen))
    form.values["sources_add"] = unknown
    if unknown:
        sep = "、" if ctx.lang == "zh" else ", "
        form.add("sources", ctx.t("err.unknown_sources", names=sep.join(unknown)), ROUND_FIELDS)


@router.get(f"{ROUNDS}/new")
def new_round_form(ctx: Page) -> HTMLResponse:
    require_admin(ctx)
    return _round_page(ctx, Names(ctx), FormState(values={"villages": [], "sources": []}), None)


@router.post(f"{ROUNDS}/new")
def new_round_submit(ctx: Page, posted: Posted) -> Response:
    key = check_posted(ctx, posted)
    names = Names(ctx)
    form = FormState(key=key or FormState().key)
    _round_values(ctx, names, posted, form)
    if form.failed:
        return _round_page(ctx, names, form, None, 422)
    body = {k: v for k, v in form.values.items() if k in ROUND_FIELDS and v not in ("", None)}
    try:
        data = RoundCreate.model_validate(body)
        rounds.create_round(session=ctx.session, actor=ctx.user, data=data, idempotency_key=key)
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, names, ROUND_FIELDS, hints={"code": ctx.t("hint.code")})
        return _round_page(ctx, names, form, None, 422)
    return done(f"{ROUNDS}/{data.code}", "created")


@router.get(f"{ROUNDS}/{{code}}")
def edit_round_form(ctx: Page, code: str) -> HTMLResponse:
    require_admin(ctx)
    found = rounds.read_round(session=ctx.session, account=ctx.user, code=code)
    values = {k: ("" if v is None else v) for k, v in found.model_dump(mode="json").items()}
    return _round_page(ctx, Names(ctx), FormState(values=values), found)


@router.post(f"{ROUNDS}/{{code}}")
def edit_round_submit(ctx: Page, code: str, posted: Posted) -> Response:
    key = check_posted(ctx, posted)
    found = rounds.read_round(session=ctx.session, account=ctx.user, code=code)
    names = Names(ctx)
    form = FormState(key=key or FormState().key)
    _round_values(ctx, names, posted, form)
    form.values["code"] = code
    for required in ("name", "collection_point"):
        if not form.values[required]:
            form.add(required, ctx.t("err.required"), ROUND_FIELDS)
    if form.failed:
        return _round_page(ctx, names, form, found, 422)
    now = found.model_dump(mode="json")
    fields = ("name", "collection_point", "villages", "sources")
    changed = {k: form.values[k] for k in fields if differs(form.values[k], now[k])}
    try:
        rounds.update_round(
            session=ctx.session,
            actor=ctx.user,
            code=code,
            data=RoundUpdate.model_validate(changed),
            idempotency_key=key,
        )
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, names, ROUND_FIELDS)
        return _round_page(ctx, names, form, found, 422)
    return done(f"{ROUNDS}/{code}", "saved" if changed else "unchanged")
