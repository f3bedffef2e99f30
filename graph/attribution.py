"""Origin attribution by proportional sharing.

Collection points and transfer stations are pools: what leaves a pool is a mix of everything
that entered it, in proportion. For one material, let ``x_j`` be the throughput of site ``j``
(generation ``g_j`` at a source, plus opening stock, plus everything received) and
``A_ij = f_ij / x_i`` the share of ``i``'s throughput sent to ``j``. Then ``x = g + Aᵀx``, and

* the mass at every site coming from each origin group is the solution ``X`` of
  ``(I - Aᵀ) X = G`` with ``G[s, r] = g_s`` if source ``s`` is in group ``r`` (forward);
* the part of a source's mass that ends in fate ``k`` (a route class, or still in stock) is
  ``g_s · y_k[s]`` with ``(I - A) y_k = w_k`` and ``w_k = fate_k / x`` (adjoint): one solve
  per fate gives the answer for every source at once.

Chains of any depth and cycles (material sent back and forth between pools) are handled by
the linear system, never by walking paths. The matrix is factorised once with a sparse LU;
the strongly connected components order the sites so that, where the network has no cycle,
the factor is the triangular matrix itself and costs no fill.

Degenerate data is made explicit rather than hidden:

* A site that releases (sends on or treats) more than it received plus its opening stock
  releases mass of unknown origin. Its throughput is taken as ``max(x_i, out_i + treated_i)``
  (so every row of shares stays within [0, 1]) and the excess is attributed to the
  pseudo-origin ``UNEXPLAINED``. Opening stock at pools, whose origin predates the period, is
  attributed to ``OPENING_STOCK`` when ``opening_stock`` is given.
* A closed cycle with no way out and nothing leaving it (mass circulating between pools with
  no input, no treatment and no stock) makes the system singular. Its sites are taken out of
  the system, their shares are reported as wholly ``UNEXPLAINED`` and their ids listed in
  :attr:`OriginShares.circulating`; no source's fate is affected, since no source's mass can
  reach such a cycle.
* A source whose inflow exceeds its outflow plus treatment keeps the difference in stock;
  its generation is taken as zero rather than negative.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import SuperLU, splu

from graph.model import (
    OPENING_STOCK,
    ROUTE_CLASSES,
    STOCK,
    UNEXPLAINED,
    Flow,
    SiteNode,
    Treatment,
)
from graph.network import EPS_REL, FlowNetwork, as_network, sum_by

# A source's origin group: a function of the site, or a mapping from site id (cheaper when
# the caller already holds the grouping: one dictionary lookup per source, no call).
GroupOf = Callable[[SiteNode], str] | Mapping[int, str]

# Up to this many origin groups the forward solution is kept dense (n × R floats); beyond it
# (per-source attribution) it is solved in column blocks and kept sparse.
_DENSE_GROUPS_MAX = 256
_BLOCK_COLUMNS = 128


@dataclass(frozen=True, eq=False)
class OriginShares:
    """Share of each site's throughput coming from each origin group, for one material.

    ``site_ids[i]`` has throughput ``throughput[i]`` kg, of which a fraction ``shares[i, r]``
    arose in group ``groups[r]``. ``shares`` is a dense ``numpy`` array or, for many groups,
    a ``scipy.sparse`` CSR array. Only sites with throughput > 0 are listed; rows sum to one.
    """

    material: str | None
    site_ids: np.ndarray
    groups: tuple[str, ...]
    throughput: np.ndarray
    shares: np.ndarray | sp.csr_array
    circulating: tuple[int, ...] = ()

    def __len__(self) -> int:
        """Number of sites with throughput."""
        return int(self.site_ids.size)

    def _row(self, site_id: int) -> int:
        i = int(np.searchsorted(self.site_ids, site_id))
        if i == self.site_ids.size or self.site_ids[i] != site_id:
            raise KeyError(site_id)
        return i

    def of(self, site_id: int) -> dict[str, float]:
        """``{group: share}`` of a site's throughput (non-zero shares only); ``KeyError`` if
        the site had no throughput of this material."""
        i = self._row(site_id)
        if isinstance(self.shares, np.ndarray):
            row = self.shares[i]
            cols = np.flatnonzero(row > 0)
            return {self.groups[c]: float(row[c]) for c in cols}
        lo, hi = self.shares.indptr[i], self.shares.indptr[i + 1]
        cols, vals = self.shares.indices[lo:hi], self.shares.data[lo:hi]
        order = np.argsort(cols)
        return {self.groups[c]: float(v) for c, v in zip(cols[order], vals[order], strict=True)}

    def mass_of(self, site_id: int) -> dict[str, float]:
        """``{group: kg}`` of a site's throughput by origin group."""
        x = float(self.throughput[self._row(site_id)])
        return {g: s * x for g, s in self.of(site_id).items()}

    def to_dict(self) -> dict[int, dict[str, float]]:
        """``{site_id: {group: share}}`` for every site with throughput."""
        return {int(s): self.of(int(s)) for s in self.site_ids}


