"""The official utilisation rates, by formula (reference/official-rates.md).

Pure computation over a period's data (:class:`PeriodData`, loaded by
``wasteflow.services.rates``) and the flow graph: numerators are read off the graph — the mass
each source's material ended as under each treatment route, by proportional sharing through
every collection point and transfer station it passed, so mass is counted once, at its fate —
and denominators come from the declarations. A figure whose denominator is missing is
"no data", never a division error or 0 %.
"""

from __future__ import annotations

import math
import operator
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any, NamedTuple, TypeVar

from graph import (
    BalanceArrays,
    Flow,
    FlowNetwork,
    SiteNode,
    Treatment,
    attribute_fates,
    balance_arrays,
    origin_shares,
)
from wasteflow.errors import Invalid
from wasteflow.types import DeclarationKind, RegionLevel

# --- periods -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # inclusive

    @property
    def year(self) -> int:
        return self.start.year

    def months(self) -> list[Period]:
        out, d = [], self.start.replace(day=1)
        while d <= self.end:
            out.append(parse_period(f"{d:%Y-%m}"))
            d = (d + timedelta(days=32)).replace(day=1)
        return out


def parse_period(text: str) -> Period:
    """``2025`` (a year), ``2025-Q2`` (a quarter), ``2025-03`` (a month), or a range of them,
    ``2025..2025-06`` (from the start of the first to the end of the second)."""
    if ".." in text:
        first, _, last = text.partition("..")
        a, b = parse_period(first), parse_period(last)
        if b.end < a.start:
            raise Invalid(f"period: {text!r} ends before it starts", field="period")
        return Period(f"{a.label}..{b.label}", a.start, b.end)
    t = text.strip().upper()
    try:
        if len(t) == 4 and t.isdigit():
            y = int(t)
            return Period(t, date(y, 1, 1), date(y, 12, 31))
        if len(t) == 7 and t[4:6] == "-Q" and t[6] in "1234":
            y, q = int(t[:4]), int(t[6])
            start = date(y, 3 * q - 2, 1)
            end = (date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)) - timedelta(days=1)
            return Period(t, start, end)
        if len(t) == 7 and t[4] == "-":
            y, m = int(t[:4]), int(t[5:])
            start = date(y, m, 1)
            end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            return Period(t, start, end)
    except ValueError:
        pass
    raise Invalid(
        f"period: {text!r} is not a year (2025), quarter (2025-Q2) or month (2025-03)",
        field="period",
    )


# --- the indicators ------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorDef:
    key: str
    name_zh: str
    name_en: str
    formula: str
    formula_text: str
    has_rate: bool = True


