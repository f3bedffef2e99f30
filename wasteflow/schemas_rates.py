"""Response bodies of the rates, flows and map endpoints, as the OpenAPI document shows them.

The endpoints answer with fast JSON written straight from the services' dicts; these models
describe that JSON exactly (a test checks every answer against them), so a client generated
from ``/openapi.json`` gets typed figures, not untyped dicts.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from wasteflow.schemas import HandoverPublic


class RegionRef(BaseModel):
    code: str
    name_zh: str
    name_en: str
    level: str | None = None


class PeriodRef(BaseModel):
    label: str = Field(examples=["2025", "2025-Q2", "2025-03", "2025..2025-06"])
    start: date
    end: date = Field(description="inclusive")


class TargetRef(BaseModel):
    value: float = Field(description="a fraction: 0.9 is 90 %")
    comparator: Literal[">=", "<="]
    source: str
    years: list[int] = Field(description="first and last year the plan set it for")
    carried_forward: bool = Field(
        description="no target covers the year: the plan's last one stands until a new one"
    )


class RecordsRef(BaseModel):
    handovers: int
    declarations: int
    url: str = Field(description="the records behind the figure")


class BasisWarning(BaseModel):
    code: str
    text: str
    routes: list[str] | None = None


class CoefficientSetRef(BaseModel):
    code: str
    year: int
    fallback: bool = Field(description="the set is another year's: the period's has none")
    note: str | None = None


class FigureBasis(BaseModel):
    """What a figure rests on (fields a figure has no use for are left out)."""

    pooled_share: float | None = Field(
        default=None,
        description="share of the numerator attributed by proportional sharing at a pool",
    )
    pooled_kg: float | None = None
    estimated_share: float | None = Field(
        default=None,
        description="share of the mass its sources handed over estimated, not weighed",
    )
    estimated_kg: float | None = None
    unverified_coefficients: list[str] | None = None
    coefficient_set: CoefficientSetRef | None = None
    mass_basis: str | None = None
    warnings: list[BasisWarning] | None = None


class FigurePublic(BaseModel):
    """One indicator for one region and period, by its official formula."""

    indicator: str
    name_zh: str
    name_en: str
    region: RegionRef
    period: PeriodRef
    numerator_kg: float | None
    denominator_kg: float | None
    rate: float | None = Field(description="a fraction; null when there is no denominator")
    status: Literal["ok", "no_data"]
    target: TargetRef | None
    met: bool | None
    formula: str
    formula_text: str
    coefficient_sets: list[str]
    records: RecordsRef
    components: dict[str, Any] = Field(
        description="the parts of the numerator: by route, five uses, awaiting return…"
    )
    basis: FigureBasis


class IndicatorRef(BaseModel):
    key: str
    name_zh: str
    name_en: str


class ReportRow(BaseModel):
    region: RegionRef
    figures: dict[str, FigurePublic]


class ReportPublic(BaseModel):
    period: PeriodRef
    region: RegionRef
    indicators: list[IndicatorRef]
    rows: list[ReportRow] = Field(description="the region first, then its children")
    source: Literal["totals", "raw"]


class DeclarationCounted(BaseModel):
    id: int
    kind: str
    region_id: int
    region_code: str | None
    site_id: int | None
    period_start: date
    period_end: date
    mass_kg: float
    share: float = Field(description="share of the declared period inside the figure's")
    counted_kg: float
    basis: str
    url: str


class HandoverPage(BaseModel):
    items: list[HandoverPublic]
    total: int
    limit: int
    offset: int


class RecordsPublic(BaseModel):
    indicator: str
    region: str
    period: str
    declarations: list[DeclarationCounted]
    handovers: HandoverPage


class SankeyNode(BaseModel):
    id: str = Field(
        description="site:<code> for a plant, route:<code> for a treatment route, "
        "<kind>:<township code> for a township's sources, collection points or transfer "
        "stations (<kind>:* with group_by=kind)"
    )
    label: str = Field(description="the plant's, route's or group's name")
    kind: Literal[
        "source", "collection_point", "transfer_station", "processor", "disposal", "route"
    ]
    township: str | None = Field(description="the township code of a township's group")
    value_kg: float = Field(description="mass through the node: the larger of in and out")


class SankeyLink(BaseModel):
    source: int = Field(description="index into nodes")
    target: int = Field(description="index into nodes")
    value: float = Field(description="kg")
    kind: Literal["flow", "return"] = Field(
        description="return: refused mass sent back by the plant that refused it"
    )
    materials: dict[str, float] = Field(description="kg by material code")


class SankeyPublic(BaseModel):
    period: str
    material: str | None
    group_by: str
    lang: str
    unit: str
    nodes: list[SankeyNode]
    links: list[SankeyLink]


class SiteBalancePublic(BaseModel):
    site: str
    name: str
    name_en: str | None
    kind: str
    material: str
    opening_kg: float
    inflow_kg: float
    outflow_kg: float
    treated_kg: float
    closing_kg: float
    generated_kg: float


class AnomalyPublic(BaseModel):
    kind: str
    severity: Literal["warning", "error"]
    site: str | None = None
    site_name: str | None = None
    site_name_en: str | None = None
    material: str | None = None
    handovers: list[str] = Field(description="the records to open")
    detail: dict[str, Any]


class BalancePublic(BaseModel):
    period: str
    region: str | None
    material: str | None
    sites: list[SiteBalancePublic]
    anomalies: list[AnomalyPublic]


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(description="longitude, latitude")


class SiteTotalsProperties(BaseModel):
    code: str
    name: str
    name_en: str | None
    kind: str
    region: str
    township: str
    received_kg: float
    sent_kg: float
    treated_kg: float


class SiteFeature(BaseModel):
    type: Literal["Feature"]
    geometry: PointGeometry
    properties: SiteTotalsProperties


class SitesGeoJSON(BaseModel):
    type: Literal["FeatureCollection"]
    period: str
    features: list[SiteFeature]


class ChangePublic(BaseModel):
    """A figure against an earlier period's."""

    period: str = Field(description="the earlier period")
    rate: float | None = Field(description="its rate (a fraction)")
    numerator_kg: float | None
    change: float | None = Field(
        description="now − then: for a rate, of the rates (a fraction: 0.012 is 1.2 "
        "percentage points); for an indicator without a rate, of the kg"
    )
    relative: float | None = Field(description="change ÷ then; null when then is 0 or missing")


