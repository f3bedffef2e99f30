"""Handovers: record a load, confirm its receipt, cancel or correct it, send refused mass back.

Every rule a client can break raises a ``WasteflowError`` naming the field; every change is
one transaction that also moves the per-day totals and appends an audit event. Nothing is
edited in place or deleted: a state moves forward (``in_transit`` → ``received`` |
``partially_refused`` | ``refused``, or ``cancelled`` / ``superseded``), and a correction is a
new handover naming the one it replaces: before receipt the author corrects the load, after it
the receiving site corrects its receipt (a mis-keyed weight, a wrong route).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col

from wasteflow.codes import random_handover_code
from wasteflow.config import get_settings
from wasteflow.db import core, unit_of_work
from wasteflow.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    WasteflowError,
    describe_validation_errors,
)
from wasteflow.models import (
    Account,
    AccountRound,
    AccountSite,
    CollectionRound,
    Handover,
    Material,
    RoundSite,
    Site,
    SiteRoute,
    TreatmentRoute,
)
from wasteflow.permissions import Action, allowed, require
from wasteflow.qr import QRPayload
from wasteflow.schemas import (
    BatchItem,
    BatchResponse,
    BatchResult,
    ErrorBody,
    HandoverCreate,
    HandoverPublic,
    ReceiptCorrection,
    ReceiptCreate,
)
from wasteflow.services import cache, keys
from wasteflow.services.audit import record_event, record_events, seal
from wasteflow.services.catalogue import material_route
from wasteflow.services.totals import Deltas
from wasteflow.types import (
    TREATING_KINDS,
    WITHDRAWN,
    Channel,
    HandoverStatus,
    Role,
    SiteKind,
    g_to_kg,
    kg_to_g,
    utcnow,
)

_REFUSED = {HandoverStatus.refused, HandoverStatus.partially_refused}
_CODE_ATTEMPTS = 8
# What a receipt sets on a handover (and its audit event records).
_RECEIPT_FIELDS = (
    "status",
    "received_mass_g",
    "refused_mass_g",
    "accepted_mass_g",
    "received_units",
    "refusal_reason",
    "flag_discrepancy",
)
EARTH_RADIUS_M = 6_371_008.8

log = logging.getLogger(__name__)


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

    def sites(self, codes: Iterable[str]) -> None:
        wanted = [c for c in codes if c not in self._sites]
        if wanted:
            self._sites.update(cache.sites(self.s, wanted))

    def site(self, code: str) -> cache.SiteRef | None:
        if code not in self._sites:
            self.sites([code])
        return self._sites.get(code)

    def material(self, code: str) -> cache.MaterialRef | None:
        return cache.materials(self.s).get(code)

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


def _validate(look: _Lookups, data: HandoverCreate, check_return: bool = True) -> _Validated:
    """Every rule of a new handover, each with its own error naming the field.

    ``check_return=False`` leaves the check of a return's refused load (which reads records
    another request may be changing) to the caller, inside its write transaction.
    """
    settings = get_settings()
    s = look.s
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
    to_site = look.site(data.to_site)
    if to_site is None:
        raise Invalid(f"to_site: no site with code {data.to_site}", field="to_site")
    if to_site.id == from_site.id:
        raise Invalid(
            "to_site: a load cannot be handed over to the site it leaves", field="to_site"
        )
    for site, field in ((from_site, "source_plaque"), (to_site, "to_site")):
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
    if data.device_time < now - timedelta(days=settings.device_time_window_days):
        raise Invalid(
            f"device_time: older than {settings.device_time_window_days} days; "
            "records that late need an administrator",
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
        returns_id, returns_sender_id = _check_return(s, data.returns, from_site, material, mass_g)
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
        "plaque_kid": plaque.kid,
        "flag_far_scan": distance is not None and distance > settings.scan_distance_flag_m,
        "returns_id": returns_id,
        "returns_sender_id": returns_sender_id,
    }
    return _Validated(row, from_site, to_site, material, data.returns)


def _check_return(
    session: Session, code: str, from_site: cache.SiteRef, material: cache.MaterialRef, mass_g: int
) -> tuple[int, int]:
    """The refused load a return takes back: its id and its sender (whose lot it drains).

    The refused load's row is locked until the return's transaction ends: two returns of it
    at once take turns, so the second counts what the first sent back (on PostgreSQL, where
    they would otherwise both see nothing returned yet; SQLite's writers take turns anyway).
    """
    refused = session.execute(
        sa.select(Handover)
        .where(col(Handover.code) == code)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
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


# --- recording ---------------------------------------------------------------------------


def _by_key(session: Session, account_id: int, key: str) -> Handover | None:
    return session.execute(
        sa.select(Handover).where(
            col(Handover.recorded_by_id) == account_id, col(Handover.idempotency_key) == key
        )
    ).scalar_one_or_none()


def _replay(existing: Handover, digest: str, key: str) -> None:
    if existing.request_hash != digest:
        raise Conflict(
            f"Idempotency-Key: {key!r} was already used for a different request "
            f"(handover {existing.code}); use a new key for a new handover",
            field="Idempotency-Key",
        )


@lru_cache(maxsize=4)
def _insert_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT (account, key) DO NOTHING RETURNING id, key, code — built once."""
    from sqlalchemy.dialects import postgresql, sqlite

    table = Handover.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["recorded_by_id", "idempotency_key"])
        .returning(table.c.id, table.c.idempotency_key, table.c.code)
    )


