"""Sites, flows and treatments compiled once into numpy arrays.

Every computation in this package works on these arrays (``np.bincount``, ``scipy.sparse``),
never on networkx per-node loops: on 100,000 sites the arrays are two orders of magnitude
faster (see the floors in the project's reference notes).

Records are put into a canonical order (by site, material and mass) before anything is summed,
so every float sum is carried out in the same order whatever order the records arrived in, and
the results are bitwise identical for a shuffled input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter

import numpy as np

from graph.model import ROUTE_CLASSES, SITE_KINDS, TREATING_KINDS, Flow, SiteNode, Treatment

NO_DAY = -1
# Relative slack for comparing masses that went through different float sums.
EPS_REL = 1e-9
# Absolute slack in kg (a milligram) so that zero-mass comparisons are not decided by rounding.
EPS_ABS_KG = 1e-6


@dataclass(frozen=True, eq=False, slots=True)
class Edges:
    """Site-to-site flows of one material (or all) summed per (src, dst), positive only."""

    src: np.ndarray
    dst: np.ndarray
    mass: np.ndarray


@dataclass(frozen=True, eq=False, slots=True)
class NodeTotals:
    """Per-site totals of one material (or all), indexed like ``FlowNetwork.site_ids``."""

    inflow: np.ndarray
    outflow: np.ndarray
    treated_by_class: np.ndarray  # n × len(ROUTE_CLASSES)

    @property
    def treated(self) -> np.ndarray:
        """Treated mass per site, all route classes together."""
        return self.treated_by_class.sum(axis=1)


def sum_by(index: np.ndarray, *, weights: np.ndarray, minlength: int) -> np.ndarray:
    """``np.bincount`` with weights, always float64 (bincount of nothing returns integers)."""
    return np.bincount(index, weights=weights, minlength=minlength).astype(np.float64, copy=False)


def _check_masses(mass: np.ndarray, records: list, what: str) -> None:
    bad = np.flatnonzero(~np.isfinite(mass) | (mass < 0))
    if bad.size:
        raise ValueError(f"{what} mass must be finite and >= 0: {records[int(bad[0])]!r}")


class FlowNetwork:
    """The period's sites, flows and treatments as arrays, indexed by position of the site id.

    Build it once and pass it to several computations instead of the three record lists:
    every public function of :mod:`graph` accepts a ``FlowNetwork`` in place of ``sites``
    (with ``flows`` and ``treatments`` left out). Raises ``ValueError`` for duplicate site
    ids, unknown site kinds or route classes, records naming unknown sites, and negative or
    non-finite masses.
    """

    def __init__(
        self,
        sites: Iterable[SiteNode],
        flows: Iterable[Flow] = (),
        treatments: Iterable[Treatment] = (),
    ) -> None:
        site_list = sorted(sites, key=attrgetter("id"))
        self.sites: tuple[SiteNode, ...] = tuple(site_list)
        self.n = len(site_list)
        self.site_ids = _column(site_list, "id", np.int64)
        dup = np.flatnonzero(np.diff(self.site_ids) == 0)
        if dup.size:
            raise ValueError(f"duplicate site id {int(self.site_ids[dup[0]])}")
        self._lookup = _dense_lookup(self.site_ids)
        kind_code = {k: i for i, k in enumerate(SITE_KINDS)}
        self.kind_codes = _codes(site_list, "kind", kind_code, "site kind").astype(np.int8)
        self.is_source = self.kind_codes == kind_code["source"]
        self.is_treating = np.isin(self.kind_codes, [kind_code[k] for k in TREATING_KINDS])
        self._set_records(flows, treatments)

    def with_records(
        self, flows: Iterable[Flow] = (), treatments: Iterable[Treatment] = ()
    ) -> FlowNetwork:
        """The same sites with other flows and treatments, sharing the sites' arrays instead
        of building them again: a network per material costs its own records only."""
        other = object.__new__(FlowNetwork)
        other.sites, other.n, other.site_ids = self.sites, self.n, self.site_ids
        other._lookup, other.kind_codes, other.is_source, other.is_treating = (
            self._lookup,
            self.kind_codes,
            self.is_source,
            self.is_treating,
        )
        other._set_records(flows, treatments)
        return other

    def _set_records(self, flows: Iterable[Flow], treatments: Iterable[Treatment]) -> None:
        self._flow_list = flow_list = list(flows)
        self._treatment_list = treatment_list = list(treatments)
        f_names = list(map(attrgetter("material"), flow_list))
        t_names = list(map(attrgetter("material"), treatment_list))
        # Codes in name order, so that every output sorted by code is sorted by name.
        self.materials: tuple[str, ...] = tuple(sorted({*f_names, *t_names}))
        self.material_code: dict[str, int] = {m: i for i, m in enumerate(self.materials)}
        get_code = self.material_code.__getitem__

        f_src = self.index_of(_column(flow_list, "src", np.int64), "flow")
        f_dst = self.index_of(_column(flow_list, "dst", np.int64), "flow")
        f_mat = np.fromiter(map(get_code, f_names), np.int64, count=len(f_names))
        f_mass = _column(flow_list, "mass_kg", np.float64)
        _check_masses(f_mass, flow_list, "flow")
        f_lot = self._optional_sites(flow_list, "lot", "flow's lot")

        t_site = self.index_of(_column(treatment_list, "site", np.int64), "treatment")
        t_mat = np.fromiter(map(get_code, t_names), np.int64, count=len(t_names))
        self.routes: tuple[str, ...] = tuple(sorted({t.route for t in treatment_list}))
        route_code = {r: i for i, r in enumerate(self.routes)}
        t_route = _codes(treatment_list, "route", route_code, "route")
        class_code = {c: i for i, c in enumerate(ROUTE_CLASSES)}
        t_class = _codes(treatment_list, "route_class", class_code, "route class")
        t_mass = _column(treatment_list, "mass_kg", np.float64)
        _check_masses(t_mass, treatment_list, "treatment")
        # Each route's class (a route has one class in the catalogue).
        self.route_class_codes = np.zeros(len(self.routes), dtype=np.int64)
        self.route_class_codes[t_route] = t_class
        t_src = self._optional_sites(treatment_list, "src", "treatment's sender")

        n_mat, n_site = max(len(self.materials), 1), max(self.n, 1)
        # One composite key sorts faster than a lexsort over its parts; mass breaks the ties so
        # that equal keys are summed in the same order whatever the input order.
        order = np.lexsort((f_mass, f_lot, (f_src * n_site + f_dst) * n_mat + f_mat))
        self.flow_order = order
        self.f_src, self.f_dst = f_src[order], f_dst[order]
        self.f_mat, self.f_mass = f_mat[order], f_mass[order]
        self.f_lot = f_lot[order]  # position of a return's lot sender, -1 for other flows

        n_route, n_cls = max(len(self.routes), 1), len(ROUTE_CLASSES)
        key = ((t_site * n_mat + t_mat) * n_route + t_route) * n_cls + t_class
        order = np.lexsort((t_mass, t_src, key))
        self.treatment_order = order
        self.t_site, self.t_mat = t_site[order], t_mat[order]
        self.t_route, self.t_class = t_route[order], t_class[order]
        self.t_mass = t_mass[order]
        self.t_src = t_src[order]  # position of the treated loads' sender, -1 if not given

        self._edges: dict[str | None, Edges] = {}
        self._totals: dict[str | None, NodeTotals] = {}
        self._flow_days: np.ndarray | None = None
        self._treatment_days: np.ndarray | None = None

    def _optional_sites(self, records: list, name: str, what: str) -> np.ndarray:
        """Positions of an optional site-id attribute of each record, -1 where it is None."""
        ids = list(map(attrgetter(name), records))
        out = np.full(len(ids), -1, dtype=np.int64)
        given = [i for i, v in enumerate(ids) if v is not None]
        if given:
            out[given] = self.index_of(np.array([ids[i] for i in given], dtype=np.int64), what)
        return out

    def flow(self, i: int) -> Flow:
        """The record behind position ``i`` of the canonical flow arrays."""
        return self._flow_list[int(self.flow_order[i])]

    @cached_property
    def f_sent(self) -> np.ndarray:
        """Mass each flow's sender sent, on its own scale: ``declared_kg`` where given, else
        ``mass_kg`` (canonical order). A site's outflow is counted in these terms, its inflow
        in ``f_mass`` (what it received); the gap between the two ends of a load belongs to
        neither site's stock."""
        declared = self.flow_column("declared_kg")
        return np.where(np.isfinite(declared), declared, self.f_mass)

    def flow_column(self, name: str) -> np.ndarray:
        """A numeric attribute of every flow (canonical order), ``NaN`` where it is ``None``."""
        values = np.array(list(map(attrgetter(name), self._flow_list)), dtype=np.float64)
        return values[self.flow_order]

    def index_of(self, ids: np.ndarray, what: str = "record") -> np.ndarray:
        """Positions of site ``ids`` in ``site_ids``; ``ValueError`` if one is not a site."""
        ids = np.asarray(ids, dtype=np.int64)
        if self._lookup is not None:
            base, table = self._lookup
            offset = ids - base
            inside = (offset >= 0) & (offset < table.size)
            pos = np.full(ids.shape, -1, dtype=np.int64)
            pos[inside] = table[offset[inside]]
        elif self.n:
            pos = np.minimum(np.searchsorted(self.site_ids, ids), self.n - 1)
            pos[self.site_ids[pos] != ids] = -1
        else:
            pos = np.full(ids.shape, -1, dtype=np.int64)
        unknown = np.flatnonzero(pos < 0)
        if unknown.size:
            raise ValueError(f"{what} refers to unknown site {int(ids[unknown[0]])}")
        return pos

    def flow_mask(self, material: str | None) -> np.ndarray | slice:
        """Selector of the canonical flow arrays for ``material`` (``None``: all)."""
        if material is None:
            return slice(None)
        return self.f_mat == self.material_code.get(material, -1)

    def treatment_mask(self, material: str | None) -> np.ndarray | slice:
        """Selector of the canonical treatment arrays for ``material`` (``None``: all)."""
        if material is None:
            return slice(None)
        return self.t_mat == self.material_code.get(material, -1)

    def edges(self, material: str | None) -> Edges:
        """Flows of ``material`` summed per (src, dst); zero-mass pairs are left out."""
        cached = self._edges.get(material)
        if cached is not None:
            return cached
        sel = self.flow_mask(material)
        src, dst, mass = self.f_src[sel], self.f_dst[sel], self.f_mass[sel]
        if src.size:
            # The canonical order sorts by (src, dst) first, so each pair is one run.
            breaks = np.flatnonzero((src[1:] != src[:-1]) | (dst[1:] != dst[:-1])) + 1
            starts = np.concatenate(([0], breaks))
            total = np.add.reduceat(mass, starts)
            keep = total > 0
            result = Edges(src[starts][keep], dst[starts][keep], total[keep])
        else:
            empty = np.zeros(0, dtype=np.int64)
            result = Edges(empty, empty, np.zeros(0))
        self._edges[material] = result
        return result

    def totals(self, material: str | None) -> NodeTotals:
        """Inflow, outflow and treated mass (per route class) of every site for ``material``."""
        cached = self._totals.get(material)
        if cached is not None:
            return cached
        e = self.edges(material)
        sel = self.treatment_mask(material)
        n_cls = len(ROUTE_CLASSES)
        treated = sum_by(
            self.t_site[sel] * n_cls + self.t_class[sel],
            weights=self.t_mass[sel],
            minlength=self.n * n_cls,
        ).reshape(self.n, n_cls)
        result = NodeTotals(
            inflow=sum_by(e.dst, weights=e.mass, minlength=self.n),
            outflow=sum_by(e.src, weights=e.mass, minlength=self.n),
            treated_by_class=treated,
        )
        self._totals[material] = result
        return result

    def flow_days(self) -> np.ndarray:
        """Day of each flow (canonical order) as a proleptic ordinal, ``NO_DAY`` when unset."""
        if self._flow_days is None:
            self._flow_days = _ordinals(self._flow_list)[self.flow_order]
        return self._flow_days

    def treatment_days(self) -> np.ndarray:
        """Day of each treatment (canonical order) as an ordinal, ``NO_DAY`` when unset."""
        if self._treatment_days is None:
            self._treatment_days = _ordinals(self._treatment_list)[self.treatment_order]
        return self._treatment_days

    def opening_vector(
        self, opening_stock: Mapping[tuple[int, str], float] | None, material: str | None
    ) -> np.ndarray:
        """Opening stock per site for ``material`` (``None``: all materials summed)."""
        out = np.zeros(self.n)
        if not opening_stock:
            return out
        items = [
            (site, kg)
            for (site, mat), kg in opening_stock.items()
            if material is None or mat == material
        ]
        if items:
            ids, kg = zip(*items, strict=True)
            np.add.at(out, self.index_of(np.asarray(ids), "opening stock"), np.asarray(kg, float))
        return out


