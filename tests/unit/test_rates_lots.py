"""The lot rule as a law: with no pools, a township's numerator is its own loads' accepted mass.

When every source delivers straight to processors, nothing is shared out in proportion, so
each township's utilised mass must be the plain sum of what its own loads had accepted under
utilisation routes — whatever other townships' loads at the same plants had refused, sent
back, or had treated under other routes.
"""

from __future__ import annotations

import math
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_rates import REGIONS, T1, V1, V2
from wasteflow.rates import (
    FlowRow,
    PeriodData,
    RateEngine,
    ReturnRow,
    RouteInfo,
    SiteInfo,
    TreatmentRow,
    parse_period,
)

MANURE = 1
ROUTES = {
    1: RouteInfo("compost", "utilisation", True),
    2: RouteInfo("biogas", "utilisation", True),
    3: RouteInfo("landfill", "disposal", True),
    4: RouteInfo("storage", "storage", False),
}
SOURCES = {10: V1, 11: V1, 12: V2, 13: V2}
PLANTS = (30, 31, 32)
TOWNSHIP = {V1: "500156101", V2: "500156102"}


@st.composite
def loads(draw) -> tuple[list[FlowRow], list[TreatmentRow], list[ReturnRow], dict[str, int]]:
    """Loads from sources to plants; each received, partly refused, its accepted grams split
    between routes, part of its refusal sent back. Also the expected numerator per township."""
    flows: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * 4)
    treated: dict[tuple[int, int, int], int] = defaultdict(int)
    returned: dict[tuple[int, int], int] = defaultdict(int)
    expected: dict[str, int] = defaultdict(int)
    for _ in range(draw(st.integers(1, 12))):
        src = draw(st.sampled_from(sorted(SOURCES)))
        plant = draw(st.sampled_from(PLANTS))
        received = draw(st.integers(1, 5_000_000))
        refused = draw(st.integers(0, received))
        accepted = received - refused
        row = flows[(src, plant)]
        row[0] += 1
        row[1] += received
        row[2] += refused
        row[3] += accepted
        left = accepted
        for route in sorted(ROUTES):
            part = left if route == max(ROUTES) else draw(st.integers(0, left))
            left -= part
            if part:
                treated[(plant, src, route)] += part
                if ROUTES[route].route_class == "utilisation":
                    expected[TOWNSHIP[SOURCES[src]]] += part
        back = draw(st.integers(0, refused))
        if back:
            returned[(src, plant)] += back
    flow_rows = [
        FlowRow(s, p, MANURE, n, rec, 0, rec, ref, acc, 0)
        for (s, p), (n, rec, ref, acc) in sorted(flows.items())
    ]
    flow_rows += [
        FlowRow(p, s, MANURE, 1, g, 0, g, 0, g, 0) for (s, p), g in sorted(returned.items())
    ]
    treatments = [
        TreatmentRow(p, s, MANURE, r, 1, g, 0) for (p, s, r), g in sorted(treated.items())
    ]
    returns = [ReturnRow(s, p, s, MANURE, 1, g, 0, g) for (s, p), g in sorted(returned.items())]
    return flow_rows, treatments, returns, dict(expected)


@settings(max_examples=150, deadline=None)
@given(loads())
def test_without_pools_each_township_gets_exactly_its_own_loads(case) -> None:  # type: ignore[no-untyped-def]
    flows, treatments, returns, expected = case
    sites = {
        i: SiteInfo(i, f"S{i}", f"site {i}", "source", region, None, None, None)
        for i, region in SOURCES.items()
    } | {p: SiteInfo(p, f"P{p}", f"plant {p}", "processor", T1, None, None, None) for p in PLANTS}
    engine = RateEngine(
        PeriodData(
            parse_period("2025"),
            REGIONS,
            sites,
            {MANURE: ("manure.pig", "manure")},
            ROUTES,
            flows,
            treatments,
            [],
            returns=returns,
        )
    )
    for code in ("500156101", "500156102"):
        got = engine.figure("manure_utilisation", code)
        assert math.isclose(got.numerator_kg, expected.get(code, 0) / 1000, abs_tol=0.0015)
        assert got.basis["pooled_kg"] == 0
    district = engine.figure("manure_utilisation", "500156").numerator_kg
    assert math.isclose(district, sum(expected.values()) / 1000, abs_tol=0.003)
