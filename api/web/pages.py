"""The dashboard's pages: parse the query, call the services, render a template.

Officials and admins read everything. Other roles get their own sites and register, and a
clear "officials only" page where the services reserve the data for officials.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Offset
from api.web import anomaly_pages, history, views
from api.web.auth import (
    HOME_PATH,
    LOGIN_CSRF_COOKIE,
    LOGIN_PATH,
    PASSWORD_PATH,
    clear_session_cookie,
    login_csrf_ok,
    logout_csrf_ok,
    new_login_csrf,
    safe_next,
    session_token,
    set_login_csrf,
    set_session_cookie,
)
from api.web.core import DashboardRoute, Page, PageContext, PublicPage, url_with
from wasteflow.config import get_settings
from wasteflow.errors import Invalid, TooManyRequests, Unauthorized
from wasteflow.rates import INDICATORS
from wasteflow.schemas import SitePublic
from wasteflow.services import (
    accounts,
    anomaly_work,
    applicability,
    catalogue,
    comparisons,
    flow_sankey,
    flows,
    handovers,
    labels,
    rates,
    sites,
)
from wasteflow.types import TREATING_KINDS, RegionLevel

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PeriodQ = Annotated[str | None, Query(description="2025, 2025-Q2 or 2025-03")]
PAGE_SIZE = 50


# --- entry, login, logout ------------------------------------------------------------------


@router.get("/")
def root() -> RedirectResponse:
    """The server's front door leads to the dashboard (which asks for a login if needed)."""
    return RedirectResponse(HOME_PATH, status_code=303)


def _login_page(
    ctx: PageContext,
    next_url: str,
    message: str | None,
    error: str | None,
    status_code: int = 200,
    wait: int | None = None,
) -> HTMLResponse:
    csrf = new_login_csrf()
    response: HTMLResponse = ctx.render(
        "login.html",
        status_code=status_code,
        next_url=next_url,
        message=message,
        error=error,
        wait=wait,
        csrf=csrf,
    )
    set_login_csrf(response, ctx.request, csrf)
    return response


@router.get("/dashboard/login")
def login_form(ctx: PublicPage, next: str | None = None, reason: str | None = None) -> Response:
    """The login form; someone already logged in goes straight on."""
    token = session_token(ctx.request)
    if token:
        try:
            accounts.account_for_token(session=ctx.session, token=token)
            return RedirectResponse(safe_next(next), status_code=303)
        except Unauthorized:
            pass
    message = {"logged_out": "login.logged_out", "session": "login.session_over"}.get(reason or "")
    return _login_page(ctx, safe_next(next), message, None)


@router.post("/dashboard/login")
def login_submit(
    ctx: PublicPage,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME_PATH,
) -> Response:
    """Check the password with the API's token service and keep the token in a cookie."""
    if not login_csrf_ok(ctx.request, csrf):
        return _login_page(ctx, safe_next(next), None, "login.expired_form", 400)
    request = ctx.request
    try:
        token, expires, account = accounts.login(
            session=ctx.session,
            username=username.strip(),
            password=password,
            label="dashboard",
            client=request.client.host if request.client else None,
        )
    except Unauthorized as exc:
        error = "login.disabled" if "disabled" in exc.detail else "login.failed"
        return _login_page(ctx, safe_next(next), None, error, 401)
    except TooManyRequests as exc:
        page = _login_page(
            ctx, safe_next(next), None, "login.throttled", 429, wait=exc.retry_after_s
        )
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    target = safe_next(next)
    if account.must_change_password:
        # A temporary password (an admin's reset): the password page comes first.
        query = {"next": target} if target != HOME_PATH else {}
        target = url_with(PASSWORD_PATH, query)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, ctx.request, token, expires)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


@router.get("/dashboard/logout")
def logout_form(ctx: Page) -> HTMLResponse:
    """Logging out changes state, so it is a POST; this page only asks."""
    return ctx.render("logout.html")


