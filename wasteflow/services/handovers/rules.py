"""The rules of a new handover: what a scan must satisfy, each refusal naming its field, and
the identity of a request body (its digest, for idempotent retries)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.config import get_settings
from wasteflow.errors import Forbidden, Invalid
from wasteflow.models import (
    Account,
    AccountRound,
    AccountSite,
    CollectionRound,
    Handover,
    RoundSite,
)
from wasteflow.qr import QRPayload
from wasteflow.schemas import HandoverCreate, ReceiptCreate
from wasteflow.services import cache, keys
from wasteflow.types import (
    WITHDRAWN,
    HandoverStatus,
    MassMethod,
    Role,
    SiteKind,
    g_to_kg,
    kg_to_g,
    utcnow,
)

_REFUSED = {HandoverStatus.refused, HandoverStatus.partially_refused}
EARTH_RADIUS_M = 6_371_008.8


@lru_cache
def _tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def _canonical(payload: dict[str, Any]) -> str:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def request_hash(data: HandoverCreate) -> str:
    """The identity of a request body, insensitive to how numbers and times were spelt."""
    body = data.model_dump(mode="json", exclude={"idempotency_key"})
    body["declared_mass_kg"] = str(data.declared_mass_kg.quantize(Decimal("0.001")))
    body["device_time"] = data.device_time.astimezone(ZoneInfo("UTC")).isoformat()
    body["source_plaque"] = data.source_plaque.strip()
    return _canonical(body)


def receipt_hash(data: ReceiptCreate) -> str:
    body = data.model_dump(mode="json", exclude={"manifest"})
    for k in ("received_mass_kg", "refused_mass_kg"):
        body[k] = str(getattr(data, k).quantize(Decimal("0.001")))
    return _canonical(body)


# --- lookups ------------------------------------------------------------------------------


class _Lookups:
    """What validation needs from the database: sites, materials and the account's sites come
    from the per-process cache (``services.cache``), plaques are verified once per payload."""

    def __init__(self, session: Session, account: Account):
        self.s = session
        self.account = account
        self._sites: dict[str, cache.SiteRef] = {}
        self._plaques: dict[str, Any] = {}
        self._materials: dict[str, cache.MaterialRef] | None = None

    def sites(self, codes: Iterable[str]) -> None:
        wanted = [c for c in codes if c not in self._sites]
        if wanted:
            self._sites.update(cache.sites(self.s, wanted))

    def site(self, code: str) -> cache.SiteRef | None:
        if code not in self._sites:
            self.sites([code])
        return self._sites.get(code)

    def material(self, code: str) -> cache.MaterialRef | None:
        # Read once per lookup set: a batch or a ledger checks thousands of rows with it.
        if self._materials is None:
            self._materials = cache.materials(self.s)
        return self._materials.get(code)

    def accepts(self, site: cache.SiteRef, material: cache.MaterialRef) -> bool:
        return material.id in site.accepts

    def acting(self) -> frozenset[int]:
        account = self.account
        assert account.id is not None  # an authenticated account is a stored row
        return cache.acting(
            self.s,
            account.id,
            lambda: frozenset(acting_sites(self.s, account)),
        )

    def plaque(self, payload: str) -> QRPayload:
        """Verify a site plaque once per distinct payload."""
        if payload not in self._plaques:
            try:
                self._plaques[payload] = keys.verify(
                    self.s, payload, expected_kind="site", field="source_plaque"
                )
            except Invalid as exc:
                self._plaques[payload] = exc
        result = self._plaques[payload]
        if isinstance(result, Invalid):
            raise result
        return result


def acting_sites(session: Session, account: Account) -> set[int]:
    """Sites an account may record loads from.

    Its own sites; for collectors, the sources on their collection rounds; for site operators,
    also the sources on the rounds of the collection points they run (a farmer who carries
    film to the village recovery point has it recorded there).
    """
    own = set(
        session.execute(
            sa.select(col(AccountSite.site_id)).where(col(AccountSite.account_id) == account.id)
        ).scalars()
    )
    on_rounds = (
        sa.select(col(RoundSite.site_id))
        .join(AccountRound, col(AccountRound.round_id) == RoundSite.round_id)
        .where(col(AccountRound.account_id) == account.id)
    )
    ids = own | set(session.execute(on_rounds).scalars())
    if account.role == Role.site_operator and own:
        ids |= set(
            session.execute(
                sa.select(col(RoundSite.site_id))
                .join(CollectionRound, col(CollectionRound.id) == RoundSite.round_id)
                .where(col(CollectionRound.collection_point_id).in_(own))
            ).scalars()
        )
    return ids


def own_sites(session: Session, account: Account) -> set[int]:
    return set(
        session.execute(
            sa.select(col(AccountSite.site_id)).where(col(AccountSite.account_id) == account.id)
        ).scalars()
    )


# --- validation -----------------------------------------------------------------------------


@dataclass
class _Validated:
    row: dict[str, Any]
    from_site: cache.SiteRef
    to_site: cache.SiteRef
    material: cache.MaterialRef
    returns_code: str | None = None


class Load(Protocol):
    """What a load declares, whoever sends it: a phone's scan (:class:`HandoverCreate`) or a
    row of an imported ledger."""

    @property
    def to_site(self) -> str: ...
    @property
    def material(self) -> str: ...
    @property
    def declared_mass_kg(self) -> Decimal: ...
    @property
    def units(self) -> int | None: ...
    @property
    def mass_method(self) -> MassMethod: ...
    @property
    def device_time(self) -> datetime: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def returns(self) -> str | None: ...


LATE_HINT = (
    "submit it for an administrator's approval instead: POST /api/v1/late-submissions "
    "with the same body, a reason and the same Idempotency-Key"
)


def _validate(
    look: _Lookups, data: HandoverCreate, check_return: bool = True, late_ok: bool = False
) -> _Validated:
    """Every rule of a new handover, each with its own error naming the field.

    ``check_return=False`` leaves the check of a return's refused load (which reads records
    another request may be changing) to the caller, inside its write transaction.
    ``late_ok`` lifts the lateness rule alone (a late scan an admin approved).
    """
    plaque = look.plaque(data.source_plaque)
    from_code = plaque.ident
    from_site = look.site(from_code)
    if from_site is None:
        raise Invalid(
            f"source_plaque: the plaque names site {from_code}, which is not registered",
            field="source_plaque",
        )
    if from_site.id not in look.acting():
        raise Forbidden(
            f"source_plaque: you do not act for site {from_code} or its collection round",
            field="source_plaque",
        )
    return check_load(
        look, from_site, data, plaque_kid=plaque.kid, check_return=check_return, late_ok=late_ok
    )


def check_load(
    look: _Lookups,
    from_site: cache.SiteRef,
    data: Load,
    *,
    plaque_kid: str | None = None,
    check_return: bool = True,
    late_ok: bool = False,
    from_field: str = "source_plaque",
) -> _Validated:
    """The rules of a load leaving ``from_site`` (known, and one its sender acts for): the
    receiving site, the material it accepts, the plausibility caps, units, the time (never in
    the future; older than the window only with ``late_ok``), the position and a return.

    Shared by scans and imported ledgers (which name the sending site in ``from_field``
    instead of scanning its plaque), so a ledger row passes exactly the rules a scan does.
    """
    settings = get_settings()
    s = look.s
    to_site = look.site(data.to_site)
    if to_site is None:
        raise Invalid(f"to_site: no site with code {data.to_site}", field="to_site")
    if to_site.id == from_site.id:
        raise Invalid(
            "to_site: a load cannot be handed over to the site it leaves", field="to_site"
        )
    for site, field in ((from_site, from_field), (to_site, "to_site")):
        if not site.active:
            raise Invalid(f"{field}: site {site.code} is inactive", field=field)
    material = look.material(data.material)
    if material is None:
        raise Invalid(f"material: unknown material code {data.material!r}", field="material")
    if not look.accepts(to_site, material):
        raise Invalid(
            f"material: {to_site.code} does not accept {material.code} ({material.name_zh})",
            field="material",
        )
    mass_g = kg_to_g(data.declared_mass_kg)
    from_source = from_site.kind == SiteKind.source
    cap = material.max_handover_kg if from_source else material.max_load_kg
    if data.declared_mass_kg > Decimal(str(cap)):
        where = "from a source" if from_source else "in one load"
        raise Invalid(
            f"declared_mass_kg: {data.declared_mass_kg} kg of {material.name_zh} {where} is "
            f"above the plausibility cap of {cap:g} kg; check the scale reading or split the load",
            field="declared_mass_kg",
        )
    if material.counts_units and data.units is None:
        raise Invalid(f"units: {material.code} is counted in units as well as kg", field="units")
    if not material.counts_units and data.units is not None:
        raise Invalid(f"units: {material.code} is not counted in units", field="units")
    now = utcnow()
    skew = timedelta(seconds=settings.device_time_skew_s)
    if data.device_time > now + skew:
        ahead = int((data.device_time - now).total_seconds())
        raise Invalid(
            f"device_time: {ahead} s in the future; check the phone's clock", field="device_time"
        )
    if not late_ok and data.device_time < now - timedelta(days=settings.device_time_window_days):
        raise Invalid(
            f"device_time: older than {settings.device_time_window_days} days; {LATE_HINT}",
            field="device_time",
        )
    if (data.lat is None) != (data.lon is None):
        raise Invalid("lat: give both lat and lon, or neither", field="lat")
    distance = None
    if (
        data.lat is not None
        and data.lon is not None
        and from_site.lat is not None
        and from_site.lon is not None
    ):
        distance = round(distance_m(data.lat, data.lon, from_site.lat, from_site.lon), 1)
    returns_id = returns_sender_id = None
    if data.returns and check_return:
        refused = _lock_refused(s, data.returns)
        returns_id, returns_sender_id = _check_return(
            s, data.returns, refused, from_site, material, mass_g
        )
    day = data.device_time.astimezone(_tz()).date()
    row = {
        "from_site_id": from_site.id,
        "to_site_id": to_site.id,
        "material_id": material.id,
        "declared_mass_g": mass_g,
        "declared_units": data.units,
        "mass_method": data.mass_method,
        "device_time": data.device_time,
        "day": day,
        "lat": data.lat,
        "lon": data.lon,
        "scan_distance_m": distance,
        "plaque_kid": plaque_kid,
        "flag_far_scan": distance is not None and distance > settings.scan_distance_flag_m,
        "returns_id": returns_id,
        "returns_sender_id": returns_sender_id,
    }
    return _Validated(row, from_site, to_site, material, data.returns)


def _lock_refused(session: Session, code: str) -> Handover | None:
    """The refused load a return names, its row locked until the return's transaction ends:
    two returns of it at once take turns, so the second counts what the first sent back (on
    PostgreSQL, where they would otherwise both see nothing returned yet; SQLite's writers
    take turns anyway)."""
    return session.execute(
        sa.select(Handover)
        .where(col(Handover.code) == code)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _check_return(
    session: Session,
    code: str,
    refused: Handover | None,
    from_site: cache.SiteRef,
    material: cache.MaterialRef,
    mass_g: int,
) -> tuple[int, int]:
    """The refused load a return takes back (``refused``, locked by :func:`_lock_refused`):
    its id and its sender (whose lot it drains)."""
    if refused is None:
        raise Invalid(f"returns: no handover {code}", field="returns")
    if refused.status not in _REFUSED:
        raise Invalid(
            f"returns: {code} was not refused (it is {refused.status.value})", field="returns"
        )
    if refused.to_site_id != from_site.id:
        raise Invalid(
            f"returns: {code} was refused at another site; only the site that "
            "refused it sends it back",
            field="returns",
        )
    if refused.material_id != material.id:
        raise Invalid(f"returns: {code} was another material", field="returns")
    already = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(col(Handover.declared_mass_g)), 0)).where(
            col(Handover.returns_id) == refused.id, col(Handover.status).not_in(WITHDRAWN)
        )
    ).scalar_one()
    left = (refused.refused_mass_g or 0) - already
    if mass_g > left:
        raise Invalid(
            f"declared_mass_kg: only {g_to_kg(left)} kg of {code}'s refused mass is "
            "left to send back",
            field="declared_mass_kg",
        )
    assert refused.id is not None
    return refused.id, refused.from_site_id
