"""Findings a reviewer should look at: impossible stock, overfull or stale stock, loads whose
received mass differs from the declaration, sources sending more than they can produce, and
QR scans far from the site they claim.

Severities: ``"error"`` for mass that cannot exist (negative stock) or a deviation over twice
the threshold (over twice the tolerance, twice the capacity, twice the distance, twice the
dwell time); ``"warning"`` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import numpy as np

from graph.balance import balance_arrays
from graph.model import Anomaly, Flow, Scan, SiteNode, Treatment
from graph.network import EPS_ABS_KG, EPS_REL, NO_DAY, FlowNetwork, as_network, sum_by

ANOMALY_KINDS: tuple[str, ...] = (
    "negative_stock",
    "over_capacity",
    "stale_stock",
    "mass_discrepancy",
    "implausible_source",
    "far_scan",
)
# IUGG mean Earth radius.
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in metres between points in degrees (scalars or numpy arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _severity(ratio: float) -> str:
    return "error" if ratio > 2.0 else "warning"


def _slack(scale: Any) -> Any:
    return EPS_ABS_KG + EPS_REL * np.abs(scale)


def _negative_and_over_capacity(
    net: FlowNetwork, opening_stock: Mapping[tuple[int, str], float] | None
) -> list[Anomaly]:
    b = balance_arrays(net, opening_stock)
    found: list[Anomaly] = []
    available = b.opening + b.inflow
    released = b.outflow + b.treated
    short = ~net.is_source[b.site] & (released > available + _slack(available))
    for i in np.flatnonzero(short).tolist():
        found.append(
            Anomaly(
                kind="negative_stock",
                site=int(net.site_ids[b.site[i]]),
                material=b.materials[b.mat[i]],
                detail={
                    "opening_kg": float(b.opening[i]),
                    "inflow_kg": float(b.inflow[i]),
                    "outflow_kg": float(b.outflow[i]),
                    "treated_kg": float(b.treated[i]),
                    "missing_kg": float(released[i] - available[i]),
                },
                severity="error",
            )
        )

    # Capacity is physical: it holds all materials together.
    held = sum_by(
        b.site[~net.is_source[b.site]],
        weights=b.closing[~net.is_source[b.site]],
        minlength=net.n,
    )
    for i in np.flatnonzero(held > 0).tolist():
        cap = net.sites[i].capacity_kg
        if cap is None or held[i] <= cap + _slack(cap):
            continue
        ratio = held[i] / cap if cap > 0 else math.inf
        found.append(
            Anomaly(
                kind="over_capacity",
                site=int(net.site_ids[i]),
                material=None,
                detail={"closing_kg": float(held[i]), "capacity_kg": float(cap)},
                severity=_severity(ratio),
            )
        )
    return found


def _stale_stock(
    net: FlowNetwork,
    opening_stock: Mapping[tuple[int, str], float] | None,
    max_dwell_days: int,
    period_start: date | None,
    period_end: date | None,
) -> list[Anomaly]:
    """First in, first out: the kilograms still held at period end are the last ones in, so
    the oldest of them is the one at position ``total released`` in the arrivals by day."""
    f_day, t_day = net.flow_days(), net.treatment_days()
    dated = np.concatenate((f_day[f_day != NO_DAY], t_day[t_day != NO_DAY]))
    if dated.size == 0 and period_end is None:
        return []
    end = period_end.toordinal() if period_end is not None else int(dated.max())
    if period_start is not None:
        start = period_start.toordinal()
    else:
        start = int(dated.min()) if dated.size else end
    opening_stock = opening_stock or {}
    materials = tuple(sorted(set(net.materials) | {m for _, m in opening_stock}))
    code = {m: i for i, m in enumerate(materials)}
    remap = np.array([code[m] for m in net.materials], dtype=np.int64)
    n_mat = max(len(materials), 1)
    size = net.n * n_mat
    f_mat = remap[net.f_mat] if net.f_mat.size else net.f_mat
    t_mat = remap[net.t_mat] if net.t_mat.size else net.t_mat

    key_parts, day_parts, kg_parts = [net.f_dst * n_mat + f_mat], [f_day], [net.f_mass]
    items = [(s, code[m], kg) for (s, m), kg in opening_stock.items() if kg > 0]
    if items:
        ids, codes, kgs = zip(*items, strict=True)
        key_parts.append(net.index_of(np.asarray(ids), "opening stock") * n_mat + np.asarray(codes))
        # Opening stock's real age is unknown; dating it at period start gives a lower bound.
        day_parts.append(np.full(len(items), start, dtype=np.int64))
        kg_parts.append(np.asarray(kgs, dtype=np.float64))
    key, day, kg = np.concatenate(key_parts), np.concatenate(day_parts), np.concatenate(kg_parts)
    # Mass a treating site accepted into storage counts as released here: it is where it is
    # meant to be, so its age is not flagged (it still counts toward the site's capacity).
    released = sum_by(net.f_src * n_mat + f_mat, weights=net.f_sent, minlength=size) + sum_by(
        net.t_site * n_mat + t_mat, weights=net.t_mass, minlength=size
    )

    # A site with an undated arrival cannot be aged; it is left out rather than guessed.
    undated = np.bincount(key[day == NO_DAY], minlength=size) > 0
    keep = ~net.is_source[key // n_mat] & ~undated[key] & (kg > 0)
    key, day, kg = key[keep], day[keep], kg[keep]
    if key.size == 0:
        return []
    order = np.lexsort((day, key))
    key, day, kg = key[order], day[order], kg[order]
    first = np.concatenate(([True], key[1:] != key[:-1]))
    starts = np.flatnonzero(first)
    running = np.cumsum(kg)
    before = np.concatenate(([0.0], running))[
        np.repeat(starts, np.diff(np.append(starts, key.size)))
    ]
    arrived_by = running - before
    still_held = np.flatnonzero(arrived_by > released[key] + _slack(arrived_by))
    if still_held.size == 0:
        return []
    oldest = still_held[np.concatenate(([True], key[still_held][1:] != key[still_held][:-1]))]

    held = sum_by(key, weights=kg, minlength=size) - released
    found: list[Anomaly] = []
    for i in oldest.tolist():
        dwell = end - int(day[i])
        if dwell <= max_dwell_days:
            continue
        k = int(key[i])
        found.append(
            Anomaly(
                kind="stale_stock",
                site=int(net.site_ids[k // n_mat]),
                material=materials[k % n_mat],
                detail={
                    "oldest_day": date.fromordinal(int(day[i])).isoformat(),
                    "dwell_days": dwell,
                    "max_dwell_days": max_dwell_days,
                    "held_kg": float(held[k]),
                },
                severity=_severity(dwell / max_dwell_days if max_dwell_days > 0 else math.inf),
            )
        )
    return found


def _mass_discrepancies(net: FlowNetwork, tolerance: float) -> list[Anomaly]:
    declared = net.flow_column("declared_kg")
    received = net.flow_column("received_kg")
    both = np.isfinite(declared) & np.isfinite(received)
    gap = np.abs(received - declared, where=both, out=np.zeros_like(declared))
    limit = tolerance * np.abs(declared)
    flagged = np.flatnonzero(both & (gap > limit + EPS_ABS_KG))
    found = []
    for i in flagged.tolist():
        f = net.flow(i)
        ratio = gap[i] / limit[i] if limit[i] > 0 else math.inf
        found.append(
            Anomaly(
                kind="mass_discrepancy",
                site=f.dst,
                material=f.material,
                detail={
                    "src": f.src,
                    "dst": f.dst,
                    "day": f.day.isoformat() if f.day is not None else None,
                    "declared_kg": float(declared[i]),
                    "received_kg": float(received[i]),
                    "relative_gap": float(gap[i] / abs(declared[i])) if declared[i] else math.inf,
                    "tolerance": tolerance,
                },
                severity=_severity(ratio),
            )
        )
    # Flows equal in (src, dst, material, mass) keep their arrival order in the arrays; order
    # them by every field so that the list does not depend on it.
    found.sort(
        key=lambda a: (
            a.site,
            a.material,
            a.detail["src"],
            a.detail["day"] or "",
            a.detail["declared_kg"],
            a.detail["received_kg"],
        )
    )
    return found


def _implausible_sources(
    net: FlowNetwork, potential: Mapping[tuple[int, str], float], tolerance: float
) -> list[Anomaly]:
    if not potential:
        return []
    n_mat = max(len(net.materials), 1)
    sent = sum_by(net.f_src * n_mat + net.f_mat, weights=net.f_mass, minlength=net.n * n_mat)
    items = sorted(potential.items())
    idx = net.index_of(np.asarray([site for (site, _), _ in items], dtype=np.int64), "potential")
    code = np.array([net.material_code.get(m, -1) for (_, m), _ in items], dtype=np.int64)
    limit = np.array([kg for _, kg in items], dtype=np.float64) * (1.0 + tolerance)
    out = np.where(code >= 0, sent[idx * n_mat + np.maximum(code, 0)], 0.0)
    flagged = np.flatnonzero(net.is_source[idx] & (out > limit + EPS_ABS_KG))
    found = []
    for i in flagged.tolist():
        (site_id, material), kg = items[i]
        found.append(
            Anomaly(
                kind="implausible_source",
                site=site_id,
                material=material,
                detail={
                    "outflow_kg": float(out[i]),
                    "potential_kg": float(kg),
                    "tolerance": tolerance,
                },
                severity=_severity(out[i] / limit[i] if limit[i] > 0 else math.inf),
            )
        )
    return found


def _far_scans(net: FlowNetwork, scans: Iterable[Scan], max_distance_m: float) -> list[Anomaly]:
    scan_list = list(scans)
    if not scan_list:
        return []
    idx = net.index_of(np.asarray([s.site for s in scan_list], dtype=np.int64), "scan")
    site_lat = np.array([np.nan if (v := net.sites[i].lat) is None else v for i in idx.tolist()])
    site_lon = np.array([np.nan if (v := net.sites[i].lon) is None else v for i in idx.tolist()])
    scan_lat = np.array([s.lat for s in scan_list], dtype=np.float64)
    scan_lon = np.array([s.lon for s in scan_list], dtype=np.float64)
    dist = haversine_m(site_lat, site_lon, scan_lat, scan_lon)
    # NaN (a site without coordinates) compares False: such scans cannot be checked.
    far = np.flatnonzero(dist > max_distance_m)
    found = []
    for i in far.tolist():
        s = scan_list[i]
        found.append(
            Anomaly(
                kind="far_scan",
                site=s.site,
                material=None,
                detail={
                    "handover": s.handover,
                    "distance_m": float(dist[i]),
                    "max_distance_m": float(max_distance_m),
                    "scan_lat": s.lat,
                    "scan_lon": s.lon,
                },
                severity=_severity(dist[i] / max_distance_m if max_distance_m > 0 else math.inf),
            )
        )
    found.sort(key=lambda a: (a.site, a.detail["handover"], a.detail["distance_m"]))
    return found


def _anomaly_key(a: Anomaly) -> tuple[int, int, str]:
    return (ANOMALY_KINDS.index(a.kind), -1 if a.site is None else a.site, a.material or "")


def detect_anomalies(
    sites: Iterable[SiteNode] | FlowNetwork,
    flows: Iterable[Flow] | None = None,
    treatments: Iterable[Treatment] | None = None,
    *,
    opening_stock: Mapping[tuple[int, str], float] | None = None,
    potential: Mapping[tuple[int, str], float] | None = None,
    scans: Iterable[Scan] | None = None,
    tolerance: float = 0.05,
    max_distance_m: float = 500,
    max_dwell_days: int | None = 90,
    period_start: date | None = None,
    period_end: date | None = None,
) -> list[Anomaly]:
    """All anomalies of the period, sorted by kind (in ``ANOMALY_KINDS`` order), site and
    material, then by the other fields of the finding (e.g. sender and day), so that the list
    never depends on the order records arrived in.

    * ``negative_stock``: a site other than a source releases (sends on or treats) more of a
      material than its opening stock plus inflow, beyond a milligram of rounding slack.
    * ``over_capacity``: a site's closing stock, all materials together, above ``capacity_kg``.
    * ``stale_stock``: the oldest kilogram still held at ``period_end`` (first in, first out)
      arrived more than ``max_dwell_days`` earlier. Needs flows with ``day``; sites with an
      undated arrival are not aged. ``period_end`` defaults to the last day in the records;
      opening stock is dated ``period_start`` (default: the first day in the records), which
      makes its dwell a lower bound. ``max_dwell_days=None`` leaves stock unaged (for a
      caller that ages it from records the network does not hold).
    * ``mass_discrepancy``: a flow whose ``received_kg`` differs from ``declared_kg`` by more
      than ``tolerance`` × declared; reported at the receiving site.
    * ``implausible_source``: a source whose outflow of a material exceeds
      ``potential[(site, material)] × (1 + tolerance)``; sources without a potential are not
      checked.
    * ``far_scan``: a scan more than ``max_distance_m`` (haversine) from its site's
      coordinates; sites without coordinates are not checked.
    """
    net = as_network(sites, flows, treatments)
    found = _negative_and_over_capacity(net, opening_stock)
    if max_dwell_days is not None:
        found += _stale_stock(net, opening_stock, max_dwell_days, period_start, period_end)
    found += _mass_discrepancies(net, tolerance)
    found += _implausible_sources(net, potential or {}, tolerance)
    found += _far_scans(net, scans or (), max_distance_m)
    found.sort(key=_anomaly_key)
    return found
