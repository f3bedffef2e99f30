"""The period's flows as a Sankey diagram, with every plant by name.

Nodes: sources, collection points and transfer stations grouped by township (or, with
``group_by="kind"``, by kind across the district); every processor and disposal site on its
own, by name; and one node per treatment route, where mass ends. Each node carries the mass
through it, each link its mass by material. Loads sent back after a refusal are links of
their own (``kind: "return"``), from the plant that refused them to where they went back,
and are not counted in the forward links, so a refusal reads as a loop, not as more
material flowing on.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from graph import Flow, FlowNetwork, SiteNode, Treatment, sankey
from wasteflow.errors import Invalid
from wasteflow.models import TreatmentRoute
from wasteflow.permissions import Action, require
from wasteflow.rates import parse_period
from wasteflow.services.flows import _material_ids
from wasteflow.services.rates import period_engine
from wasteflow.types import TREATING_KINDS

KIND_LABELS = {
    "source": ("产生源", "sources"),
    "collection_point": ("回收点", "collection points"),
    "transfer_station": ("转运站", "transfer stations"),
    "processor": ("处理企业", "processors"),
    "disposal": ("处置场", "disposal sites"),
}
STAGES = ("source", "collection_point", "transfer_station", "processor", "disposal", "route")
NAMED_KINDS = frozenset(k.value for k in TREATING_KINDS)


def sankey_data(
    *,
    session: Session,
    account: Any,
    period: str,
    material: str | None = None,
    group_by: str = "township",
    lang: str = "zh",
) -> dict[str, Any]:
    """Sources and pools by township (or kind) → plants by name → treatment routes, in kg,
    with the loads sent back after a refusal as ``return`` links."""
    require(account.role, Action.read_all_records)
    if group_by not in ("township", "kind"):
        raise Invalid("group_by: township or kind", field="group_by")
    p = parse_period(period)
    engine = period_engine(session, p)
    data = engine.d
    mats = _material_ids(data, material)
    zh = lang == "zh"
    code = engine.mat_code
    townships = {r.code: (r.name_zh if zh else r.name_en) for r in data.regions.values()}
    sites = {s.id: s for s in data.sites.values()}
    nodes = [SiteNode(s.id, s.kind, engine._township_code(s.region_id)) for s in sites.values()]

    def group(site: SiteNode) -> str:
        if site.kind in NAMED_KINDS:
            return f"site:{sites[site.id].code}"
        if group_by == "kind":
            return f"{site.kind}:*"
        return f"{site.kind}:{site.region}"

    def wanted(material_id: int) -> bool:
        return mats is None or material_id in mats

    # What went back after a refusal is drawn as a return, not as a load flowing on.
    returned: dict[tuple[int, int, int], int] = defaultdict(int)
    for r in data.returns:
        if wanted(r.material_id):
            returned[(r.src, r.dst, r.material_id)] += r.received_g
    flows = []
    back: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_node = {s.id: s for s in nodes}
    for f in data.flows:
        if f.accepted_g <= 0 or not wanted(f.material_id):
            continue
        sent_back = min(returned.get((f.src, f.dst, f.material_id), 0), f.accepted_g)
        ends = (group(by_node[f.src]), group(by_node[f.dst]))
        if sent_back and ends[0] != ends[1]:
            back[ends][code[f.material_id]] += sent_back / 1000
        if f.accepted_g > sent_back:
            flows.append(Flow(f.src, f.dst, code[f.material_id], (f.accepted_g - sent_back) / 1000))
    treated = [
        Treatment(
            t.site,
            code[t.material_id],
            data.routes[t.route_id].code,
            data.routes[t.route_id].route_class,
            t.accepted_g / 1000,
        )
        for t in data.treatments
        if t.accepted_g > 0 and wanted(t.material_id)
    ]
    net = FlowNetwork(nodes, flows, treated)
    forward: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for m in sorted({f.material for f in flows} | {t.material for t in treated}):
        part = sankey(net, material=m, group_by=group)
        ids = [n["id"] for n in part["nodes"]]
        for link in part["links"]:
            forward[(ids[link["source"]], ids[link["target"]])][m] += link["value"]
    return {
        "period": p.label,
        "material": material,
        "group_by": group_by,
        "lang": lang,
        "unit": "kg",
    } | _diagram(session, forward, back, sites, townships, zh)


def _diagram(
    session: Session,
    forward: dict[tuple[str, str], dict[str, float]],
    back: dict[tuple[str, str], dict[str, float]],
    sites: dict[int, Any],
    townships: dict[str, str],
    zh: bool,
) -> dict[str, Any]:
    """Nodes (ordered by stage, then label) and links, each link with its kg by material."""
    by_code = {s.code: s for s in sites.values()}
    ends = {e for pair in (*forward, *back) for e in pair}
    routes = _route_names(session, {e.removeprefix("route:") for e in ends}, zh)

    def describe(node_id: str) -> dict[str, Any]:
        kind, _, rest = node_id.partition(":")
        if kind == "route":
            return {"kind": "route", "label": routes.get(rest, rest), "township": None}
        if kind == "site":
            s = by_code[rest]
            name = s.name if zh else (s.name_en or s.name)
            return {"kind": s.kind, "label": name, "township": None}
        words = KIND_LABELS[kind][0 if zh else 1]
        if rest == "*":
            return {"kind": kind, "label": words, "township": None}
        return {"kind": kind, "label": f"{townships.get(rest, rest)} {words}", "township": rest}

    described = {e: describe(e) for e in ends}
    order = sorted(ends, key=lambda e: (STAGES.index(described[e]["kind"]), described[e]["label"]))
    index = {e: i for i, e in enumerate(order)}
    inflow: dict[str, float] = defaultdict(float)
    outflow: dict[str, float] = defaultdict(float)
    links = []
    for kind, pairs in (("flow", forward), ("return", back)):
        for (a, b), by_material in sorted(
            pairs.items(), key=lambda kv: (index[kv[0][0]], index[kv[0][1]])
        ):
            kg = sum(by_material.values())
            if kind == "flow":
                outflow[a] += kg
                inflow[b] += kg
            links.append(
                {
                    "source": index[a],
                    "target": index[b],
                    "value": round(kg, 3),
                    "kind": kind,
                    "materials": {m: round(v, 3) for m, v in sorted(by_material.items())},
                }
            )
    nodes = [
        {"id": e, **described[e], "value_kg": round(max(inflow[e], outflow[e]), 3)} for e in order
    ]
    return {"nodes": nodes, "links": links}


def _route_names(session: Session, codes: set[str], zh: bool) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(
        sa.select(
            col(TreatmentRoute.code), col(TreatmentRoute.name_zh), col(TreatmentRoute.name_en)
        ).where(col(TreatmentRoute.code).in_(codes))
    )
    return {c: (z if zh else e) for c, z, e in rows}
