"""The demo district as the simulator sees it, and what a realistic scan holds.

Everything here is read through the API (``discover``) or drawn from a seeded random generator
(material, mass, position, device time); nothing touches the server's code or database.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from mobile_stub.client import Api

DISTRICT_TZ = ZoneInfo("Asia/Shanghai")
# Relative frequency of what a household cluster hands over (codes absent from a site are
# simply not drawn).
MATERIAL_WEIGHTS = {"film.agri": 4.0, "hh.recyclable": 3.0, "hh.other": 2.0, "hh.kitchen": 1.0}
FAMILY_WEIGHTS = {"rec": 2.0, "appliance": 0.5, "hh": 0.2}
# Median kg and spread (lognormal sigma) of one handover from a source, by material family.
TYPICAL_KG = {
    "film.agri": (18.0, 0.6),
    "hh.recyclable": (25.0, 0.6),
    "hh.other": (60.0, 0.5),
    "hh.kitchen": (30.0, 0.5),
    "hh.hazardous": (1.5, 0.6),
    "rec": (12.0, 0.8),
}
OFFLINE_STRETCH = (1, 6)  # scans made without signal once it is lost
FAR_SCAN_CHANCE = 0.01


@dataclass(frozen=True)
class SiteInfo:
    """A site as the API lists it, reduced to what the simulator uses."""

    code: str
    kind: str
    region_code: str
    township_code: str | None
    lat: float | None
    lon: float | None
    materials: tuple[str, ...]
    routes: tuple[str, ...]

    @classmethod
    def of(cls, s: dict[str, Any]) -> SiteInfo:
        return cls(
            s["code"],
            s["kind"],
            s["region_code"],
            s.get("township_code"),
            s.get("lat"),
            s.get("lon"),
            tuple(s.get("materials", ())),
            tuple(s.get("routes", ())),
        )


@dataclass(frozen=True)
class Pickup:
    """A source a collector visits, the collection point it goes to, what it may hand over."""

    source: SiteInfo
    point: SiteInfo
    materials: tuple[str, ...]


@dataclass
class District:
    """What the simulation learnt from the server about sites and accounts."""

    rounds: dict[str, list[Pickup]]  # collector → pickups
    owners: dict[str, str]  # site code → the account that confirms intake there
    processor_for: dict[str, SiteInfo]  # material → processor that takes it
    materials: dict[str, dict[str, Any]]
    sites: dict[str, SiteInfo]


# --- discovery --------------------------------------------------------------------------------


def _sites(api: Api, **params: Any) -> list[SiteInfo]:
    return [SiteInfo.of(s) for s in api.pages("/sites", **params)]


def discover(
    api: Api, n_collectors: int, rng: random.Random, only: list[str] | None = None
) -> District:
    """Read the district through the API as an admin: collectors' rounds, who confirms where,
    which processor takes which material.

    A collector's sources are the source sites bound to its account, plus, for a demo round
    ``RD-<village code>``, the sources of that village (the API does not list round members).
    """
    accounts = [a for a in api.get_json("/accounts") if a.get("active", True)]
    owners: dict[str, str] = {}
    for a in sorted(accounts, key=lambda a: a["username"]):
        if a["role"] in ("site_operator", "processor"):
            for code in a["sites"]:
                owners.setdefault(code, a["username"])
    collectors = sorted(
        (a for a in accounts if a["role"] == "collector"), key=lambda a: a["username"]
    )
    if not collectors:
        raise ValueError("the server has no collector accounts: is the demo loaded?")
    if only:
        known = {a["username"]: a for a in collectors}
        missing = [u for u in only if u not in known]
        if missing:
            raise ValueError(f"not collector accounts on this server: {', '.join(missing)}")
        chosen = [known[u] for u in only]
    else:
        chosen = rng.sample(collectors, min(n_collectors, len(collectors)))
    sites: dict[str, SiteInfo] = {}
    points_in: dict[str, list[SiteInfo]] = {}
    rounds: dict[str, list[Pickup]] = {}
    for a in chosen:
        sources = [SiteInfo.of(api.get_json(f"/sites/{code}")) for code in a["sites"]]
        for r in a["rounds"]:
            if r.startswith("RD-"):
                sources += _sites(api, region=r[3:], kind="source")
        pickups = []
        for src in sources:
            if src.kind != "source":
                continue
            if src.region_code not in points_in:
                points_in[src.region_code] = _sites(
                    api, region=src.region_code, kind="collection_point"
                )
            for point in points_in[src.region_code]:
                common = tuple(m for m in src.materials if m in point.materials)
                if common and point.code in owners:
                    pickups.append(Pickup(src, point, common))
                    sites[src.code], sites[point.code] = src, point
                    break
        if pickups:
            rounds[a["username"]] = pickups
    if not rounds:
        raise ValueError("none of the chosen collectors has a source with a collection point")
    processor_for: dict[str, SiteInfo] = {}
    for m in sorted({m for ps in rounds.values() for p in ps for m in p.materials}):
        for proc in _sites(api, kind="processor", material=m):
            if proc.code in owners and proc.routes:
                processor_for[m] = proc
                sites[proc.code] = proc
                break
    materials = {m["code"]: m for m in api.get_json("/materials")}
    return District(rounds, owners, processor_for, materials, sites)


# --- what a scan holds --------------------------------------------------------------------


def pick_material(codes: Iterable[str], rng: random.Random) -> str:
    """A material a source hands over, by how often each kind comes up."""
    codes = list(codes)
    weights = [MATERIAL_WEIGHTS.get(c, FAMILY_WEIGHTS.get(c.split(".")[0], 1.0)) for c in codes]
    return rng.choices(codes, weights=weights)[0]


def typical_mass(
    code: str, material: dict[str, Any], rng: random.Random
) -> tuple[Decimal, int | None]:
    """A plausible (kg, units) for one handover from a source, to 0.1 kg like a field scale."""
    cap = float(material["max_handover_kg"]) * 0.9
    if material.get("counts_units"):
        units = rng.randint(1, 3)
        unit_kg = float(material.get("unit_mass_kg") or 20)
        kg = units * unit_kg * rng.uniform(0.85, 1.15)
    else:
        units = None
        median, sigma = TYPICAL_KG.get(code, TYPICAL_KG.get(code.split(".")[0], (40.0, 0.6)))
        kg = rng.lognormvariate(math.log(median), sigma)
    kg = min(max(kg, 0.1), cap)
    return Decimal(str(round(kg, 1))), units


def near(site: SiteInfo, rng: random.Random) -> tuple[float | None, float | None]:
    """Where the phone was: within tens of metres of the site, now and then far off."""
    if site.lat is None or site.lon is None:
        return None, None
    metres = 800.0 if rng.random() < FAR_SCAN_CHANCE else 30.0
    dlat = rng.gauss(0, metres) / 111_000
    dlon = rng.gauss(0, metres) / (111_000 * math.cos(math.radians(site.lat)))
    return round(site.lat + dlat, 6), round(site.lon + dlon, 6)


def device_time(day: date, hour: float, rng: random.Random) -> datetime:
    """``hour`` (fractional, local) of ``day``; never ahead of the clock (today's late scans
    move to just before now)."""
    at = datetime.combine(day, datetime.min.time(), tzinfo=DISTRICT_TZ) + timedelta(hours=hour)
    now = datetime.now(DISTRICT_TZ)
    if at > now:
        at = now - timedelta(seconds=rng.uniform(30, 3600))
    return at.replace(microsecond=0)
