"""Synthetic handovers on the demo district, as many as asked, in constant memory.

The demo's own year of received loads gives the district's flow structure: every (source or
pool → receiving site, material, treatment route, recording and receiving account) it used,
how often and how heavy. Synthetic rows are drawn from those edges in proportion to their use,
so they run sources → their collection points → transfer stations → processors with routes,
exactly as the demo's did, with masses scattered around each edge's typical load, every load
received (processors name their route), on days spread over the demo's year. Rows come in
chunks built with numpy, so generating ten million of them holds one chunk at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wasteflow.codes import sequential_handover_code
from wasteflow.types import Channel, HandoverStatus, MassMethod

# Codes are the project's sequential bulk codes with the demo's salt, numbered from here on:
# the demo numbers each day's loads from 0 and never reaches a million a day, and the
# numbering is a bijection below 2**25, so these never collide with the demo's or each other.
CODE_OFFSET = 1_000_000
KEY_PREFIX = "bench-"
METRES_PER_DEGREE = 111_195.0


@dataclass
class Edges:
    """The demo's received flows, one entry per distinct edge."""

    from_site: np.ndarray
    to_site: np.ndarray
    material: np.ndarray
    route: np.ndarray  # -1: none (the receiver is a pool, not a processor)
    recorder: np.ndarray
    receiver: np.ndarray
    units: np.ndarray  # -1: not counted in units
    mass_g: np.ndarray  # the edge's mean declared load
    weight: np.ndarray  # how many loads the demo moved on it
    lat: np.ndarray  # the sending site's position (NaN: unknown)
    lon: np.ndarray
    year: int
    timezone: str


def read_edges(conn: Connection, timezone: str) -> Edges:
    """The demo's edges, read from a database the demo was loaded into."""
    rows = conn.execute(
        sa.text(
            "SELECT h.from_site_id, h.to_site_id, h.material_id, COALESCE(h.route_id, -1), "
            "h.recorded_by_id, h.received_by_id, COALESCE(MAX(h.declared_units), -1), "
            "AVG(h.declared_mass_g), COUNT(*), s.lat, s.lon "
            "FROM handover h JOIN site s ON s.id = h.from_site_id "
            "WHERE h.status = 'received' AND h.channel = :demo "
            "GROUP BY h.from_site_id, h.to_site_id, h.material_id, h.route_id, "
            "h.recorded_by_id, h.received_by_id, s.lat, s.lon "
            "ORDER BY 1, 2, 3, 4, 5, 6"
        ),
        {"demo": Channel.demo.value},
    ).all()
    if not rows:
        raise RuntimeError("no received demo handovers: load the demo district first")
    first_day = conn.execute(sa.text("SELECT MIN(day) FROM handover")).scalar_one()
    year = (first_day if isinstance(first_day, date) else date.fromisoformat(first_day)).year
    cols = list(zip(*rows, strict=True))

    def ints(i: int) -> np.ndarray:
        return np.array(cols[i], dtype=np.int64)

    def floats(i: int) -> np.ndarray:
        return np.array([math.nan if v is None else float(v) for v in cols[i]])

    return Edges(
        from_site=ints(0),
        to_site=ints(1),
        material=ints(2),
        route=ints(3),
        recorder=ints(4),
        receiver=ints(5),
        units=ints(6),
        mass_g=floats(7),
        weight=floats(8),
        lat=floats(9),
        lon=floats(10),
        year=year,
        timezone=timezone,
    )


class Timer:
    """Seconds spent generating, so a load's rate can leave the generator out."""

    def __init__(self) -> None:
        self.seconds = 0.0


