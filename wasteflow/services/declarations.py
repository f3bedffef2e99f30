"""Declarations: the denominators of the official rates (reference/official-rates.md).

Film used, livestock head counts, crop output and area, industrial waste generated and drawn
from storage, household waste collected; and two numerators the holder declares itself, since
no handover records them: manure a farm spreads on its own or contracted land (自行还田) and
straw households use themselves (农户分散利用), by use.

Where the official method estimates the denominator (manure from head counts, collectable
straw from crop output) the mass is computed here with ``wasteflow.estimates`` and the
coefficient set of the region and year, and the record keeps the basis, the set and every
coefficient it used, so the figure can be recomputed later even if the set is edited.

Declarations are never edited in place: a correction is a new row naming the one it corrects,
which becomes ``superseded``. Only ``active`` rows count.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from fractions import Fraction
from typing import Any, NamedTuple, NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from wasteflow.db import core
from wasteflow.errors import Conflict, Invalid, NotFound
from wasteflow.estimates import collectable_straw, manure_produced
from wasteflow.models import (
    ACTIVE_IDENTITY_INDEX,
    Account,
    CoefficientSet,
    Declaration,
    Material,
    Region,
    Site,
)
from wasteflow.permissions import Action, require
from wasteflow.schemas import Page
from wasteflow.schemas_declarations import (
    CropOutputCreate,
    DeclarationCreate,
    DeclarationPublic,
    FilmUsedCreate,
    HouseholdCollectedCreate,
    IndustrialFromStorageCreate,
    IndustrialGeneratedCreate,
    LivestockHeadcountCreate,
    ManureSelfUseCreate,
    StrawHouseholdUseCreate,
)
from wasteflow.services import idempotency
from wasteflow.services.audit import record_event, record_events
from wasteflow.services.catalogue import region_and_descendants
from wasteflow.services.coefficients import (
    CoefficientChoice,
    choose_coefficient_set,
    read_coefficients,
)
from wasteflow.services.idempotency import Request, once
from wasteflow.types import (
    STRAW_USE_ZH,
    Basis,
    DeclarationKind,
    Indicator,
    RecordStatus,
    SiteKind,
    kg_to_g,
)

# The indicator a declared material must feed, per kind that names a material.
_MATERIAL_INDICATOR: dict[DeclarationKind, tuple[Indicator, ...]] = {
    DeclarationKind.film_used: (Indicator.film,),
    # Construction waste has its own rate, but a site declares what it generated the same way.
    DeclarationKind.industrial_generated: (Indicator.industrial, Indicator.construction),
    DeclarationKind.industrial_from_storage: (Indicator.industrial,),
    DeclarationKind.household_collected: (Indicator.household,),
}

_Declared = (
    FilmUsedCreate
    | IndustrialGeneratedCreate
    | IndustrialFromStorageCreate
    | HouseholdCollectedCreate
)


# ---- pure rules ------------------------------------------------------------------------------


def one_year_after(day: date) -> date:
    """The same calendar date a year later (29 February → 1 March)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return date(day.year + 1, 3, 1)


def check_period(start: date, end: date) -> None:
    """A declared period: start ≤ end, both inclusive, at most one year long.

    A calendar year (1 Jan – 31 Dec) is the longest period allowed; one more day is refused.
    """
    if start > end:
        raise Invalid(f"period_end: {end} is before period_start {start}", field="period_end")
    if end >= one_year_after(start):
        raise Invalid(
            f"period_end: a declaration covers at most one year; {start} … {end} is longer",
            field="period_end",
        )


_WHOLE = Fraction(1)


def overlap_share(period_start: date, period_end: date, start: date, end: date) -> Fraction:
    """The share of a declared period's days that fall in [start, end] (all inclusive).

    0 when they do not overlap, 1 when the declared period lies inside the window.
    """
    days = (period_end - period_start).days + 1
    lo, hi = max(period_start, start), min(period_end, end)
    overlap = (hi - lo).days + 1
    if days <= 0 or overlap <= 0:
        return Fraction(0)
    return Fraction(overlap, days)


