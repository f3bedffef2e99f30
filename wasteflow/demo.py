"""The demo district: a synthetic year of 武隆区, generated from a fixed seed.

Everything here is invented and labelled so: ``meta.dataset`` says ``synthetic``, every site
and organisation has ``synthetic=true``, every handover has ``channel='demo-synthetic'`` and
every declaration ``synthetic=true``; names carry （示例）/ "(demo)".

The generator simulates the year day by day: sources hand material to village collection
points, collection points ship to township transfer stations or straight to processors,
transfer stations ship on to processors, each pool shipping what it holds. Each township has
its own performance per indicator, drawn from the seed, so some meet the plan's targets and
some miss them. A few anomalies are planted on purpose (see ``PLANTED``).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.bulk import bulk_insert, reset_sequence
from wasteflow.codes import sequential_handover_code
from wasteflow.config import get_settings
from wasteflow.db import unit_of_work
from wasteflow.errors import Conflict
from wasteflow.estimates import Coefficients, collectable_straw, manure_produced
from wasteflow.models import (
    Account,
    AccountRound,
    AccountSite,
    CollectionRound,
    Declaration,
    Material,
    Meta,
    Organisation,
    Region,
    RoundSite,
    Site,
    SiteMaterial,
    SiteRoute,
    TreatmentRoute,
)
from wasteflow.security import hash_password
from wasteflow.services.audit import record_event
from wasteflow.services.checkpoints import write_checkpoint
from wasteflow.services.coefficients import coefficient_set_for, read_coefficients
from wasteflow.services.declarations import identity
from wasteflow.services.imports import import_handovers
from wasteflow.types import (
    Basis,
    Channel,
    DeclarationKind,
    HandoverStatus,
    MassMethod,
    RecordStatus,
    RegionLevel,
    Role,
    SiteKind,
    utcnow,
)

DEFAULT_SEED = 2025
DEFAULT_YEAR = 2025
DEMO_PASSWORD = "wulong-demo-2025"

PLANTED = {
    "refused_load": "a film load refused at the film recycler (soil-contaminated), sent back",
    "negative_stock": "a collection point that ships more film than it ever received",
    "far_scan": "a plaque scanned about 25 km from its site",
    "mass_discrepancy": "a transfer-station load received 19 % lighter than declared",
    "partial_refusal": "a straw load partly refused as mouldy",
    "implausible_source": "a household cluster handing over far more film than its village uses",
}


@dataclass
class DemoAccount:
    username: str
    role: Role
    display_name: str
    note: str


@dataclass
class DemoReport:
    seed: int
    year: int
    sites: int = 0
    accounts: int = 0
    declarations: int = 0
    handovers: int = 0
    seconds: float = 0.0
    login_accounts: list[DemoAccount] = field(default_factory=list)
    townships_missing: dict[str, list[str]] = field(default_factory=dict)


# The fractions households sort their waste into (hh.residue is what treatment leaves, and
# arises only at plants).
HOUSEHOLD_FRACTIONS = ["hh.recyclable", "hh.kitchen", "hh.hazardous", "hh.other"]

# --- processors of the district (code, kind, name, township, materials, routes) -----------
# Every route a processor names at a receipt (``_Generator._route_for``) must be one its
# material may take (data/materials.json) and one the processor operates (below).
PROCESSORS: list[tuple[str, SiteKind, str, str, list[str], list[str]]] = [
    (
        "WL-PR-FILM",
        SiteKind.processor,
        "武隆区废旧农膜再生利用中心（示例）",
        "500156101",
        ["film.agri"],
        ["recycling"],
    ),
    (
        "WL-PR-ORGF",
        SiteKind.processor,
        "武隆区有机肥厂（示例）",
        "500156104",
        ["manure.*", "straw.*"],
        ["organic_fertiliser", "compost"],
    ),
    (
        "WL-PR-BIOG",
        SiteKind.processor,
        "武隆区规模化沼气站（示例）",
        "500156107",
        ["manure.*"],
        ["biogas"],
    ),
    (
        "WL-PR-STRW",
        SiteKind.processor,
        "武隆区秸秆综合利用企业（示例）",
        "500156108",
        ["straw.*"],
        ["feed", "fuel", "substrate", "raw_material"],
    ),
    (
        "WL-PR-INCN",
        SiteKind.processor,
        "武隆区生活垃圾焚烧发电厂（示例）",
        "500156102",
        ["hh.other", "hh.kitchen"],
        ["incineration_energy"],
    ),
    (
        "WL-PR-KTCH",
        SiteKind.processor,
        "武隆区餐厨垃圾处理厂（示例）",
        "500156002",
        ["hh.kitchen"],
        ["kitchen_treatment"],
    ),
    (
        "WL-DS-LNDF",
        SiteKind.disposal,
        "武隆区生活垃圾卫生填埋场（示例）",
        "500156105",
        ["hh.other", "hh.kitchen", "hh.residue", "isw.*"],
        ["landfill", "residue_landfill"],
    ),
    (
        "WL-PR-WEEE",
        SiteKind.processor,
        "废弃电器电子产品拆解企业（示例）",
        "500156004",
        ["appliance.*"],
        ["dismantling"],
    ),
    (
        "WL-PR-RECY",
        SiteKind.processor,
        "武隆区再生资源分拣中心（示例）",
        "500156001",
        ["rec.*", "hh.recyclable"],
        ["recycling"],
    ),
    (
        "WL-PR-HAZW",
        SiteKind.processor,
        "危险废物集中处置中心（示例）",
        "500156105",
        ["hh.hazardous"],
        ["hazardous_treatment"],
    ),
    (
        "WL-PR-CEMT",
        SiteKind.processor,
        "武隆区水泥厂（示例）",
        "500156102",
        [
            "isw.fly_ash",
            "isw.coal_gangue",
            "isw.byproduct_gypsum",
            "isw.smelting_slag",
            "isw.tailings",
        ],
        ["building_material", "raw_material"],
    ),
    (
        "WL-PR-CDWR",
        SiteKind.processor,
        "建筑垃圾资源化利用厂（示例）",
        "500156003",
        ["isw.construction_waste"],
        ["building_material"],
    ),
    (
        "WL-DS-STOR",
        SiteKind.disposal,
        "一般工业固废贮存场（示例）",
        "500156104",
        ["isw.*"],
        ["storage", "landfill"],
    ),
]

# Industrial sources: (code, name, township, {material: tonnes a year}, share utilised)
FACTORIES: list[tuple[str, str, str, dict[str, float], float]] = [
    (
        "WL-IN-PWR1",
        "江口燃煤电厂（示例）",
        "500156102",
        {"isw.fly_ash": 18_000, "isw.byproduct_gypsum": 4_000},
        0.86,
    ),
    ("WL-IN-MIN1", "白马煤矿（示例）", "500156101", {"isw.coal_gangue": 12_000}, 0.62),
    ("WL-IN-MIN2", "火炉煤矿（示例）", "500156104", {"isw.coal_gangue": 9_000}, 0.55),
    ("WL-IN-SMLT", "长坝冶炼厂（示例）", "500156107", {"isw.smelting_slag": 6_000}, 0.78),
    ("WL-IN-TAIL", "和顺选矿厂（示例）", "500156111", {"isw.tailings": 3_000}, 0.35),
    ("WL-IN-CON1", "芙蓉城区建设工地（示例）", "500156002", {"isw.construction_waste": 9_000}, 0.8),
    (
        "WL-IN-CON2",
        "仙女山旅游区建设工地（示例）",
        "500156003",
        {"isw.construction_waste": 6_000},
        0.74,
    ),
]

ENGLISH_NAMES = {
    "WL-PR-FILM": "Wulong farm-film recycling centre (demo)",
    "WL-PR-ORGF": "Wulong organic fertiliser plant (demo)",
    "WL-PR-BIOG": "Wulong biogas station (demo)",
    "WL-PR-STRW": "Wulong straw utilisation company (demo)",
    "WL-PR-INCN": "Wulong waste-to-energy incinerator (demo)",
    "WL-PR-KTCH": "Wulong kitchen-waste plant (demo)",
    "WL-DS-LNDF": "Wulong sanitary landfill (demo)",
    "WL-PR-WEEE": "Appliance dismantling company (demo)",
    "WL-PR-RECY": "Wulong recyclables sorting centre (demo)",
    "WL-PR-HAZW": "Hazardous-waste treatment centre (demo)",
    "WL-PR-CEMT": "Wulong cement plant (demo)",
    "WL-PR-CDWR": "Construction-waste recycling plant (demo)",
    "WL-DS-STOR": "General industrial solid-waste storage yard (demo)",
    "WL-IN-PWR1": "Jiangkou coal-fired power plant (demo)",
    "WL-IN-MIN1": "Baima coal mine (demo)",
    "WL-IN-MIN2": "Huolu coal mine (demo)",
    "WL-IN-SMLT": "Changba smelter (demo)",
    "WL-IN-TAIL": "Heshun ore dressing plant (demo)",
    "WL-IN-CON1": "Furong town construction sites (demo)",
    "WL-IN-CON2": "Xiannüshan resort construction sites (demo)",
}

CROPS = {  # crop: (grain t/mu, harvest months)
    "maize": (0.38, (8, 9)),
    "rice": (0.45, (9,)),
    "potato": (1.2, (6, 7)),
    "sweet_potato": (1.3, (10,)),
    "rapeseed": (0.14, (5,)),
    "soybean": (0.13, (9, 10)),
}
LIVESTOCK = {  # farm type: [(animal, heads low, heads high)]
    "pig": [("pig_fattening", 300, 3000), ("sow", 20, 200)],
    "beef": [("beef_cattle", 20, 150)],
    "layer": [("laying_hen", 2000, 20000)],
    "broiler": [("broiler", 5000, 40000)],
    "sheep": [("sheep_goat", 60, 400)],
}
ANIMAL_MATERIAL = {
    "pig_fattening": "manure.pig",
    "sow": "manure.pig",
    "beef_cattle": "manure.beef_cattle",
    "laying_hen": "manure.layer",
    "broiler": "manure.broiler",
    "sheep_goat": "manure.sheep_goat",
}


def _slug(name_en: str) -> str:
    return name_en.split(" ")[0].lower().replace("ü", "u")


class _Sim:
    """Day-by-day simulation state: ids, stock in each pool, and the rows it produced."""

    def __init__(self, rng: random.Random, year: int, tz: ZoneInfo):
        self.rng = rng
        self.year = year
        self.tz = tz
        self.handovers: list[dict[str, Any]] = []
        self.stock: dict[tuple[int, int], int] = defaultdict(int)
        self.day_seq: dict[date, int] = defaultdict(int)
        self.site_pos: dict[int, tuple[float, float]] = {}
        self.tolerance = get_settings().receipt_tolerance

    def when(self, day: date, hour_lo: int = 7, hour_hi: int = 17) -> datetime:
        t = time(
            self.rng.randint(hour_lo, hour_hi), self.rng.randint(0, 59), self.rng.randint(0, 59)
        )
        return datetime.combine(day, t, tzinfo=self.tz).astimezone(UTC)

    def handover(
        self,
        day: date,
        frm: int,
        to: int,
        material: int,
        mass_g: int,
        *,
        recorder: int,
        receiver: int | None,
        route: int | None = None,
        units: int | None = None,
        received_g: int | None = None,
        refused_g: int = 0,
        reason: str | None = None,
        returns: dict[str, Any] | None = None,
        scan_pos: tuple[float, float] | None = None,
        far: bool = False,
        weighed: bool = True,
    ) -> dict[str, Any]:
        """Record one load; if ``receiver`` is None it stays in transit."""
        mass_g = max(int(mass_g), 1000)
        device_time = self.when(day)
        n = self.day_seq[day]
        self.day_seq[day] += 1
        hid = len(self.handovers) + 1
        pos = scan_pos or self._near(frm)
        row: dict[str, Any] = {
            "id": hid,
            "code": sequential_handover_code(day, n, salt=self.year),
            "idempotency_key": f"demo-{hid}",
            "channel": Channel.demo,
            "from_site_id": frm,
            "to_site_id": to,
            "material_id": material,
            "declared_mass_g": mass_g,
            "declared_units": units,
            "mass_method": MassMethod.weighed if weighed else MassMethod.estimated,
            "device_time": device_time,
            "day": day,
            "recorded_at": device_time + timedelta(minutes=self.rng.randint(1, 240)),
            "recorded_by_id": recorder,
            "lat": pos[0] if pos else None,
            "lon": pos[1] if pos else None,
            "scan_distance_m": None,
            "plaque_kid": "demo",
            "flag_far_scan": far,
            "flag_discrepancy": False,
            "status": HandoverStatus.in_transit,
            "received_mass_g": None,
            "refused_mass_g": None,
            "accepted_mass_g": None,
            "received_units": None,
            "refusal_reason": None,
            "route_id": None,
            "received_at": None,
            "received_by_id": None,
            "returns_id": returns["id"] if returns else None,
            "returns_sender_id": returns["from_site_id"] if returns else None,
        }
        if pos and frm in self.site_pos:
            row["scan_distance_m"] = round(_distance_m(pos, self.site_pos[frm]), 1)
        row["request_hash"] = hashlib.sha256(
            f"{frm}|{to}|{material}|{mass_g}|{units}|{device_time.isoformat()}".encode()
        ).hexdigest()
        if receiver is not None:
            if received_g is None:
                received_g = round(mass_g * (1 + self.rng.gauss(0, 0.004)))
            accepted = received_g - refused_g
            status = (
                HandoverStatus.received
                if refused_g == 0
                else HandoverStatus.refused
                if accepted == 0
                else HandoverStatus.partially_refused
            )
            row.update(
                {
                    "status": status,
                    "received_mass_g": received_g,
                    "refused_mass_g": refused_g,
                    "accepted_mass_g": accepted,
                    "received_units": units,
                    "refusal_reason": reason,
                    "route_id": route,
                    "received_at": device_time + timedelta(hours=self.rng.uniform(0.5, 20)),
                    "received_by_id": receiver,
                    "flag_discrepancy": abs(received_g - mass_g) > self.tolerance * mass_g,
                }
            )
            self.stock[(to, material)] += accepted
        self.handovers.append(row)
        return row

    def _near(self, site_id: int) -> tuple[float, float] | None:
        pos = self.site_pos.get(site_id)
        if pos is None:
            return None
        return (pos[0] + self.rng.gauss(0, 0.0004), pos[1] + self.rng.gauss(0, 0.0004))

    def take(self, site: int, material: int, share: float = 1.0) -> int:
        """Draw down a pool's stock for a shipment."""
        amount = int(self.stock[(site, material)] * share)
        self.stock[(site, material)] -= amount
        return amount


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def _days(year: int) -> Iterator[date]:
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


