"""Play days of the demo district against a server: a test driver and a load generator.

Every account is a phone of its own (a state file each), driven only through :class:`Phone`,
so the simulation exercises exactly what a field client does. A day has three phases, each
run on a thread pool:

1. collectors walk their rounds: they photograph the sources' plaques (PNG from the server,
   decoded back with zxing-cpp), queue handovers with realistic masses, device times through
   the day and positions near the site, lose signal for stretches (queue without syncing) and
   sync when they have it, and always at the collection point at the end of the day;
2. site operators confirm the loads at their collection points by the manifests the
   collectors carry, then ship each material's day total on to a processor that takes it;
3. processors confirm those shipments by photographing the manifest QR, naming the route,
   now and then refusing part of a load.

With ``lost_response_probability`` the phones' network loses some answers after the server
committed: the retries must come back as duplicates, never as second records.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from mobile_stub.client import Api, RetryPolicy, normalise_server
from mobile_stub.fieldwork import (
    DISTRICT_TZ,
    OFFLINE_STRETCH,
    Pickup,
    device_time,
    discover,
    near,
    pick_material,
    typical_mass,
)
from mobile_stub.phone import Phone
from mobile_stub.sync import DEFAULT_CHUNK, SyncReport

DEMO_PASSWORD = "wulong-demo-2025"


@dataclass
class SimulationConfig:
    """What to play; see ``wasteflow-mobile simulate --help``."""

    server: str
    seed: int = 2025
    collectors: int = 3
    days: int = 1
    scans_per_day: int = 20
    offline_probability: float = 0.3
    lost_response_probability: float = 0.0
    concurrency: int = 4
    chunk: int = DEFAULT_CHUNK
    admin: str = "admin"
    password: str = DEMO_PASSWORD
    admin_password: str | None = None  # when the admin's differs from the demo accounts'
    workdir: Path | None = None
    only: list[str] | None = None  # play these collector accounts instead of a random pick
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(attempts=8, base_delay=0.2, max_delay=5, deadline=120)
    )

    def check(self) -> None:
        if not 1 <= self.days <= 30:
            raise ValueError("days: 1 to 30 (the server refuses device times older than 30 days)")
        for name in ("collectors", "scans_per_day", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: at least 1")
        for name in ("offline_probability", "lost_response_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}: a probability between 0 and 1")


@dataclass
class Summary:
    """What the simulation did; counts come from the phones' outboxes at the end."""

    collectors: int = 0
    days: int = 0
    queued: int = 0  # handover scans made (collectors' pickups and operators' shipments)
    sent: int = 0  # of those, on the server
    held: int = 0
    refused: int = 0
    unsent: int = 0  # still queued or sending at the end (the server stayed unreachable)
    created: int = 0
    duplicates: int = 0  # answers to retried requests whose first answer was lost
    lost_responses: int = 0
    shipments: int = 0
    receipts: int = 0
    receipts_refused: int = 0
    requests: int = 0
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        """Handovers recorded per second of wall time."""
        return self.sent / self.elapsed_s if self.elapsed_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["rate_per_s"] = round(self.rate, 1)
        out["requests_per_s"] = round(self.requests / self.elapsed_s, 1) if self.elapsed_s else 0
        out["elapsed_s"] = round(self.elapsed_s, 2)
        return out

    def text(self) -> str:
        d = self.as_dict()
        return (
            f"{self.collectors} collector(s), {self.days} day(s): queued {self.queued} handovers "
            f"({self.shipments} shipments); sent {self.sent} ({self.created} created, "
            f"{self.duplicates} duplicates after {self.lost_responses} lost answers); "
            f"refused {self.refused}; held {self.held}; unsent {self.unsent}; "
            f"receipts {self.receipts} (refused {self.receipts_refused}); "
            f"{self.requests} requests in {d['elapsed_s']} s: {d['rate_per_s']} handovers/s, "
            f"{d['requests_per_s']} requests/s"
        )


