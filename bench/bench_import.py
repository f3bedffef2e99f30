"""Importing history: a 2025 ledger uploaded to ``POST /api/v1/imports`` against the raw bulk
path writing the same rows.

The ledger is made from the demo district's own received loads (sending site, receiving site,
material, treatment route, mass), drawn at random with days spread over 2025: half of its rows
carry their receipt (received kg, the route at processors), half land in transit. It is
written as CSV and as XLSX and uploaded as the admin would, by HTTP to a uvicorn server on a
fresh copy of the demo database, so a run times everything: the upload, reading the file,
checking every row by the rules of a scan and a receipt, and writing the rows, their totals,
their sealed audit events and their row keys in one transaction. A second upload of the same
file (every row known, nothing added) is timed too.

Baseline: the rows that upload stored, read back, written by the backend's raw bulk path alone
(``executemany`` on SQLite, ``COPY`` on PostgreSQL) into another fresh copy — the floor of any
import of those rows. Runs alternate between the two.
"""

from __future__ import annotations

import csv
import io
import random
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from harness import (
    Databases,
    Figure,
    Server,
    Table,
    base_env,
    engine_for,
    log,
    login,
)

from wasteflow.bulk import bulk_insert
from wasteflow.models import Handover

HEADER = ["行键", "交接时间", "交出站点", "接收站点", "物料", "申报重量(千克)", "称重方式",
          "实收重量(千克)", "处理方式"]  # fmt: skip


def _edges(url: str) -> list[dict[str, Any]]:
    """The demo's received loads as (from, to, material, route, typical kg) edges."""
    q = sa.text(
        "SELECT f.code AS f, t.code AS t, m.code AS m, r.code AS r, "
        "AVG(h.declared_mass_g) / 1000.0 AS kg, MIN(m.max_handover_kg) AS cap_src, "
        "MIN(m.max_load_kg) AS cap_load, MIN(f.kind) AS kind, "
        "MAX(CASE WHEN m.counts_units THEN 1 ELSE 0 END) AS units "
        "FROM handover h JOIN site f ON f.id = h.from_site_id JOIN site t ON t.id = h.to_site_id "
        "JOIN material m ON m.id = h.material_id LEFT JOIN treatment_route r ON r.id = h.route_id "
        "WHERE h.status = 'received' AND f.active AND t.active "
        "GROUP BY f.code, t.code, m.code, r.code"
    )
    with engine_for(url) as engine, engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    return [r for r in rows if not r["units"]]


def make_ledger(url: str, n: int, seed: int = 2025) -> list[list[str]]:
    rng = random.Random(seed)
    edges = _edges(url)
    start = date(2025, 1, 1)
    out = []
    for i in range(n):
        e = edges[rng.randrange(len(edges))]
        cap = e["cap_src"] if e["kind"] == "source" else e["cap_load"]
        kg = round(min(float(e["kg"]) * rng.uniform(0.7, 1.2), cap * 0.95), 3)
        day = start + timedelta(days=rng.randrange(365))
        when = f"{day} {rng.randrange(7, 18):02d}:{rng.randrange(60):02d}"
        received = i % 2 == 0
        out.append(
            [f"bench-2025-{i}", when, e["f"], e["t"], e["m"], f"{kg:g}", "称重",
             f"{kg:g}" if received else "", (e["r"] or "") if received else ""]
        )  # fmt: skip
    return out


def as_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    w.writerows(rows)
    return buf.getvalue().encode()


def as_xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _upload(url: str, token: str, name: str, content: bytes) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    r = httpx.post(
        url + "/api/v1/imports",
        files={"file": (name, content)},
        data={"kind": "handovers"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=900,
    )
    took = time.perf_counter() - t0
    if r.status_code not in (200, 201):
        raise RuntimeError(f"import answered {r.status_code}: {r.text[:2000]}")
    return took, r.json()


def _raw_rows(url: str, batch_id: int) -> list[dict[str, Any]]:
    from sqlmodel import Session, col

    from wasteflow.models import ImportRow

    with engine_for(url) as engine, Session(engine) as session:
        stored = session.execute(
            sa.select(Handover)
            .join(ImportRow, col(ImportRow.record) == Handover.code)
            .where(col(ImportRow.batch_id) == batch_id)
        ).scalars()
        return [h.model_dump(exclude={"id"}) for h in stored]


def _raw_load(url: str, rows: list[dict[str, Any]]) -> float:
    table = Handover.__table__  # type: ignore[attr-defined]
    with engine_for(url) as engine:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            bulk_insert(conn, table, rows)
        return time.perf_counter() - t0


def run(*, backend: str, dbs: Databases, workdir: Path, rows: int, runs: int) -> Table:
    table = Table(
        "import",
        backend,
        f"{rows:,}-row 2025 ledger uploaded to POST /api/v1/imports (checked, then written)",
        "the same rows, read back, written by the raw bulk path alone into another copy",
    )
    ledger = make_ledger(dbs.demo[backend], rows)
    files = {"csv": as_csv(ledger), "xlsx": as_xlsx(ledger)}
    log(
        f"import · {backend}: ledger of {rows:,} rows, CSV {len(files['csv']) / 1e6:.1f} MB, "
        f"XLSX {len(files['xlsx']) / 1e6:.1f} MB"
    )
    timings: dict[str, list[float]] = {"csv": [], "xlsx": [], "again": [], "raw": []}
    for i in range(runs):
        for fmt, content in files.items():
            url = dbs.copy(backend, f"import_{fmt}_{i}")
            env = base_env(url, workdir)
            with Server("api.main:create_app", env=env, workdir=workdir, name="import") as srv:
                token = login(srv.url, "admin")
                took, report = _upload(srv.url, token, f"ledger-2025.{fmt}", content)
                if report["added"] != rows:
                    raise RuntimeError(f"added {report['added']} of {rows}: {report}")
                timings[fmt].append(took)
                if fmt == "csv":
                    again, second = _upload(srv.url, token, "ledger-2025.csv", content)
                    assert second["added"] == 0 and second["already"] == rows
                    timings["again"].append(again)
            if fmt == "csv":
                stored = _raw_rows(url, report["batch"]["id"])
                raw_url = dbs.copy(backend, f"import_raw_{i}")
                timings["raw"].append(_raw_load(raw_url, stored))
                dbs.drop(raw_url)
            dbs.drop(url)
            log(f"import · {backend} run {i + 1}/{runs} {fmt}: {took:.2f} s")
    for name, key in (
        ("CSV upload, checked and written", "csv"),
        ("XLSX upload, checked and written", "xlsx"),
        ("the same CSV again (every row known)", "again"),
    ):
        table.add(Figure(name, "s", timings[key], baseline=timings["raw"]))
    table.add(
        Figure(
            "rows/s, CSV", "rows/s", [rows / t for t in timings["csv"]],
            baseline=[rows / t for t in timings["raw"]],
        )
    )  # fmt: skip
    table.notes.append(
        f"CSV {len(files['csv']) / 1e6:.1f} MB, XLSX {len(files['xlsx']) / 1e6:.1f} MB; half "
        "the rows with their receipt; one transaction per upload"
    )
    return table
