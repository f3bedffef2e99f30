from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, TypeAdapter

from api.deps import CurrentAccount, Limit, Offset, SessionDep
from api.reports import Layout, report_download
from api.responses import FastJSON, attachment
from api.routes.handovers import ERRORS
from wasteflow import exports
from wasteflow.schemas_rates import (
    BalancePublic,
    ComparisonPublic,
    FigurePublic,
    RecordsPublic,
    ReportPublic,
    SankeyPublic,
    SitesGeoJSON,
)
from wasteflow.services import comparisons, flow_sankey, flows, rates

router = APIRouter(prefix="/api/v1", tags=["rates"], default_response_class=FastJSON)

Period = Annotated[str, Query(description="2025, 2025-Q2 or 2025-03")]
Region = Annotated[
    str, Query(description="statistical code of the district, a township or a village")
]
Source = Annotated[
    Literal["totals", "raw"],
    Query(description="totals: the per-day totals (fast); raw: recomputed from every handover"),
]
Lang = Annotated[Literal["zh", "en"], Query(description="headers and names")]


def _ok(
    model: Any, *, media: str = "application/json", downloads: bool = False
) -> dict[int | str, dict[str, Any]]:
    """The 200 answer's schema in the OpenAPI document (the body is written as fast JSON)."""
    template = "#/components/schemas/{model}"
    schema = TypeAdapter(model).json_schema(ref_template=template)
    for name, sub in schema.pop("$defs", {}).items():
        _SCHEMAS.setdefault(name, sub)
    if isinstance(model, type) and issubclass(model, BaseModel):
        # A named model is a component of its own: generated clients get its class.
        _SCHEMAS.setdefault(model.__name__, schema)
        schema = {"$ref": template.format(model=model.__name__)}
    content: dict[str, Any] = {media: {"schema": schema}}
    if downloads:
        content |= {
            exports.CSV_MEDIA.split(";")[0]: {"schema": {"type": "string"}},
            exports.XLSX_MEDIA: {"schema": {"type": "string", "format": "binary"}},
        }
    return {200: {"description": "OK", "content": content}}


# The models the 200 answers refer to, added to the document's components (api/openapi.py).
_SCHEMAS: dict[str, Any] = {}


@router.get("/rates", responses=ERRORS | _ok(FigurePublic))
def get_rate(
    session: SessionDep,
    account: CurrentAccount,
    indicator: str,
    period: Period,
    region: Region = "500156",
    source: Source = "totals",
) -> Response:
    """One indicator for a region and period: numerator, denominator, rate, target, met,
    formula, coefficient sets, and the records behind it."""
    return FastJSON(
        rates.rate(
            session=session,
            account=account,
            indicator=indicator,
            region=region,
            period=period,
            source=source,
        )
    )


@router.get("/rates/report", responses=ERRORS | _ok(ReportPublic, downloads=True))
def rates_report(
    session: SessionDep,
    account: CurrentAccount,
    period: Period,
    region: Annotated[
        str | None, Query(description="a district (default) or township: it and its children")
    ] = None,
    source: Source = "totals",
    format: Literal["json", "csv", "xlsx"] = "json",
    lang: Lang = "zh",
    layout: Annotated[
        Layout,
        Query(
            description="xlsx only: report, the 报表 (townships × indicators, title, notes, "
            "ready to print); records, one row per region × indicator as in the CSV"
        ),
    ] = "report",
) -> Response:
    """Every indicator × every township for a period, with the district total: JSON; CSV
    (one row per region × indicator); XLSX, the 报表 officials send upward. Chinese by
    default."""
    if format == "json":
        return FastJSON(
            rates.report(
                session=session, account=account, period=period, region=region, source=source
            )
        )
    return report_download(
        session=session,
        account=account,
        period=period,
        region=region,
        fmt=format,
        lang=lang,
        layout=layout,
    )


