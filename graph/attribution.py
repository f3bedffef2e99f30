"""Origin attribution: proportional sharing at pools, lots at treating sites.

Collection points and transfer stations are pools: what leaves a pool is a mix of everything
that entered it, in proportion. A treating site (processor, disposal) is not: each sender's
loads form a *lot* there, a node of its own. A lot's treatments (``Treatment.src``) are its
fates, whatever other lots at the same site were treated under; what it accepts into storage
joins the site's *common stock* (the site's own node, a pool: opening stock, stored mass, what
the site ships on); a return (``Flow.lot``) leaves from the lot it takes back, so refused mass
keeps its sender's mix, and what the lot still holds at period end is ``AWAITING_RETURN``.
Returns beyond what a lot refused in the period, and any release beyond what it received,
come from the site's common stock (mass refused in an earlier period is opening stock there).

For one material, let ``x_j`` be the throughput of node ``j`` (a site, or a lot)
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
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import SuperLU, splu

from graph.model import (
    AWAITING_RETURN,
    OPENING_STOCK,
    ROUTE_CLASSES,
    STOCK,
    UNEXPLAINED,
    Flow,
    SiteNode,
    Treatment,
)
from graph.network import EPS_ABS_KG, EPS_REL, FlowNetwork, as_network, sum_by

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


# How a fate column is named: a route class, a route, or (site id, route) where the mass was
# treated (``None`` for stock held at pools, which is summed over them).
FateBy = Literal["route_class", "route", "site_route"]
FateName = str | tuple[int | None, str]


@dataclass(frozen=True, eq=False)
class _Lots:
    """One material's nodes: every site, then one lot per (sender, treating site).

    Node ``i < n`` is site ``i`` itself; at a treating site it is the site's common stock
    (opening stock, mass accepted into storage, what it ships on). Node ``n + j`` is lot
    ``j``: what ``lot_sender[j]`` delivered to the treating site ``lot_site[j]``.
    """

    n_nodes: int
    lot_sender: np.ndarray
    lot_site: np.ndarray
    e_src: np.ndarray  # edges between nodes, kg (a pair may appear more than once)
    e_dst: np.ndarray
    e_mass: np.ndarray
    t_node: np.ndarray  # treatments that end mass: the node they take it from
    t_site: np.ndarray
    t_route: np.ndarray
    t_class: np.ndarray
    t_mass: np.ndarray
    stored: np.ndarray  # nodes × routes: mass a treating site's common stock took in, by route

    def site_of(self, nodes: np.ndarray, n: int) -> np.ndarray:
        """The site position of each node (a lot's treating site)."""
        nodes = np.asarray(nodes)
        out = nodes.copy()
        lots = nodes >= n
        out[lots] = self.lot_site[nodes[lots] - n]
        return out


def _lots(net: FlowNetwork, material: str | None) -> _Lots:
    """Split every treating site into its lots (see the module's text)."""
    n = net.n
    fsel, tsel = net.flow_mask(material), net.treatment_mask(material)
    keep = net.f_mass[fsel] > 0
    src, dst = net.f_src[fsel][keep], net.f_dst[fsel][keep]
    mass, lot = net.f_mass[fsel][keep], net.f_lot[fsel][keep]
    keep_t = net.t_mass[tsel] > 0
    t_site, t_src = net.t_site[tsel][keep_t], net.t_src[tsel][keep_t]
    t_route, t_class = net.t_route[tsel][keep_t], net.t_class[tsel][keep_t]
    t_mass = net.t_mass[tsel][keep_t]

    treating = net.is_treating
    into_lot = treating[dst]
    out_of_lot = treating[src] & (lot >= 0)
    from_lot = treating[t_site] & (t_src >= 0)
    lot_keys = np.unique(
        np.concatenate(
            (
                src[into_lot] * n + dst[into_lot],
                lot[out_of_lot] * n + src[out_of_lot],
                t_src[from_lot] * n + t_site[from_lot],
            )
        )
    )

    def lot_node(sender: np.ndarray, site: np.ndarray) -> np.ndarray:
        return n + np.searchsorted(lot_keys, sender * n + site)

    from_node, to_node, t_node = src.copy(), dst.copy(), t_site.copy()
    from_node[out_of_lot] = lot_node(lot[out_of_lot], src[out_of_lot])
    to_node[into_lot] = lot_node(src[into_lot], dst[into_lot])
    t_node[from_lot] = lot_node(t_src[from_lot], t_site[from_lot])

    # Mass a lot accepts into storage joins the site's common stock: that is what a storage
    # yard or re-sorting plant ships on, mixed, like a pool.
    storage = treating[t_site] & (t_class == ROUTE_CLASSES.index("storage"))
    into_store = from_lot & storage
    n_nodes = n + lot_keys.size
    n_routes = max(len(net.routes), 1)
    stored = np.zeros((n_nodes, n_routes))
    np.add.at(stored, (t_site[into_store], t_route[into_store]), t_mass[into_store])
    e_src = np.concatenate((from_node, t_node[into_store]))
    e_dst = np.concatenate((to_node, t_site[into_store]))
    e_mass = np.concatenate((mass, t_mass[into_store]))
    # Storage named without a sender keeps in the common stock what is already there.
    ends = ~storage
    t_node, t_site, t_route = t_node[ends], t_site[ends], t_route[ends]
    t_class, t_mass = t_class[ends], t_mass[ends]

    lot_sender, lot_site = lot_keys // max(n, 1), lot_keys % max(n, 1)
    if lot_keys.size:
        e_src, e_dst, e_mass = _balance_lots(
            n, n_nodes, lot_site, out_of_lot.size, out_of_lot, e_src, e_dst, e_mass, t_node, t_mass
        )
    return _Lots(
        n_nodes, lot_sender, lot_site, e_src, e_dst, e_mass,
        t_node, t_site, t_route, t_class, t_mass, stored,
    )  # fmt: skip


def _balance_lots(
    n: int,
    n_nodes: int,
    lot_site: np.ndarray,
    n_flows: int,
    returns: np.ndarray,
    e_src: np.ndarray,
    e_dst: np.ndarray,
    e_mass: np.ndarray,
    t_node: np.ndarray,
    t_mass: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Make every lot release no more than it received in the period.

    Returns beyond what a lot refused in the period send back mass refused in an earlier one:
    that is in the site's common stock (its opening stock), so that part of each return leaves
    from there, not from this period's load. Whatever a lot still lacks (treated beyond its
    receipt, which a receipt cannot record) is drawn from the common stock too.
    """
    lots = n_nodes - n
    inflow = sum_by(e_dst, weights=e_mass, minlength=n_nodes)[n:]
    consumed = sum_by(t_node, weights=t_mass, minlength=n_nodes)[n:]
    ret = np.zeros(e_src.size, dtype=bool)
    ret[:n_flows] = returns
    consumed += sum_by(e_src[~ret], weights=e_mass[~ret], minlength=n_nodes)[n:]
    returned = sum_by(e_src[ret] - n, weights=e_mass[ret], minlength=lots)
    refused = np.maximum(inflow - consumed, 0.0)
    over = returned > refused + EPS_REL * returned + EPS_ABS_KG
    if over.any():
        keep = np.where(over, refused / np.where(returned > 0, returned, 1.0), 1.0)
        idx = np.flatnonzero(ret)
        factor = keep[e_src[idx] - n]
        moved = np.flatnonzero(factor < 1.0)
        earlier = e_mass[idx[moved]] * (1.0 - factor[moved])
        e_mass = e_mass.copy()
        e_mass[idx] *= factor
        e_src = np.concatenate((e_src, lot_site[e_src[idx[moved]] - n]))
        e_dst = np.concatenate((e_dst, e_dst[idx[moved]]))
        e_mass = np.concatenate((e_mass, earlier))
    released = (
        sum_by(e_src, weights=e_mass, minlength=n_nodes)[n:]
        + sum_by(t_node, weights=t_mass, minlength=n_nodes)[n:]
    )
    short = released - inflow
    need = np.flatnonzero(short > EPS_REL * released + EPS_ABS_KG)
    if need.size:
        e_src = np.concatenate((e_src, lot_site[need]))
        e_dst = np.concatenate((e_dst, n + need))
        e_mass = np.concatenate((e_mass, short[need]))
    return e_src, e_dst, e_mass


@dataclass(frozen=True, eq=False)
class _System:
    """The factorised proportional-sharing system of one material."""

    net: FlowNetwork
    lots: _Lots
    nodes: np.ndarray  # expanded nodes (sites, then lots) with throughput, ascending
    throughput: np.ndarray
    fates: np.ndarray  # nodes × fates, kg
    fate_names: tuple[FateName, ...]
    inj_node: np.ndarray  # local node of each injection (origin of mass)
    inj_mass: np.ndarray
    inj_kind: np.ndarray  # 0 generated at a source, 1 opening stock, 2 unexplained
    closed: np.ndarray  # local nodes in circulation with no way out (singular part)
    lu: SuperLU | None
    order: np.ndarray  # local node at each position of the factorised matrix
    position: np.ndarray  # inverse of ``order``
    edge_s: np.ndarray  # local edges (both ends with throughput), with their kg
    edge_t: np.ndarray
    edge_mass: np.ndarray

    def solve(self, rhs: np.ndarray, *, adjoint: bool) -> np.ndarray:
        """Solve ``(I - Aᵀ) X = rhs`` (or ``(I - A) Y = rhs`` if ``adjoint``), local order."""
        if self.lu is None or rhs.shape[0] == 0:
            return rhs.astype(np.float64, copy=True)
        out = self.lu.solve(np.ascontiguousarray(rhs[self.order]), trans="T" if adjoint else "N")
        return out[self.position]


def _fate_columns(
    net: FlowNetwork,
    lots: _Lots,
    by: FateBy,
    nodes: np.ndarray,
    t_local: np.ndarray,
    stock: np.ndarray,
    received: np.ndarray,
) -> tuple[np.ndarray, tuple[FateName, ...]]:
    """The fates of each node with throughput (local order) as a dense matrix, and names."""
    n, k = net.n, nodes.size
    is_lot = nodes >= n
    site = lots.site_of(nodes, n)
    store = ~is_lot & net.is_treating[site]
    # Stock at a treating site's common stock: what it took into storage is still stored
    # (reported under the storage route it came in by), the rest is plain stock.
    stored = lots.stored[nodes]
    safe = np.where(received > 0, received, 1.0)
    stored_left = np.where(store[:, None], stored * (stock / safe)[:, None], 0.0)
    plain_stock = np.where(is_lot, 0.0, stock - stored_left.sum(axis=1))
    plain_stock = np.maximum(plain_stock, 0.0)
    awaiting = np.where(is_lot, stock, 0.0)

    # Every fate entry: (local node, code, kg); codes are turned into columns below.
    s_node, s_route = np.nonzero(stored_left)
    route_class = np.fromiter(
        (int(c) for c in net.route_class_codes), np.int64, count=len(net.routes)
    )
    if by == "route_class":
        names: tuple[FateName, ...] = (*ROUTE_CLASSES, STOCK, AWAITING_RETURN)
        codes = [lots.t_class, route_class[s_route], np.full(k, 3), np.full(k, 4)]
    elif by == "route":
        n_r = len(net.routes)
        names = (*net.routes, STOCK, AWAITING_RETURN)
        codes = [lots.t_route, s_route, np.full(k, n_r), np.full(k, n_r + 1)]
    else:
        n_r = len(net.routes) + 1  # the last "route" is AWAITING_RETURN
        raw = [
            lots.t_site * n_r + lots.t_route,
            site[s_node] * n_r + s_route,
            np.full(k, -1),
            site * n_r + (n_r - 1),
        ]
        present = np.unique(
            np.concatenate((raw[0], raw[1], raw[2][plain_stock > 0][:1], raw[3][awaiting > 0]))
        )
        names = tuple(
            (None, STOCK)
            if c < 0
            else (
                int(net.site_ids[c // n_r]),
                AWAITING_RETURN if c % n_r == n_r - 1 else net.routes[c % n_r],
            )
            for c in present.tolist()
        )
        codes = [np.searchsorted(present, c) for c in raw]
        codes = [np.where(np.isin(r, present), c, 0) for r, c in zip(raw, codes, strict=True)]
    fates = np.zeros((k, len(names)))
    parts = (
        (t_local, codes[0], lots.t_mass),
        (s_node, codes[1], stored_left[s_node, s_route]),
        (np.arange(k), codes[2], plain_stock),
        (np.arange(k), codes[3], awaiting),
    )
    for rows, cols, kg in parts:
        live = (rows >= 0) & (kg > 0)
        np.add.at(fates, (rows[live], cols[live]), kg[live])
    return fates, names


def _build_system(
    net: FlowNetwork,
    material: str | None,
    opening_stock: Mapping[tuple[int, str], float] | None,
    by: FateBy = "route_class",
) -> _System:
    lots = _lots(net, material)
    n, n_nodes = net.n, lots.n_nodes
    live = lots.e_mass > 0
    e_src, e_dst, e_mass = lots.e_src[live], lots.e_dst[live], lots.e_mass[live]
    inflow = sum_by(e_dst, weights=e_mass, minlength=n_nodes)
    outflow = sum_by(e_src, weights=e_mass, minlength=n_nodes)
    treated = sum_by(lots.t_node, weights=lots.t_mass, minlength=n_nodes)
    src = np.concatenate((net.is_source, np.zeros(n_nodes - n, dtype=bool)))
    opening = np.zeros(n_nodes)
    opening[:n] = np.where(
        net.is_source, 0.0, np.maximum(net.opening_vector(opening_stock, material), 0.0)
    )

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
    local = np.full(n_nodes, -1, dtype=np.int64)
    local[nodes] = np.arange(k)
    fates, fate_names = _fate_columns(
        net, lots, by, nodes, local[lots.t_node], stock[nodes], received[nodes]
    )

    inj = [
        (np.flatnonzero(generated[nodes] > 0), generated[nodes], 0),
        (np.flatnonzero(opening[nodes] > 0), opening[nodes], 1),
        (np.flatnonzero(excess[nodes] > 0), excess[nodes], 2),
    ]
    inj_node = np.concatenate([i for i, _, _ in inj])
    inj_mass = np.concatenate([m[i] for i, m, _ in inj])
    inj_kind = np.concatenate([np.full(i.size, kind, dtype=np.int8) for i, _, kind in inj])

    s, t = local[e_src], local[e_dst]
    share = e_mass / throughput[e_src]
    edge_mass = e_mass
    d = throughput[nodes]
    leak = (treated[nodes] + stock[nodes]) / d

    empty = np.zeros(0, dtype=np.int64)
    if k == 0:
        return _System(net, lots, nodes, d, fates, fate_names, inj_node, inj_mass, inj_kind,
                       empty, None, empty, empty, empty, empty, np.zeros(0))  # fmt: skip

    a = sp.csr_array((share, (s, t)), shape=(k, k))
    n_comp, label = connected_components(a, directed=True, connection="strong")
    cross = label[s] != label[t]
    has_exit = np.bincount(label[s[cross]], minlength=n_comp) > 0
    leaky = np.bincount(label[leak > EPS_REL], minlength=n_comp) > 0
    closed_comp = ~has_exit & ~leaky
    closed = np.flatnonzero(closed_comp[label])
    if closed.size:
        keep = ~closed_comp[label[s]]
        s, t, share, edge_mass = s[keep], t[keep], share[keep], edge_mass[keep]
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
    return _System(net, lots, nodes, d, fates, fate_names, inj_node, inj_mass, inj_kind, closed,
                   lu, order, position, s, t, edge_mass)  # fmt: skip


def _labels_of_sources(
    net: FlowNetwork, positions: np.ndarray, group_of: GroupOf | None
) -> list[str]:
    """The origin group of each source at ``positions``."""
    if isinstance(group_of, Mapping):
        return [group_of[i] for i in net.site_ids[positions].tolist()]
    return [
        net.sites[p].region if group_of is None else group_of(net.sites[p])
        for p in positions.tolist()
    ]


def _group_labels(system: _System, group_of: GroupOf | None) -> tuple[tuple[str, ...], np.ndarray]:
    """Origin group of every injection: the source's group, or a pseudo-origin."""
    net = system.net
    kinds = system.inj_kind
    sites = system.lots.site_of(system.nodes[system.inj_node], net.n)
    labels: list[str] = [OPENING_STOCK if k == 1 else UNEXPLAINED for k in kinds.tolist()]
    generated = np.flatnonzero(kinds == 0)
    for i, label in zip(
        generated.tolist(), _labels_of_sources(net, sites[generated], group_of), strict=True
    ):
        labels[i] = label
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


def _site_rows(
    system: _System, mass: np.ndarray | sp.csr_array, inj_group: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | sp.csr_array]:
    """Per site, the mass it took in by origin group: a pool's or source's own node, and for
    a treating site what came into its lots and common stock from outside it (its lots are
    one site to the reader). Returns site positions (ascending), their throughput and mass."""
    net, n = system.net, system.net.n
    site = system.lots.site_of(system.nodes, n)
    treating = net.is_treating[site]
    plain = np.flatnonzero(~treating)
    rows_plain = system.nodes[plain]

    s, t = system.edge_s, system.edge_t
    inward = treating[t] & (site[s] != site[t])
    t_sites, row_of = np.unique(
        np.concatenate((site[t[inward]], site[system.inj_node[treating[system.inj_node]]])),
        return_inverse=True,
    )
    n_t = t_sites.size
    edge_rows = row_of[: int(inward.sum())]
    inj_pick = np.flatnonzero(treating[system.inj_node])
    inj_rows = row_of[int(inward.sum()) :]
    w = sp.csr_array(
        (
            system.edge_mass[inward] / system.throughput[s[inward]],
            (edge_rows, s[inward]),
        ),
        shape=(n_t, system.nodes.size),
    )
    if isinstance(mass, np.ndarray):
        intake = np.asarray(w @ mass)
        np.add.at(intake, (inj_rows, inj_group[inj_pick]), system.inj_mass[inj_pick])
        combined: np.ndarray | sp.csr_array = np.vstack((mass[plain], intake))
        total = combined.sum(axis=1)
    else:
        extra = sp.csr_array(
            (system.inj_mass[inj_pick], (inj_rows, inj_group[inj_pick])), shape=(n_t, n_groups)
        )
        combined = sp.csr_array(sp.vstack((mass[plain], w @ mass + extra), format="csr"))
        total = np.asarray(combined.sum(axis=1)).ravel()
    positions = np.concatenate((rows_plain, t_sites))
    order = np.argsort(positions, kind="stable")
    keep = order[total[order] > 0]
    return positions[keep], total[keep], combined[keep]


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
    gets its shares from the sources feeding it through any chain or cycle of pools; a
    treating site's shares are those of everything it received (each lot keeps its own mix
    inside the site: see :func:`attribute_fates`). Pass
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
    if closed.size:
        if isinstance(mass, np.ndarray):
            mass[closed, groups.index(UNEXPLAINED)] = system.throughput[closed]
        else:
            lil = mass.tolil()
            lil[closed, groups.index(UNEXPLAINED)] = system.throughput[closed]
            mass = sp.csr_array(lil)
    positions, total, site_mass = _site_rows(system, mass, inj_group, n_groups)
    if isinstance(site_mass, np.ndarray):
        shares: np.ndarray | sp.csr_array = site_mass / total[:, None]
    else:
        shares = sp.csr_array(sp.diags_array(1.0 / total) @ site_mass)
    return OriginShares(
        material=material,
        site_ids=net.site_ids[positions],
        groups=groups,
        throughput=total,
        shares=shares,
        circulating=tuple(
            sorted(set(net.site_ids[system.lots.site_of(system.nodes[closed], net.n)].tolist()))
        ),
    )


