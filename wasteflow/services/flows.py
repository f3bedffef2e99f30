"""Flows for officials: per-site mass balance and anomalies (the Sankey: ``flow_sankey``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from graph import (
    Anomaly,
    Scan,
    detect_anomalies,
)
from wasteflow.config import get_settings
from wasteflow.errors import Invalid
from wasteflow.models import FlowDaily, Handover
from wasteflow.permissions import Action, require
from wasteflow.rates import Period, PeriodData, RateEngine, parse_period
from wasteflow.services.rates import period_engine
from wasteflow.types import DeclarationKind, HandoverStatus


def _material_ids(data: PeriodData, material: str | None) -> set[int] | None:
    """A material code, or an indicator (all its materials), or None for everything."""
    if material is None:
        return None
    ids = {mid for mid, (code, ind) in data.materials.items() if material in (code, ind)}
    if not ids:
        raise Invalid(
            f"material: {material!r} is neither a material code nor an indicator", field="material"
        )
    return ids


def balance(
    *,
    session: Session,
    account: Any,
    period: str,
    region: str | None = None,
    material: str | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """Per-site mass balance of the period, and every anomaly found in it.

    Officials see every site; other accounts the sites they act for.
    """
    require(account.role, Action.read_own_records)
    p = parse_period(period)
    engine = period_engine(session, p)
    data = engine.d
    mats = _material_ids(data, material)
    in_region = engine.within(region) if region else None
    mine = _visible_sites(session, account)
    net = engine._network
    arrays = engine.balance
    site_index = {s.id: s for s in data.sites.values()}
    rows = []
    for i in range(len(arrays.site)):
        sid = int(net.site_ids[arrays.site[i]])
        mcode = arrays.materials[int(arrays.mat[i])]
        site = site_index[sid]
        if in_region is not None and site.region_id not in in_region:
            continue
        if mats is not None and not any(engine.mat_code[m] == mcode for m in mats):
            continue
        if kind and site.kind != kind:
            continue
        if mine is not None and sid not in mine:
            continue
        rows.append(
            {
                "site": site.code,
                "name": site.name,
                "name_en": site.name_en,
                "kind": site.kind,
                "material": mcode,
                "opening_kg": round(float(arrays.opening[i]), 3),
                "inflow_kg": round(float(arrays.inflow[i]), 3),
                "outflow_kg": round(float(arrays.outflow[i]), 3),
                "treated_kg": round(float(arrays.treated[i]), 3),
                "closing_kg": round(float(arrays.closing[i]), 3),
                "generated_kg": round(float(arrays.generated[i]), 3),
            }
        )
    anomalies = find_anomalies(session, p)
    if in_region is not None or mine is not None:
        codes = {
            s.code
            for s in data.sites.values()
            if (in_region is None or s.region_id in in_region) and (mine is None or s.id in mine)
        }
        anomalies = [
            a
            for a in anomalies
            if a.get("site") in codes or (a.get("site") is None and mine is None)
        ]
    return {
        "period": p.label,
        "region": region,
        "material": material,
        "sites": rows,
        "anomalies": anomalies,
    }


def find_anomalies(session: Session, p: Period) -> list[dict[str, Any]]:
    """Every anomaly of the period in the district (no one's view of it applied)."""
    engine = period_engine(session, p)
    return _anomalies(session, engine.d, engine, p.start, p.end, get_settings())


def _visible_sites(session: Session, account: Any) -> set[int] | None:
    """None for accounts that read everything; else the sites the account acts for."""
    from wasteflow.permissions import allowed
    from wasteflow.services.handovers import acting_sites

    if allowed(account.role, Action.read_all_records):
        return None
    return acting_sites(session, account)


def _anomalies(
    session: Session, data: PeriodData, engine: RateEngine, start: Any, end: Any, settings: Any
) -> list[dict[str, Any]]:
    """Graph anomalies of the period, plus record-level ones from flagged handovers.

    Stale stock needs the day each kilogram arrived, so per-day totals are read, but only for
    the sites still holding stock at the period's end (a handful, where pools ship what they
    hold), not for the whole district.
    """
    code = engine.mat_code
    potential: dict[tuple[int, str], float] = defaultdict(float)
    site_of = _declaration_sites(session, [d.id for d in data.declarations])
    for d in data.declarations:
        sid = site_of.get(d.id)
        if sid is not None and d.kind in (
            DeclarationKind.livestock_headcount,
            DeclarationKind.crop_output,
            DeclarationKind.industrial_generated,
        ):
            potential[(sid, code[d.material_id])] += d.prorated_g / 1000
    h = Handover
    flagged = session.execute(
        sa.select(
            col(h.code),
            col(h.from_site_id),
            col(h.to_site_id),
            col(h.material_id),
            col(h.lat),
            col(h.lon),
            col(h.scan_distance_m),
            col(h.flag_far_scan),
            col(h.flag_discrepancy),
            col(h.status),
            col(h.declared_mass_g),
            col(h.received_mass_g),
            col(h.refused_mass_g),
            col(h.refusal_reason),
        ).where(
            col(h.day) >= start,
            col(h.day) <= end,
            sa.or_(
                col(h.flag_far_scan).is_(True),
                col(h.flag_discrepancy).is_(True),
                col(h.status).in_((HandoverStatus.refused, HandoverStatus.partially_refused)),
            ),
        )
    ).all()
    scans = [
        Scan(r.code, r.from_site_id, r.lat, r.lon)
        for r in flagged
        if r.flag_far_scan and r.lat is not None
    ]
    found = detect_anomalies(
        engine._network,
        opening_stock=data.opening_stock,
        potential=potential,
        scans=scans,
        tolerance=settings.receipt_tolerance,
        max_distance_m=settings.scan_distance_flag_m,
        # The period's network holds no days: stock is aged below from the daily totals.
        max_dwell_days=None,
    )
    found += _stale_stock(session, data, engine, start, end, settings.stock_dwell_days)
    sites = data.sites
    out: list[dict[str, Any]] = []
    for a in found:
        out.append(
            {
                "kind": a.kind,
                "severity": a.severity,
                "site": sites[a.site].code if a.site is not None else None,
                "site_name": sites[a.site].name if a.site is not None else None,
                "site_name_en": sites[a.site].name_en if a.site is not None else None,
                "material": a.material,
                "detail": _plain(a.detail),
                "handovers": [],
            }
        )
    for r in flagged:
        base = {"severity": "warning", "material": code[r.material_id], "handovers": [r.code]}
        if r.flag_discrepancy:
            out.append(
                base
                | {
                    "kind": "mass_discrepancy",
                    "site": sites[r.to_site_id].code,
                    "site_name": sites[r.to_site_id].name,
                    "site_name_en": sites[r.to_site_id].name_en,
                    "detail": {
                        "declared_kg": r.declared_mass_g / 1000,
                        "received_kg": (r.received_mass_g or 0) / 1000,
                    },
                }
            )
        if r.status in (HandoverStatus.refused, HandoverStatus.partially_refused):
            out.append(
                base
                | {
                    "kind": "refused_load",
                    "site": sites[r.to_site_id].code,
                    "site_name": sites[r.to_site_id].name,
                    "site_name_en": sites[r.to_site_id].name_en,
                    "detail": {
                        "refused_kg": (r.refused_mass_g or 0) / 1000,
                        "reason": r.refusal_reason,
                        "status": r.status,
                    },
                }
            )
    out += _film_plausibility(data, engine, settings.receipt_tolerance)
    by_handover = {r.code: r for r in flagged}
    for item in out:
        if item["kind"] == "far_scan":
            code_ = item["detail"].get("handover")
            if code_ in by_handover:
                item["handovers"] = [code_]
    return out


def _stale_stock(
    session: Session,
    data: PeriodData,
    engine: RateEngine,
    start: Any,
    end: Any,
    max_dwell_days: int,
) -> list[Anomaly]:
    """Stock held longer than ``max_dwell_days`` at the period's end (first in, first out).

    A site's stock is fresh if what it received in the last ``max_dwell_days`` covers what it
    holds; only that sum is read, per site still holding stock, with one indexed aggregate. For
    the few stale ones the day the oldest kilogram arrived is then found by walking their
    arrivals back from the end. (``graph.detect_anomalies`` ages stock the same way from every
    day's records; reading a district's year of them costs seconds, this costs milliseconds.)
    """
    net = engine._network
    b = engine.balance
    # What a treating site keeps under a storage route is stored on purpose: not aged.
    kept = engine.kept_in_storage
    held = {
        key: kg
        for i in range(len(b.site))
        if not net.is_source[b.site[i]]
        for key in [(int(net.site_ids[b.site[i]]), b.materials[int(b.mat[i])])]
        for kg in [float(b.closing[i]) - kept.get(key, 0.0)]
        if kg > 1.0
    }
    if not held:
        return []
    f = FlowDaily
    material_id = {code: mid for mid, code in engine.mat_code.items()}
    window_start = end - timedelta(days=max_dwell_days)
    sites = sorted({site for site, _ in held})
    recent: dict[tuple[int, str], float] = defaultdict(float)
    for i in range(0, len(sites), 400):
        for site, mid, g in session.execute(
            sa.select(col(f.to_site_id), col(f.material_id), sa.func.sum(col(f.received_g)))
            .where(
                col(f.to_site_id).in_(sites[i : i + 400]),
                col(f.day) > window_start,
                col(f.day) <= end,
            )
            .group_by(col(f.to_site_id), col(f.material_id))
        ):
            recent[(site, engine.mat_code[mid])] += int(g or 0) / 1000
    found = []
    for (site, material), kg in sorted(held.items()):
        if recent[(site, material)] + 1.0 >= kg:
            continue
        oldest = _oldest_held(session, site, material_id[material], kg, start, end)
        dwell = (end - oldest).days
        found.append(
            Anomaly(
                kind="stale_stock",
                site=site,
                material=material,
                detail={
                    "oldest_day": oldest,
                    "dwell_days": dwell,
                    "max_dwell_days": max_dwell_days,
                    "held_kg": round(kg, 3),
                },
                severity="error" if dwell > 2 * max_dwell_days else "warning",
            )
        )
    return found


def _oldest_held(
    session: Session, site: int, material_id: int, held_kg: float, start: Any, end: Any
) -> Any:
    """The day the oldest kilogram still held arrived: walk arrivals back from ``end``."""
    f = FlowDaily
    remaining = held_kg * 1000
    for day, g in session.execute(
        sa.select(col(f.day), sa.func.sum(col(f.received_g)))
        .where(
            col(f.to_site_id) == site,
            col(f.material_id) == material_id,
            col(f.day) >= start,
            col(f.day) <= end,
        )
        .group_by(col(f.day))
        .order_by(col(f.day).desc())
    ):
        remaining -= int(g or 0)
        if remaining <= 0:
            return day
    return start  # older than the period: the period's first day is a lower bound


def _film_plausibility(
    data: PeriodData, engine: RateEngine, tolerance: float
) -> list[dict[str, Any]]:
    """Villages whose sources hand over more film than the village declared it used."""
    film = {m for m, (_, ind) in data.materials.items() if ind == "film"}
    used: dict[int, int] = defaultdict(int)
    for d in data.declarations:
        if d.kind == DeclarationKind.film_used:
            used[d.region_id] += d.prorated_g
    by_source: dict[int, int] = defaultdict(int)
    for f in data.flows:
        if f.material_id in film and data.sites[f.src].kind == "source":
            by_source[f.src] += f.accepted_g
    by_region: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for sid, g in by_source.items():
        by_region[data.sites[sid].region_id].append((g, sid))
    out: list[dict[str, Any]] = []
    for rid, items in sorted(by_region.items()):
        total = sum(g for g, _ in items)
        if rid in used and total > used[rid] * (1 + tolerance):
            g, top = max(items)
            out.append(
                {
                    "kind": "implausible_source",
                    "severity": "error",
                    "site": data.sites[top].code,
                    "site_name": data.sites[top].name,
                    "site_name_en": data.sites[top].name_en,
                    "material": "film.agri",
                    "handovers": [],
                    "detail": {
                        "region": data.regions[rid].code,
                        "recovered_kg": total / 1000,
                        "declared_used_kg": used[rid] / 1000,
                        "largest_source_kg": g / 1000,
                    },
                }
            )
    return out


def _declaration_sites(session: Session, ids: list[int]) -> dict[int, int]:
    from wasteflow.models import Declaration

    out: dict[int, int] = {}
    for i in range(0, len(ids), 500):
        out.update(
            {
                did: sid
                for did, sid in session.execute(
                    sa.select(col(Declaration.id), col(Declaration.site_id)).where(
                        col(Declaration.id).in_(ids[i : i + 500]),
                        col(Declaration.site_id).is_not(None),
                    )
                )
            }
        )
    return out


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in detail.items():
        out[k] = (
            round(v, 3) if isinstance(v, float) else v.isoformat() if hasattr(v, "isoformat") else v
        )
    return out


def sites_geojson(
    *, session: Session, account: Any, period: str, region: str | None = None
) -> dict[str, Any]:
    """Sites as GeoJSON points with the period's totals (received, sent, treated, kg);
    officials get every site, other accounts the sites they act for."""
    require(account.role, Action.read_own_records)
    mine = _visible_sites(session, account)
    p = parse_period(period)
    engine = period_engine(session, p)
    data = engine.d
    inside = engine.within(region) if region else None
    received: dict[int, int] = defaultdict(int)
    sent: dict[int, int] = defaultdict(int)
    treated: dict[int, int] = defaultdict(int)
    for fl in data.flows:
        received[fl.dst] += fl.received_g
        sent[fl.src] += fl.declared_g
    for tr in data.treatments:
        treated[tr.site] += tr.accepted_g
    features = []
    for s in sorted(data.sites.values(), key=lambda s: s.code):
        if s.lat is None or s.lon is None or (inside is not None and s.region_id not in inside):
            continue
        if mine is not None and s.id not in mine:
            continue
        township = data.regions[s.region_id]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
                "properties": {
                    "code": s.code,
                    "name": s.name,
                    "name_en": s.name_en,
                    "kind": s.kind,
                    "region": township.code,
                    "township": engine._township_code(s.region_id),
                    "received_kg": received[s.id] / 1000,
                    "sent_kg": sent[s.id] / 1000,
                    "treated_kg": treated[s.id] / 1000,
                },
            }
        )
    return {"type": "FeatureCollection", "period": p.label, "features": features}
