"""Tables. Masses are whole grams (``*_g``), timestamps UTC (``*_at``), days local dates.

Nothing here is edited in place once it records a fact: handovers and declarations are
corrected by new rows that name the row they correct, and every state change is an
``AuditEvent``. The per-day totals (``FlowDaily``, ``TreatmentDaily``) are kept up to date in
the same transaction as the handover they summarise, so reports never scan raw handovers.
"""

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from wasteflow.types import (
    Basis,
    Channel,
    DeclarationKind,
    HandoverStatus,
    Indicator,
    MassMethod,
    RecordStatus,
    RegionLevel,
    Role,
    RouteClass,
    SiteKind,
    UTCDateTime,
    str_enum,
    utcnow,
)

# Stable constraint names, so migrations can alter and drop them on every backend.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT ids for the tables that grow without bound; SQLite needs INTEGER for its rowid alias.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class Region(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True, description="Statistical area code")
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=96)
    level: RegionLevel = Field(sa_type=str_enum(RegionLevel))
    kind_zh: str = Field(max_length=8, description="街道, 镇, 乡, 村, 社区, 区")
    parent_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    lat: float | None = None
    lon: float | None = None
    generated: bool = Field(default=False, description="True for generated demo villages")


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=128)
    kind: str = Field(max_length=32, description="government, enterprise, cooperative, household…")
    region_id: int | None = Field(default=None, foreign_key="region.id")
    credit_code: str | None = Field(default=None, max_length=18, description="统一社会信用代码")
    synthetic: bool = False


class Material(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=48, unique=True)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=96)
    indicator: Indicator = Field(sa_type=str_enum(Indicator))
    counts_units: bool = Field(default=False, description="Appliances: units as well as kg")
    unit_mass_kg: float | None = Field(default=None, description="Typical mass of one unit")
    max_handover_kg: float = Field(description="Plausibility cap for one handover from a source")
    max_load_kg: float = Field(description="Plausibility cap for one load between sites")
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    sort_order: int = 0


class TreatmentRoute(SQLModel, table=True):
    __tablename__ = "treatment_route"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=96)
    route_class: RouteClass = Field(sa_type=str_enum(RouteClass))
    safe_treatment: bool = Field(default=False, description="Counts as 无害化 for household waste")
    straw_use: str | None = Field(
        default=None, max_length=16, description="肥料化/饲料化/燃料化/基料化/原料化 for straw"
    )


class CollectionRound(SQLModel, table=True):
    """A collector's round: the sources a collector visits for one collection point."""

    __tablename__ = "collection_round"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=128)
    collection_point_id: int | None = Field(default=None, foreign_key="site.id")


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=128, description="as registered (usually Chinese)")
    name_en: str | None = Field(default=None, max_length=160, description="English name")
    kind: SiteKind = Field(sa_type=str_enum(SiteKind), index=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    lat: float | None = None
    lon: float | None = None
    address: str | None = Field(default=None, max_length=256)
    capacity_kg: float | None = Field(default=None, description="Stock it can hold")
    active: bool = True
    synthetic: bool = False
    created_at: datetime = _ts(default_factory=utcnow)


class SiteMaterial(SQLModel, table=True):
    """The materials a site handles (a receiving site accepts only these)."""

    __tablename__ = "site_material"
    site_id: int = Field(foreign_key="site.id", primary_key=True)
    material_id: int = Field(foreign_key="material.id", primary_key=True)


class SiteRoute(SQLModel, table=True):
    """The treatment routes a processor or disposal site operates."""

    __tablename__ = "site_route"
    site_id: int = Field(foreign_key="site.id", primary_key=True)
    route_id: int = Field(foreign_key="treatment_route.id", primary_key=True)


class RoundSite(SQLModel, table=True):
    """The sources on a collection round: a source is on one round at most."""

    __tablename__ = "round_site"
    round_id: int = Field(foreign_key="collection_round.id", primary_key=True)
    site_id: int = Field(foreign_key="site.id", primary_key=True, index=True, unique=True)


class RoundRegion(SQLModel, table=True):
    """The villages a collection round covers (its sources lie in them)."""

    __tablename__ = "round_region"
    round_id: int = Field(foreign_key="collection_round.id", primary_key=True)
    region_id: int = Field(foreign_key="region.id", primary_key=True)


class Account(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=128)
    role: Role = Field(sa_type=str_enum(Role))
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    password_hash: str = Field(max_length=256)
    active: bool = True
    created_at: datetime = _ts(default_factory=utcnow)
    must_change_password: bool = Field(
        default=False, description="set by an admin's reset: every call but the change is 403"
    )
    last_login_at: datetime | None = _ts(default=None)


class AccountSite(SQLModel, table=True):
    """Sites an account acts for."""

    __tablename__ = "account_site"
    account_id: int = Field(foreign_key="account.id", primary_key=True)
    site_id: int = Field(foreign_key="site.id", primary_key=True, index=True)


class AccountRound(SQLModel, table=True):
    """Collection rounds a collector works."""

    __tablename__ = "account_round"
    account_id: int = Field(foreign_key="account.id", primary_key=True)
    round_id: int = Field(foreign_key="collection_round.id", primary_key=True)


class ApiToken(SQLModel, table=True):
    """Bearer tokens, stored only as SHA-256 hashes (the token itself is 256 random bits)."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(default="login", max_length=64)
    created_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime = _ts()
    revoked_at: datetime | None = _ts(default=None)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per account name and per client address, and how long each is locked
    (kept in the database: every worker and process sees the same count)."""

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=160, description="account:<name>, address:<ip>")
    failures: int = 0
    last_failure_at: datetime = _ts()
    locked_until: datetime | None = _ts(default=None)