def handover_rows(
    edges: Edges,
    *,
    start: int,
    count: int,
    seed: int = 7,
    chunk: int = 10_000,
    timer: Timer | None = None,
) -> Iterator[dict[str, Any]]:
    """``count`` received handovers numbered from ``start`` (their keys and codes derive from
    the number, so separate calls with disjoint ranges never collide), as the row dicts
    ``import_handovers`` takes. The same arguments give the same rows."""
    import time as clock

    rng = np.random.default_rng([seed, start])
    p = edges.weight / edges.weight.sum()
    tz = ZoneInfo(edges.timezone)
    days = []
    d = date(edges.year, 1, 1)
    while d.year == edges.year:
        days.append(d)
        d += timedelta(days=1)
    midnight = [datetime.combine(x, time(0), tzinfo=tz).astimezone(UTC) for x in days]
    # Per edge, its constant columns as Python values: one list lookup per row, not eight
    # numpy scalar reads.
    proto = [
        (f, t, m, r if r >= 0 else None, a, b, u if u >= 0 else None)
        for f, t, m, r, a, b, u in zip(
            edges.from_site.tolist(),
            edges.to_site.tolist(),
            edges.material.tolist(),
            edges.route.tolist(),
            edges.recorder.tolist(),
            edges.receiver.tolist(),
            edges.units.tolist(),
            strict=True,
        )
    ]
    for lo in range(0, count, chunk):
        t0 = clock.perf_counter()
        n = min(chunk, count - lo)
        e = rng.choice(p.size, n, p=p)
        day = rng.integers(0, len(days), n)
        second = rng.integers(7 * 3600, 18 * 3600, n)  # loads move in daylight
        declared = np.maximum(1000, edges.mass_g[e] * rng.lognormal(0, 0.35, n)).astype(np.int64)
        received = np.rint(declared * (1 + rng.normal(0, 0.004, n))).astype(np.int64)
        jitter = rng.normal(0, 0.0004, (2, n))
        lat, lon = edges.lat[e] + jitter[0], edges.lon[e] + jitter[1]
        # Flat-earth distance: exact enough at a few tens of metres.
        dist = np.hypot(jitter[0], jitter[1] * np.cos(np.radians(edges.lat[e])))
        dist = np.round(dist * METRES_PER_DEGREE, 1)
        record_min = rng.integers(1, 240, n)
        receive_min = rng.integers(30, 1200, n)
        number = np.arange(start + lo, start + lo + n)
        rows = []
        for i, ei, di, sec, dg, rg, la, lo_, dm, rm, qm in zip(
            number.tolist(),
            e.tolist(),
            day.tolist(),
            second.tolist(),
            declared.tolist(),
            received.tolist(),
            lat.tolist(),
            lon.tolist(),
            dist.tolist(),
            record_min.tolist(),
            receive_min.tolist(),
            strict=True,
        ):
            device_time = midnight[di] + timedelta(seconds=sec)
            frm, to, material, route, recorder, receiver, units = proto[ei]
            geo = not math.isnan(la)
            rows.append(
                {
                    "code": sequential_handover_code(days[di], CODE_OFFSET + i, salt=edges.year),
                    "idempotency_key": f"{KEY_PREFIX}{i}",
                    # Unique per row, as a request's digest is; the content does not matter here.
                    "request_hash": f"{i:064x}",
                    "channel": Channel.demo,
                    "from_site_id": frm,
                    "to_site_id": to,
                    "material_id": material,
                    "declared_mass_g": dg,
                    "declared_units": units,
                    "mass_method": MassMethod.weighed,
                    "device_time": device_time,
                    "day": days[di],
                    "recorded_at": device_time + timedelta(minutes=rm),
                    "recorded_by_id": recorder,
                    "lat": la if geo else None,
                    "lon": lo_ if geo else None,
                    "scan_distance_m": dm if geo else None,
                    "plaque_kid": "bench",
                    "flag_far_scan": False,
                    "flag_discrepancy": abs(rg - dg) > 0.05 * dg,
                    "status": HandoverStatus.received,
                    "received_mass_g": rg,
                    "refused_mass_g": 0,
                    "accepted_mass_g": rg,
                    "received_units": units,
                    "refusal_reason": None,
                    "route_id": route,
                    "received_at": device_time + timedelta(minutes=qm),
                    "received_by_id": receiver,
                    "returns_id": None,
                    "returns_sender_id": None,
                }
            )
        if timer is not None:
            timer.seconds += clock.perf_counter() - t0
        yield from rows
