"""The period's network as a networkx graph, for the UI and for debugging.

The computations of this package do not go through it (networkx per-node work is two orders
of magnitude slower than the arrays on a district-sized network).
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import numpy as np

from graph.model import Flow, SiteNode, Treatment
from graph.network import FlowNetwork, as_network, sum_by


def build_graph(
    sites: Iterable[SiteNode] | FlowNetwork,
    flows: Iterable[Flow] | None = None,
    treatments: Iterable[Treatment] | None = None,
) -> nx.DiGraph:
    """A ``DiGraph`` with one node per site id and one edge per (src, dst) pair with flows.

    Node attributes: the ``SiteNode`` fields and ``treated`` (``{route: kg}``, all
    materials). Edge attributes: ``mass_kg`` (all materials) and ``by_material``
    (``{material: kg}``). Pairs whose flows sum to zero get no edge.
    """
    net = as_network(sites, flows, treatments)
    g = nx.DiGraph()
    n_routes = len(net.routes)
    treated = sum_by(
        net.t_site * n_routes + net.t_route, weights=net.t_mass, minlength=net.n * n_routes
    ).reshape(net.n, n_routes)
    for i, s in enumerate(net.sites):
        row = treated[i]
        g.add_node(
            s.id,
            id=s.id,
            kind=s.kind,
            region=s.region,
            capacity_kg=s.capacity_kg,
            lat=s.lat,
            lon=s.lon,
            label=s.label,
            treated={net.routes[r]: float(row[r]) for r in np.flatnonzero(row > 0).tolist()},
        )
    if net.f_src.size:
        # Canonical flow order is (src, dst, material): one run per (src, dst, material).
        src, dst, mat = net.f_src, net.f_dst, net.f_mat
        new = np.concatenate(([True], (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
                              | (mat[1:] != mat[:-1])))  # fmt: skip
        starts = np.flatnonzero(new)
        kg = np.add.reduceat(net.f_mass, starts)
        ids = net.site_ids
        for a, b, m, v in zip(
            ids[src[starts]].tolist(),
            ids[dst[starts]].tolist(),
            mat[starts].tolist(),
            kg.tolist(),
            strict=True,
        ):
            if v <= 0:
                continue
            if g.has_edge(a, b):
                edge = g.edges[a, b]
                edge["by_material"][net.materials[m]] = v
                edge["mass_kg"] += v
            else:
                g.add_edge(a, b, mass_kg=v, by_material={net.materials[m]: v})
    return g