@dataclass(frozen=True, eq=False)
class _System:
    """The factorised proportional-sharing system of one material."""

    net: FlowNetwork
    nodes: np.ndarray  # site positions (in ``net``) of the sites with throughput, ascending
    throughput: np.ndarray
    fates: np.ndarray  # nodes × fates, kg: treated per route class (or route), then stock
    fate_names: tuple[str, ...]
    inj_node: np.ndarray  # local node of each injection (origin of mass)
    inj_mass: np.ndarray
    inj_kind: np.ndarray  # 0 generated at a source, 1 opening stock, 2 unexplained
    closed: np.ndarray  # local nodes in circulation with no way out (singular part)
    lu: SuperLU | None
    order: np.ndarray  # local node at each position of the factorised matrix
    position: np.ndarray  # inverse of ``order``

    def solve(self, rhs: np.ndarray, *, adjoint: bool) -> np.ndarray:
        """Solve ``(I - Aᵀ) X = rhs`` (or ``(I - A) Y = rhs`` if ``adjoint``), local order."""
        if self.lu is None or rhs.shape[0] == 0:
            return rhs.astype(np.float64, copy=True)
        out = self.lu.solve(np.ascontiguousarray(rhs[self.order]), trans="T" if adjoint else "N")
        return out[self.position]


def _build_system(
    net: FlowNetwork,
    material: str | None,
    opening_stock: Mapping[tuple[int, str], float] | None,
    by: Literal["route_class", "route"] = "route_class",
) -> _System:
    tot = net.totals(material)
    edges = net.edges(material)
    inflow, outflow = tot.inflow, tot.outflow
    treated = tot.treated
    src = net.is_source
    opening = np.where(src, 0.0, np.maximum(net.opening_vector(opening_stock, material), 0.0))

    generated = np.where(src, np.maximum(outflow + treated - inflow, 0.0), 0.0)
    received = generated + opening + inflow
    released = outflow + treated
    throughput = np.maximum(received, released)
    # Excess release below the rounding slack of float sums is noise, not missing mass.
    excess = throughput - received
    excess = np.where(excess > EPS_REL * throughput, excess, 0.0)
    stock = np.maximum(throughput - released, 0.0)

    nodes = np.flatnonzero(throughput > 0)
    k = nodes.size
    local = np.full(net.n, -1, dtype=np.int64)
    local[nodes] = np.arange(k)

    if by == "route_class":
        treated_fates = tot.treated_by_class[nodes]
        fate_names: tuple[str, ...] = (*ROUTE_CLASSES, STOCK)
    else:
        sel = net.treatment_mask(material)
        n_routes = len(net.routes)
        treated_fates = (
            sum_by(
                net.t_site[sel] * n_routes + net.t_route[sel],
                weights=net.t_mass[sel],
                minlength=net.n * n_routes,
            ).reshape(net.n, n_routes)[nodes]
            if n_routes
            else np.zeros((k, 0))
        )
        fate_names = (*net.routes, STOCK)
    fates = np.column_stack([treated_fates, stock[nodes]])

    inj = [
        (np.flatnonzero(generated[nodes] > 0), generated[nodes], 0),
        (np.flatnonzero(opening[nodes] > 0), opening[nodes], 1),
        (np.flatnonzero(excess[nodes] > 0), excess[nodes], 2),
    ]
    inj_node = np.concatenate([i for i, _, _ in inj])
    inj_mass = np.concatenate([m[i] for i, m, _ in inj])
    inj_kind = np.concatenate([np.full(i.size, kind, dtype=np.int8) for i, _, kind in inj])

    s, t = local[edges.src], local[edges.dst]
    share = edges.mass / throughput[edges.src]
    d = throughput[nodes]
    leak = (treated[nodes] + stock[nodes]) / d

    empty = np.zeros(0, dtype=np.int64)
    if k == 0:
        return _System(net, nodes, d, fates, fate_names, inj_node, inj_mass, inj_kind, empty,
                       None, empty, empty)  # fmt: skip

    a = sp.csr_array((share, (s, t)), shape=(k, k))
    n_comp, label = connected_components(a, directed=True, connection="strong")
    cross = label[s] != label[t]
    has_exit = np.bincount(label[s[cross]], minlength=n_comp) > 0
    leaky = np.bincount(label[leak > EPS_REL], minlength=n_comp) > 0
    closed_comp = ~has_exit & ~leaky
    closed = np.flatnonzero(closed_comp[label])
    if closed.size:
        keep = ~closed_comp[label[s]]
        s, t, share = s[keep], t[keep], share[keep]
        cross = cross[keep]

    # scipy numbers strongly connected components so that every edge between two of them goes
    # from a higher label to a lower one (reverse topological order). Sorting sites by
    # decreasing label then makes I - Aᵀ block lower triangular: no fill, no pivoting needed.
    # The order is checked, not trusted, and COLAMD takes over if it ever does not hold.
    topological = bool((label[s[cross]] > label[t[cross]]).all())
    order = np.argsort(-label, kind="stable") if topological else np.arange(k)
    position = np.empty(k, dtype=np.int64)
    position[order] = np.arange(k)
    rows = np.concatenate((position[t], np.arange(k)))
    cols = np.concatenate((position[s], np.arange(k)))
    vals = np.concatenate((-share, np.ones(k)))
    m = sp.csc_matrix((vals, (rows, cols)), shape=(k, k))
    m.sum_duplicates()
    # I - Aᵀ is column diagonally dominant (rows of A sum to at most one), so the diagonal is
    # a safe pivot; with the topological order this keeps the factor as sparse as A.
    lu = (
        splu(m, permc_spec="NATURAL", diag_pivot_thresh=0.0)
        if topological
        else splu(m, permc_spec="COLAMD")
    )
    return _System(net, nodes, d, fates, fate_names, inj_node, inj_mass, inj_kind, closed, lu,
                   order, position)  # fmt: skip