def prorate_g(mass_g: int, share: Fraction) -> int:
    """Whole grams of ``mass_g × share``, rounded half to even: ``round(mass_g * share)``
    in integers (a report pro-rates thousands of declarations; Fraction arithmetic cost more
    than the rest of their loading)."""
    q, r = divmod(mass_g * share.numerator, share.denominator)
    twice = 2 * r
    if twice > share.denominator or (twice == share.denominator and q % 2):
        q += 1
    return q


def identity(
    *,
    kind: DeclarationKind,
    region_id: int,
    site_id: int | None,
    material_id: int,
    period_start: date,
    period_end: date,
    qualifier: str | None = None,
) -> str:
    """What a declaration declares, as one string: two active declarations with the same
    identity declare the same thing, and the second is refused (a correction replaces it).

    Kind, region, site (or none), material and period; ``qualifier`` tells apart what those
    leave the same: the animal of a head count (sows and fattening pigs share pig manure), the
    use of households' straw, the mass basis of manure a farm spreads itself. Migration 0004
    computes the same string for the rows it found: change both together, or not at all.
    """
    return "|".join(
        (
            kind.value,
            str(region_id),
            "" if site_id is None else str(site_id),
            str(material_id),
            period_start.isoformat(),
            period_end.isoformat(),
            qualifier or "",
        )
    )


# ---- lookups ---------------------------------------------------------------------------------


def _region(session: Session, code: str, field: str) -> Region:
    region = session.execute(sa.select(Region).where(col(Region.code) == code)).scalar_one_or_none()
    if region is None:
        raise Invalid(f"{field}: unknown region code {code!r}", field=field)
    return region


def _site_in_region(session: Session, code: str, region: Region) -> Site:
    site = session.execute(sa.select(Site).where(col(Site.code) == code)).scalar_one_or_none()
    if site is None:
        raise Invalid(f"site_code: unknown site code {code!r}", field="site_code")
    if site.kind != SiteKind.source:
        raise Invalid(
            f"site_code: {code} is a {site.kind.value}; declarations name a source site",
            field="site_code",
        )
    if site.region_id not in region_and_descendants(session, region.code):
        raise Invalid(
            f"site_code: {code} is not in region {region.code} or a region below it",
            field="site_code",
        )
    return site


def _material(
    session: Session, code: str, indicators: Indicator | tuple[Indicator, ...], field: str
) -> Material:
    allowed = (indicators,) if isinstance(indicators, Indicator) else indicators
    material = session.execute(
        sa.select(Material).where(col(Material.code) == code)
    ).scalar_one_or_none()
    if material is None:
        raise Invalid(f"{field}: unknown material code {code!r}", field=field)
    if material.indicator not in allowed:
        raise Invalid(
            f"{field}: {code} is a {material.indicator.value} material; "
            f"this kind declares {' or '.join(i.value for i in allowed)} materials",
            field=field,
        )
    return material


def _straw_material(session: Session, crop: str) -> Material:
    material = session.execute(
        sa.select(Material).where(
            col(Material.code) == f"straw.{crop}",
            col(Material.indicator) == Indicator.straw,
        )
    ).scalar_one_or_none()
    if material is None:
        raise Invalid(f"crop: unknown crop {crop!r} (no material straw.{crop})", field="crop")
    return material


def _manure_material(session: Session, animal: str) -> Material:
    # The catalogue says which manure each animal produces (attributes.animals), so adding an
    # animal is a data change, not a code change.
    for material in session.execute(
        sa.select(Material)
        .where(col(Material.indicator) == Indicator.manure)
        .order_by(col(Material.sort_order))
    ).scalars():
        if animal in (material.attributes or {}).get("animals", []):
            return material
    raise Invalid(
        f"animal: unknown animal {animal!r} (no manure material lists it)", field="animal"
    )


def _coefficient_set(
    session: Session, code: str | None, *, year: int, region_id: int
) -> CoefficientChoice:
    if code is None:
        return choose_coefficient_set(session, year=year, region_id=region_id)
    cset = session.execute(
        sa.select(CoefficientSet).where(col(CoefficientSet.code) == code)
    ).scalar_one_or_none()
    if cset is None:
        raise Invalid(f"coefficient_set: unknown coefficient set {code!r}", field="coefficient_set")
    return CoefficientChoice(set=cset, year_asked=year, fallback=cset.year != year)


