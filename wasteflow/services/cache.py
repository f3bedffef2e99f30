"""Short-lived, per-process caches of what every scan reads but what rarely changes.

A collector's phone sends hundreds of handovers a day and each one needs the same material,
the same two sites and the same account; reading them again for every request is most of a
request's cost. Entries live ``WASTEFLOW_CACHE_TTL_S`` seconds (30 by default; bearer tokens
5): a change made by this process drops the entry at once, a change made by another worker
process is seen within that time. Keys include the database (``wasteflow.state.db_key``), so
two databases in one process (the tests) never share entries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow import state
from wasteflow.config import get_settings
from wasteflow.models import Material, Site, SiteMaterial, TreatmentRoute
from wasteflow.types import Indicator, RouteClass, SiteKind

T = TypeVar("T")
TOKEN_TTL_S = 5.0


class TTLCache:
    """A dict whose entries expire; safe to share between the server's threads."""

    def __init__(self, ttl_s: float | None = None, max_entries: int = 50_000):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        state.register(self)

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The cached value, or ``load()``'s (cached unless it is None)."""
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if value is not None:
            ttl = self.ttl_s if self.ttl_s is not None else get_settings().cache_ttl_s
            with self._lock:
                if len(self._data) >= self.max_entries:
                    self._data.clear()  # crude but bounded; refills from the database
                self._data[key] = (now + ttl, value)
        return value

    def drop(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


@dataclass(frozen=True, slots=True)
class MaterialRef:
    id: int
    code: str
    name_zh: str
    name_en: str
    indicator: Indicator
    counts_units: bool
    max_handover_kg: float
    max_load_kg: float
    routes: tuple[str, ...] = ()  # the treatment routes it may be treated under


@dataclass(frozen=True, slots=True)
class RouteRef:
    id: int
    code: str
    name_zh: str
    name_en: str
    route_class: RouteClass


@dataclass(frozen=True, slots=True)
class SiteRef:
    id: int
    code: str
    kind: SiteKind
    active: bool
    lat: float | None
    lon: float | None
    region_id: int
    accepts: frozenset[int]


materials_cache = TTLCache()
routes_cache = TTLCache()
sites_cache = TTLCache()
acting_cache = TTLCache()
tokens_cache = TTLCache(ttl_s=TOKEN_TTL_S)


def _db(session: Session) -> int:
    return state.db_key(session.get_bind())


def materials(session: Session) -> dict[str, MaterialRef]:
    """Every material by code."""

    def load() -> dict[str, MaterialRef]:
        return {
            m.code: MaterialRef(
                m.id,
                m.code,
                m.name_zh,
                m.name_en,
                m.indicator,
                m.counts_units,
                m.max_handover_kg,
                m.max_load_kg,
                material_routes(m),
            )
            for m in session.execute(sa.select(Material)).scalars()
        }

    return materials_cache.get(_db(session), load)


def material_routes(material: Material) -> tuple[str, ...]:
    """The codes of the treatment routes a material may be treated under, as the reference
    loader stored them (``attributes.routes``); empty if the database's reference data predates
    the lists (run ``wasteflow load-reference``)."""
    return tuple((material.attributes or {}).get("routes") or ())


def routes(session: Session) -> dict[str, RouteRef]:
    """Every treatment route by code."""

    def load() -> dict[str, RouteRef]:
        return {
            r.code: RouteRef(r.id, r.code, r.name_zh, r.name_en, r.route_class)
            for r in session.execute(sa.select(TreatmentRoute)).scalars()
        }

    return routes_cache.get(_db(session), load)


def sites(session: Session, codes: list[str]) -> dict[str, SiteRef]:
    """The sites with these codes that exist (unknown codes are simply absent, never cached)."""
    db = _db(session)
    found: dict[str, SiteRef] = {}
    missing = []
    for code in dict.fromkeys(codes):
        ref = sites_cache.get((db, code), lambda: None)
        if ref is None:
            missing.append(code)
        else:
            found[code] = ref
    for i in range(0, len(missing), 500):
        chunk = missing[i : i + 500]
        rows = session.execute(sa.select(Site).where(col(Site.code).in_(chunk))).scalars().all()
        accepts: dict[int, set[int]] = {s.id: set() for s in rows}
        if rows:
            for sid, mid in session.execute(
                sa.select(col(SiteMaterial.site_id), col(SiteMaterial.material_id)).where(
                    col(SiteMaterial.site_id).in_(list(accepts))
                )
            ):
                accepts[sid].add(mid)
        for s in rows:
            ref = SiteRef(
                s.id,
                s.code,
                s.kind,
                s.active,
                s.lat,
                s.lon,
                s.region_id,
                frozenset(accepts[s.id]),
            )
            found[s.code] = _remember_site(db, ref)
    return found


def _remember_site(db: int, ref: SiteRef) -> SiteRef:
    """The entry another thread cached meanwhile, if any, else ``ref`` (now cached)."""
    return sites_cache.get((db, ref.code), lambda: ref)


def forget_site(session: Session, code: str) -> None:
    sites_cache.drop((_db(session), code))


def acting(session: Session, account_id: int, load: Callable[[], frozenset[int]]) -> frozenset[int]:
    return acting_cache.get((_db(session), account_id), load)


def forget_acting(session: Session, account_id: int) -> None:
    acting_cache.drop((_db(session), account_id))


def forget_acting_all() -> None:
    """After a round changed: whose sources are whose is read afresh (every account)."""
    acting_cache.clear()


def token(session: Session, digest: str, load: Callable[[], Any]) -> Any:
    return tokens_cache.get((_db(session), digest), load)


def forget_token(session: Session, digest: str) -> None:
    tokens_cache.drop((_db(session), digest))


def forget_account(session: Session, account_id: int, digests: list[str]) -> None:
    """After an account changed (disabled, role, sites, password): its tokens' cached copies
    of it and the sites it acts for are read afresh by this process's next request."""
    db = _db(session)
    for digest in digests:
        tokens_cache.drop((db, digest))
    acting_cache.drop((db, account_id))


def clear_all() -> None:
    """After the reference data changed: read everything afresh (every cache of the
    process, see ``wasteflow.state``)."""
    state.reset()
