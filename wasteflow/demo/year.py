"""One simulated year of the demo: what the sources will hand over, and what they declare.

A year is planned before its days are run: every household cluster's film, every crop
farm's harvest, every livestock farm's weekly manure and every factory's loads become events
on the days they happen, and the year's declarations (film used, crop output, head counts,
industrial waste generated) are written as an official would receive them. A year still in
progress (the current one) runs to its last day so far: its declarations cover what had
happened by then — film used in the planting season so far, the crops whose harvest has
begun, head counts over the days so far, the factories' output pro rata — and events after
its last day never happen.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from wasteflow.demo.data import ANIMAL_MATERIAL, CROPS, LIVESTOCK
from wasteflow.demo.district import District
from wasteflow.estimates import collectable_straw, manure_produced
from wasteflow.services.coefficients import coefficient_set_for, read_coefficients
from wasteflow.types import Basis, DeclarationKind

# Film goes on the fields in spring: what a year has used so far grows over these days.
FILM_SEASON = ((3, 1), (5, 31))


@dataclass
class Year:
    """A year to simulate, from 1 January to its last day (31 December once it is over)."""

    year: int
    end: date
    source_events: dict[date, list[tuple[Any, ...]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    weekdays: dict[int, int] = field(default_factory=dict)
    # Household waste handed over, by (township, month, material), for the monthly
    # declarations of waste collected.
    hh_collected: dict[tuple[int, int, str], int] = field(default_factory=lambda: defaultdict(int))

    @property
    def start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def complete(self) -> bool:
        return self.end == date(self.year, 12, 31)

    @property
    def elapsed(self) -> float:
        """The share of the year's days run (1 for a complete year)."""
        days = (date(self.year, 12, 31) - self.start).days + 1
        return ((self.end - self.start).days + 1) / days

    def film_used_share(self) -> float:
        """The share of the year's film on the fields by its last day."""
        if self.complete:
            return 1.0
        first, last = (date(self.year, *md) for md in FILM_SEASON)
        share = ((self.end - first).days + 1) / ((last - first).days + 1)
        return min(1.0, max(0.0, share))


def drift(perf: dict[str, dict[str, float]], rng: Any) -> dict[str, dict[str, float]]:
    """Next year's performance: each township's rates move a little, up or down (so the
    year-on-year comparisons have something to show)."""
    return {
        code: {ind: min(0.99, max(0.55, v + rng.gauss(0, 0.025))) for ind, v in rates.items()}
        for code, rates in perf.items()
    }


def plan_year(
    district: District, y: Year, perf: dict[str, dict[str, float]]
) -> dict[date, list[tuple[Any, ...]]]:
    """The year's source events by day, and its declarations (added to the district)."""
    g, rng, p = district, district.rng, district.proc
    year, start, end = y.year, y.start, y.end
    year_end = date(year, 12, 31)
    cset = coefficient_set_for(g.s, year=year, region_id=g.region_id)
    assert cset.id is not None  # read from the database
    cset_id = cset.id
    coeffs = read_coefficients(g.s, cset_id)
    events = y.source_events
    film_share = y.film_used_share()

    for tp in g.plan:
        t = tp["t"]
        for vp in tp["cps"]:
            v, cp = vp["v"], vp["cp"]
            y.weekdays[cp] = rng.randrange(7)
            used = 0.0
            for c in vp["clusters"]:
                used += c["film_kg"]
                recovered = c["film_kg"] * perf[t.code]["film"] * rng.uniform(0.97, 1.03)
                days = sorted(start + timedelta(days=rng.randint(181, 333)) for _ in range(3))
                for d in days:
                    events[d].append(("film", c["id"], cp, recovered / 3, tp))
            if film_share > 0:
                g.declare(
                    DeclarationKind.film_used,
                    v.id,
                    None,
                    "film.agri",
                    start,
                    end,
                    round(used * film_share, 3),
                    "kg",
                    used * film_share,
                    Basis.declared,
                )
            for f in vp["farms"]:
                for crop in f["crops"]:
                    t_per_mu, months = CROPS[crop]
                    sown = rng.uniform(15, 180)
                    output = sown * t_per_mu * 1000 * rng.uniform(0.85, 1.15)
                    returned = sown * rng.uniform(0.15, 0.5)
                    est = collectable_straw(coeffs, crop, output, sown, returned)
                    # A crop is declared once its harvest has begun.
                    harvested = date(year, min(months), 1) <= end
                    if harvested:
                        g.declare(
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
                            coefficient_set_id=cset_id,
                        )
                    ship = est.collectable_kg * perf[t.code]["straw"] - est.field_return_kg
                    loads = max(1, math.ceil(ship / 15_000))
                    dest = p["WL-PR-STRW"] if rng.random() < 0.7 else p["WL-PR-ORGF"]
                    for _ in range(loads):
                        month = rng.choice(months)
                        d = date(year, month, rng.randint(1, 28))
                        events[d].append(("straw", f["id"], dest, ship / loads, tp, crop))
            for lf in vp["livestock"]:
                per_material: dict[str, float] = defaultdict(float)
                for animal, lo, hi in LIVESTOCK[lf["kind"]]:
                    heads = rng.randint(lo, hi)
                    whole = manure_produced(
                        coeffs, animal, heads, period_start=start, period_end=year_end
                    )
                    declared = whole
                    if not y.complete:
                        # A stock count counts the days so far; a slaughter count, the
                        # animals slaughtered so far.
                        if whole.count_basis == "slaughtered":
                            heads = round(heads * y.elapsed)
                        declared = manure_produced(
                            coeffs, animal, heads, period_start=start, period_end=end
                        )
                    g.declare(
                        DeclarationKind.livestock_headcount,
                        v.id,
                        lf["id"],
                        ANIMAL_MATERIAL[animal],
                        start,
                        end,
                        heads,
                        "head",
                        declared.produced_kg,
                        Basis.estimated,
                        declared.detail(),
                        qualifier=animal,
                        coefficient_set_id=cset_id,
                    )
                    per_material[ANIMAL_MATERIAL[animal]] += whole.produced_kg
                dest = tp["manure_cp"] or (
                    p["WL-PR-ORGF"] if rng.random() < 0.5 else p["WL-PR-BIOG"]
                )
                wd = rng.randrange(7)
                for material, produced in per_material.items():
                    weekly = produced * perf[t.code]["manure"] / 52
                    d = start + timedelta(days=wd)
                    while d <= year_end:
                        events[d].append(
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
    for f in g.factories:
        for material, tonnes in f["outputs"].items():
            g.declare(
                DeclarationKind.industrial_generated,
                f["t"].id,
                f["id"],
                material,
                start,
                end,
                tonnes * 1000 * y.elapsed,
                "kg",
                tonnes * 1000 * y.elapsed,
                Basis.declared,
            )
            loads = int(tonnes / 40)
            for _ in range(loads):
                d = start + timedelta(days=rng.randrange(365 if year % 4 else 366))
                events[d].append(("industrial", f, material, tonnes * 1000 / loads))
    return events


def declare_household_waste(district: District, y: Year) -> None:
    """Each township's household waste collected, month by month (the last month to the
    year's last day), from what its clusters handed over."""
    for (tid, month, m), grams in sorted(y.hh_collected.items()):
        first = date(y.year, month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        district.declare(
            DeclarationKind.household_collected,
            tid,
            None,
            m,
            first,
            min(last, y.end),
            grams / 1000,
            "kg",
            grams / 1000,
            Basis.declared,
        )
