"""What every figure of a period is built from: regions, the flow graph and its attribution,
first hops, declarations (the formulas themselves are in ``wasteflow.rates.figures``).

Numerators are read off the flow graph: the mass each source's material ended as under each
treatment route. Material mixes only where it physically mixes: collection points, transfer
stations and a plant's common stock (what it stores and ships on) share out what they
receive in proportion; a processor keeps each sender's load apart (its lot), so a load's
accepted mass goes to the route on its own receipt and its refused mass stays its sender's
until a return takes it back (``graph.fates_by_origin``).
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, TypeVar

from graph import (
    AWAITING_RETURN,
    STOCK,
    BalanceArrays,
    Flow,
    FlowNetwork,
    SiteNode,
    Treatment,
    balance_arrays,
    fates_by_origin,
)
from wasteflow.errors import Invalid
from wasteflow.rates.data import (
    DeclarationRow,
    FlowRow,
    PeriodData,
    RegionInfo,
    ReturnRow,
    TreatmentRow,
)
from wasteflow.rates.memo import ValueKey, add_counts, shapes, solved_memo, summed
from wasteflow.types import DeclarationKind, RegionLevel

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

# Fates that are not a route: mass still held at a pool, or refused at a plant and held there.
HELD = (STOCK, AWAITING_RETURN)

Origin = int | str  # a source's region id, or a pseudo-origin (opening stock, unexplained)
SiteFates = dict[tuple[int | None, str], float]  # (treating site id or None, fate) → kg


@dataclass(frozen=True)
class Attributed:
    """Where one material's mass ended, by origin: ``total[origin][(site, fate)]`` kg, and the
    part of it that reached that fate with no pool between source and fate (``direct``)."""

    total: dict[Origin, SiteFates]
    direct: dict[Origin, SiteFates]


_NOTHING = Attributed({}, {})


def _by_fate(by_site: Mapping[Origin, SiteFates]) -> dict[int, dict[str, float]]:
    """Region id → fate → kg (summed over sites; pseudo-origins left out)."""
    out: dict[int, dict[str, float]] = {}
    for origin, fates in by_site.items():
        if isinstance(origin, int):
            row: dict[str, float] = defaultdict(float)
            for (_, fate), kg in fates.items():
                row[fate] += kg
            out[origin] = dict(row)
    return out


class PeriodEngine:
    """The shared building blocks of a period's figures, each computed once."""

    def __init__(self, data: PeriodData):
        self.d = data
        self.children: dict[int | None, list[int]] = defaultdict(list)
        for r in data.regions.values():
            self.children[r.parent_id].append(r.id)
        self.by_code = {r.code: r for r in data.regions.values()}
        self.mat_code = {mid: code for mid, (code, _) in data.materials.items()}
        self.mat_ind = {mid: ind for mid, (_, ind) in data.materials.items()}
        self._within: dict[str, frozenset[int]] = {}
        # Each set ``within`` returned → the region at its top: sums over such a set are read
        # from the per-subtree sums.
        self._roots: dict[frozenset[int], int] = {}

    # -- graph --------------------------------------------------------------------------
    @cached_property
    def _sites(self) -> FlowNetwork:
        """The sites alone: the networks below add the records to it."""
        return FlowNetwork(
            SiteNode(
                s.id, s.kind, self._township_code(s.region_id), s.capacity_kg, s.lat, s.lon, s.code
            )
            for s in self.d.sites.values()
        )

    def _graph_records(
        self,
        flows: Iterable[FlowRow],
        treatments: Iterable[TreatmentRow],
        returns: Iterable[ReturnRow] = (),
    ) -> tuple[list[Flow], list[Treatment]]:
        # A load is in the receiver's hands once received, refused part included: refused mass
        # waits there until a return handover takes it back (or it shows as stock). Each site's
        # outflow is what it sent on its own scale (declared), so loads still in transit count
        # as sent. Per-load discrepancies are flagged on the handovers, not here. A return is
        # its own flow, marked with the lot it takes back; the rest of its pair's flow is not.
        routes, code = self.d.routes, self.mat_code
        returned: dict[tuple[int, int, int], tuple[int, int]] = {}
        out: list[Flow] = []
        if not returns:  # the common case: no pair's flow holds a return
            out = [
                Flow(f.src, f.dst, code[f.material_id], f.received_g / 1000, f.declared_g / 1000)
                for f in flows
                if f.received_g > 0 or f.declared_g > 0
            ]
            flows = ()
        for r in returns:
            key = (r.src, r.dst, r.material_id)
            got, sent = returned.get(key, (0, 0))
            returned[key] = (got + r.received_g, sent + r.declared_g)
            if r.received_g > 0 or r.declared_g > 0:
                out.append(
                    Flow(
                        r.src,
                        r.dst,
                        code[r.material_id],
                        r.received_g / 1000,
                        r.declared_g / 1000,
                        lot=r.sender,
                    )
                )
        for f in flows:
            got, sent = returned.get((f.src, f.dst, f.material_id), (0, 0))
            received, declared = f.received_g - got, f.declared_g - sent
            if received > 0 or declared > 0:
                out.append(
                    Flow(f.src, f.dst, code[f.material_id], received / 1000, declared / 1000)
                )
        return (
            out,
            [
                Treatment(
                    t.site,
                    code[t.material_id],
                    routes[t.route_id].code,
                    routes[t.route_id].route_class,
                    t.accepted_g / 1000,
                    src=t.src,
                )
                for t in treatments
                if t.accepted_g > 0
            ],
        )

    @cached_property
    def _network(self) -> FlowNetwork:
        """Every material's flows: for the mass balance of every site."""
        return self._sites.with_records(
            *self._graph_records(self.d.flows, self.d.treatments, self.d.returns)
        )

    @cached_property
    def _rows_by_material(
        self,
    ) -> dict[str, tuple[tuple[FlowRow, ...], tuple[TreatmentRow, ...], tuple[ReturnRow, ...]]]:
        flows: dict[int, list[FlowRow]] = defaultdict(list)
        treatments: dict[int, list[TreatmentRow]] = defaultdict(list)
        returns: dict[int, list[ReturnRow]] = defaultdict(list)
        for f in self.d.flows:
            flows[f.material_id].append(f)
        for t in self.d.treatments:
            treatments[t.material_id].append(t)
        for r in self.d.returns:
            returns[r.material_id].append(r)
        return {
            code: (
                tuple(flows.get(m, ())),
                tuple(treatments.get(m, ())),
                tuple(returns.get(m, ())),
            )
            for m, code in self.mat_code.items()
        }

    @cached_property
    def _shape_key(self) -> ValueKey:
        """What a material's attribution reads besides its own rows: each site's kind, region
        and township, the routes and the material codes (see ``_solved``). Interned: the
        engines of successive versions share one object, so keys compare it by identity."""
        key = ValueKey(
            tuple(
                (s.id, s.kind, s.region_id, self._township_code(s.region_id))
                for s in self.d.sites.values()
            ),
            tuple((rid, r.code, r.route_class) for rid, r in self.d.routes.items()),
            tuple(self.mat_code.items()),
        )
        return shapes.get(key, lambda: key)

    def _material_network(self, material: str) -> FlowNetwork:
        """The network of one material alone: what its attribution needs, built in a
        fraction of the time of the whole network."""
        return self._sites.with_records(*self._graph_records(*self._rows_by_material[material]))

    def _solved(self, what: str, material: str, solve: Callable[[], T]) -> T:
        """``solve()``'s result for ``material``, shared between the engines of every data
        version in the process while the material's inputs are unchanged. The key is every
        input: the material's period rows (flows, treatments, returns), its opening stock, and
        the sites, routes and materials (``_shape_key``), all compared by value; so a scan of
        film leaves straw's attribution as it was, and any change to what straw's depends on
        makes it computed afresh."""
        rows = self._rows_by_material[material]
        opening = self._opening_for(material)
        key = ValueKey(
            what,
            material,
            *rows,
            tuple(sorted(opening.items())) if opening else (),
            self._shape_key,
        )
        return solved_memo.get(key, solve)

    @cached_property
    def balance(self) -> BalanceArrays:
        """Every site's mass balance of the period, per material (computed once)."""
        return balance_arrays(self._network, opening_stock=self.d.opening_stock or None)

    @cached_property
    def kept_in_storage(self) -> dict[tuple[int, str], float]:
        """(site id, material) → kg of its closing stock a treating site keeps under a
        storage route: what it held in storage at the start and accepted into storage since,
        less what it shipped on (storage goes out first), never more than it holds."""
        kept: dict[tuple[int, str], float] = defaultdict(float)
        for key, kg in self.d.opening_stored.items():
            kept[key] += kg
        code = self.mat_code
        storage = {rid for rid, r in self.d.routes.items() if r.route_class == "storage"}
        for t in self.d.treatments:
            if t.route_id in storage:
                kept[(t.site, code[t.material_id])] += t.accepted_g / 1000
        if not kept:
            return {}
        for f in self.d.flows:
            if (f.src, code[f.material_id]) in kept:
                kept[(f.src, code[f.material_id])] -= f.declared_g / 1000
        for r in self.d.returns:
            if (r.src, code[r.material_id]) in kept:
                kept[(r.src, code[r.material_id])] += r.declared_g / 1000
        b = self.balance
        ids = self._network.site_ids
        closing = {
            (int(ids[b.site[i]]), b.materials[int(b.mat[i])]): float(b.closing[i])
            for i in range(len(b.site))
        }
        return {
            key: min(kg, closing.get(key, 0.0))
            for key, kg in kept.items()
            if kg > 0 and closing.get(key, 0.0) > 0
        }

    @cached_property
    def _materials_with_flows(self) -> set[str]:
        return {self.mat_code[f.material_id] for f in self.d.flows if f.received_g > 0}

    def attributed(self, material: str) -> Attributed:
        """Where ``material`` ended, by the source's region (see :class:`Attributed`):
        attributed grouped by the source's region, so the graph sums the sources of a
        village, not Python."""
        cache = self.__dict__.setdefault("_attributed", {})
        if material not in cache:
            if material not in self._materials_with_flows:
                cache[material] = _NOTHING
            else:
                cache[material] = self._solved("fates", material, lambda: self._attribute(material))
        return cache[material]  # type: ignore[no-any-return]

    def fates(self, material: str) -> dict[int, dict[str, float]]:
        """Region id → fate (a route, or held: stock, awaiting return) → kg of ``material``
        that arose at the region's own sources (fates it never reached are left out: every
        report sums these many times). Mass of untraced origin (opening stock, unexplained)
        belongs to no region and is left out."""
        return self._derived("fates", material, lambda a: _by_fate(a.total))

    def awaiting_return(self, material: str) -> dict[int, dict[int, float]]:
        """Region id → treating site id → kg of ``material`` arisen in the region that the
        site refused and still holds, waiting to be sent back."""
        memo = self.__dict__.setdefault("_awaiting_memo", {})
        if material not in memo:
            memo[material] = {
                origin: {site: kg for (site, fate), kg in fates.items() if fate == AWAITING_RETURN}
                for origin, fates in self.attributed(material).total.items()
                if isinstance(origin, int)
            }
        return memo[material]  # type: ignore[no-any-return]

    def _awaiting_in(self, regions: frozenset[int], materials: Iterable[int]) -> dict[int, float]:
        """Treating site id → kg of the materials arisen in the regions awaiting return."""
        root = self._roots[regions]
        out: dict[int, float] = defaultdict(float)
        for m in materials:
            memo = self.__dict__.setdefault("_awaiting_subtrees", {})
            if m not in memo:
                memo[m] = self._subtree_sums(self.awaiting_return(self.mat_code[m]), operator.add)
            for site, kg in memo[m].get(root, {}).items():
                out[site] += kg
        return dict(out)

    def direct_fates(self, material: str) -> dict[int, dict[str, float]]:
        """``fates``' part that reached its fate with no pool between source and fate."""
        return self._derived("direct", material, lambda a: _by_fate(a.direct))

    def _derived(
        self, what: str, material: str, make: Callable[[Attributed], dict[int, dict[str, float]]]
    ) -> dict[int, dict[str, float]]:
        memo = self.__dict__.setdefault(f"_{what}_memo", {})
        if material not in memo:
            memo[material] = make(self.attributed(material))
        return memo[material]  # type: ignore[no-any-return]

    @cached_property
    def _source_regions(self) -> dict[int, str]:
        """Source id → its region's id as an origin group label."""
        return {s.id: str(s.region_id) for s in self.d.sites.values() if s.kind == "source"}

    def _attribute(self, material: str) -> Attributed:
        found = fates_by_origin(
            self._material_network(material),
            None,
            None,
            material,
            group_of=self._source_regions,
            by="site_route",
            opening_stock=self._opening_for(material),
        )

        def table(which: Literal["total", "direct"]) -> dict[Origin, SiteFates]:
            return {
                int(group) if group.isdigit() else group: fates  # type: ignore[misc]
                for group, fates in found.as_dict(which, nonzero=True).items()
            }

        return Attributed(table("total"), table("direct"))

    def _opening_for(self, material: str) -> dict[tuple[int, str], float] | None:
        opening = {k: v for k, v in self.d.opening_stock.items() if k[1] == material and v > 0}
        return opening or None

    # -- regions ------------------------------------------------------------------------
    @cached_property
    def _townships(self) -> dict[int, str]:
        """Region id → code of its township (a district maps to itself)."""
        out = {}
        for rid, r in self.d.regions.items():
            while r.level == RegionLevel.village and r.parent_id is not None:
                r = self.d.regions[r.parent_id]
            out[rid] = r.code
        return out

    def _township_code(self, region_id: int) -> str:
        return self._townships[region_id]

    def region(self, code: str) -> RegionInfo:
        if code not in self.by_code:
            raise Invalid(f"region: no region with code {code!r}", field="region")
        return self.by_code[code]

    def within(self, code: str) -> frozenset[int]:
        """Ids of a region and every region under it (remembered: a report asks for each
        region once per indicator, and a frozenset keeps its hash for the memos below)."""
        found = self._within.get(code)
        if found is None:
            top = self.region(code).id
            out, todo = set(), [top]
            while todo:
                rid = todo.pop()
                out.add(rid)
                todo.extend(self.children.get(rid, ()))
            found = self._within[code] = frozenset(out)
            self._roots[found] = top
        return found

    @cached_property
    def _hop_by_region(self) -> dict[int, dict[int, tuple[int, int, int]]]:
        """Region id → material id → (grams accepted at the first hop from the region's
        sources, handovers, grams of it estimated): summed once, so a figure adds up regions,
        not sources."""
        out: dict[int, dict[int, tuple[int, int, int]]] = defaultdict(dict)
        source_region = {s.id: s.region_id for s in self.d.sites.values() if s.kind == "source"}
        for f in self.d.flows:
            rid = source_region.get(f.src)
            if rid is not None and f.dst not in source_region:
                hop = out[rid]
                g, n, e = hop.get(f.material_id, (0, 0, 0))
                hop[f.material_id] = (g + f.accepted_g, n + f.handovers, e + f.estimated_g)
        return out

    @cached_property
    def _declarations_by_region(self) -> dict[int, list[DeclarationRow]]:
        out: dict[int, list[DeclarationRow]] = defaultdict(list)
        for d in self.d.declarations:
            out[d.region_id].append(d)
        return out

    @cached_property
    def _route_classes(self) -> dict[str, str]:
        return {r.code: r.route_class for r in self.d.routes.values()}

    # -- building blocks -----------------------------------------------------------------
    def _materials(self, indicator: str, prefix: str | None = None) -> list[int]:
        return [
            m
            for m, ind in self.mat_ind.items()
            if ind == indicator and (prefix is None or self.mat_code[m].startswith(prefix))
        ]

    def _hop_in(self, regions: frozenset[int]) -> dict[int, tuple[int, int, int]]:
        """Material id → (grams accepted at the first hop from sources in the regions,
        handovers, grams estimated)."""
        root = self._roots.get(regions)
        if root is not None:
            return self._hop_subtrees[root]
        return summed((self._hop_by_region.get(rid, {}) for rid in regions), add_counts)

    @cached_property
    def _hop_subtrees(self) -> dict[int, dict[int, tuple[int, int, int]]]:
        """``_hop_by_region`` summed over each region and everything under it."""
        return self._subtree_sums(self._hop_by_region, add_counts)

    def _subtree_sums(
        self, by_region: Mapping[int, Mapping[K, V]], add: Callable[[V, V], V]
    ) -> dict[int, dict[K, V]]:
        """Per-region values summed over each region and everything under it, bottom-up."""
        out: dict[int, dict[K, V]] = {}
        empty: dict[K, V] = {}
        for rid in self._bottom_up:
            own = by_region.get(rid, empty)
            below = self.children.get(rid)
            # A village has no region under it: its own values are its subtree's (the same
            # mapping: what these sums return is read, never changed).
            out[rid] = summed([own, *(out[c] for c in below)], add) if below else own  # type: ignore[assignment]
        return out

    @cached_property
    def _bottom_up(self) -> list[int]:
        """Region ids, each after every region under it."""
        order: list[int] = []
        regions = self.d.regions
        todo = [r.id for r in regions.values() if r.parent_id is None or r.parent_id not in regions]
        while todo:
            rid = todo.pop()
            order.append(rid)
            todo.extend(self.children.get(rid, ()))
        return order[::-1]

    def _first_hop(
        self, regions: frozenset[int], materials: Iterable[int]
    ) -> tuple[dict[int, int], int, int]:
        """Accepted grams per material handed over by sources in the regions, handovers, and
        the grams of them estimated rather than weighed."""
        hop = self._hop_in(regions)
        out: dict[int, int] = defaultdict(int)
        count = estimated = 0
        for m in materials:
            if m in hop:
                g, n, e = hop[m]
                out[m] += g
                count += n
                estimated += e
        return out, count, estimated

    def _fates_in(
        self, regions: frozenset[int], material: int, which: str = "fates"
    ) -> dict[str, float]:
        """Fate → kg of the material arising in the regions (``which="direct"``: the part
        that reached it directly)."""
        root = self._roots.get(regions)
        if root is not None:
            return self._fate_subtrees(material, which)[root]
        by_region = self._per_region(material, which)
        return summed((by_region.get(rid, {}) for rid in regions), operator.add)

    def _per_region(self, material: int, which: str) -> dict[int, dict[str, float]]:
        code = self.mat_code[material]
        return self.fates(code) if which == "fates" else self.direct_fates(code)

    def _fate_subtrees(self, material: int, which: str) -> dict[int, dict[str, float]]:
        """``fates`` summed over each region and everything under it (once per material)."""
        memo = self.__dict__.setdefault("_fate_subtrees_memo", {})
        if (material, which) not in memo:
            memo[material, which] = self._subtree_sums(
                self._per_region(material, which), operator.add
            )
        return memo[material, which]  # type: ignore[no-any-return]

    def _fated(
        self, regions: frozenset[int], materials: Iterable[int], which: str = "fates"
    ) -> dict[str, float]:
        """kg of the materials arising in the regions, by the fate they reached."""
        out: dict[str, float] = defaultdict(float)
        for m in materials:
            for route, kg in self._fates_in(regions, m, which).items():
                out[route] += kg
        return out

    def _declared(
        self,
        regions: frozenset[int],
        kinds: Iterable[DeclarationKind],
        materials: Iterable[int] | None = None,
    ) -> tuple[int, int, set[str], int]:
        """Pro-rated grams declared, declarations counted, coefficient sets, field return."""
        kinds, mats = set(kinds), set(materials) if materials is not None else None
        grams = count = field_return = 0
        sets: set[str] = set()
        for rid in regions:
            for d in self._declarations_by_region.get(rid, ()):
                if d.kind in kinds and (mats is None or d.material_id in mats):
                    grams += d.prorated_g
                    field_return += d.field_return_g
                    count += 1
                    if d.coefficient_set:
                        sets.add(d.coefficient_set)
        return grams, count, sets, field_return

    def _route_class(self, route: str) -> str | None:
        return self._route_classes.get(route)

    def _counts_as_utilised(self, material: int, route: str) -> bool:
        """A utilisation route the material may take (a material whose routes are not known
        takes any): manure landfilled or "recycled", film composted never count."""
        allowed = self.d.material_routes.get(material)
        return self._route_class(route) == "utilisation" and (not allowed or route in allowed)

    def _utilised_of(self, regions: frozenset[int], material: int, which: str = "fates") -> float:
        """kg of the material arisen in the regions that ended under a utilisation route it
        may take (``which="direct"``: the part that reached it with no pool between)."""
        return math.fsum(
            kg
            for route, kg in self._fates_in(regions, material, which).items()
            if self._counts_as_utilised(material, route)
        )

    def _unverified_in(
        self,
        regions: frozenset[int],
        kinds: Iterable[DeclarationKind],
        materials: Iterable[int],
    ) -> set[str]:
        """The unverified coefficients the regions' declarations of these kinds were estimated
        with."""
        kinds, mats = set(kinds), set(materials)
        out: set[str] = set()
        for rid in regions:
            for d in self._declarations_by_region.get(rid, ()):
                if d.unverified and d.kind in kinds and d.material_id in mats:
                    out.update(d.unverified)
        return out

    def _utilised(self, fated: Mapping[str, float]) -> float:
        return math.fsum(
            kg for route, kg in fated.items() if self._route_class(route) == "utilisation"
        )

    @staticmethod
    def _rate(num: float | None, den: float | None) -> float | None:
        if num is None or not den or den <= 0:
            return None
        return num / den
