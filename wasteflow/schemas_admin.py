"""Request and response bodies of the administration API: edits of sites and accounts,
organisations, collection rounds, coefficient sets and targets.

An edit (``*Update``) changes only the fields it names; ``null`` clears a field that may be
empty (an organisation, coordinates, a capacity) and is refused for one that may not.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from wasteflow.schemas import AuditEventPublic, Code, Latitude, Longitude, SitePublic, Strict
from wasteflow.types import OrganisationKind, Role

RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}(\d{3}){0,2}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Reason = Annotated[str, StringConstraints(min_length=3, max_length=256)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]
Year = Annotated[int, Field(ge=2000, le=2100)]

# 统一社会信用代码 (GB 32100-2015): 18 characters of this alphabet, the last a check character.
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_character(first17: str) -> str:
    """The check character of a unified social credit code's first 17 characters."""
    total = sum(
        _CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(code: str) -> str:
    """A unified social credit code whose check character is right (a mistyped one is not)."""
    code = code.upper()
    if len(code) != 18 or any(c not in _CREDIT_ALPHABET for c in code):
        raise ValueError("a unified social credit code is 18 digits and capital letters")
    if credit_check_character(code[:17]) != code[17]:
        raise ValueError("the check character does not match: the code is mistyped")
    return code


CreditCode = Annotated[str, AfterValidator(check_credit_code)]


# --- sites -------------------------------------------------------------------------------


class SiteUpdate(Strict):
    """The fields of a site to change. Its code and kind never change: records name them."""

    name: Name | None = None
    name_en: Annotated[str, StringConstraints(min_length=1, max_length=160)] | None = None
    region_code: RegionCode | None = Field(default=None, description="move to this region")
    organisation_code: str | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    address: Annotated[str, StringConstraints(max_length=256)] | None = None
    capacity_kg: Annotated[float, Field(gt=0, lt=1e12)] | None = None
    materials: list[str] | None = Field(default=None, description="replaces the list")
    routes: list[str] | None = Field(default=None, description="replaces the list")
    round_code: str | None = Field(
        default=None, description="the collection round a source is on (null: none)"
    )


class StatusChange(Strict):
    reason: Reason | None = Field(default=None, description="why, kept in the site's history")


class SiteHistory(BaseModel):
    site: SitePublic
    events: list[AuditEventPublic]


class SiteUploadIssue(BaseModel):
    column: str = Field(description="the column's key (code, name, kind, region…)")
    header: str = Field(description="the column's Chinese header")
    reason: str


class SiteUploadRow(BaseModel):
    row: int = Field(description="the spreadsheet's row number (the header is row 1)")
    code: str | None
    name: str | None = Field(default=None, description="the site's name (the row's, if new)")
    action: Literal["create", "update", "unchanged", "invalid"]
    errors: list[SiteUploadIssue] = Field(default_factory=list)
    changes: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="each field an update changes, [before, after]; a new site's, [null, value]",
    )


class SiteUploadReport(BaseModel):
    file_name: str
    digest: str = Field(description="SHA-256 of the file")
    dry_run: bool
    applied: bool = Field(description="whether anything was written")
    rows: int
    created: int
    updated: int
    unchanged: int
    invalid: int
    items: list[SiteUploadRow]


# --- accounts ----------------------------------------------------------------------------


class AccountUpdate(Strict):
    display_name: Name | None = None
    role: Role | None = None
    organisation_code: str | None = None
    sites: list[str] | None = Field(default=None, description="replaces the sites it acts for")
    rounds: list[str] | None = Field(default=None, description="replaces its rounds")


class PasswordReset(Strict):
    password: Password = Field(description="a temporary password the user must change")


class PasswordChange(Strict):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class AccountHistory(BaseModel):
    username: str
    events: list[AuditEventPublic]


# --- organisations and rounds ------------------------------------------------------------


class OrganisationCreate(Strict):
    code: Code
    name: Name
    kind: OrganisationKind
    region_code: RegionCode | None = None
    credit_code: CreditCode | None = Field(default=None, description="统一社会信用代码")