def _group_labels(system: _System, group_of: GroupOf | None) -> tuple[tuple[str, ...], np.ndarray]:
    """Origin group of every injection: the source's group, or a pseudo-origin."""
    net = system.net
    kinds = system.inj_kind.tolist()
    nodes = system.nodes[system.inj_node]
    labels: list[str]
    if isinstance(group_of, Mapping):
        ids = net.site_ids[nodes].tolist()
        labels = [
            group_of[i] if k == 0 else (OPENING_STOCK if k == 1 else UNEXPLAINED)
            for i, k in zip(ids, kinds, strict=True)
        ]
    else:
        labels = []
        for node, kind in zip(nodes.tolist(), kinds, strict=True):
            if kind == 0:
                site = net.sites[node]
                labels.append(site.region if group_of is None else group_of(site))
            else:
                labels.append(OPENING_STOCK if kind == 1 else UNEXPLAINED)
    pseudo = (OPENING_STOCK, UNEXPLAINED)
    real = sorted({g for g in labels if g not in pseudo})
    groups = tuple(real + [p for p in pseudo if p in labels])
    code = {g: i for i, g in enumerate(groups)}
    return groups, np.fromiter((code[g] for g in labels), np.int64, count=len(labels))


def _forward(system: _System, n_groups: int, inj_group: np.ndarray) -> np.ndarray | sp.csr_array:
    """Mass of each node by origin group: ``X`` with ``(I - Aᵀ) X = G``."""
    k = system.nodes.size
    if n_groups <= _DENSE_GROUPS_MAX:
        g = np.zeros((k, n_groups))
        np.add.at(g, (system.inj_node, inj_group), system.inj_mass)
        return np.maximum(system.solve(g, adjoint=False), 0.0)
    blocks = []
    for lo in range(0, n_groups, _BLOCK_COLUMNS):
        hi = min(lo + _BLOCK_COLUMNS, n_groups)
        pick = (inj_group >= lo) & (inj_group < hi)
        g = np.zeros((k, hi - lo))
        np.add.at(g, (system.inj_node[pick], inj_group[pick] - lo), system.inj_mass[pick])
        x = system.solve(g, adjoint=False)
        # Round-off leaves tiny non-zeros where no path exists; they would defeat sparsity.
        x[x <= EPS_REL * system.throughput[:, None]] = 0.0
        blocks.append(sp.csr_array(x))
    return sp.hstack(blocks, format="csr")