def _set_detail(choice: CoefficientChoice) -> dict[str, Any]:
    # Say when the set is another year's, so the figure can say so too.
    return {
        "coefficient_set": choice.set.code,
        "coefficient_set_year": choice.set.year,
        "coefficient_set_fallback": choice.fallback,
    }


def _id(row: Material) -> int:
    assert row.id is not None
    return row.id


# ---- building a row --------------------------------------------------------------------------


def _qualifier(data: DeclarationCreate) -> str | None:
    if isinstance(data, LivestockHeadcountCreate):
        return data.animal
    if isinstance(data, StrawHouseholdUseCreate):
        return data.use.value
    if isinstance(data, ManureSelfUseCreate):
        return data.mass_basis.value
    return None


def _build(session: Session, actor: Account, data: DeclarationCreate) -> Declaration:
    """Validate references and compute the mass; returns an unsaved row with its identity."""
    row = _build_row(session, actor, data)
    row.identity = identity(
        kind=row.kind,
        region_id=row.region_id,
        site_id=row.site_id,
        material_id=row.material_id,
        period_start=row.period_start,
        period_end=row.period_end,
        qualifier=_qualifier(data),
    )
    return row


def _build_row(session: Session, actor: Account, data: DeclarationCreate) -> Declaration:
    check_period(data.period_start, data.period_end)
    region = _region(session, data.region_code, "region_code")
    assert region.id is not None
    site = _site_in_region(session, data.site_code, region) if data.site_code else None
    common: dict[str, Any] = {
        "kind": data.kind,
        "region_id": region.id,
        "site_id": site.id if site else None,
        "period_start": data.period_start,
        "period_end": data.period_end,
        "recorded_by_id": actor.id,
    }
    if isinstance(data, LivestockHeadcountCreate):
        material = _manure_material(session, data.animal)
        choice = _coefficient_set(
            session, data.coefficient_set, year=data.period_start.year, region_id=region.id
        )
        cset = choice.set
        assert cset.id is not None
        coeffs = read_coefficients(session, cset.id)
        if (data.animal, "manure_kg_per_head_day") not in coeffs:
            # Blame the set when the client chose it, else the animal.
            field = "coefficient_set" if data.coefficient_set else "animal"
            raise Invalid(
                f"{field}: coefficient set {cset.code} has no manure coefficient for "
                f"{data.animal!r}",
                field=field,
            )
        manure = manure_produced(
            coeffs,
            data.animal,
            data.heads,
            period_start=data.period_start,
            period_end=data.period_end,
        )
        detail = manure.detail() | _set_detail(choice)
        return Declaration(
            **common,
            material_id=_id(material),
            quantity=float(data.heads),
            unit="head",
            mass_g=kg_to_g(manure.produced_kg),
            basis=Basis.estimated,
            coefficient_set_id=cset.id,
            detail=detail,
        )
    if isinstance(data, CropOutputCreate):
        straw_material = _straw_material(session, data.crop)
        if data.area_returned_mu > data.area_sown_mu:
            raise Invalid(
                f"area_returned_mu: {data.area_returned_mu} exceeds area_sown_mu "
                f"{data.area_sown_mu}",
                field="area_returned_mu",
            )
        choice = _coefficient_set(
            session, data.coefficient_set, year=data.period_start.year, region_id=region.id
        )
        cset = choice.set
        assert cset.id is not None
        coeffs = read_coefficients(session, cset.id)
        straw = collectable_straw(
            coeffs,
            data.crop,
            float(data.output_kg),
            float(data.area_sown_mu),
            float(data.area_returned_mu),
        )
        detail = straw.detail() | {
            "area_sown_mu": float(data.area_sown_mu),
            "area_returned_mu": float(data.area_returned_mu),
            **_set_detail(choice),
        }
        return Declaration(
            **common,
            material_id=_id(straw_material),
            quantity=float(data.output_kg),
            unit="kg_grain",
            area_sown_mu=float(data.area_sown_mu),
            area_returned_mu=float(data.area_returned_mu),
            mass_g=kg_to_g(straw.collectable_kg),
            basis=Basis.estimated,
            coefficient_set_id=cset.id,
            detail=detail,
        )
    if isinstance(data, ManureSelfUseCreate):
        material = _material(session, data.material, Indicator.manure, "material")
        return Declaration(
            **common,
            material_id=_id(material),
            quantity=float(data.quantity_kg),
            unit="kg",
            mass_g=kg_to_g(data.quantity_kg),
            basis=Basis.declared,
            detail={
                "use": "自行还田",
                "mass_basis": data.mass_basis.value,
                "land_area_mu": float(data.land_area_mu),
            },
        )
    if isinstance(data, StrawHouseholdUseCreate):
        return Declaration(
            **common,
            material_id=_id(_straw_material(session, data.crop)),
            quantity=float(data.quantity_kg),
            unit="kg",
            mass_g=kg_to_g(data.quantity_kg),
            basis=Basis.declared,
            detail={"crop": data.crop, "use": data.use.value, "use_zh": STRAW_USE_ZH[data.use]},
        )
    assert isinstance(data, _Declared)
    material = _material(session, data.material, _MATERIAL_INDICATOR[data.kind], "material")
    return Declaration(
        **common,
        material_id=_id(material),
        quantity=float(data.quantity_kg),
        unit="kg",
        mass_g=kg_to_g(data.quantity_kg),
        basis=Basis.declared,
        detail={},
    )