def _insert(
    session: Session, rows: list[dict[str, Any]], savepoint: bool = True
) -> dict[str, tuple[int, str]]:
    """Insert rows, drawing new codes on the rare clash; skip keys already taken.

    Returns idempotency key → (id, code) for the rows inserted. Rows whose key was taken by a
    concurrent request in the meantime are left out, for the caller to treat as duplicates.
    ``savepoint=False`` saves the single scan's two extra statements: a code clash (about one
    in 30 million a day) then fails the whole transaction, and the caller runs it again.
    """
    stmt = _insert_statement(session.get_bind().dialect.name)
    for attempt in range(_CODE_ATTEMPTS):
        for r in rows:
            r["code"] = random_handover_code(r["day"])
        if not savepoint:
            return {k: (i, c) for i, k, c in core(session, stmt, rows)}
        try:
            with session.begin_nested():
                got = core(session, stmt, rows).all()  # inside the block: in its SAVEPOINT
            return {k: (i, c) for i, k, c in got}
        except sa.exc.IntegrityError:
            if attempt == _CODE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _record_rows(
    session: Session,
    account: Account,
    items: Sequence[tuple[str, str, _Validated]],
    channel: Channel,
    corrects: Handover | None = None,
    savepoint: bool = True,
) -> dict[str, tuple[int, str]]:
    now = utcnow()
    rows = []
    for key, digest, v in items:
        rows.append(
            v.row
            | {
                "idempotency_key": key,
                "request_hash": digest,
                "channel": channel,
                "recorded_at": now,
                "recorded_by_id": account.id,
                "status": HandoverStatus.in_transit,
                "corrects_id": corrects.id if corrects else None,
            }
        )
    inserted = _insert(session, rows, savepoint)
    for v in (item[2] for item in items):
        v.row["recorded_at"] = now  # for views built without reading the row back
    deltas = Deltas()
    events = []
    for (key, _digest, v), stored in zip(items, rows, strict=True):
        if key not in inserted:
            continue
        r = v.row
        deltas.add_handover(stored)
        events.append(
            {
                "account_id": account.id,
                "action": "handover.record",
                "entity": "handover",
                "entity_id": inserted[key][1],
                "at": now,
                "before": None,
                "after": {
                    "from_site": v.from_site.code,
                    "to_site": v.to_site.code,
                    "material": v.material.code,
                    "declared_mass_g": r["declared_mass_g"],
                    "units": r["declared_units"],
                    "mass_method": r["mass_method"],
                    "device_time": r["device_time"],
                    "status": HandoverStatus.in_transit,
                    "flags": ["far_scan"] if r["flag_far_scan"] else [],
                    "channel": channel,
                    "returns_id": r["returns_id"],
                    "corrects": corrects.code if corrects else None,
                    "seal": seal(stored),
                },
            }
        )
    deltas.apply(session)
    record_events(session, events)
    return inserted


@dataclass(frozen=True)
class _Scan:
    """One validated scan waiting for its group's transaction."""

    account: Account
    key: str
    digest: str
    validated: _Validated
    channel: Channel


_TAKEN = (0, "")  # a group's answer for a scan whose key was already taken: a replay


def _write_scans(session: Session, scans: Sequence[_Scan]) -> list[tuple[int, str]]:
    """Record many accounts' scans in one transaction: (id, code) of each, or ``_TAKEN``."""
    parts: dict[tuple[int | None, Channel], list[_Scan]] = {}
    firsts: dict[tuple[int | None, str], _Scan] = {}
    for scan in scans:
        # Retries of one request in one group: the first is written, the others are answered
        # as its replays (or refused, if their bodies differ) once it is committed.
        if firsts.setdefault((scan.account.id, scan.key), scan) is scan:
            parts.setdefault((scan.account.id, scan.channel), []).append(scan)
    inserted: dict[tuple[int | None, str], tuple[int, str]] = {}
    with unit_of_work(session):
        for (account_id, channel), part in parts.items():
            got = _record_rows(
                session,
                part[0].account,
                [(s.key, s.digest, s.validated) for s in part],
                channel,
            )
            inserted |= {(account_id, key): value for key, value in got.items()}
    return [
        inserted.get((s.account.id, s.key), _TAKEN)
        if firsts[(s.account.id, s.key)] is s
        else _TAKEN
        for s in scans
    ]


def record_handover(
    *,
    session: Session,
    account: Account,
    data: HandoverCreate,
    idempotency_key: str,
    channel: Channel = Channel.api,
) -> tuple[HandoverPublic, bool]:
    """Record one scanned load. Returns its public view and whether it was created now.

    The same ``idempotency_key`` with the same body returns the handover recorded the first
    time and changes nothing; with another body it is a Conflict. The API records scans that
    arrive together in one transaction: :func:`record_handovers`.
    """
    prepared = _prepare(session, account, data, idempotency_key, channel)
    if not isinstance(prepared, _Scan):
        return prepared
    return _answer(session, prepared, data, None)


def record_handovers(
    session: Session,
    scans: Sequence[tuple[Account, HandoverCreate, str]],
    channel: Channel = Channel.api,
) -> list[tuple[HandoverPublic, bool] | Exception]:
    """Record scans that arrived together, each ``(account, body, idempotency key)``, as
    :func:`record_handover` records one: each checked on its own, those that pass written in
    one transaction, and each answered on its own, with its view and whether it was created
    now, or with the error that refused it (returned, not raised). If the group's transaction
    fails, each of its scans is written alone, so that one bad scan cannot refuse the others.
    Returns are written alone (their check reads records)."""
    out: list[tuple[HandoverPublic, bool] | Exception | None] = [None] * len(scans)
    grouped: list[tuple[int, _Scan, HandoverCreate]] = []
    alone: list[tuple[int, _Scan, HandoverCreate]] = []
    for i, (account, data, key) in enumerate(scans):
        try:
            prepared = _prepare(session, account, data, key, channel)
        except Exception as exc:  # this scan's answer; the others go on
            out[i] = exc
            continue
        if isinstance(prepared, _Scan):
            (alone if data.returns else grouped).append((i, prepared, data))
        else:
            out[i] = prepared
    written: Sequence[tuple[int, str] | None] = [None] * len(grouped)
    if grouped:
        try:
            written = _write_scans(session, [scan for _, scan, _ in grouped])
        except Exception:
            log.exception("a group of %d scans failed; each is written alone", len(grouped))
    for (i, scan, data), got in zip(
        [*grouped, *alone], [*written, *[None] * len(alone)], strict=True
    ):
        try:
            out[i] = _answer(session, scan, data, got)
        except Exception as exc:
            out[i] = exc
    answers = [r for r in out if r is not None]
    assert len(answers) == len(scans)  # every scan answered
    return answers


