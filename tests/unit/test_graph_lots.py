"""Lots, not pools: a treating site keeps each sender's load apart (worked by hand).

The issue's three worked examples on the graph alone (the API tests repeat them end to end),
plus what a plant that ships on does, a return of mass refused in an earlier period, and the
split of each figure into what reached its fate directly and what was shared out at a pool.
"""

from __future__ import annotations

import pytest

from graph import (
    AWAITING_RETURN,
    OPENING_STOCK,
    STOCK,
    Flow,
    SiteNode,
    Treatment,
    attribute_fates,
    fates_by_origin,
    mass_balance,
    origin_shares,
)

T1, T2 = "T1", "T2"


def per_source(site: SiteNode) -> str:
    return str(site.id)


def test_each_load_goes_to_the_route_on_its_own_receipt() -> None:
    """Plant Q composts farm A's 2,000 kg and landfills farm B's 1,000 kg: A's township has
    2,000 kg utilised, B's none — not 2/3 of each, as a pool would say."""
    sites = [SiteNode(1, "source", T1), SiteNode(2, "source", T2), SiteNode(9, "processor", T1)]
    flows = [Flow(1, 9, "manure", 2000.0), Flow(2, 9, "manure", 1000.0)]
    treatments = [
        Treatment(9, "manure", "compost", "utilisation", 2000.0, src=1),
        Treatment(9, "manure", "landfill", "disposal", 1000.0, src=2),
    ]
    fates = attribute_fates(sites, flows, treatments, "manure", by="route")
    assert fates[T1]["compost"] == 2000.0 and fates[T1]["landfill"] == 0.0
    assert fates[T2]["compost"] == 0.0 and fates[T2]["landfill"] == 1000.0
    # The plant as a whole took in 2/3 from T1.
    assert origin_shares(sites, flows, "manure", treatments=treatments).of(9) == pytest.approx(
        {T1: 2 / 3, T2: 1 / 3}
    )


def test_a_pooled_load_refused_in_part_and_sent_back() -> None:
    """P pools 600 kg from C (T1) and 400 kg from D (T2) and ships 1,000 kg to R; R refuses
    100 kg and burns 900 kg as fuel; the 100 kg go back to P with the 60/40 mix."""
    sites = [
        SiteNode(1, "source", T1),
        SiteNode(2, "source", T2),
        SiteNode(10, "collection_point", T1),
        SiteNode(20, "processor", T1),
    ]
    flows = [
        Flow(1, 10, "straw", 600.0),
        Flow(2, 10, "straw", 400.0),
        Flow(10, 20, "straw", 1000.0),
        Flow(20, 10, "straw", 100.0, lot=10),  # the return of P's refused mass
    ]
    treatments = [Treatment(20, "straw", "fuel", "utilisation", 900.0, src=10)]
    found = fates_by_origin(sites, flows, treatments, "straw", per_source, by="route")
    fates = found.as_dict()
    assert fates["1"]["fuel"] == pytest.approx(540.0, rel=1e-12)
    assert fates["2"]["fuel"] == pytest.approx(360.0, rel=1e-12)
    # Back at P: 100 kg in stock, still 60/40.
    assert fates["1"][STOCK] == pytest.approx(60.0, rel=1e-12)
    assert fates["2"][STOCK] == pytest.approx(40.0, rel=1e-12)
    assert origin_shares(sites, flows, "straw", treatments=treatments).of(10) == pytest.approx(
        {T1: 0.6, T2: 0.4}
    )
    # All of it passed through P: none of it reached its fate directly.
    assert found.as_dict("direct")["1"]["fuel"] == 0.0
    balance = mass_balance(sites, flows, treatments)
    assert balance[10, "straw"].closing == pytest.approx(100.0)
    assert balance[20, "straw"].closing == pytest.approx(0.0)


