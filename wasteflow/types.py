"""Column types and enumerations shared by the tables, the services and the API."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import overload

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no time zones, so values are stored as naive UTC there and made aware again on
    the way out; PostgreSQL stores ``timestamptz``. Naive values are refused: a handover's time
    must never depend on the server's local clock setting.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: timestamps must carry a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def str_enum(enum_cls: type[StrEnum], length: int = 24) -> sa.Enum:
    """Store an enum as its value in a VARCHAR (no native enum: migrations stay simple)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


# Masses are stored as whole grams (BIGINT): exact sums on every backend, no float drift.
GRAMS_PER_KG = 1000
_GRAM = Decimal("0.001")


def kg_to_g(kg: Decimal | float | int | str) -> int:
    """Kilograms (as given by a client) to whole grams, rounding half to even."""
    value = Decimal(str(kg)).quantize(_GRAM, rounding=ROUND_HALF_EVEN)
    return int(value * GRAMS_PER_KG)


@overload
def g_to_kg(grams: int) -> Decimal: ...
@overload
def g_to_kg(grams: None) -> None: ...
def g_to_kg(grams: int | None) -> Decimal | None:
    """Whole grams to kilograms with three decimals (exact)."""
    if grams is None:
        return None
    return (Decimal(int(grams)) / GRAMS_PER_KG).quantize(_GRAM)


class RegionLevel(StrEnum):
    district = "district"
    township = "township"
    village = "village"


class SiteKind(StrEnum):
    source = "source"
    collection_point = "collection_point"
    transfer_station = "transfer_station"
    processor = "processor"
    disposal = "disposal"


class OrganisationKind(StrEnum):
    government = "government"  # a township government, its sanitation office, a bureau
    enterprise = "enterprise"
    cooperative = "cooperative"
    household = "household"
    other = "other"


class Role(StrEnum):
    collector = "collector"
    site_operator = "site_operator"
    processor = "processor"
    official = "official"
    admin = "admin"


class Indicator(StrEnum):
    """The official indicator a material's flow feeds (see reference/official-rates.md)."""

    film = "film"
    manure = "manure"
    straw = "straw"
    industrial = "industrial"  # 大宗工业固体废物: the 70 % figure
    # 建筑垃圾 has its own rate (建筑垃圾资源化利用率): listed among the 2021 大宗固体废弃物 but
    # not industrial, so never in the 70 % figure.
    construction = "construction"
    household = "household"
    appliance = "appliance"
    recyclable = "recyclable"


class RouteClass(StrEnum):
    utilisation = "utilisation"
    disposal = "disposal"
    storage = "storage"


class DeclarationKind(StrEnum):
    film_used = "film_used"
    livestock_headcount = "livestock_headcount"
    crop_output = "crop_output"
    industrial_generated = "industrial_generated"
    industrial_from_storage = "industrial_from_storage"
    household_collected = "household_collected"
    # Utilisation the holder declares itself (numerators, not denominators):
    manure_self_use = "manure_self_use"  # 自行还田: a farm spreading its own manure
    straw_household_use = "straw_household_use"  # 农户分散利用: households' own straw use


class StrawUse(StrEnum):
    """The five uses (五料化) by which utilised straw is reported; names in STRAW_USE_ZH."""

    fertiliser = "fertiliser"
    feed = "feed"
    fuel = "fuel"
    substrate = "substrate"
    raw_material = "raw_material"


# The official names: treatment routes name their straw use in these words (routes.json).
STRAW_USE_ZH: dict[StrawUse, str] = {
    StrawUse.fertiliser: "肥料化",
    StrawUse.feed: "饲料化",
    StrawUse.fuel: "燃料化",
    StrawUse.substrate: "基料化",
    StrawUse.raw_material: "原料化",
}


class MassBasis(StrEnum):
    """What a mass of manure weighs: solids (粪) or slurry (粪+尿+污水)."""

    solids = "solids"
    slurry = "slurry"


class Basis(StrEnum):
    declared = "declared"
    estimated = "estimated"


class RecordStatus(StrEnum):
    active = "active"
    superseded = "superseded"


class HandoverStatus(StrEnum):
    in_transit = "in_transit"
    received = "received"
    partially_refused = "partially_refused"
    refused = "refused"
    cancelled = "cancelled"
    superseded = "superseded"


# States of a handover that no longer count anywhere (the totals, the rates, what is left of
# a refusal to send back): withdrawn by its author, or replaced by a correction.
WITHDRAWN = (HandoverStatus.cancelled, HandoverStatus.superseded)


# Kinds of site that treat what they accept (and so name a treatment route on receipt).
TREATING_KINDS = frozenset({SiteKind.processor, SiteKind.disposal})


class MassMethod(StrEnum):
    weighed = "weighed"
    estimated = "estimated"


class Channel(StrEnum):
    """How a record reached the server; demo rows say so wherever they show."""

    api = "api"
    batch = "batch"
    import_ = "import"
    demo = "demo-synthetic"