def _active_with(session: Session, identity_: str) -> int | None:
    return session.execute(
        sa.select(col(Declaration.id)).where(
            col(Declaration.identity) == identity_,
            col(Declaration.status) == RecordStatus.active,
        )
    ).scalar()


def _raise_duplicate(existing_id: int | None) -> NoReturn:
    if existing_id is None:  # it was withdrawn between the clash and this read
        raise Conflict("another request declared the same thing at the same moment; try again")
    raise Conflict(
        f"declaration {existing_id} already declares this (same kind, region, site, material, "
        f"period and, for head counts, animal; for straw, use): correct it with "
        f"POST /api/v1/declarations/{existing_id}/correct instead of declaring it again",
        extra={"existing_id": existing_id},
    )


def _insert(session: Session, row: Declaration) -> DeclarationPublic:
    """Insert a built row, refusing a second active declaration of the same thing.

    The read first gives the usual answer; the partial unique index over active rows'
    identity settles two requests that both passed it at once (on PostgreSQL the second
    waits for the first to commit, then fails): its clash becomes the same Conflict.
    """
    assert row.identity is not None
    existing = _active_with(session, row.identity)
    if existing is not None:
        _raise_duplicate(existing)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa.exc.IntegrityError as exc:
        if not _is_identity_clash(exc):
            raise
        _raise_duplicate(_active_with(session, row.identity))
    assert row.id is not None
    return _views(session, [row.id])[0]


def _is_identity_clash(exc: sa.exc.IntegrityError) -> bool:
    # PostgreSQL names the index; SQLite names the column.
    text = str(exc.orig)
    return ACTIVE_IDENTITY_INDEX in text or "declaration.identity" in text


def record_declaration(
    *,
    session: Session,
    actor: Account,
    data: DeclarationCreate,
    idempotency_key: str | None = None,
) -> tuple[DeclarationPublic, bool]:
    """Record a denominator (admin), estimating its mass where the official method does.

    Film, industrial and household kinds are ``declared``: the mass is the quantity given.
    So are the two kinds of utilisation a holder declares itself: ``manure_self_use`` (a farm
    spreading its own manure, 自行还田; ``detail`` keeps ``land_area_mu`` and ``mass_basis``)
    and ``straw_household_use`` (households' own use, 农户分散利用; ``detail.use`` is one of
    the five uses).
    A second active declaration of the same thing (see :func:`identity`) is a Conflict naming
    the first (``existing_id``), to be corrected instead; this holds for concurrent requests.

    Livestock head counts (manure produced) and crop output (collectable straw) are
    ``estimated`` with the coefficient set of the region (or the nearest region above it) for
    the year the period starts, unless ``data.coefficient_set`` names one.

    Returns the declaration and whether this call recorded it (False: a retry with the same
    Idempotency-Key, answered as the first was).
    """
    require(actor.role, Action.record_declaration)
    assert actor.id is not None  # an authenticated account is a stored row
    req = Request(
        actor.id,
        idempotency_key,
        "declaration.record",
        "-",
        idempotency.digest(data.model_dump(mode="json")),
    )
    return once(session, req, lambda: _record(session, actor, data), DeclarationPublic)