def _prepare(
    session: Session, account: Account, data: HandoverCreate, key: str, channel: Channel
) -> _Scan | tuple[HandoverPublic, bool]:
    """A scan checked and ready to write, or the answer to a retry the rules now refuse."""
    require(account.role, Action.record_handover)
    assert account.id is not None  # an authenticated account is a stored row
    digest = request_hash(data)
    # Validate before taking the write lock (on SQLite, one writer at a time): it reads only
    # cached reference data and checks the plaque's signature. A retry of a request accepted
    # earlier is answered as a replay even if the rules would refuse it now.
    try:
        validated = _validate(_Lookups(session, account), data, check_return=False)
    except WasteflowError:
        existing = _by_key(session, account.id, key)
        if existing is None:
            raise
        _replay(existing, digest, key)
        return handover_views(session, [existing])[0], False
    return _Scan(account, key, digest, validated, channel)


def _answer(
    session: Session, scan: _Scan, data: HandoverCreate, got: tuple[int, str] | None
) -> tuple[HandoverPublic, bool]:
    """The answer to a scan its group wrote (``got``: its id and code, or ``_TAKEN`` if its
    key was taken), or that must be written alone (``got`` None)."""
    if got is None:
        got = _record_alone(
            session, scan.account, data, scan.key, scan.digest, scan.validated, scan.channel
        )
    if got != _TAKEN:
        return _new_view(session, scan.validated, *got, scan.account, scan.channel), True
    assert scan.account.id is not None
    existing = _by_key(session, scan.account.id, scan.key)
    assert existing is not None  # a key is taken only by a committed row
    _replay(existing, scan.digest, scan.key)
    return handover_views(session, [existing])[0], False


def _record_alone(
    session: Session,
    account: Account,
    data: HandoverCreate,
    key: str,
    digest: str,
    validated: _Validated,
    channel: Channel,
) -> tuple[int, str]:
    """One scan in its own transaction: (id, code), or ``_TAKEN`` if its key was taken."""
    assert account.id is not None
    for attempt in range(_CODE_ATTEMPTS):
        try:
            with unit_of_work(session):
                # The insert itself says whether the key was taken (ON CONFLICT DO NOTHING):
                # no lookup first, except for a return, whose check must not refuse a retry.
                if data.returns:
                    if _by_key(session, account.id, key) is not None:
                        return _TAKEN
                    v = validated
                    v.row["returns_id"], v.row["returns_sender_id"] = _check_return(
                        session, data.returns, v.from_site, v.material, v.row["declared_mass_g"]
                    )
                inserted = _record_rows(
                    session, account, [(key, digest, validated)], channel, savepoint=False
                )
            return inserted.get(key, _TAKEN)
        except sa.exc.IntegrityError:
            if attempt == _CODE_ATTEMPTS - 1:
                raise  # not a code clash: something is wrong, say so
    raise AssertionError("unreachable")


def record_batch(
    *, session: Session, account: Account, items: list[Any], channel: Channel = Channel.batch
) -> BatchResponse:
    """Record an offline phone's outbox: each item gets its own result.

    A bad item is reported and skipped; the good ones are recorded, in bulk.
    """

    require(account.role, Action.record_handover)
    assert account.id is not None  # an authenticated account is a stored row
    limit = get_settings().batch_max_items
    if len(items) > limit:
        raise Invalid(f"items: at most {limit} per batch, got {len(items)}", field="items")
    results: list[BatchResult | None] = [None] * len(items)
    parsed: list[tuple[int, str, str, BatchItem]] = []
    for i, raw in enumerate(items):
        key = raw.get("idempotency_key") if isinstance(raw, dict) else None
        try:
            item = BatchItem.model_validate(raw)
        except ValidationError as exc:
            detail, errs = describe_validation_errors(exc.errors())
            results[i] = BatchResult(
                index=i,
                idempotency_key=key if isinstance(key, str) else None,
                result="error",
                error=ErrorBody(error="Invalid", detail=detail, field=errs[0]["field"]),
            )
            continue
        parsed.append((i, item.idempotency_key, request_hash(item), item))

    with unit_of_work(session):
        existing = _existing_keys(session, account.id, [p[1] for p in parsed])
        look = _Lookups(session, account)
        look.sites([p[3].to_site for p in parsed])
        to_insert: list[tuple[str, str, _Validated]] = []
        pending: dict[str, tuple[int, str]] = {}  # key → (index, digest) of this batch
        dup_of: dict[int, str] = {}
        for i, key, digest, item in parsed:
            try:
                if key in existing:
                    _replay(existing[key], digest, key)
                    dup_of[i] = key
                    continue
                if key in pending:
                    if pending[key][1] != digest:
                        raise Conflict(
                            f"idempotency_key: {key!r} appears twice in this batch "
                            "with different contents",
                            field="idempotency_key",
                        )
                    dup_of[i] = key
                    continue
                to_insert.append((key, digest, _validate(look, item)))
                pending[key] = (i, digest)
            except WasteflowError as exc:
                results[i] = BatchResult(
                    index=i, idempotency_key=key, result="error", error=ErrorBody(**exc.to_dict())
                )
        inserted = _record_rows(session, account, to_insert, channel) if to_insert else {}
        raced = [k for k, _, _ in to_insert if k not in inserted]
        if raced:  # taken by a concurrent request since we looked: duplicates, if same body
            existing |= _existing_keys(session, account.id, raced)
        # New rows' views come from what the batch holds (nothing is read back); only the
        # duplicates' stored rows are read.
        views = {
            inserted[key][0]: _new_view(session, v, *inserted[key], account, channel)
            for key, _, v in to_insert
            if key in inserted
        }
        stored = [h.id for h in existing.values() if h.id not in views]
        views |= {v.id: v for v in handover_views(session, _get_many(session, stored))}
        for i, key, digest, _item in parsed:
            if results[i] is not None:
                continue
            if key in inserted and i not in dup_of:
                results[i] = BatchResult(
                    index=i, idempotency_key=key, result="created", handover=views[inserted[key][0]]
                )
                continue
            target = existing.get(key)
            hid = target.id if target is not None else inserted[key][0]
            assert hid is not None  # ``existing`` holds stored rows, which have their ids
            try:
                if target is not None:
                    _replay(target, digest, key)
                results[i] = BatchResult(
                    index=i, idempotency_key=key, result="duplicate", handover=views[hid]
                )
            except Conflict as exc:
                results[i] = BatchResult(
                    index=i, idempotency_key=key, result="error", error=ErrorBody(**exc.to_dict())
                )
    final = [r for r in results if r is not None]
    return BatchResponse(
        created=sum(r.result == "created" for r in final),
        duplicates=sum(r.result == "duplicate" for r in final),
        errors=sum(r.result == "error" for r in final),
        results=final,
    )


