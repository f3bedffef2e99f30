"""What the dashboard serves besides pages: exports, chart data, QR images, static files.

Exports use the cookie session (a browser cannot send the API's bearer header from a link)
and call the same services and writers as the API's exports, so a file holds what its page
shows. Plotly's JavaScript comes from the installed ``plotly`` package: never a CDN, never a
copy in the repository.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.reports import Layout, report_download
from api.responses import attachment, register_download
from api.web import views
from api.web.core import STATIC_DIR, DashboardRoute, Page
from wasteflow import exports
from wasteflow.errors import Forbidden, Invalid, NotFound
from wasteflow.services import anomaly_work, catalogue, flow_sankey, flows, plaques, rates
from wasteflow.types import RegionLevel, SiteKind

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

Format = Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")]
PeriodQ = Annotated[str | None, Query(description="2025, 2025-Q2 or 2025-03")]
YEAR = 365 * 24 * 3600
STATIC_FILES = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}


def _attachment(name: str) -> dict[str, str]:
    return attachment(name) | {"Cache-Control": "no-store"}


def _table(
    header: list[str], rows: Iterable[Sequence[Any]], fmt: str, name: str, sheet: str
) -> Response:
    """A table as CSV (UTF-8 with BOM, for Excel) or XLSX, with the exports' own writers."""
    if fmt == "csv":
        return Response(
            b"".join(exports.csv_chunks(header, rows)),
            media_type=exports.CSV_MEDIA,
            headers=_attachment(f"{name}.csv"),
        )
    return Response(
        exports.xlsx_bytes(header, rows, sheet),
        media_type=exports.XLSX_MEDIA,
        headers=_attachment(f"{name}.xlsx"),
    )


def _officials(ctx: Page) -> None:
    if not ctx.officials:
        raise Forbidden(ctx.t("officials.body"))


# --- exports -------------------------------------------------------------------------------


@router.get("/dashboard/export/report")
def export_report(
    ctx: Page,
    format: Format = "xlsx",
    period: PeriodQ = None,
    region: str | None = None,
    layout: Layout = "report",
) -> Response:
    """The 报表 (xlsx) or the report's data (csv), as the API exports it."""
    _officials(ctx)
    return report_download(
        session=ctx.session,
        account=ctx.user,
        period=ctx.period(period),
        region=region,
        fmt=format,
        lang=ctx.lang,
        layout=layout,
        extra_headers={"Cache-Control": "no-store"},
    )