INDICATORS: dict[str, IndicatorDef] = {
    d.key: d
    for d in [
        IndicatorDef(
            "film_recovery",
            "农膜回收率",
            "farm-film recovery rate",
            "农膜回收率 = 回收量 ÷ 使用量",
            "film received at a collection point or beyond, by the region where it arose, "
            "÷ film used (declared)",
        ),
        IndicatorDef(
            "manure_utilisation",
            "畜禽粪污综合利用率",
            "livestock-manure utilisation rate",
            "畜禽粪污综合利用率 = 利用量 ÷ 产生量",
            "manure accepted under utilisation routes, traced to the farms it came from, ÷ "
            "manure produced (head count × kg/head/day × days)",
        ),
        IndicatorDef(
            "straw_utilisation",
            "农作物秸秆综合利用率",
            "crop-straw utilisation rate",
            "秸秆综合利用率 = (利用量 − 调入量 + 调出量) ÷ 可收集量",
            "(straw utilised − brought in + sent out) ÷ collectable straw (output × "
            "straw-to-grain ratio × collectable coefficient); utilised includes straw "
            "ploughed back (collectable × area returned ÷ area sown)",
        ),
        IndicatorDef(
            "industrial_utilisation",
            "大宗工业固体废物综合利用率",
            "bulk industrial solid-waste utilisation rate",
            "综合利用率 = 综合利用量 ÷ (产生量 + 综合利用往年贮存量)",
            "utilised (traced to the generator, plus utilised from earlier storage) ÷ "
            "(generated + utilised from earlier storage)",
        ),
        IndicatorDef(
            "household_safe_treatment",
            "生活垃圾无害化处理率",
            "household waste safe-treatment rate",
            "无害化处理率 = 无害化处理量 ÷ 产生量",
            "household waste accepted under safe-treatment routes ÷ household waste "
            "collected (standing in for generated)",
        ),
        IndicatorDef(
            "household_recycling",
            "生活垃圾回收利用率",
            "household waste recycling rate",
            "回收利用率 = 未进入焚烧和填埋的可回收物与厨余垃圾 ÷ 产生量",
            "recyclables and kitchen waste treated by neither incinerator nor landfill ÷ "
            "household waste collected",
        ),
        IndicatorDef(
            "household_resource_utilisation",
            "生活垃圾资源化利用率",
            "household waste resource-utilisation rate",
            "资源化利用率 = [再生资源回收量 + Σ(处理量 × 转化系数)] ÷ (再生资源回收量 + 清运量)",
            "[recyclables recovered + Σ(incinerated / kitchen-treated / landfilled × the "
            "route's conversion coefficient)] ÷ (recyclables recovered + collected)",
        ),
        IndicatorDef(
            "household_raw_landfill",
            "原生生活垃圾填埋量",
            "raw household waste landfilled",
            "原生垃圾填埋率 = 原生垃圾填埋量 ÷ 产生量 (目标: 零填埋)",
            "untreated household waste accepted at a landfill ÷ household waste collected; "
            "treatment residues are reported apart",
        ),
        IndicatorDef(
            "appliance_dismantled",
            "废弃电器电子产品拆解量",
            "waste appliances dismantled",
            "拆解量（台、千克）",
            "units and kg dismantled, by kind, traced to where they were collected",
            has_rate=False,
        ),
        IndicatorDef(
            "recyclables_recovered",
            "再生资源回收量",
            "recyclables recovered",
            "回收量（千克）",
            "kg received at a collection point or beyond, by kind, by the region where it arose",
            has_rate=False,
        ),
    ]
}


def check_indicator(indicator: str) -> None:
    """Refuse an indicator key that is not one of ``INDICATORS``, naming the choices."""
    if indicator not in INDICATORS:
        raise Invalid(
            f"indicator: unknown indicator {indicator!r}; one of {', '.join(INDICATORS)}",
            field="indicator",
        )


_CONVERSION_ROUTES = ("incineration_energy", "kitchen_treatment", "landfill", "incineration")
_NOT_RECYCLING = {"incineration_energy", "incineration", "landfill", "residue_landfill"}


# --- the period's data -----------------------------------------------------------------------


@dataclass(frozen=True)
class RegionInfo:
    id: int
    code: str
    level: RegionLevel
    parent_id: int | None
    name_zh: str
    name_en: str


class SiteInfo(NamedTuple):
    """A site as the rates read it (a tuple: a report reads every site of the district)."""

    id: int
    code: str
    name: str
    kind: str
    region_id: int
    lat: float | None
    lon: float | None
    capacity_kg: float | None
    name_en: str | None = None


class FlowRow(NamedTuple):
    """Period totals of one material from one site to another (grams). A tuple: a period
    loads tens of thousands, and a frozen dataclass costs several times more to build."""

    src: int
    dst: int
    material_id: int
    handovers: int
    declared_g: int
    in_transit_g: int
    received_g: int
    refused_g: int
    accepted_g: int
    accepted_units: int


class TreatmentRow(NamedTuple):
    site: int
    material_id: int
    route_id: int
    handovers: int
    accepted_g: int
    accepted_units: int


@dataclass(frozen=True)
class DeclarationRow:
    id: int
    kind: DeclarationKind
    region_id: int
    material_id: int
    prorated_g: int
    coefficient_set: str | None
    field_return_g: int = 0  # crop output: straw ploughed back, pro-rated like the mass


@dataclass(frozen=True)
class RouteInfo:
    code: str
    route_class: str
    safe_treatment: bool


@dataclass
class PeriodData:
    """Everything a period's rates need, as plain data (no database)."""

    period: Period
    regions: dict[int, RegionInfo]
    sites: dict[int, SiteInfo]
    materials: dict[int, tuple[str, str]]  # id → (code, indicator)
    routes: dict[int, RouteInfo]
    flows: list[FlowRow]
    treatments: list[TreatmentRow]
    declarations: list[DeclarationRow]
    opening_stock: dict[tuple[int, str], float] = field(default_factory=dict)
    conversion: dict[str, float] = field(default_factory=dict)  # route → household coefficient
    conversion_set: str | None = None


