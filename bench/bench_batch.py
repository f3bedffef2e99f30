"""Batch ingest: ``POST /api/v1/handovers/batch`` against a raw Core insert of the same rows.

A collector's offline outbox, 1,000 items a request, sent one request after another to a
server on a fresh copy of the demo database: household clusters of the collector's rounds
handing film, household waste and recyclables to their collection points, all valid, each with
its own idempotency key. The rows the API stored are then read back and inserted with one
SQLAlchemy Core ``insert()`` per 1,000 rows (one transaction each, as the API's) into another
fresh copy of the demo database: the same rows, the same schema and indexes, the same
connection settings, and nothing else. Runs alternate between the two.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from harness import (
    COLLECTOR,
    Databases,
    Figure,
    Server,
    Table,
    at_least_ratio,
    base_env,
    engine_for,
    log,
    login,
    plaque,
    round_sources,
    tail,
)

from wasteflow.models import Handover

BATCH = 1000
SPREAD_S = 28 * 86_400
MATERIALS = ("film.agri", "hh.recyclable", "hh.other", "rec.plastics", "rec.paper")


def _items(
    rng: random.Random, plaques: dict[str, tuple[str, Any]], prefix: str, n: int
) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    codes = sorted(plaques)
    items = []
    for i in range(n):
        code = codes[rng.randrange(len(codes))]
        payload, src = plaques[code]
        items.append(
            {
                "idempotency_key": f"{prefix}-{i}",
                "source_plaque": payload,
                "to_site": src.collection_point,
                "material": MATERIALS[i % len(MATERIALS)],
                "declared_mass_kg": round(rng.uniform(0.5, 60), 1),
                "mass_method": "weighed",
                # Spread over the 28 days before now (the API takes 30): a handover code is
                # random within its day, and piling every run's rows onto today would make
                # the batches clash on codes far more often than a district's days do.
                "device_time": (now - timedelta(seconds=rng.randrange(SPREAD_S))).isoformat(),
                "lat": round(src.lat + rng.gauss(0, 0.0003), 6),
                "lon": round(src.lon + rng.gauss(0, 0.0003), 6),
            }
        )
    return items


def _stored_rows(url: str, prefix: str) -> list[dict[str, Any]]:
    """The rows the API stored for one run, in the order it stored them, without their ids."""
    table = Handover.__table__  # type: ignore[attr-defined]
    with engine_for(url) as engine, engine.connect() as conn:
        rows = (
            conn.execute(
                sa.select(table)
                .where(table.c.idempotency_key.like(f"{prefix}-%"))
                .order_by(table.c.id)
            )
            .mappings()
            .all()
        )
    return [{k: v for k, v in r.items() if k != "id"} for r in rows]


def _raw_insert(url: str, rows: list[dict[str, Any]]) -> float:
    """Seconds to insert the rows with Core, BATCH rows a transaction."""
    table = Handover.__table__  # type: ignore[attr-defined]
    with engine_for(url) as engine:
        with engine.connect() as conn:  # open the pool's connection outside the timing
            conn.execute(sa.text("SELECT 1"))
        t0 = time.perf_counter()
        for lo in range(0, len(rows), BATCH):
            with engine.begin() as conn:
                conn.execute(table.insert(), rows[lo : lo + BATCH])
        return time.perf_counter() - t0


def run(*, backend: str, dbs: Databases, workdir: Path, rows: int, runs: int) -> Table:
    """``runs`` alternating runs of ``rows`` rows each through the API and through Core."""
    table = Table(
        "batch",
        backend,
        f"POST /api/v1/handovers/batch, {BATCH:,} items a request, {rows:,} rows × {runs}",
        f"SQLAlchemy Core insert() of the rows the API stored, {BATCH:,} a transaction, into a "
        "fresh copy of the same demo database",
    )
    api_url = dbs.copy(backend, "batch")
    raw_url = dbs.copy(backend, "batch_raw")
    rng = random.Random(7)
    api_rates: list[float] = []
    raw_rates: list[float] = []
    request_ms: list[float] = []
    try:
        with (
            Server(
                "api.main:create_app",
                env=base_env(api_url, workdir),
                workdir=workdir,
                name=f"batch-{backend}",
            ) as srv,
            httpx.Client(timeout=600) as client,
        ):
            token = login(srv.url, COLLECTOR)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            plaques = {s.code: (plaque(srv.url, token, s.code), s) for s in round_sources(api_url)}

            def post(body: bytes, items: int) -> None:
                r = client.post(srv.url + "/api/v1/handovers/batch", headers=headers, content=body)
                if r.status_code != 200 or r.json()["created"] != items:
                    raise RuntimeError(f"batch: {r.status_code} {r.text[:400]}\n{tail(srv.log)}")

            warmup = _items(rng, plaques, "batch-warmup", 50)  # imports, caches, pools
            post(orjson.dumps({"items": warmup}), len(warmup))
            for r in range(runs):
                prefix = f"batch-run{r}"
                # Bodies are built and encoded before the clock starts: the client's work is
                # not the server's.
                items = _items(rng, plaques, prefix, rows)
                bodies = [
                    (orjson.dumps({"items": items[lo : lo + BATCH]}), len(items[lo : lo + BATCH]))
                    for lo in range(0, rows, BATCH)
                ]
                t0 = time.perf_counter()
                for body, n in bodies:
                    t1 = time.perf_counter()
                    post(body, n)
                    request_ms.append((time.perf_counter() - t1) * 1000)
                api_rates.append(rows / (time.perf_counter() - t0))
                stored = _stored_rows(api_url, prefix)
                if len(stored) != rows:
                    raise RuntimeError(f"batch: {len(stored)} rows stored of {rows}")
                raw_rates.append(rows / _raw_insert(raw_url, stored))
                log(
                    f"batch · {backend} · run {r + 1}/{runs}: API {api_rates[-1]:,.0f} rows/s, "
                    f"raw Core insert {raw_rates[-1]:,.0f} rows/s"
                )
    finally:
        dbs.drop(api_url)
        dbs.drop(raw_url)
    table.add(
        Figure(
            "rows/s",
            "rows/s",
            api_rates,
            raw_rates,
            goals=[at_least_ratio(0.5, " (≥ 50 % of raw)")],
        )
    )
    table.add(
        Figure(
            f"one request of {BATCH:,} items",
            "ms",
            request_ms,
            [BATCH / r * 1000 for r in raw_rates],
            note="baseline: the raw insert's time for as many rows",
        )
    )
    return table