def _existing_keys(session: Session, account_id: int, keys_: list[str]) -> dict[str, Handover]:
    found: dict[str, Handover] = {}
    unique = list(dict.fromkeys(keys_))
    for i in range(0, len(unique), 500):
        for h in session.execute(
            sa.select(Handover).where(
                col(Handover.recorded_by_id) == account_id,
                col(Handover.idempotency_key).in_(unique[i : i + 500]),
            )
        ).scalars():
            found[h.idempotency_key] = h
    return found


def _new_view(
    session: Session,
    v: _Validated,
    hid: int,
    code: str,
    account: Account,
    channel: Channel,
    corrects: str | None = None,
) -> HandoverPublic:
    """The view of a handover just recorded, from what the request already holds: the hot
    path of a scan reads nothing back."""
    r = v.row
    return HandoverPublic(
        id=hid,
        code=code,
        status=HandoverStatus.in_transit,
        channel=channel,
        from_site=v.from_site.code,
        to_site=v.to_site.code,
        material=v.material.code,
        declared_mass_kg=float(g_to_kg(r["declared_mass_g"])),
        units=r["declared_units"],
        mass_method=r["mass_method"],
        device_time=r["device_time"],
        day=r["day"],
        recorded_at=r["recorded_at"],
        recorded_by=account.username,
        lat=r["lat"],
        lon=r["lon"],
        scan_distance_m=r["scan_distance_m"],
        flags=["far_scan"] if r["flag_far_scan"] else [],
        corrects=corrects,
        returns=v.returns_code,
        manifest=keys.sign(session, "handover", code),
    )


# --- receipt, cancel, correct --------------------------------------------------------------


def _get(session: Session, hid: int) -> Handover:
    h = session.get(Handover, hid, populate_existing=True)
    assert h is not None
    return h


def _get_many(session: Session, ids: list[int | None]) -> list[Handover]:
    out: list[Handover] = []
    clean = [i for i in ids if i is not None]
    for i in range(0, len(clean), 500):
        out += (
            session.execute(
                sa.select(Handover)
                .where(col(Handover.id).in_(clean[i : i + 500]))
                .execution_options(populate_existing=True)
            )
            .scalars()
            .all()
        )
    return out


# Ids are BIGINT: a longer number names no handover (and would overflow the driver).
_MAX_ID = 2**63 - 1


def get_handover(*, session: Session, ref: str) -> Handover:
    """A handover by its code (``HO-…``) or its numeric id (ASCII digits only: ``³`` or
    ``١٢٣`` is no id, and a number past any id is not found)."""
    stmt = sa.select(Handover)
    if ref.isascii() and ref.isdigit():
        if len(ref) > 19 or int(ref) > _MAX_ID:
            raise NotFound(f"no handover {ref}")
        stmt = stmt.where(col(Handover.id) == int(ref))
    else:
        stmt = stmt.where(col(Handover.code) == ref)
    h = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if h is None:
        raise NotFound(f"no handover {ref}")
    return h


def _state_conflict(h: Handover) -> Conflict:
    if h.status == HandoverStatus.cancelled:
        return Conflict(f"{h.code} was cancelled ({h.cancel_reason}); it cannot change any more")
    if h.status == HandoverStatus.superseded:
        return Conflict(f"{h.code} was corrected and is superseded; act on its correction")
    return Conflict(
        f"{h.code} was already confirmed ({h.status.value}) at "
        f"{h.received_at.isoformat() if h.received_at else '?'}; a handover is "
        "confirmed once (the receiving site may correct its receipt: "
        f"POST /api/v1/handovers/{h.code}/receipt/correct)"
    )


def _move(session: Session, h: Handover, **values: Any) -> dict[str, Any]:
    """Set ``values`` on a handover if its state is still the one read (a conditional UPDATE:
    of two requests racing, the loser gets the state conflict). Returns its row as it was."""
    before = h.model_dump()
    result = session.execute(
        sa.update(Handover)
        .where(col(Handover.id) == h.id, col(Handover.status) == before["status"])
        .values(**values)
    )
    assert isinstance(result, sa.CursorResult)  # an UPDATE's result always is
    if result.rowcount != 1:
        raise _state_conflict(get_handover(session=session, ref=h.code))
    return before