class OrganisationUpdate(Strict):
    name: Name | None = None
    kind: OrganisationKind | None = None
    region_code: RegionCode | None = None
    credit_code: CreditCode | None = None


class OrganisationPublic(BaseModel):
    code: str
    name: str
    kind: str
    region_code: str | None
    credit_code: str | None
    synthetic: bool
    sites: int = Field(description="sites it operates")
    accounts: int = Field(description="accounts that belong to it")


class RoundCreate(Strict):
    code: Code
    name: Name
    collection_point: Code = Field(description="where the round's loads go")
    villages: list[RegionCode] = Field(default_factory=list, description="village codes")
    sources: list[str] = Field(default_factory=list, description="source site codes")


class RoundUpdate(Strict):
    name: Name | None = None
    collection_point: Code | None = None
    villages: list[RegionCode] | None = Field(default=None, description="replaces the list")
    sources: list[str] | None = Field(default=None, description="replaces the list")


class RoundPublic(BaseModel):
    code: str
    name: str
    collection_point: str | None
    villages: list[str]
    sources: list[str]
    collectors: list[str] = Field(description="usernames of the collectors who work it")


# --- coefficients and targets ------------------------------------------------------------


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class CoefficientPublic(BaseModel):
    subject: str
    parameter: str
    value: float
    unit: str
    verified: bool
    source: str = Field(description="where the value comes from (the set's, if it has none)")
    own_source: bool
    note: str | None


class CoefficientSetPublic(BaseModel):
    code: str
    name: str
    year: int
    region_code: str
    source: str
    declarations: int = Field(description="declarations estimated with it (they keep their values)")
    coefficients: list[CoefficientPublic]


class CoefficientSetFromLatest(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,47}$")] | None = Field(
        default=None, description="default: the copied set's code with the new year"
    )
    name: Name | None = None
    region_code: RegionCode | None = Field(default=None, description="default: the district")


class CoefficientUpdate(Strict):
    """A new value needs its source and whether it is verified; either may change alone."""

    value: Annotated[float, Field(ge=0, le=1e9), AfterValidator(_finite)] | None = None
    verified: bool | None = None
    source: Annotated[str, StringConstraints(min_length=3, max_length=512)] | None = None
    note: Annotated[str, StringConstraints(max_length=256)] | None = None


Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]


class CoefficientCreate(Strict):
    """A coefficient a set does not have yet (a new crop's straw-to-grain ratio, say)."""

    subject: Identifier = Field(description="the animal, crop, route or material it is about")
    parameter: Identifier = Field(description="what it measures, e.g. straw_grain_ratio")
    value: Annotated[float, Field(ge=0, le=1e9), AfterValidator(_finite)]
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    verified: bool
    source: Annotated[str, StringConstraints(min_length=3, max_length=512)] = Field(
        description="where the value comes from"
    )
    note: Annotated[str, StringConstraints(max_length=256)] | None = None


class TargetPublic(BaseModel):
    id: int
    indicator: str
    region_code: str
    year_from: int
    year_to: int
    comparator: str
    value: float
    source: str
    carried_forward: bool | None = Field(
        default=None, description="for a year asked: no target covers it, this one ended before"
    )


class TargetCreate(Strict):
    indicator: Annotated[str, StringConstraints(max_length=32)]
    region_code: RegionCode | None = Field(default=None, description="default: the district")
    year_from: Year
    year_to: Year
    comparator: Literal[">=", "<="]
    value: Annotated[float, Field(ge=0, le=1)] = Field(description="a fraction: 0.9 is 90 %")
    source: Annotated[str, StringConstraints(min_length=3, max_length=256)]


class TargetUpdate(Strict):
    year_to: Year | None = None
    comparator: Literal[">=", "<="] | None = None
    value: Annotated[float, Field(ge=0, le=1)] | None = None
    source: Annotated[str, StringConstraints(min_length=3, max_length=256)] | None = None