@dataclass(frozen=True, eq=False)
class FateAttribution:
    """Where each origin group's mass of one material ended.

    ``total[g, f]`` is the kg of ``groups[g]``'s mass that ended as ``fate_names[f]``;
    ``direct[g, f]`` is the part of it that went from its source straight to the site that
    treated it (or was treated at the source), with no pool between: the rest was shared out
    in proportion at a collection point, transfer station or a plant's common stock.
    """

    groups: tuple[str, ...]
    fate_names: tuple[FateName, ...]
    total: np.ndarray
    direct: np.ndarray

    def as_dict(
        self, which: Literal["total", "direct"] = "total", *, nonzero: bool = False
    ) -> dict[str, dict[Any, float]]:
        """``{group: {fate: kg}}`` of ``total`` (or ``direct``); ``nonzero``: only the fates
        a group reached (a report reads these many times; most of a table is zeros)."""
        table = self.total if which == "total" else self.direct
        if not nonzero:
            return {
                g: dict(zip(self.fate_names, map(float, row), strict=True))
                for g, row in zip(self.groups, table, strict=True)
            }
        names, groups = self.fate_names, self.groups
        out: dict[str, dict[Any, float]] = {g: {} for g in groups}
        rows, cols = np.nonzero(table > 0)
        for r, c, kg in zip(rows.tolist(), cols.tolist(), table[rows, cols].tolist(), strict=True):
            out[groups[r]][names[c]] = kg
        return out