def confirm_receipt(
    *,
    session: Session,
    account: Account,
    ref: str | None = None,
    manifest: str | None = None,
    data: ReceiptCreate,
    idempotency_key: str | None = None,
) -> tuple[HandoverPublic, bool]:
    """Confirm the weighed intake of a load at its receiving site.

    Returns the handover and whether this call confirmed it (False: an identical retry with
    the same Idempotency-Key, answered with the first result).
    """
    require(account.role, Action.confirm_receipt)
    if manifest is not None:
        ref = keys.verify(session, manifest, expected_kind="handover", field="manifest").ident
    assert ref is not None
    digest = receipt_hash(data)
    with unit_of_work(session):
        h = get_handover(session=session, ref=ref)
        if h.to_site_id not in own_sites(session, account):
            raise Forbidden(f"you do not act for the receiving site of {h.code}")
        if h.status != HandoverStatus.in_transit:
            if idempotency_key and h.receipt_key == idempotency_key:
                return _replayed_receipt(session, h, idempotency_key, digest)
            raise _state_conflict(h)
        to_site = session.get(Site, h.to_site_id)
        material = session.get(Material, h.material_id)
        assert to_site is not None and material is not None
        values = _receipt_values(session, h, to_site, material, data)
        values |= {
            "received_by_id": account.id,
            "received_at": utcnow(),
            "receipt_key": idempotency_key,
            "receipt_hash": digest,
        }
        try:
            before = _move(session, h, **values)
        except Conflict:
            # Confirmed meanwhile: by this very request sent twice (a phone's retry racing
            # its first try), which is answered as a replay; or by another, a conflict.
            if idempotency_key:
                now = get_handover(session=session, ref=h.code)
                if now.receipt_key == idempotency_key:
                    return _replayed_receipt(session, now, idempotency_key, digest)
            raise
        deltas = Deltas()
        deltas.add_handover(before, sign=-1)
        deltas.add_handover(before | values)
        deltas.apply(session)
        record_event(
            session,
            account_id=account.id,
            action="handover.receive",
            entity="handover",
            entity_id=h.code,
            before={"status": before["status"]},
            after={k: values[k] for k in _RECEIPT_FIELDS}
            | {"route": data.route, "seal": seal(before | values)},
        )
        assert h.id is not None  # read from the database
        return handover_views(session, [_get(session, h.id)])[0], True


def _replayed_receipt(
    session: Session, h: Handover, key: str, digest: str
) -> tuple[HandoverPublic, bool]:
    """The answer to a receipt sent again with its Idempotency-Key: the first one's, or a
    409 if the key came with other values."""
    if h.receipt_hash != digest:
        raise Conflict(
            f"Idempotency-Key: {key!r} was already used to confirm {h.code} with other values",
            field="Idempotency-Key",
        )
    return handover_views(session, [h])[0], False


def _receipt_values(
    session: Session, h: Handover, to_site: Site, material: Material, data: ReceiptCreate
) -> dict[str, Any]:
    received = kg_to_g(data.received_mass_kg)
    refused = kg_to_g(data.refused_mass_kg)
    if refused > received:
        raise Invalid("refused_mass_kg: cannot exceed received_mass_kg", field="refused_mass_kg")
    if refused and not data.refusal_reason:
        raise Invalid("refusal_reason: say why mass was refused", field="refusal_reason")
    if not refused and data.refusal_reason:
        raise Invalid("refusal_reason: nothing was refused", field="refusal_reason")
    if data.received_mass_kg > Decimal(str(material.max_load_kg)):
        raise Invalid(
            f"received_mass_kg: above the plausibility cap of {material.max_load_kg:g} "
            f"kg for one load of {material.name_zh}",
            field="received_mass_kg",
        )
    accepted = received - refused
    route_id = None
    if to_site.kind in TREATING_KINDS and accepted > 0:
        if not data.route:
            raise Invalid(
                f"route: {to_site.code} treats what it accepts; name the treatment route",
                field="route",
            )
        # What the material may become comes before what this plant does: "film composted"
        # is refused whatever the site says it operates.
        route = material_route(session, material, data.route)
        operated = list(
            session.execute(
                sa.select(col(TreatmentRoute.code))
                .join(SiteRoute, col(SiteRoute.route_id) == TreatmentRoute.id)
                .where(col(SiteRoute.site_id) == to_site.id)
                .order_by(col(TreatmentRoute.code))
            ).scalars()
        )
        if route.code not in operated:
            raise Invalid(
                f"route: {to_site.code} does not operate route {data.route!r}; "
                f"it operates {', '.join(operated) or 'none'}",
                field="route",
            )
        route_id = route.id
    elif data.route:
        why = (
            "nothing was accepted"
            if to_site.kind in TREATING_KINDS
            else f"{to_site.code} is a {to_site.kind.value}, which does not treat material"
        )
        raise Invalid(f"route: {why}", field="route")
    units = data.received_units
    if material.counts_units:
        units = h.declared_units if units is None else units
    elif units is not None:
        raise Invalid(
            f"received_units: {material.code} is not counted in units", field="received_units"
        )
    status = (
        HandoverStatus.received
        if refused == 0
        else HandoverStatus.refused
        if accepted == 0
        else HandoverStatus.partially_refused
    )
    tolerance = get_settings().receipt_tolerance
    return {
        "status": status,
        "received_mass_g": received,
        "refused_mass_g": refused,
        "accepted_mass_g": accepted,
        "received_units": units,
        "refusal_reason": data.refusal_reason,
        "route_id": route_id,
        "flag_discrepancy": abs(received - h.declared_mass_g) > tolerance * h.declared_mass_g,
    }


def _withdraw(
    session: Session, h: Handover, status: HandoverStatus, account: Account, reason: str | None
) -> str:
    """Take an in-transit handover out of the totals (cancelled or superseded); return the
    seal of the row it leaves."""
    values: dict[str, Any] = {"status": status}
    if status == HandoverStatus.cancelled:
        values |= {"cancelled_at": utcnow(), "cancelled_by_id": account.id, "cancel_reason": reason}
    before = _move(session, h, **values)
    deltas = Deltas()
    deltas.add_handover(before, sign=-1)
    deltas.apply(session)
    return seal(before | values)