def load_demo(
    *, session: Session, seed: int = DEFAULT_SEED, year: int = DEFAULT_YEAR
) -> DemoReport:
    """Generate the synthetic district and load it in one transaction (bulk paths)."""
    started = datetime.now(UTC)
    report = DemoReport(seed=seed, year=year)
    rng = random.Random(seed)
    tz = ZoneInfo(get_settings().timezone)
    with unit_of_work(session):
        if session.execute(sa.select(col(Site.id)).limit(1)).first():
            raise Conflict(
                "the demo loads only into a database with no sites yet: "
                "use `wasteflow demo --reset` or point WASTEFLOW_DATABASE_URL "
                "at a new database"
            )
        g = _Generator(session, rng, year, tz, report)
        g.build()
        session.merge(
            Meta(
                key="dataset",
                value={
                    "synthetic": True,
                    "kind": "demo",
                    "seed": seed,
                    "year": year,
                    "label": "合成演示数据 synthetic demo data: not real records of 武隆区",
                    "generated_at": utcnow().isoformat(),
                    "planted_anomalies": PLANTED,
                },
            )
        )
        record_event(
            session,
            account_id=None,
            action="demo.load",
            entity="dataset",
            entity_id="demo",
            after={
                "seed": seed,
                "year": year,
                "sites": report.sites,
                "handovers": report.handovers,
                "declarations": report.declarations,
                "rows_sha256": g.rows_digest,
            },
        )
        write_checkpoint(session)  # the demo's chain is signed as it was loaded
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    return report