class ComparedFigure(BaseModel):
    rate: float | None = Field(description="a fraction")
    numerator_kg: float | None
    denominator_kg: float | None
    status: Literal["ok", "no_data"]
    met: bool | None
    target: float | None = Field(description="a fraction")
    over_100: bool = Field(
        description="the rate passes 100 %: the records or declarations need checking; "
        "such a rate is neither ranked nor counted as a target met"
    )
    rank: int | None = Field(
        description="among the townships by this rate (1 is best; ties share a rank); null "
        "without a rate, for the region itself, and for indicators without a rate"
    )
    yoy: ChangePublic = Field(description="同比: the same period a year before")
    mom: ChangePublic | None = Field(
        description="环比: the month before a month, the quarter before a quarter; null for a "
        "year or a range (a year's previous year is the year-on-year)"
    )


class ComparedRow(BaseModel):
    region: RegionRef
    rank: int | None = Field(
        description="排名 among the townships by targets met (ties share a rank); null for "
        "the region itself and for a township with no target to judge"
    )
    targets_met: int
    targets_with_data: int = Field(description="targets that had a rate to judge")
    figures: dict[str, ComparedFigure]


class ComparisonPublic(BaseModel):
    """Every indicator × every township against the year before and the period before."""

    period: PeriodRef
    previous_year: PeriodRef
    previous_period: PeriodRef | None
    region: RegionRef
    indicators: list[IndicatorRef]
    rows: list[ComparedRow] = Field(description="the region first, then its children")
