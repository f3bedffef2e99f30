"""Request and response bodies of the API (pydantic). Tables live in ``models.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from wasteflow.types import Indicator, RegionLevel, Role, RouteClass, SiteKind

T = TypeVar("T")

Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class Strict(BaseModel):
    """Inputs refuse unknown fields: a misspelt field is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorBody(BaseModel):
    error: str = Field(examples=["Invalid"])
    detail: str = Field(examples=["declared_mass_kg: must be greater than 0"])
    field: str | None = None


class RegionPublic(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    level: RegionLevel
    kind_zh: str
    parent_code: str | None
    lat: float | None
    lon: float | None
    generated: bool


class MaterialPublic(BaseModel):
    code: str
    name_zh: str
    name_en: str
    indicator: Indicator
    counts_units: bool
    unit_mass_kg: float | None
    max_handover_kg: float
    max_load_kg: float
    attributes: dict[str, Any]


class RoutePublic(BaseModel):
    code: str
    name_zh: str
    name_en: str
    route_class: RouteClass
    safe_treatment: bool
    straw_use: str | None


class SiteCreate(Strict):
    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    kind: SiteKind
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{6}(\d{3}){0,2}$")]
    organisation_code: str | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    address: Annotated[str, StringConstraints(max_length=256)] | None = None
    capacity_kg: Annotated[float, Field(gt=0)] | None = None
    materials: list[str] = Field(default_factory=list, description="material codes handled")
    routes: list[str] = Field(default_factory=list, description="treatment route codes")
    active: bool = True


class SitePublic(BaseModel):
    id: int
    code: str
    name: str
    kind: SiteKind
    region_code: str
    township_code: str | None
    organisation_code: str | None
    lat: float | None
    lon: float | None
    address: str | None
    capacity_kg: float | None
    materials: list[str]
    routes: list[str]
    active: bool
    synthetic: bool


class AccountCreate(Strict):
    username: Username
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    role: Role
    password: Annotated[str, StringConstraints(min_length=10, max_length=256)]
    organisation_code: str | None = None
    sites: list[str] = Field(default_factory=list, description="codes of the sites it acts for")
    rounds: list[str] = Field(default_factory=list, description="codes of its collection rounds")


class AccountPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    organisation_code: str | None
    sites: list[str]
    rounds: list[str]
    active: bool
    created_at: datetime


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    account: AccountPublic