def _record(session: Session, actor: Account, data: DeclarationCreate) -> DeclarationPublic:
    return insert_declaration(session, actor, _build(session, actor, data))


def build_declaration(session: Session, actor: Account, data: DeclarationCreate) -> Declaration:
    """Every rule of a declaration, each refusal naming its field, and its mass computed: an
    unsaved row with its identity (for a ledger's rows, checked before any is written)."""
    return _build(session, actor, data)


def active_with(session: Session, identity_: str) -> int | None:
    """The id of the active declaration with this identity, if any."""
    return _active_with(session, identity_)


def insert_declaration(
    session: Session, actor: Account, row: Declaration, via: dict[str, Any] | None = None
) -> DeclarationPublic:
    """Insert a built row (a Conflict if the same thing is already declared) with its audit
    event; ``via`` adds how it arrived (an import's batch) to the event. Inside the caller's
    transaction."""
    public = _insert(session, row)
    record_event(
        session,
        account_id=actor.id,
        action="declaration.record",
        entity="declaration",
        entity_id=public.id,
        after=public.model_dump(mode="json") | (via or {}),
    )
    return public


def correct_declaration(
    *,
    session: Session,
    actor: Account,
    declaration_id: int,
    data: DeclarationCreate,
    idempotency_key: str | None = None,
) -> tuple[DeclarationPublic, bool]:
    """Replace an active declaration by a new one that names it; the old one is superseded.

    Only the newest declaration of a chain can be corrected: correcting a superseded one is a
    Conflict naming its successor. Two concurrent corrections of the same declaration cannot
    both succeed: the old row is superseded by a conditional UPDATE (``status = 'active'``),
    and the loser sees no row changed. The old row is superseded before the new one is
    inserted, so a correction may declare the same thing again; declaring what another active
    declaration declares is a Conflict naming that one.

    Returns the new declaration and whether this call made it (False: a retry with the same
    Idempotency-Key).
    """
    require(actor.role, Action.record_declaration)
    assert actor.id is not None  # an authenticated account is a stored row
    req = Request(
        actor.id,
        idempotency_key,
        "declaration.correct",
        str(declaration_id),
        idempotency.digest(data.model_dump(mode="json")),
    )
    return once(
        session, req, lambda: _correct(session, actor, declaration_id, data), DeclarationPublic
    )


def _correct(
    session: Session, actor: Account, declaration_id: int, data: DeclarationCreate
) -> DeclarationPublic:
    old = session.get(Declaration, declaration_id, populate_existing=True)
    if old is None:
        raise NotFound(f"no declaration {declaration_id}", field="id")
    if old.status != RecordStatus.active:
        _raise_superseded(session, declaration_id)
    row = _build(session, actor, data)
    before = _views(session, [declaration_id])[0]
    result = session.execute(
        sa.update(Declaration)
        .where(
            col(Declaration.id) == declaration_id,
            col(Declaration.status) == RecordStatus.active,
        )
        .values(status=RecordStatus.superseded)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, sa.CursorResult)
    if result.rowcount != 1:
        # Someone else corrected it between our read and our update.
        _raise_superseded(session, declaration_id)
    row.corrects_id = declaration_id
    public = _insert(session, row)
    after = before.model_copy(update={"status": RecordStatus.superseded})
    record_events(
        session,
        [
            {
                "account_id": actor.id,
                "action": "declaration.supersede",
                "entity": "declaration",
                "entity_id": declaration_id,
                "before": before.model_dump(mode="json"),
                "after": after.model_dump(mode="json"),
            },
            {
                "account_id": actor.id,
                "action": "declaration.record",
                "entity": "declaration",
                "entity_id": public.id,
                "after": public.model_dump(mode="json"),
            },
        ],
    )
    return public


def _raise_superseded(session: Session, declaration_id: int) -> NoReturn:
    newest = declaration_id
    # Follow the chain to its head so the client knows which one to correct.
    while True:
        nxt = session.execute(
            sa.select(col(Declaration.id))
            .where(col(Declaration.corrects_id) == newest)
            .order_by(col(Declaration.id))
            .limit(1)
        ).scalar()
        if nxt is None:
            break
        newest = nxt
    hint = f"; correct the newest one, {newest}" if newest != declaration_id else ""
    raise Conflict(
        f"id: declaration {declaration_id} is superseded{hint}",
        field="id",
        extra={"newest_id": newest},
    )


