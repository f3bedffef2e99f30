"""The period's flows as a Sankey diagram: site groups to site groups to treatment routes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from graph.model import SITE_KINDS, Flow, SiteNode, Treatment
from graph.network import FlowNetwork, as_network, sum_by

ROUTE_PREFIX = "route:"


def _site_groups(
    net: FlowNetwork, group_by: str | Callable[[SiteNode], str]
) -> tuple[list[str], np.ndarray]:
    """Ordered group labels and each site's group code."""
    if group_by == "kind":
        labels = [s.kind for s in net.sites]
        rank = {k: i for i, k in enumerate(SITE_KINDS)}
        ordered = sorted(set(labels), key=lambda k: (rank.get(k, len(rank)), k))
    elif group_by == "region":
        labels = [s.region for s in net.sites]
        ordered = sorted(set(labels))
    elif callable(group_by):
        labels = [str(group_by(s)) for s in net.sites]
        ordered = sorted(set(labels))
    else:
        raise ValueError(f"group_by must be 'kind', 'region' or a callable, not {group_by!r}")
    code = {g: i for i, g in enumerate(ordered)}
    return ordered, np.fromiter((code[g] for g in labels), np.int64, count=len(labels))


def sankey(
    sites: Iterable[SiteNode] | FlowNetwork,
    flows: Iterable[Flow] | None = None,
    treatments: Iterable[Treatment] | None = None,
    *,
    material: str | None = None,
    group_by: str | Callable[[SiteNode], str] = "kind",
) -> dict[str, list[dict[str, Any]]]:
    """Sankey data ``{"nodes": [{"id", "label"}], "links": [{"source", "target", "value"}]}``.

    Nodes are site groups (``group_by``: ``"kind"``, ``"region"`` or a callable on a
    ``SiteNode``) followed by one terminal node per treatment route, with id
    ``"route:<code>"``; ``source`` and ``target`` are indices into ``nodes`` and ``value`` is
    kg of ``material`` (``None``: all materials). Flows between two sites of the same group
    are dropped (a Sankey cannot draw a self-link; they stay in the balance). Only nodes with a
    link are listed. Order is deterministic: groups by kind order (for ``"kind"``) or by name,
    routes by code, links by (source, target).
    """
    net = as_network(sites, flows, treatments)
    groups, group_of_site = _site_groups(net, group_by)
    n_groups, n_routes = len(groups), len(net.routes)
    n_nodes = n_groups + n_routes
    sel = net.flow_mask(material)
    src = group_of_site[net.f_src[sel]]
    dst = group_of_site[net.f_dst[sel]]
    between = src != dst
    values = sum_by(
        src[between] * n_nodes + dst[between],
        weights=net.f_mass[sel][between],
        minlength=n_nodes * n_nodes,
    )
    sel = net.treatment_mask(material)
    values += sum_by(
        group_of_site[net.t_site[sel]] * n_nodes + n_groups + net.t_route[sel],
        weights=net.t_mass[sel],
        minlength=n_nodes * n_nodes,
    )
    linked = np.flatnonzero(values > 0)
    ends = np.unique(np.concatenate((linked // n_nodes, linked % n_nodes)))
    new_index = np.full(n_nodes, -1, dtype=np.int64)
    new_index[ends] = np.arange(ends.size)
    nodes = [
        {"id": groups[i], "label": groups[i]}
        if i < n_groups
        else {"id": ROUTE_PREFIX + net.routes[i - n_groups], "label": net.routes[i - n_groups]}
        for i in ends.tolist()
    ]
    links = [
        {"source": int(new_index[k // n_nodes]), "target": int(new_index[k % n_nodes]),
         "value": float(values[k])}
        for k in linked.tolist()
    ]  # fmt: skip
    return {"nodes": nodes, "links": links}