@router.get("/rates/compare", responses=ERRORS | _ok(ComparisonPublic))
def rates_compare(
    session: SessionDep,
    account: CurrentAccount,
    period: Period,
    region: Annotated[
        str | None, Query(description="a district (default) or township: it and its children")
    ] = None,
) -> Response:
    """Every indicator × every township for a period against the same period a year before
    (同比) and the period just before (环比), with ranks among the townships (排名) and a
    flag on any rate above 100 % (a data check, never a target met)."""
    return FastJSON(
        comparisons.comparison(session=session, account=account, period=period, region=region)
    )


@router.get("/rates/trend", responses=ERRORS | _ok(list[FigurePublic]))
def rates_trend(
    session: SessionDep,
    account: CurrentAccount,
    indicator: str,
    period: Period,
    region: Region = "500156",
    cumulative: Annotated[bool, Query(description="each month shows the period to date")] = False,
) -> Response:
    """The indicator month by month across the period."""
    return FastJSON(
        rates.trend(
            session=session,
            account=account,
            indicator=indicator,
            region=region,
            period=period,
            cumulative=cumulative,
        )
    )


@router.get("/rates/trends", responses=ERRORS | _ok(dict[str, list[FigurePublic]]))
def rates_trends(
    session: SessionDep,
    account: CurrentAccount,
    period: Period,
    region: Region = "500156",
    indicators: Annotated[str | None, Query(description="comma-separated; default all")] = None,
    cumulative: Annotated[bool, Query(description="each month shows the period to date")] = True,
) -> Response:
    """Several indicators month by month, computed together (one read, one pass per month)."""
    keys = [k.strip() for k in indicators.split(",") if k.strip()] if indicators else None
    return FastJSON(
        rates.trends(
            session=session,
            account=account,
            indicators=keys,
            region=region,
            period=period,
            cumulative=cumulative,
        )
    )


@router.get("/rates/records", responses=ERRORS | _ok(RecordsPublic))
def rate_records(
    session: SessionDep,
    account: CurrentAccount,
    indicator: str,
    period: Period,
    region: Region = "500156",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """The declarations and handovers behind a figure."""
    return FastJSON(
        rates.records(
            session=session,
            account=account,
            indicator=indicator,
            region=region,
            period=period,
            limit=limit,
            offset=offset,
        )
    )


@router.get("/flows/sankey", responses=ERRORS | _ok(SankeyPublic))
def flows_sankey(
    session: SessionDep,
    account: CurrentAccount,
    period: Period,
    material: Annotated[
        str | None, Query(description="a material code or an indicator (film, manure…)")
    ] = None,
    group_by: Literal["township", "kind"] = "township",
    lang: Lang = "zh",
) -> Response:
    """Sankey of the period: sources by township → collection points → processors → routes."""
    return FastJSON(
        flow_sankey.sankey_data(
            session=session,
            account=account,
            period=period,
            material=material,
            group_by=group_by,
            lang=lang,
        )
    )


@router.get("/flows/balance", responses=ERRORS | _ok(BalancePublic))
def flows_balance(
    session: SessionDep,
    account: CurrentAccount,
    period: Period,
    region: str | None = None,
    material: str | None = None,
    kind: str | None = None,
) -> Response:
    """Per-site mass balance (in − out − treated = change in stock) and the anomalies."""
    return FastJSON(
        flows.balance(
            session=session,
            account=account,
            period=period,
            region=region,
            material=material,
            kind=kind,
        )
    )


def _download(content: bytes, media: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media,
        headers=attachment(filename),
    )


@router.get("/sites.geojson", responses=ERRORS | _ok(SitesGeoJSON, media="application/geo+json"))
def sites_geojson(
    session: SessionDep, account: CurrentAccount, period: Period, region: str | None = None
) -> Response:
    """Sites as GeoJSON points with their totals for the period."""
    import json

    body = flows.sites_geojson(session=session, account=account, period=period, region=region)
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/geo+json")
