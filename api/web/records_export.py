"""The records page's exports: the declarations and the handovers one figure counts.

Two files, one per table on the page (``part=declarations`` or ``part=handovers``), as CSV
(UTF-8 with BOM, streamed) or XLSX, like the dashboard's other exports. Declarations carry
their words (kind, region, basis) and numbers as numbers; handovers carry the register
export's columns, so the two exports join on the handover code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from api.responses import attachment
from api.web.core import DashboardRoute, Page
from wasteflow import exports
from wasteflow.errors import Forbidden, Invalid
from wasteflow.rates import INDICATORS
from wasteflow.services import catalogue, rates

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

Format = Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")]
Part = Annotated[Literal["declarations", "handovers"], Query(description="which table")]

DECLARATION_COLUMNS: list[tuple[str, str, str]] = [
    ("id", "编号", "id"),
    ("kind", "申报类型", "kind"),
    ("region_code", "区划代码", "area code"),
    ("region", "所在区域", "region"),
    ("period_start", "期间起", "from"),
    ("period_end", "期间止", "to"),
    ("mass_kg", "申报量（千克）", "declared (kg)"),
    ("share_percent", "计入比例（%）", "share counted (%)"),
    ("counted_kg", "计入量（千克）", "counted (kg)"),
    ("basis", "依据", "basis"),
]


@router.get("/dashboard/export/records")
def export_records(
    ctx: Page,
    indicator: str,
    part: Part,
    format: Format = "csv",
    period: Annotated[str | None, Query(description="2025, 2025-Q2 or 2025-03")] = None,
    region: str = "500156",
) -> Response:
    """One table of the records page, whole (the page shows the handovers 50 at a time)."""
    if not ctx.officials:
        raise Forbidden(ctx.t("officials.body"))
    if indicator not in INDICATORS:
        raise Invalid(f"indicator: one of {', '.join(INDICATORS)}", field="indicator")
    label = ctx.period(period)
    t = ctx.t
    name = f"wasteflow-records-{indicator}-{region}-{label}-{part}"
    if part == "declarations":
        found = rates.records(
            session=ctx.session,
            account=ctx.user,
            indicator=indicator,
            region=region,
            period=label,
            limit=1,
        )
        regions = {r.code: r for r in catalogue.list_regions(session=ctx.session)}
        header = exports.headers(DECLARATION_COLUMNS, ctx.lang)
        body: Iterator[list[Any]] = iter(
            [
                [
                    d["id"],
                    t(f"decl.{d['kind']}"),
                    d["region_code"],
                    t.name(regions[d["region_code"]]) if d["region_code"] in regions else "",
                    d["period_start"],
                    d["period_end"],
                    d["mass_kg"],
                    round(d["share"] * 100, 4),
                    d["counted_kg"],
                    t(f"basis.{d['basis']}") if t.has(f"basis.{d['basis']}") else d["basis"],
                ]
                for d in found["declarations"]
            ]
        )
    else:
        # Check the arguments (and the reader) before the first byte is streamed.
        total = rates.records(
            session=ctx.session,
            account=ctx.user,
            indicator=indicator,
            region=region,
            period=label,
            limit=1,
        )["handovers"]["total"]
        if format == "xlsx" and total > exports.XLSX_MAX_ROWS:
            raise exports.too_many_rows(total)
        header = exports.headers(exports.REGISTER_COLUMNS, ctx.lang)
        body = (
            exports.register_row(h.model_dump())
            for h in rates.iter_record_handovers(
                session=ctx.session,
                account=ctx.user,
                indicator=indicator,
                region=region,
                period=label,
            )
        )
    headers = attachment(f"{name}.{format}") | {"Cache-Control": "no-store"}
    if format == "csv":
        return StreamingResponse(
            exports.csv_chunks(header, body), media_type=exports.CSV_MEDIA, headers=headers
        )
    sheet = t(f"records.sheet_{part}")
    return Response(
        exports.xlsx_bytes(header, body, sheet), media_type=exports.XLSX_MEDIA, headers=headers
    )