@router.post("/dashboard/logout")
def logout_submit(ctx: PublicPage, csrf: Annotated[str, Form()] = "") -> Response:
    """Revoke the session's token (it stops working for the API too) and drop the cookie.
    Only the form's token is needed: one waiting to change a reset password logs out too."""
    if not session_token(ctx.request):
        return RedirectResponse(LOGIN_PATH, status_code=303)
    if not logout_csrf_ok(ctx.request, csrf):
        raise Invalid("csrf: the logout form expired; open it again", field="csrf")
    token = session_token(ctx.request)
    if token:
        accounts.revoke_token(session=ctx.session, token=token)
    response = RedirectResponse(f"{LOGIN_PATH}?reason=logged_out", status_code=303)
    clear_session_cookie(response, ctx.request)
    return response


# --- rates ---------------------------------------------------------------------------------


def _own_sites(ctx: PageContext) -> tuple[list[SitePublic], list[str]]:
    """The sites and rounds an account is bound to (for roles other than officials)."""
    rounds = accounts.account_public(ctx.session, ctx.user).rounds
    return sites.account_sites(ctx.session, ctx.user), list(rounds)


@router.get("/dashboard")
def home(ctx: Page, period: PeriodQ = None) -> HTMLResponse:
    """The district's indicators against targets, each with its trend over the months."""
    label = ctx.period(period)
    if not ctx.officials:
        return _home_own(ctx, label)
    report = rates.report(session=ctx.session, account=ctx.user, period=label)
    district = report["rows"][0]
    return ctx.render(
        "home.html",
        period=label,
        report=report,
        region=district["region"],
        rate_figures=[district["figures"][k] for k in views.rate_keys()],
        quantity_figures=[district["figures"][k] for k in views.quantity_keys()],
        materials=views.by_code(catalogue.list_materials(session=ctx.session)),
        anomaly_work=anomaly_pages.home_counts(ctx, label),
        set_years=labels.coefficient_set_years(ctx.session),
    )


def _home_own(ctx: PageContext, label: str) -> HTMLResponse:
    """A collector's, operator's or processor's home: the loads on their way to their sites,
    what they recorded today, their sites and rounds, and the way to the field app."""
    own, rounds = _own_sites(ctx)
    materials = views.by_code(catalogue.list_materials(session=ctx.session))
    tz = ZoneInfo(get_settings().timezone)
    today = datetime.now(tz).date()
    work = handovers.own_work(session=ctx.session, account=ctx.user, day=today)
    codes = {h.from_site for h in work.awaiting + work.today}
    codes |= {h.to_site for h in work.awaiting + work.today}
    return ctx.render(
        "home_own.html",
        period=label,
        own_sites=views.site_rows(own, ctx.t, materials),
        rounds=rounds,
        work=work,
        today=today,
        site_names=sites.names_by_code(ctx.session, codes),
        material_names=materials,
        local=lambda when: when.astimezone(tz),
        anomaly_work=anomaly_pages.home_counts(ctx, label),
    )


@router.get("/dashboard/townships")
def townships(ctx: Page, period: PeriodQ = None) -> HTMLResponse:
    """Every township × every indicator, sortable, with the district's total."""
    if not ctx.officials:
        return ctx.officials_only()
    label = ctx.period(period)
    report = rates.report(session=ctx.session, account=ctx.user, period=label)
    compared = comparisons.comparison(session=ctx.session, account=ctx.user, period=label)
    by_code = {r["region"]["code"]: r for r in compared["rows"]}
    last_year = compared["rows"][0]["figures"]
    before = compared["previous_period"]
    return ctx.render(
        "townships.html",
        period=label,
        report=report,
        total=report["rows"][0],
        rows=report["rows"][1:],
        keys=list(INDICATORS),
        compare=by_code,
        previous_year=compared["previous_year"]["label"],
        previous_period=before["label"] if before else None,
        mom_label=ctx.t("townships.qoq" if "Q" in label else "townships.mom"),
        # The district had no figure at all a year before: say so once, not in every cell.
        no_yoy=all(
            f["yoy"]["rate"] is None and not f["yoy"]["numerator_kg"] for f in last_year.values()
        ),
        checks=sum(f["over_100"] for r in compared["rows"][1:] for f in r["figures"].values()),
        na=applicability.not_applicable_cells(ctx.session, label, report["rows"]),
    )