def test_refused_mass_waiting_at_the_plant_does_not_dilute_other_loads() -> None:
    """K accepts 25,000 of F's 30,000 kg (5,000 refused, still at K) and all 10,000 of G's:
    F 25,000 utilised, G 10,000 (a pool would say 9,375); F's 5,000 wait at K."""
    sites = [SiteNode(1, "source", T1), SiteNode(2, "source", T2), SiteNode(9, "processor", T1)]
    flows = [Flow(1, 9, "isw.fly_ash", 30000.0), Flow(2, 9, "isw.fly_ash", 10000.0)]
    treatments = [
        Treatment(9, "isw.fly_ash", "raw_material", "utilisation", 25000.0, src=1),
        Treatment(9, "isw.fly_ash", "raw_material", "utilisation", 10000.0, src=2),
    ]
    found = fates_by_origin(sites, flows, treatments, "isw.fly_ash", by="site_route")
    fates = found.as_dict()
    assert fates[T1][(9, "raw_material")] == 25000.0
    assert fates[T2][(9, "raw_material")] == 10000.0
    assert fates[T1][(9, AWAITING_RETURN)] == 5000.0
    assert fates[T2][(9, AWAITING_RETURN)] == 0.0
    # Straight from the factories to the plant: all of it direct.
    assert found.as_dict("direct") == {
        g: {k: v for k, v in f.items() if k[1] != AWAITING_RETURN} | {(9, AWAITING_RETURN): 0.0}
        for g, f in fates.items()
    }


def test_a_storage_yard_ships_on_what_it_stored_as_a_pool() -> None:
    """Yard Y stores F's 600 kg and G's 400 kg, then ships 500 kg on to plant K, which uses
    it: the shipment carries the yard's 60/40 mix; the 500 kg left stay stored."""
    sites = [
        SiteNode(1, "source", T1),
        SiteNode(2, "source", T2),
        SiteNode(8, "disposal", T1),
        SiteNode(9, "processor", T1),
    ]
    flows = [
        Flow(1, 8, "isw.slag", 600.0),
        Flow(2, 8, "isw.slag", 400.0),
        Flow(8, 9, "isw.slag", 500.0),
    ]
    treatments = [
        Treatment(8, "isw.slag", "storage", "storage", 600.0, src=1),
        Treatment(8, "isw.slag", "storage", "storage", 400.0, src=2),
        Treatment(9, "isw.slag", "building_material", "utilisation", 500.0, src=8),
    ]
    fates = attribute_fates(sites, flows, treatments, "isw.slag", by="route")
    assert fates[T1]["building_material"] == pytest.approx(300.0)
    assert fates[T2]["building_material"] == pytest.approx(200.0)
    assert fates[T1]["storage"] == pytest.approx(300.0)
    assert fates[T2]["storage"] == pytest.approx(200.0)
    balance = mass_balance(sites, flows, treatments)
    assert balance[8, "isw.slag"].treated == 0.0  # storage is stock, not treatment
    assert balance[8, "isw.slag"].closing == pytest.approx(500.0)


def test_a_return_of_mass_refused_in_an_earlier_period_comes_from_opening_stock() -> None:
    """K holds 50 kg it refused from collection point P last period (its opening stock); this
    period it sends them away to a landfill and accepts P's new 100 kg load whole. The new
    load is not diluted by the old refusal."""
    sites = [SiteNode(1, "source", T1), SiteNode(5, "collection_point", T1)]
    sites += [SiteNode(9, "processor", T1), SiteNode(7, "disposal", T1)]
    flows = [Flow(1, 5, "m", 100.0), Flow(5, 9, "m", 100.0), Flow(9, 7, "m", 50.0, lot=5)]
    treatments = [
        Treatment(9, "m", "compost", "utilisation", 100.0, src=5),
        Treatment(7, "m", "landfill", "disposal", 50.0, src=9),
    ]
    fates = attribute_fates(sites, flows, treatments, "m", opening_stock={(9, "m"): 50.0})
    assert fates[T1]["utilisation"] == pytest.approx(100.0)
    assert fates[OPENING_STOCK]["utilisation"] == pytest.approx(0.0)
    assert fates[OPENING_STOCK]["disposal"] == pytest.approx(50.0)


def test_pooled_and_direct_parts_of_a_figure() -> None:
    """Farm A delivers 300 kg straight to the plant and 700 kg through a collection point:
    30 % of what the plant composts of A's reached it directly."""
    sites = [
        SiteNode(1, "source", T1),
        SiteNode(10, "collection_point", T1),
        SiteNode(20, "processor", T1),
    ]
    flows = [Flow(1, 20, "m", 300.0), Flow(1, 10, "m", 700.0), Flow(10, 20, "m", 700.0)]
    treatments = [
        Treatment(20, "m", "compost", "utilisation", 300.0, src=1),
        Treatment(20, "m", "compost", "utilisation", 700.0, src=10),
    ]
    found = fates_by_origin(sites, flows, treatments, "m", by="route")
    assert found.as_dict()[T1]["compost"] == pytest.approx(1000.0)
    assert found.as_dict("direct")[T1]["compost"] == pytest.approx(300.0)
