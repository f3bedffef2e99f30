"""The official figures, by formula (reference/official-rates.md), over a period's engine.

Each figure comes with its numerator, denominator, the records behind it, its components and
its basis: how much of the numerator rests on proportional sharing at pools, how much of the
mass was estimated rather than weighed, and which coefficients are unverified.
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from wasteflow.rates.data import Figure
from wasteflow.rates.data import kg as _kg
from wasteflow.rates.engine import PeriodEngine
from wasteflow.rates.indicators import check_indicator
from wasteflow.types import DeclarationKind

_NOT_RECYCLING = {"incineration_energy", "incineration", "landfill", "residue_landfill"}

# The five uses of straw (五料化), by stable code; routes name theirs in Chinese.
FIVE_USES = {
    "fertiliser": "肥料化",
    "feed": "饲料化",
    "fuel": "燃料化",
    "substrate": "基料化",
    "raw_material": "原料化",
}
STRAW_USE_CODES = {zh: code for code, zh in FIVE_USES.items()}


class RateEngine(PeriodEngine):
    """Computes figures for any region of a period, sharing the graph work between them."""

    def figure(self, indicator: str, region_code: str) -> Figure:
        check_indicator(indicator)
        regions = self.within(region_code)
        return getattr(self, f"_{indicator}")(regions, region_code)

    @staticmethod
    def _basis(
        *, pooled_kg: float, numerator_kg: float | None, hop: tuple[float, int]
    ) -> dict[str, Any]:
        """What a figure rests on: the share of its numerator attributed by proportional
        sharing at a pool, and the share of the mass its sources handed over that was
        estimated rather than weighed (``hop``: kg handed over, grams of it estimated)."""
        handed_kg, estimated_g = hop
        return {
            "pooled_share": round(pooled_kg / numerator_kg, 6) if numerator_kg else None,
            "pooled_kg": round(pooled_kg, 3),
            "estimated_share": round(estimated_g / 1000 / handed_kg, 6) if handed_kg else None,
            "estimated_kg": _kg(estimated_g),
        }

    def _film_recovery(self, regions: frozenset[int], code: str) -> Figure:
        mats = self._materials("film")
        recovered, handovers, estimated = self._first_hop(regions, mats)
        used, n, _, _ = self._declared(regions, [DeclarationKind.film_used], mats)
        num = _kg(sum(recovered.values()))
        den = _kg(used) if n else None
        basis = self._basis(pooled_kg=0.0, numerator_kg=num, hop=(num, estimated))
        return Figure(
            "film_recovery", code, num, den, self._rate(num, den), handovers, n, [], basis=basis
        )

    def _traced(
        self,
        indicator: str,
        regions: frozenset[int],
        code: str,
        materials: list[int],
        kinds: list[DeclarationKind],
        *,
        weight: Mapping[int, float] | None = None,
        declared_use_kg: float = 0.0,
        components: dict[str, Any] | None = None,
        unverified: Iterable[str] = (),
    ) -> Figure:
        """A numerator traced to where the material arose, over declared denominators.

        Utilised mass counts only under a utilisation route the material may take (manure
        landfilled, film "composted" never count); ``weight`` converts a material's mass to
        the figure's basis (slurry to its solids); ``declared_use_kg`` is utilisation its
        holders declare themselves (no handover behind it)."""
        fated = self._fated(regions, materials)
        hop, handovers, estimated = self._first_hop(regions, materials)
        den_g, n, sets, field_return = self._declared(regions, kinds, materials)
        w = weight or {}
        utilised = math.fsum(w.get(m, 1.0) * self._utilised_of(regions, m) for m in materials)
        direct = math.fsum(
            w.get(m, 1.0) * self._utilised_of(regions, m, "direct") for m in materials
        )
        num = round(utilised + declared_use_kg + field_return / 1000, 3)
        den = _kg(den_g) if n else None
        comps: dict[str, Any] = {
            "utilised_traced_kg": round(utilised, 3),
            "by_route_kg": {r: round(kg, 3) for r, kg in sorted(fated.items())},
        }
        if field_return:
            comps["field_return_kg"] = _kg(field_return)
        comps["awaiting_return_kg"] = {
            self.d.sites[site].code: round(kg, 3)
            for site, kg in sorted(self._awaiting_in(regions, materials).items())
            if round(kg, 3)
        }
        comps |= components or {}
        basis = self._basis(
            pooled_kg=utilised - direct,
            numerator_kg=num,
            hop=(sum(hop.values()) / 1000, estimated),
        )
        basis["unverified_coefficients"] = sorted(
            {*self._unverified_in(regions, kinds, materials), *unverified}
        )
        basis |= self._coefficient_note()
        return Figure(
            indicator,
            code,
            num,
            den,
            self._rate(num, den),
            handovers,
            n,
            sorted(sets),
            comps,
            basis,
        )

    def _coefficient_note(self) -> dict[str, Any]:
        """Which coefficient set the period's year uses, saying so when it is another year's."""
        used = self.d.coefficients
        if used is None:
            return {}
        out: dict[str, Any] = {
            "coefficient_set": {"code": used.code, "year": used.year, "fallback": used.fallback}
        }
        if used.note:
            out["coefficient_set"]["note"] = used.note
        return out

    def _manure_utilisation(self, regions: frozenset[int], code: str) -> Figure:
        """On the solids basis (粪), as the head counts' produced mass: slurry handed over
        (粪+尿+污水) counts by the manure it holds (its solids share, from the coefficients),
        never slurry in the numerator over solids in the denominator."""
        mats = self._materials("manure")
        basis_of = self.d.material_attributes
        slurry = sorted(m for m in mats if basis_of.get(m, {}).get("basis") == "slurry")
        weight = {m: self.d.solids_share.get(m, (0.0, True))[0] for m in slurry}
        self_use, self_use_n, self_use_raw = self._manure_self_use(regions)
        slurry_kg = {m: self._utilised_of(regions, m) for m in slurry}
        fig = self._traced(
            "manure_utilisation",
            regions,
            code,
            mats,
            [DeclarationKind.livestock_headcount],
            weight=weight,
            declared_use_kg=self_use,
            components={
                "mass_basis": "solids",
                "slurry_utilised_kg": round(math.fsum(slurry_kg.values()), 3),
                "slurry_as_solids_kg": round(
                    math.fsum(weight[m] * kg for m, kg in slurry_kg.items()), 3
                ),
                "self_use_kg": round(self_use, 3),
                "self_use_declared_kg": round(self_use_raw, 3),
            },
            unverified=[
                f"{self.mat_code[m]}.solids_share_of_slurry"
                for m, kg in slurry_kg.items()
                if kg and not self.d.solids_share.get(m, (0.0, True))[1]
            ],
        )
        fig.declarations += self_use_n
        fig.basis["mass_basis"] = "solids"
        return fig

    def _manure_self_use(self, regions: frozenset[int]) -> tuple[float, int, float]:
        """Manure farms declare they spread on their own land (自行还田), on the solids basis:
        kg, declarations, and kg as declared."""
        total = raw = 0.0
        count = 0
        for rid in regions:
            for d in self._declarations_by_region.get(rid, ()):
                if d.kind != DeclarationKind.manure_self_use:
                    continue
                kg = d.prorated_g / 1000
                raw += kg
                count += 1
                slurry = d.mass_basis == "slurry"
                total += kg * (self._solids_share_of(d.material_id) if slurry else 1.0)
        return total, count, raw

    def _solids_share_of(self, material: int) -> float:
        """The solids share of ``material``'s slurry: its own, or that of the slurry material
        of the same animals (a solids material declared as slurry)."""
        if material in self.d.solids_share:
            return self.d.solids_share[material][0]
        animals = set(self.d.material_attributes.get(material, {}).get("animals") or ())
        for other, (share, _) in sorted(self.d.solids_share.items()):
            if animals & set(self.d.material_attributes.get(other, {}).get("animals") or ()):
                return share
        return 0.0

    def _straw_utilisation(self, regions: frozenset[int], code: str) -> Figure:
        mats = self._materials("straw")
        households, n_households, by_use = self._straw_household_use(regions)
        fig = self._traced(
            "straw_utilisation",
            regions,
            code,
            mats,
            [DeclarationKind.crop_output],
            declared_use_kg=households,
            components={"household_use_kg": round(households, 3)},
        )
        fig.declarations += n_households
        fig.components |= self._straw_ledger(regions, mats)
        uses = self._five_uses(mats, regions, fig.components.get("field_return_kg", 0.0))
        for use, kg in by_use.items():
            uses[use] = round(uses[use] + kg, 3)
        fig.components["five_uses_kg"] = uses
        return fig

    def _straw_household_use(self, regions: frozenset[int]) -> tuple[float, int, dict[str, float]]:
        """Straw households use themselves (农户分散利用), as declared: kg, declarations, kg
        by use."""
        by_use: dict[str, float] = defaultdict(float)
        count = 0
        for rid in regions:
            for d in self._declarations_by_region.get(rid, ()):
                if d.kind == DeclarationKind.straw_household_use and d.use in FIVE_USES:
                    by_use[d.use] += d.prorated_g / 1000
                    count += 1
        return math.fsum(by_use.values()), count, dict(by_use)

    def _five_uses(
        self, mats: list[int], regions: frozenset[int], field_return_kg: float
    ) -> dict[str, float]:
        """Traced straw utilised by the five uses (五料化): each route is one use; straw
        ploughed back directly counts as 肥料化."""
        uses = dict.fromkeys(FIVE_USES, 0.0)
        uses["fertiliser"] += field_return_kg
        use_of = {r.code: STRAW_USE_CODES.get(r.straw_use or "") for r in self.d.routes.values()}
        for m in mats:
            for route, kg in self._fates_in(regions, m).items():
                use = use_of.get(route)
                if use is not None and self._counts_as_utilised(m, route):
                    uses[use] += kg
        return {use: round(kg, 3) for use, kg in uses.items()}

    def _straw_ledger(self, regions: frozenset[int], mats: list[int]) -> dict[str, float]:
        """Where the region's straw was utilised vs where it arose (the ministry's ledger):
        utilised at sites in the region from wherever it arose, what of that was brought in,
        and what arose in the region and was utilised elsewhere."""
        in_area = from_inside = sent_out = 0.0
        root = self._roots[regions]
        for m in mats:
            by_origin, at_site = self._located(m)
            for loc, kg in at_site.items():
                if loc in regions:
                    in_area += kg
            for loc, kg in by_origin.get(root, {}).items():
                if loc in regions:
                    from_inside += kg
                else:
                    sent_out += kg
        return {
            "utilised_in_area_kg": round(in_area, 3),
            "brought_in_kg": round(in_area - from_inside, 3),
            "sent_out_kg": round(sent_out, 3),
        }

    def _located(self, material: int) -> tuple[dict[int, dict[int, float]], dict[int, float]]:
        """The material's utilised mass by where it was utilised (the treating site's region):
        per origin region and everything under it, and in all (untraced origins included)."""
        memo = self.__dict__.setdefault("_located_memo", {})
        if material not in memo:
            site_region = {s.id: s.region_id for s in self.d.sites.values()}
            by_origin: dict[int, dict[int, float]] = {}
            at_site: dict[int, float] = defaultdict(float)
            for origin, fates in self.attributed(self.mat_code[material]).total.items():
                row: dict[int, float] = defaultdict(float)
                for (site, fate), kg in fates.items():
                    if site is not None and self._route_class(fate) == "utilisation":
                        row[site_region[site]] += kg
                        at_site[site_region[site]] += kg
                if isinstance(origin, int):
                    by_origin[origin] = dict(row)
            memo[material] = (self._subtree_sums(by_origin, operator.add), dict(at_site))
        return memo[material]  # type: ignore[no-any-return]

    def _industrial_utilisation(self, regions: frozenset[int], code: str) -> Figure:
        # Mass a generator ships from its old heap is traced like this year's (a source has no
        # stock): the "utilised from earlier storage" declaration says how much of it that
        # was, so it enters the denominator only — counted once, never twice.
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
            components={"utilised_from_storage_kg": _kg(from_storage)},
        )
        if fig.numerator_kg is not None and from_storage / 1000 > fig.numerator_kg + 0.001:
            fig.basis.setdefault("warnings", []).append(
                {
                    "code": "storage_beyond_traced",
                    "text": "declared utilised from earlier storage exceeds the utilisation "
                    "traced to the generators: check the declarations",
                }
            )
        return fig

    def _construction_waste_utilisation(self, regions: frozenset[int], code: str) -> Figure:
        return self._traced(
            "construction_waste_utilisation",
            regions,
            code,
            self._materials("construction"),
            [DeclarationKind.industrial_generated],
        )

    def _household_fractions(self, residues: bool = False) -> list[int]:
        """The household waste fractions collected (清运), or (``residues``) the residues of
        treating them (incinerator ash…), which are reported apart."""
        return [
            m
            for m in self._materials("household")
            if (self.d.material_attributes.get(m, {}).get("fraction") == "residue") == residues
        ]

    def _residues_landfilled(self, regions: frozenset[int]) -> float:
        """kg of treatment residues (incinerator ash…) landfilled at sites in the regions:
        residues arise at the plant, not at a source, so they are counted where they lie."""
        residues = set(self._household_fractions(residues=True))
        return math.fsum(
            t.accepted_g / 1000
            for t in self.d.treatments
            if t.material_id in residues
            and self.d.routes[t.route_id].code == "residue_landfill"
            and self.d.sites[t.site].region_id in regions
        )

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
        """The household fractions' fates, kg collected (declared), declarations, handovers,
        and recyclables recovered outside the household-waste stream (再生资源回收量: the
        recyclables catalogue, never also inside 清运量, the collected mass)."""
        mats = self._household_fractions()
        fated = self._fated(regions, mats)
        collected, n, _, _ = self._declared(regions, [DeclarationKind.household_collected], mats)
        _, handovers, _ = self._first_hop(regions, mats)
        recovered = self._utilised(self._fated(regions, self._materials("recyclable")))
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
            for m in self._household_fractions()
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
        recyclables = self._utilised(
            self._fated(regions, [m for m in self._materials("household", "hh.recyclable")])
        )
        # Every route with a conversion coefficient (incineration, kitchen treatment,
        # composting, digestion, landfill…) is credited through it; household recyclables
        # utilised count whole, and only once, inside the collected mass.
        converted = {
            r: fated.get(r, 0.0) * coefficient
            for r, coefficient in sorted(self.d.conversion.items())
            if fated.get(r)
        }
        num = round(recovered + recyclables + math.fsum(converted.values()), 3)
        den = round(recovered + collected / 1000, 3) if n else None
        sets = [self.d.conversion_set] if self.d.conversion_set else []
        used = sorted(r for r in converted if r in self.d.conversion_unverified)
        basis: dict[str, Any] = {
            "unverified_coefficients": [f"{r}.household_conversion_coefficient" for r in used]
        }
        if used:
            basis["warnings"] = [
                {
                    "code": "placeholder_coefficients",
                    "routes": used,
                    "text": "uses placeholder conversion coefficients (" + ", ".join(used) + "): "
                    "the reference names them but gives no value",
                }
            ]
        basis |= self._coefficient_note()
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
                "household_recyclables_utilised_kg": round(recyclables, 3),
                "converted_kg": _rounded(converted),
                "conversion_coefficients": dict(self.d.conversion),
            },
            basis,
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
            {"residues_landfilled_kg": round(self._residues_landfilled(regions), 3)},
        )

    def _appliance_dismantled(self, regions: frozenset[int], code: str) -> Figure:
        by_kind: dict[str, dict[str, float]] = {}
        total = 0.0
        _, handovers, _ = self._first_hop(regions, self._materials("appliance"))
        units_per_kg = self._units_per_kg
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

    @cached_property
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
        recovered, handovers, _ = self._first_hop(regions, mats)
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