@router.get("/dashboard/townships/{code}")
def township(ctx: Page, code: str, period: PeriodQ = None) -> HTMLResponse:
    """One township: its rates (and its villages'), its sites, its anomalies."""
    if not ctx.officials:
        return ctx.officials_only()
    label = ctx.period(period)
    report = rates.report(session=ctx.session, account=ctx.user, period=label, region=code)
    top = report["rows"][0]
    site_page = sites.list_sites(session=ctx.session, region_code=code, limit=500)
    work = anomaly_work.list_anomalies(
        session=ctx.session, account=ctx.user, period=label, region=code
    )
    materials = views.by_code(catalogue.list_materials(session=ctx.session))
    site_rows = views.site_rows(site_page.items, ctx.t, materials)
    return ctx.render(
        "township.html",
        period=label,
        report=report,
        top=top,
        rows=report["rows"][1:],
        keys=list(INDICATORS),
        pools=[s for s in site_rows if s["kind"] != "source"],
        sources=[s for s in site_rows if s["kind"] == "source"],
        sites_total=site_page.total,
        anomalies=views.anomaly_rows(work["items"], ctx.t, materials, label),
        page_url=anomaly_pages.page_url,
        na=applicability.not_applicable_cells(ctx.session, label, report["rows"]),
    )


@router.get("/dashboard/records")
def records(
    ctx: Page,
    indicator: str,
    period: PeriodQ = None,
    region: str = "500156",
    offset: Offset = 0,
) -> HTMLResponse:
    """The declarations and handovers one figure counts (with their exports)."""
    if not ctx.officials:
        return ctx.officials_only()
    label = ctx.period(period)
    if indicator not in INDICATORS:
        raise Invalid(f"indicator: one of {', '.join(INDICATORS)}", field="indicator")
    found = rates.records(
        session=ctx.session,
        account=ctx.user,
        indicator=indicator,
        region=region,
        period=label,
        limit=PAGE_SIZE,
        offset=offset,
    )
    regions = {r.id: r for r in catalogue.list_regions(session=ctx.session)}
    here = next((r for r in regions.values() if r.code == region), None)
    return ctx.render(
        "records.html",
        period=label,
        indicator=INDICATORS[indicator],
        region=here,
        regions=regions,
        found=found,
        materials=views.by_code(catalogue.list_materials(session=ctx.session)),
        site_names=_site_names(ctx, found["handovers"]["items"]),
        pager=_pager(
            "/dashboard/records",
            {"indicator": indicator, "period": label, "region": region},
            found["handovers"],
        ),
    )


# --- flows and anomalies -------------------------------------------------------------------


@router.get("/dashboard/flows")
def flows_page(ctx: Page, period: PeriodQ = None, material: str = "film") -> HTMLResponse:
    """The Sankey of the period for one material or indicator."""
    if not ctx.officials:
        return ctx.officials_only()
    label = ctx.period(period)
    materials = catalogue.list_materials(session=ctx.session)
    sankey = flow_sankey.sankey_data(
        session=ctx.session, account=ctx.user, period=label, material=material, lang=ctx.lang
    )
    chosen = next((m for m in materials if m.code == material), None)
    material_text = ctx.t.name(chosen) if chosen else ctx.t(f"ind.{material}")
    return ctx.render(
        "flows.html",
        period=label,
        material=material,
        material_text=material_text,
        choices=views.FLOW_CHOICES,
        materials=materials,
        plot=views.sankey_plot(sankey, ctx.t),
        rows=views.sankey_rows(sankey, ctx.t, views.by_code(materials)),
        returns=views.sankey_returns(sankey),
        column_size=max(Counter(n["kind"] for n in sankey["nodes"]).values(), default=0),
    )