def _check_author(h: Handover, account: Account, what: str) -> None:
    if h.recorded_by_id != account.id:
        raise Forbidden(f"only the account that recorded {h.code} may {what} it")
    if h.status != HandoverStatus.in_transit:
        raise _state_conflict(h)


def cancel_handover(*, session: Session, account: Account, ref: str, reason: str) -> HandoverPublic:
    """The author withdraws a load before it is received, saying why."""
    require(account.role, Action.cancel_handover)
    with unit_of_work(session):
        h = get_handover(session=session, ref=ref)
        _check_author(h, account, "cancel")
        before = {"status": h.status}
        sealed = _withdraw(session, h, HandoverStatus.cancelled, account, reason)
        record_event(
            session,
            account_id=account.id,
            action="handover.cancel",
            entity="handover",
            entity_id=h.code,
            before=before,
            after={"status": HandoverStatus.cancelled, "reason": reason, "seal": sealed},
        )
        assert h.id is not None  # read from the database
        return handover_views(session, [_get(session, h.id)])[0]


def correct_handover(
    *, session: Session, account: Account, ref: str, data: HandoverCreate, idempotency_key: str
) -> tuple[HandoverPublic, bool]:
    """Replace an in-transit handover by a corrected one that names it."""
    require(account.role, Action.record_handover)
    digest = request_hash(data)
    for _attempt in range(2):
        try:
            return _correct_once(session, account, ref, data, idempotency_key, digest)
        except _KeyTakenMeanwhile:
            # Another request took the key between our look-up and our insert (a retry, or
            # another correction with the same key): its row is committed now, so the next
            # attempt answers as a replay, or 409 if it was for another handover or body.
            continue
    raise Conflict(
        f"Idempotency-Key: {idempotency_key!r} is being used by another request; retry",
        field="Idempotency-Key",
    )


class _KeyTakenMeanwhile(Exception):
    """The insert found its idempotency key taken by a request that committed meanwhile."""


def _correct_once(
    session: Session,
    account: Account,
    ref: str,
    data: HandoverCreate,
    idempotency_key: str,
    digest: str,
) -> tuple[HandoverPublic, bool]:
    with unit_of_work(session):
        h = get_handover(session=session, ref=ref)
        assert account.id is not None  # an authenticated account is a stored row
        existing = _by_key(session, account.id, idempotency_key)
        if existing is not None:
            _replay(existing, digest, idempotency_key)
            if existing.corrects_id != h.id:
                raise Conflict(
                    f"Idempotency-Key: {idempotency_key!r} was used for another handover",
                    field="Idempotency-Key",
                )
            return handover_views(session, [existing])[0], False
        _check_author(h, account, "correct")
        validated = _validate(_Lookups(session, account), data)
        before = {"status": h.status}
        sealed = _withdraw(session, h, HandoverStatus.superseded, account, None)
        inserted = _record_rows(
            session, account, [(idempotency_key, digest, validated)], Channel.api, corrects=h
        )
        if idempotency_key not in inserted:
            raise _KeyTakenMeanwhile  # rolls back the withdrawal above
        new_id, new_code = inserted[idempotency_key]
        record_event(
            session,
            account_id=account.id,
            action="handover.supersede",
            entity="handover",
            entity_id=h.code,
            before=before,
            after={"status": HandoverStatus.superseded, "corrected_by": new_code, "seal": sealed},
        )
        return _new_view(
            session, validated, new_id, new_code, account, Channel.api, corrects=h.code
        ), True


# Load fields a receipt correction carries over unchanged from the record it corrects.
_LOAD_FIELDS = (
    "request_hash",
    "channel",
    "from_site_id",
    "to_site_id",
    "material_id",
    "declared_mass_g",
    "declared_units",
    "mass_method",
    "device_time",
    "day",
    "recorded_at",
    "recorded_by_id",
    "lat",
    "lon",
    "scan_distance_m",
    "plaque_kid",
    "flag_far_scan",
    "returns_id",
    "returns_sender_id",
)


