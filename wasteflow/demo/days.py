"""The days of the demo: pools ship what they hold, sources hand over, plants confirm.

Each day, collection points, manure collection points and transfer stations first ship on
what they held at the end of the day before (on their own weekdays and dates), then the
sources hand over: household clusters weekly, crop farms at harvest, livestock farms weekly,
factories as their loads come. Every load is confirmed by the receiving site's account,
except those of the demo's last two days, which are still on their way. The anomalies in
``PLANTED`` are placed in the days they are due, once a year, so every full year shows each
of them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from wasteflow.demo.district import District
from wasteflow.demo.year import Year
from wasteflow.types import HandoverStatus

RECYCLABLE_KINDS = ["paper", "plastics", "ferrous", "glass", "textiles", "nonferrous", "batteries"]
APPLIANCE_KG = {
    "appliance.tv": 20,
    "appliance.refrigerator": 45,
    "appliance.washing_machine": 35,
    "appliance.air_conditioner": 40,
    "appliance.computer": 10,
}


def route_for(
    proc: dict[str, int], route: dict[str, int], rng: random.Random, site: int, material: str
) -> int:
    """The treatment route a district plant names at a receipt of a material."""
    p = proc
    if site == p["WL-PR-ORGF"]:
        code = "organic_fertiliser" if material.startswith("manure") else "compost"
    elif site == p["WL-PR-STRW"]:
        code = rng.choice(["feed", "fuel", "substrate", "raw_material"])
    elif site == p["WL-PR-CEMT"]:
        code = "raw_material" if material == "isw.coal_gangue" else "building_material"
    elif site == p["WL-DS-LNDF"]:
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
        }[site]
    return route[code]


class Days:
    """Runs the days of the demo's years over one district, keeping what carries from one
    year to the next (stock in the pools, appliances waiting at collection points)."""

    def __init__(self, district: District, last_day: date):
        self.g = district
        self.rng = district.rng
        self.sim = district.sim
        self.mat = district.mat
        self.proc = district.proc
        self.receiver = district.receivers()
        self.last_day = last_day
        # Loads of the last two days are still on their way when the demo ends.
        self.in_transit_from = last_day - timedelta(days=1)
        self.units: dict[tuple[int, str], int] = defaultdict(int)
        self.planted_by_year: dict[int, set[str]] = {}
        plan = district.plan
        self.far_cluster = plan[2]["cps"][0]["clusters"][0]["id"]
        self.greedy_cluster = plan[7]["cps"][1]["clusters"][0]["id"]
        self.refusing_cp = plan[5]["cps"][0]["cp"]
        self.overshipping_cp = plan[9]["cps"][2]["cp"]

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
        """A load between sites, received by the destination's account (unless it is still on
        its way when the demo ends)."""
        if mass_g < 1000:
            # Too little to move: a pool keeps it for the next shipment.
            self.sim.stock[(frm, self.mat[material])] += max(mass_g, 0)
            return None
        receiver: int | None = self.receiver[to]
        if day >= self.in_transit_from:
            receiver = None
        route = None
        if to in self.g.proc_account and receiver:
            route = route_for(self.proc, self.g.route, self.rng, to, material)
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

    def run(self, y: Year) -> None:
        """Run the year's days, from 1 January to its last day."""
        rng, sim, year, p = self.rng, self.sim, y.year, self.proc
        plan, weekdays, units = self.g.plan, y.weekdays, self.units
        raw_landfill, hh_collected = self.g.raw_landfill, y.hh_collected
        source_events = y.source_events
        planted_done = self.planted_by_year.setdefault(year, set())
        far_cluster, greedy_cluster = self.far_cluster, self.greedy_cluster
        refusing_cp, overshipping_cp = self.refusing_cp, self.overshipping_cp
        start, end = y.start, y.end
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
                            refuse = cp == refusing_cp and d.month == 10
                            self._ship_film(d, cp, op, planted_done, refuse=refuse)
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
                                kind = rng.choice(RECYCLABLE_KINDS)
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
                                unit_kg = APPLIANCE_KG[kind]
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

    def _ship_film(self, d: date, cp: int, op: int, planted: set[str], refuse: bool) -> None:
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
        planted.add("refused_load")
        back = d + timedelta(days=1)
        if back > self.last_day:
            return  # the plant sends it back after the demo's last day
        self.sim.handover(
            back,
            self.proc["WL-PR-FILM"],
            cp,
            film,
            row["received_mass_g"],
            recorder=self.g.proc_account[self.proc["WL-PR-FILM"]],
            receiver=op if back < self.in_transit_from else None,
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