def _ordinals(records: list) -> np.ndarray:
    days = list(map(attrgetter("day"), records))
    # Records share a few hundred distinct days at most: convert each day once.
    ordinal = {d: NO_DAY if d is None else d.toordinal() for d in set(days)}
    return np.fromiter(map(ordinal.__getitem__, days), np.int64, count=len(days))


def _column(records: list, name: str, dtype: type) -> np.ndarray:
    return np.fromiter(map(attrgetter(name), records), dtype, count=len(records))


def _codes(records: list, name: str, code: dict[str, int], what: str) -> np.ndarray:
    values = list(map(attrgetter(name), records))
    try:
        return np.fromiter(map(code.__getitem__, values), np.int64, count=len(values))
    except KeyError as exc:
        raise ValueError(
            f"unknown {what} {exc.args[0]!r}; expected one of {sorted(code)}"
        ) from None


def _dense_lookup(ids: np.ndarray) -> tuple[int, np.ndarray] | None:
    """A table from id to position, when ids are compact enough (database ids usually are)."""
    if ids.size == 0:
        return None
    base, span = int(ids[0]), int(ids[-1]) - int(ids[0]) + 1
    if span > 4 * ids.size + 1024:
        return None
    table = np.full(span, -1, dtype=np.int64)
    table[ids - base] = np.arange(ids.size)
    return base, table


def as_network(
    sites: Iterable[SiteNode] | FlowNetwork,
    flows: Iterable[Flow] | None,
    treatments: Iterable[Treatment] | None,
) -> FlowNetwork:
    """``sites`` if it is already a :class:`FlowNetwork`, else a network built from records."""
    if isinstance(sites, FlowNetwork):
        if flows or treatments:
            raise TypeError("pass flows and treatments either in the FlowNetwork or alongside")
        return sites
    return FlowNetwork(sites, flows or (), treatments or ())