def correct_receipt(
    *,
    session: Session,
    account: Account,
    ref: str,
    data: ReceiptCorrection,
    idempotency_key: str | None = None,
) -> tuple[HandoverPublic, bool]:
    """Correct a confirmed receipt: a new handover carries the same load with the corrected
    intake and names the one it corrects, which becomes ``superseded``.

    Only an account acting for the receiving site may do it, only on the newest record of a
    chain, and with a reason. The totals move by the difference in the same transaction.
    Returns the new handover and whether this call made it (False: an identical retry with
    the same Idempotency-Key).
    """
    require(account.role, Action.confirm_receipt)
    digest = receipt_hash(data)
    with unit_of_work(session):
        h = get_handover(session=session, ref=ref)
        if h.to_site_id not in own_sites(session, account):
            raise Forbidden(f"you do not act for the receiving site of {h.code}")
        if h.status == HandoverStatus.superseded and idempotency_key:
            replay = _replayed_correction(session, h, idempotency_key, digest)
            if replay is not None:
                return replay
        if h.status == HandoverStatus.in_transit:
            raise Conflict(
                f"{h.code} has not been received yet: confirm its receipt "
                f"(POST /api/v1/handovers/{h.code}/receipt)"
            )
        if h.status in WITHDRAWN:
            raise _state_conflict(h)
        returned = (
            session.execute(
                sa.select(col(Handover.code)).where(
                    col(Handover.returns_id) == h.id, col(Handover.status).not_in(WITHDRAWN)
                )
            )
            .scalars()
            .all()
        )
        if returned:
            raise Conflict(
                f"{h.code}'s refused mass was already sent back by {', '.join(returned)}; "
                "its receipt can no longer be corrected"
            )
        to_site = session.get(Site, h.to_site_id)
        material = session.get(Material, h.material_id)
        assert to_site is not None and material is not None and h.id is not None
        values = _receipt_values(session, h, to_site, material, data)
        old = {c: getattr(h, c) for c in (*_LOAD_FIELDS, *_RECEIPT_FIELDS, "route_id")}
        entered = ("received_mass_g", "refused_mass_g", "received_units", "refusal_reason")
        same = all(values[c] == old[c] for c in (*entered, "route_id"))
        if same:
            raise Invalid(
                f"{h.code}'s receipt already says this; a correction must change something",
                field="received_mass_kg",
            )
        try:
            superseded = _move(session, h, status=HandoverStatus.superseded)
        except Conflict:
            # Corrected meanwhile: by this request sent twice (answered as a replay), or not.
            if idempotency_key:
                replay = _replayed_correction(session, h, idempotency_key, digest)
                if replay is not None:
                    return replay
            raise
        row = {c: old[c] for c in _LOAD_FIELDS} | values
        row |= {
            # One correction per record (the UPDATE above), so this key is unique for the
            # author of the load, whose record the new handover stays.
            "idempotency_key": f"receipt-correction:{h.code}",
            "corrects_id": h.id,
            "received_by_id": account.id,
            "received_at": utcnow(),
            "receipt_key": idempotency_key,
            "receipt_hash": digest,
        }
        new_id, new_code = next(iter(_insert(session, [row]).values()))
        deltas = Deltas()
        deltas.add_handover(old, sign=-1)
        deltas.add_handover(row)
        deltas.apply(session)
        change = {"corrected_by": new_code, "reason": data.reason}
        record_events(
            session,
            [
                {
                    "account_id": account.id,
                    "action": "handover.supersede",
                    "entity": "handover",
                    "entity_id": h.code,
                    "at": row["received_at"],
                    "before": {"status": old["status"]},
                    "after": {"status": HandoverStatus.superseded}
                    | change
                    | {"seal": seal(superseded | {"status": HandoverStatus.superseded})},
                },
                {
                    "account_id": account.id,
                    "action": "handover.receipt_correct",
                    "entity": "handover",
                    "entity_id": new_code,
                    "at": row["received_at"],
                    "before": {c: old[c] for c in _RECEIPT_FIELDS}
                    | {"route_id": old["route_id"], "handover": h.code},
                    "after": {c: values[c] for c in _RECEIPT_FIELDS}
                    | {
                        "route": data.route,
                        "corrects": h.code,
                        "reason": data.reason,
                        "seal": seal(row),
                    },
                },
            ],
        )
        return handover_views(session, [_get(session, new_id)])[0], True