@router.get("/dashboard/export/handovers")
def export_register(
    ctx: Page,
    format: Format = "csv",
    period: str | None = None,
    township: str | None = None,
    site: str | None = None,
    material: str | None = None,
    status: str | None = None,
) -> Response:
    """The register with the page's filters, in the API's export columns."""
    parsed = views.RegisterFilters.parse(
        period, township, site, material, status, ctx.default_period
    )
    return register_download(
        ctx.session,
        ctx.user,
        parsed.service_filters(),
        format,
        ctx.lang,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/dashboard/export/anomalies")
def export_anomalies(
    ctx: Page,
    format: Format = "csv",
    period: PeriodQ = None,
    township: str | None = None,
    state: Literal["open", "assigned", "resolved", "dismissed", "all"] = "all",
) -> Response:
    _officials(ctx)
    label = ctx.period(period)
    work = anomaly_work.list_anomalies(
        session=ctx.session, account=ctx.user, period=label, state=state, region=township or None
    )
    materials = views.by_code(catalogue.list_materials(session=ctx.session))
    header, rows = views.anomaly_table(
        views.anomaly_rows(work["items"], ctx.t, materials, label), ctx.t
    )
    sheet = "异常" if ctx.lang == "zh" else "anomalies"
    return _table(header, rows, format, f"wasteflow-anomalies-{label}", sheet)


@router.get("/dashboard/export/flows")
def export_flows(
    ctx: Page, format: Format = "csv", period: PeriodQ = None, material: str = "film"
) -> Response:
    _officials(ctx)
    label = ctx.period(period)
    sankey = flow_sankey.sankey_data(
        session=ctx.session, account=ctx.user, period=label, material=material, lang=ctx.lang
    )
    t = ctx.t
    materials = views.by_code(catalogue.list_materials(session=ctx.session))
    header = [
        t("flows.from"),
        t("flows.to"),
        t("flows.material_col"),
        t("flows.t_col"),
        t("flows.kind_col"),
    ]
    rows = [
        [
            r["from"],
            r["to"],
            r["material"],
            round(r["t"], 3),
            t("flows.returned") if r["returned"] else "",
        ]
        for r in views.sankey_rows(sankey, t, materials)
    ]
    sheet = "流向" if ctx.lang == "zh" else "flows"
    return _table(header, rows, format, f"wasteflow-flows-{material}-{label}", sheet)


@router.get("/dashboard/export/sites")
def export_sites(ctx: Page, format: Format = "csv", period: PeriodQ = None) -> Response:
    _officials(ctx)
    label = ctx.period(period)
    geo = flows.sites_geojson(session=ctx.session, account=ctx.user, period=label)
    names = {
        r.code: ctx.t.name(r)
        for r in catalogue.list_regions(session=ctx.session, level=RegionLevel.township)
    }
    header, rows = views.site_table(views.site_points(geo["features"]), ctx.t, names)
    sheet = "站点" if ctx.lang == "zh" else "sites"
    return _table(header, rows, format, f"wasteflow-sites-{label}", sheet)


# --- chart data, QR images, plaque sheets --------------------------------------------------


@router.get("/dashboard/data/trends")
def trend_data(ctx: Page, period: PeriodQ = None, region: str = "500156") -> JSONResponse:
    """Every indicator year to date, month by month, for the figure cards' trend lines
    (fetched once after the page is shown)."""
    _officials(ctx)
    series = rates.trends(
        session=ctx.session,
        account=ctx.user,
        indicators=None,
        region=region,
        period=ctx.period(period),
        cumulative=True,
    )
    return JSONResponse(
        {
            key: [
                {
                    "period": m["period"]["end"].strftime("%Y-%m"),
                    "rate": m["rate"],
                    "numerator_kg": m["numerator_kg"],
                    "denominator_kg": m["denominator_kg"],
                    "met": m["met"],
                    "target": None if m["target"] is None else m["target"]["value"],
                }
                for m in months
            ]
            for key, months in series.items()
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/dashboard/handovers/{code}/manifest.svg")
def manifest_svg(ctx: Page, code: str) -> Response:
    """The handover's manifest QR (the API's SVG, with the cookie session)."""
    payload = plaques.handover_payload(ctx.session, ctx.user, code)
    data, media = plaques.image(payload, "svg")
    return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/dashboard/sites/plaques")
def plaque_sheet(ctx: Page, region: str, kind: str | None = None) -> HTMLResponse:
    """A printable A4 sheet of a township's plaques (admins; the service checks)."""
    if kind and kind not in views.SITE_KINDS:
        raise Invalid(f"kind: one of {', '.join(views.SITE_KINDS)}", field="kind")
    site_kind = SiteKind(kind) if kind else None
    html = plaques.plaque_sheet(
        session=ctx.session, account=ctx.user, region=region, kind=site_kind, lang=ctx.lang
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


# --- static files --------------------------------------------------------------------------


@cache
def _plotly_js() -> tuple[bytes, bytes]:
    """Plotly's bundle from the installed package, plain and gzipped (read once)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    raw = path.read_bytes()
    return raw, gzip.compress(raw, compresslevel=6)


@router.get("/dashboard/static/plotly-{version}.min.js")
def plotly_js(request: Request, version: str) -> Response:
    """Plotly's JavaScript, cached for a year: its URL names the package's version."""
    import plotly

    if version != plotly.__version__:
        raise NotFound(f"this server has plotly {plotly.__version__}, not {version}")
    raw, packed = _plotly_js()
    headers = {
        "Cache-Control": f"public, max-age={YEAR}, immutable",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    # 4.7 MB plain, 1.4 MB gzipped: worth it on a township office's line or a phone.
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type=STATIC_FILES["app.js"], headers=headers)
    return Response(raw, media_type=STATIC_FILES["app.js"], headers=headers)


@router.get("/dashboard/static/{name}")
def static_file(name: str) -> Response:
    """The dashboard's own CSS and JavaScript (URLs carry a content hash, hence a long cache)."""
    media = STATIC_FILES.get(name)
    if media is None:
        raise NotFound(f"no static file {name!r}")
    return Response(
        (STATIC_DIR / name).read_bytes(),
        media_type=media,
        headers={
            "Cache-Control": f"public, max-age={YEAR}, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
