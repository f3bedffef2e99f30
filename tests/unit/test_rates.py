"""Every indicator worked by hand from reference/official-rates.md, on a tiny district."""

from __future__ import annotations

from datetime import date

import pytest

from wasteflow.errors import Invalid
from wasteflow.rates import (
    DeclarationRow,
    FlowRow,
    PeriodData,
    RateEngine,
    RegionInfo,
    RouteInfo,
    SiteInfo,
    TreatmentRow,
    parse_period,
)
from wasteflow.rates.memo import solved_memo as _solved_memo
from wasteflow.types import DeclarationKind, RegionLevel

D, T1, T2, V1, V2 = 1, 2, 3, 4, 5
REGIONS = {
    D: RegionInfo(D, "500156", RegionLevel.district, None, "武隆区", "Wulong"),
    T1: RegionInfo(T1, "500156101", RegionLevel.township, D, "白马镇", "Baima"),
    T2: RegionInfo(T2, "500156102", RegionLevel.township, D, "江口镇", "Jiangkou"),
    V1: RegionInfo(V1, "500156101201", RegionLevel.village, T1, "村一", "v1"),
    V2: RegionInfo(V2, "500156102201", RegionLevel.village, T2, "村二", "v2"),
}
MATERIALS = {
    1: ("film.agri", "film"),
    2: ("manure.pig", "manure"),
    3: ("straw.maize", "straw"),
    4: ("isw.fly_ash", "industrial"),
    5: ("hh.kitchen", "household"),
    6: ("hh.other", "household"),
    7: ("hh.recyclable", "household"),
    8: ("hh.hazardous", "household"),
    9: ("appliance.tv", "appliance"),
    10: ("rec.paper", "recyclable"),
}
ROUTES = {
    1: RouteInfo("recycling", "utilisation", True),
    2: RouteInfo("compost", "utilisation", True, "肥料化"),
    3: RouteInfo("landfill", "disposal", True),
    4: RouteInfo("building_material", "utilisation", True),
    5: RouteInfo("storage", "storage", False),
    6: RouteInfo("kitchen_treatment", "utilisation", True),
    7: RouteInfo("incineration_energy", "utilisation", True),
    8: RouteInfo("hazardous_treatment", "disposal", True),
    9: RouteInfo("dismantling", "utilisation", True),
}
# sites: 10 farm (V1), 11 farm (V2), 12 household cluster (V1), 13 factory (V1),
# 20 collection point (V1), 21 transfer station (T1), 30 compost plant, 31 landfill,
# 32 film recycler, 33 cement plant, 34 storage yard, 35 kitchen plant, 36 incinerator,
# 37 hazardous-waste centre, 38 dismantler
KINDS = {
    10: "source",
    11: "source",
    12: "source",
    13: "source",
    20: "collection_point",
    21: "transfer_station",
    30: "processor",
    31: "disposal",
    32: "processor",
    33: "processor",
    34: "disposal",
    35: "processor",
    36: "processor",
    37: "processor",
    38: "processor",
}
SITE_REGION = {10: V1, 11: V2, 12: V1, 13: V1, 20: V1, 21: T1}


def sites() -> dict[int, SiteInfo]:
    return {
        i: SiteInfo(i, f"S{i}", f"site {i}", k, SITE_REGION.get(i, T1), None, None, None)
        for i, k in KINDS.items()
    }


def flow(src: int, dst: int, m: int, kg: float, units: int = 0) -> FlowRow:
    g = round(kg * 1000)
    return FlowRow(src, dst, m, 1, g, 0, g, 0, g, units)


def treat(site: int, m: int, route: int, kg: float, units: int = 0, *, src: int) -> TreatmentRow:
    """What ``site`` accepted from ``src`` (the sender's lot) under ``route``."""
    return TreatmentRow(site, src, m, route, 1, round(kg * 1000), units)


def decl(
    i: int,
    kind: DeclarationKind,
    region: int,
    m: int,
    kg: float,
    field_return_kg: float = 0,
    cset: str | None = None,
) -> DeclarationRow:
    return DeclarationRow(i, kind, region, m, round(kg * 1000), cset, round(field_return_kg * 1000))