class _Generator:
    def __init__(
        self, session: Session, rng: random.Random, year: int, tz: ZoneInfo, report: DemoReport
    ):
        self.s = session
        self.rng = rng
        self.year = year
        self.report = report
        self.sim = _Sim(rng, year, tz)
        self.mat = dict(session.execute(sa.select(col(Material.code), col(Material.id))).all())
        self.route = dict(
            session.execute(sa.select(col(TreatmentRoute.code), col(TreatmentRoute.id))).all()
        )
        self.sites: list[dict[str, Any]] = []
        self.site_materials: list[dict[str, int]] = []
        self.site_routes: list[dict[str, int]] = []
        self.orgs: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self.account_sites: list[dict[str, int]] = []
        self.declarations: list[dict[str, Any]] = []
        self.rows_digest = ""
        self.planted: set[str] = set()

    # -- ids ------------------------------------------------------------------------------
    def _org(self, code: str, name: str, kind: str, region_id: int) -> int:
        oid = len(self.orgs) + 1
        self.orgs.append(
            {
                "id": oid,
                "code": code,
                "name": name,
                "kind": kind,
                "region_id": region_id,
                "credit_code": None,
                "synthetic": True,
            }
        )
        return oid

    def _site(
        self,
        code: str,
        name: tuple[str, str],
        kind: SiteKind,
        region_id: int,
        org: int | None,
        pos: tuple[float, float],
        materials: list[str],
        routes: Sequence[str] = (),
        capacity_kg: float | None = None,
    ) -> int:
        sid = len(self.sites) + 1
        self.sites.append(
            {
                "id": sid,
                "code": code,
                "name": name[0],
                "name_en": name[1],
                "kind": kind,
                "region_id": region_id,
                "organisation_id": org,
                "lat": round(pos[0], 6),
                "lon": round(pos[1], 6),
                "address": None,
                "capacity_kg": capacity_kg,
                "active": True,
                "synthetic": True,
                "created_at": utcnow(),
            }
        )
        self.sim.site_pos[sid] = pos
        for m in self._expand(materials):
            self.site_materials.append({"site_id": sid, "material_id": self.mat[m]})
        for r in routes:
            self.site_routes.append({"site_id": sid, "route_id": self.route[r]})
        return sid

    def _expand(self, patterns: list[str]) -> list[str]:
        out: list[str] = []
        for p in patterns:
            if p.endswith(".*"):
                out += [c for c in self.mat if c.startswith(p[:-1])]
            else:
                out.append(p)
        return list(dict.fromkeys(out))

    def _account(
        self,
        username: str,
        role: Role,
        display: str,
        org: int | None,
        sites: list[int],
        password_hash: str,
    ) -> int:
        aid = len(self.accounts) + 1
        self.accounts.append(
            {
                "id": aid,
                "username": username,
                "display_name": display,
                "role": role,
                "organisation_id": org,
                "password_hash": password_hash,
                "active": True,
                "created_at": utcnow(),
            }
        )
        for s in sites:
            self.account_sites.append({"account_id": aid, "site_id": s})
        return aid

    def _jitter(self, pos: tuple[float, float], km: float) -> tuple[float, float]:
        d = km / 111.0
        return (pos[0] + self.rng.uniform(-d, d), pos[1] + self.rng.uniform(-d, d))

    def _declare(
        self,
        kind: DeclarationKind,
        region_id: int,
        site_id: int | None,
        material: str,
        start: date,
        end: date,
        quantity: float,
        unit: str,
        mass_kg: float,
        basis: Basis,
        detail: dict[str, Any] | None = None,
        sown: float | None = None,
        returned: float | None = None,
        qualifier: str | None = None,
    ) -> None:
        self.declarations.append(
            {
                "identity": identity(
                    kind=kind,
                    region_id=region_id,
                    site_id=site_id,
                    material_id=self.mat[material],
                    period_start=start,
                    period_end=end,
                    qualifier=qualifier,
                ),
                "id": len(self.declarations) + 1,
                "kind": kind,
                "region_id": region_id,
                "site_id": site_id,
                "material_id": self.mat[material],
                "period_start": start,
                "period_end": end,
                "quantity": quantity,
                "unit": unit,
                "area_sown_mu": sown,
                "area_returned_mu": returned,
                "mass_g": round(mass_kg * 1000),
                "basis": basis,
                "coefficient_set_id": self.cset_id if basis == Basis.estimated else None,
                "detail": (detail or {}) | {"synthetic": True},
                "status": RecordStatus.active,
                "corrects_id": None,
                "recorded_by_id": self.admin_id,
                "recorded_at": utcnow(),
                "synthetic": True,
            }
        )

    # -- the district -----------------------------------------------------------------------
    def build(self) -> None:
        rng = self.rng
        s = self.s
        district = s.execute(
            sa.select(Region).where(col(Region.level) == RegionLevel.district)
        ).scalar_one()
        townships = (
            s.execute(
                sa.select(Region)
                .where(col(Region.level) == RegionLevel.township)
                .order_by(col(Region.code))
            )
            .scalars()
            .all()
        )
        villages: dict[int, list[Region]] = defaultdict(list)
        for v in s.execute(
            sa.select(Region)
            .where(col(Region.level) == RegionLevel.village)
            .order_by(col(Region.code))
        ).scalars():
            villages[v.parent_id].append(v)
        tw_by_code = {t.code: t for t in townships}
        cset = coefficient_set_for(s, year=self.year, region_id=district.id)
        self.cset_id = cset.id
        assert cset.id is not None  # read from the database
        coeffs = read_coefficients(s, cset.id)

        # Each township's performance per indicator: most meet the plan, some miss.
        indicators = ("film", "manure", "straw")
        perf: dict[str, dict[str, float]] = {}
        missing: dict[str, list[str]] = {i: [] for i in indicators}
        for t in townships:
            perf[t.code] = {}
            for ind in indicators:
                miss = rng.random() < 0.27
                perf[t.code][ind] = rng.uniform(0.62, 0.86) if miss else rng.uniform(0.915, 0.985)
                if miss:
                    missing[ind].append(t.code)
        raw_landfill = set(rng.sample([t.code for t in townships], 3))
        missing["household_raw_landfill"] = sorted(raw_landfill)
        self.report.townships_missing = missing

        pw = hash_password(DEMO_PASSWORD)
        gov = self._org("WL-GOV-EEB", "武隆区生态环境局（示例）", "government", district.id)
        self.admin_id = self._account("admin", Role.admin, "系统管理员（示例）", gov, [], pw)
        self._account("official", Role.official, "区生态环境局官员（示例）", gov, [], pw)
        self.report.login_accounts += [
            DemoAccount("admin", Role.admin, "系统管理员", "manages sites, accounts, keys"),
            DemoAccount(
                "official", Role.official, "区生态环境局官员", "reads every rate and record"
            ),
        ]

        # District processors.
        proc: dict[str, int] = {}
        self.proc_account: dict[int, int] = {}
        for code, kind, name, tcode, mats, routes in PROCESSORS:
            t = tw_by_code[tcode]
            org = self._org(code.replace("WL-", "WL-ORG-"), name, "enterprise", t.id)
            sid = self._site(
                code,
                (name, ENGLISH_NAMES[code]),
                kind,
                t.id,
                org,
                self._jitter((t.lat, t.lon), 2),
                mats,
                routes,
                capacity_kg=5_000_000,
            )
            proc[code] = sid
            user = "processor." + code.removeprefix("WL-").lower().replace("-", "")
            self.proc_account[sid] = self._account(
                user, Role.processor, name + " 操作员", org, [sid], pw
            )
        self.report.login_accounts.append(
            DemoAccount(
                "processor.prfilm",
                Role.processor,
                "农膜再生利用中心操作员",
                "confirms intake at WL-PR-FILM",
            )
        )
        self.proc = proc

        # Townships: transfer station, village collection points, sources.
        plan: list[dict[str, Any]] = []
        for t in townships:
            slug = _slug(t.name_en)
            org = self._org(
                f"WL-ORG-TS-{t.code[-3:]}", f"{t.name_zh}环卫所（示例）", "government", t.id
            )
            ts = self._site(
                f"WL-TS-{t.code[-3:]}",
                (f"{t.name_zh}垃圾转运站（示例）", f"{t.name_en} transfer station (demo)"),
                SiteKind.transfer_station,
                t.id,
                org,
                self._jitter((t.lat, t.lon), 1),
                [*HOUSEHOLD_FRACTIONS, "rec.*"],
                capacity_kg=400_000,
            )
            t_plan: dict[str, Any] = {"t": t, "ts": ts, "cps": [], "slug": slug}
            manure_cp = None
            if rng.random() < 0.2:
                manure_cp = self._site(
                    f"WL-MC-{t.code[-3:]}",
                    (
                        f"{t.name_zh}畜禽粪污收集点（示例）",
                        f"{t.name_en} manure collection point (demo)",
                    ),
                    SiteKind.collection_point,
                    t.id,
                    org,
                    self._jitter((t.lat, t.lon), 2),
                    ["manure.*"],
                    capacity_kg=300_000,
                )
            t_plan["manure_cp"] = manure_cp
            cp_ids = []
            for v in villages[t.id]:
                # Stored reference villages: they have ids, and the loader gives each coordinates.
                assert v.id is not None and v.lat is not None and v.lon is not None
                vpos = (v.lat, v.lon)
                cp = self._site(
                    f"WL-CP-{v.code}",
                    (f"{v.name_zh}回收点（示例）", f"{v.name_en} collection point (demo)"),
                    SiteKind.collection_point,
                    v.id,
                    org,
                    self._jitter(vpos, 0.3),
                    ["film.agri", *HOUSEHOLD_FRACTIONS, "rec.*", "appliance.*"],
                    capacity_kg=60_000,
                )
                cp_ids.append(cp)
                v_plan: dict[str, Any] = {
                    "v": v,
                    "cp": cp,
                    "clusters": [],
                    "farms": [],
                    "livestock": [],
                }
                for i in range(1, rng.randint(2, 4) + 1):
                    hh = self._site(
                        f"WL-HH-{v.code}-{i}",
                        (
                            f"{v.name_zh}第{i}居民组（示例）",
                            f"{v.name_en} residents' group {i} (demo)",
                        ),
                        SiteKind.source,
                        v.id,
                        None,
                        self._jitter(vpos, 1.2),
                        [*HOUSEHOLD_FRACTIONS, "film.agri", "rec.*", "appliance.*"],
                    )
                    v_plan["clusters"].append(
                        {
                            "id": hh,
                            "people": rng.randint(150, 520),
                            "film_kg": rng.uniform(120, 650),
                            "weekday": rng.randrange(7),
                        }
                    )
                for i in range(1, rng.randint(1, 2) + 1):
                    crops = rng.sample(list(CROPS), rng.randint(1, 3))
                    cf = self._site(
                        f"WL-CF-{v.code}-{i}",
                        (f"{v.name_zh}种植户{i}（示例）", f"{v.name_en} crop farm {i} (demo)"),
                        SiteKind.source,
                        v.id,
                        None,
                        self._jitter(vpos, 1.5),
                        [f"straw.{c}" for c in crops],
                    )
                    v_plan["farms"].append({"id": cf, "crops": crops})
                if rng.random() < 0.55:
                    herd = rng.choice(list(LIVESTOCK))
                    lf = self._site(
                        f"WL-LF-{v.code}",
                        (f"{v.name_zh}养殖场（示例）", f"{v.name_en} livestock farm (demo)"),
                        SiteKind.source,
                        v.id,
                        None,
                        self._jitter(vpos, 2),
                        sorted({ANIMAL_MATERIAL[a] for a, _, _ in LIVESTOCK[herd]}),
                    )
                    v_plan["livestock"].append({"id": lf, "kind": herd})
                t_plan["cps"].append(v_plan)
            operator = self._account(
                f"operator.{slug}",
                Role.site_operator,
                f"{t.name_zh}回收点与转运站操作员（示例）",
                org,
                [ts, *cp_ids] + ([manure_cp] if manure_cp else []),
                pw,
            )
            collector = self._account(
                f"collector.{slug}", Role.collector, f"{t.name_zh}回收员（示例）", org, [], pw
            )
            t_plan["operator"], t_plan["collector"] = operator, collector
            plan.append(t_plan)
        self.report.login_accounts += [
            DemoAccount(
                "collector.baima",
                Role.collector,
                "白马镇回收员",
                "records pickups on the rounds of 白马镇",
            ),
            DemoAccount(
                "operator.baima",
                Role.site_operator,
                "白马镇回收点与转运站操作员",
                "receives at 白马镇's collection points and transfer station",
            ),
        ]

        # Industrial sources.
        factories = []
        for code, name, tcode, outputs, util in FACTORIES:
            t = tw_by_code[tcode]
            org = self._org(code.replace("WL-", "WL-ORG-"), name, "enterprise", t.id)
            sid = self._site(
                code,
                (name, ENGLISH_NAMES[code]),
                SiteKind.source,
                t.id,
                org,
                self._jitter((t.lat, t.lon), 3),
                list(outputs),
            )
            acc = self._account(
                "operator." + code.removeprefix("WL-").lower().replace("-", ""),
                Role.site_operator,
                name + " 固废管理员",
                org,
                [sid],
                pw,
            )
            factories.append({"id": sid, "t": t, "outputs": outputs, "util": util, "acc": acc})

        self._insert_reference_rows(plan)
        self._simulate(plan, factories, perf, raw_landfill, coeffs)
        self._insert_records()

    def _insert_reference_rows(self, plan: list[dict[str, Any]]) -> None:
        conn = self.s.connection()
        bulk_insert(conn, Organisation.__table__, self.orgs)  # type: ignore[attr-defined]
        bulk_insert(conn, Site.__table__, self.sites)  # type: ignore[attr-defined]
        bulk_insert(conn, SiteMaterial.__table__, self.site_materials)  # type: ignore[attr-defined]
        bulk_insert(conn, SiteRoute.__table__, self.site_routes)  # type: ignore[attr-defined]
        bulk_insert(conn, Account.__table__, self.accounts)  # type: ignore[attr-defined]
        bulk_insert(conn, AccountSite.__table__, self.account_sites)  # type: ignore[attr-defined]
        rounds: list[dict[str, Any]] = []
        round_sites: list[dict[str, int]] = []
        account_rounds: list[dict[str, int]] = []
        for tp in plan:
            for vp in tp["cps"]:
                rid = len(rounds) + 1
                v = vp["v"]
                rounds.append(
                    {
                        "id": rid,
                        "code": f"RD-{v.code}",
                        "name": f"{v.name_zh}收运线路（示例）",
                        "collection_point_id": vp["cp"],
                    }
                )
                members = (
                    [c["id"] for c in vp["clusters"]]
                    + [f["id"] for f in vp["farms"]]
                    + [lf["id"] for lf in vp["livestock"]]
                )
                round_sites += [{"round_id": rid, "site_id": m} for m in members]
                account_rounds.append({"account_id": tp["collector"], "round_id": rid})
        bulk_insert(conn, CollectionRound.__table__, rounds)  # type: ignore[attr-defined]
        bulk_insert(conn, RoundSite.__table__, round_sites)  # type: ignore[attr-defined]
        bulk_insert(conn, AccountRound.__table__, account_rounds)  # type: ignore[attr-defined]
        for table in (Organisation, Site, Account, CollectionRound):
            reset_sequence(conn, table.__table__)  # type: ignore[union-attr]
        self.report.sites = len(self.sites)
        self.report.accounts = len(self.accounts)

    # -- the year -------------------------------------------------------------------------
    def _route_for(self, proc: int, material: str) -> int:
        p = self.proc
        if proc == p["WL-PR-ORGF"]:
            code = "organic_fertiliser" if material.startswith("manure") else "compost"
        elif proc == p["WL-PR-STRW"]:
            code = self.rng.choice(["feed", "fuel", "substrate", "raw_material"])
        elif proc == p["WL-PR-CEMT"]:
            code = "raw_material" if material == "isw.coal_gangue" else "building_material"
        elif proc == p["WL-DS-LNDF"]:
            # Treatment residues have a route of their own, reported apart from raw waste.
            code = "residue_landfill" if material == "hh.residue" else "landfill"
        else:
            code = {
                p["WL-PR-FILM"]: "recycling",
                p["WL-PR-BIOG"]: "biogas",
                p["WL-PR-INCN"]: "incineration_energy",
                p["WL-PR-KTCH"]: "kitchen_treatment",
                p["WL-PR-WEEE"]: "dismantling",
                p["WL-PR-RECY"]: "recycling",
                p["WL-PR-HAZW"]: "hazardous_treatment",
                p["WL-PR-CDWR"]: "building_material",
                p["WL-DS-STOR"]: "storage",
            }[proc]
        return self.route[code]

    def _ship(
        self,
        day: date,
        frm: int,
        to: int,
        material: str,
        mass_g: int,
        recorder: int,
        units: int | None = None,
        **kw: Any,
    ) -> dict[str, Any] | None:
        """A load between sites, received by the destination's account (in transit at year end)."""
        if mass_g < 1000:
            # Too little to move: a pool keeps it for the next shipment.
            self.sim.stock[(frm, self.mat[material])] += max(mass_g, 0)
            return None
        receiver: int | None = self.receiver[to]
        if day >= date(self.year, 12, 30):
            receiver = None
        route = self._route_for(to, material) if to in self.proc_account and receiver else None
        return self.sim.handover(
            day,
            frm,
            to,
            self.mat[material],
            mass_g,
            recorder=recorder,
            receiver=receiver,
            route=route,
            units=units,
            **kw,
        )

    def _simulate(
        self,
        plan: list[dict[str, Any]],
        factories: list[dict[str, Any]],
        perf: dict[str, dict[str, float]],
        raw_landfill: set[str],
        coeffs: Coefficients,
    ) -> None:
        rng, sim, year, p = self.rng, self.sim, self.year, self.proc
        start, end = date(year, 1, 1), date(year, 12, 31)
        self.receiver: dict[int, int] = dict(self.proc_account)
        for tp in plan:
            self.receiver[tp["ts"]] = tp["operator"]
            if tp["manure_cp"]:
                self.receiver[tp["manure_cp"]] = tp["operator"]
            for vp in tp["cps"]:
                self.receiver[vp["cp"]] = tp["operator"]
        units: dict[tuple[int, str], int] = defaultdict(int)
        hh_collected: dict[tuple[int, int, str], int] = defaultdict(int)  # (township, month, m)

        # Annual plans of the sources, and their declarations.
        source_events: dict[date, list[tuple[Any, ...]]] = defaultdict(list)
        weekdays = {}
        for tp in plan:
            t = tp["t"]
            for vp in tp["cps"]:
                v, cp = vp["v"], vp["cp"]
                weekdays[cp] = rng.randrange(7)
                used = 0.0
                for c in vp["clusters"]:
                    used += c["film_kg"]
                    recovered = c["film_kg"] * perf[t.code]["film"] * rng.uniform(0.97, 1.03)
                    days = sorted(start + timedelta(days=rng.randint(181, 333)) for _ in range(3))
                    for d in days:
                        source_events[d].append(("film", c["id"], cp, recovered / 3, tp))
                self._declare(
                    DeclarationKind.film_used,
                    v.id,
                    None,
                    "film.agri",
                    start,
                    end,
                    round(used, 3),
                    "kg",
                    used,
                    Basis.declared,
                )
                for f in vp["farms"]:
                    for crop in f["crops"]:
                        t_per_mu, months = CROPS[crop]
                        sown = rng.uniform(15, 180)
                        output = sown * t_per_mu * 1000 * rng.uniform(0.85, 1.15)
                        returned = sown * rng.uniform(0.15, 0.5)
                        est = collectable_straw(coeffs, crop, output, sown, returned)
                        self._declare(
                            DeclarationKind.crop_output,
                            v.id,
                            f["id"],
                            f"straw.{crop}",
                            start,
                            end,
                            round(output, 1),
                            "kg_grain",
                            est.collectable_kg,
                            Basis.estimated,
                            est.detail(),
                            sown=round(sown, 2),
                            returned=round(returned, 2),
                        )
                        ship = est.collectable_kg * perf[t.code]["straw"] - est.field_return_kg
                        loads = max(1, math.ceil(ship / 15_000))
                        dest = p["WL-PR-STRW"] if rng.random() < 0.7 else p["WL-PR-ORGF"]
                        for _ in range(loads):
                            month = rng.choice(months)
                            d = date(year, month, rng.randint(1, 28))
                            source_events[d].append(
                                ("straw", f["id"], dest, ship / loads, tp, crop)
                            )
                for lf in vp["livestock"]:
                    per_material: dict[str, float] = defaultdict(float)
                    for animal, lo, hi in LIVESTOCK[lf["kind"]]:
                        heads = rng.randint(lo, hi)
                        manure = manure_produced(
                            coeffs, animal, heads, period_start=start, period_end=end
                        )
                        self._declare(
                            DeclarationKind.livestock_headcount,
                            v.id,
                            lf["id"],
                            ANIMAL_MATERIAL[animal],
                            start,
                            end,
                            heads,
                            "head",
                            manure.produced_kg,
                            Basis.estimated,
                            manure.detail(),
                            qualifier=animal,
                        )
                        per_material[ANIMAL_MATERIAL[animal]] += manure.produced_kg
                    dest = tp["manure_cp"] or (
                        p["WL-PR-ORGF"] if rng.random() < 0.5 else p["WL-PR-BIOG"]
                    )
                    wd = rng.randrange(7)
                    for material, produced in per_material.items():
                        weekly = produced * perf[t.code]["manure"] / 52
                        d = start + timedelta(days=wd)
                        while d <= end:
                            source_events[d].append(
                                (
                                    "manure",
                                    lf["id"],
                                    dest,
                                    weekly * rng.uniform(0.8, 1.2),
                                    tp,
                                    material,
                                )
                            )
                            d += timedelta(days=7)
        for f in factories:
            for material, tonnes in f["outputs"].items():
                self._declare(
                    DeclarationKind.industrial_generated,
                    f["t"].id,
                    f["id"],
                    material,
                    start,
                    end,
                    tonnes * 1000,
                    "kg",
                    tonnes * 1000,
                    Basis.declared,
                )
                loads = int(tonnes / 40)
                for _ in range(loads):
                    d = start + timedelta(days=rng.randrange(365 if year % 4 else 366))
                    source_events[d].append(("industrial", f, material, tonnes * 1000 / loads))

        planted_done = self.planted
        far_cluster = plan[2]["cps"][0]["clusters"][0]["id"]
        greedy_cluster = plan[7]["cps"][1]["clusters"][0]["id"]
        refusing_cp = plan[5]["cps"][0]["cp"]
        overshipping_cp = plan[9]["cps"][2]["cp"]

        d = start
        while d <= end:
            # Pools ship first what they held at the end of the day before.
            for tp in plan:
                ts, op = tp["ts"], tp["operator"]
                for vp in tp["cps"]:
                    cp = vp["cp"]
                    first_of_month = d.day <= 7
                    if d.weekday() == weekdays[cp]:
                        for m in (
                            "hh.kitchen",
                            "hh.other",
                            "hh.recyclable",
                            *[c for c in self.mat if c.startswith("rec.")],
                        ):
                            self._ship(d, cp, ts, m, sim.take(cp, self.mat[m]), op)
                        if first_of_month:
                            self._ship(
                                d,
                                cp,
                                ts,
                                "hh.hazardous",
                                sim.take(cp, self.mat["hh.hazardous"]),
                                op,
                            )
                        if first_of_month and d.month >= 8:
                            self._ship_film(d, cp, op, refuse=(cp == refusing_cp and d.month == 10))
                        if first_of_month:  # appliances go to the dismantler monthly
                            for m in [c for c in self.mat if c.startswith("appliance.")]:
                                n = units.pop((cp, m), 0)
                                if n:
                                    self._ship(
                                        d,
                                        cp,
                                        p["WL-PR-WEEE"],
                                        m,
                                        sim.take(cp, self.mat[m]),
                                        op,
                                        units=n,
                                    )
                    if cp == overshipping_cp and d == date(year, 11, 20):
                        self._ship(d, cp, p["WL-PR-FILM"], "film.agri", 2_000_000, op)
                        planted_done.add("negative_stock")
                if d.toordinal() % 2 == 0:
                    kitchen = sim.take(ts, self.mat["hh.kitchen"])
                    self._ship(d, ts, p["WL-PR-KTCH"], "hh.kitchen", int(kitchen * 0.7), op)
                    self._ship(
                        d, ts, p["WL-PR-INCN"], "hh.kitchen", kitchen - int(kitchen * 0.7), op
                    )
                    other = sim.take(ts, self.mat["hh.other"])
                    to_landfill = int(other * 0.25) if tp["t"].code in raw_landfill else 0
                    self._ship(d, ts, p["WL-DS-LNDF"], "hh.other", to_landfill, op)
                    load = self._ship(d, ts, p["WL-PR-INCN"], "hh.other", other - to_landfill, op)
                    if (
                        load
                        and "mass_discrepancy" not in planted_done
                        and tp is plan[3]
                        and d.month == 6
                        and load["status"] == HandoverStatus.received
                    ):
                        self._set_received(load, int(load["declared_mass_g"] * 0.81))
                        planted_done.add("mass_discrepancy")
                if d.weekday() == 4:
                    for m in ("hh.recyclable", *[c for c in self.mat if c.startswith("rec.")]):
                        self._ship(d, ts, p["WL-PR-RECY"], m, sim.take(ts, self.mat[m]), op)
                if d.day == 15:
                    self._ship(
                        d,
                        ts,
                        p["WL-PR-HAZW"],
                        "hh.hazardous",
                        sim.take(ts, self.mat["hh.hazardous"]),
                        op,
                    )
                if tp["manure_cp"] and d.weekday() == 2:
                    mc = tp["manure_cp"]
                    for m in [c for c in self.mat if c.startswith("manure.")]:
                        self._ship(d, mc, p["WL-PR-ORGF"], m, sim.take(mc, self.mat[m]), op)

            # Then the sources hand over.
            for tp in plan:
                t, collector = tp["t"], tp["collector"]
                for vp in tp["cps"]:
                    cp = vp["cp"]
                    for c in vp["clusters"]:
                        if d.weekday() == c["weekday"]:
                            week = c["people"] * 0.55 * 7 * rng.uniform(0.85, 1.15)
                            for frac, share in (
                                ("kitchen", 0.45),
                                ("other", 0.37),
                                ("recyclable", 0.17),
                            ):
                                kw: dict[str, Any] = {}
                                if (
                                    c["id"] == far_cluster
                                    and frac == "other"
                                    and "far_scan" not in planted_done
                                    and d.month == 4
                                ):
                                    lat, lon = sim.site_pos[c["id"]]
                                    kw = {"scan_pos": (lat + 0.225, lon), "far": True}
                                    planted_done.add("far_scan")
                                row = self._ship(
                                    d,
                                    c["id"],
                                    cp,
                                    f"hh.{frac}",
                                    round(week * share * 1000),
                                    collector,
                                    **kw,
                                )
                                if row:
                                    hh_collected[(t.id, d.month, f"hh.{frac}")] += row[
                                        "declared_mass_g"
                                    ]
                            if d.day <= 7:
                                row = self._ship(
                                    d,
                                    c["id"],
                                    cp,
                                    "hh.hazardous",
                                    round(c["people"] * 0.04 * 1000),
                                    collector,
                                )
                                if row:
                                    hh_collected[(t.id, d.month, "hh.hazardous")] += row[
                                        "declared_mass_g"
                                    ]
                            if d.toordinal() // 7 % 2 == 0:
                                kind = rng.choice(
                                    [
                                        "paper",
                                        "plastics",
                                        "ferrous",
                                        "glass",
                                        "textiles",
                                        "nonferrous",
                                        "batteries",
                                    ]
                                )
                                kg = (
                                    rng.uniform(0.5, 3)
                                    if kind == "batteries"
                                    else rng.uniform(5, 60)
                                )
                                self._ship(
                                    d, c["id"], cp, f"rec.{kind}", round(kg * 1000), collector
                                )
                            if d.day <= 7 and rng.random() < 0.12:
                                kind = rng.choice(
                                    [m for m in self.mat if m.startswith("appliance.")]
                                )
                                n = rng.randint(1, 3)
                                unit_kg = {
                                    "appliance.tv": 20,
                                    "appliance.refrigerator": 45,
                                    "appliance.washing_machine": 35,
                                    "appliance.air_conditioner": 40,
                                    "appliance.computer": 10,
                                }[kind]
                                row = self._ship(
                                    d,
                                    c["id"],
                                    cp,
                                    kind,
                                    round(n * unit_kg * rng.uniform(0.9, 1.1) * 1000),
                                    collector,
                                    units=n,
                                    weighed=False,
                                )
                                if row and row["status"] != HandoverStatus.in_transit:
                                    units[(cp, kind)] += n
            for ev in source_events.get(d, ()):
                self._source_event(d, ev, greedy_cluster, planted_done)
            d += timedelta(days=1)

        for (tid, month, m), grams in sorted(hh_collected.items()):
            first = date(year, month, 1)
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            self._declare(
                DeclarationKind.household_collected,
                tid,
                None,
                m,
                first,
                last,
                grams / 1000,
                "kg",
                grams / 1000,
                Basis.declared,
            )
        missing = set(PLANTED) - planted_done
        assert not missing, f"planted anomalies not placed: {missing}"

    def _source_event(self, d: date, ev: tuple[Any, ...], greedy: int, planted: set[str]) -> None:
        kind = ev[0]
        if kind == "film":
            _, src, cp, kg, tp = ev
            if src == greedy:
                kg *= 5
                planted.add("implausible_source")
            self._ship(d, src, cp, "film.agri", round(kg * 1000), tp["collector"])
        elif kind == "straw":
            _, src, dest, kg, tp, crop = ev
            row = self._ship(
                d, src, dest, f"straw.{crop}", round(min(kg, 19_000) * 1000), tp["collector"]
            )
            if (
                row
                and "partial_refusal" not in planted
                and dest == self.proc["WL-PR-STRW"]
                and row["status"] == HandoverStatus.received
                and d.month == 9
            ):
                refused = int(row["received_mass_g"] * 0.3)
                row.update(
                    refused_mass_g=refused,
                    accepted_mass_g=row["received_mass_g"] - refused,
                    status=HandoverStatus.partially_refused,
                    refusal_reason="秸秆霉变 mouldy straw",
                )
                self.sim.stock[(dest, row["material_id"])] -= refused
                planted.add("partial_refusal")
        elif kind == "manure":
            _, src, dest, kg, tp, material = ev
            self._ship(d, src, dest, material, round(min(kg, 39_000) * 1000), tp["collector"])
        else:
            _, f, material, kg = ev
            if material == "isw.construction_waste":
                util_dest = self.proc["WL-PR-CDWR"]
            else:
                util_dest = self.proc["WL-PR-CEMT"]
            r = self.rng.random()
            dest = (
                util_dest
                if r < f["util"]
                else self.proc["WL-DS-STOR"]
                if r < f["util"] + (1 - f["util"]) * 0.7
                else self.proc["WL-DS-LNDF"]
            )
            self._ship(d, f["id"], dest, material, round(min(kg, 55_000) * 1000), f["acc"])

    def _ship_film(self, d: date, cp: int, op: int, refuse: bool) -> None:
        film = self.mat["film.agri"]
        stock = self.sim.stock[(cp, film)]
        if stock < 20_000:
            return
        mass = self.sim.take(cp, film)
        row = self._ship(d, cp, self.proc["WL-PR-FILM"], "film.agri", mass, op)
        if not refuse or row is None or row["status"] != HandoverStatus.received:
            return
        row.update(
            refused_mass_g=row["received_mass_g"],
            accepted_mass_g=0,
            route_id=None,
            status=HandoverStatus.refused,
            refusal_reason="农膜含泥沙超过30% film contaminated with soil (>30 %)",
        )
        self.sim.stock[(self.proc["WL-PR-FILM"], film)] -= row["received_mass_g"]
        self.planted.add("refused_load")
        self.sim.handover(
            d + timedelta(days=1),
            self.proc["WL-PR-FILM"],
            cp,
            film,
            row["received_mass_g"],
            recorder=self.proc_account[self.proc["WL-PR-FILM"]],
            receiver=op,
            returns=row,
        )

    def _set_received(self, row: dict[str, Any], received_g: int) -> None:
        delta = received_g - row["received_mass_g"]
        row.update(
            received_mass_g=received_g,
            accepted_mass_g=received_g - row["refused_mass_g"],
            flag_discrepancy=True,
        )
        self.sim.stock[(row["to_site_id"], row["material_id"])] += delta

    # -- writing ----------------------------------------------------------------------------
    def _insert_records(self) -> None:
        conn = self.s.connection()
        rows = self.sim.handovers
        imported = import_handovers(self.s, rows, label="demo-load")
        self.rows_digest = imported.digest
        bulk_insert(conn, Declaration.__table__, self.declarations)  # type: ignore[attr-defined]
        reset_sequence(conn, Declaration.__table__)  # type: ignore[attr-defined]
        self.report.handovers = len(rows)
        self.report.declarations = len(self.declarations)