# ---- reading ---------------------------------------------------------------------------------


def _joined() -> sa.Select[Declaration, str, str | None, str, str | None, str | None]:
    site = aliased(Site)
    return (
        sa.select(
            Declaration,
            col(Region.code),
            col(site.code),
            col(Material.code),
            col(CoefficientSet.code),
            col(Account.username),
        )
        .join(Region, col(Region.id) == Declaration.region_id)
        .join(Material, col(Material.id) == Declaration.material_id)
        .outerjoin(site, col(site.id) == Declaration.site_id)
        .outerjoin(CoefficientSet, col(CoefficientSet.id) == Declaration.coefficient_set_id)
        .outerjoin(Account, col(Account.id) == Declaration.recorded_by_id)
        # Rows change status behind the ORM's back (conditional UPDATE): always reload them.
        .execution_options(populate_existing=True)
    )


def _to_public(row: Any) -> DeclarationPublic:
    d, region_code, site_code, material_code, set_code, username = row
    assert d.id is not None
    return DeclarationPublic(
        id=d.id,
        kind=d.kind,
        region_code=region_code,
        site_code=site_code,
        material=material_code,
        period_start=d.period_start,
        period_end=d.period_end,
        quantity=d.quantity,
        unit=d.unit,
        area_sown_mu=d.area_sown_mu,
        area_returned_mu=d.area_returned_mu,
        mass_kg=d.mass_g / 1000,
        basis=d.basis,
        coefficient_set=set_code,
        detail=d.detail,
        status=d.status,
        corrects_id=d.corrects_id,
        recorded_by=username,
        recorded_at=d.recorded_at,
        synthetic=d.synthetic,
    )


def _views(session: Session, ids: Sequence[int]) -> list[DeclarationPublic]:
    rows = session.execute(_joined().where(col(Declaration.id).in_(ids))).all()
    by_id = {r[0].id: _to_public(r) for r in rows}
    return [by_id[i] for i in ids]


def get_declaration(*, session: Session, actor: Account, declaration_id: int) -> DeclarationPublic:
    """One declaration, whatever its status (official, admin)."""
    require(actor.role, Action.read_all_records)
    found = session.execute(_joined().where(col(Declaration.id) == declaration_id)).first()
    if found is None:
        raise NotFound(f"no declaration {declaration_id}", field="id")
    return _to_public(found)


def list_declarations(
    *,
    session: Session,
    actor: Account,
    kind: DeclarationKind | None = None,
    region_code: str | None = None,
    site_code: str | None = None,
    material: str | None = None,
    year: int | None = None,
    status: RecordStatus | None = RecordStatus.active,
    limit: int = 50,
    offset: int = 0,
) -> Page[DeclarationPublic]:
    """Declarations, oldest first, filtered and paginated (official, admin).

    ``region_code`` includes every region below it; ``year`` keeps periods that overlap that
    calendar year; ``status`` None means any status.
    """
    require(actor.role, Action.read_all_records)
    conds: list[Any] = []
    if kind is not None:
        conds.append(col(Declaration.kind) == kind)
    if region_code is not None:
        _region(session, region_code, "region")
        conds.append(col(Declaration.region_id).in_(region_and_descendants(session, region_code)))
    if site_code is not None:
        site_id = session.execute(
            sa.select(col(Site.id)).where(col(Site.code) == site_code)
        ).scalar()
        if site_id is None:
            raise Invalid(f"site: unknown site code {site_code!r}", field="site")
        conds.append(col(Declaration.site_id) == site_id)
    if material is not None:
        material_id = session.execute(
            sa.select(col(Material.id)).where(col(Material.code) == material)
        ).scalar()
        if material_id is None:
            raise Invalid(f"material: unknown material code {material!r}", field="material")
        conds.append(col(Declaration.material_id) == material_id)
    if year is not None:
        conds.append(col(Declaration.period_start) <= date(year, 12, 31))
        conds.append(col(Declaration.period_end) >= date(year, 1, 1))
    if status is not None:
        conds.append(col(Declaration.status) == status)
    total = session.execute(
        sa.select(sa.func.count()).select_from(Declaration).where(*conds)
    ).scalar_one()
    rows = session.execute(
        _joined().where(*conds).order_by(col(Declaration.id)).limit(limit).offset(offset)
    ).all()
    return Page(items=[_to_public(r) for r in rows], total=total, limit=limit, offset=offset)