def engine(
    flows: list[FlowRow],
    treatments: list[TreatmentRow],
    declarations: list[DeclarationRow],
    **kw: object,
) -> RateEngine:
    return RateEngine(
        PeriodData(
            parse_period("2025"),
            REGIONS,
            sites(),
            MATERIALS,
            ROUTES,
            flows,
            treatments,
            declarations,
            **kw,
        )
    )  # type: ignore[arg-type]


def test_film_recovery_is_recovered_over_used() -> None:
    # 90 kg reached the village recovery point of 100 kg used: 90 %.
    e = engine(
        [flow(12, 20, 1, 90), flow(20, 32, 1, 90)],
        [treat(32, 1, 1, 90, src=20)],
        [decl(1, DeclarationKind.film_used, V1, 1, 100)],
    )
    f = e.figure("film_recovery", "500156101")
    assert (f.numerator_kg, f.denominator_kg, f.rate) == (90, 100, pytest.approx(0.9))
    assert f.handovers == 1 and f.declarations == 1  # counted once, at the first hop
    assert e.figure("film_recovery", "500156").rate == pytest.approx(0.9)


def test_manure_is_traced_through_a_pool_to_its_fate() -> None:
    # Farm 10 (T1) sends 200 t to the pool and 100 t straight to compost; farm 11 (T2) sends
    # 100 t to the pool. The pool (2/3 from farm 10) sends 150 t to compost, 150 t to landfill.
    # Farm 10 utilised: 100 + 150 × 2/3 = 200 t of 360 t produced = 55.6 %.
    e = engine(
        [
            flow(10, 20, 2, 200_000),
            flow(10, 30, 2, 100_000),
            flow(11, 20, 2, 100_000),
            flow(20, 30, 2, 150_000),
            flow(20, 31, 2, 150_000),
        ],
        [
            treat(30, 2, 2, 100_000, src=10),
            treat(30, 2, 2, 150_000, src=20),
            treat(31, 2, 3, 150_000, src=20),
        ],
        [
            decl(1, DeclarationKind.livestock_headcount, V1, 2, 360_000, cset="WL-2025"),
            decl(2, DeclarationKind.livestock_headcount, V2, 2, 80_000, cset="WL-2025"),
        ],
    )
    t1 = e.figure("manure_utilisation", "500156101")
    assert t1.numerator_kg == pytest.approx(200_000)
    assert t1.rate == pytest.approx(200_000 / 360_000)
    assert t1.coefficient_sets == ["WL-2025"]
    assert t1.components["by_route_kg"]["landfill"] == pytest.approx(100_000)
    t2 = e.figure("manure_utilisation", "500156102")
    assert t2.numerator_kg == pytest.approx(50_000) and t2.rate == pytest.approx(50_000 / 80_000)
    district = e.figure("manure_utilisation", "500156")
    assert district.numerator_kg == pytest.approx(250_000)  # mass counted once, at its fate


def test_straw_counts_field_return_and_the_ledger() -> None:
    # 10 t collectable, of which 3 t ploughed back; 6 t compost: (6 + 3) ÷ 10 = 90 %.
    e = engine(
        [flow(10, 30, 3, 6_000)],
        [treat(30, 3, 2, 6_000, src=10)],
        [decl(1, DeclarationKind.crop_output, V1, 3, 10_000, field_return_kg=3_000)],
    )
    f = e.figure("straw_utilisation", "500156101")
    assert f.numerator_kg == pytest.approx(9_000) and f.rate == pytest.approx(0.9)
    assert f.components["field_return_kg"] == 3_000
    # Composting and ploughing back are both 肥料化.
    assert f.components["five_uses_kg"] == {
        "fertiliser": 9_000,
        "feed": 0,
        "fuel": 0,
        "substrate": 0,
        "raw_material": 0,
    }
    # The compost plant is in T1 too: nothing brought in or sent out.
    assert f.components["brought_in_kg"] == 0 and f.components["sent_out_kg"] == 0