def _replayed_correction(
    session: Session, h: Handover, key: str, digest: str
) -> tuple[HandoverPublic, bool] | None:
    """The answer to a receipt correction sent again with its key (the correction it made),
    a 409 if the key came with other values, or None if another request corrected it."""
    successor = session.execute(
        sa.select(Handover)
        .where(col(Handover.corrects_id) == h.id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if successor is None or successor.receipt_key != key:
        return None
    if successor.receipt_hash != digest:
        raise Conflict(
            f"Idempotency-Key: {key!r} was already used to correct {h.code} with other values",
            field="Idempotency-Key",
        )
    return handover_views(session, [successor])[0], False


# --- reading -------------------------------------------------------------------------------


def can_read(session: Session, account: Account, h: Handover) -> bool:
    if allowed(account.role, Action.read_all_records):
        return True
    if account.id in (h.recorded_by_id, h.received_by_id):
        return True
    mine = acting_sites(session, account)
    return h.from_site_id in mine or h.to_site_id in mine


def _labels(
    session: Session, key: Any, label: Any, pairs: Iterable[tuple[int | None, int | None]]
) -> dict[int | None, str]:
    """id → label (code, username) of the ids the rows name, in one query (none if none)."""
    ids = {i for pair in pairs for i in pair if i is not None}
    if not ids:
        return {}
    return dict(session.execute(sa.select(col(key), col(label)).where(col(key).in_(ids))).all())  # type: ignore[arg-type]


def handover_views(
    session: Session, rows: Sequence[Handover], with_manifest: bool = True
) -> list[HandoverPublic]:
    """Public views of handovers, with a handful of queries whatever their number."""
    if not rows:
        return []
    sites = _labels(session, Site.id, Site.code, [(r.from_site_id, r.to_site_id) for r in rows])
    materials = dict(session.execute(sa.select(col(Material.id), col(Material.code))).all())
    routes = dict(
        session.execute(sa.select(col(TreatmentRoute.id), col(TreatmentRoute.code))).all()
    )
    names = _labels(
        session, Account.id, Account.username, [(r.recorded_by_id, r.received_by_id) for r in rows]
    )
    codes = _labels(
        session, Handover.id, Handover.code, [(r.corrects_id, r.returns_id) for r in rows]
    )
    out = []
    for r in rows:
        flags = [
            f
            for f, on in (("far_scan", r.flag_far_scan), ("mass_discrepancy", r.flag_discrepancy))
            if on
        ]
        assert r.id is not None
        out.append(
            HandoverPublic(
                id=r.id,
                code=r.code,
                status=r.status,
                channel=r.channel,
                from_site=sites[r.from_site_id],
                to_site=sites[r.to_site_id],
                material=materials[r.material_id],
                declared_mass_kg=float(g_to_kg(r.declared_mass_g)),
                units=r.declared_units,
                mass_method=r.mass_method,
                device_time=r.device_time,
                day=r.day,
                recorded_at=r.recorded_at,
                recorded_by=names.get(r.recorded_by_id),
                lat=r.lat,
                lon=r.lon,
                scan_distance_m=r.scan_distance_m,
                flags=flags,
                received_mass_kg=_kg(r.received_mass_g),
                refused_mass_kg=_kg(r.refused_mass_g),
                accepted_mass_kg=_kg(r.accepted_mass_g),
                received_units=r.received_units,
                refusal_reason=r.refusal_reason,
                route=routes.get(r.route_id),
                received_at=r.received_at,
                received_by=names.get(r.received_by_id),
                cancelled_at=r.cancelled_at,
                cancel_reason=r.cancel_reason,
                corrects=codes.get(r.corrects_id),
                returns=codes.get(r.returns_id),
                manifest=keys.sign(session, "handover", r.code) if with_manifest else None,
            )
        )
    return out


def _kg(grams: int | None) -> float | None:
    return None if grams is None else float(g_to_kg(grams))


def read_handover(*, session: Session, account: Account, ref: str) -> HandoverPublic:
    h = get_handover(session=session, ref=ref)
    if not can_read(session, account, h):
        raise Forbidden(f"you may not read {h.code}: it does not touch a site you act for")
    return handover_views(session, [h])[0]


def history(*, session: Session, account: Account, ref: str) -> dict[str, Any]:
    """A handover with every audit event of it, and the records that name it."""
    from wasteflow.services import audit

    h = get_handover(session=session, ref=ref)
    if not can_read(session, account, h):
        raise Forbidden(f"you may not read {h.code}: it does not touch a site you act for")
    events = audit.history(session, entity="handover", entity_id=h.code)
    names = _labels(session, Account.id, Account.username, [(e.account_id, None) for e in events])
    successors = session.execute(
        sa.select(col(Handover.code), col(Handover.corrects_id), col(Handover.returns_id)).where(
            sa.or_(col(Handover.corrects_id) == h.id, col(Handover.returns_id) == h.id)
        )
    ).all()
    return {
        "handover": handover_views(session, [h])[0],
        "events": [
            {
                "id": e.id,
                "at": e.at,
                "account": names.get(e.account_id),
                "action": e.action,
                "before": e.before,
                "after": e.after,
                "hash": e.hash,
            }
            for e in events
        ],
        "corrected_by": next((c for c, cid, _ in successors if cid == h.id), None),
        "returned_by": [c for c, _, rid in successors if rid == h.id],
    }


def count_register(*, session: Session, account: Account, **filters: Any) -> int:
    """How many handovers the register with these filters holds for the account."""
    query = register_query(session=session, account=account, **filters)
    return int(
        session.execute(
            sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        ).scalar_one()
    )


def register_query(
    *,
    session: Session,
    account: Account,
    start: date | None = None,
    end: date | None = None,
    township: str | None = None,
    site: str | None = None,
    material: str | None = None,
    status: HandoverStatus | None = None,
    flag: str | None = None,
) -> sa.Select[Handover]:
    """The register's query: filtered, and limited to what the account may read.

    ``flag``: ``far_scan`` or ``mass_discrepancy`` (the handovers flagged so).
    """
    from wasteflow.services.catalogue import region_and_descendants

    stmt = sa.select(Handover)
    if start:
        stmt = stmt.where(col(Handover.day) >= start)
    if end:
        stmt = stmt.where(col(Handover.day) <= end)
    if status:
        stmt = stmt.where(col(Handover.status) == status)
    if flag:
        column = {
            "far_scan": col(Handover.flag_far_scan),
            "mass_discrepancy": col(Handover.flag_discrepancy),
        }
        if flag not in column:
            raise Invalid(f"flag: {flag!r} is not far_scan or mass_discrepancy", field="flag")
        stmt = stmt.where(column[flag].is_(True))
    if material:
        mid = session.execute(
            sa.select(col(Material.id)).where(col(Material.code) == material)
        ).scalar()
        if mid is None:
            raise Invalid(f"material: unknown material code {material!r}", field="material")
        stmt = stmt.where(col(Handover.material_id) == mid)
    if site:
        sid = session.execute(sa.select(col(Site.id)).where(col(Site.code) == site)).scalar()
        if sid is None:
            raise Invalid(f"site: no site with code {site!r}", field="site")
        stmt = stmt.where(
            sa.or_(col(Handover.from_site_id) == sid, col(Handover.to_site_id) == sid)
        )
    if township:
        in_region = sa.select(col(Site.id)).where(
            col(Site.region_id).in_(region_and_descendants(session, township, "township"))
        )
        stmt = stmt.where(
            sa.or_(
                col(Handover.from_site_id).in_(in_region),
                col(Handover.to_site_id).in_(in_region),
            )
        )
    if not allowed(account.role, Action.read_all_records):
        mine = list(acting_sites(session, account))
        stmt = stmt.where(
            sa.or_(
                col(Handover.from_site_id).in_(mine),
                col(Handover.to_site_id).in_(mine),
                col(Handover.recorded_by_id) == account.id,
                col(Handover.received_by_id) == account.id,
            )
        )
    return stmt


def list_handovers(
    *,
    session: Session,
    account: Account,
    limit: int = 50,
    offset: int = 0,
    **filters: Any,
) -> dict[str, Any]:
    """The handover register: filtered, newest first, paginated; limited to what one may read.

    Filters: ``start``, ``end`` (days, inclusive), ``township`` (a region code), ``site``,
    ``material``, ``status``.
    """
    stmt = register_query(session=session, account=account, **filters)
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = (
        session.execute(stmt.order_by(col(Handover.id).desc()).limit(limit).offset(offset))
        .scalars()
        .all()
    )
    return {
        "items": handover_views(session, rows, with_manifest=False),
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def iter_register(
    *, session: Session, account: Account, batch: int = 2000, **filters: Any
) -> Iterator[HandoverPublic]:
    """Every handover of the register, oldest first, read in batches by id (for exports)."""
    stmt = register_query(session=session, account=account, **filters)
    last = 0
    while True:
        rows = (
            session.execute(
                stmt.where(col(Handover.id) > last).order_by(col(Handover.id)).limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from handover_views(session, rows, with_manifest=False)
        last = rows[-1].id
