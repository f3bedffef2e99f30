"""Shaping the services' answers for the pages and their exports (presentation only).

Nothing here computes a rate or reads the database: it reorders, labels and formats what the
services returned, so a page and its CSV show the same rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from api.web.i18n import Translator
from wasteflow.config import get_settings
from wasteflow.errors import Invalid
from wasteflow.rates import INDICATORS, parse_period
from wasteflow.types import HandoverStatus, SiteKind

SITE_KINDS = [k.value for k in SiteKind]
SITE_COLOURS = {
    "source": "#8c8c8c",
    "collection_point": "#1f77b4",
    "transfer_station": "#ff7f0e",
    "processor": "#2ca02c",
    "disposal": "#d62728",
}
FLOW_CHOICES = [
    "film",
    "manure",
    "straw",
    "household",
    "industrial",
    "construction",
    "appliance",
    "recyclable",
]
STATES = [s.value for s in HandoverStatus]


def local_time(value: datetime | None) -> str:
    """A timestamp as the district reads it: local time to the minute."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")


def rate_keys() -> list[str]:
    return [k for k, d in INDICATORS.items() if d.has_rate]


def quantity_keys() -> list[str]:
    return [k for k, d in INDICATORS.items() if not d.has_rate]


def by_code(items: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Catalogue entries (materials, routes, regions) by code, as plain dicts."""
    return {i.code: i.model_dump() for i in items}


# --- the register's filters ----------------------------------------------------------------


# The register's "all periods" choice (no period at all means the default year).
ALL_PERIODS = "all"


@dataclass
class RegisterFilters:
    """The handover register's filters as the page's form sends them (empty means any; no
    period means the default one, ``all`` every period)."""

    period: str = ""
    township: str = ""
    site: str = ""
    material: str = ""
    status: str = ""

    @classmethod
    def parse(
        cls,
        period: str | None,
        township: str | None,
        site: str | None,
        material: str | None,
        status: str | None,
        default_period: str = "",
    ) -> RegisterFilters:
        asked = (period or "").strip()
        f = cls(
            period=default_period if not asked else "" if asked == ALL_PERIODS else asked,
            township=(township or "").strip(),
            site=(site or "").strip().upper(),
            material=(material or "").strip(),
            status=(status or "").strip(),
        )
        if f.period:
            f.period = parse_period(f.period).label
        if f.status and f.status not in STATES:
            raise Invalid(f"status: one of {', '.join(STATES)}", field="status")
        return f

    def service_filters(self) -> dict[str, Any]:
        """The keyword arguments of ``handovers.list_handovers`` / ``iter_register``."""
        start: date | None = None
        end: date | None = None
        if self.period:
            p = parse_period(self.period)
            start, end = p.start, p.end
        return {
            "start": start,
            "end": end,
            "township": self.township or None,
            "site": self.site or None,
            "material": self.material or None,
            "status": HandoverStatus(self.status) if self.status else None,
        }

    def query(self) -> dict[str, str]:
        """The filters as a query string's parameters (every period said as ``all``)."""
        return {k: v for k, v in vars(self).items() if v} | (
            {} if self.period else {"period": ALL_PERIODS}
        )


# --- anomalies -----------------------------------------------------------------------------


def anomaly_rows(
    anomalies: list[dict[str, Any]],
    t: Translator,
    materials: Mapping[str, Mapping[str, Any]],
    period: str,
) -> list[dict[str, Any]]:
    """Each anomaly with its kind and reason in words, and where its records are."""
    rows = []
    for a in anomalies:
        mcode = str(a.get("material") or "")
        register = None
        if a.get("site"):
            register = {"site": a["site"], "period": period}
            if mcode:
                register["material"] = mcode
        rows.append(
            {
                "severity": a.get("severity") or "warning",
                "kind": a.get("kind"),
                "kind_text": t(f"kind.{a.get('kind')}")
                if t.has(f"kind.{a.get('kind')}")
                else a.get("kind"),
                "site": a.get("site"),
                "site_name": t.site_name(
                    {"name": a.get("site_name"), "name_en": a.get("site_name_en")}
                ),
                "material": mcode,
                "material_text": t.name(materials[mcode]) if mcode in materials else (mcode or ""),
                "reason": t.anomaly_reason(a, materials),
                "handovers": list(a.get("handovers") or []),
                "register": register,
                # The work on it, when the rows come from ``anomaly_work.list_anomalies``.
                "id": a.get("id"),
                "state": a.get("state"),
                "assignee": a.get("assignee"),
                "found": a.get("found", True),
            }
        )
    # Errors first, then by kind and site, so the page reads the same way every time.
    rows.sort(key=lambda r: (r["severity"] != "error", str(r["kind"]), str(r["site"])))
    return rows


def anomaly_table(rows: list[dict[str, Any]], t: Translator) -> tuple[list[str], list[list[Any]]]:
    header = [
        t("anomalies.severity"),
        t("anomalies.kind"),
        t("sites.code"),
        t("sites.name"),
        t("anomalies.material"),
        t("anomalies.reason"),
        t("anomalies.records"),
        t("awork.col_state"),
        t("awork.col_assignee"),
    ]
    body = [
        [
            t(f"severity.{r['severity']}"),
            r["kind_text"],
            r["site"],
            r["site_name"],
            r["material_text"],
            r["reason"],
            " ".join(r["handovers"]),
            t(f"awork.state.{r['state']}") if r["state"] else "",
            (r["assignee"] or {}).get("display_name") or "",
        ]
        for r in rows
    ]
    return header, body


# --- flows ---------------------------------------------------------------------------------


RETURN_COLOUR = "rgba(164, 14, 38, 0.75)"
ROUTE_COLOUR = "#6f4e9c"
FLOW_COLOUR = "rgba(11, 92, 171, 0.28)"
# A return is a few hundred kg beside thousands of tonnes: drawn at this share of the
# period's forward mass at least, so it can be seen (its true mass is in its hover and table).
RETURN_MIN_SHARE = 0.006


def sankey_rows(
    sankey: Mapping[str, Any], t: Translator, materials: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The Sankey's links, one row per material: from, to, material, tonnes, and whether it
    is refused mass sent back; largest first."""
    labels = [n["label"] for n in sankey.get("nodes", [])]
    rows = []
    for link in sankey.get("links", []):
        for code, kg in link.get("materials", {}).items():
            rows.append(
                {
                    "from": labels[link["source"]],
                    "to": labels[link["target"]],
                    "material": t.name(materials[code]) if code in materials else code,
                    "t": kg / 1000,
                    "kg": kg,
                    "returned": link.get("kind") == "return",
                }
            )
    rows.sort(key=lambda r: -r["kg"])
    return rows


def sankey_plot(sankey: Mapping[str, Any], t: Translator) -> dict[str, Any]:
    """What Plotly's sankey trace needs: node labels with their tonnes, links by node index
    in tonnes (returns in their own colour, drawn at least ``RETURN_MIN_SHARE`` wide) and the
    words of the hover boxes."""
    nodes = sankey.get("nodes", [])
    links = sankey.get("links", [])
    unit = t("flows.t")
    forward = sum(link["value"] for link in links if link.get("kind") != "return") / 1000
    least = forward * RETURN_MIN_SHARE
    returned = t("flows.returned")
    back = [link.get("kind") == "return" for link in links]
    names = [n["label"] for n in nodes]
    return {
        "labels": [f"{n['label']} {n['value_kg'] / 1000:,.1f} {unit}" for n in nodes],
        "node_hover": [f"{n['label']}: {n['value_kg'] / 1000:,.2f} {unit}" for n in nodes],
        "node_colour": [SITE_COLOURS.get(n["kind"], ROUTE_COLOUR) for n in nodes],
        **_sankey_positions(nodes, links),
        "link_hover": [
            f"{returned + ': ' if b else ''}{names[link['source']]} → {names[link['target']]}"
            f"<br>{link['value'] / 1000:,.2f} {unit}"
            for link, b in zip(links, back, strict=True)
        ],
        "source": [link["source"] for link in links],
        "target": [link["target"] for link in links],
        "value": [
            max(link["value"] / 1000, least) if b else link["value"] / 1000
            for link, b in zip(links, back, strict=True)
        ],
        "colour": [RETURN_COLOUR if b else FLOW_COLOUR for b in back],
        "link_label": [returned if b else "" for b in back],
        "unit": unit,
    }


SANKEY_STAGE = {
    "source": 0,
    "collection_point": 1,
    "transfer_station": 2,
    "processor": 3,
    "disposal": 3,
    "route": 4,
}


def _sankey_positions(
    nodes: list[dict[str, Any]], links: list[dict[str, Any]]
) -> dict[str, list[float]]:
    """Where each node stands (0–1): a column per stage, plants far enough from the routes
    for both their names, and each column's nodes stacked by the mass through them: the
    townships' in name order, plants and routes in the order of what feeds them (so few
    links cross)."""
    stages = sorted({SANKEY_STAGE[n["kind"]] for n in nodes})
    if len(stages) < 2:
        return {}
    x_of = {stages[-1]: 0.999, stages[-2]: 0.6 if stages[-1] == 4 else 0.999}
    early = [s for s in stages if s not in x_of]
    for i, s in enumerate(early):
        x_of[s] = 0.001 + i * (0.42 / max(1, len(early) - 1)) if len(early) > 1 else 0.001
    columns: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(nodes):
        columns[SANKEY_STAGE[n["kind"]]].append(i)
    y = [0.0] * len(nodes)
    fed: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for link in links:
        if link.get("kind") != "return":
            fed[link["target"]].append((link["source"], link["value"]))
    for stage in sorted(columns):
        members = columns[stage]
        if stage >= 3:  # after the townships' columns: by the mean place of what feeds each

            def feeders(i: int) -> float:
                total = sum(kg for _, kg in fed[i]) or 1.0
                return sum(y[src] * kg for src, kg in fed[i]) / total

            members.sort(key=feeders)
        total = sum(nodes[i]["value_kg"] for i in members) or 1.0
        gap = 0.25 / max(1, len(members))  # a quarter of the column's height between nodes
        used = 0.0
        for k, i in enumerate(members):
            share = nodes[i]["value_kg"] / total * 0.75
            y[i] = min(0.999, max(0.001, used + share / 2 + gap * (k + 0.5)))
            used += share
    return {"x": [x_of[SANKEY_STAGE[n["kind"]]] for n in nodes], "y": y}


def sankey_returns(sankey: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The loads sent back after a refusal, for the words under the chart."""
    labels = [n["label"] for n in sankey.get("nodes", [])]
    return [
        {"from": labels[link["source"]], "to": labels[link["target"]], "t": link["value"] / 1000}
        for link in sankey.get("links", [])
        if link.get("kind") == "return"
    ]


# --- sites ---------------------------------------------------------------------------------


def site_points(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GeoJSON features of ``flows.sites_geojson`` as flat rows."""
    rows = []
    for f in features:
        lon, lat = f["geometry"]["coordinates"]
        rows.append(f["properties"] | {"lat": lat, "lon": lon})
    return rows


def own_site_points(sites: list[Any]) -> list[dict[str, Any]]:
    """An account's own sites (``SitePublic``) as the same flat rows, without totals."""
    return [
        {
            "code": s.code,
            "name": s.name,
            "name_en": s.name_en,
            "kind": s.kind.value,
            "region": s.region_code,
            "township": s.township_code,
            "lat": s.lat,
            "lon": s.lon,
            "received_kg": None,
            "sent_kg": None,
            "treated_kg": None,
        }
        for s in sites
        if s.lat is not None and s.lon is not None
    ]


def site_traces(
    points: list[dict[str, Any]], t: Translator, townships: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One scatter trace per site kind (legend in the reader's language)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in points:
        grouped[p["kind"]].append(p)
    traces = []
    for kind in SITE_KINDS:
        items = grouped.get(kind, [])
        if not items:
            continue
        text = []
        for p in items:
            line = f"{t.site_name(p)}<br>{p['code']} · {townships.get(p.get('township') or '', '')}"
            if p.get("received_kg") is not None:
                line += "".join(
                    f"<br>{t(key)}{t.colon}{p[field]:,.0f}"
                    for key, field in (
                        ("sites.received", "received_kg"),
                        ("sites.sent", "sent_kg"),
                        ("sites.treated", "treated_kg"),
                    )
                )
            text.append(line)
        traces.append(
            {
                "name": f"{t(f'site.{kind}')} ({len(items)})",
                "kind": kind,
                "colour": SITE_COLOURS[kind],
                "x": [p["lon"] for p in items],
                "y": [p["lat"] for p in items],
                "text": text,
                # Sources are most of the points: draw them small, under the others.
                "size": 4 if kind == "source" else 9,
            }
        )
    return traces


def site_rows(
    found: list[Any], t: Translator, materials: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Sites (``SitePublic``) for a table: kind order, then code; what they handle in words."""
    rows = []
    for s in sorted(found, key=lambda s: (SITE_KINDS.index(s.kind.value), s.code)):
        indicators = dict.fromkeys(materials[m]["indicator"] for m in s.materials if m in materials)
        rows.append(
            {
                "code": s.code,
                "name": t.site_name(s),
                "kind": s.kind.value,
                "handles": "、".join(t(f"ind.{i}") for i in indicators)
                if t.lang == "zh"
                else ", ".join(t(f"ind.{i}") for i in indicators),
            }
        )
    return rows


def kind_counts(points: list[dict[str, Any]]) -> list[tuple[str, int]]:
    counts = Counter(p["kind"] for p in points)
    return [(k, counts[k]) for k in SITE_KINDS if counts.get(k)]


def site_table(
    points: list[dict[str, Any]], t: Translator, townships: Mapping[str, str]
) -> tuple[list[str], list[list[Any]]]:
    header = [
        t("sites.code"),
        t("sites.name"),
        t("sites.kind"),
        t("sites.township"),
        t("sites.lat"),
        t("sites.lon"),
        t("sites.received"),
        t("sites.sent"),
        t("sites.treated"),
    ]
    body = [
        [
            p["code"],
            t.site_name(p),
            t(f"site.{p['kind']}"),
            townships.get(p.get("township") or "", p.get("township")),
            p["lat"],
            p["lon"],
            p.get("received_kg"),
            p.get("sent_kg"),
            p.get("treated_kg"),
        ]
        for p in points
    ]
    return header, body