def fates_by_origin(
    sites: Iterable[SiteNode] | FlowNetwork,
    flows: Iterable[Flow] | None,
    treatments: Iterable[Treatment] | None,
    material: str | None,
    group_of: GroupOf | None = None,
    *,
    opening_stock: Mapping[tuple[int, str], float] | None = None,
    by: FateBy = "route_class",
) -> FateAttribution:
    """Where each origin group's mass of ``material`` ended, with the part that reached its
    fate directly (see :class:`FateAttribution`).

    Fates are named by route class, route, or ``(site id, route)`` (``by``), plus ``STOCK``
    (held at a pool at period end; ``(None, STOCK)`` by site) and ``AWAITING_RETURN``
    (refused at a treating site and still held there). Material mixes only at pools: at a
    treating site each sender's lot keeps its own mix, so a load's accepted mass goes to the
    route on its own receipt and its refused mass stays its sender's until returned.

    One adjoint solve per fate: each source's ``g_s · [(I - A)⁻¹ w_fate]_s``.
    """
    net = as_network(sites, flows, treatments)
    system = _build_system(net, material, opening_stock, by=by)
    n_fates = len(system.fate_names)
    if system.inj_node.size == 0:
        return FateAttribution(
            (), system.fate_names, np.zeros((0, n_fates)), np.zeros((0, n_fates))
        )
    groups, inj_group = _group_labels(system, group_of)
    weights = system.fates / system.throughput[:, None]
    per_kg = system.solve(weights, adjoint=True)
    contribution = system.inj_mass[:, None] * per_kg[system.inj_node]
    totals = np.zeros((len(groups), n_fates))
    np.add.at(totals, inj_group, contribution)
    return FateAttribution(groups, system.fate_names, totals, _direct(system, groups, group_of))


