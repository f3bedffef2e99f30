"""Builders for test data, through the real services. Codes are unique per call, so tests that
share a database never see each other's rows."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from sqlmodel import Session

from wasteflow.models import Account
from wasteflow.schemas import AccountCreate, SiteCreate, SitePublic
from wasteflow.services.accounts import create_account as _create_account
from wasteflow.services.accounts import get_account, login
from wasteflow.services.sites import create_site
from wasteflow.types import Role, SiteKind, utcnow

PASSWORD = "correct horse battery"
_seq = itertools.count(1)
RUN = secrets.token_hex(2).upper()

# A village of 白马镇 and the town itself (reference data).
VILLAGE = "500156101201"
TOWNSHIP = "500156101"
BAIMA = (29.408, 107.552)


def unique(prefix: str) -> str:
    return f"{prefix}-{RUN}{next(_seq):05d}"


@dataclass
class Actor:
    account: Account
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_account(
    session: Session,
    role: Role = Role.collector,
    sites: list[str] = (),  # type: ignore[assignment]
    rounds: list[str] = (),
    username: str | None = None,
) -> Actor:  # type: ignore[assignment]
    username = username or unique(role.value).lower()
    _create_account(
        session=session,
        actor=None,
        data=AccountCreate(
            username=username,
            display_name=f"test {role.value}",
            role=role,
            password=PASSWORD,
            sites=list(sites),
            rounds=list(rounds),
        ),
    )
    token, _, _ = login(session=session, username=username, password=PASSWORD)
    return Actor(get_account(session=session, username=username), token)


_admins: dict[int, tuple[str, str]] = {}


def admin(session: Session) -> Actor:
    """One admin per database, created on first use (its account loaded in ``session``)."""
    key = id(session.get_bind())
    if key not in _admins:
        actor = make_account(session, Role.admin)
        _admins[key] = (actor.account.username, actor.token)
    username, token = _admins[key]
    return Actor(get_account(session=session, username=username), token)


def make_site(
    session: Session,
    kind: SiteKind = SiteKind.collection_point,
    *,
    materials: list[str] = ("film.agri",),
    routes: list[str] | None = None,  # type: ignore[assignment]
    region_code: str = VILLAGE,
    pos: tuple[float, float] | None = BAIMA,
    capacity_kg: float | None = None,
    active: bool = True,
) -> SitePublic:
    if routes is None:
        routes = ["recycling"] if kind in (SiteKind.processor, SiteKind.disposal) else []
    prefix = {
        SiteKind.source: "SRC",
        SiteKind.collection_point: "CP",
        SiteKind.transfer_station: "TS",
        SiteKind.processor: "PR",
        SiteKind.disposal: "DS",
    }[kind]
    return create_site(
        session=session,
        actor=admin(session).account,
        data=SiteCreate(
            code=unique(prefix),
            name=f"test {kind.value}",
            kind=kind,
            region_code=region_code,
            lat=pos[0] if pos else None,
            lon=pos[1] if pos else None,
            materials=list(materials),
            routes=routes,
            capacity_kg=capacity_kg,
            active=active,
        ),
    )[0]


@dataclass
class Network:
    """A small chain: a source on a collector's round → a collection point → a processor."""

    source: SitePublic
    source2: SitePublic
    cp: SitePublic
    processor: SitePublic
    collector: Actor
    operator: Actor
    processor_account: Actor
    plaque: str  # the source's signed plaque payload
    cp_plaque: str

    def body(self, **over: object) -> dict[str, object]:
        """A valid handover body from the source to the collection point."""
        body: dict[str, object] = {
            "source_plaque": self.plaque,
            "to_site": self.cp.code,
            "material": "film.agri",
            "declared_mass_kg": 12.5,
            "mass_method": "weighed",
            "device_time": utcnow().isoformat(),
            "lat": BAIMA[0],
            "lon": BAIMA[1],
        }
        return body | over


def make_network(session: Session) -> Network:
    from wasteflow.models import CollectionRound, RoundSite
    from wasteflow.services import keys

    materials = ["film.agri", "appliance.tv", "straw.maize"]
    source = make_site(session, SiteKind.source, materials=materials)
    source2 = make_site(session, SiteKind.source, materials=materials)
    cp = make_site(session, SiteKind.collection_point, materials=materials)
    processor = make_site(
        session,
        SiteKind.processor,
        materials=materials,
        routes=["recycling", "dismantling", "compost"],
    )
    rnd = CollectionRound(code=unique("RD"), name="test round", collection_point_id=cp.id)
    session.add(rnd)
    session.flush()
    session.add(RoundSite(round_id=rnd.id, site_id=source.id))  # type: ignore[arg-type]
    session.commit()
    return Network(
        source=source,
        source2=source2,
        cp=cp,
        processor=processor,
        collector=make_account(session, Role.collector, rounds=[rnd.code]),
        operator=make_account(session, Role.site_operator, sites=[cp.code]),
        processor_account=make_account(session, Role.processor, sites=[processor.code]),
        plaque=keys.sign(session, "site", source.code),
        cp_plaque=keys.sign(session, "site", cp.code),
    )