class SigningKey(SQLModel, table=True):
    """Ed25519 keys that sign QR payloads. ``kid`` is printed in every payload."""

    __tablename__ = "signing_key"
    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(max_length=8, unique=True)
    algorithm: str = Field(default="Ed25519", max_length=16)
    public_key: str = Field(max_length=64, description="raw public key, base64url")
    private_key_enc: str = Field(max_length=512, description="encrypted with the secret key")
    created_at: datetime = _ts(default_factory=utcnow)
    retired_at: datetime | None = _ts(default=None)
    revoked_at: datetime | None = _ts(default=None)


class CoefficientSet(SQLModel, table=True):
    __tablename__ = "coefficient_set"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=48, unique=True)
    name: str = Field(max_length=128)
    year: int = Field(index=True)
    region_id: int = Field(foreign_key="region.id")
    source: str = Field(max_length=512)


class Coefficient(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("set_id", "subject", "parameter"),)
    id: int | None = Field(default=None, primary_key=True)
    set_id: int = Field(foreign_key="coefficient_set.id", index=True)
    subject: str = Field(max_length=48, description="animal, crop or route code")
    parameter: str = Field(max_length=48)
    value: float
    unit: str = Field(max_length=32)
    verified: bool
    note: str | None = Field(default=None, max_length=256)
    source: str | None = Field(
        default=None, max_length=512, description="where the value comes from; None: the set's"
    )


