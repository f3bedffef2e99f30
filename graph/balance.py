"""Per-site, per-material mass balance: opening + in - out - treated = closing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from graph.model import ROUTE_CLASSES, Flow, SiteBalance, SiteNode, Treatment
from graph.network import FlowNetwork, as_network, sum_by

# Above this many (site, material) cells, index the keys by sorting instead of a dense table.
_DENSE_KEYS_MAX = 20_000_000


@dataclass(frozen=True, eq=False, slots=True)
class BalanceArrays:
    """The balance as columns: row ``i`` is site ``site_ids[site[i]]`` and ``materials[mat[i]]``.

    Rows are sorted by site id, then material name.
    """

    materials: tuple[str, ...]
    site: np.ndarray
    mat: np.ndarray
    opening: np.ndarray
    inflow: np.ndarray
    outflow: np.ndarray
    treated: np.ndarray
    generated: np.ndarray
    closing: np.ndarray


def _compact(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``keys`` (sorted) and each key's position among them."""
    if size <= _DENSE_KEYS_MAX:
        present = np.bincount(keys, minlength=size) > 0
        position = np.cumsum(present) - 1
        return np.flatnonzero(present), position[keys]
    return np.unique(keys, return_inverse=True)


def balance_arrays(
    net: FlowNetwork, opening_stock: Mapping[tuple[int, str], float] | None = None
) -> BalanceArrays:
    """Vectorised mass balance of every (site, material) that has a record or opening stock."""
    opening_stock = opening_stock or {}
    materials = tuple(sorted(set(net.materials) | {m for _, m in opening_stock}))
    code = {m: i for i, m in enumerate(materials)}
    remap = np.array([code[m] for m in net.materials], dtype=np.int64)
    n_mat = max(len(materials), 1)

    if opening_stock:
        o_ids, o_mats, o_kg = zip(
            *((s, m, kg) for (s, m), kg in opening_stock.items()), strict=True
        )
        o_key = net.index_of(np.asarray(o_ids), "opening stock") * n_mat + np.array(
            [code[m] for m in o_mats], dtype=np.int64
        )
        o_mass = np.asarray(o_kg, dtype=np.float64)
        if not np.isfinite(o_mass).all():
            raise ValueError("opening stock must be finite")
    else:
        o_key, o_mass = np.zeros(0, dtype=np.int64), np.zeros(0)

    f_mat = remap[net.f_mat] if net.f_mat.size else net.f_mat
    t_mat = remap[net.t_mat] if net.t_mat.size else net.t_mat
    parts = (
        net.f_dst * n_mat + f_mat,
        net.f_src * n_mat + f_mat,
        net.t_site * n_mat + t_mat,
        o_key,
    )
    keys, where = _compact(np.concatenate(parts), net.n * n_mat)
    bounds = np.cumsum([0, *(p.size for p in parts)])
    u = keys.size

    def total(i: int, weights: np.ndarray) -> np.ndarray:
        return sum_by(where[bounds[i] : bounds[i + 1]], weights=weights, minlength=u)

    inflow = total(0, net.f_mass)
    outflow = total(1, net.f_sent)
    # A treating site keeps what it accepts into storage: it is stock (it may be shipped on),
    # not treated mass.
    kept = (net.t_class == ROUTE_CLASSES.index("storage")) & net.is_treating[net.t_site]
    treated = total(2, np.where(kept, 0.0, net.t_mass)) if kept.any() else total(2, net.t_mass)
    opening = total(3, o_mass)
    site = keys // n_mat
    source = net.is_source[site]
    generated = np.where(source, outflow + treated - inflow, 0.0)
    closing = np.where(source, opening, opening + inflow - outflow - treated)
    return BalanceArrays(
        materials=materials,
        site=site,
        mat=keys % n_mat,
        opening=opening,
        inflow=inflow,
        outflow=outflow,
        treated=treated,
        generated=generated,
        closing=closing,
    )


def mass_balance(
    sites: Iterable[SiteNode] | FlowNetwork,
    flows: Iterable[Flow] | None = None,
    treatments: Iterable[Treatment] | None = None,
    opening_stock: Mapping[tuple[int, str], float] | None = None,
) -> dict[tuple[int, str], SiteBalance]:
    """Mass balance of every (site id, material) seen in the records or in ``opening_stock``.

    ``closing = opening + inflow - outflow - treated``, where inflow is the mass a site received
    and outflow the mass it sent (a flow's ``declared_kg`` where given, else ``mass_kg``; see
    :attr:`FlowNetwork.f_sent`): the difference between the two ends of a load is in no site's
    stock. A source has no stock to draw on: what
    it sends out or treats beyond what it received is what it generated, reported in
    ``generated = outflow + treated - inflow``, and its ``closing`` stays its ``opening``. A
    negative closing is reported as is (see :func:`graph.detect_anomalies`, ``negative_stock``).
    At a treating site (processor, disposal) mass accepted under a storage route stays in its
    stock: ``treated`` leaves it out, and ``closing`` holds it until it is shipped on.

    The balance is additive over periods: with period 1's closing passed as period 2's
    ``opening_stock``, the two balances add up to the balance of the whole period. Keys come
    out sorted by site id, then material.
    """
    net = as_network(sites, flows, treatments)
    b = balance_arrays(net, opening_stock)
    ids = net.site_ids[b.site].tolist()
    names = [b.materials[m] for m in b.mat.tolist()]
    return {
        (site, mat): SiteBalance(site, mat, op, inf, out, tr, cl, gen)
        for site, mat, op, inf, out, tr, cl, gen in zip(
            ids,
            names,
            b.opening.tolist(),
            b.inflow.tolist(),
            b.outflow.tolist(),
            b.treated.tolist(),
            b.closing.tolist(),
            b.generated.tolist(),
            strict=True,
        )
    }
