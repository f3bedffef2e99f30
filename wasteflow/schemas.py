"""Request and response bodies of the API (pydantic). Tables live in ``models.py``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from wasteflow.types import (
    Channel,
    HandoverStatus,
    Indicator,
    MassMethod,
    RegionLevel,
    Role,
    RouteClass,
    SiteKind,
)

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


class ErrorItem(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    """Every error the API answers, whatever its status: what kind, what and why, which field.

    Some errors say more: ``errors`` (each invalid field of a request), ``retry_after_s``
    (429), ``existing_id`` or ``newest_id`` (409 on declarations)."""

    error: str = Field(examples=["Invalid"])
    detail: str = Field(examples=["declared_mass_kg: must be greater than 0"])
    field: str | None = None
    errors: list[ErrorItem] | None = None
    retry_after_s: int | None = None


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
    name_en: Annotated[str, StringConstraints(min_length=1, max_length=160)] | None = None
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
    name_en: str | None
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
    round_code: str | None = Field(default=None, description="a source's collection round")
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
    last_login_at: datetime | None = None
    must_change_password: bool = Field(
        default=False, description="reset by an admin: only changing the password is allowed"
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    account: AccountPublic


# --- handovers ------------------------------------------------------------------------------

KgIn = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3)]
KgInZero = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=3)]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{8,64}$")]
HandoverCode = Annotated[str, StringConstraints(pattern=r"^HO-\d{8}-[0-9A-HJKMNP-TV-Z]{5}$")]


class HandoverCreate(Strict):
    """What a collector's phone sends when a load changes hands."""

    source_plaque: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(
        description="the scanned payload of the sending site's QR plaque"
    )
    to_site: Code = Field(description="code of the receiving site")
    material: Annotated[str, StringConstraints(max_length=48)]
    declared_mass_kg: KgIn = Field(description="kg, at most 3 decimals (1 g)")
    units: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        default=None, description="number of items, required for appliances"
    )
    mass_method: MassMethod
    device_time: AwareDatetime = Field(description="the phone's clock, with its UTC offset")
    lat: Latitude | None = None
    lon: Longitude | None = None
    returns: HandoverCode | None = Field(
        default=None, description="code of the refused load whose mass this sends back"
    )


class HandoverPublic(BaseModel):
    id: int
    code: str
    status: HandoverStatus
    channel: Channel
    from_site: str
    to_site: str
    material: str
    declared_mass_kg: float
    units: int | None
    mass_method: MassMethod
    device_time: datetime
    day: date
    recorded_at: datetime
    recorded_by: str | None
    lat: float | None
    lon: float | None
    scan_distance_m: float | None
    flags: list[str] = Field(description="far_scan, mass_discrepancy")
    received_mass_kg: float | None = None
    refused_mass_kg: float | None = None
    accepted_mass_kg: float | None = None
    received_units: int | None = None
    refusal_reason: str | None = None
    route: str | None = None
    received_at: datetime | None = None
    received_by: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    corrects: str | None = None
    returns: str | None = None
    manifest: str | None = Field(default=None, description="signed payload of the manifest QR")


class BatchItem(HandoverCreate):
    idempotency_key: IdempotencyKey


class BatchRequest(Strict):
    items: list[Any] = Field(
        description="handovers as BatchItem objects; each is validated on its own", min_length=1
    )


class BatchResult(BaseModel):
    index: int
    idempotency_key: str | None
    result: str = Field(description="created, duplicate or error")
    handover: HandoverPublic | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    created: int
    duplicates: int
    errors: int
    results: list[BatchResult]


class ReceiptCreate(Strict):
    """What the receiving site confirms after weighing the load."""

    received_mass_kg: KgIn
    refused_mass_kg: KgInZero = Decimal(0)
    refusal_reason: Annotated[str, StringConstraints(min_length=3, max_length=256)] | None = None
    route: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="treatment route code; required at processors"
    )
    received_units: Annotated[int, Field(ge=0, le=100_000)] | None = None


class ReceiptCorrection(ReceiptCreate):
    """A corrected receipt: the whole intake as it should have been confirmed, and why."""

    reason: Annotated[str, StringConstraints(min_length=3, max_length=256)] = Field(
        description="why the receipt is corrected (e.g. the weight was mis-keyed)"
    )


class ReceiptByManifest(ReceiptCreate):
    manifest: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(
        description="the scanned payload of the load's manifest QR"
    )


class CancelRequest(Strict):
    reason: Annotated[str, StringConstraints(min_length=3, max_length=256)]


class ScanResolve(Strict):
    payload: Annotated[str, StringConstraints(min_length=1, max_length=300)]


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    account: str | None
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str


class HandoverHistory(BaseModel):
    handover: HandoverPublic
    events: list[AuditEventPublic]
    corrected_by: str | None = None
    returned_by: list[str] = Field(default_factory=list)


class FieldRound(BaseModel):
    code: str
    name: str
    collection_point: SitePublic | None = Field(
        description="where the round's loads go by default (the field app's preset destination)"
    )
    sources: list[SitePublic]


class DevicePublic(BaseModel):
    """A phone's registered signing key (its private half never leaves the phone)."""

    device_id: str = Field(description="printed in every ticket the phone signs")
    account: str
    label: str | None
    public_key: str = Field(description="raw Ed25519 public key, base64url")
    status: str = Field(description="active or revoked")
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None


class SenderDevice(BaseModel):
    """The public key of a phone that may send loads to the account's sites: the receiving
    phone checks the tickets it scans against these."""

    device_id: str
    account: str
    display_name: str
    public_key: str


class FieldBundle(BaseModel):
    """What the field app keeps on the phone to work with no network."""

    account: AccountPublic
    sites: list[SitePublic] = Field(description="the sites the account acts for")
    rounds: list[FieldRound]
    materials: list[MaterialPublic]
    routes: list[RoutePublic]
    keys: list[dict[str, str | None]] = Field(description="as GET /qr/keys")
    server_time: datetime
    device: DevicePublic | None = Field(
        default=None, description="this phone's device (``?device=``), if it is the account's"
    )
    sender_devices: list[SenderDevice] = Field(
        default_factory=list,
        description="active device keys of the accounts that send loads to the account's sites",
    )
    revoked_devices: list[str] = Field(
        default_factory=list, description="ids of revoked devices: their tickets are refused"
    )
    destinations: list[SitePublic] = Field(
        default_factory=list,
        description="transfer stations and treating sites the account's own sites may send "
        "their loads on to (those that take a material the own sites handle)",
    )
    sender_sites: list[SitePublic] = Field(
        default_factory=list,
        description="the sites that have sent loads to the account's sites (their names)",
    )
    plaques: dict[str, str] = Field(
        default_factory=dict,
        description="the signed plaque payload of each site the account acts for (a refused "
        "load is sent back from there)",
    )
