"""The demo district's sites, organisations, accounts and collection rounds.

:class:`District` lays out the district once, whatever years the demo then simulates: the
13 district plants, in every township a transfer station (and sometimes a manure collection
point), in every village a collection point, household clusters, crop farms and perhaps a
livestock farm, and the industrial sources. It draws each township's performance per
indicator, so some townships meet the plan's targets and some miss them, and it keeps the
declarations the simulated years add (:meth:`District.declare`).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.bulk import bulk_insert, reset_sequence
from wasteflow.demo.data import (
    ANIMAL_MATERIAL,
    CROPS,
    DEMO_PASSWORD,
    ENGLISH_NAMES,
    FACTORIES,
    HOUSEHOLD_FRACTIONS,
    LIVESTOCK,
    PROCESSORS,
    DemoAccount,
    DemoReport,
    slug,
)
from wasteflow.demo.sim import Sim
from wasteflow.models import (
    Account,
    AccountRound,
    AccountSite,
    CollectionRound,
    Material,
    Organisation,
    Region,
    RoundSite,
    Site,
    SiteMaterial,
    SiteRoute,
    TreatmentRoute,
)
from wasteflow.security import hash_password
from wasteflow.services.declarations import identity
from wasteflow.types import (
    Basis,
    DeclarationKind,
    RecordStatus,
    RegionLevel,
    Role,
    SiteKind,
    utcnow,
)


class District:
    """The district as laid out: rows to insert, ids, the plan of every township and village,
    each township's performance, and the declarations the simulated years add."""

    def __init__(self, session: Session, rng: random.Random, sim: Sim, report: DemoReport):
        self.s = session
        self.rng = rng
        self.sim = sim
        self.report = report
        self.mat: dict[str, int] = dict(
            session.execute(sa.select(col(Material.code), col(Material.id))).all()
        )
        self.route: dict[str, int] = dict(
            session.execute(sa.select(col(TreatmentRoute.code), col(TreatmentRoute.id))).all()
        )
        self.sites: list[dict[str, Any]] = []
        self.site_materials: list[dict[str, int]] = []
        self.site_routes: list[dict[str, int]] = []
        self.orgs: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self.account_sites: list[dict[str, int]] = []
        self.declarations: list[dict[str, Any]] = []
        # What build() lays out.
        self.region_id = 0
        self.admin_id = 0
        self.plan: list[dict[str, Any]] = []
        self.factories: list[dict[str, Any]] = []
        self.proc: dict[str, int] = {}
        self.proc_account: dict[int, int] = {}
        self.perf: dict[str, dict[str, float]] = {}
        self.raw_landfill: set[str] = set()

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

    def declare(
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
        coefficient_set_id: int | None = None,
    ) -> None:
        """Add a declaration (the rows are inserted with the handovers)."""
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
                "coefficient_set_id": coefficient_set_id if basis == Basis.estimated else None,
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
        """Lay out the district and insert its sites, organisations, accounts and rounds."""
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
        assert district.id is not None  # read from the database
        self.region_id = district.id

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
        self.perf, self.raw_landfill = perf, raw_landfill
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
        proc = self.proc
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

        # Townships: transfer station, village collection points, sources.
        plan: list[dict[str, Any]] = []
        for t in townships:
            township_slug = slug(t.name_en)
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
            t_plan: dict[str, Any] = {"t": t, "ts": ts, "cps": [], "slug": township_slug}
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
                f"operator.{township_slug}",
                Role.site_operator,
                f"{t.name_zh}回收点与转运站操作员（示例）",
                org,
                [ts, *cp_ids] + ([manure_cp] if manure_cp else []),
                pw,
            )
            collector = self._account(
                f"collector.{township_slug}",
                Role.collector,
                f"{t.name_zh}回收员（示例）",
                org,
                [],
                pw,
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
        factories = self.factories
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

        self.plan = plan
        self._insert_reference_rows(plan)

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

    # -- who receives where ---------------------------------------------------------------
    def receivers(self) -> dict[int, int]:
        """The account that confirms the loads reaching each receiving site."""
        receiver: dict[int, int] = dict(self.proc_account)
        for tp in self.plan:
            receiver[tp["ts"]] = tp["operator"]
            if tp["manure_cp"]:
                receiver[tp["manure_cp"]] = tp["operator"]
            for vp in tp["cps"]:
                receiver[vp["cp"]] = tp["operator"]
        return receiver