# --- figures -------------------------------------------------------------------------------


@dataclass
class Figure:
    indicator: str
    region_code: str
    numerator_kg: float | None
    denominator_kg: float | None
    rate: float | None
    handovers: int
    declarations: int
    coefficient_sets: list[str]
    components: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if not INDICATORS[self.indicator].has_rate:
            return "ok" if self.numerator_kg else "no_data"
        return "ok" if self.rate is not None else "no_data"


def _kg(grams: float) -> float:
    return round(grams / 1000, 3)


T = TypeVar("T")


_MISSING = object()


class ValueKey:
    """A key compared by value whose hash is computed once: the attribution memo's keys hold
    a material's rows (thousands of tuples), which a plain tuple would hash at every lookup."""

    __slots__ = ("_hash", "parts")

    def __init__(self, *parts: Hashable) -> None:
        self.parts = parts
        self._hash = hash(parts)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, ValueKey) and self._hash == other._hash and self.parts == other.parts
        )


class LRUMemo:
    """The ``max_entries`` most recently used results by key; safe to share between the
    server's threads."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            # Taken out and put back as the newest: one comparison of the key, not two.
            found = self._data.pop(key, _MISSING)
            if found is not _MISSING:
                self._data[key] = found
                return found  # type: ignore[no-any-return]
        value = make()  # outside the lock: two threads may both compute; either result is right
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


# Attributions of one material, shared between the engines of successive data versions while
# the material's inputs are unchanged (``RateEngine._solved``): a report after a scan of film
# solves film again and reads every other material's from here. Two periods of 33 materials
# fit with room; an entry holds its key's rows (the material's flows) and a small result.
_solved_memo = LRUMemo(max_entries=128)
_shapes = LRUMemo(max_entries=8)


K = TypeVar("K")
V = TypeVar("V")


def _summed(parts: Iterable[Mapping[K, V]], add: Callable[[V, V], V]) -> dict[K, V]:
    """The mappings added key by key, in order."""
    out: dict[K, V] = {}
    for part in parts:
        for k, v in part.items():
            out[k] = add(out[k], v) if k in out else v
    return out


def _add_pairs(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return a[0] + b[0], a[1] + b[1]


class RateEngine:
    """Computes figures for any region of a period, sharing the graph work between them."""

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
        self, flows: Iterable[FlowRow], treatments: Iterable[TreatmentRow]
    ) -> tuple[list[Flow], list[Treatment]]:
        # A load is in the receiver's hands once received, refused part included: refused mass
        # waits there until a return handover takes it back (or it shows as stock). Each site's
        # outflow is what it sent on its own scale (declared), so loads still in transit count
        # as sent. Per-load discrepancies are flagged on the handovers, not here.
        routes, code = self.d.routes, self.mat_code
        return (
            [
                Flow(f.src, f.dst, code[f.material_id], f.received_g / 1000, f.declared_g / 1000)
                for f in flows
                if f.received_g > 0 or f.declared_g > 0
            ],
            [
                Treatment(
                    t.site,
                    code[t.material_id],
                    routes[t.route_id].code,
                    routes[t.route_id].route_class,
                    t.accepted_g / 1000,
                )
                for t in treatments
                if t.accepted_g > 0
            ],
        )

    @cached_property
    def _network(self) -> FlowNetwork:
        """Every material's flows: for the mass balance of every site."""
        return self._sites.with_records(*self._graph_records(self.d.flows, self.d.treatments))

    @cached_property
    def _rows_by_material(self) -> dict[str, tuple[tuple[FlowRow, ...], tuple[TreatmentRow, ...]]]:
        flows: dict[int, list[FlowRow]] = defaultdict(list)
        treatments: dict[int, list[TreatmentRow]] = defaultdict(list)
        for f in self.d.flows:
            flows[f.material_id].append(f)
        for t in self.d.treatments:
            treatments[t.material_id].append(t)
        return {
            code: (tuple(flows.get(m, ())), tuple(treatments.get(m, ())))
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
        return _shapes.get(key, lambda: key)

    def _material_network(self, material: str) -> FlowNetwork:
        """The network of one material alone: what its attribution needs, built in a
        fraction of the time of the whole network."""
        return self._sites.with_records(*self._graph_records(*self._rows_by_material[material]))

    def _solved(self, what: str, material: str, solve: Callable[[], T]) -> T:
        """``solve()``'s result for ``material``, shared between the engines of every data
        version in the process while the material's inputs are unchanged. The key is every
        input: the material's period rows (flows, treatments), its opening stock, and the
        sites, routes and materials (``_shape_key``), all compared by value; so a scan of film
        leaves straw's attribution as it was, and any change to what straw's depends on makes
        it computed afresh."""
        flows, treatments = self._rows_by_material[material]
        opening = self._opening_for(material)
        key = ValueKey(
            what,
            material,
            flows,
            treatments,
            tuple(sorted(opening.items())) if opening else (),
            self._shape_key,
        )
        return _solved_memo.get(key, solve)

    @cached_property
    def balance(self) -> BalanceArrays:
        """Every site's mass balance of the period, per material (computed once)."""
        return balance_arrays(self._network, opening_stock=self.d.opening_stock or None)

    @cached_property
    def _materials_with_flows(self) -> set[str]:
        return {self.mat_code[f.material_id] for f in self.d.flows if f.received_g > 0}

    def fates(self, material: str) -> dict[int, dict[str, float]]:
        """Region id → route → kg of ``material`` that arose at the region's own sources and
        ended under that route (routes it never reached are left out: every report sums
        these many times). Attributed grouped by the source's region, so the graph sums the
        sources of a village, not Python: mass of untraced origin (opening stock,
        unexplained) belongs to no region and is left out."""
        cache = self.__dict__.setdefault("_fates", {})
        if material not in cache:
            if material not in self._materials_with_flows:
                cache[material] = {}
            else:
                cache[material] = self._solved("fates", material, lambda: self._attribute(material))
        return cache[material]  # type: ignore[no-any-return]

    @cached_property
    def _source_regions(self) -> dict[int, str]:
        """Source id → its region's id as an origin group label."""
        return {s.id: str(s.region_id) for s in self.d.sites.values() if s.kind == "source"}

    def _attribute(self, material: str) -> dict[int, dict[str, float]]:
        found = attribute_fates(
            self._material_network(material),
            None,
            None,
            material,
            group_of=self._source_regions,
            by="route",
            opening_stock=self._opening_for(material),
        )
        return {
            int(group): {route: kg for route, kg in fates.items() if kg > 0}
            for group, fates in found.items()
            if group.isdigit()
        }

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
    def _hop_by_region(self) -> dict[int, dict[int, tuple[int, int]]]:
        """Region id → material id → (grams accepted at the first hop from the region's
        sources, handovers): summed once, so a figure adds up regions, not sources."""
        out: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
        source_region = {s.id: s.region_id for s in self.d.sites.values() if s.kind == "source"}
        for f in self.d.flows:
            rid = source_region.get(f.src)
            if rid is not None and f.dst not in source_region:
                hop = out[rid]
                g, n = hop.get(f.material_id, (0, 0))
                hop[f.material_id] = (g + f.accepted_g, n + f.handovers)
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

    def _hop_in(self, regions: frozenset[int]) -> dict[int, tuple[int, int]]:
        """Material id → (grams accepted at the first hop from sources in the regions,
        handovers)."""
        root = self._roots.get(regions)
        if root is not None:
            return self._hop_subtrees[root]
        return _summed((self._hop_by_region.get(rid, {}) for rid in regions), _add_pairs)

    @cached_property
    def _hop_subtrees(self) -> dict[int, dict[int, tuple[int, int]]]:
        """``_hop_by_region`` summed over each region and everything under it."""
        return self._subtree_sums(self._hop_by_region, _add_pairs)

    def _subtree_sums(
        self, by_region: Mapping[int, Mapping[K, V]], add: Callable[[V, V], V]
    ) -> dict[int, dict[K, V]]:
        """Per-region values summed over each region and everything under it, bottom-up."""
        out: dict[int, dict[K, V]] = {}
        for rid in self._bottom_up:
            parts = [by_region.get(rid, {}), *(out[c] for c in self.children.get(rid, ()))]
            out[rid] = _summed(parts, add)
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
    ) -> tuple[dict[int, int], int]:
        """Accepted grams per material handed over by sources in the regions, and handovers."""
        hop = self._hop_in(regions)
        out: dict[int, int] = defaultdict(int)
        count = 0
        for m in materials:
            if m in hop:
                g, n = hop[m]
                out[m] += g
                count += n
        return out, count

    def _fates_in(self, regions: frozenset[int], material: int) -> dict[str, float]:
        """Route → kg of the material arising in the regions."""
        root = self._roots.get(regions)
        if root is not None:
            return self._fate_subtrees(material)[root]
        by_region = self.fates(self.mat_code[material])
        return _summed((by_region.get(rid, {}) for rid in regions), operator.add)

    def _fate_subtrees(self, material: int) -> dict[int, dict[str, float]]:
        """``fates`` summed over each region and everything under it (once per material)."""
        memo = self.__dict__.setdefault("_fate_subtrees_memo", {})
        if material not in memo:
            memo[material] = self._subtree_sums(self.fates(self.mat_code[material]), operator.add)
        return memo[material]  # type: ignore[no-any-return]

    def _fated(self, regions: frozenset[int], materials: Iterable[int]) -> dict[str, float]:
        """kg of the materials arising in the regions, by the route they ended under."""
        out: dict[str, float] = defaultdict(float)
        for m in materials:
            for route, kg in self._fates_in(regions, m).items():
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

    def _utilised(self, fated: dict[str, float]) -> float:
        return math.fsum(
            kg for route, kg in fated.items() if self._route_class(route) == "utilisation"
        )

    @staticmethod
    def _rate(num: float | None, den: float | None) -> float | None:
        if num is None or not den or den <= 0:
            return None
        return num / den

    # -- the figures ----------------------------------------------------------------------
    def figure(self, indicator: str, region_code: str) -> Figure:
        check_indicator(indicator)
        regions = self.within(region_code)
        return getattr(self, f"_{indicator}")(regions, region_code)

    def _film_recovery(self, regions: frozenset[int], code: str) -> Figure:
        mats = self._materials("film")
        recovered, handovers = self._first_hop(regions, mats)
        used, n, _, _ = self._declared(regions, [DeclarationKind.film_used], mats)
        num = _kg(sum(recovered.values()))
        den = _kg(used) if n else None
        return Figure("film_recovery", code, num, den, self._rate(num, den), handovers, n, [])

    def _traced(
        self,
        indicator: str,
        regions: frozenset[int],
        code: str,
        materials: list[int],
        kinds: list[DeclarationKind],
        extra_num_g: int = 0,
        components: dict[str, Any] | None = None,
    ) -> Figure:
        fated = self._fated(regions, materials)
        _, handovers = self._first_hop(regions, materials)
        den_g, n, sets, field_return = self._declared(regions, kinds, materials)
        utilised = self._utilised(fated)
        num = round(utilised + (extra_num_g + field_return) / 1000, 3)
        den = _kg(den_g) if n else None
        comps = {
            "utilised_traced_kg": round(utilised, 3),
            "by_route_kg": {r: round(kg, 3) for r, kg in sorted(fated.items())},
        }
        if field_return:
            comps["field_return_kg"] = _kg(field_return)
        comps |= components or {}
        return Figure(
            indicator, code, num, den, self._rate(num, den), handovers, n, sorted(sets), comps
        )

    def _manure_utilisation(self, regions: frozenset[int], code: str) -> Figure:
        return self._traced(
            "manure_utilisation",
            regions,
            code,
            self._materials("manure"),
            [DeclarationKind.livestock_headcount],
        )

    def _straw_utilisation(self, regions: frozenset[int], code: str) -> Figure:
        mats = self._materials("straw")
        fig = self._traced("straw_utilisation", regions, code, mats, [DeclarationKind.crop_output])
        fig.components |= self._straw_ledger(regions, mats)
        return fig

    def _straw_ledger(self, regions: frozenset[int], mats: list[int]) -> dict[str, float]:
        """Where the region's straw was utilised vs where it arose (the ministry's ledger)."""
        in_area = brought_in = sent_out = 0.0
        codes = {self._townships[r] for r in regions}
        village_level = any(
            self.d.regions[r].level == RegionLevel.village for r in regions
        ) and not any(self.d.regions[r].level != RegionLevel.village for r in regions)
        for m in mats:
            code = self.mat_code[m]
            if code not in self._materials_with_flows:
                continue
            if village_level:  # rare: group by exactly these villages
                shares = origin_shares(
                    self._material_network(code),
                    None,
                    code,
                    group_of=lambda s: "in" if self.d.sites[s.id].region_id in regions else "out",
                    opening_stock=self._opening_for(code),
                )
                utilised = self._utilised_with_origins(m, shares)
                inside = {"in"}
            else:
                utilised, inside = self._utilised_by_township(m), codes
            for region_id, kg, of in utilised:
                share_in = sum(v for g, v in of.items() if g in inside)
                if region_id in regions:
                    in_area += kg
                    brought_in += kg * (1 - share_in)
                else:
                    sent_out += kg * share_in
        return {
            "utilised_in_area_kg": round(in_area, 3),
            "brought_in_kg": round(brought_in, 3),
            "sent_out_kg": round(sent_out, 3),
        }

    def _utilised_with_origins(
        self, material_id: int, shares: Any
    ) -> list[tuple[int, float, dict[str, float]]]:
        """Each treatment of the material under a utilisation route: the treating site's
        region, kg, and the shares of the site's throughput by origin group."""
        out = []
        known = set(shares.site_ids.tolist())
        for t in self.d.treatments:
            if t.material_id != material_id:
                continue
            if self.d.routes[t.route_id].route_class != "utilisation":
                continue
            of = shares.of(t.site) if t.site in known else {}
            out.append((self.d.sites[t.site].region_id, t.accepted_g / 1000, of))
        return out

    def _utilised_by_township(self, material_id: int) -> list[tuple[int, float, dict[str, float]]]:
        memo = self.__dict__.setdefault("_utilised_by_township_memo", {})
        if material_id not in memo:
            shares = self._shares_by_township(self.mat_code[material_id])
            memo[material_id] = self._utilised_with_origins(material_id, shares)
        return memo[material_id]  # type: ignore[no-any-return]

    def _shares_by_township(self, material: str) -> Any:
        cache = self.__dict__.setdefault("_township_shares", {})
        if material not in cache:
            cache[material] = self._solved(
                "township shares",
                material,
                lambda: origin_shares(
                    self._material_network(material),
                    None,
                    material,
                    opening_stock=self._opening_for(material),
                ),
            )
        return cache[material]

    def _industrial_utilisation(self, regions: frozenset[int], code: str) -> Figure:
        mats = self._materials("industrial")
        from_storage, _, _, _ = self._declared(
            regions, [DeclarationKind.industrial_from_storage], mats
        )
        fig = self._traced(
            "industrial_utilisation",
            regions,
            code,
            mats,
            [DeclarationKind.industrial_generated, DeclarationKind.industrial_from_storage],
            extra_num_g=from_storage,
            components={"utilised_from_storage_kg": _kg(from_storage)},
        )
        return fig

    def _household(self, regions: frozenset[int]) -> tuple[dict[str, float], int, int, int, float]:
        """What the four household figures share (remembered per regions)."""
        memo = self.__dict__.setdefault("_household_memo", {})
        if regions not in memo:
            memo[regions] = self._household_sums(regions)
        fated, collected, n, handovers, recovered = memo[regions]
        return dict(fated), collected, n, handovers, recovered

    def _household_sums(
        self, regions: frozenset[int]
    ) -> tuple[dict[str, float], int, int, int, float]:
        mats = self._materials("household")
        fated = self._fated(regions, mats)
        collected, n, _, _ = self._declared(regions, [DeclarationKind.household_collected], mats)
        _, handovers = self._first_hop(regions, mats)
        recyclables = self._fated(regions, self._materials("recyclable"))
        hh_recyclable = [m for m in mats if self.mat_code[m] == "hh.recyclable"]
        recovered = self._utilised(recyclables) + self._utilised(
            self._fated(regions, hh_recyclable)
        )
        return fated, collected, n, handovers, recovered

    def _household_safe_treatment(self, regions: frozenset[int], code: str) -> Figure:
        fated, collected, n, handovers, _ = self._household(regions)
        safe_routes = {r.code for r in self.d.routes.values() if r.safe_treatment}
        num = round(math.fsum(kg for r, kg in fated.items() if r in safe_routes), 3)
        den = _kg(collected) if n else None
        return Figure(
            "household_safe_treatment",
            code,
            num,
            den,
            self._rate(num, den),
            handovers,
            n,
            [],
            {"by_route_kg": _rounded(fated)},
        )

    def _household_recycling(self, regions: frozenset[int], code: str) -> Figure:
        mats = [
            m
            for m in self._materials("household")
            if self.mat_code[m] in ("hh.recyclable", "hh.kitchen")
        ]
        fated = self._fated(regions, mats)
        _, collected, n, handovers, _ = self._household(regions)
        num = round(
            math.fsum(
                kg
                for r, kg in fated.items()
                if r not in _NOT_RECYCLING and self._route_class(r) == "utilisation"
            ),
            3,
        )
        den = _kg(collected) if n else None
        return Figure(
            "household_recycling",
            code,
            num,
            den,
            self._rate(num, den),
            handovers,
            n,
            [],
            {"by_route_kg": _rounded(fated)},
        )

    def _household_resource_utilisation(self, regions: frozenset[int], code: str) -> Figure:
        fated, collected, n, handovers, recovered = self._household(regions)
        converted = {
            r: fated.get(r, 0.0) * self.d.conversion.get(r, 0.0) for r in _CONVERSION_ROUTES
        }
        num = round(recovered + math.fsum(converted.values()), 3)
        den = round(recovered + collected / 1000, 3) if n else None
        sets = [self.d.conversion_set] if self.d.conversion_set else []
        return Figure(
            "household_resource_utilisation",
            code,
            num,
            den,
            self._rate(num, den),
            handovers,
            n,
            sets,
            {
                "recyclables_recovered_kg": round(recovered, 3),
                "converted_kg": _rounded(converted),
                "conversion_coefficients": dict(self.d.conversion),
            },
        )

    def _household_raw_landfill(self, regions: frozenset[int], code: str) -> Figure:
        fated, collected, n, handovers, _ = self._household(regions)
        num = round(fated.get("landfill", 0.0), 3)
        den = _kg(collected) if n else None
        return Figure(
            "household_raw_landfill",
            code,
            num,
            den,
            self._rate(num, den),
            handovers,
            n,
            [],
            {"residues_landfilled_kg": round(fated.get("residue_landfill", 0), 3)},
        )

    def _appliance_dismantled(self, regions: frozenset[int], code: str) -> Figure:
        by_kind: dict[str, dict[str, float]] = {}
        total = 0.0
        _, handovers = self._first_hop(regions, self._materials("appliance"))
        units_per_kg = self._units_per_kg()
        for m in self._materials("appliance"):
            mcode = self.mat_code[m]
            fated = self._fated(regions, [m])
            kg = fated.get("dismantling", 0.0)
            total += kg
            by_kind[mcode] = {"kg": round(kg, 3), "units": round(kg * units_per_kg.get(m, 0.0))}
        return Figure(
            "appliance_dismantled",
            code,
            round(total, 3),
            None,
            None,
            handovers,
            0,
            [],
            {"by_kind": by_kind},
        )

    def _units_per_kg(self) -> dict[int, float]:
        kg: dict[int, int] = defaultdict(int)
        units: dict[int, int] = defaultdict(int)
        for t in self.d.treatments:
            if self.d.routes[t.route_id].code == "dismantling":
                kg[t.material_id] += t.accepted_g
                units[t.material_id] += t.accepted_units
        return {m: units[m] * 1000 / kg[m] for m in kg if kg[m]}

    def _recyclables_recovered(self, regions: frozenset[int], code: str) -> Figure:
        mats = self._materials("recyclable")
        recovered, handovers = self._first_hop(regions, mats)
        by_kind = {self.mat_code[m]: _kg(g) for m, g in sorted(recovered.items())}
        return Figure(
            "recyclables_recovered",
            code,
            _kg(sum(recovered.values())),
            None,
            None,
            handovers,
            0,
            [],
            {"by_kind_kg": by_kind},
        )


def _rounded(d: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in sorted(d.items()) if v}
