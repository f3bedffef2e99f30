"""Request and response bodies of the declarations API (the denominators of the rates, and
the utilisation holders declare themselves).

A declaration's body depends on its kind, so the request is a union discriminated by
``kind``: each member lists exactly the fields its kind needs, and the ``Strict`` base refuses
the rest. Masses arrive as kilograms with at most three decimals (one gram); more precision is
refused, never rounded away.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from wasteflow.schemas import Code, Strict
from wasteflow.types import Basis, DeclarationKind, MassBasis, RecordStatus, StrawUse

# 10^12 kg (a billion tonnes) is far above any district's yearly figure and keeps grams
# inside BIGINT with room for sums.
MAX_KG = 10**12

Kg = Annotated[Decimal, Field(ge=0, le=MAX_KG, decimal_places=3, description="kg, ≤ 3 decimals")]
PositiveKg = Annotated[
    Decimal, Field(gt=0, le=MAX_KG, decimal_places=3, description="kg, ≤ 3 decimals")
]
Mu = Annotated[Decimal, Field(ge=0, le=10**9, decimal_places=3, description="亩, ≤ 3 decimals")]
PositiveMu = Annotated[
    Decimal, Field(gt=0, le=10**9, decimal_places=3, description="亩, ≤ 3 decimals")
]
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}(\d{3}){0,2}$")]
MaterialCode = Annotated[str, StringConstraints(min_length=1, max_length=48)]
Subject = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]


class _DeclarationBase(Strict):
    region_code: RegionCode = Field(description="district, township or village code")
    site_code: Code | None = Field(
        default=None, description="a source site in the region or below it"
    )
    period_start: date
    period_end: date = Field(description="inclusive; at most one year after period_start")


class _Estimated(_DeclarationBase):
    coefficient_set: Annotated[str, StringConstraints(min_length=1, max_length=48)] | None = Field(
        default=None, description="a coefficient set code instead of the automatic choice"
    )


class FilmUsedCreate(_DeclarationBase):
    kind: Literal[DeclarationKind.film_used]
    material: MaterialCode = Field(description="a film material code")
    quantity_kg: PositiveKg


class LivestockHeadcountCreate(_Estimated):
    kind: Literal[DeclarationKind.livestock_headcount]
    animal: Subject = Field(description="a coefficient subject, e.g. pig_fattening")
    heads: Annotated[int, Field(ge=0, le=10**9)] = Field(
        description=(
            "stock (存栏) or slaughtered (出栏), as the coefficient set counts the animal: a "
            "stock count produces manure for every day of the declared period, a slaughter "
            "count for the animal's lifetime days in the set"
        )
    )


class CropOutputCreate(_Estimated):
    kind: Literal[DeclarationKind.crop_output]
    crop: Subject = Field(description="e.g. maize; the material is straw.<crop>")
    output_kg: Kg = Field(description="grain (or main product) output")
    area_sown_mu: PositiveMu
    area_returned_mu: Mu = Field(description="area whose straw was ploughed back; ≤ sown")


class IndustrialGeneratedCreate(_DeclarationBase):
    kind: Literal[DeclarationKind.industrial_generated]
    material: MaterialCode = Field(description="an industrial material code")
    quantity_kg: Kg


class IndustrialFromStorageCreate(_DeclarationBase):
    kind: Literal[DeclarationKind.industrial_from_storage]
    material: MaterialCode = Field(description="an industrial material code")
    quantity_kg: Kg


class HouseholdCollectedCreate(_DeclarationBase):
    kind: Literal[DeclarationKind.household_collected]
    material: MaterialCode = Field(description="a household-waste material code")
    quantity_kg: Kg


class ManureSelfUseCreate(_DeclarationBase):
    """自行还田: a livestock farm spreading its own manure on its own or contracted land."""

    kind: Literal[DeclarationKind.manure_self_use]
    site_code: Code = Field(description="the livestock farm (a source site) spreading it")
    material: MaterialCode = Field(description="a manure material code")
    quantity_kg: PositiveKg = Field(description="manure spread in the period")
    mass_basis: MassBasis = Field(
        default=MassBasis.solids,
        description="what quantity_kg weighs: solids (粪) or slurry (粪+尿+污水)",
    )
    land_area_mu: PositiveMu = Field(description="the own or contracted land it was spread on")


class StrawHouseholdUseCreate(_DeclarationBase):
    """农户分散利用: straw households use themselves, by one of the five uses."""

    kind: Literal[DeclarationKind.straw_household_use]
    crop: Subject = Field(description="e.g. maize; the material is straw.<crop>")
    use: StrawUse = Field(
        description="fertiliser 肥料化, feed 饲料化, fuel 燃料化, substrate 基料化, "
        "raw_material 原料化"
    )
    quantity_kg: Kg = Field(description="straw used that way in the period")


DeclarationCreate = Annotated[
    FilmUsedCreate
    | LivestockHeadcountCreate
    | CropOutputCreate
    | IndustrialGeneratedCreate
    | IndustrialFromStorageCreate
    | HouseholdCollectedCreate
    | ManureSelfUseCreate
    | StrawHouseholdUseCreate,
    Field(discriminator="kind"),
]


class DeclarationPublic(BaseModel):
    id: int
    kind: DeclarationKind
    region_code: str
    site_code: str | None
    material: str
    period_start: date
    period_end: date
    quantity: float
    unit: str
    area_sown_mu: float | None
    area_returned_mu: float | None
    mass_kg: float = Field(
        description="from whole grams: the denominator contribution (manure produced is "
        "solids; detail.produced_slurry_kg gives slurry), or for manure_self_use and "
        "straw_household_use the mass the holder utilised itself"
    )
    basis: Basis
    coefficient_set: str | None
    detail: dict[str, Any]
    status: RecordStatus
    corrects_id: int | None
    recorded_by: str | None
    recorded_at: datetime
    synthetic: bool


_KIND_TAGS = frozenset(k.value for k in DeclarationKind)
_EXPECTED_KINDS = ", ".join(f"'{k.value}'" for k in DeclarationKind)


def unwrap_kind_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop the union's tag from pydantic error locations, so errors name the body's fields.

    Pydantic reports ``("body", "film_used", "animal")`` for a field of the ``film_used``
    member; a client sent ``animal``, so that is the name it must see. Errors about the tag
    itself (missing or unknown kind) have no field in their location: they get ``kind``, and
    a missing kind is reported as a missing field with the kinds there are.
    """
    out = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        if loc[:1] == ("body",):
            rest = loc[1:]
            if rest[:1] and rest[0] in _KIND_TAGS:
                rest = rest[1:]
            if not rest and e.get("type") in ("union_tag_invalid", "union_tag_not_found"):
                rest = ("kind",)
            e = {**e, "loc": ("body", *rest)}
            if e.get("type") == "union_tag_not_found" and rest == ("kind",):
                e = {**e, "type": "missing", "ctx": {"expected": _EXPECTED_KINDS}}
        out.append(e)
    return out
