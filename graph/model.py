"""Plain records going into and coming out of the flow graph.

Everything here is a frozen dataclass of numbers and strings: the database layer builds them,
``graph`` computes on them, and nothing in this package knows where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

SITE_KINDS: tuple[str, ...] = (
    "source",
    "collection_point",
    "transfer_station",
    "processor",
    "disposal",
)
ROUTE_CLASSES: tuple[str, ...] = ("utilisation", "disposal", "storage")
# Sites that keep each received load apart (a lot per sender) instead of pooling what they
# receive: see graph.attribution.
TREATING_KINDS: tuple[str, ...] = ("processor", "disposal")

# The fate of mass that was neither treated nor sent on: it is still in stock at period end.
STOCK = "stock"
# The fate of mass a treating site refused and still holds at period end, waiting to be sent
# back: it stays its sender's, with the sender's origin mix.
AWAITING_RETURN = "awaiting return"
# Pseudo-origins for mass whose source cannot be traced inside the period's data.
OPENING_STOCK = "(opening stock)"
UNEXPLAINED = "(unexplained)"


@dataclass(frozen=True, slots=True)
class SiteNode:
    """A site of the network; ``region`` is the township code used to group origins."""

    id: int
    kind: str
    region: str
    capacity_kg: float | None = None
    lat: float | None = None
    lon: float | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class Flow:
    """Mass of one material accepted at ``dst`` from ``src`` over a period (or on ``day``).

    ``lot`` marks a return of refused mass: the site that sent the refused load to ``src``
    (a treating site). The return drains that sender's lot at ``src``, so it carries the
    refused load's own origin mix, not what ``src`` holds in common.
    """

    src: int
    dst: int
    material: str
    mass_kg: float
    declared_kg: float | None = None
    received_kg: float | None = None
    day: date | None = None
    lot: int | None = None


@dataclass(frozen=True, slots=True)
class Treatment:
    """Mass of one material a site treated under ``route`` over a period (or on ``day``).

    ``src`` is the site the treated loads came from: at a treating site (processor,
    disposal) the mass is taken from that sender's lot. Without it, it is taken from what
    the site holds in common (its opening stock and stored mass).
    """

    site: int
    material: str
    route: str
    route_class: str
    mass_kg: float
    day: date | None = None
    src: int | None = None


@dataclass(frozen=True, slots=True)
class Scan:
    """Where a handover's QR code was scanned, to compare with the site's coordinates."""

    handover: str
    site: int
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class SiteBalance:
    """Mass balance of one site and material over the period.

    ``closing = opening + inflow - outflow - treated`` for every kind but sources. A source's
    outflow is mass it generated, so for sources ``generated = outflow + treated - inflow`` and
    ``closing`` stays ``opening``; ``generated`` is 0 for every other kind.
    """

    site: int
    material: str
    opening: float
    inflow: float
    outflow: float
    treated: float
    closing: float
    generated: float = 0.0


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One finding of :func:`graph.detect_anomalies`; ``severity`` is "warning" or "error"."""

    kind: str
    site: int | None
    material: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    severity: str = "warning"