def test_straw_ledger_across_a_border() -> None:
    # T2's farm sends 4 t to T1's compost plant (site 30 is in T1): T1 brought it in, T2 sent
    # it out; by origin, it is T2's straw that was utilised.
    e = engine(
        [flow(11, 30, 3, 4_000)],
        [treat(30, 3, 2, 4_000, src=11)],
        [decl(1, DeclarationKind.crop_output, V2, 3, 5_000)],
    )
    t2 = e.figure("straw_utilisation", "500156102")
    assert t2.rate == pytest.approx(0.8) and t2.components["sent_out_kg"] == pytest.approx(4_000)
    t1 = e.figure("straw_utilisation", "500156101")
    assert t1.components["brought_in_kg"] == pytest.approx(4_000) and t1.rate is None


def test_industrial_counts_utilisation_from_earlier_storage_once() -> None:
    # Generated 1,000 t this year; the factory also ships 100 t from its old heap, and says so
    # by declaring 100 t utilised from earlier storage. It sends 700 t (600 this year's + the
    # 100 from the heap) to the cement plant and 400 t to the storage yard. The heap's 100 t
    # are in the traced 700 t already: (700) ÷ (1,000 + 100), not (700 + 100) ÷ 1,100.
    e = engine(
        [flow(13, 33, 4, 700_000), flow(13, 34, 4, 400_000)],
        [treat(33, 4, 4, 700_000, src=13), treat(34, 4, 5, 400_000, src=13)],
        [
            decl(1, DeclarationKind.industrial_generated, V1, 4, 1_000_000),
            decl(2, DeclarationKind.industrial_from_storage, V1, 4, 100_000),
        ],
    )
    f = e.figure("industrial_utilisation", "500156101")
    assert f.numerator_kg == pytest.approx(700_000)
    assert f.denominator_kg == pytest.approx(1_100_000)
    assert f.rate == pytest.approx(700 / 1100)
    assert f.components["utilised_from_storage_kg"] == 100_000
    assert "warnings" not in f.basis


def test_a_storage_declaration_beyond_what_was_traced_is_flagged() -> None:
    e = engine(
        [flow(13, 33, 4, 50_000)],
        [treat(33, 4, 4, 50_000, src=13)],
        [
            decl(1, DeclarationKind.industrial_generated, V1, 4, 100_000),
            decl(2, DeclarationKind.industrial_from_storage, V1, 4, 80_000),
        ],
    )
    f = e.figure("industrial_utilisation", "500156101")
    assert f.numerator_kg == pytest.approx(50_000)
    assert [w["code"] for w in f.basis["warnings"]] == ["storage_beyond_traced"]


def household_engine() -> RateEngine:
    # 1000 kg collected: kitchen 450, other 370, recyclable 170, hazardous 10, via the transfer
    # station. Kitchen: 315 to the kitchen plant, 135 to the incinerator; other: 320 to the
    # incinerator, 50 to landfill (raw!); recyclables recycled; hazardous treated.
    flows = [
        flow(12, 21, 5, 450),
        flow(12, 21, 6, 370),
        flow(12, 21, 7, 170),
        flow(12, 21, 8, 10),
        flow(21, 35, 5, 315),
        flow(21, 36, 5, 135),
        flow(21, 36, 6, 320),
        flow(21, 31, 6, 50),
        flow(21, 32, 7, 170),
        flow(21, 37, 8, 10),
        flow(12, 20, 10, 25),  # paper sold to the recycling network, outside the stream
        flow(20, 32, 10, 25),
    ]
    treatments = [
        treat(35, 5, 6, 315, src=21),
        treat(36, 5, 7, 135, src=21),
        treat(36, 6, 7, 320, src=21),
        treat(31, 6, 3, 50, src=21),
        treat(32, 7, 1, 170, src=21),
        treat(37, 8, 8, 10, src=21),
        treat(32, 10, 1, 25, src=20),
    ]
    decls = [
        decl(i, DeclarationKind.household_collected, T1, m, kg)
        for i, (m, kg) in enumerate([(5, 450), (6, 370), (7, 170), (8, 10)], start=1)
    ]
    return engine(
        flows,
        treatments,
        decls,
        conversion={"incineration_energy": 0.8, "kitchen_treatment": 1.0, "landfill": 0.0},
        conversion_set="WL-2025",
        conversion_unverified=frozenset({"incineration_energy", "landfill"}),
    )


