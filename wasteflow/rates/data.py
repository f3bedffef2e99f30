"""A period's data as the rates read it (plain tuples and dataclasses, no database), and the
figures they produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from wasteflow.rates.indicators import INDICATORS
from wasteflow.rates.periods import Period
from wasteflow.types import DeclarationKind, RegionLevel


@dataclass(frozen=True)
class RegionInfo:
    id: int
    code: str
    level: RegionLevel
    parent_id: int | None
    name_zh: str
    name_en: str


class SiteInfo(NamedTuple):
    """A site as the rates read it (a tuple: a report reads every site of the district)."""

    id: int
    code: str
    name: str
    kind: str
    region_id: int
    lat: float | None
    lon: float | None
    capacity_kg: float | None
    name_en: str | None = None


class FlowRow(NamedTuple):
    """Period totals of one material from one site to another (grams). A tuple: a period
    loads tens of thousands, and a frozen dataclass costs several times more to build."""

    src: int
    dst: int
    material_id: int
    handovers: int
    declared_g: int
    in_transit_g: int
    received_g: int
    refused_g: int
    accepted_g: int
    accepted_units: int
    estimated_g: int = 0  # accepted mass of loads estimated, not weighed


class TreatmentRow(NamedTuple):
    """What a treating site accepted from one sender under one route (its sender's lot)."""

    site: int
    src: int
    material_id: int
    route_id: int
    handovers: int
    accepted_g: int
    accepted_units: int


class ReturnRow(NamedTuple):
    """Refused mass sent back by the site that refused it (``src``) to ``dst``, from the lot
    of ``sender`` (who sent the refused loads). These loads are among the flows too."""

    sender: int
    src: int
    dst: int
    material_id: int
    handovers: int
    declared_g: int
    in_transit_g: int
    received_g: int


@dataclass(frozen=True)
class DeclarationRow:
    id: int
    kind: DeclarationKind
    region_id: int
    material_id: int
    prorated_g: int
    coefficient_set: str | None
    field_return_g: int = 0  # crop output: straw ploughed back, pro-rated like the mass
    mass_basis: str | None = None  # manure self-use: "solids" or "slurry"
    use: str | None = None  # household straw use: one of the five uses (StrawUse)
    unverified: tuple[str, ...] = ()  # coefficients the estimate used that are unverified


@dataclass(frozen=True)
class RouteInfo:
    code: str
    route_class: str
    safe_treatment: bool
    straw_use: str | None = None  # which of the five straw uses (五料化) the route is


@dataclass(frozen=True)
class CoefficientsUsed:
    """Which coefficient set a period's figures use, and whether it is another year's."""

    code: str
    year: int
    fallback: bool
    note: str | None = None


@dataclass
class PeriodData:
    """Everything a period's rates need, as plain data (no database)."""

    period: Period
    regions: dict[int, RegionInfo]
    sites: dict[int, SiteInfo]
    materials: dict[int, tuple[str, str]]  # id → (code, indicator)
    routes: dict[int, RouteInfo]
    flows: list[FlowRow]
    treatments: list[TreatmentRow]
    declarations: list[DeclarationRow]
    opening_stock: dict[tuple[int, str], float] = field(default_factory=dict)
    returns: list[ReturnRow] = field(default_factory=list)
    # The part of ``opening_stock`` at treating sites kept under a storage route (stored
    # on purpose, so not stale however long it stays).
    opening_stored: dict[tuple[int, str], float] = field(default_factory=dict)
    conversion: dict[str, float] = field(default_factory=dict)  # route → household coefficient
    conversion_set: str | None = None
    # The conversion coefficients the set does not mark verified (placeholders).
    conversion_unverified: frozenset[str] = frozenset()
    # Per material: its catalogue attributes (manure's mass basis, animals…) and the routes it
    # may be treated under (empty: not known, every route allowed).
    material_attributes: dict[int, dict[str, Any]] = field(default_factory=dict)
    material_routes: dict[int, frozenset[str]] = field(default_factory=dict)
    # Per slurry manure material: the solids share of its slurry (manure ÷ (manure +
    # wastewater), from the period's coefficient set), and whether those values are verified.
    solids_share: dict[int, tuple[float, bool]] = field(default_factory=dict)
    # The coefficient set the period's year uses: its code, its year, and a note when it is
    # another year's (no set for the period's year).
    coefficients: CoefficientsUsed | None = None


@dataclass
class Figure:
    indicator: str
    region_code: str
    numerator_kg: float | None
    denominator_kg: float | None
    rate: float | None
    handovers: int
    declarations: int
    coefficient_sets: list[str]
    components: dict[str, Any] = field(default_factory=dict)
    basis: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if not INDICATORS[self.indicator].has_rate:
            return "ok" if self.numerator_kg else "no_data"
        return "ok" if self.rate is not None else "no_data"


def kg(grams: float) -> float:
    """Grams as kilograms with three decimals (one gram)."""
    return round(grams / 1000, 3)
