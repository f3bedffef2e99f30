"""The day-by-day state of the demo's simulation: the rows it produced and the stock each pool
holds. Every load is one handover row, as the bulk import stores it."""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wasteflow.codes import sequential_handover_code
from wasteflow.config import get_settings
from wasteflow.types import Channel, HandoverStatus, MassMethod


class Sim:
    """Day-by-day simulation state: ids, stock in each pool, and the rows it produced.

    ``salt`` makes the handover codes of one demo differ from another's (the first year);
    ``rng`` is the one random stream of the whole build, so a seed gives one district."""

    def __init__(self, rng: random.Random, salt: int, tz: ZoneInfo):
        self.rng = rng
        self.salt = salt
        self.tz = tz
        # The rows of the year being run (the build imports each year's, then empties it).
        self.handovers: list[dict[str, Any]] = []
        self.next_id = 1
        self.stock: dict[tuple[int, int], int] = defaultdict(int)
        self.day_seq: dict[date, int] = defaultdict(int)
        self.site_pos: dict[int, tuple[float, float]] = {}
        self.tolerance = get_settings().receipt_tolerance

    def when(self, day: date, hour_lo: int = 7, hour_hi: int = 17) -> datetime:
        t = time(
            self.rng.randint(hour_lo, hour_hi), self.rng.randint(0, 59), self.rng.randint(0, 59)
        )
        return datetime.combine(day, t, tzinfo=self.tz).astimezone(UTC)

    def handover(
        self,
        day: date,
        frm: int,
        to: int,
        material: int,
        mass_g: int,
        *,
        recorder: int,
        receiver: int | None,
        route: int | None = None,
        units: int | None = None,
        received_g: int | None = None,
        refused_g: int = 0,
        reason: str | None = None,
        returns: dict[str, Any] | None = None,
        scan_pos: tuple[float, float] | None = None,
        far: bool = False,
        weighed: bool = True,
    ) -> dict[str, Any]:
        """Record one load; if ``receiver`` is None it stays in transit."""
        mass_g = max(int(mass_g), 1000)
        device_time = self.when(day)
        n = self.day_seq[day]
        self.day_seq[day] += 1
        hid = self.next_id
        self.next_id += 1
        pos = scan_pos or self._near(frm)
        row: dict[str, Any] = {
            "id": hid,
            "code": sequential_handover_code(day, n, salt=self.salt),
            "idempotency_key": f"demo-{hid}",
            "channel": Channel.demo,
            "from_site_id": frm,
            "to_site_id": to,
            "material_id": material,
            "declared_mass_g": mass_g,
            "declared_units": units,
            "mass_method": MassMethod.weighed if weighed else MassMethod.estimated,
            "device_time": device_time,
            "day": day,
            "recorded_at": device_time + timedelta(minutes=self.rng.randint(1, 240)),
            "recorded_by_id": recorder,
            "lat": pos[0] if pos else None,
            "lon": pos[1] if pos else None,
            "scan_distance_m": None,
            "plaque_kid": "demo",
            "flag_far_scan": far,
            "flag_discrepancy": False,
            "status": HandoverStatus.in_transit,
            "received_mass_g": None,
            "refused_mass_g": None,
            "accepted_mass_g": None,
            "received_units": None,
            "refusal_reason": None,
            "route_id": None,
            "received_at": None,
            "received_by_id": None,
            "returns_id": returns["id"] if returns else None,
            "returns_sender_id": returns["from_site_id"] if returns else None,
        }
        if pos and frm in self.site_pos:
            row["scan_distance_m"] = round(distance_m(pos, self.site_pos[frm]), 1)
        row["request_hash"] = hashlib.sha256(
            f"{frm}|{to}|{material}|{mass_g}|{units}|{device_time.isoformat()}".encode()
        ).hexdigest()
        if receiver is not None:
            if received_g is None:
                received_g = round(mass_g * (1 + self.rng.gauss(0, 0.004)))
            accepted = received_g - refused_g
            status = (
                HandoverStatus.received
                if refused_g == 0
                else HandoverStatus.refused
                if accepted == 0
                else HandoverStatus.partially_refused
            )
            row.update(
                {
                    "status": status,
                    "received_mass_g": received_g,
                    "refused_mass_g": refused_g,
                    "accepted_mass_g": accepted,
                    "received_units": units,
                    "refusal_reason": reason,
                    "route_id": route,
                    "received_at": device_time + timedelta(hours=self.rng.uniform(0.5, 20)),
                    "received_by_id": receiver,
                    "flag_discrepancy": abs(received_g - mass_g) > self.tolerance * mass_g,
                }
            )
            self.stock[(to, material)] += accepted
        self.handovers.append(row)
        return row

    def _near(self, site_id: int) -> tuple[float, float] | None:
        pos = self.site_pos.get(site_id)
        if pos is None:
            return None
        return (pos[0] + self.rng.gauss(0, 0.0004), pos[1] + self.rng.gauss(0, 0.0004))

    def take(self, site: int, material: int, share: float = 1.0) -> int:
        """Draw down a pool's stock for a shipment."""
        amount = int(self.stock[(site, material)] * share)
        self.stock[(site, material)] -= amount
        return amount


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))