def test_household_rates() -> None:
    e = household_engine()
    safe = e.figure("household_safe_treatment", "500156101")
    assert safe.numerator_kg == pytest.approx(1000) and safe.rate == pytest.approx(1.0)
    recycling = e.figure("household_recycling", "500156101")
    assert recycling.numerator_kg == pytest.approx(315 + 170)  # not incinerated or landfilled
    assert recycling.rate == pytest.approx(0.485)
    resource = e.figure("household_resource_utilisation", "500156101")
    # [25 paper recovered outside the stream + 170 household recyclables recycled
    #  + (135 + 320) × 0.8 + 315 × 1.0 + 50 × 0] ÷ (25 + 1000 collected): the 170 kg of
    # household recyclables sit in the collected 1000 kg, so they are counted once.
    assert resource.numerator_kg == pytest.approx(25 + 170 + 455 * 0.8 + 315)
    assert resource.denominator_kg == pytest.approx(1025)
    assert resource.components["recyclables_recovered_kg"] == 25
    assert resource.components["household_recyclables_utilised_kg"] == 170
    # Placeholders said in the figure: landfill's was used too (its 50 kg × 0).
    assert resource.basis["unverified_coefficients"] == [
        "incineration_energy.household_conversion_coefficient",
        "landfill.household_conversion_coefficient",
    ]
    assert resource.basis["warnings"][0]["code"] == "placeholder_coefficients"
    assert "placeholder" in resource.basis["warnings"][0]["text"]
    assert resource.coefficient_sets == ["WL-2025"]
    landfill = e.figure("household_raw_landfill", "500156101")
    assert landfill.numerator_kg == pytest.approx(50) and landfill.rate == pytest.approx(0.05)


def test_appliances_by_kind_in_units_and_kg_and_recyclables_by_kind() -> None:
    e = engine(
        [flow(12, 20, 9, 60, units=3), flow(20, 38, 9, 60, units=3), flow(12, 20, 10, 25)],
        [treat(38, 9, 9, 60, units=3, src=20)],
        [],
    )
    a = e.figure("appliance_dismantled", "500156101")
    assert a.components["by_kind"]["appliance.tv"] == {"kg": 60, "units": 3}
    assert a.rate is None and a.status == "ok"
    r = e.figure("recyclables_recovered", "500156")
    assert r.components["by_kind_kg"] == {"rec.paper": 25}


def test_a_missing_denominator_is_no_data_never_zero() -> None:
    e = engine([flow(12, 20, 1, 90)], [], [])
    f = e.figure("film_recovery", "500156101")
    assert f.rate is None and f.denominator_kg is None and f.status == "no_data"
    assert f.numerator_kg == 90
    assert e.figure("manure_utilisation", "500156").status == "no_data"


def test_rates_do_not_depend_on_record_order() -> None:
    base = household_engine()
    shuffled = RateEngine(
        PeriodData(
            base.d.period,
            REGIONS,
            sites(),
            MATERIALS,
            ROUTES,
            list(reversed(base.d.flows)),
            list(reversed(base.d.treatments)),
            list(reversed(base.d.declarations)),
            conversion=base.d.conversion,
        )
    )
    for key in ("household_safe_treatment", "household_recycling", "household_raw_landfill"):
        assert shuffled.figure(key, "500156").rate == base.figure(key, "500156").rate