# ---- for the rates ---------------------------------------------------------------------------


def declaration_details(session: Session, declaration_ids: Collection[int]) -> dict[int, Any]:
    """The ``detail`` of each declaration named, read in chunks (a report names thousands).

    Where the rates read what :func:`denominators` leaves out: a head count's
    ``produced_slurry_kg`` and ``solids_share_of_slurry``, a farm's ``mass_basis`` and
    ``land_area_mu``, households' straw ``use``.
    """
    ids = sorted(set(declaration_ids))
    out: dict[int, Any] = {}
    for i in range(0, len(ids), 500):
        stmt = sa.select(col(Declaration.id), col(Declaration.detail)).where(
            col(Declaration.id).in_(ids[i : i + 500])
        )
        out.update((did, detail or {}) for did, detail in core(session, stmt))
    return out


class Denominator(NamedTuple):
    """One active declaration's contribution to a window (see :func:`denominators`). A tuple:
    a report reads thousands, and a frozen dataclass costs several times more to build."""

    declaration_id: int
    kind: DeclarationKind
    region_id: int
    site_id: int | None
    material_id: int
    period_start: date
    period_end: date
    basis: Basis
    coefficient_set_id: int | None
    mass_g: int  # the whole declaration
    share: Fraction  # overlapping days ÷ declared days
    prorated_g: int  # mass_g × share, whole grams, rounded half to even


def denominators(
    session: Session,
    *,
    kind: DeclarationKind | Collection[DeclarationKind],
    region_ids: Collection[int],
    start: date,
    end: date,
    material_ids: Collection[int] | None = None,
) -> list[Denominator]:
    """Active declarations of the given kind(s) in the regions whose period overlaps
    [start, end] (inclusive), each with the part of its mass that falls in the window.

    Pro-rating rule: a declaration is taken to arise evenly over the days of its period, so it
    contributes ``mass × overlapping days ÷ days in its period`` (both periods inclusive,
    calendar days, leap days counted). A declaration inside the window counts whole; one that
    only partly overlaps counts that share; one outside counts nothing and is not returned.
    Each contribution is rounded to whole grams, half to even, so a sum of n rows is within
    n/2 g of the exact figure; ``share`` is exact for callers that need more.

    ``region_ids`` are taken as given (pass ``region_and_descendants`` for a region and
    everything under it). Ordered by declaration id.
    """
    if start > end:
        raise Invalid(f"end: {end} is before start {start}", field="end")
    kinds = [kind] if isinstance(kind, DeclarationKind) else list(kind)
    if not kinds or not region_ids or (material_ids is not None and not material_ids):
        return []
    # Plain columns, not ORM rows: every report reads thousands of these.
    d = Declaration
    stmt = sa.select(
        col(d.id),
        col(d.kind),
        col(d.region_id),
        col(d.site_id),
        col(d.material_id),
        col(d.period_start),
        col(d.period_end),
        col(d.basis),
        col(d.coefficient_set_id),
        col(d.mass_g),
    ).where(
        col(d.kind).in_(kinds),
        col(d.region_id).in_(list(region_ids)),
        col(d.status) == RecordStatus.active,
        col(d.period_start) <= end,
        col(d.period_end) >= start,
    )
    if material_ids is not None:
        stmt = stmt.where(col(d.material_id).in_(list(material_ids)))
    out = []
    for did, kind_, region_id, site_id, material_id, p_start, p_end, basis, cset, mass in core(
        session, stmt.order_by(col(d.id))
    ):
        mass_g = int(mass)
        if start <= p_start and p_end <= end:  # inside the window: counts whole
            share, prorated = _WHOLE, mass_g
        else:
            share = overlap_share(p_start, p_end, start, end)
            prorated = prorate_g(mass_g, share)
        out.append(
            Denominator(
                did,
                kind_,
                region_id,
                site_id,
                material_id,
                p_start,
                p_end,
                basis,
                cset,
                mass_g,
                share,
                prorated,
            )
        )
    return out