# --- the register --------------------------------------------------------------------------


def _pager(path: str, query: dict[str, Any], page: dict[str, Any]) -> dict[str, Any]:
    """Where the previous and next pages are, and which rows this one shows."""
    total, offset, limit = page["total"], page["offset"], page["limit"]
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


@router.get("/dashboard/handovers")
def register(
    ctx: Page,
    period: str | None = None,
    township: str | None = None,
    site: str | None = None,
    material: str | None = None,
    status: str | None = None,
    offset: Offset = 0,
) -> HTMLResponse:
    """The handover register with filters and pages (each role sees what it may read)."""
    filters = views.RegisterFilters.parse(
        period, township, site, material, status, ctx.default_period
    )
    page = handovers.list_handovers(
        session=ctx.session,
        account=ctx.user,
        limit=PAGE_SIZE,
        offset=offset,
        **filters.service_filters(),
    )
    materials = catalogue.list_materials(session=ctx.session)
    return ctx.render(
        "handovers.html",
        filters=filters,
        all_periods=views.ALL_PERIODS,
        page=page,
        pager=_pager("/dashboard/handovers", filters.query(), page),
        townships=catalogue.list_regions(session=ctx.session, level=RegionLevel.township),
        materials=materials,
        material_names=views.by_code(materials),
        site_names=_site_names(ctx, page["items"]),
        states=views.STATES,
        period_groups=ctx.period_choices(filters.period or ctx.default_period),
        export_query=filters.query(),
    )


def _site_names(ctx: PageContext, items: list[Any]) -> dict[str, Any]:
    """The sites a page of handovers names, by code (the register shows their names)."""
    codes = {h.from_site for h in items} | {h.to_site for h in items}
    return sites.names_by_code(ctx.session, codes)


@router.get("/dashboard/handovers/{code}")
def handover(ctx: Page, code: str) -> HTMLResponse:
    """One handover: what it says, its history (who, when, before → after), its manifest QR."""
    found = handovers.history(session=ctx.session, account=ctx.user, ref=code)
    h = found["handover"]
    materials = views.by_code(catalogue.list_materials(session=ctx.session))
    routes = views.by_code(catalogue.list_routes(session=ctx.session))
    codes = {h.from_site, h.to_site}
    for e in found["events"]:
        for values in (e["before"] or {}, e["after"] or {}):
            codes |= {values[k] for k in ("from_site", "to_site") if values.get(k)}
    site_names = sites.names_by_code(ctx.session, codes)
    names = history.Names(
        sites=site_names,
        materials=materials,
        routes=routes,
        route_codes=labels.route_codes_by_id(ctx.session),
        returns=h.returns,
    )
    return ctx.render(
        "handover.html",
        h=h,
        events=history.history_rows(found["events"], ctx.t, names),
        corrected_by=found["corrected_by"],
        returned_by=found["returned_by"],
        materials=materials,
        routes=routes,
        site_names=site_names,
        local_time=views.local_time,
    )


# --- sites ---------------------------------------------------------------------------------


@router.get("/dashboard/sites")
def sites_page(ctx: Page, period: PeriodQ = None) -> HTMLResponse:
    """Sites by latitude and longitude, coloured by kind; admins print plaques from here."""
    label = ctx.period(period)
    townships = catalogue.list_regions(session=ctx.session, level=RegionLevel.township)
    names = {r.code: ctx.t.name(r) for r in townships}
    if ctx.officials:
        geo = flows.sites_geojson(session=ctx.session, account=ctx.user, period=label)
        points = views.site_points(geo["features"])
    else:
        own, _ = _own_sites(ctx)
        points = views.own_site_points(own)
    treating = [p for p in points if p["kind"] in TREATING_KINDS]
    return ctx.render(
        "sites.html",
        period=label,
        traces=views.site_traces(points, ctx.t, names),
        counts=views.kind_counts(points),
        treating=treating,
        township_names=names,
        townships=townships,
        kinds=views.SITE_KINDS,
    )