@pytest.mark.parametrize(
    "text,start,end",
    [
        ("2025", date(2025, 1, 1), date(2025, 12, 31)),
        ("2025-q2", date(2025, 4, 1), date(2025, 6, 30)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2025-Q4", date(2025, 10, 1), date(2025, 12, 31)),
    ],
)
def test_periods(text: str, start: date, end: date) -> None:
    p = parse_period(text)
    assert (p.start, p.end) == (start, end)


@pytest.mark.parametrize("bad", ["25", "2025-Q5", "2025-13", "2025/01", "last year"])
def test_bad_periods_name_the_field(bad: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_period(bad)
    assert err.value.field == "period"


def test_unknown_indicator_and_region() -> None:
    e = engine([], [], [])
    with pytest.raises(Invalid, match="indicator"):
        e.figure("happiness", "500156")
    with pytest.raises(Invalid, match="region"):
        e.figure("film_recovery", "999")


def test_period_ranges() -> None:
    p = parse_period("2025..2025-06")
    assert (p.start, p.end, p.label) == (date(2025, 1, 1), date(2025, 6, 30), "2025..2025-06")
    with pytest.raises(Invalid):
        parse_period("2025-06..2025-01")


def _manure_flows(farm_to_pool_kg: float = 200_000) -> list[FlowRow]:
    return [
        flow(10, 20, 2, farm_to_pool_kg),
        flow(11, 20, 2, 100_000),
        flow(20, 30, 2, 150_000),
        flow(20, 31, 2, farm_to_pool_kg - 50_000),
    ]


def _manure_treatments(farm_to_pool_kg: float = 200_000) -> list[TreatmentRow]:
    return [
        treat(30, 2, 2, 150_000, src=20),
        treat(31, 2, 3, farm_to_pool_kg - 50_000, src=20),
    ]


def _flat(fates: dict[int, dict[str, float]]) -> dict[tuple[int, str], float]:
    return {(rid, route): kg for rid, routes in fates.items() for route, kg in routes.items()}


def test_an_attribution_is_reused_across_engines_only_while_its_inputs_are_unchanged() -> None:
    # Each data version gets a new engine; a material's attribution is kept between them
    # while the material's rows, opening stock and the sites are equal by value.
    _solved_memo.clear()
    straw, composted = (
        [flow(11, 30, 3, 4_000)],
        [*_manure_treatments(), treat(30, 3, 2, 4_000, src=11)],
    )
    first = engine(_manure_flows() + straw, composted, [])
    manure = first.fates("manure.pig")
    assert manure[V1]["compost"] == pytest.approx(100_000)  # farm 10: half of the pool's

    # A scan of film (another material): manure's attribution is the same object.
    film = [flow(12, 20, 1, 12.5)]
    after_film = engine(_manure_flows() + straw + film, composted, [])
    assert after_film.attributed("manure.pig") is first.attributed("manure.pig")
    assert after_film.fates("manure.pig") == manure

    # More manure from farm 10: solved again, and what a fresh solve gives.
    more = engine(_manure_flows(300_000), _manure_treatments(300_000), [])
    changed = more.fates("manure.pig")
    assert more.attributed("manure.pig") is not first.attributed("manure.pig")
    assert changed[V1]["compost"] == pytest.approx(150_000 * 3 / 4)
    _solved_memo.clear()
    fresh = engine(_manure_flows(300_000), _manure_treatments(300_000), []).fates("manure.pig")
    assert _flat(fresh) == pytest.approx(_flat(changed))

    # The same rows with farm 10 moved to village V2: the origins change, so solved again.
    SITE_REGION[10] = V2
    try:
        moved = engine(_manure_flows(), _manure_treatments(), [])
        assert V1 not in moved.fates("manure.pig")
        assert moved.figure("manure_utilisation", "500156102").numerator_kg == pytest.approx(
            150_000
        )
    finally:
        SITE_REGION[10] = V1

    # Opening stock at the pool is an input too.
    stocked = engine(
        _manure_flows(), _manure_treatments(), [], opening_stock={(20, "manure.pig"): 50_000.0}
    )
    assert _flat(stocked.fates("manure.pig")) != pytest.approx(_flat(manure))
    unstocked = engine(_manure_flows(), _manure_treatments(), []).fates("manure.pig")
    assert _flat(unstocked) == pytest.approx(_flat(manure))
