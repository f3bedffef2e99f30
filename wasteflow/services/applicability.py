"""Whether an indicator applies to a region at all, for a figure that has no data.

A figure without data (``status: no_data``) means one of two things, and officials must tell
them apart: the indicator *does not apply* to the region — it has no such sources (a
township without factories has no bulk industrial solid waste to utilise), or the
indicator's denominator is by definition declared for the region above (household waste
collected is declared per township, so a village has no household rate) — or it applies and
there is simply *no data yet* (nothing declared for the period, no harvest so far).

So an indicator does not apply to a region when either:

- no active source site in the region (or under it) handles a material of the indicator; or
- the indicator's denominator is declared, for the period, for a region above this one and
  for neither this region nor any under it.

Everything else without data is "no data".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.models import Declaration, Material, Region, Site, SiteMaterial
from wasteflow.rates import parse_period
from wasteflow.types import DeclarationKind, RecordStatus, SiteKind


def material_group(indicator: str) -> str:
    """The materials' ``indicator`` column an indicator counts (``household`` for the three
    household rates and raw landfill)."""
    groups = {
        "film_recovery": "film",
        "manure_utilisation": "manure",
        "straw_utilisation": "straw",
        "industrial_utilisation": "industrial",
        "construction_waste_utilisation": "construction",
        "appliance_dismantled": "appliance",
        "recyclables_recovered": "recyclable",
    }
    return groups.get(indicator, "household")


# The declarations that make each indicator's denominator (none for a pure quantity).
DENOMINATOR_KINDS: dict[str, tuple[DeclarationKind, ...]] = {
    "film_recovery": (DeclarationKind.film_used,),
    "manure_utilisation": (DeclarationKind.livestock_headcount,),
    "straw_utilisation": (DeclarationKind.crop_output,),
    "industrial_utilisation": (DeclarationKind.industrial_generated,),
    "construction_waste_utilisation": (DeclarationKind.industrial_generated,),
    "household_safe_treatment": (DeclarationKind.household_collected,),
    "household_recycling": (DeclarationKind.household_collected,),
    "household_resource_utilisation": (DeclarationKind.household_collected,),
    "household_raw_landfill": (DeclarationKind.household_collected,),
}


@dataclass(frozen=True)
class Applicability:
    """Which (region code, material group) have sources, and where denominators are declared
    in the period (the region itself, and every region above a declaring one)."""

    ancestors: dict[str, tuple[str, ...]]  # region code → itself, its parent, …
    sources: frozenset[tuple[str, str]]  # (region code, group): a source there or under it
    declared_at: frozenset[tuple[str, str, str]]  # (region code, group, kind): declared there
    declared_within: frozenset[tuple[str, str, str]]  # … there or under it

    def applies(self, region: str, indicator: str) -> bool:
        """Whether ``indicator`` can have a figure in ``region`` (see the module's text)."""
        group = material_group(indicator)
        if (region, group) not in self.sources:
            return False
        kinds = DENOMINATOR_KINDS.get(indicator, ())
        if not kinds or any((region, group, str(k)) in self.declared_within for k in kinds):
            return True
        above = self.ancestors.get(region, (region,))[1:]
        return not any((a, group, str(k)) in self.declared_at for a in above for k in kinds)

    def not_applicable(self, region: str, figures: dict[str, dict[str, Any]]) -> set[str]:
        """The indicators among ``figures`` (a report row's) that have no data because they
        do not apply to ``region``."""
        return {
            key
            for key, f in figures.items()
            if f.get("status") == "no_data" and not self.applies(region, key)
        }


def applicability(session: Session, period: str) -> Applicability:
    """What :class:`Applicability` needs, read in three queries."""
    p = parse_period(period)
    parents = session.execute(sa.select(col(Region.id), col(Region.code), col(Region.parent_id)))
    code_of: dict[int, str] = {}
    parent_of: dict[int, int | None] = {}
    for rid, code, parent in parents:
        code_of[rid], parent_of[rid] = code, parent
    chain: dict[int, tuple[str, ...]] = {}
    for rid in code_of:
        up: list[str] = []
        at: int | None = rid
        while at is not None and at in code_of and len(up) < 8:
            up.append(code_of[at])
            at = parent_of[at]
        chain[rid] = tuple(up)

    sources: set[tuple[str, str]] = set()
    rows = session.execute(
        sa.select(col(Site.region_id), col(Material.indicator))
        .join(SiteMaterial, col(SiteMaterial.site_id) == col(Site.id))
        .join(Material, col(Material.id) == col(SiteMaterial.material_id))
        .where(col(Site.kind) == SiteKind.source, col(Site.active).is_(True))
        .distinct()
    )
    for region_id, group in rows:
        for code in chain.get(region_id, ()):
            sources.add((code, str(group)))

    declared_at: set[tuple[str, str, str]] = set()
    declared_within: set[tuple[str, str, str]] = set()
    rows = session.execute(
        sa.select(col(Declaration.region_id), col(Material.indicator), col(Declaration.kind))
        .join(Material, col(Material.id) == col(Declaration.material_id))
        .where(
            col(Declaration.status) == RecordStatus.active,
            col(Declaration.period_start) <= p.end,
            col(Declaration.period_end) >= p.start,
        )
        .distinct()
    )
    for region_id, group, kind in rows:
        above = chain.get(region_id, ())
        if not above:
            continue
        declared_at.add((above[0], str(group), str(kind)))
        for code in above:
            declared_within.add((code, str(group), str(kind)))
    return Applicability(
        ancestors={code_of[rid]: chain[rid] for rid in code_of},
        sources=frozenset(sources),
        declared_at=frozenset(declared_at),
        declared_within=frozenset(declared_within),
    )


def not_applicable_cells(
    session: Session, period: str, rows: list[dict[str, Any]]
) -> set[tuple[str, str]]:
    """(region code, indicator) of every figure of a report's rows whose indicator does not
    apply to its region."""
    known = applicability(session, period)
    out: set[tuple[str, str]] = set()
    for row in rows:
        code = row["region"]["code"]
        out |= {(code, key) for key in known.not_applicable(code, row["figures"])}
    return out