def origin_shares(
    sites: Iterable[SiteNode] | FlowNetwork,
    flows: Iterable[Flow] | None,
    material: str | None,
    group_of: GroupOf | None = None,
    *,
    treatments: Iterable[Treatment] | None = None,
    opening_stock: Mapping[tuple[int, str], float] | None = None,
) -> OriginShares:
    """For every site with throughput of ``material``, the share coming from each origin group.

    ``material=None`` treats all materials as one. ``group_of`` maps a source to its group
    (default: its ``region``; ``lambda s: str(s.id)`` gives per-source shares), or is a
    mapping from every source's site id to its group. Every site
    gets its shares from the sources feeding it through any chain or cycle of pools. Pass
    ``treatments`` so that a source's on-site treatment counts in its generation and a site
    treating more than it received is detected; pass ``opening_stock`` to make pools'
    opening stock an origin (``OPENING_STOCK``). Mass of unknown origin is attributed to
    ``UNEXPLAINED`` (see the module notes).

    Cost: one sparse LU for the material, one solve per block of groups; per-source shares on
    a district-sized network cost a solve per 128 sources.
    """
    net = as_network(sites, flows, treatments)
    system = _build_system(net, material, opening_stock)
    groups, inj_group = _group_labels(system, group_of)
    closed = system.closed
    if closed.size and UNEXPLAINED not in groups:
        groups = (*groups, UNEXPLAINED)
    n_groups = len(groups)
    mass = _forward(system, n_groups, inj_group)
    if isinstance(mass, np.ndarray):
        if closed.size:
            mass[closed, groups.index(UNEXPLAINED)] = system.throughput[closed]
        total = mass.sum(axis=1)
        shares = mass / np.where(total > 0, total, 1.0)[:, None]
    else:
        if closed.size:
            mass = mass.tolil()
            mass[closed, groups.index(UNEXPLAINED)] = system.throughput[closed]
            mass = sp.csr_array(mass)
        total = np.asarray(mass.sum(axis=1)).ravel()
        shares = sp.csr_array(sp.diags_array(1.0 / np.where(total > 0, total, 1.0)) @ mass)
    return OriginShares(
        material=material,
        site_ids=system.net.site_ids[system.nodes],
        groups=groups,
        throughput=system.throughput,
        shares=shares,
        circulating=tuple(system.net.site_ids[system.nodes[closed]].tolist()),
    )


def attribute_fates(
    sites: Iterable[SiteNode] | FlowNetwork,
    flows: Iterable[Flow] | None,
    treatments: Iterable[Treatment] | None,
    material: str | None,
    group_of: GroupOf | None = None,
    *,
    opening_stock: Mapping[tuple[int, str], float] | None = None,
    by: Literal["route_class", "route"] = "route_class",
) -> dict[str, dict[str, float]]:
    """Where each origin group's mass of ``material`` ended: ``{group: {fate: kg}}``.

    Fates are the route classes (``by="route_class"``: utilisation, disposal, storage) or the
    route codes (``by="route"``) under which it was treated, plus ``STOCK`` ("stock"): mass
    still held at a site at period end. ``group_of`` as in :func:`origin_shares` (default:
    ``region``). For every group the fates add up to the mass it generated (plus the
    pseudo-origins ``OPENING_STOCK`` and ``UNEXPLAINED`` for mass of untraced origin).

    One adjoint solve per fate: each source's ``g_s · [(I - A)⁻¹ w_fate]_s``.
    """
    net = as_network(sites, flows, treatments)
    system = _build_system(net, material, opening_stock, by=by)
    if system.inj_node.size == 0:
        return {}
    groups, inj_group = _group_labels(system, group_of)
    weights = system.fates / system.throughput[:, None]
    per_kg = system.solve(weights, adjoint=True)
    contribution = system.inj_mass[:, None] * per_kg[system.inj_node]
    totals = np.zeros((len(groups), len(system.fate_names)))
    np.add.at(totals, inj_group, contribution)
    return {
        g: dict(zip(system.fate_names, map(float, row), strict=True))
        for g, row in zip(groups, totals, strict=True)
    }


def utilised_by_origin(
    sites: Iterable[SiteNode] | FlowNetwork,
    flows: Iterable[Flow] | None,
    treatments: Iterable[Treatment] | None,
    material: str | None,
    group_of: GroupOf | None = None,
    *,
    opening_stock: Mapping[tuple[int, str], float] | None = None,
) -> dict[str, dict[str, float]]:
    """Treated mass of ``material`` by the origin group where it arose and by route class.

    ``{group: {"utilisation": kg, "disposal": kg, "storage": kg}}``, default group the
    township (``region``) of the source. This is what the official utilisation rates need:
    e.g. the kg of manure utilised anywhere in the district that arose in township T is
    ``result[T]["utilisation"]``. Mass still in stock is left out (see
    :func:`attribute_fates`).
    """
    fates = attribute_fates(
        sites, flows, treatments, material, group_of, opening_stock=opening_stock
    )
    return {g: {c: f[c] for c in ROUTE_CLASSES} for g, f in fates.items()}