class LossyTransport(httpx.BaseTransport):
    """Loses the answer to some writes after the server has committed them."""

    def __init__(self, probability: float, rng: random.Random):
        self.inner = httpx.HTTPTransport()
        self.probability = probability
        self.rng = rng
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        path = request.url.path
        if (
            request.method == "POST"
            and path.endswith(("/handovers/batch", "/handovers/receipt"))
            and self.rng.random() < self.probability
        ):
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadError("simulated: the answer was lost on the way back", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


# --- the simulation ---------------------------------------------------------------------------


@dataclass
class _Load:
    code: str
    manifest: str
    to_site: str
    material: str
    kg: Decimal
    units: int | None


class _Run:
    def __init__(self, config: SimulationConfig, workdir: Path, log: Callable[[str], None]):
        self.cfg = config
        self.workdir = workdir
        self.log = log
        self.rng = random.Random(config.seed)
        self.phones: dict[str, Phone] = {}
        self.transports: list[LossyTransport] = []
        self.plaques: dict[tuple[str, str], bytes] = {}
        self.lock = threading.Lock()
        self.reports = SyncReport()
        self.shipments = 0

    def phone(self, username: str) -> Phone:
        """The phone of an account, logged in (created on first use)."""
        with self.lock:
            if username in self.phones:
                return self.phones[username]
            rng = random.Random(f"{self.cfg.seed}:{username}")
            transport = LossyTransport(self.cfg.lost_response_probability, rng)
            self.transports.append(transport)
            phone = Phone(
                self.workdir / f"{username}.db", retry=self.cfg.retry, transport=transport, rng=rng
            )
            self.phones[username] = phone
        phone.login(self.cfg.server, username, self.cfg.password)
        return phone

    def plaque(self, phone: Phone, username: str, code: str) -> bytes:
        """The plaque as a photo: the server's PNG, fetched once per phone and site."""
        if (username, code) not in self.plaques:
            self.plaques[(username, code)] = phone.api().get_bytes(f"/sites/{code}/plaque.png")
        return self.plaques[(username, code)]

    def sync(self, phone: Phone, **kw: Any) -> SyncReport:
        report = phone.sync(chunk=self.cfg.chunk, **kw)
        with self.lock:
            self.reports.add(report)
        if report.stopped:
            self.log(f"  {phone.session().username}: sync stopped: {report.stopped}")
        return report

    # phase 1 --------------------------------------------------------------------------------
    def collector_day(self, username: str, pickups: list[Pickup], day: date) -> list[int]:
        phone = self.phone(username)
        rng = random.Random(f"{self.cfg.seed}:{username}:{day}")
        hours = sorted(rng.uniform(7.0, 18.0) for _ in range(self.cfg.scans_per_day))
        ids, offline_left = [], 0
        for hour in hours:
            p = rng.choice(pickups)
            material = pick_material(p.materials, rng)
            kg, units = typical_mass(material, self.district.materials[material], rng)
            lat, lon = near(p.source, rng)
            item = phone.scan_handover(
                image=self.plaque(phone, username, p.source.code),
                to_site=p.point.code,
                material=material,
                kg=kg,
                units=units,
                device_time=device_time(day, hour, rng),
                lat=lat,
                lon=lon,
            )
            ids.append(item.id)
            if offline_left:
                offline_left -= 1
            elif rng.random() < self.cfg.offline_probability:
                offline_left = rng.randint(*OFFLINE_STRETCH)  # walked out of signal
            else:
                self.sync(phone, refresh=False)
        self.sync(phone)  # back at the collection point, with signal
        return ids

    # phase 2 --------------------------------------------------------------------------------
    def operator_day(self, username: str, loads: list[_Load], day: date) -> list[int]:
        phone = self.phone(username)
        rng = random.Random(f"{self.cfg.seed}:{username}:{day}")
        accepted: dict[tuple[str, str], tuple[Decimal, int]] = defaultdict(lambda: (Decimal(0), 0))
        for load in loads:
            received = max(
                Decimal("0.1"),
                (load.kg * Decimal(rng.uniform(0.97, 1.02))).quantize(Decimal("0.1")),
            )
            refused = Decimal(0)
            reason = None
            if rng.random() < 0.03:
                refused = (received * Decimal(rng.uniform(0.1, 0.3))).quantize(Decimal("0.1"))
                reason = "wet and soiled" if refused else None
            phone.scan_receipt(
                payload=load.manifest,
                received_kg=received,
                refused_kg=refused if refused else None,
                reason=reason,
            )
            kg, units = accepted[(load.to_site, load.material)]
            accepted[(load.to_site, load.material)] = (
                kg + received - refused,
                units + (load.units or 0),
            )
        self.sync(phone)
        ids = []
        for (point, material), (kg, units) in sorted(accepted.items()):
            proc = self.district.processor_for.get(material)
            if proc is None or kg <= 0:
                continue  # stays in stock at the collection point
            site = self.district.sites[point]
            lat, lon = near(site, rng)
            item = phone.scan_handover(
                image=self.plaque(phone, username, point),
                to_site=proc.code,
                material=material,
                kg=kg,
                units=units or None,
                device_time=device_time(day, 18.5, rng),
                lat=lat,
                lon=lon,
            )
            ids.append(item.id)
        self.sync(phone)
        return ids

    # phase 3 --------------------------------------------------------------------------------
    def processor_day(self, username: str, loads: list[_Load], day: date) -> None:
        phone = self.phone(username)
        rng = random.Random(f"{self.cfg.seed}:{username}:{day}")
        for load in loads:
            png = phone.api().get_bytes(f"/handovers/{load.code}/manifest.png")
            received = (load.kg * Decimal(rng.uniform(0.97, 1.01))).quantize(Decimal("0.1"))
            refused = None
            reason = None
            if rng.random() < 0.05:
                refused = (received * Decimal(rng.uniform(0.05, 0.2))).quantize(Decimal("0.1"))
                reason = "soil and stones"
            # A route the plant operates that the material may take (the server refuses
            # "film composted"); servers whose catalogue has no such lists say nothing.
            operated = self.district.sites[load.to_site].routes
            material = self.district.materials.get(load.material, {})
            allowed = material.get("attributes", {}).get("routes")
            routes = [r for r in operated if not allowed or r in allowed] or list(operated)
            phone.scan_receipt(
                image=png,
                received_kg=max(received, Decimal("0.1")),
                refused_kg=refused or None,
                reason=reason if refused else None,
                route=rng.choice(routes),
            )
        self.sync(phone)

    # ----------------------------------------------------------------------------------------
    def loads(self, username: str, ids: list[int]) -> list[_Load]:
        """Handovers from ``ids`` the server accepted, with their manifests."""
        out = []
        store = self.phones[username].store
        for i in ids:
            item = store.get(i)
            if item.state == "sent" and item.manifest and item.code:
                out.append(
                    _Load(
                        item.code,
                        item.manifest,
                        item.body["to_site"],
                        item.body["material"],
                        Decimal(str(item.body["declared_mass_kg"])),
                        item.body.get("units"),
                    )
                )
        return out

    def run(self) -> Summary:
        cfg = self.cfg
        started = time.monotonic()
        with Api(cfg.server, retry=cfg.retry) as admin:
            admin.login(cfg.admin, cfg.admin_password or cfg.password)
            self.district = discover(admin, cfg.collectors, self.rng, cfg.only)
            admin_requests = admin.requests
        rounds = self.district.rounds
        self.log(
            f"simulating {len(rounds)} collector(s) over {cfg.days} day(s) on {cfg.server}: "
            + ", ".join(f"{u} ({len(p)} sources)" for u, p in sorted(rounds.items()))
        )
        today = datetime.now(DISTRICT_TZ).date()
        with ThreadPoolExecutor(max_workers=cfg.concurrency) as pool:
            for n in range(cfg.days):
                day = today - timedelta(days=cfg.days - 1 - n)
                picked = {
                    u: pool.submit(self.collector_day, u, p, day) for u, p in sorted(rounds.items())
                }
                by_owner: dict[str, list[_Load]] = defaultdict(list)
                for u, fut in picked.items():
                    for load in self.loads(u, fut.result()):
                        by_owner[self.district.owners[load.to_site]].append(load)
                shipped = {
                    u: pool.submit(self.operator_day, u, loads, day)
                    for u, loads in sorted(by_owner.items())
                }
                to_proc: dict[str, list[_Load]] = defaultdict(list)
                for u, fut in shipped.items():
                    ids = fut.result()
                    self.shipments += len(ids)
                    for load in self.loads(u, ids):
                        to_proc[self.district.owners[load.to_site]].append(load)
                confirmed = [
                    pool.submit(self.processor_day, u, loads, day)
                    for u, loads in sorted(to_proc.items())
                ]
                for done in confirmed:
                    done.result()
                self.log(f"  day {day}: {self.reports.sent} handovers on the server so far")
        summary = self.summary(started)
        summary.requests += admin_requests
        return summary

    def summary(self, started: float) -> Summary:
        s = Summary(collectors=len(self.district.rounds), days=self.cfg.days)
        for phone in self.phones.values():
            for item in phone.store.items():
                if item.kind == "handover":
                    s.queued += 1
                    s.sent += item.state == "sent"
                    s.held += item.state == "held"
                    s.refused += item.state == "refused"
                    s.unsent += item.state in ("queued", "sending")
                else:
                    s.receipts += item.state == "sent"
                    s.receipts_refused += item.state == "refused"
        s.created, s.duplicates = self.reports.created, self.reports.duplicates
        s.lost_responses = sum(t.lost for t in self.transports)
        s.shipments = self.shipments
        for phone in self.phones.values():
            phone.close()  # folds the phone's request count in
            s.requests += phone.requests
        s.elapsed_s = time.monotonic() - started
        return s


def run_simulation(config: SimulationConfig, log: Callable[[str], None] | None = None) -> Summary:
    """Play the configured days against ``config.server``; returns the summary."""
    config.check()
    config.server = normalise_server(config.server)
    workdir = config.workdir or Path(tempfile.mkdtemp(prefix="wasteflow-mobile-sim-"))
    workdir.mkdir(parents=True, exist_ok=True)
    run = _Run(config, workdir, log or (lambda _msg: None))
    try:
        return run.run()
    finally:
        for phone in run.phones.values():
            phone.close()
        for t in run.transports:
            t.close()
        if config.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
