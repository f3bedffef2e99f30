"""Hand-computed examples of the flow graph: balance, attribution, Sankey, networkx export."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

import graph.attribution
from graph import (
    AWAITING_RETURN,
    OPENING_STOCK,
    STOCK,
    UNEXPLAINED,
    Flow,
    FlowNetwork,
    SiteNode,
    Treatment,
    attribute_fates,
    balance_arrays,
    build_graph,
    mass_balance,
    origin_shares,
    sankey,
    utilised_by_origin,
)

R1, R2 = "500156101", "500156102"


def per_source(site: SiteNode) -> str:
    return str(site.id)


def site(id: int, kind: str, region: str = R1, **kw) -> SiteNode:
    return SiteNode(id, kind, region, **kw)


def treat(
    site_id: int,
    kg: float,
    route: str = "compost",
    cls: str = "utilisation",
    m="manure",
    src: int | None = None,
):
    return Treatment(site_id, m, route, cls, kg, src=src)


# A chain: source 1 -> collection point 10 -> transfer station 20 -> processor 30.
CHAIN_SITES = [
    site(1, "source"),
    site(10, "collection_point"),
    site(20, "transfer_station"),
    site(30, "processor", R2),
]
CHAIN_FLOWS = [
    Flow(1, 10, "manure", 100.0),
    Flow(10, 20, "manure", 90.0),
    Flow(20, 30, "manure", 90.0),
]
CHAIN_TREATMENTS = [treat(30, 70.0, src=20), treat(30, 20.0, "landfill", "disposal", src=20)]

# Two sources pooling 30/70 at a collection point that sends half to a composter and half to
# a landfill.
POOL_SITES = [
    site(1, "source", R1),
    site(2, "source", R2),
    site(10, "collection_point", R1),
    site(20, "processor", R1),
    site(30, "disposal", R2),
]
POOL_FLOWS = [
    Flow(1, 10, "manure", 30.0),
    Flow(2, 10, "manure", 70.0),
    Flow(10, 20, "manure", 50.0),
    Flow(10, 30, "manure", 50.0),
]
POOL_TREATMENTS = [treat(20, 50.0, src=10), treat(30, 50.0, "landfill", "disposal", src=10)]

# A cycle between two collection points: 11 sends 40 to 12, 12 sends 20 back.
# Shares of R1: a at 11, b at 12 with a = (100 + 20 b) / 120 and b = 40 a / 90: a = 0.9, b = 0.4.
CYCLE_SITES = [
    site(1, "source", R1),
    site(2, "source", R2),
    site(11, "collection_point", R1),
    site(12, "collection_point", R2),
    site(30, "processor", R1),
]
CYCLE_FLOWS = [
    Flow(1, 11, "manure", 100.0),
    Flow(2, 12, "manure", 50.0),
    Flow(11, 12, "manure", 40.0),
    Flow(12, 11, "manure", 20.0),
    Flow(11, 30, "manure", 80.0),
    Flow(12, 30, "manure", 70.0),
]
# The processor composts all 80 kg from 11 and 40 of the 70 kg from 12; it landfills the rest
# of 12's load. Each load keeps its own mix there (a processor is not a pool).
CYCLE_TREATMENTS = [
    treat(30, 80.0, src=11),
    treat(30, 40.0, src=12),
    treat(30, 30.0, "landfill", "disposal", src=12),
]


def test_chain_balance() -> None:
    b = mass_balance(CHAIN_SITES, CHAIN_FLOWS, CHAIN_TREATMENTS)
    assert list(b) == [(1, "manure"), (10, "manure"), (20, "manure"), (30, "manure")]
    assert b[1, "manure"].generated == 100.0
    assert b[1, "manure"].closing == 0.0
    assert (b[10, "manure"].inflow, b[10, "manure"].outflow, b[10, "manure"].closing) == (
        100.0,
        90.0,
        10.0,
    )
    assert b[20, "manure"].closing == 0.0
    assert b[30, "manure"].treated == 90.0
    assert b[30, "manure"].closing == 0.0
    assert all(b[k].generated == 0.0 for k in b if k[0] != 1)


def test_chain_attribution_and_fates() -> None:
    shares = origin_shares(CHAIN_SITES, CHAIN_FLOWS, "manure", treatments=CHAIN_TREATMENTS)
    assert list(shares.site_ids) == [1, 10, 20, 30]
    assert all(shares.of(s) == {R1: 1.0} for s in (1, 10, 20, 30))
    assert shares.mass_of(20) == {R1: 90.0}
    fates = attribute_fates(CHAIN_SITES, CHAIN_FLOWS, CHAIN_TREATMENTS, "manure", per_source)
    assert fates == {
        "1": pytest.approx(
            {"utilisation": 70.0, "disposal": 20.0, "storage": 0.0, STOCK: 10.0, AWAITING_RETURN: 0}
        )
    }


def test_pool_thirty_seventy_attribution_is_exact() -> None:
    shares = origin_shares(POOL_SITES, POOL_FLOWS, "manure", treatments=POOL_TREATMENTS)
    for s in (10, 20, 30):
        assert shares.of(s) == pytest.approx({R1: 0.3, R2: 0.7}, rel=1e-12)
    assert shares.of(1) == {R1: 1.0}
    assert shares.groups == (R1, R2)
    used = utilised_by_origin(POOL_SITES, POOL_FLOWS, POOL_TREATMENTS, "manure")
    assert used == {
        R1: pytest.approx({"utilisation": 15.0, "disposal": 15.0, "storage": 0.0}, rel=1e-12),
        R2: pytest.approx({"utilisation": 35.0, "disposal": 35.0, "storage": 0.0}, rel=1e-12),
    }
    by_route = attribute_fates(
        POOL_SITES, POOL_FLOWS, POOL_TREATMENTS, "manure", per_source, by="route"
    )
    assert by_route["2"] == pytest.approx(
        {"compost": 35.0, "landfill": 35.0, STOCK: 0.0, AWAITING_RETURN: 0.0}
    )


def test_cycle_between_two_collection_points() -> None:
    shares = origin_shares(CYCLE_SITES, CYCLE_FLOWS, "manure", treatments=CYCLE_TREATMENTS)
    assert shares.of(11) == pytest.approx({R1: 0.9, R2: 0.1}, rel=1e-12)
    assert shares.of(12) == pytest.approx({R1: 0.4, R2: 0.6}, rel=1e-12)
    # The processor receives 80 * 0.9 + 70 * 0.4 = 100 kg from R1 and 50 kg from R2.
    assert shares.mass_of(30) == pytest.approx({R1: 100.0, R2: 50.0}, rel=1e-12)
    used = utilised_by_origin(CYCLE_SITES, CYCLE_FLOWS, CYCLE_TREATMENTS, "manure")
    # 11's load (0.9 R1) is composted whole; 12's (0.4 R1) is 40 composted, 30 landfilled.
    assert used[R1] == pytest.approx({"utilisation": 72.0 + 16.0, "disposal": 12.0, "storage": 0})
    assert used[R2] == pytest.approx({"utilisation": 8.0 + 24.0, "disposal": 18.0, "storage": 0})


def test_general_sparse_lu_gives_the_same_shares(monkeypatch) -> None:
    """The topological ordering is only a speed-up: if the components ever came out in
    another order, the general sparse LU (COLAMD) must take over with the same answer."""
    sites = [*CYCLE_SITES, site(40, "transfer_station")]
    flows = [*CYCLE_FLOWS, Flow(11, 40, "manure", 10.0), Flow(40, 30, "manure", 5.0)]
    expected = origin_shares(sites, flows, "manure").shares
    real_components, real_splu = graph.attribution.connected_components, graph.attribution.splu
    orderings = []

    def scrambled(*args, **kwargs):
        n, label = real_components(*args, **kwargs)
        return n, (n - 1) - label

    def recording_splu(matrix, **kwargs):
        orderings.append(kwargs.get("permc_spec"))
        return real_splu(matrix, **kwargs)

    monkeypatch.setattr(graph.attribution, "connected_components", scrambled)
    monkeypatch.setattr(graph.attribution, "splu", recording_splu)
    again = origin_shares(sites, flows, "manure")
    assert orderings == ["COLAMD"]
    np.testing.assert_allclose(again.shares, expected, rtol=1e-12)


def test_long_chain_of_pools() -> None:
    n = 2000
    sites = [site(0, "source", R1)] + [site(i, "collection_point") for i in range(1, n)]
    flows = [Flow(i, i + 1, "m", 100.0 - 0.01 * i) for i in range(n - 1)]
    fates = attribute_fates(sites, flows, [], "m", per_source)
    # Every pool keeps 0.01 kg; the last one keeps all it received.
    assert fates["0"][STOCK] == pytest.approx(100.0, rel=1e-12)
    shares = origin_shares(sites, flows, "m")
    assert shares.of(n - 1) == {R1: pytest.approx(1.0)}


def test_outflow_above_inflow_is_unexplained_mass() -> None:
    sites = [site(1, "source"), site(10, "collection_point"), site(20, "processor")]
    flows = [Flow(1, 10, "m", 100.0), Flow(10, 20, "m", 120.0)]
    treatments = [treat(20, 120.0, m="m", src=10)]
    shares = origin_shares(sites, flows, "m", treatments=treatments)
    assert shares.of(10) == pytest.approx({R1: 100 / 120, UNEXPLAINED: 20 / 120})
    assert shares.of(20) == pytest.approx({R1: 100 / 120, UNEXPLAINED: 20 / 120})
    fates = utilised_by_origin(sites, flows, treatments, "m")
    assert fates[R1]["utilisation"] == pytest.approx(100.0)
    assert fates[UNEXPLAINED]["utilisation"] == pytest.approx(20.0)


def test_opening_stock_is_an_origin_when_given() -> None:
    sites = [site(1, "source"), site(10, "collection_point"), site(20, "processor")]
    flows = [Flow(1, 10, "m", 60.0), Flow(10, 20, "m", 80.0)]
    treatments = [treat(20, 80.0, m="m", src=10)]
    opening = {(10, "m"): 40.0}
    shares = origin_shares(sites, flows, "m", treatments=treatments, opening_stock=opening)
    assert shares.of(10) == pytest.approx({R1: 0.6, OPENING_STOCK: 0.4})
    fates = attribute_fates(sites, flows, treatments, "m", opening_stock=opening)
    assert fates[R1] == pytest.approx(
        {"utilisation": 48.0, "disposal": 0, "storage": 0, STOCK: 12, AWAITING_RETURN: 0}
    )
    assert fates[OPENING_STOCK] == pytest.approx(
        {"utilisation": 32.0, "disposal": 0, "storage": 0, STOCK: 8.0, AWAITING_RETURN: 0}
    )


def test_closed_cycle_without_sink_is_reported_not_singular() -> None:
    sites = [site(1, "source"), site(10, "collection_point"), site(11, "collection_point")]
    flows = [Flow(10, 11, "m", 5.0), Flow(11, 10, "m", 5.0)]
    shares = origin_shares(sites, flows, "m")
    assert shares.circulating == (10, 11)
    assert shares.of(10) == {UNEXPLAINED: 1.0}
    assert attribute_fates(sites, flows, [], "m") == {}


def test_closed_cycle_next_to_a_normal_chain() -> None:
    sites = [*POOL_SITES, site(40, "collection_point"), site(41, "collection_point")]
    flows = [*POOL_FLOWS, Flow(40, 41, "manure", 5.0), Flow(41, 40, "manure", 5.0)]
    shares = origin_shares(sites, flows, "manure", treatments=POOL_TREATMENTS)
    assert shares.circulating == (40, 41)
    assert shares.of(20) == pytest.approx({R1: 0.3, R2: 0.7})
    used = utilised_by_origin(sites, flows, POOL_TREATMENTS, "manure")
    assert used[R1]["utilisation"] == pytest.approx(15.0)


def test_material_without_flows_gives_empty_results() -> None:
    assert len(origin_shares(POOL_SITES, POOL_FLOWS, "film")) == 0
    assert attribute_fates(POOL_SITES, POOL_FLOWS, POOL_TREATMENTS, "film") == {}
    assert utilised_by_origin(POOL_SITES, [], [], "manure") == {}
    assert mass_balance(POOL_SITES, [], []) == {}
    assert sankey(POOL_SITES, [], []) == {"nodes": [], "links": []}
    with pytest.raises(KeyError):
        origin_shares(POOL_SITES, POOL_FLOWS, "manure").of(999)


def test_all_materials_together() -> None:
    flows = [*POOL_FLOWS, Flow(1, 10, "straw", 100.0), Flow(10, 20, "straw", 100.0)]
    treatments = [*POOL_TREATMENTS, treat(20, 100.0, m="straw", src=10)]
    shares = origin_shares(POOL_SITES, flows, None, treatments=treatments)
    # Collection point 10 received 130 kg from R1 and 70 kg from R2, all materials.
    assert shares.of(10) == pytest.approx({R1: 0.65, R2: 0.35})
    used = utilised_by_origin(POOL_SITES, flows, treatments, None)
    assert used[R1]["utilisation"] + used[R2]["utilisation"] == pytest.approx(150.0)


def test_per_source_shares_use_the_sparse_path_and_agree_with_regions() -> None:
    n_src = 300  # more groups than the dense limit
    sources = [site(i, "source", R1 if i % 3 else R2) for i in range(n_src)]
    sites = [*sources, site(1000, "collection_point"), site(1001, "processor")]
    flows = [Flow(i, 1000, "m", 1.0 + i) for i in range(n_src)]
    flows.append(Flow(1000, 1001, "m", 1000.0))
    per = origin_shares(sites, flows, "m", per_source)
    assert isinstance(per.shares, sp.csr_array)
    total = sum(1.0 + i for i in range(n_src))
    assert per.of(1001)["7"] == pytest.approx(8.0 / total)
    by_region = origin_shares(sites, flows, "m").of(1001)
    r1 = sum(v for k, v in per.of(1001).items() if int(k) % 3)
    assert by_region[R1] == pytest.approx(r1)
    assert sum(per.of(1000).values()) == pytest.approx(1.0)


def test_source_receiving_more_than_it_sends_keeps_it() -> None:
    sites = [site(1, "source"), site(2, "source", R2), site(20, "processor")]
    flows = [Flow(2, 1, "m", 30.0), Flow(1, 20, "m", 10.0)]
    b = mass_balance(sites, flows, [])
    assert b[1, "m"].generated == -20.0
    assert b[1, "m"].closing == 0.0
    fates = attribute_fates(sites, flows, [], "m", per_source)
    # Source 1 keeps 20 kg; the processor holds 10 kg it has not treated (nor sent back).
    assert fates == {
        "2": pytest.approx(
            {"utilisation": 0, "disposal": 0, "storage": 0, STOCK: 20, AWAITING_RETURN: 10}
        )
    }


def test_balance_with_opening_stock_and_sources() -> None:
    sites = [site(1, "source"), site(10, "collection_point")]
    flows = [Flow(1, 10, "m", 5.0)]
    treatments = [treat(1, 2.0, m="m"), treat(10, 1.0, m="m")]
    b = mass_balance(sites, flows, treatments, {(10, "m"): 3.0, (10, "x"): 4.0, (1, "m"): 9.0})
    assert b[1, "m"].generated == 7.0
    assert b[1, "m"].closing == 9.0
    assert b[10, "m"].closing == 7.0
    assert b[10, "x"].closing == 4.0
    assert b[10, "x"].inflow == 0.0


def test_invalid_records_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown site 99"):
        mass_balance(POOL_SITES, [Flow(1, 99, "m", 1.0)], [])
    with pytest.raises(ValueError, match="mass"):
        mass_balance(POOL_SITES, [Flow(1, 10, "m", -1.0)], [])
    with pytest.raises(ValueError, match="site kind"):
        FlowNetwork([site(1, "farm")])
    with pytest.raises(ValueError, match="route class"):
        FlowNetwork(POOL_SITES, [], [Treatment(20, "m", "compost", "reuse", 1.0)])
    with pytest.raises(ValueError, match="duplicate"):
        FlowNetwork([site(1, "source"), site(1, "processor")])
    with pytest.raises(TypeError):
        mass_balance(FlowNetwork(POOL_SITES), POOL_FLOWS, [])


def test_sparse_site_ids_use_the_sorted_lookup() -> None:
    sites = [site(5, "source"), site(10**12, "collection_point")]
    b = mass_balance(sites, [Flow(5, 10**12, "m", 2.0)], [])
    assert b[10**12, "m"].inflow == 2.0
    with pytest.raises(ValueError, match="unknown site 7"):
        mass_balance(sites, [Flow(5, 7, "m", 2.0)], [])


def test_prebuilt_network_gives_the_same_results() -> None:
    net = FlowNetwork(CYCLE_SITES, CYCLE_FLOWS, CYCLE_TREATMENTS)
    assert mass_balance(net) == mass_balance(CYCLE_SITES, CYCLE_FLOWS, CYCLE_TREATMENTS)
    assert utilised_by_origin(net, None, None, "manure") == utilised_by_origin(
        CYCLE_SITES, CYCLE_FLOWS, CYCLE_TREATMENTS, "manure"
    )
    assert sankey(net) == sankey(CYCLE_SITES, CYCLE_FLOWS, CYCLE_TREATMENTS)
    arrays = balance_arrays(net)
    assert arrays.closing.sum() == pytest.approx(0.0, abs=1e-9)


def test_sankey_by_kind() -> None:
    s = sankey(POOL_SITES, POOL_FLOWS, POOL_TREATMENTS)
    assert s["nodes"] == [
        {"id": "source", "label": "source"},
        {"id": "collection_point", "label": "collection_point"},
        {"id": "processor", "label": "processor"},
        {"id": "disposal", "label": "disposal"},
        {"id": "route:compost", "label": "compost"},
        {"id": "route:landfill", "label": "landfill"},
    ]
    assert s["links"] == [
        {"source": 0, "target": 1, "value": 100.0},
        {"source": 1, "target": 2, "value": 50.0},
        {"source": 1, "target": 3, "value": 50.0},
        {"source": 2, "target": 4, "value": 50.0},
        {"source": 3, "target": 5, "value": 50.0},
    ]


def test_sankey_by_region_drops_links_within_a_group() -> None:
    s = sankey(POOL_SITES, POOL_FLOWS, POOL_TREATMENTS, group_by="region")
    assert [n["id"] for n in s["nodes"]] == [R1, R2, "route:compost", "route:landfill"]
    # 1 -> 10 and 10 -> 20 stay inside R1 and are dropped.
    assert s["links"] == [
        {"source": 0, "target": 1, "value": 50.0},
        {"source": 0, "target": 2, "value": 50.0},
        {"source": 1, "target": 0, "value": 70.0},
        {"source": 1, "target": 3, "value": 50.0},
    ]


def test_sankey_by_callable_and_material() -> None:
    flows = [*POOL_FLOWS, Flow(1, 10, "straw", 5.0)]
    s = sankey(
        POOL_SITES,
        flows,
        POOL_TREATMENTS,
        material="straw",
        group_by=lambda n: "farm" if n.kind == "source" else "yard",
    )
    assert s == {
        "nodes": [{"id": "farm", "label": "farm"}, {"id": "yard", "label": "yard"}],
        "links": [{"source": 0, "target": 1, "value": 5.0}],
    }
    with pytest.raises(ValueError, match="group_by"):
        sankey(POOL_SITES, flows, POOL_TREATMENTS, group_by="township")


def test_build_graph() -> None:
    flows = [*POOL_FLOWS, Flow(1, 10, "straw", 5.0), Flow(1, 10, "straw", 2.5)]
    g = build_graph(POOL_SITES, flows, POOL_TREATMENTS)
    assert isinstance(g, nx.DiGraph)
    assert sorted(g.nodes) == [1, 2, 10, 20, 30]
    assert g.nodes[20]["treated"] == {"compost": 50.0}
    assert g.nodes[10]["kind"] == "collection_point"
    assert g.nodes[2]["region"] == R2
    assert g.edges[1, 10] == {"mass_kg": 37.5, "by_material": {"manure": 30.0, "straw": 7.5}}
    assert g.number_of_edges() == 4


def test_outflow_is_what_the_sender_weighed_inflow_what_the_receiver_weighed() -> None:
    """A collection point that ships exactly what it holds is empty afterwards, even when the
    processor's scale reads a little less: the gap is between the sites, in neither stock."""
    from datetime import date

    from graph import detect_anomalies

    d1, d2 = date(2025, 4, 1), date(2025, 4, 2)
    sites = [site(1, "source"), site(2, "collection_point"), site(3, "processor")]
    flows = [
        Flow(1, 2, "film", 87.005, declared_kg=86.495, day=d1),
        Flow(2, 3, "film", 86.694, declared_kg=87.005, day=d2),
    ]
    treated = [Treatment(3, "film", "recycling", "utilisation", 86.694, day=d2)]
    b = mass_balance(sites, flows, treated)
    assert b[(2, "film")].inflow == pytest.approx(87.005)
    assert b[(2, "film")].outflow == pytest.approx(87.005)
    assert b[(2, "film")].closing == pytest.approx(0, abs=1e-9)
    assert b[(1, "film")].generated == pytest.approx(86.495)  # on the source's own scale
    found = detect_anomalies(sites, flows, treated, max_dwell_days=1, period_end=date(2025, 12, 31))
    assert [a.kind for a in found if a.kind in ("negative_stock", "stale_stock")] == []