class Target(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    indicator: str = Field(max_length=32, description="rate key, e.g. film_recovery")
    region_id: int = Field(foreign_key="region.id")
    year_from: int
    year_to: int
    comparator: str = Field(max_length=2, description=">= or <=")
    value: float = Field(description="a fraction: 0.9 is 90 %")
    source: str = Field(max_length=256)


# Only one active declaration of the same thing (see services.declarations.identity): a
# partial unique index, so superseded rows and old duplicates (identity NULL) stay apart.
ACTIVE_IDENTITY_INDEX = "uq_declaration_identity_active"


class Declaration(SQLModel, table=True):
    """A denominator: what was used, kept, grown or generated in a region and period."""

    __table_args__ = (
        sa.Index(
            ACTIVE_IDENTITY_INDEX,
            "identity",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: DeclarationKind = Field(sa_type=str_enum(DeclarationKind), index=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    material_id: int = Field(foreign_key="material.id")
    period_start: date
    period_end: date = Field(description="inclusive")
    quantity: float = Field(description="as declared, in `unit`")
    unit: str = Field(max_length=16, description="kg, head, kg_grain…")
    area_sown_mu: float | None = None
    area_returned_mu: float | None = None
    mass_g: int = Field(sa_type=sa.BigInteger, description="the denominator contribution")
    basis: Basis = Field(sa_type=str_enum(Basis))
    coefficient_set_id: int | None = Field(default=None, foreign_key="coefficient_set.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    status: RecordStatus = Field(default=RecordStatus.active, sa_type=str_enum(RecordStatus))
    corrects_id: int | None = Field(default=None, foreign_key="declaration.id")
    recorded_by_id: int | None = Field(default=None, foreign_key="account.id")
    recorded_at: datetime = _ts(default_factory=utcnow)
    synthetic: bool = False
    identity: str | None = Field(
        default=None,
        max_length=160,
        description="what the row declares: kind, region, site, material, period, animal or "
        "use; NULL only on duplicates older than the unique index",
    )


class Handover(SQLModel, table=True):
    """One QR-scanned transfer of a mass of one material from one site to another."""

    __table_args__ = (
        sa.UniqueConstraint("recorded_by_id", "idempotency_key", name="uq_handover_idempotency"),
        sa.CheckConstraint("declared_mass_g > 0", name="declared_positive"),
        sa.Index("ix_handover_to_site_status", "to_site_id", "status"),
        sa.Index("ix_handover_from_site_day", "from_site_id", "day"),
        sa.Index("ix_handover_day", "day"),
    )
    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    code: str = Field(max_length=24, unique=True, description="HO-YYYYMMDD-XXXXX")
    idempotency_key: str = Field(max_length=64)
    request_hash: str = Field(max_length=64, description="SHA-256 of the canonical request")
    channel: Channel = Field(default=Channel.api, sa_type=str_enum(Channel, 16))
    from_site_id: int = Field(foreign_key="site.id")
    to_site_id: int = Field(foreign_key="site.id")
    material_id: int = Field(foreign_key="material.id")
    declared_mass_g: int = Field(sa_type=sa.BigInteger)
    declared_units: int | None = None
    mass_method: MassMethod = Field(sa_type=str_enum(MassMethod, 12))
    device_time: datetime = _ts()
    day: date = Field(description="local date of device_time: the day the load counts for")
    recorded_at: datetime = _ts(default_factory=utcnow)
    recorded_by_id: int = Field(foreign_key="account.id")
    lat: float | None = None
    lon: float | None = None
    scan_distance_m: float | None = None
    plaque_kid: str | None = Field(default=None, max_length=8)
    flag_far_scan: bool = False
    flag_discrepancy: bool = False
    status: HandoverStatus = Field(
        default=HandoverStatus.in_transit, sa_type=str_enum(HandoverStatus)
    )
    received_mass_g: int | None = Field(default=None, sa_type=sa.BigInteger)
    refused_mass_g: int | None = Field(default=None, sa_type=sa.BigInteger)
    accepted_mass_g: int | None = Field(default=None, sa_type=sa.BigInteger)
    received_units: int | None = None
    refusal_reason: str | None = Field(default=None, max_length=256)
    route_id: int | None = Field(default=None, foreign_key="treatment_route.id")
    received_at: datetime | None = _ts(default=None)
    receipt_key: str | None = Field(default=None, max_length=64, description="idempotency key")
    receipt_hash: str | None = Field(default=None, max_length=64)
    received_by_id: int | None = Field(default=None, foreign_key="account.id")
    cancelled_at: datetime | None = _ts(default=None)
    cancelled_by_id: int | None = Field(default=None, foreign_key="account.id")
    cancel_reason: str | None = Field(default=None, max_length=256)
    corrects_id: int | None = Field(default=None, sa_type=BigId, foreign_key="handover.id")
    returns_id: int | None = Field(
        default=None, sa_type=BigId, foreign_key="handover.id", description="the refused load"
    )
    returns_sender_id: int | None = Field(
        default=None,
        description="for a return: the site that sent the refused load (a copy of its "
        "from_site_id), whose lot at the refusing site the return takes back",
    )


class FlowValues(SQLModel):
    """The summed columns of a site-to-site total (one material, one day or month)."""

    handovers: int = 0
    declared_g: int = Field(default=0, sa_type=sa.BigInteger)
    declared_units: int = 0
    in_transit_g: int = Field(default=0, sa_type=sa.BigInteger)
    received_g: int = Field(default=0, sa_type=sa.BigInteger)
    refused_g: int = Field(default=0, sa_type=sa.BigInteger)
    accepted_g: int = Field(default=0, sa_type=sa.BigInteger)
    accepted_units: int = 0
    estimated_g: int = Field(
        default=0,
        sa_type=sa.BigInteger,
        description="accepted mass of loads estimated, not weighed",
    )


class TreatmentValues(SQLModel):
    handovers: int = 0
    accepted_g: int = Field(default=0, sa_type=sa.BigInteger)
    accepted_units: int = 0


class FlowDaily(FlowValues, table=True):
    """Per local day, site-to-site totals of one material, by the day the loads left."""

    __tablename__ = "flow_daily"
    __table_args__ = (sa.Index("ix_flow_daily_to_site", "to_site_id", "day"),)
    day: date = Field(primary_key=True)
    from_site_id: int = Field(foreign_key="site.id", primary_key=True)
    to_site_id: int = Field(foreign_key="site.id", primary_key=True)
    material_id: int = Field(foreign_key="material.id", primary_key=True)


class FlowMonthly(FlowValues, table=True):
    """The same totals per calendar month (``month`` is its first day): what reports read, so
    a year costs twelve rows per site pair and material, however many loads moved."""

    __tablename__ = "flow_monthly"
    month: date = Field(primary_key=True)
    from_site_id: int = Field(foreign_key="site.id", primary_key=True)
    to_site_id: int = Field(foreign_key="site.id", primary_key=True)
    material_id: int = Field(foreign_key="material.id", primary_key=True)


class FlowYearly(FlowValues, table=True):
    """The same totals per calendar year (``year`` is its 1 January): a year's report reads
    one row per site pair and material instead of adding up twelve."""

    __tablename__ = "flow_yearly"
    year: date = Field(primary_key=True)
    from_site_id: int = Field(foreign_key="site.id", primary_key=True)
    to_site_id: int = Field(foreign_key="site.id", primary_key=True)
    material_id: int = Field(foreign_key="material.id", primary_key=True)


class TreatmentDaily(TreatmentValues, table=True):
    """Per local day, what a treating site accepted from each sender under each route: the
    sender is kept because each load keeps its own origin mix at a processor (its lot)."""

    __tablename__ = "treatment_daily"
    day: date = Field(primary_key=True)
    site_id: int = Field(foreign_key="site.id", primary_key=True)
    from_site_id: int = Field(foreign_key="site.id", primary_key=True)
    material_id: int = Field(foreign_key="material.id", primary_key=True)
    route_id: int = Field(foreign_key="treatment_route.id", primary_key=True)


class TreatmentMonthly(TreatmentValues, table=True):
    __tablename__ = "treatment_monthly"
    month: date = Field(primary_key=True)
    site_id: int = Field(foreign_key="site.id", primary_key=True)
    from_site_id: int = Field(foreign_key="site.id", primary_key=True)
    material_id: int = Field(foreign_key="material.id", primary_key=True)
    route_id: int = Field(foreign_key="treatment_route.id", primary_key=True)


class TreatmentYearly(TreatmentValues, table=True):
    __tablename__ = "treatment_yearly"
    year: date = Field(primary_key=True)
    site_id: int = Field(foreign_key="site.id", primary_key=True)
    from_site_id: int = Field(foreign_key="site.id", primary_key=True)
    material_id: int = Field(foreign_key="material.id", primary_key=True)
    route_id: int = Field(foreign_key="treatment_route.id", primary_key=True)


class ReturnValues(SQLModel):
    """The summed columns of the returns of refused mass (one lot, one day/month/year)."""

    handovers: int = 0
    declared_g: int = Field(default=0, sa_type=sa.BigInteger)
    in_transit_g: int = Field(default=0, sa_type=sa.BigInteger)
    received_g: int = Field(default=0, sa_type=sa.BigInteger)


class ReturnDaily(ReturnValues, table=True):
    """Per local day, refused mass sent back from the site that refused it (``from_site_id``)
    to ``to_site_id``, by the sender of the refused loads (``sender_site_id``): which lot at
    the refusing site it takes back. These loads are also in the flow totals."""

    __tablename__ = "return_daily"
    day: date = Field(primary_key=True)
    sender_site_id: int = Field(foreign_key="site.id", primary_key=True)
    from_site_id: int = Field(foreign_key="site.id", primary_key=True)
    to_site_id: int = Field(foreign_key="site.id", primary_key=True)
    material_id: int = Field(foreign_key="material.id", primary_key=True)


class ReturnMonthly(ReturnValues, table=True):
    __tablename__ = "return_monthly"
    month: date = Field(primary_key=True)
    sender_site_id: int = Field(foreign_key="site.id", primary_key=True)
    from_site_id: int = Field(foreign_key="site.id", primary_key=True)
    to_site_id: int = Field(foreign_key="site.id", primary_key=True)
    material_id: int = Field(foreign_key="material.id", primary_key=True)


class ReturnYearly(ReturnValues, table=True):
    __tablename__ = "return_yearly"
    year: date = Field(primary_key=True)
    sender_site_id: int = Field(foreign_key="site.id", primary_key=True)
    from_site_id: int = Field(foreign_key="site.id", primary_key=True)
    to_site_id: int = Field(foreign_key="site.id", primary_key=True)
    material_id: int = Field(foreign_key="material.id", primary_key=True)


class ImportBatch(SQLModel, table=True):
    """One uploaded ledger of past records (handovers or declarations): who sent which file
    (its name and SHA-256), when, and what came of its rows."""

    __tablename__ = "import_batch"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, description="handovers or declarations")
    file_name: str = Field(max_length=256)
    sha256: str = Field(max_length=64, index=True, description="of the uploaded file")
    account_id: int = Field(foreign_key="account.id", description="the uploading admin")
    at: datetime = _ts(default_factory=utcnow)
    rows: int = Field(description="data rows in the file")
    added: int = Field(description="rows written by this upload")
    already: int = Field(description="rows an earlier upload had written")
    refused: int = Field(description="rows with errors, not written")


class ImportRow(SQLModel, table=True):
    """A ledger row written by an import, by its row key (the 行键 column, or a digest of the
    row's content): the same row uploaded again is known and adds nothing."""

    __tablename__ = "import_row"
    kind: str = Field(max_length=16, primary_key=True)
    row_key: str = Field(max_length=64, primary_key=True)
    batch_id: int = Field(foreign_key="import_batch.id", index=True)
    record: str = Field(max_length=24, description="the handover's code or declaration's id")


class LateSubmission(SQLModel, table=True):
    """A scan older than the lateness window, kept exactly as sent until an admin approves it
    (it is then recorded as the collector's scan) or rejects it."""

    __tablename__ = "late_submission"
    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(default="pending", max_length=12, index=True)
    account_id: int = Field(foreign_key="account.id", description="the submitter")
    idempotency_key: str = Field(max_length=64, description="the scan's own key")
    request: dict[str, Any] = Field(sa_type=sa.JSON, description="the scan's body as sent")
    reason: str = Field(max_length=256, description="why it is late, from the submitter")
    submitted_at: datetime = _ts(default_factory=utcnow)
    decided_by_id: int | None = Field(default=None, foreign_key="account.id")
    decided_at: datetime | None = _ts(default=None)
    decision_reason: str | None = Field(default=None, max_length=256)
    handover_code: str | None = Field(default=None, max_length=24)


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained log of every state change (database triggers refuse edits)."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_entity", "entity", "entity_id"),)
    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    at: datetime = _ts(default_factory=utcnow)
    account_id: int | None = Field(default=None, foreign_key="account.id")
    action: str = Field(max_length=48)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=48)
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class IdempotentRequest(SQLModel, table=True):
    """A write's Idempotency-Key, claimed in the write's own transaction, with the digest of
    its request and the answer it got: a retry gets that answer, never a second effect."""

    __tablename__ = "idempotent_request"
    account_id: int = Field(foreign_key="account.id", primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    operation: str = Field(max_length=48, description="e.g. handover.receipt, site.create")
    target: str = Field(max_length=64, description="what it acted on: a code, or '-'")
    request_hash: str = Field(max_length=64)
    answer: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    at: datetime = _ts(default_factory=utcnow)


class AuditCheckpoint(SQLModel, table=True):
    """The audit chain's length and head hash at a moment, signed with a key kept outside the
    database: a chain cut short or recomputed after it no longer matches."""

    __tablename__ = "audit_checkpoint"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(default_factory=utcnow)
    events: int = Field(sa_type=sa.BigInteger, description="events in the chain up to here")
    last_event_id: int = Field(sa_type=BigId, description="the chain's head at that moment")
    head_hash: str = Field(max_length=64)
    public_key: str = Field(max_length=64, description="hex of the Ed25519 key that signed")
    signature: str = Field(max_length=128, description="hex Ed25519 signature")


class Meta(SQLModel, table=True):
    """Facts about the data set itself, e.g. that it is a synthetic demo and its seed."""

    key: str = Field(primary_key=True, max_length=64)
    value: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class DeviceKey(SQLModel, table=True):
    """A phone's Ed25519 public key, registered at login: the phone signs the tickets of the
    loads it records offline with the private half, which never leaves it. Bound to the
    account that registered it; an admin revokes a lost phone's key."""

    __tablename__ = "device_key"
    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=8, unique=True, description="printed in every ticket")
    account_id: int = Field(foreign_key="account.id", index=True)
    public_key: str = Field(max_length=64, unique=True, description="raw public key, base64url")
    label: str | None = Field(default=None, max_length=128, description="what the phone says")
    created_at: datetime = _ts(default_factory=utcnow)
    last_seen_at: datetime | None = _ts(default=None)
    revoked_at: datetime | None = _ts(default=None)
    revoked_by_id: int | None = Field(default=None, foreign_key="account.id")
    revoke_reason: str | None = Field(default=None, max_length=256)


class PendingReceipt(SQLModel, table=True):
    """A receipt confirmed by a load's ticket before the load itself reached the server: kept
    on the load's identity (its recorder and idempotency key) and applied in the transaction
    that records the load, or refused then with the reason (``state``)."""

    __tablename__ = "pending_receipt"
    __table_args__ = (
        sa.UniqueConstraint("recorder_id", "idempotency_key", name="uq_pending_receipt_load"),
    )
    id: int | None = Field(default=None, primary_key=True)
    recorder_id: int = Field(foreign_key="account.id", description="who owns the device")
    idempotency_key: str = Field(max_length=64, description="the load's, from the ticket")
    device_id: str = Field(max_length=8)
    ticket: str = Field(max_length=420, description="the scanned ticket, as signed")
    from_site_id: int = Field(foreign_key="site.id")
    to_site_id: int = Field(foreign_key="site.id", index=True)
    material_id: int = Field(foreign_key="material.id")
    declared_mass_g: int = Field(sa_type=sa.BigInteger)
    declared_units: int | None = None
    device_time: datetime = _ts()
    receipt: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    receipt_key: str | None = Field(default=None, max_length=64, description="idempotency key")
    receipt_hash: str = Field(max_length=64)
    received_by_id: int = Field(foreign_key="account.id", index=True)
    received_at: datetime = _ts(default_factory=utcnow)
    state: str = Field(default="pending", max_length=12, description="pending, applied, refused")
    handover_id: int | None = Field(default=None, sa_type=BigId, foreign_key="handover.id")
    resolved_at: datetime | None = _ts(default=None)
    reason: str | None = Field(default=None, max_length=512, description="why it was refused")


# The work on anomalies lives in its own module; importing it registers its tables here.
import wasteflow.models_anomalies  # noqa: E402, F401