def _direct(system: _System, groups: tuple[str, ...], group_of: GroupOf | None) -> np.ndarray:
    """Per group, the fates reached with no pool between source and fate: a source's own
    treatment, and the fates of a lot its source delivered itself (in the share of the lot's
    throughput that came straight from the source)."""
    net, n = system.net, system.net.n
    out = np.zeros((len(groups), len(system.fate_names)))
    code = {g: i for i, g in enumerate(groups)}
    nodes = system.nodes
    source_node = np.zeros(system.lots.n_nodes, dtype=bool)
    source_node[:n] = net.is_source
    # A source's own node: its treatment on site (stock does not arise at sources).
    own = np.flatnonzero(source_node[nodes])
    # Lots whose sender is a source, fed by an edge from that source.
    s, t = system.edge_s, system.edge_t
    from_source = source_node[nodes[s]] & (nodes[t] >= n)
    rows: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    senders: list[np.ndarray] = []
    if own.size:
        rows.append(own)
        weights.append(np.ones(own.size))
        senders.append(nodes[own])
    if from_source.any():
        rows.append(t[from_source])
        weights.append(system.edge_mass[from_source] / system.throughput[t[from_source]])
        senders.append(nodes[s[from_source]])
    if not rows:
        return out
    row, weight, sender = np.concatenate(rows), np.concatenate(weights), np.concatenate(senders)
    labels = _labels_of_sources(net, sender, group_of)
    keep = np.fromiter((lbl in code for lbl in labels), bool, count=len(labels))
    group = np.fromiter((code.get(lbl, 0) for lbl in labels), np.int64, count=len(labels))
    fates = system.fates[row]
    fates[:, [i for i, f in enumerate(system.fate_names) if _is_stock(f)]] = 0.0
    np.add.at(out, group[keep], weight[keep, None] * fates[keep])
    return out


def _is_stock(name: FateName) -> bool:
    fate = name[1] if isinstance(name, tuple) else name
    return fate in (STOCK, AWAITING_RETURN)


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
    still held at a pool at period end, and ``AWAITING_RETURN``: mass refused at a treating
    site and still held there. ``group_of`` as in :func:`origin_shares` (default:
    ``region``). For every group the fates add up to the mass it generated (plus the
    pseudo-origins ``OPENING_STOCK`` and ``UNEXPLAINED`` for mass of untraced origin).
    See :func:`fates_by_origin` for the lot rule at treating sites.
    """
    found = fates_by_origin(
        sites, flows, treatments, material, group_of, opening_stock=opening_stock, by=by
    )
    return found.as_dict()  # type: ignore[return-value]


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
    ``result[T]["utilisation"]``. Mass still held (stock, awaiting return) is left out (see
    :func:`attribute_fates`).
    """
    fates = attribute_fates(
        sites, flows, treatments, material, group_of, opening_stock=opening_stock
    )
    return {g: {c: f[c] for c in ROUTE_CLASSES} for g, f in fates.items()}
